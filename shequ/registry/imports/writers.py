"""Writing checked rows in bulk, one writer per kind."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import models
from django.utils import timezone

from shequ.core.bulk import bulk_insert, insert_rows
from shequ.core.models import Region
from shequ.core.spreadsheets import squash
from shequ.registry import addresses
from shequ.registry.imports.dry_run import Plan
from shequ.registry.imports.houses import HousePlan
from shequ.registry.imports.organizations import OrganizationPlan
from shequ.registry.imports.people import PersonPlan
from shequ.registry.imports.places import BuildingRef, unit_key
from shequ.registry.models import (
    Building,
    House,
    ImportKind,
    Organization,
    Person,
    Residence,
    Road,
    TimelineEntry,
    Unit,
)
from shequ.registry.pinyin import name_pinyin

# --- Writing ------------------------------------------------------------------------------------


def _actor_name(actor: Any) -> str:
    """The name the timeline keeps (as tickets do): the person's name, not the user name."""
    return str(getattr(actor, "name", "") or "") if actor is not None else ""


def _timeline_row(
    object_type: str,
    object_id: int,
    region_code: str,
    actor: Any,
    action: str,
    params: dict[str, Any],
    now: dt.datetime,
) -> TimelineEntry:
    return TimelineEntry(
        object_type=object_type,
        object_id=object_id,
        region_code=region_code,
        at=now,
        actor=actor,
        actor_name=_actor_name(actor),
        action=action,
        params=params,
    )


def _id_range(objs: Sequence[models.Model]) -> tuple[int, int]:
    ids = [int(o.pk) for o in objs]
    return (min(ids), max(ids))


_cached_pinyin = functools.lru_cache(maxsize=200_000)(name_pinyin)


def person_row(
    cleaned: Mapping[str, Any], *, region_id: int, region_code: str, house_id: int | None
) -> dict[str, Any]:
    """The row ``services.person_build`` makes, as plain values (a test keeps the two equal)."""
    full, initials = _cached_pinyin(cleaned["name"])
    return {
        **cleaned,
        "region_id": region_id,
        "region_code": region_code,
        "house_id": house_id,
        "name_pinyin": full,
        "name_initials": initials,
    }


def _write_people(
    plan: Plan, *, actor: Any, batch_id: int | None, workers: int = 1
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    now = timezone.now()
    stamps = {"created_at": now, "updated_at": now}
    rows: list[PersonPlan] = plan.rows
    people = [
        {
            **person_row(
                p.cleaned,
                region_id=p.house.region_id if p.house else plan.region.pk,
                region_code=p.house.region_code if p.house else plan.region.code,
                house_id=p.house.pk if p.house else None,
            ),
            **stamps,
            **({"id_number_index": p.id_index} if p.id_index else {}),
        }
        for p in rows
    ]
    ids = insert_rows(Person, people, workers=workers)
    prefix = addresses.region_prefix(plan.region.code)
    source = {"source": "import", "batch": batch_id}
    actor_id, actor_name = getattr(actor, "pk", None), _actor_name(actor)
    residences: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []

    def entry(
        object_type: str, object_id: int, region_code: str, action: str, params: dict[str, Any]
    ) -> None:
        entries.append(
            {
                "object_type": object_type,
                "object_id": object_id,
                "region_code": region_code,
                "at": now,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "action": action,
                "params": params,
            }
        )

    for p, person, pk in zip(rows, people, ids, strict=True):
        house = p.house
        since = str(p.since)
        address = house.address if house is not None else prefix
        entry(
            "person",
            pk,
            person["region_code"],
            "person.register",
            {"address": address, "date": since, **source},
        )
        if house is None:
            continue
        residences.append(
            {
                "person_id": pk,
                "house_id": house.pk,
                "relation": p.relation,
                "lives_here": True,
                "start_date": p.since,
                "region_code": house.region_code,
                **stamps,
            }
        )
        entry(
            "house",
            house.pk,
            house.region_code,
            "residence.start",
            {"name": person["name"], "relation": p.relation, "date": since, "person_id": pk},
        )
    residence_ids = insert_rows(Residence, residences, workers=workers)
    insert_rows(TimelineEntry, entries, workers=workers)
    created = {"people": len(ids), "residences": len(residence_ids)}
    ranges = {"person": (min(ids), max(ids))}
    if residence_ids:
        ranges["residence"] = (min(residence_ids), max(residence_ids))
    return created, ranges


def _write_houses(
    plan: Plan, *, actor: Any, batch_id: int | None, workers: int = 1
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    now = timezone.now()
    stamps = {"created_at": now, "updated_at": now}
    rows: list[HousePlan] = plan.rows
    # Roads of new buildings: found in the community (or its street), else created in the community.
    community = plan.region.code[:12]
    road_names = {p.road_name for p in rows if p.building is None and p.road_name}
    roads: dict[str, Road] = {}
    for road in Road.objects.filter(region_code__in=[community, community[:9]], name__in=road_names):
        roads.setdefault(squash(road.name), road)
    community_region = Region.objects.get(code=community)
    new_roads = []
    for name in sorted(road_names):
        if squash(name) not in roads:
            road = Road(region=community_region, region_code=community, name=name, **stamps)
            roads[squash(name)] = road
            new_roads.append(road)
    bulk_insert(Road, new_roads)
    names = addresses.region_names([plan.region.code])
    # Every building as plain values (existing ones from the index, new ones from the file).
    buildings: dict[tuple[str, ...], BuildingRef] = {}
    new_buildings: list[dict[str, Any]] = []
    new_refs: list[tuple[tuple[str, ...], dict[str, Any], str]] = []
    pending: set[tuple[str, ...]] = set()
    for p in rows:
        if p.building is not None:
            buildings[p.building_ref] = p.building
        elif p.building_ref not in pending:
            pending.add(p.building_ref)
            site = roads.get(squash(p.road_name)) if p.road_name else None
            data = {
                **p.building_data,
                "road_id": site.pk if site else None,
                "region_id": p.grid.pk,
                "region_code": p.grid.code,
                **stamps,
            }
            data["address"] = addresses.compose(
                region_part=addresses.region_prefix(p.grid.code, names),
                road=site.name if site else "",
                door_number=data["door_number"],
                estate=data["estate"],
                building=data["number"] or data["name"],
            )
            new_buildings.append(data)
            new_refs.append((p.building_ref, data, site.name if site else ""))
    for pk, (ref, data, road_name) in zip(insert_rows(Building, new_buildings), new_refs, strict=True):
        buildings[ref] = BuildingRef(
            pk,
            data["number"],
            data["name"],
            data["estate"],
            data["door_number"],
            road_name,
            data["region_id"],
            data["region_code"],
        )
    units: dict[tuple[int, str], int] = {}
    for unit_pk, building_id, number in Unit.objects.filter(
        building_id__in=[b.pk for b in buildings.values()]
    ).values_list("pk", "building_id", "number"):
        units.setdefault((building_id, unit_key(number)), unit_pk)
    new_units: list[dict[str, Any]] = []
    unit_keys: list[tuple[int, str]] = []
    pending_units: set[tuple[int, str]] = set()
    for p in rows:
        b = buildings[p.building_ref]
        k = (b.pk, unit_key(p.unit_number))
        if p.unit_number and k not in units and k not in pending_units:
            new_units.append(
                {"building_id": b.pk, "number": p.unit_number, "region_code": b.region_code, **stamps}
            )
            unit_keys.append(k)
            pending_units.add(k)
    units.update(zip(unit_keys, insert_rows(Unit, new_units), strict=True))
    houses: list[dict[str, Any]] = []
    for p in rows:
        b = buildings[p.building_ref]
        data = {
            **p.house_data,
            "building_id": b.pk,
            "unit_id": units[(b.pk, unit_key(p.unit_number))] if p.unit_number else None,
            "region_id": b.region_id,
            "region_code": b.region_code,
            **stamps,
        }
        data["address"] = addresses.compose(
            region_part=addresses.region_prefix(b.region_code, names),
            road=b.road_name,
            door_number=b.door_number,
            estate=b.estate,
            building=b.number or b.name,
            unit=p.unit_number,
            house=data["number"],
        )
        houses.append(data)
    house_ids = insert_rows(House, houses)
    building_ids = [buildings[ref].pk for ref, _data, _road in new_refs]
    source = {"source": "import", "batch": batch_id}
    actor_id, actor_name = getattr(actor, "pk", None), _actor_name(actor)
    common = {"at": now, "actor_id": actor_id, "actor_name": actor_name, "action": "place.create"}
    entries = [
        {
            "object_type": "building",
            "object_id": pk,
            "region_code": data["region_code"],
            "params": dict(source),
            **common,
        }
        for pk, data in zip(building_ids, new_buildings, strict=True)
    ] + [
        {
            "object_type": "house",
            "object_id": pk,
            "region_code": data["region_code"],
            "params": {"use": data["use"], **source},
            **common,
        }
        for pk, data in zip(house_ids, houses, strict=True)
    ]
    insert_rows(TimelineEntry, entries)
    created = {
        "houses": len(houses),
        "buildings": len(new_buildings),
        "units": len(new_units),
        "roads": len(new_roads),
    }
    ranges = {"house": (min(house_ids), max(house_ids))}
    if building_ids:
        ranges["building"] = (min(building_ids), max(building_ids))
    return created, ranges


def _write_organizations(
    plan: Plan, *, actor: Any, batch_id: int | None, workers: int = 1
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    now = timezone.now()
    rows: list[OrganizationPlan] = plan.rows
    regions = Region.objects.in_bulk({p.house.region_id for p in rows if p.house is not None})
    houses = House.objects.select_related("building").in_bulk({p.house.pk for p in rows if p.house})
    orgs: list[Organization] = []
    for p in rows:
        data = dict(p.cleaned)
        house = houses[p.house.pk] if p.house is not None else None
        if house is not None:
            data.update(house=house, building=house.building, address=house.address)
            region = regions[house.region_id]
        else:
            region = plan.region
        orgs.append(
            Organization(**data, region=region, region_code=region.code, created_at=now, updated_at=now)
        )
    bulk_insert(Organization, orgs)
    source = {"source": "import", "batch": batch_id}
    bulk_insert(
        TimelineEntry,
        [
            _timeline_row("organization", o.pk, o.region_code, actor, "place.create", dict(source), now)
            for o in orgs
        ],
    )
    return {"organizations": len(orgs)}, {"organization": _id_range(orgs)}


WRITERS: dict[str, Callable[..., tuple[dict[str, int], dict[str, tuple[int, int]]]]] = {
    ImportKind.PEOPLE: _write_people,
    ImportKind.HOUSES: _write_houses,
    ImportKind.ORGANIZATIONS: _write_organizations,
}
