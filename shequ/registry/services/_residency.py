"""Where a person lives: residences and household membership, shared by the people, residence
and household services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.models import Region, User
from shequ.core.outbox import emit
from shequ.registry import events
from shequ.registry.models import (
    House,
    Household,
    HouseholdMember,
    Person,
    PersonStatus,
    PersonTag,
    Residence,
    ResidenceRelation,
)
from shequ.registry.services._common import _actor_id, _audit, _choice, _timeline


def _lock_person(person: Person, *statuses: str) -> None:
    """Lock the row for the transaction and check that its status still allows the change."""
    status = Person.objects.select_for_update().filter(pk=person.pk).values_list("status", flat=True).first()
    if status is None:
        raise ValidationError(_("This person no longer exists."))
    person.status = status
    if statuses and status not in statuses:
        messages = {
            PersonStatus.ACTIVE: _("This person lives in the area: record a move instead."),
            PersonStatus.MOVED_OUT: _("This person has moved out of the area."),
            PersonStatus.DECEASED: _("This person is recorded as deceased."),
        }
        raise ValidationError(
            {"status": ValidationError(messages[PersonStatus(status)], code="wrong_status")}
        )


def _place_person(person: Person, house: House | None, region: Region) -> None:
    """Move the person's record (and their tags) to ``region``."""
    person.region = region
    person.region_code = region.code
    person.house = house
    PersonTag.objects.filter(person=person).update(region_code=region.code)


def _home(person: Person) -> Residence | None:
    return (
        Residence.objects.filter(person=person, end_date__isnull=True, lives_here=True)
        .select_related("house")
        .first()
    )


def _start_residence(
    person: Person,
    house: House,
    relation: str,
    start: dt.date,
    actor: User | None,
    *,
    lives_here: bool = True,
) -> Residence:
    residence = Residence.objects.create(
        person=person,
        house=house,
        relation=relation,
        lives_here=lives_here,
        start_date=start,
        region_code=house.region_code,
    )
    _timeline(
        "house",
        house,
        house.region_code,
        actor,
        "residence.start",
        params={"name": person.name, "relation": relation, "date": str(start), "person_id": person.pk},
    )
    emit(
        events.ResidenceChanged(
            actor_id=_actor_id(actor),
            residence_id=residence.pk,
            person_id=person.pk,
            house_id=house.pk,
            region_code=house.region_code,
            ended=False,
        )
    )
    return residence


def _end_residence(residence: Residence, end: dt.date, actor: User | None) -> None:
    if end < residence.start_date:
        raise ValidationError(
            {
                "date": _("The date is before the person started living there (%(d)s).")
                % {"d": residence.start_date}
            }
        )
    residence.end_date = end
    residence.updated_at = timezone.now()
    residence.save(update_fields=["end_date", "updated_at"])
    house = residence.house
    _timeline(
        "house",
        house,
        house.region_code,
        actor,
        "residence.end",
        params={
            "name": residence.person.name,
            "relation": residence.relation,
            "date": str(end),
            "person_id": residence.person_id,
        },
    )
    emit(
        events.ResidenceChanged(
            actor_id=_actor_id(actor),
            residence_id=residence.pk,
            person_id=residence.person_id,
            house_id=house.pk,
            region_code=house.region_code,
            ended=True,
        )
    )


def _check_relation(relation: Any) -> str:
    return _choice(relation, ResidenceRelation, "relation", blank=False)


def _leave_home(person: Person, day: dt.date, actor: User | None) -> Residence | None:
    home = _home(person)
    if home is not None:
        _end_residence(home, day, actor)
    return home


def _move_person(
    person: Person,
    house: House,
    day: dt.date,
    actor: User | None,
    *,
    relation: str | None,
    reason: str,
    request: Any,
) -> None:
    old_home = _leave_home(person, day, actor)
    relation = (
        _check_relation(relation)
        if relation
        else (old_home.relation if old_home else ResidenceRelation.FAMILY)
    )
    from_code = person.region_code
    from_house = old_home.house if old_home else None
    _place_person(person, house, house.region)
    person.updated_at = timezone.now()
    person.save(update_fields=["region", "region_code", "house", "updated_at"])
    _start_residence(person, house, relation, day, actor)
    from_address = from_house.address if from_house else ""
    if from_code == house.region_code:
        _timeline(
            "person",
            person,
            from_code,
            actor,
            "person.move",
            reason=reason,
            params={"from_address": from_address, "address": house.address, "date": str(day)},
            changes={"house": {"old": from_address, "new": house.address}},
        )
    else:
        # Two entries: the old region's ends its part of the story without saying where they went.
        _timeline(
            "person", person, from_code, actor, "person.move_away", reason=reason, params={"date": str(day)}
        )
        _timeline(
            "person",
            person,
            house.region_code,
            actor,
            "person.move_here",
            reason=reason,
            params={"address": house.address, "date": str(day)},
            changes={"house": {"old": from_address, "new": house.address}},
        )
    _audit(
        "registry.person_move",
        actor=actor,
        request=request,
        region_code=from_code,
        obj=person,
        reason=reason,
        detail={
            "to_region": house.region_code,
            "to_house": house.pk,
            "from_house": from_house.pk if from_house else None,
        },
    )
    emit(
        events.PersonMoved(
            actor_id=_actor_id(actor),
            person_id=person.pk,
            from_region_code=from_code,
            region_code=house.region_code,
            from_house_id=from_house.pk if from_house else None,
            house_id=house.pk,
            on=day,
        )
    )


def _join_household(
    household: Household, person: Person, relation: str, day: dt.date, actor: User | None
) -> HouseholdMember:
    if household.end_date is not None:
        raise ValidationError({"household": _("This household has been closed.")})
    if HouseholdMember.objects.filter(person=person, end_date__isnull=True).exists():
        raise ValidationError({"person": _("This person already belongs to a household.")})
    member = HouseholdMember.objects.create(
        household=household, person=person, relation_to_head=relation, start_date=day
    )
    _timeline(
        "household",
        household,
        household.region_code,
        actor,
        "household.join",
        params={"name": person.name, "relation": relation, "person_id": person.pk},
    )
    return member


def _leave_household(person: Person, day: dt.date, actor: User | None, *, head_may_leave: bool) -> None:
    member = (
        HouseholdMember.objects.filter(person=person, end_date__isnull=True)
        .select_related("household")
        .first()
    )
    if member is None:
        return
    household = member.household
    others = HouseholdMember.objects.filter(household=household, end_date__isnull=True).exclude(pk=member.pk)
    if household.head_id == person.pk and others.exists():
        if not head_may_leave:
            message = _(
                "%(name)s is the head of a household with other members: "
                "choose a new head or move the whole household first."
            ) % {"name": person.name}
            raise ValidationError({"household": ValidationError(message, code="household_head")})
        household.head = None
        household.save(update_fields=["head"])
    member.end_date = max(day, member.start_date)
    member.save(update_fields=["end_date"])
    _timeline(
        "household",
        household,
        household.region_code,
        actor,
        "household.leave",
        params={"name": person.name, "person_id": person.pk, "date": str(day)},
    )
    if not others.exists():
        household.end_date = max(day, household.start_date)
        household.save(update_fields=["end_date"])
        _timeline(
            "household", household, household.region_code, actor, "household.end", params={"date": str(day)}
        )
    emit(
        events.HouseholdChanged(
            actor_id=_actor_id(actor),
            household_id=household.pk,
            region_code=household.region_code,
            change="leave",
        )
    )
