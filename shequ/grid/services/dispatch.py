"""The community sends a ticket to a department, or handles it itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import Department, User
from shequ.grid.models import (
    Status,
    Ticket,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services import _common
from shequ.grid.services._common import (
    _CLOCK_FIELDS,
    COMMENT_MAX,
    TEXT_MAX,
    _allow,
    _attach,
    _clean_photo,
    _dispatch,
    _lock,
    _record,
    _require,
    _save,
    _stop_clock,
    _text,
    default_department,
)


def ticket_dispatch(
    *,
    actor: User | None,
    ticket: Ticket,
    department: Department | None = None,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Ticket:
    """Push the ticket to a department (the routing rule's unless another is chosen)."""
    _require(actor, P.HANDLE, ticket, "dispatch", request)
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.ACCEPTED}, pgettext("ticket step", "dispatched"))
        comment = _text(comment, "comment", COMMENT_MAX)
        department = department or default_department(ticket.category, ticket.region_code)
        if department is None:
            raise ValidationError(
                {
                    "department": _(
                        "No department handles this category here; choose one or handle it in the community."
                    )
                }
            )
        _dispatch(ticket, department, actor=actor, comment=comment, request=request)
    return ticket


def ticket_handle(
    *,
    actor: User | None,
    ticket: Ticket,
    result: str,
    photos: Sequence[Any] = (),
    request: HttpRequest | None = None,
) -> Ticket:
    """The community resolves an accepted ticket itself (no department needed)."""
    _require(actor, P.HANDLE, ticket, "handle", request)
    result = _text(result, "result", TEXT_MAX, required=True, label=_("The result"))
    images = [_clean_photo(p) for p in photos]
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.ACCEPTED}, pgettext("ticket step", "resolved by the community"))
        before = ticket.status
        ticket.status = Status.RESOLVED
        ticket.result = result
        ticket.resolved_at = _common._now()
        _stop_clock(ticket)
        _save(ticket, "status", "result", "resolved_at", *_CLOCK_FIELDS)
        step = _record(
            ticket, actor=actor, action="handle", from_status=before, comment=result, request=request
        )
        _attach(ticket, step, images, actor)
    return ticket
