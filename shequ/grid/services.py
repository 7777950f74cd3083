"""Every write to a ticket: one service per workflow step, each with its permission check, its
audit entry, its ``TicketAction`` and its domain event in one transaction. An illegal step (a
department resolving a ticket it never accepted, a rating on an open ticket) is refused with a
``TransitionError`` that says what the ticket's state allows; a refused permission is audited and
raises ``PermissionDenied``; bad input raises ``ValidationError`` and changes nothing.

``actor=None`` is the platform itself (imports, sensors, the deadline jobs, the demo).

The life of a ticket::

    submitted ──accept──▶ accepted ──dispatch──▶ dispatched ──dept_accept──▶ dept_accepted
        │                   │  ▲                     │                          │ respond
        │ close_on_spot     │  └──── dept_return ────┴──────────────────────────┤
        ▼                   │ handle (the community resolves it itself)         ▼
      closed ◀── rate ≥ 3 ── verified ◀── verify ── resolved ◀── resolve ── in_progress
                   │ rate ≤ 2
                   ▼
               reopened ──supervise──▶ dispatched / accepted / closed
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core import audit
from shequ.core.models import AuditResult, Department, Membership, Region, RegionLevel, Role, User
from shequ.core.outbox import emit
from shequ.core.permissions import active_memberships, has_perm, primary_role
from shequ.core.text import clean_text
from shequ.grid import deadlines, events, stats_rollup
from shequ.grid.models import (
    DEPARTMENT_STATUSES,
    EXTENSION_STATUSES,
    FINAL_STATUSES,
    OPEN_STATUSES,
    Attachment,
    Category,
    Clock,
    Dispatch,
    Extension,
    ExtensionStatus,
    Follower,
    RoutingRule,
    Source,
    Status,
    Ticket,
    TicketAction,
    Urgency,
)
from shequ.grid.permissions import GridPerm as P
from shequ.registry import validators as v

TITLE_MAX = 100
TEXT_MAX = 4000
COMMENT_MAX = 2000
MAX_PHOTOS = 9
# Steps that change none of the figures the statistics count (the rollup need not be refreshed).
UNCOUNTED_ACTIONS = frozenset({"comment", "add_photos"})
# All the photos of one ticket, whatever step added them: plenty for any matter, and a bound on
# what can pile up on one ticket.
MAX_TICKET_PHOTOS = 36
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
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


def _department_ids(actor: Any) -> set[int]:
    return {
        m.department_id
        for m in active_memberships(actor)
        if m.department_id is not None and P.DEPARTMENT in _role_perms(m.role)
    }


def _role_perms(role: str) -> frozenset[str]:
    from shequ.core.permissions import ROLE_PERMISSIONS

    return ROLE_PERMISSIONS.get(role, frozenset())


def _refuse(
    actor: Any,
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


def _require(actor: Any, perm: str, ticket: Ticket, action: str, request: HttpRequest | None) -> None:
    if actor is None or has_perm(actor, perm, ticket.region_code):
        return
    _refuse(actor, ticket, action, f"no {perm} in this region", request=request)


def _require_department(actor: Any, ticket: Ticket, action: str, request: HttpRequest | None) -> None:
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
    actor: Any,
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


def response_due(category: Category | None, urgency: str, start: dt.datetime) -> dt.datetime:
    if category is None:
        return deadlines.add_hours(start, 24)
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


# --- Intake -------------------------------------------------------------------------------------


def clean_category(value: Any, *, required: bool = False) -> Category | None:
    if value in (None, ""):
        if required:
            raise ValidationError({"category": _("Choose a category.")})
        return None
    found: Category | None
    if isinstance(value, Category):
        found = value
    elif str(value).isdigit():
        found = Category.objects.filter(pk=int(value)).first()
    else:
        found = Category.objects.filter(code=str(value)).first()
    if found is None:
        raise ValidationError({"category": _("There is no such category.")})
    category = found
    if not category.is_active or category.parent_id is None:
        raise ValidationError({"category": _("Choose a specific, active category (not a main type).")})
    return category


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


def submit(
    *,
    actor: Any,
    source: str,
    region: Region,
    title: str,
    description: str,
    category: Any = None,
    urgency: str = Urgency.NORMAL,
    reporter_person: Any = None,
    anonymous: bool = False,
    contact_name: str = "",
    contact_phone: str = "",
    latitude: Any = None,
    longitude: Any = None,
    address: str = "",
    house: Any = None,
    building: Any = None,
    key_place: Any = None,
    photos: Sequence[UploadedFile | bytes] = (),
    external_ref: str = "",
    submitted_at: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Ticket:
    """A new ticket from any source. Residents report for themselves; staff report from patrols
    or for someone who walked in or phoned; imports, sensors and Open311 pass ``actor=None`` or a
    system account after their own checks."""
    if source not in Source.values:
        raise ValidationError({"source": _("Unknown source.")})
    region = _ticket_region(region)
    if actor is not None:
        perm = P.PATROL if source == Source.PATROL else P.REPORT
        if not has_perm(actor, perm, region.code):
            _refuse(
                actor, None, "submit", f"no {perm} in this region", request=request, region_code=region.code
            )
        if source == Source.RESIDENT and not has_perm(actor, P.REPORT, region.code):
            _refuse(
                actor,
                None,
                "submit",
                "residents report in their own area",
                request=request,
                region_code=region.code,
            )
    errors: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    for key, func in (
        ("title", lambda: _text(title, "title", TITLE_MAX, required=True, label=_("The title"))),
        (
            "description",
            lambda: _text(description, "description", TEXT_MAX, required=True, label=_("The description")),
        ),
        ("category", lambda: clean_category(category)),
        ("point", lambda: _clean_point(latitude, longitude)),
        ("contact_name", lambda: _text(contact_name, "contact_name", 50)),
        ("contact_phone", lambda: v.clean_contact_phone(contact_phone)),
        ("address", lambda: _text(address, "address", 200)),
        ("external_ref", lambda: _text(external_ref, "external_ref", 64)),
    ):
        try:
            cleaned[key] = func()
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                errors.update(exc.error_dict)
            else:
                errors[key] = exc.error_list
    if urgency not in Urgency.values:
        errors["urgency"] = [ValidationError(_("Unknown urgency."))]
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = [ValidationError(_("At most %(n)d photos.") % {"n": MAX_PHOTOS})]
    if errors:
        raise ValidationError(errors)
    images = [_clean_photo(p) for p in photos]
    now = submitted_at or _now()
    cat: Category | None = cleaned["category"]
    lat, lng = cleaned["point"]
    reporter_user = actor if source == Source.RESIDENT else None
    with transaction.atomic():
        ticket = Ticket(
            source=source,
            reporter_user=reporter_user,
            reporter_person=reporter_person,
            anonymous=bool(anonymous),
            contact_name="" if anonymous and not cleaned["contact_phone"] else cleaned["contact_name"],
            contact_phone=cleaned["contact_phone"],
            title=cleaned["title"],
            description=cleaned["description"],
            category=cat,
            urgency=urgency,
            region=region,
            region_code=region.code,
            latitude=lat,
            longitude=lng,
            address=cleaned["address"],
            house=house,
            building=building or (house.building if house is not None else None),
            key_place=key_place,
            status=Status.SUBMITTED,
            supervision_code=_community_code(region.code),
            submitted_at=now,
            external_ref=cleaned["external_ref"],
            created_by=actor,
            updated_at=now,
        )
        if cat is not None and actor is not None and source in STAFF_SOURCES:
            ticket.category_confirmed_by = actor
        due = response_due(cat, urgency, now)
        ticket.response_due_at = due
        _start_clock(ticket, Clock.RESPONSE, now, due)
        try:
            with transaction.atomic():
                ticket.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"external_ref": _("A ticket with this external reference was already imported.")}
            ) from exc
        if reporter_user is not None:
            Follower.objects.create(ticket=ticket, user=reporter_user)
        step = _record(
            ticket, actor=actor, action="submit", from_status="", request=request, params={"source": source}
        )
        _attach(ticket, step, images, actor)
        emit(
            events.TicketSubmitted(
                actor_id=getattr(actor, "pk", None),
                ticket_id=ticket.pk,
                region_code=ticket.region_code,
                source=source,
                category_id=cat.pk if cat else None,
            )
        )
        if cat is not None and source in STAFF_SOURCES:
            rule = route(cat, region)
            if rule is not None and rule.auto_dispatch:
                _dispatch(ticket, rule.department, actor=actor, comment="", request=request, automatic=True)
    return ticket


def suggest(ticket: Ticket, *, category: Category | None, confidence: float | None) -> None:
    """Record what the classifier proposed for a ticket (kept to measure and retrain it)."""
    ticket.suggested_category = category
    ticket.suggestion_confidence = confidence
    ticket.save(update_fields=["suggested_category", "suggestion_confidence"])


# --- Photos ------------------------------------------------------------------------------------


class _Image:
    def __init__(self, data: bytes, content_type: str, extension: str, width: int, height: int) -> None:
        self.data, self.content_type, self.extension = data, content_type, extension
        self.width, self.height = width, height


def _clean_photo(upload: UploadedFile | bytes) -> _Image:
    """Accept JPEG, PNG or WebP up to 8 MB; re-encode to drop EXIF (it carries GPS and device data)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    too_big = ValidationError({"photos": _("A photo may be at most 8 MB.")})
    if not isinstance(upload, bytes) and (upload.size or 0) > PHOTO_MAX_BYTES:
        raise too_big  # before reading it into memory
    raw = upload if isinstance(upload, bytes) else upload.read(PHOTO_MAX_BYTES + 1)
    if len(raw) > PHOTO_MAX_BYTES:
        raise too_big
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format or ""
            if fmt not in PHOTO_TYPES:
                raise ValidationError({"photos": _("Photos must be JPEG, PNG or WebP images.")})
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise ValidationError({"photos": _("The photo has too many pixels.")})
            probe.load()
            image = ImageOps.exif_transpose(probe)
            out = io.BytesIO()
            if fmt == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=85)
            else:
                image.save(out, fmt)
    except Image.DecompressionBombError as exc:  # declares far more pixels than PHOTO_MAX_PIXELS
        raise ValidationError({"photos": _("The photo has too many pixels.")}) from exc
    # Damaged files fail in Pillow's decoders with any of these (a broken PNG chunk: SyntaxError).
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise ValidationError({"photos": _("The file is not a readable image.")}) from exc
    content_type, extension = PHOTO_TYPES[fmt]
    return _Image(out.getvalue(), content_type, extension, image.width, image.height)


def _attach(ticket: Ticket, step: TicketAction, images: Sequence[_Image], actor: Any) -> None:
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


def routing_rule_set(
    *,
    actor: Any,
    category: Category,
    region: Region,
    department: Department,
    auto_dispatch: bool = False,
    request: HttpRequest | None = None,
) -> RoutingRule:
    if actor is not None and not has_perm(actor, P.ROUTING, region.code):
        _refuse(
            actor,
            None,
            "routing_set",
            "no grid.routing in this region",
            request=request,
            region_code=region.code,
        )
    if category.parent_id is None and not category.children.exists():
        raise ValidationError({"category": _("Choose a category of the tree.")})
    if not region.code.startswith(department.region_code) and not department.region_code.startswith(
        region.code
    ):
        raise ValidationError({"department": _("The department does not serve this region.")})
    with transaction.atomic():
        rule, _created = RoutingRule.objects.update_or_create(
            category=category,
            region=region,
            defaults={"region_code": region.code, "department": department, "auto_dispatch": auto_dispatch},
        )
        audit.record(
            "grid.routing_set",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="grid.routingrule",
            object_id=rule.pk,
            detail={"category": category.code, "department": department.code, "auto": auto_dispatch},
        )
    return rule


def routing_rule_delete(*, actor: Any, rule: RoutingRule, request: HttpRequest | None = None) -> None:
    if actor is not None and not has_perm(actor, P.ROUTING, rule.region_code):
        _refuse(
            actor, None, "routing_delete", "no grid.routing", request=request, region_code=rule.region_code
        )
    with transaction.atomic():
        audit.record(
            "grid.routing_delete",
            actor=actor,
            request=request,
            region_code=rule.region_code,
            object_type="grid.routingrule",
            object_id=rule.pk,
        )
        rule.delete()


# --- Community steps ----------------------------------------------------------------------------


def accept(
    *,
    actor: Any,
    ticket: Ticket,
    category: Any = None,
    urgency: str | None = None,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Ticket:
    """The community takes the ticket on and confirms (or corrects) its category."""
    _require(actor, P.HANDLE, ticket, "accept", request)
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.SUBMITTED}, pgettext("ticket step", "accepted"))
        cat = clean_category(category if category not in (None, "") else ticket.category, required=True)
        comment = _text(comment, "comment", COMMENT_MAX)
        if urgency is not None:
            if urgency not in Urgency.values:
                raise ValidationError({"urgency": _("Unknown urgency.")})
            ticket.urgency = urgency
        before = ticket.status
        now = _now()
        corrected = ticket.category_id is not None and cat is not None and ticket.category_id != cat.pk
        ticket.category = cat
        ticket.category_confirmed_by = actor
        ticket.status = Status.ACCEPTED
        ticket.responded_at = ticket.responded_at or now
        due = resolve_due(cat, ticket.urgency, now)
        ticket.resolve_due_at = due
        _start_clock(ticket, Clock.RESOLUTION, now, due)
        _save(
            ticket,
            "category",
            "category_confirmed_by",
            "status",
            "urgency",
            "responded_at",
            "resolve_due_at",
            *_CLOCK_FIELDS,
        )
        _record(
            ticket,
            actor=actor,
            action="accept",
            from_status=before,
            comment=comment,
            request=request,
            params={"category": cat.code if cat else "", "corrected": corrected},
        )
    return ticket


def recategorize(*, actor: Any, ticket: Ticket, category: Any, request: HttpRequest | None = None) -> Ticket:
    """Correct the category of an open ticket (the correction feeds the classifier's retraining)."""
    _require(actor, P.HANDLE, ticket, "recategorize", request)
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, OPEN_STATUSES - {Status.MERGED}, pgettext("ticket step", "re-categorised"))
        cat = clean_category(category, required=True)
        assert cat is not None
        old = ticket.category.code if ticket.category else ""
        ticket.category = cat
        ticket.category_confirmed_by = actor
        _save(ticket, "category", "category_confirmed_by")
        _record(
            ticket,
            actor=actor,
            action="recategorize",
            from_status=ticket.status,
            request=request,
            params={"from": old, "to": cat.code},
        )
    return ticket


def close_on_spot(
    *,
    actor: Any,
    ticket: Ticket,
    result: str,
    category: Any = None,
    photos: Sequence[Any] = (),
    request: HttpRequest | None = None,
) -> Ticket:
    """即时办结: a small matter the grid worker or the community settled there and then."""
    if actor is not None and not (
        has_perm(actor, P.HANDLE, ticket.region_code) or has_perm(actor, P.PATROL, ticket.region_code)
    ):
        _refuse(
            actor, ticket, "close_on_spot", "no grid.handle or grid.patrol in this region", request=request
        )
    result = _text(result, "result", TEXT_MAX, required=True, label=_("The result"))
    images = [_clean_photo(p) for p in photos]
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.SUBMITTED, Status.ACCEPTED}, pgettext("ticket step", "closed on the spot"))
        cat = clean_category(category if category not in (None, "") else ticket.category, required=True)
        if cat is not None and cat.pk != ticket.category_id:
            ticket.category = cat
            ticket.category_confirmed_by = actor
        before = ticket.status
        now = _now()
        ticket.status = Status.CLOSED
        ticket.result = result
        ticket.responded_at = ticket.responded_at or now
        ticket.resolved_at = ticket.closed_at = now
        _stop_clock(ticket)
        _save(
            ticket,
            "status",
            "result",
            "category",
            "category_confirmed_by",
            "responded_at",
            "resolved_at",
            "closed_at",
            *_CLOCK_FIELDS,
        )
        step = _record(
            ticket, actor=actor, action="close_on_spot", from_status=before, comment=result, request=request
        )
        _attach(ticket, step, images, actor)
    return ticket


def _dispatch(
    ticket: Ticket,
    department: Department,
    *,
    actor: Any,
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


def dispatch(
    *,
    actor: Any,
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


def handle(
    *, actor: Any, ticket: Ticket, result: str, photos: Sequence[Any] = (), request: HttpRequest | None = None
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
        ticket.resolved_at = _now()
        _stop_clock(ticket)
        _save(ticket, "status", "result", "resolved_at", *_CLOCK_FIELDS)
        step = _record(
            ticket, actor=actor, action="handle", from_status=before, comment=result, request=request
        )
        _attach(ticket, step, images, actor)
    return ticket


def merge(*, actor: Any, ticket: Ticket, into: Ticket, request: HttpRequest | None = None) -> Ticket:
    """Fold a duplicate into one parent; the duplicate's reporters follow the parent from now on."""
    _require(actor, P.HANDLE, ticket, "merge", request)
    _require(actor, P.HANDLE, into, "merge", request)
    if ticket.pk == into.pk:
        raise ValidationError({"into": _("A ticket cannot be merged into itself.")})
    with transaction.atomic():
        ticket = _lock(ticket)
        into = _lock(into)
        _allow(ticket, {Status.SUBMITTED, Status.ACCEPTED}, pgettext("ticket step", "merged"))
        if into.status == Status.MERGED or not into.is_open:
            raise TransitionError(
                _("Merge into an open ticket that is not itself merged."), code="illegal_transition"
            )
        if _community_code(ticket.region_code) != _community_code(into.region_code):
            raise ValidationError({"into": _("Only tickets of the same community can be merged.")})
        before = ticket.status
        ticket.status = Status.MERGED
        ticket.parent = into
        ticket.closed_at = _now()
        _stop_clock(ticket)
        _save(ticket, "status", "parent", "closed_at", *_CLOCK_FIELDS)
        followers = list(Follower.objects.filter(ticket=ticket).values_list("user_id", flat=True))
        if ticket.reporter_user_id and ticket.reporter_user_id not in followers:
            followers.append(ticket.reporter_user_id)
        for user_id in followers:
            Follower.objects.get_or_create(ticket=into, user_id=user_id, defaults={"via": ticket})
        _record(
            ticket,
            actor=actor,
            action="merge",
            from_status=before,
            request=request,
            params={"into": into.number},
        )
        _record(
            into,
            actor=actor,
            action="merged_in",
            from_status=into.status,
            request=request,
            params={"from": ticket.number},
        )
    return ticket


# --- Department steps ---------------------------------------------------------------------------


def _current_dispatch(ticket: Ticket) -> Dispatch:
    record = Dispatch.objects.filter(ticket=ticket, is_current=True).first()
    if record is None:
        raise TransitionError(_("The ticket is not with a department."), code="illegal_transition")
    return record


def dept_accept(
    *, actor: Any, ticket: Ticket, comment: str = "", request: HttpRequest | None = None
) -> Ticket:
    _require_department(actor, ticket, "dept_accept", request)
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, {Status.DISPATCHED}, pgettext("ticket step", "accepted by the department"))
        comment = _text(comment, "comment", COMMENT_MAX)
        record = _current_dispatch(ticket)
        now = _now()
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


def respond(*, actor: Any, ticket: Ticket, comment: str, request: HttpRequest | None = None) -> Ticket:
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
            record.responded_at = _now()
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


def resolve(
    *, actor: Any, ticket: Ticket, result: str, photos: Sequence[Any] = (), request: HttpRequest | None = None
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
        now = _now()
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


def dept_return(*, actor: Any, ticket: Ticket, reason: str, request: HttpRequest | None = None) -> Ticket:
    """退单: not ours (wrong department, outside our remit); back to the community to re-dispatch."""
    _require_department(actor, ticket, "dept_return", request)
    reason = _reason(reason)
    with transaction.atomic():
        checked = ticket.department_id
        ticket = _lock(ticket)
        _same_department(ticket, checked)
        _allow(ticket, DEPARTMENT_STATUSES, pgettext("ticket step", "returned"))
        record = _current_dispatch(ticket)
        now = _now()
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


def request_extension(
    *, actor: Any, ticket: Ticket, days: Any, reason: str, request: HttpRequest | None = None
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


def decide_extension(
    *, actor: Any, extension: Extension, approve: bool, comment: str = "", request: HttpRequest | None = None
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
        now = _now()
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


# --- Verification, rating, supervision ----------------------------------------------------------


def _has_rater(ticket: Ticket) -> bool:
    return ticket.reporter_user_id is not None


def verify(
    *, actor: Any, ticket: Ticket, passed: bool, comment: str = "", request: HttpRequest | None = None
) -> Ticket:
    """The grid worker checks the result on site. Passed: verified (closed at once when no
    reporter account can rate it). Failed: back to whoever resolved it, with the reason."""
    _require(actor, P.VERIFY, ticket, "verify", request)
    comment = _text(comment, "comment", COMMENT_MAX, required=not passed, label=_("What is still wrong"))
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.RESOLVED}, pgettext("ticket step", "verified"))
        before = ticket.status
        now = _now()
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


def rate(
    *, actor: Any, ticket: Ticket, rating: Any, comment: str = "", request: HttpRequest | None = None
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
        now = _now()
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


def supervise(
    *,
    actor: Any,
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
        now = _now()
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


def comment(*, actor: Any, ticket: Ticket, text: str, request: HttpRequest | None = None) -> TicketAction:
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


def _require_photographer(actor: Any, ticket: Ticket, request: HttpRequest | None) -> None:
    """Photos are added by the ticket's reporter, the region's staff who see it, or the department
    that has it now (selectors.can()["add_photos"] says the same for the pages)."""
    if actor is None or (
        ticket.reporter_user_id == getattr(actor, "pk", None)
        or has_perm(actor, P.VIEW, ticket.region_code)
        or (ticket.department_id is not None and ticket.department_id in _department_ids(actor))
    ):
        return
    _refuse(actor, ticket, "add_photos", "neither the reporter nor staff of the ticket", request=request)


def add_photos(
    *,
    actor: Any,
    ticket: Ticket,
    photos: Sequence[UploadedFile | bytes],
    comment: str = "",
    request: HttpRequest | None = None,
) -> TicketAction:
    """补充照片: photos taken after the report (the resident's second try, the worker on site, the
    department's progress), as a timeline step of their own; the status does not change."""
    _require_photographer(actor, ticket, request)
    comment = _text(comment, "comment", COMMENT_MAX)
    if not photos:
        raise ValidationError({"photos": _("Choose at least one photo.")})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)d photos.") % {"n": MAX_PHOTOS}})
    images = [_clean_photo(p) for p in photos]
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_photographer(actor, ticket, request)  # again: the ticket may have moved since
        _allow(ticket, OPEN_STATUSES, pgettext("ticket step", "given more photos"))
        step = _record(
            ticket,
            actor=actor,
            action="add_photos",
            from_status=ticket.status,
            comment=comment,
            params={"photos": len(images)},
            request=request,
        )
        _attach(ticket, step, images, actor)
    return step


# --- Deadline jobs ------------------------------------------------------------------------------


def _next_level_code(code: str) -> str | None:
    from shequ.core.models import LEVEL_CODE_LENGTH, LEVEL_ORDER

    lengths = sorted({LEVEL_CODE_LENGTH[level] for level in LEVEL_ORDER})
    shorter = [n for n in lengths if n < len(code)]
    return code[: shorter[-1]] if shorter else None


def warn_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Remind the assignee of each ticket past 80 % of its running deadline (once per clock)."""
    now = now or _now()
    done = 0
    ids = list(
        Ticket.objects.filter(
            status__in=OPEN_STATUSES, warn_at__lte=now, due_at__gt=now, warned_at__isnull=True
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.warned_at is not None or ticket.warn_at is None or ticket.warn_at > now:
                continue
            ticket.warned_at = now
            ticket.save(update_fields=["warned_at"])
            emit(
                events.TicketWarned(
                    actor_id=None, ticket_id=ticket.pk, region_code=ticket.region_code, clock=ticket.clock
                )
            )
            done += 1
    return done


def escalate_overdue(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """督办: an overdue ticket goes up one region level, and again each time another full
    deadline span (at least a day) passes without it being done."""
    now = now or _now()
    done = 0
    ids = list(
        Ticket.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now).values_list("pk", flat=True)[
            : limit * 4
        ]
    )
    for pk in ids:
        if done >= limit:
            break
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.due_at is None or ticket.due_at >= now or ticket.clock_started_at is None:
                continue
            span = max(ticket.due_at - ticket.clock_started_at, dt.timedelta(days=1))
            last = (
                ticket.escalated_at if ticket.escalated_at and ticket.escalated_at > ticket.due_at else None
            )
            if last is not None and now - last < span:
                continue
            up = _next_level_code(ticket.supervision_code)
            if up is None:
                continue
            before = ticket.supervision_code
            ticket.supervision_code = up
            ticket.escalations += 1
            ticket.escalated_at = now
            ticket.save(update_fields=["supervision_code", "escalations", "escalated_at"])
            TicketAction.objects.create(
                ticket=ticket,
                at=now,
                action="escalate",
                from_status=ticket.status,
                to_status=ticket.status,
                params={"from": before, "to": up, "clock": ticket.clock},
            )
            audit.record(
                "grid.escalate",
                region_code=ticket.region_code,
                object_type="grid.ticket",
                object_id=ticket.pk,
                detail={"from": before, "to": up},
            )
            emit(
                events.TicketEscalated(
                    actor_id=None,
                    ticket_id=ticket.pk,
                    region_code=ticket.region_code,
                    supervision_code=up,
                    escalations=ticket.escalations,
                )
            )
            done += 1
    return done


def close_unrated(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Verified tickets the reporter did not rate within the rating window close by default."""
    now = now or _now()
    cutoff = now - dt.timedelta(days=RATING_WINDOW_DAYS)
    ids = list(
        Ticket.objects.filter(status=Status.VERIFIED, resolved_at__lt=cutoff).values_list("pk", flat=True)[
            :limit
        ]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.status != Status.VERIFIED:
                continue
            ticket.status = Status.CLOSED
            ticket.closed_at = now
            _save(ticket, "status", "closed_at")
            _record(
                ticket,
                actor=None,
                action="close_unrated",
                from_status=Status.VERIFIED,
                params={"days": RATING_WINDOW_DAYS},
            )
    return len(ids)


# --- Recipients ---------------------------------------------------------------------------------


def department_staff(department_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__department_id=department_id,
            memberships__revoked_at__isnull=True,
            memberships__role__in=[Role.DEPARTMENT_STAFF, Role.PROPERTY_MANAGER],
        ).distinct()
    )


def region_staff(code: str, perm: str, *, exact: bool = True) -> list[User]:
    """Active users holding ``perm`` through a membership at ``code`` (exactly, or above it)."""
    from shequ.core.permissions import ROLE_PERMISSIONS

    roles = [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
    memberships = Membership.objects.filter(revoked_at__isnull=True, role__in=roles, user__is_active=True)
    if exact:
        memberships = memberships.filter(region_code=code)
    else:
        prefixes = [code[:n] for n in range(2, len(code) + 1)]
        memberships = memberships.filter(region_code__in=prefixes)
    return list(User.objects.filter(pk__in=memberships.values("user_id")))
