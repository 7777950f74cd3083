"""A ticket comes in: submission, category suggestions, and the community's first steps (accept,
recategorize, close on the spot, merge into another ticket)."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core import validators as v
from shequ.core.models import Region, User
from shequ.core.outbox import emit
from shequ.core.permissions import has_perm
from shequ.grid import events, lifesafety, selectors
from shequ.grid.models import (
    OPEN_STATUSES,
    AlertState,
    Category,
    Clock,
    Follower,
    Source,
    Status,
    Ticket,
    Urgency,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services import _common, urgent
from shequ.grid.services._common import (
    _CLOCK_FIELDS,
    COMMENT_MAX,
    MAX_PHOTOS,
    STAFF_SOURCES,
    TEXT_MAX,
    TITLE_MAX,
    TransitionError,
    _allow,
    _attach,
    _clean_photo,
    _clean_point,
    _community_code,
    _dispatch,
    _lock,
    _record,
    _refuse,
    _require,
    _save,
    _start_clock,
    _stop_clock,
    _text,
    _ticket_region,
    resolve_due,
    response_due,
    route,
)

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


def ticket_submit(
    *,
    actor: User | None,
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
    detect: bool = True,
    request: HttpRequest | None = None,
) -> Ticket:
    """A new ticket from any source. Residents report for themselves; staff report from patrols
    or for someone who walked in or phoned; imports, sensors and Open311 pass ``actor=None`` or a
    system account after their own checks.

    ``detect=False`` only for a ticket known not to be a real emergency whatever its words (a
    drill's answers): the life-safety detector is not run, so only ``urgency`` decides."""
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
    # Every intake path passes here: whatever the category or the box ticked, a present danger to
    # life in the words makes the ticket urgent and tells the on-duty person (``services.urgent``).
    text = f"{cleaned['title']}\n{cleaned['description']}"
    triage = lifesafety.detect(text) if detect else lifesafety.NOT_URGENT
    if triage.urgent:
        urgency = Urgency.URGENT
    now = submitted_at or _common._now()
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
        if urgency == Urgency.URGENT:
            urgent.alert_raise(ticket, triage, actor=actor, now=now)
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


def classifier_suggestions(text: str, k: int = 3) -> list[tuple[Category, float]] | None:
    """The classifier's best active leaf categories for ``text`` with their confidence, or None
    when no classifier is installed or trained (reporting works without one)."""
    try:
        # Imported by name at call time: the classifier is optional and its model loads lazily.
        classifier = importlib.import_module("shequ.grid.classifier")
    except ImportError:
        return None
    try:
        found = classifier.suggest(text, k=k)
    except Exception:  # a missing or damaged model must not stop anyone from reporting
        logger.warning("category classifier failed", exc_info=True)
        return None
    codes = [s.category_code for s in found]
    by_code = {c.code: c for c in selectors.leaf_categories().filter(code__in=codes)}
    return [
        (by_code[s.category_code], max(0.0, min(1.0, float(s.confidence))))
        for s in found
        if s.category_code in by_code
    ]


def record_suggestion(ticket: Ticket) -> None:
    """Keep the classifier's top category for a new ticket (to measure and retrain it)."""
    found = classifier_suggestions(f"{ticket.title}\n{ticket.description}", k=1)
    if found:
        category, confidence = found[0]
        suggest(ticket, category=category, confidence=confidence)


logger = logging.getLogger("shequ.grid")


# --- Community steps ----------------------------------------------------------------------------


def ticket_accept(
    *,
    actor: User | None,
    ticket: Ticket,
    category: Any = None,
    urgency: str | None = None,
    comment: str = "",
    clear_reason: str = "",
    request: HttpRequest | None = None,
) -> Ticket:
    """The community takes the ticket on and confirms (or corrects) its category.

    Urgency set here means what it means at intake: raised to urgent, the on-duty person is alerted
    (``urgent.alert_raise``); lowered while its alarm is live, it is the audited false-alarm clearing
    (``urgent.alert_clear``) with ``clear_reason``, so the alarm stops climbing, counts as cleared
    and feeds the detector's next training."""
    _require(actor, P.HANDLE, ticket, "accept", request)
    with transaction.atomic():
        ticket = _lock(ticket)
        _allow(ticket, {Status.SUBMITTED}, pgettext("ticket step", "accepted"))
        cat = clean_category(category if category not in (None, "") else ticket.category, required=True)
        comment = _text(comment, "comment", COMMENT_MAX)
        if urgency is not None and urgency not in Urgency.values:
            raise ValidationError({"urgency": _("Unknown urgency.")})
        alert = selectors.urgent_alert(ticket)
        live = alert is not None and alert.state != AlertState.CLEARED
        raise_alert = urgency == Urgency.URGENT and not live
        if urgency == Urgency.NORMAL and alert is not None and live:
            if actor is None or not str(clear_reason or "").strip():
                raise ValidationError(
                    {
                        "clear_reason": _(
                            "This ticket's urgent alarm is still live. To accept it as normal, say why "
                            "it is a false alarm (the same as “Clear a false alarm”)."
                        )
                    }
                )
            try:
                urgent.alert_clear(actor=actor, alert=alert, reason=clear_reason, request=request)
            except ValidationError as exc:  # its "reason" is this form's "clear_reason"
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"reason": exc.messages}
                raise ValidationError(
                    {("clear_reason" if k == "reason" else k): v for k, v in errors.items()}
                ) from exc
            ticket = _lock(ticket)
        elif urgency is not None:
            ticket.urgency = urgency
        before = ticket.status
        now = _common._now()
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
        if raise_alert:
            # Staff raised it: the detector's reading is kept as the reasons, if it has any.
            text = f"{ticket.title}\n{ticket.description}"
            urgent.alert_raise(ticket, lifesafety.detect(text), actor=actor, now=now)
    return ticket


def ticket_recategorize(
    *, actor: User | None, ticket: Ticket, category: Any, request: HttpRequest | None = None
) -> Ticket:
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


def ticket_close_on_spot(
    *,
    actor: User | None,
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
        now = _common._now()
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


def ticket_merge(
    *, actor: User | None, ticket: Ticket, into: Ticket, request: HttpRequest | None = None
) -> Ticket:
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
        ticket.closed_at = _common._now()
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
