"""Helpers shared by the ticket services: limits, permission checks and refusals, the row lock,
the step record (timeline, audit, rollup, event), the deadline clock, photo cleaning."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.images import PHOTO_MAX_BYTES as PHOTO_MAX_BYTES
from shequ.core.images import PHOTO_MAX_PIXELS as PHOTO_MAX_PIXELS
from shequ.core.images import PHOTO_TYPES as PHOTO_TYPES
from shequ.core.images import CleanImage, clean_image
from shequ.core.models import AuditResult, Department, Region, RegionLevel, User
from shequ.core.outbox import emit
from shequ.core.permissions import active_memberships, has_perm, primary_role
from shequ.core.text import clean_text
from shequ.grid import deadlines, events, stats_rollup
from shequ.grid.models import (
    FINAL_STATUSES,
    Attachment,
    Category,
    Clock,
    Dispatch,
    RoutingRule,
    Source,
    Status,
    Ticket,
    TicketAction,
    Urgency,
)
from shequ.grid.permissions import GridPerm as P

TITLE_MAX = 100
TEXT_MAX = 4000
COMMENT_MAX = 2000
MAX_PHOTOS = 9
# Steps that change none of the figures the statistics count (the rollup need not be refreshed).
UNCOUNTED_ACTIONS = frozenset({"comment", "add_photos"})
# All the photos of one ticket, whatever step added them: plenty for any matter, and a bound on
# what can pile up on one ticket.
MAX_TICKET_PHOTOS = 36
EXTENSION_MAX_DAYS = 30
LOW_RATING = 2
# Resolved tickets the reporter neither rated nor disputed close after this many days.
RATING_WINDOW_DAYS = 7
_TICKET_LEVELS = {RegionLevel.GRID, RegionLevel.COMMUNITY}
# Sources whose category a member of staff (or a trusted system) chose: it counts as confirmed,
# and a routing rule may dispatch the ticket at once. A resident's or an Open311 client's choice
# is a suggestion the community checks.
STAFF_SOURCES = frozenset({Source.PATROL, Source.STAFF, Source.HOTLINE, Source.SENSOR})


class TransitionError(ValidationError):
    """A step the ticket's state does not allow."""


# --- Small helpers ----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return timezone.now()


def _text(value: Any, field: str, max_length: int, *, required: bool = False, label: str = "") -> str:
    text = clean_text(value, multiline=True, field=field)  # the one cleaner: control characters refused
    if required and not text:
        raise ValidationError({field: _("%(field)s is required.") % {"field": label or field}})
    if len(text) > max_length:
        raise ValidationError(
            {field: _("%(field)s has at most %(n)d characters.") % {"field": label or field, "n": max_length}}
        )
    return text


def _reason(value: Any, field: str = "reason") -> str:
    return _text(value, field, COMMENT_MAX, required=True, label=_("The reason"))


def _status_label(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status


def _allow(ticket: Ticket, allowed: Iterable[str], step: str) -> None:
    allowed = set(allowed)
    if ticket.status in allowed:
        return
    raise TransitionError(
        _("This ticket is %(status)s; it cannot be %(step)s now (only when %(allowed)s).")
        % {
            "status": _status_label(ticket.status),
            "step": step,
            "allowed": _(" or ").join(_status_label(s) for s in Status.values if s in allowed),
        },
        code="illegal_transition",
    )


def _department_ids(actor: User | None) -> set[int]:
    return {
        m.department_id
        for m in active_memberships(actor)
        if m.department_id is not None and P.DEPARTMENT in _role_perms(m.role)
    }


def _role_perms(role: str) -> frozenset[str]:
    from shequ.core.permissions import ROLE_PERMISSIONS

    return ROLE_PERMISSIONS.get(role, frozenset())


def _refuse(
    actor: User | None,
    ticket: Ticket | None,
    action: str,
    why: str,
    *,
    request: HttpRequest | None,
    region_code: str = "",
) -> None:
    audit.record(
        f"grid.{action}",
        actor=actor,
        request=request,
        region_code=ticket.region_code if ticket else region_code,
        object_type="grid.ticket",
        object_id=ticket.pk if ticket else "",
        result=AuditResult.DENIED,
        detail={"why": why},
    )
    raise PermissionDenied(_("You may not do this with this ticket."))


def _require(actor: User | None, perm: str, ticket: Ticket, action: str, request: HttpRequest | None) -> None:
    if actor is None or has_perm(actor, perm, ticket.region_code):
        return
    _refuse(actor, ticket, action, f"no {perm} in this region", request=request)


def _require_department(actor: User | None, ticket: Ticket, action: str, request: HttpRequest | None) -> None:
    # The department is read afresh: the caller's copy may predate a return or a re-dispatch.
    current = Ticket.objects.filter(pk=ticket.pk).values_list("department_id", flat=True).first()
    ticket.department_id = current
    if actor is None or (current is not None and current in _department_ids(actor)):
        return
    _refuse(actor, ticket, action, "not the department the ticket is dispatched to", request=request)


def _same_department(ticket: Ticket, checked: int | None) -> None:
    """Inside the row lock: the department checked before is still the ticket's."""
    if ticket.department_id != checked:
        raise TransitionError(_("The ticket changed meanwhile; reload the page."), code="illegal_transition")


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so two people acting at once cannot both move it."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _record(
    ticket: Ticket,
    *,
    actor: User | None,
    action: str,
    from_status: str,
    comment: str = "",
    params: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
    department: Department | None = None,
    audit_detail: Mapping[str, Any] | None = None,
) -> TicketAction:
    """The timeline row, the audit entry and the event of one step."""
    step = TicketAction.objects.create(
        ticket=ticket,
        at=_now(),
        actor=actor,
        actor_name=(getattr(actor, "display_name", "") or getattr(actor, "username", "")) if actor else "",
        actor_role=(primary_role(actor) or "") if actor else "",
        department=department,
        action=action,
        from_status=from_status,
        to_status=ticket.status,
        comment=comment,
        params=dict(params or {}),
    )
    audit.record(
        f"grid.{action}",
        actor=actor,
        request=request,
        region_code=ticket.region_code,
        object_type="grid.ticket",
        object_id=ticket.pk,
        detail={"from": from_status, "to": ticket.status, **dict(audit_detail or {})},
    )
    if (from_status in FINAL_STATUSES or ticket.status in FINAL_STATUSES) and action not in UNCOUNTED_ACTIONS:
        # Into, out of or on a final status: the statistics rollup's row, in this transaction.
        stats_rollup.refresh(ticket)
    if action != "submit":
        emit(
            events.TicketChanged(
                actor_id=getattr(actor, "pk", None),
                ticket_id=ticket.pk,
                region_code=ticket.region_code,
                action=action,
                from_status=from_status,
                to_status=ticket.status,
            )
        )
    if ticket.status == Status.CLOSED and from_status != Status.CLOSED:
        emit(
            events.TicketClosed(
                actor_id=getattr(actor, "pk", None), ticket_id=ticket.pk, region_code=ticket.region_code
            )
        )
    return step


def _start_clock(ticket: Ticket, clock: str, start: dt.datetime, due: dt.datetime) -> None:
    ticket.clock = clock
    ticket.clock_started_at = start
    ticket.due_at = due
    ticket.warn_at = deadlines.warn_point(start, due)
    ticket.warned_at = None


def _stop_clock(ticket: Ticket) -> None:
    ticket.clock = Clock.NONE
    ticket.clock_started_at = ticket.due_at = ticket.warn_at = ticket.warned_at = None


# Without a category yet, the catalog's defaults (Category's field defaults): an urgent report
# that nobody has categorised must not wait 24 hours.
UNCATEGORISED_RESPONSE_HOURS = 24
UNCATEGORISED_URGENT_RESPONSE_HOURS = 1


def response_due(category: Category | None, urgency: str, start: dt.datetime) -> dt.datetime:
    if category is None:
        hours = (
            UNCATEGORISED_URGENT_RESPONSE_HOURS if urgency == Urgency.URGENT else UNCATEGORISED_RESPONSE_HOURS
        )
        return deadlines.add_hours(start, hours)
    hours = category.urgent_response_hours if urgency == Urgency.URGENT else category.response_hours
    return deadlines.add_hours(start, hours)


def resolve_due(
    category: Category | None, urgency: str, start: dt.datetime, calendar: deadlines.Calendar | None = None
) -> dt.datetime:
    if category is not None and urgency == Urgency.URGENT:
        return deadlines.add_hours(start, category.urgent_resolution_hours)
    days = category.resolution_days if category is not None else 10
    return (calendar or deadlines.Calendar.load()).add_working_days(start, days)


def _save(ticket: Ticket, *fields: str) -> None:
    ticket.updated_at = _now()
    ticket.save(update_fields=[*fields, "updated_at"])


_CLOCK_FIELDS = ("clock", "clock_started_at", "due_at", "warn_at", "warned_at")


def _clean_point(lat: Any, lng: Any) -> tuple[Decimal | None, Decimal | None]:
    if lat in (None, "") and lng in (None, ""):
        return None, None
    try:
        la, lo = Decimal(str(lat)), Decimal(str(lng))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"location": _("The location is not a valid point.")}) from exc
    # China's extent, with a margin: a point elsewhere is a device or typing error.
    if not (Decimal(3) <= la <= Decimal(54) and Decimal(73) <= lo <= Decimal(136)):
        raise ValidationError({"location": _("The location lies outside China.")})
    return la.quantize(Decimal("0.000001")), lo.quantize(Decimal("0.000001"))


def _ticket_region(region: Region) -> Region:
    if region.level not in _TICKET_LEVELS:
        raise ValidationError({"region": _("A ticket belongs to a grid or a community.")})
    return region


def _community_code(code: str) -> str:
    from shequ.core.models import LEVEL_CODE_LENGTH

    return code[: LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]]


# --- Photos ------------------------------------------------------------------------------------


_Image = CleanImage


def _clean_photo(upload: UploadedFile | bytes) -> CleanImage:
    return clean_image(upload, field="photos")


def _attach(ticket: Ticket, step: TicketAction, images: Sequence[_Image], actor: User | None) -> None:
    """Store the step's photos (under the ticket's lock): refused, with the whole step, when the
    ticket would hold more than MAX_TICKET_PHOTOS."""
    if not images:
        return
    held = Attachment.objects.filter(ticket=ticket).count()
    if held + len(images) > MAX_TICKET_PHOTOS:
        raise ValidationError(
            {
                "photos": _("A ticket holds at most %(n)d photos; this one has %(held)d.")
                % {"n": MAX_TICKET_PHOTOS, "held": held}
            }
        )
    for image in images:
        digest = hashlib.sha256(image.data).hexdigest()
        att = Attachment(
            ticket=ticket,
            action=step,
            content_type=image.content_type,
            extension=image.extension,
            size=len(image.data),
            sha256=digest,
            width=image.width,
            height=image.height,
            uploaded_by=actor,
        )
        # A rolled-back transaction leaves the file without its row: ``sweep_orphan_photos`` removes it.
        att.file.save("photo" + image.extension, ContentFile(image.data), save=False)
        att.save()


# --- Routing ------------------------------------------------------------------------------------


def route(category: Category, region: Region | str) -> RoutingRule | None:
    """The rule of the nearest region above (or at) the ticket's, for the category or its main type."""
    code = region if isinstance(region, str) else region.code
    from shequ.core.models import LEVEL_CODE_LENGTH

    prefixes = [code[:n] for n in sorted(set(LEVEL_CODE_LENGTH.values())) if n <= len(code)]
    cats = [category.pk] + ([category.parent_id] if category.parent_id else [])
    rules = list(
        RoutingRule.objects.filter(category_id__in=cats, region_code__in=prefixes).select_related(
            "department"
        )
    )
    if not rules:
        return None
    # Nearest region first; the leaf's rule before its main type's.
    rules.sort(key=lambda r: (-len(r.region_code), 0 if r.category_id == category.pk else 1))
    return rules[0]


def default_department(category: Category | None, region: Region | str) -> Department | None:
    """The routing rule's department, else the nearest active department of the category's kind
    whose region covers the ticket."""
    if category is None:
        return None
    rule = route(category, region)
    if rule is not None:
        return rule.department
    kind = category.department_kind or (category.parent.department_kind if category.parent else "")
    if not kind:
        return None
    code = region if isinstance(region, str) else region.code
    candidates = [
        d for d in Department.objects.filter(kind=kind, is_active=True) if code.startswith(d.region_code)
    ]
    candidates.sort(key=lambda d: -len(d.region_code))
    return candidates[0] if candidates else None


def _dispatch(
    ticket: Ticket,
    department: Department,
    *,
    actor: User | None,
    comment: str,
    request: HttpRequest | None,
    automatic: bool = False,
) -> Dispatch:
    if not department.is_active:
        raise ValidationError({"department": _("This department no longer takes tickets.")})
    if not ticket.region_code.startswith(department.region_code):
        raise ValidationError({"department": _("The department does not serve this ticket's area.")})
    before = ticket.status
    now = _now()
    calendar = deadlines.Calendar.load()
    response = response_due(ticket.category, ticket.urgency, now)
    resolution = resolve_due(ticket.category, ticket.urgency, now, calendar)
    Dispatch.objects.filter(ticket=ticket, is_current=True).update(is_current=False)
    record = Dispatch.objects.create(
        ticket=ticket,
        department=department,
        dispatched_at=now,
        dispatched_by=actor,
        response_due_at=response,
        resolve_due_at=resolution,
    )
    ticket.status = Status.DISPATCHED
    ticket.department = department
    ticket.response_due_at = response
    ticket.resolve_due_at = resolution
    _start_clock(ticket, Clock.RESPONSE, now, response)
    _save(ticket, "status", "department", "response_due_at", "resolve_due_at", *_CLOCK_FIELDS)
    _record(
        ticket,
        actor=actor,
        action="dispatch",
        from_status=before,
        comment=comment,
        request=request,
        # The community acts here; the department it sends to is in the params.
        params={"department": department.name, "automatic": automatic},
        audit_detail={"department": department.code},
    )
    emit(
        events.TicketDispatched(
            actor_id=getattr(actor, "pk", None),
            ticket_id=ticket.pk,
            region_code=ticket.region_code,
            dispatch_id=record.pk,
            department_id=department.pk,
            urgent=ticket.urgency == Urgency.URGENT,
        )
    )
    return record


def _current_dispatch(ticket: Ticket) -> Dispatch:
    record = Dispatch.objects.filter(ticket=ticket, is_current=True).first()
    if record is None:
        raise TransitionError(_("The ticket is not with a department."), code="illegal_transition")
    return record
