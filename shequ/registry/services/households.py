"""Households: creation, members, the head, moving the whole household."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import validators as v
from shequ.core.models import User
from shequ.core.outbox import emit
from shequ.registry import events
from shequ.registry.models import (
    House,
    Household,
    HouseholdKind,
    HouseholdMember,
    Person,
    PersonStatus,
    RelationToHead,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.services._common import (
    _actor_id,
    _audit,
    _choice,
    _clean_reason,
    _day,
    _integrity_to_validation,
    _require,
    _timeline,
)
from shequ.registry.services._residency import _join_household, _leave_household, _lock_person, _move_person

# --- Households ---------------------------------------------------------------------------------


def household_create(
    *,
    actor: User | None,
    head: Person,
    house: House | None = None,
    number: str = "",
    kind: str = HouseholdKind.FAMILY,
    since: Any = None,
    request: HttpRequest | None = None,
) -> Household:
    """A new household headed by ``head`` (at ``house``, by default the head's home)."""
    house = house or head.house
    region = house.region if house is not None else head.region
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.household_create",
        object_type="registry.household",
        request=request,
    )
    if head.status != PersonStatus.ACTIVE:
        raise ValidationError({"head": _("The head of a household must live in the area.")})
    number = v.normalize_code(number)
    if len(number) > 30:
        raise ValidationError({"number": _("Use at most %(n)d characters.") % {"n": 30}})
    kind = _choice(kind, HouseholdKind, "kind", blank=False)
    day = _day(since, "since")
    with transaction.atomic():
        household = Household.objects.create(
            number=number,
            kind=kind,
            head=head,
            house=house,
            region=region,
            region_code=region.code,
            start_date=day,
        )
        _timeline("household", household, region.code, actor, "household.create", params={"kind": kind})
        _join_household(household, head, RelationToHead.HEAD, day, actor)
        _audit(
            "registry.household_create",
            actor=actor,
            request=request,
            region_code=region.code,
            obj=household,
            detail={"head": head.pk},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor), household_id=household.pk, region_code=region.code, change="create"
            )
        )
    return household


def household_add_member(
    *,
    actor: User | None,
    household: Household,
    person: Person,
    relation_to_head: str,
    since: Any = None,
    request: HttpRequest | None = None,
) -> HouseholdMember:
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_add_member",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    # The person's record changes too: they must be in the actor's area as well.
    _require(
        actor,
        P.EDIT,
        person.region_code,
        action="registry.household_add_member",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    relation = _choice(relation_to_head, RelationToHead, "relation_to_head", blank=False)
    if relation == RelationToHead.HEAD:
        raise ValidationError(
            {"relation_to_head": _("The household already has a head: change the head instead.")}
        )
    if person.status != PersonStatus.ACTIVE:
        raise ValidationError({"person": _("Only people living in the area join a household.")})
    day = _day(since, "since")
    try:
        with transaction.atomic():
            member = _join_household(household, person, relation, day, actor)
            _audit(
                "registry.household_add_member",
                actor=actor,
                request=request,
                region_code=household.region_code,
                obj=household,
                detail={"person": person.pk, "relation": relation},
            )
            emit(
                events.HouseholdChanged(
                    actor_id=_actor_id(actor),
                    household_id=household.pk,
                    region_code=household.region_code,
                    change="join",
                )
            )
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return member


def household_remove_member(
    *,
    actor: User | None,
    household: Household,
    person: Person,
    on: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> None:
    """A member leaves the household (the head only when nobody else is left)."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_remove_member",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    if not HouseholdMember.objects.filter(household=household, person=person, end_date__isnull=True).exists():
        raise ValidationError({"person": _("This person is not a member of the household.")})
    day = _day(on, "on")
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        _leave_household(person, day, actor, head_may_leave=False)
        _audit(
            "registry.household_remove_member",
            actor=actor,
            request=request,
            region_code=household.region_code,
            obj=household,
            reason=reason,
            detail={"person": person.pk},
        )


def household_set_head(
    *,
    actor: User | None,
    household: Household,
    person: Person,
    former_head_relation: str = RelationToHead.OTHER_RELATIVE,
    reason: str,
    request: HttpRequest | None = None,
) -> Household:
    """Make a member the head; the former head (if still a member) takes ``former_head_relation``."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_set_head",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=True)
    former_relation = _choice(former_head_relation, RelationToHead, "former_head_relation", blank=False)
    if former_relation == RelationToHead.HEAD:
        raise ValidationError({"former_head_relation": _("A household has one head.")})
    member = HouseholdMember.objects.filter(household=household, person=person, end_date__isnull=True).first()
    if member is None:
        raise ValidationError({"person": _("The new head must be a member of the household.")})
    if household.head_id == person.pk:
        raise ValidationError({"person": _("This person is already the head.")})
    with transaction.atomic():
        HouseholdMember.objects.filter(
            household=household, relation_to_head=RelationToHead.HEAD, end_date__isnull=True
        ).update(relation_to_head=former_relation)
        member.relation_to_head = RelationToHead.HEAD
        member.save(update_fields=["relation_to_head"])
        old_head = household.head
        household.head = person
        household.updated_at = timezone.now()
        household.save(update_fields=["head", "updated_at"])
        _timeline(
            "household",
            household,
            household.region_code,
            actor,
            "household.head",
            reason=reason,
            params={"name": person.name, "person_id": person.pk},
            changes={"head": {"old": old_head.name if old_head else "", "new": person.name}},
        )
        _audit(
            "registry.household_set_head",
            actor=actor,
            request=request,
            region_code=household.region_code,
            obj=household,
            reason=reason,
            detail={"head": person.pk},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor),
                household_id=household.pk,
                region_code=household.region_code,
                change="head",
            )
        )
    return household


def household_set_relation(
    *,
    actor: User | None,
    household: Household,
    person: Person,
    relation_to_head: str,
    request: HttpRequest | None = None,
) -> HouseholdMember:
    """Correct how a member is related to the head (the head itself changes with ``household_set_head``)."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_set_relation",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    relation = _choice(relation_to_head, RelationToHead, "relation_to_head", blank=False)
    if relation == RelationToHead.HEAD:
        raise ValidationError(
            {"relation_to_head": _("To make this person the head, change the head instead.")}
        )
    member = HouseholdMember.objects.filter(household=household, person=person, end_date__isnull=True).first()
    if member is None:
        raise ValidationError({"person": _("This person is not a member of the household.")})
    if household.head_id == person.pk:
        raise ValidationError({"person": _("The head's relation is always 'head': choose a new head first.")})
    old = member.relation_to_head
    if old == relation:
        raise ValidationError({"relation_to_head": _("This is already the member's relation to the head.")})
    labels = dict(RelationToHead.choices)
    with transaction.atomic():
        member.relation_to_head = relation
        member.save(update_fields=["relation_to_head"])
        household.updated_at = timezone.now()
        household.save(update_fields=["updated_at"])
        _timeline(
            "household",
            household,
            household.region_code,
            actor,
            "household.relation",
            params={"name": person.name, "relation": relation, "person_id": person.pk},
            changes={"relation_to_head": {"old": str(labels.get(old, old)), "new": str(labels[relation])}},
        )
        _audit(
            "registry.household_set_relation",
            actor=actor,
            request=request,
            region_code=household.region_code,
            obj=household,
            detail={"person": person.pk, "old": old, "new": relation},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor),
                household_id=household.pk,
                region_code=household.region_code,
                change="relation",
            )
        )
    return member


def household_move(
    *,
    actor: User | None,
    household: Household,
    house: House,
    on: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Household:
    """The whole household moves to ``house``: every current member who lives with it moves, and
    the household keeps its members and head."""
    _require(
        actor,
        P.EDIT,
        household.region_code,
        action="registry.household_move",
        object_type="registry.household",
        object_id=household.pk,
        request=request,
    )
    if household.end_date is not None:
        raise ValidationError({"household": _("This household has been closed.")})
    if household.house_id == house.pk:
        raise ValidationError({"house": _("The household already lives in this house.")})
    day = _day(on, "on")
    reason = _clean_reason(reason, required=False)
    members = list(
        HouseholdMember.objects.filter(household=household, end_date__isnull=True).select_related("person")
    )
    with transaction.atomic():
        old_address = household.house.address if household.house_id else ""  # type: ignore[union-attr]
        for member in members:
            person = member.person
            _lock_person(person, PersonStatus.ACTIVE)
            if household.house_id is None or person.house_id == household.house_id:
                _move_person(person, house, day, actor, relation=None, reason=reason, request=request)
        from_code = household.region_code
        household.house = house
        household.region = house.region
        household.region_code = house.region_code
        household.updated_at = timezone.now()
        household.save(update_fields=["house", "region", "region_code", "updated_at"])
        _timeline(
            "household",
            household,
            house.region_code,
            actor,
            "household.move",
            reason=reason,
            params={"address": house.address, "date": str(day)},
            changes={"house": {"old": old_address, "new": house.address}},
        )
        _audit(
            "registry.household_move",
            actor=actor,
            request=request,
            region_code=from_code,
            obj=household,
            reason=reason,
            detail={"to_region": house.region_code, "to_house": house.pk},
        )
        emit(
            events.HouseholdChanged(
                actor_id=_actor_id(actor),
                household_id=household.pk,
                region_code=house.region_code,
                change="move",
            )
        )
    return household
