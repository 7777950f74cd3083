"""The department's steps: accept, respond, resolve, return."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import User
from shequ.grid.models import (
    DEPARTMENT_STATUSES,
    Clock,
    Extension,
    ExtensionStatus,
    Status,
    Ticket,
)
from shequ.grid.services import _common
from shequ.grid.services._common import (
    _CLOCK_FIELDS,
    COMMENT_MAX,
    TEXT_MAX,
    _allow,
    _attach,
    _clean_photo,
    _current_dispatch,
    _lock,
    _reason,
    _record,
    _require_department,
    _same_department,
    _save,
    _start_clock,
    _stop_clock,
    _text,
    response_due,
)

# --- Department steps ---------------------------------------------------------------------------


def ticket_department_accept(
    *, actor: User | None, ticket: Ticket, comment: str = "", request: HttpRequest | None = None
) -> Ticket:
    _require_department(actor, ticket, "dept_accept", request)
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, {Status.DISPATCHED}, pgettext("ticket step", "accepted by the department"))
        comment = _text(comment, "comment", COMMENT_MAX)
        record = _current_dispatch(ticket)
        now = _common._now()
        record.accepted_at = now
        record.save(update_fields=["accepted_at"])
        before = ticket.status
        ticket.status = Status.DEPT_ACCEPTED
        ticket.responded_at = now
        assert ticket.resolve_due_at is not None
        _start_clock(ticket, Clock.RESOLUTION, now, ticket.resolve_due_at)
        _save(ticket, "status", "responded_at", *_CLOCK_FIELDS)
        _record(
            ticket,
            actor=actor,
            action="dept_accept",
            from_status=before,
            comment=comment,
            request=request,
            department=record.department,
        )
    return ticket


def ticket_respond(
    *, actor: User | None, ticket: Ticket, comment: str, request: HttpRequest | None = None
) -> Ticket:
    """A progress note the reporter can read (回复); the ticket is in progress from now on."""
    _require_department(actor, ticket, "respond", request)
    comment = _text(comment, "comment", COMMENT_MAX, required=True, label=_("The reply"))
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, {Status.DEPT_ACCEPTED, Status.IN_PROGRESS}, pgettext("ticket step", "answered"))
        record = _current_dispatch(ticket)
        if record.responded_at is None:
            record.responded_at = _common._now()
            record.save(update_fields=["responded_at"])
        before = ticket.status
        ticket.status = Status.IN_PROGRESS
        _save(ticket, "status")
        _record(
            ticket,
            actor=actor,
            action="respond",
            from_status=before,
            comment=comment,
            request=request,
            department=record.department,
        )
    return ticket


def ticket_resolve(
    *,
    actor: User | None,
    ticket: Ticket,
    result: str,
    photos: Sequence[Any] = (),
    request: HttpRequest | None = None,
) -> Ticket:
    _require_department(actor, ticket, "resolve", request)
    result = _text(result, "result", TEXT_MAX, required=True, label=_("The result"))
    images = [_clean_photo(p) for p in photos]
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, {Status.DEPT_ACCEPTED, Status.IN_PROGRESS}, pgettext("ticket step", "resolved"))
        record = _current_dispatch(ticket)
        now = _common._now()
        record.resolved_at = now
        record.responded_at = record.responded_at or now
        record.save(update_fields=["resolved_at", "responded_at"])
        # A request for more time still waiting is moot once the work is done (as on a return).
        Extension.objects.filter(ticket=ticket, status=ExtensionStatus.PENDING).update(
            status=ExtensionStatus.REJECTED, decided_at=now, decision_comment="resolved"
        )
        before = ticket.status
        ticket.status = Status.RESOLVED
        ticket.result = result
        ticket.resolved_at = now
        _stop_clock(ticket)
        _save(ticket, "status", "result", "resolved_at", *_CLOCK_FIELDS)
        step = _record(
            ticket,
            actor=actor,
            action="resolve",
            from_status=before,
            comment=result,
            request=request,
            department=record.department,
        )
        _attach(ticket, step, images, actor)
    return ticket


def ticket_department_return(
    *, actor: User | None, ticket: Ticket, reason: str, request: HttpRequest | None = None
) -> Ticket:
    """退单: not ours (wrong department, outside our remit); back to the community to re-dispatch."""
    _require_department(actor, ticket, "dept_return", request)
    reason = _reason(reason)
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, DEPARTMENT_STATUSES, pgettext("ticket step", "returned"))
        record = _current_dispatch(ticket)
        now = _common._now()
        record.returned_at = now
        record.return_reason = reason
        record.is_current = False
        record.save(update_fields=["returned_at", "return_reason", "is_current"])
        Extension.objects.filter(ticket=ticket, status=ExtensionStatus.PENDING).update(
            status=ExtensionStatus.REJECTED, decided_at=now, decision_comment="returned"
        )
        before = ticket.status
        ticket.status = Status.ACCEPTED
        ticket.department = None
        due = response_due(ticket.category, ticket.urgency, now)
        _start_clock(ticket, Clock.RESPONSE, now, due)
        _save(ticket, "status", "department", *_CLOCK_FIELDS)
        _record(
            ticket,
            actor=actor,
            action="dept_return",
            from_status=before,
            comment=reason,
            request=request,
            department=record.department,
        )
    return ticket
