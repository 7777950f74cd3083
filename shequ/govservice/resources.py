"""The government-service app's entry in the resource catalog (政务信息资源目录): applications
taken at the community's counter, online or at home, offered to departments through sharing grants.

Rows are read here: a region filter by code prefix, the item's domain, the status and the channel
as row filters, keyset paging by primary key. Materials and form answers are never shared: a
department that decides an application reads them through its own forwarding, not the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

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
from shequ.govservice.models import Application, Channel, Domain, Status

__all__ = ["RESOURCES"]

PUBLIC, INTERNAL, PERSONAL = Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.PERSONAL


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _applications(
    region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int
) -> list[Application]:
    qs = Application.objects.select_related("item", "department")
    if "domain" in filters:
        qs = qs.filter(item__domain=filters["domain"])
    for key in ("status", "channel"):
        if key in filters:
            qs = qs.filter(**{key: filters[key]})
    return keyset_page(qs, region_codes, after, limit)


def _application_row(app: Application) -> dict[str, Any]:
    return {
        "number": app.number,
        "item": app.item.code,
        "domain": app.item.domain,
        "channel": app.channel,
        "on_behalf": app.on_behalf,
        "applicant_name": app.applicant_name,
        "applicant_phone": app.applicant_phone or "",
        "status": app.status,
        "outcome": app.outcome,
        "department": app.department.name if app.department else "",
        "submitted_at": _at(app.submitted_at),
        "closed_at": _at(app.closed_at),
        "region_code": app.region_code,
    }


APPLICATIONS = DataResource(
    key="applications",
    title=_("Government service applications"),
    description=_(
        "Applications for government service items taken by the community (online, at the counter, "
        "at home): item, channel, applicant, status, outcome and handling department."
    ),
    owner=_("Government service centre"),
    frequency=_("Real time"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("number", _("Application number"), INTERNAL),
        ResourceField("item", _("Service item"), PUBLIC),
        ResourceField("domain", _("Domain"), PUBLIC),
        ResourceField("channel", _("Channel"), PUBLIC),
        ResourceField("on_behalf", _("Applied on the resident's behalf"), INTERNAL),
        ResourceField("applicant_name", _("Applicant"), PERSONAL, mask_name),
        ResourceField("applicant_phone", _("Applicant's mobile number"), PERSONAL, mask_phone),
        ResourceField("status", _("Status"), PUBLIC),
        ResourceField("outcome", _("Outcome"), INTERNAL),
        ResourceField("department", _("Handling department"), PUBLIC),
        ResourceField("submitted_at", _("Submitted on"), PUBLIC),
        ResourceField("closed_at", _("Closed on"), PUBLIC),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_applications,
    row=_application_row,
    region_code=lambda app: app.region_code,
    subjects=lambda app: (app.person_id,) if app.person_id else (),
    dimensions=(
        Dimension("domain", _("Domain"), choice_values(Domain)),
        Dimension("status", _("Status"), choice_values(Status)),
        Dimension("channel", _("Channel"), choice_values(Channel)),
    ),
    events=("govservice.application_changed",),
)

RESOURCES: tuple[DataResource, ...] = (APPLICATIONS,)
