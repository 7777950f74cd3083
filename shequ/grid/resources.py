"""The grid's entry in the resource catalog (政务信息资源目录): tickets (grid events, 12345 hotline
reports, resident requests), offered to departments through sharing grants.

Rows are read here: a region filter by code prefix, category (a main type takes its children),
status, source and urgency as row filters, keyset paging by primary key. An anonymous reporter's
contact is never shared, whatever the grant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from shequ.core.components import (
    DataResource,
    Dimension,
    ResourceField,
    Sensitivity,
    SharingType,
    choice_values,
    keyset_page,
)
from shequ.core.personal import mask_name, mask_phone
from shequ.grid.models import Category, Source, Status, Ticket, Urgency

__all__ = ["RESOURCES"]


def _category_values() -> list[tuple[str, str]]:
    chinese = (get_language() or "").startswith("zh")
    return [(c.code, c.name_zh if chinese else c.name) for c in Category.objects.filter(is_active=True)]


def _tickets(region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int) -> list[Ticket]:
    qs = Ticket.objects.select_related("category", "department")
    if "category" in filters:
        code = filters["category"]
        qs = qs.filter(Q(category__code=code) | Q(category__parent__code=code))
    for key in ("status", "source", "urgency"):
        if key in filters:
            qs = qs.filter(**{key: filters[key]})
    return keyset_page(qs, region_codes, after, limit)


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "title": ticket.title,
        "description": ticket.description,
        "category": ticket.category.code if ticket.category else "",
        "source": ticket.source,
        "urgency": ticket.urgency,
        "status": ticket.status,
        "address": ticket.address,
        "department": ticket.department.name if ticket.department else "",
        "submitted_at": _at(ticket.submitted_at),
        "closed_at": _at(ticket.closed_at),
        "result": ticket.result,
        "rating": ticket.rating,
        "contact_name": "" if ticket.anonymous else ticket.contact_name,
        "contact_phone": "" if ticket.anonymous else (ticket.contact_phone or ""),
        "region_code": ticket.region_code,
    }


PUBLIC, INTERNAL, PERSONAL = Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.PERSONAL

TICKETS = DataResource(
    key="tickets",
    title=_("Grid events and 12345 tickets"),
    description=_(
        "Problems reported by residents, grid patrols, the 12345 hotline and sensors: what, where, "
        "category, who handles it, status, result and the resident's rating."
    ),
    owner=_("12345 hotline and the street's grid centre"),
    frequency=_("Real time"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("title", pgettext_lazy("shared field", "Title"), INTERNAL),
        ResourceField("description", _("Description"), INTERNAL),
        ResourceField("category", _("Category"), PUBLIC),
        ResourceField("source", _("Source"), PUBLIC),
        ResourceField("urgency", _("Urgency"), PUBLIC),
        ResourceField("status", _("Status"), PUBLIC),
        ResourceField("address", _("Address"), INTERNAL),
        ResourceField("department", _("Handling department"), PUBLIC),
        ResourceField("submitted_at", _("Submitted on"), PUBLIC),
        ResourceField("closed_at", _("Closed on"), PUBLIC),
        ResourceField("result", _("Result"), INTERNAL),
        ResourceField("rating", _("Rating"), INTERNAL),
        ResourceField("contact_name", _("Reporter's name"), PERSONAL, mask_name),
        ResourceField("contact_phone", _("Reporter's phone"), PERSONAL, mask_phone),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_tickets,
    row=_ticket_row,
    region_code=lambda ticket: ticket.region_code,
    subjects=lambda ticket: (ticket.reporter_person_id,) if ticket.reporter_person_id else (),
    dimensions=(
        Dimension("category", _("Category"), _category_values),
        Dimension("status", _("Status"), choice_values(Status)),
        Dimension("source", _("Source"), choice_values(Source)),
        Dimension("urgency", _("Urgency"), choice_values(Urgency)),
    ),
    # Delivered by the sharing app's subscriptions from grid.ticket_changed when a ticket closes.
    events=("grid.ticket_closed",),
)

RESOURCES: tuple[DataResource, ...] = (TICKETS,)
