"""Visits to people and households, and their follow-ups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.outbox import emit
from shequ.registry import events
from shequ.registry.models import (
    House,
    Household,
    Person,
    Visit,
    VisitPurpose,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.services._common import (
    NOTE_MAX_LENGTH,
    _actor_id,
    _as_date,
    _audit,
    _choice,
    _require,
    _text,
    _timeline,
)

# --- Visits -------------------------------------------------------------------------------------

VISIT_FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def visit_record(
    *,
    actor: User | None,
    person: Person | None = None,
    household: Household | None = None,
    house: House | None = None,
    visited_at: dt.datetime | None = None,
    purpose: str = VisitPurpose.ROUTINE,
    notes: str = "",
    findings: str = "",
    follow_up_date: Any = None,
    follows_up: Visit | None = None,
    request: HttpRequest | None = None,
) -> Visit:
    """Record a visit to a person, a household or a house; ``follow_up_date`` asks for another
    one. ``follows_up``: the earlier visit whose follow-up this is (marked done)."""
    if person is None and household is None and house is None:
        raise ValidationError({"person": _("Choose the person, household or house visited.")})
    target_code = (person or household or house).region_code  # type: ignore[union-attr]
    region_id = (person or household or house).region_id  # type: ignore[union-attr]
    _require(
        actor,
        P.VISIT,
        target_code,
        action="registry.visit_record",
        object_type="registry.visit",
        request=request,
        message=_("You may not record visits in this region."),
    )
    if actor is None:
        raise ValidationError({"visitor": _("A visit needs the person who made it.")})
    purpose = _choice(purpose, VisitPurpose, "purpose", blank=False)
    visited_at = visited_at or timezone.now()
    if timezone.is_naive(visited_at):
        raise ValidationError({"visited_at": _("Give the time with its time zone.")})
    if visited_at > timezone.now() + VISIT_FUTURE_TOLERANCE:
        raise ValidationError({"visited_at": _("The visit cannot be in the future.")})
    notes = _text(notes, "notes", NOTE_MAX_LENGTH, multiline=True)
    findings = _text(findings, "findings", NOTE_MAX_LENGTH, multiline=True)
    follow_up = _as_date(follow_up_date, "follow_up_date", allow_future=True)
    if follow_up is not None and follow_up < timezone.localtime(visited_at).date():
        raise ValidationError({"follow_up_date": _("The follow-up date is before the visit.")})
    if follows_up is not None and follows_up.follow_up_done_at is not None:
        raise ValidationError({"follows_up": _("That visit has already been followed up.")})
    with transaction.atomic():
        visit = Visit.objects.create(
            visitor=actor,
            person=person,
            household=household,
            house=house,
            visited_at=visited_at,
            purpose=purpose,
            notes=notes,
            findings=findings,
            follow_up_date=follow_up,
            region_id=region_id,
            region_code=target_code,
        )
        params = {
            "purpose": purpose,
            "visitor": actor.name if hasattr(actor, "name") else str(actor),
            "visit_id": visit.pk,
        }
        for object_type, obj in (("person", person), ("household", household), ("house", house)):
            if obj is not None:
                _timeline(object_type, obj, obj.region_code, actor, "visit.record", params=params)
        if follows_up is not None:
            _follow_up_done(follows_up, actor)
        _audit("registry.visit_record", actor=actor, request=request, region_code=target_code, obj=visit)
        emit(
            events.VisitRecorded(
                actor_id=_actor_id(actor),
                visit_id=visit.pk,
                region_code=target_code,
                person_id=person.pk if person else None,
                household_id=household.pk if household else None,
                house_id=house.pk if house else None,
                follow_up_date=follow_up,
            )
        )
    return visit


def _follow_up_done(visit: Visit, actor: User | None) -> None:
    visit.follow_up_done_at = timezone.now()
    visit.save(update_fields=["follow_up_done_at"])
    for object_type, obj in (
        ("person", visit.person),
        ("household", visit.household),
        ("house", visit.house),
    ):
        if obj is not None:
            _timeline(
                object_type,
                obj,
                obj.region_code,
                actor,
                "visit.follow_up",
                params={"date": str(timezone.localtime(visit.visited_at).date()), "visit_id": visit.pk},
            )


def visit_follow_up_done(*, actor: User | None, visit: Visit, request: HttpRequest | None = None) -> Visit:
    """Mark a visit's follow-up as done without recording a new visit."""
    _require(
        actor,
        P.VISIT,
        visit.region_code,
        action="registry.visit_follow_up",
        object_type="registry.visit",
        object_id=visit.pk,
        request=request,
        message=_("You may not record visits in this region."),
    )
    if visit.follow_up_date is None:
        raise ValidationError(_("This visit asked for no follow-up."))
    if visit.follow_up_done_at is not None:
        raise ValidationError(_("This visit has already been followed up."))
    with transaction.atomic():
        _follow_up_done(visit, actor)
        _audit(
            "registry.visit_follow_up", actor=actor, request=request, region_code=visit.region_code, obj=visit
        )
    return visit
