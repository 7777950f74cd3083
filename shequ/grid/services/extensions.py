"""More time: the department asks, the community decides."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import User
from shequ.grid import deadlines
from shequ.grid.models import (
    EXTENSION_STATUSES,
    Clock,
    Dispatch,
    Extension,
    ExtensionStatus,
    Ticket,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services import _common
from shequ.grid.services._common import (
    _CLOCK_FIELDS,
    COMMENT_MAX,
    EXTENSION_MAX_DAYS,
    TransitionError,
    _allow,
    _current_dispatch,
    _lock,
    _reason,
    _record,
    _require,
    _require_department,
    _same_department,
    _save,
    _start_clock,
    _text,
)


def extension_request(
    *, actor: User | None, ticket: Ticket, days: Any, reason: str, request: HttpRequest | None = None
) -> Extension:
    _require_department(actor, ticket, "request_extension", request)
    reason = _reason(reason)
    try:
        n = int(days)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"days": _("Enter a whole number of working days.")}) from exc
    if not 1 <= n <= EXTENSION_MAX_DAYS:
        raise ValidationError({"days": _("Ask for 1 to %(n)d working days.") % {"n": EXTENSION_MAX_DAYS}})
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, EXTENSION_STATUSES, pgettext("ticket step", "extended"))
        current = _current_dispatch(ticket)
        if Extension.objects.filter(dispatch=current, status=ExtensionStatus.PENDING).exists():
            raise TransitionError(
                _("An extension request is already waiting for a decision."), code="illegal_transition"
            )
        ext = Extension.objects.create(
            ticket=ticket, dispatch=current, requested_by=actor, days=n, reason=reason
        )
        _record(
            ticket,
            actor=actor,
            action="request_extension",
            from_status=ticket.status,
            comment=reason,
            request=request,
            params={"days": n},
        )
    return ext


def extension_decide(
    *,
    actor: User | None,
    extension: Extension,
    approve: bool,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Extension:
    ticket = extension.ticket
    _require(actor, P.SUPERVISE, ticket, "decide_extension", request)
    comment = _text(comment, "comment", COMMENT_MAX, required=not approve, label=_("The reason for refusing"))
    with transaction.atomic():
        ticket = _lock(ticket)
        ext = Extension.objects.select_for_update().get(pk=extension.pk)
        if ext.status != ExtensionStatus.PENDING:
            raise TransitionError(_("This request has already been decided."), code="illegal_transition")
        # Only while the department still works on it: more time for a resolved or closed ticket
        # would rewrite a deadline already met or missed (and settled figures).
        _allow(ticket, EXTENSION_STATUSES, pgettext("ticket step", "extended"))
        if not Dispatch.objects.filter(pk=ext.dispatch_id, is_current=True).exists():
            raise TransitionError(
                _("This request was made for an earlier dispatch of the ticket."), code="illegal_transition"
            )
        now = _common._now()
        ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
        ext.decided_by = actor
        ext.decided_at = now
        ext.decision_comment = comment
        ext.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        params: dict[str, Any] = {"days": ext.days, "approved": approve}
        if approve and ticket.resolve_due_at is not None:
            new_due = deadlines.Calendar.load().add_working_days(ticket.resolve_due_at, ext.days)
            ticket.resolve_due_at = new_due
            Dispatch.objects.filter(pk=ext.dispatch_id).update(resolve_due_at=new_due)
            if ticket.clock == Clock.RESOLUTION and ticket.clock_started_at is not None:
                _start_clock(ticket, Clock.RESOLUTION, ticket.clock_started_at, new_due)
            _save(ticket, "resolve_due_at", *_CLOCK_FIELDS)
            params["due"] = timezone.localtime(new_due).isoformat()
        _record(
            ticket,
            actor=actor,
            action="approve_extension" if approve else "reject_extension",
            from_status=ticket.status,
            comment=comment,
            request=request,
            params=params,
        )
    return ext
