"""Electorates for participation (votes and elections), read from the registry at a cut-off date.

Every function answers who belonged at ``on`` — a home (``Residence`` with ``lives_here``) or an
ownership that had started and not yet ended that day — so a roll computed today for last month's
cut-off date is the roll of last month. Names leave the registry masked (``core.personal``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet

from shequ.core.models import Role, User
from shequ.core.personal import mask_name
from shequ.registry.models import (
    Building,
    House,
    Household,
    Person,
    PersonStatus,
    RelationToHead,
    Residence,
    ResidenceRelation,
)


@dataclass(frozen=True)
class Member:
    """One line of an electorate: a person (``person_id`` None: the developer's unsold houses)."""

    person_id: int | None
    label: str
    house_ids: tuple[int, ...] = ()
    area: Decimal = Decimal(0)
    hukou_local: bool = True
    living_since: date | None = None
    co_owner_ids: tuple[int, ...] = field(default=())


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _links_on(on: date, region_code: str, building_ids: Sequence[int]) -> QuerySet[Residence]:
    links = Residence.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=on),
        start_date__lte=on,
        region_code__startswith=region_code,
    )
    if building_ids:
        links = links.filter(house__building_id__in=list(building_ids))
    return links


def _alive_on(on: date) -> Q:
    # A person who died or moved out after the cut-off date still belonged on it.
    return ~Q(person__status=PersonStatus.DECEASED, person__status_date__lte=on)


def adults_living_in(
    region_code: str, *, on: date, age_on: date | None = None, building_ids: Sequence[int] = ()
) -> list[Member]:
    """Residents 18 or older on ``age_on`` (default ``on``) whose home on ``on`` was in the area."""
    born_by = _years_before(age_on or on, 18)
    rows = (
        _links_on(on, region_code, building_ids)
        .filter(_alive_on(on), lives_here=True, person__birth_date__lte=born_by)
        .values_list("person_id", "person__name", "house_id", "start_date", "person__hukou_region_code")
        .order_by("person_id", "start_date")
    )
    found: dict[int, Member] = {}
    for person_id, name, house_id, since, hukou in rows:
        found[person_id] = Member(
            person_id=person_id,
            label=mask_name(name),
            house_ids=(house_id,),
            hukou_local=bool(hukou) and hukou.startswith(region_code),
            living_since=since,
        )
    return list(found.values())


def household_heads_in(region_code: str, *, on: date, building_ids: Sequence[int] = ()) -> list[Member]:
    """The head of each household whose home on ``on`` was in the area (one voice per household)."""
    homes = _links_on(on, region_code, building_ids).filter(_alive_on(on), lives_here=True)
    heads = (
        Household.objects.filter(
            Q(members__end_date__isnull=True) | Q(members__end_date__gt=on),
            members__start_date__lte=on,
            members__relation_to_head=RelationToHead.HEAD,
            members__person_id__in=homes.values("person_id"),
        )
        .values_list("members__person_id", "members__person__name", "house_id")
        .order_by("members__person_id")
        .distinct()
    )
    return [
        Member(person_id=pid, label=mask_name(name), house_ids=(house,) if house else ())
        for pid, name, house in heads
    ]


def owners_in(region_code: str, *, on: date, building_ids: Sequence[int] = ()) -> list[Member]:
    """Owners for a vote under Civil Code Art. 278, one line per voice: a house's owners share one
    voice (one per exclusive part), one buyer of several houses has one voice for all of them (so
    houses linked by a common owner are one line), and the houses nobody owned on ``on`` (the
    developer's unsold or undelivered parts) are one line together. Area is each house's
    registered floor area; a line's area is the sum of its houses'."""
    houses = House.objects.filter(region_code__startswith=region_code)
    if building_ids:
        houses = houses.filter(building_id__in=list(building_ids))
    areas = {pk: area or Decimal(0) for pk, area in houses.values_list("pk", "area")}
    links = (
        _links_on(on, region_code, building_ids)
        .filter(_alive_on(on), relation=ResidenceRelation.OWNER, house_id__in=list(areas))
        .values_list("house_id", "person_id", "person__name")
        .order_by("house_id", "person_id")
    )
    owners_of: dict[int, list[tuple[int, str]]] = {}
    for house_id, person_id, name in links:
        owners_of.setdefault(house_id, []).append((person_id, name))
    # Union–find over houses: two houses with an owner in common are one voice.
    parent = {h: h for h in owners_of}

    def find(h: int) -> int:
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    first_house_of: dict[int, int] = {}
    for house_id, owners in owners_of.items():
        for person_id, _name in owners:
            if person_id in first_house_of:
                parent[find(house_id)] = find(first_house_of[person_id])
            else:
                first_house_of[person_id] = house_id
    groups: dict[int, list[int]] = {}
    for house_id in owners_of:
        groups.setdefault(find(house_id), []).append(house_id)
    members: list[Member] = []
    for house_ids in groups.values():
        owners = sorted({o for h in house_ids for o in owners_of[h]})
        names = "、".join(mask_name(name) for _pid, name in owners)
        members.append(
            Member(
                person_id=owners[0][0],
                label=names,
                house_ids=tuple(sorted(house_ids)),
                area=sum((areas[h] for h in house_ids), Decimal(0)),
                co_owner_ids=tuple(pid for pid, _name in owners),
            )
        )
    unsold = sorted(h for h in areas if h not in owners_of)
    if unsold:
        members.append(
            Member(
                person_id=None,
                label="",
                house_ids=tuple(unsold),
                area=sum((areas[h] for h in unsold), Decimal(0)),
            )
        )
    members.sort(key=lambda m: (m.person_id is None, m.house_ids))
    return members


def building_ids_of(region_code: str, *, limit: int) -> list[int]:
    """The first ``limit`` buildings of a region (a vote of some buildings, as the demo holds one)."""
    return list(
        Building.objects.filter(region_code__startswith=region_code)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def building_ids_in(region_code: str, building_ids: Iterable[int]) -> set[int]:
    """Which of ``building_ids`` are buildings of the region (a vote's scope of some buildings)."""
    return set(
        Building.objects.filter(pk__in=list(building_ids), region_code__startswith=region_code).values_list(
            "pk", flat=True
        )
    )


@dataclass(frozen=True)
class PersonFacts:
    label: str  # masked, for lists
    name: str  # in full, for a candidate (candidates and the elected are announced by name)
    birth_date: date | None


def person_facts(person_id: int, region_code: str) -> PersonFacts | None:
    """A person of the region (current home there), for adding them to a roll by hand."""
    row = (
        Person.objects.filter(pk=person_id, region_code__startswith=region_code)
        .values_list("name", "birth_date")
        .first()
    )
    return PersonFacts(label=mask_name(row[0]), name=row[0], birth_date=row[1]) if row else None


def person_named_in(region_code: str, *, name: str, id_number: str) -> int | None:
    """The person of the region (current home there) with this name and ID number, for an objection
    that names someone left off a voter list: both must match, so the objector shows they know who
    the person is; the answer is only their number (or None)."""
    name, id_number = name.strip(), id_number.strip()
    if not name or not id_number:
        return None
    from shequ.core import crypto

    return (
        Person.objects.filter(
            region_code__startswith=region_code,
            id_number_index=crypto.blind_index(id_number, "id_number"),
            name=name,
        )
        .values_list("pk", flat=True)
        .first()
    )


def accounts_of(person_ids: Iterable[int]) -> dict[int, list[User]]:
    """The active resident accounts of people (linked by the mobile number's blind index, as
    ``selectors.person_for_account`` links them), for notices about votes they are on the roll of."""
    indexes: dict[str, list[int]] = {}
    for pk, index in (
        Person.objects.filter(pk__in=list(person_ids))
        .exclude(phone_index="")
        .values_list("pk", "phone_index")
    ):
        indexes.setdefault(index, []).append(pk)
    found: dict[int, list[User]] = {}
    users = User.objects.filter(
        is_active=True,
        phone_index__in=list(indexes),
        memberships__role=Role.RESIDENT,
        memberships__revoked_at__isnull=True,
    ).distinct()
    for user in users:
        people = indexes.get(user.phone_index, [])
        if len(people) == 1:  # a number shared by a family links nobody (as person_for_account)
            found.setdefault(people[0], []).append(user)
    return found
