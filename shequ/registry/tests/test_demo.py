"""The demo registry generator: realistic shapes (ages, IDs, households, tenants, tags, credit
codes), encryption at rest, one audit entry per community, the story through the services,
idempotence, determinism, scaling over the county; and the bulk writers it uses."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from shequ.core import bulk, crypto
from shequ.core.models import AuditEntry, Region, RegionLevel
from shequ.core.regions import display_name, kind_for, read_division
from shequ.core.validators import clean_resident_id, clean_uscc, resident_id_birth_date, resident_id_sex
from shequ.demo import generator
from shequ.registry import demo
from shequ.registry.models import (
    House,
    Household,
    HouseholdMember,
    HouseUse,
    KeyPlace,
    Organization,
    Person,
    PersonStatus,
    PersonTag,
    Residence,
    ResidenceType,
    Road,
    TagCategory,
    TimelineEntry,
    Visit,
)
from shequ.registry.selectors import overdue_follow_ups

PEOPLE = 1_500  # per size in these tests (30,000 in the real demo)


class Stop(Exception):
    pass


def load_regions() -> None:
    """Hunan's province, cities and counties, and 岳麓区's streets and communities (enough for the
    generator, much faster than the whole province)."""
    ids: dict[str, int] = {}
    for row in read_division("43"):
        if row.level in ("street", "community") and not row.code.startswith(demo.COUNTY):
            continue
        region = Region.objects.create(
            code=row.code,
            name=display_name(row.level, row.name),
            level=row.level,
            kind=kind_for(row.level, row.code, row.name),
            parent_id=ids.get(row.parent_code or ""),
        )
        ids[row.code] = region.pk


@pytest.fixture
def small_demo(db: None, monkeypatch: pytest.MonkeyPatch) -> generator.DemoResult:
    load_regions()
    monkeypatch.setattr(demo.generator, "PEOPLE_PER_SIZE", PEOPLE)
    # Without the government services' demo: its grid workers' care visits would add to the registry's.
    monkeypatch.setattr(generator, "generate_govservice", lambda **kwargs: None)
    return generator.generate(size=1)


def street_people() -> Any:
    return Person.objects.filter(region_code__startswith=demo.STREET)


def test_demo_registry_is_shaped_like_the_real_thing(small_demo: generator.DemoResult) -> None:
    summary = small_demo.registry
    assert summary is not None and summary.communities == 15 and summary.communities_skipped == 0
    people = list(street_people())
    assert len(people) == summary.people and abs(len(people) - PEOPLE) < PEOPLE * 0.05
    houses = House.objects.filter(region_code__startswith=demo.STREET)
    # About 30,000 people in about 10,000 houses at size 1; small sizes leave more flats vacant.
    assert 1.8 < len(people) / houses.count() < 3.5
    uses = Counter(houses.values_list("use", flat=True))
    assert uses[HouseUse.RENTED] and uses[HouseUse.VACANT] and uses[HouseUse.BUSINESS]

    # Valid, unique ID numbers; birth date and sex as coded; mostly born in Hunan.
    residents = [p for p in people if p.id_type == "resident_id"]
    numbers = [p.id_number for p in residents]
    assert len(set(numbers)) == len(numbers)
    for person, number in zip(residents, numbers, strict=True):
        assert clean_resident_id(number) == number
        assert person.birth_date == resident_id_birth_date(number) and person.sex == resident_id_sex(number)
        assert person.name_pinyin and person.name_initials
    assert sum(n.startswith("43") for n in numbers) / len(numbers) > 0.8
    assert any(not n.startswith("43") for n in numbers)  # floating population from other provinces
    zeng = [p for p in people if p.name.startswith("曾")]
    assert zeng and all(p.name_pinyin.startswith("zeng") for p in zeng)

    # Ages and sexes like Hunan's census: about a fifth 60+, about a seventh 65+.
    active = [p for p in people if p.status == PersonStatus.ACTIVE]
    today = timezone.localdate()
    ages = [p.age(today) or 0 for p in active]
    share = lambda low, high=200: sum(low <= a < high for a in ages) / len(ages)  # noqa: E731
    assert 0.16 < share(60) < 0.25 and 0.11 < share(65) < 0.19 and 0.14 < share(0, 15) < 0.24
    assert 0.44 < sum(p.sex == "male" for p in active) / len(active) < 0.54
    floating = sum(p.residence_type == ResidenceType.FLOATING for p in active) / len(active)
    assert 0.07 < floating < 0.2
    assert Residence.objects.filter(relation="tenant", end_date__isnull=True).exists()
    assert Residence.objects.filter(relation="owner", lives_here=False).exists()  # landlords

    # Households have their head as a member; every active person has one home.
    households = Household.objects.filter(region_code__startswith=demo.STREET)
    for household in households.filter(head__isnull=False)[:200]:
        assert HouseholdMember.objects.filter(household=household, person=household.head).exists()
    assert households.filter(head__isnull=True).count() <= summary.deceased  # a head died in the story
    homes = Counter(
        Residence.objects.filter(lives_here=True, end_date__isnull=True).values_list("person", flat=True)
    )
    assert set(homes.values()) == {1} and len(homes) == len(active)

    # Personal numbers are encrypted at rest and found through the blind index.
    raw = Person.objects.filter(pk=people[0].pk).values_list("id_number", "phone")[0]
    assert all(value == "" or str(value).startswith("sm4gcm:") for value in raw)
    sample = residents[0]
    found = Person.objects.get(id_number_index=crypto.blind_index(sample.id_number, "id_number"))
    assert found.pk == sample.pk

    # Organizations with valid credit codes; key places of several kinds.
    codes = list(Organization.objects.exclude(uscc="").values_list("uscc", flat=True))
    assert codes and all(clean_uscc(c) == c for c in codes) and len(set(codes)) == len(codes)
    kinds = set(KeyPlace.objects.values_list("kind", flat=True))
    assert {"market", "rental_cluster"} <= kinds and len(kinds) >= 4

    # Care tags at plausible rates, a few restricted ones.
    tags = Counter(PersonTag.objects.values_list("category__code", flat=True))
    assert tags["living_alone"] and tags["empty_nest"] and tags["disabled"] and tags["low_income"]
    restricted = (
        "drug_user",
        "community_correction",
        "released_prisoner",
        "key_youth",
        "severe_mental_disorder",
    )
    assert 0 < sum(tags[c] for c in restricted) == summary.restricted_tags < len(people) * 0.02
    assert 0.01 < tags["disabled"] / len(active) < 0.06
    assert not tags["elderly_60"]  # the age groups come from the birth date

    # History: timeline entries, one audit entry per community, the story through the services.
    assert TimelineEntry.objects.filter(action="person.register").count() == len(people)
    assert AuditEntry.objects.filter(action="registry.demo_load").count() == 15
    # Departures: some in the bulk load (timeline only), some through the services (audited).
    assert 0 < AuditEntry.objects.filter(action="registry.person_move_out").count() < summary.moved_out
    assert 0 < AuditEntry.objects.filter(action="registry.person_death").count() <= summary.deceased
    assert TimelineEntry.objects.filter(action="person.move_out").count() == summary.moved_out
    assert street_people().filter(status=PersonStatus.MOVED_OUT).count() == summary.moved_out
    assert street_people().filter(status=PersonStatus.DECEASED).count() == summary.deceased
    assert summary.moves and AuditEntry.objects.filter(action="registry.person_move").count() == summary.moves
    assert Visit.objects.count() == summary.visits > 0
    grid_worker = generator.User.objects.get(username="grid_a")
    assert overdue_follow_ups(viewer=grid_worker).exists()


def test_demo_places_buildings_and_tickets_inside_their_boundaries(small_demo: generator.DemoResult) -> None:
    from shequ.core import geo
    from shequ.core.models import RegionShape
    from shequ.grid.models import Ticket
    from shequ.registry.models import Building

    shapes = dict(RegionShape.objects.values_list("region_code", "geometry"))
    street_regions = Region.objects.filter(code__startswith=demo.STREET).values_list("code", flat=True)
    assert set(street_regions) <= set(shapes)  # the street, its communities and every grid
    assert {"43", "4301", "430104"} <= set(shapes)
    assert small_demo.shapes == len(shapes)
    buildings = list(Building.objects.filter(region_code__startswith=demo.STREET))
    inside = [
        b
        for b in buildings
        if geo.contains(shapes[b.region_code], float(b.longitude or 0), float(b.latitude or 0))
    ]
    # A few are pinned elsewhere in their community on purpose (the maps list them).
    assert len(inside) >= 0.9 * len(buildings)
    for b in buildings:
        assert geo.contains(shapes[b.region_code[:12]], float(b.longitude or 0), float(b.latitude or 0)), (
            b.address
        )
    located = Ticket.objects.filter(region_code__startswith=demo.STREET, latitude__isnull=False)
    assert located.count() >= 0.5 * Ticket.objects.filter(region_code__startswith=demo.STREET).count()
    for t in located:
        assert geo.contains(shapes[demo.STREET], float(t.longitude or 0), float(t.latitude or 0))


def test_running_again_adds_nothing(small_demo: generator.DemoResult) -> None:
    counts = (Person.objects.count(), House.objects.count(), Road.objects.count(), Visit.objects.count())
    again = generator.generate(size=1)
    assert again.registry is not None
    assert (again.registry.communities, again.registry.communities_skipped, again.registry.people) == (
        0,
        15,
        0,
    )
    assert "already present" in again.registry.line()
    assert (
        Person.objects.count(),
        House.objects.count(),
        Road.objects.count(),
        Visit.objects.count(),
    ) == counts


def test_the_same_seed_gives_the_same_registry(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    load_regions()
    monkeypatch.setattr(demo.generator, "PEOPLE_PER_SIZE", 300)

    def run(seed: int) -> list[tuple[str, str, str]]:
        try:
            with transaction.atomic():
                demo.generate_registry(size=1, seed=seed, story=False)
                rows = sorted(
                    (p.name, p.id_number, p.house.address if p.house else "")
                    for p in Person.objects.select_related("house")
                )
                raise Stop
        except Stop:
            return rows

    first = run(7)
    assert first and run(7) == first
    assert run(8) != first


def test_plan_spreads_a_million_people_over_the_county(db: None) -> None:
    load_regions()
    plans = demo.plan(34)
    assert sum(p.people for p in plans) == 1_020_000
    in_street = [p for p in plans if p.community.code.startswith(demo.STREET)]
    assert sum(p.people for p in in_street) == demo.generator.PEOPLE_PER_SIZE * demo.DEMO_STREET_MAX_SIZE
    assert all(p.community.code.startswith(demo.COUNTY) for p in plans)
    assert (
        len(plans) == Region.objects.filter(code__startswith=demo.COUNTY, level=RegionLevel.COMMUNITY).count()
    )
    assert (
        sum(p.people for p in demo.plan(1))
        == demo.generator.PEOPLE_PER_SIZE
        == sum(p.people for p in in_street) // 3
    )


def test_outside_the_demo_street_grids_are_created_as_needed(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_regions()
    monkeypatch.setattr(demo._base, "PEOPLE_PER_GRID", 100)
    community = Region.objects.filter(code__startswith="430104011", level=RegionLevel.COMMUNITY).first()
    assert community is not None and not Region.objects.filter(parent=community).exists()
    summary = demo.Generator().community(demo.Plan(community, 300, 0))
    grids = Region.objects.filter(parent=community, level=RegionLevel.GRID)
    assert summary.grids_created == grids.count() == 3
    people = Person.objects.filter(region_code__startswith=community.code)
    assert 300 <= people.count() == summary.people < 320  # at most one household more
    assert set(people.values_list("region_code", flat=True)) == set(grids.values_list("code", flat=True))


def test_bulk_insert_encrypts_and_sets_keys(db: None) -> None:
    region = Region.objects.create(code="43", name="湖南省", level="province", kind="province")
    people = [
        Person(
            name=f"测试{n}", region=region, region_code="43", id_number=f"E1234567{n}", phone="13800000000"
        )
        for n in range(3)
    ]
    bulk.bulk_insert(Person, people)
    assert all(p.pk for p in people) and len({p.pk for p in people}) == 3
    stored = Person.objects.get(pk=people[1].pk)
    assert stored.id_number == "E12345671" and stored.phone == "13800000000"
    raw = Person.objects.filter(pk=people[1].pk).values_list("id_number", flat=True)[0]
    assert str(raw).startswith("sm4gcm:")
    assert stored.phone_index == crypto.blind_index("13800000000", "phone")
    keys = bulk.insert_rows(
        TimelineEntry,
        [
            {"object_type": "person", "object_id": p.pk, "region_code": "43", "action": "person.register"}
            for p in people
        ],
    )
    assert list(TimelineEntry.objects.order_by("pk").values_list("pk", flat=True)) == keys
    # Rows given as dicts are sealed too, bound to their own uid.
    category = TagCategory.objects.order_by("pk").first()
    assert category is not None
    (tag_key,) = bulk.insert_rows(
        PersonTag,
        [{"person_id": people[0].pk, "category_id": category.pk, "region_code": "43", "note": "secret"}],
    )
    tag = PersonTag.objects.get(pk=tag_key)
    assert tag.note == "secret"
    note = PersonTag.objects.filter(pk=tag_key).values_list("note", flat=True).get()
    assert note.startswith("sm4gcm:") and "secret" not in note


def test_insert_rows_draws_a_uuid_per_row(db: None) -> None:
    region = Region.objects.create(code="43", name="湖南省", level="province", kind="province")
    person = Person(name="测试", region=region, region_code="43")
    bulk.bulk_insert(Person, [person])
    category_ids = list(
        TagCategory.objects.filter(code__in=["disabled", "veteran"]).values_list("pk", flat=True)
    )
    bulk.insert_rows(
        PersonTag, [{"person_id": person.pk, "category_id": c, "region_code": "43"} for c in category_ids]
    )
    uids = list(PersonTag.objects.values_list("uid", flat=True))
    assert len(set(uids)) == 2 and all(isinstance(u, uuid.UUID) for u in uids)
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_give_the_same_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("parallel workers run on PostgreSQL only")
    load_regions()
    monkeypatch.setattr(demo.generator, "PEOPLE_PER_SIZE", 450)

    def registry() -> list[tuple[str, str, str]]:
        people = Person.objects.select_related("house")
        return sorted((p.name, p.id_number, p.house.address if p.house else "") for p in people)

    demo.generate_registry(size=1, story=False, workers=1)
    one = registry()
    tables = ", ".join(model._meta.db_table for model in demo.LOADED_TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    summary = demo.generate_registry(size=1, story=False, workers=3)
    assert summary.communities == 15 and registry() == one
