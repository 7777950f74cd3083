"""After the department: verification, the resident's rating, supervision, comments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import Department, User
from shequ.core.permissions import has_perm
from shequ.grid.models import (
    Clock,
    Dispatch,
    Status,
    Ticket,
    TicketAction,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services import _common
from shequ.grid.services._common import (
    _CLOCK_FIELDS,
    COMMENT_MAX,
    LOW_RATING,
    _allow,
    _community_code,
    _department_ids,
    _dispatch,
    _lock,
    _reason,
    _record,
    _refuse,
    _require,
    _save,
    _start_clock,
    _stop_clock,
    _text,
    default_department,
    resolve_due,
)

# --- Verification, rating, supervision ----------------------------------------------------------


def _has_rater(ticket: Ticket) -> bool:
    return ticket.reporter_user_id is not None


def ticket_verify(
    *, actor: User | None, ticket: Ticket, passed: bool, comment: str = "", request: HttpRequest | None = None
) -> Ticket:
    """The grid worker checks the result on site. Passed: verified (closed at once when no
    reporter account can rate it). Failed: back to whoever resolved it, with the reason."""
    _require(actor, P.VERIFY, ticket, "verify", request)
    comment = _text(comment, "comment", COMMENT_MAX, required=not passed, label=_("What is still wrong"))
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.RESOLVED}, pgettext("ticket step", "verified"))
        before = ticket.status
        now = _common._now()
        fields = ["status"]
        if passed:
            if _has_rater(ticket):
                ticket.status = Status.VERIFIED
            else:
                ticket.status = Status.CLOSED
                ticket.closed_at = now
                fields.append("closed_at")
        else:
            with_department = ticket.department_id is not None
            ticket.status = Status.IN_PROGRESS if with_department else Status.ACCEPTED
            ticket.resolved_at = None
            fields.append("resolved_at")
            if with_department:
                Dispatch.objects.filter(ticket=ticket, is_current=True).update(resolved_at=None)
            due = ticket.resolve_due_at or resolve_due(ticket.category, ticket.urgency, now)
            _start_clock(ticket, Clock.RESOLUTION, now, max(due, now + dt.timedelta(hours=1)))
            fields.extend(_CLOCK_FIELDS)
        _save(ticket, *fields)
        _record(
            ticket,
            actor=actor,
            action="verify" if passed else "verify_failed",
            from_status=before,
            comment=comment,
            request=request,
        )
    return ticket


def ticket_rate(
    *, actor: User | None, ticket: Ticket, rating: Any, comment: str = "", request: HttpRequest | None = None
) -> Ticket:
    """The reporter rates the result 1–5. 3 or more closes the ticket; 2 or less reopens it for
    the supervising level (好差评: a bad review must be looked into)."""
    if actor is None or ticket.reporter_user_id != getattr(actor, "pk", None):
        _refuse(actor, ticket, "rate", "only the reporter rates a ticket", request=request)
    try:
        stars = int(rating)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"rating": _("Choose 1 to 5 stars.")}) from exc
    if not 1 <= stars <= 5:
        raise ValidationError({"rating": _("Choose 1 to 5 stars.")})
    comment = _text(comment, "comment", 500, required=stars <= LOW_RATING, label=_("What went wrong"))
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.RESOLVED, Status.VERIFIED}, pgettext("ticket step", "rated"))
        before = ticket.status
        now = _common._now()
        ticket.rating = stars
        ticket.rating_comment = comment
        ticket.rated_at = now
        if stars <= LOW_RATING:
            ticket.status = Status.REOPENED
            ticket.closed_at = None
            ticket.supervision_code = _community_code(ticket.region_code)
        else:
            ticket.status = Status.CLOSED
            ticket.closed_at = now
        _save(ticket, "rating", "rating_comment", "rated_at", "status", "closed_at", "supervision_code")
        _record(
            ticket,
            actor=actor,
            action="rate",
            from_status=before,
            comment=comment,
            request=request,
            params={"rating": stars},
        )
    return ticket


class Decision:
    REDISPATCH = "redispatch"
    RETURN = "return"
    CLOSE = "close"


def ticket_supervise(
    *,
    actor: User | None,
    ticket: Ticket,
    decision: str,
    comment: str,
    department: Department | None = None,
    request: HttpRequest | None = None,
) -> Ticket:
    """A supervisor decides a reopened ticket: dispatch it again, hand it back to the community,
    or close it with the reason the resident will read."""
    _require(actor, P.SUPERVISE, ticket, "supervise", request)
    comment = _reason(comment, "comment")
    if decision not in {Decision.REDISPATCH, Decision.RETURN, Decision.CLOSE}:
        raise ValidationError({"decision": _("Choose what happens to the ticket.")})
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.REOPENED}, pgettext("ticket step", "decided by a supervisor"))
        before = ticket.status
        now = _common._now()
        if decision == Decision.REDISPATCH:
            dept = department or ticket.department or default_department(ticket.category, ticket.region_code)
            if dept is None:
                raise ValidationError({"department": _("Choose the department.")})
            _dispatch(ticket, dept, actor=actor, comment=comment, request=request)
            return ticket
        if decision == Decision.RETURN:
            ticket.status = Status.ACCEPTED
            ticket.department = None
            Dispatch.objects.filter(ticket=ticket, is_current=True).update(is_current=False)
            _start_clock(ticket, Clock.RESOLUTION, now, resolve_due(ticket.category, ticket.urgency, now))
        else:
            ticket.status = Status.CLOSED
            ticket.closed_at = now
            _stop_clock(ticket)
        _save(ticket, "status", "department", "closed_at", *_CLOCK_FIELDS)
        _record(
            ticket,
            actor=actor,
            action=f"supervise_{decision}",
            from_status=before,
            comment=comment,
            request=request,
        )
    return ticket


def ticket_comment(
    *, actor: User | None, ticket: Ticket, text: str, request: HttpRequest | None = None
) -> TicketAction:
    """A note on the timeline from anyone who may act on the ticket (not a state change)."""
    if actor is not None and not (
        has_perm(actor, P.VIEW, ticket.region_code) or (ticket.department_id in _department_ids(actor))
    ):
        _refuse(actor, ticket, "comment", "cannot see the ticket", request=request)
    text = _text(text, "comment", COMMENT_MAX, required=True, label=_("The note"))
    with transaction.atomic():
        return _record(
            ticket, actor=actor, action="comment", from_status=ticket.status, comment=text, request=request
        )
