"""Checking house rows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shequ.core.models import Region, RegionLevel
from shequ.core.spreadsheets import Row, is_blank, squash
from shequ.registry import services
from shequ.registry.imports._common import _apply_errors, _improve_choice_errors
from shequ.registry.imports.columns import choice_value
from shequ.registry.imports.places import (
    _BUILDING_SUFFIXES,
    _ROOM_SUFFIXES,
    _UNIT_SUFFIXES,
    BuildingRef,
    HouseIndex,
    bare_number,
    building_key,
    room_key,
    unit_key,
)
from shequ.registry.models import (
    BuildingType,
    HouseUse,
    PropertyType,
)

# --- Checking: houses ---------------------------------------------------------------------------


@dataclass
class HousePlan:
    number: int
    building_ref: tuple[str, ...]  # key of an existing or new building
    building: BuildingRef | None  # existing building
    building_data: dict[str, Any]  # for a new building
    grid: Region
    road_name: str
    unit_number: str
    house_data: dict[str, Any]


def _grid_lookup(region: Region) -> dict[str, Region]:
    grids = Region.objects.filter(code__startswith=region.code, level=RegionLevel.GRID)
    out: dict[str, Region] = {}
    for g in grids:
        out[squash(g.code)] = g
        out.setdefault(squash(g.name), g)
    return out


def _check_house(
    row: Row, region: Region, grids: Mapping[str, Region], index: HouseIndex
) -> HousePlan | None:
    building_data_in = {
        "door_number": row.text("door_number"),
        "estate": row.text("estate"),
        "number": bare_number(row.text("building"), _BUILDING_SUFFIXES),
        "name": row.text("building_name"),
        "type": choice_value(BuildingType, row.cells.get("building_type")),
        "floors": row.text("floors"),
    }
    try:
        building_data = services.clean_building_data(building_data_in)
    except ValidationError as exc:
        _apply_errors(row, exc, {"number": "building", "name": "building_name", "type": "building_type"})
        building_data = {}
    number = bare_number(row.text("number"), _ROOM_SUFFIXES)
    floor_text = row.text("floor")
    if not floor_text and re.fullmatch(r"\d{3,4}", number):
        floor_text = number[:-2]  # 301 is on the third floor
    house_in = {
        "number": number,
        "floor": floor_text,
        "area": row.text("area"),
        "use": choice_value(HouseUse, row.cells.get("use")),
        "property_type": choice_value(PropertyType, row.cells.get("property_type")),
    }
    try:
        house_data = services.clean_house_data(house_in)
    except ValidationError as exc:
        _apply_errors(row, exc)
        house_data = {}
    unit_number = bare_number(row.text("unit"), _UNIT_SUFFIXES)
    if len(unit_number) > 20:
        row.add("unit", _("Use at most %(n)d characters.") % {"n": 20}, "max_length")
    road_name = row.text("road")
    if len(road_name) > 60:
        row.add("road", _("Use at most %(n)d characters.") % {"n": 60}, "max_length")
    grid = region
    if not is_blank(row.cells.get("grid")):
        found = grids.get(squash(row.text("grid")))
        if found is None:
            row.add("grid", _("No grid of this name or code in the chosen region."), "unknown_grid")
        else:
            grid = found
    _improve_choice_errors(
        row, {"building_type": BuildingType, "use": HouseUse, "property_type": PropertyType}
    )
    if row.problems:
        return None
    # An existing building: same number (or name) and, where the ledger gives them, same road,
    # door number and estate.
    candidates = [
        b
        for b in index.load().find_buildings(building_data.get("number") or building_data.get("name"))
        if (not road_name or squash(b.road_name) == squash(road_name))
        and (
            not building_data["door_number"] or squash(b.door_number) == squash(building_data["door_number"])
        )
        and (not building_data["estate"] or squash(b.estate) == squash(building_data["estate"]))
        and b.region_code.startswith(grid.code)
    ]
    if len(candidates) > 1:
        row.add(
            "building",
            _("Several buildings match: add the road, door number or estate columns."),
            "ambiguous_building",
        )
        return None
    building = candidates[0] if candidates else None
    if (
        building is None
        and grid.level != RegionLevel.GRID
        and Region.objects.filter(parent=grid, level=RegionLevel.GRID).exists()
    ):
        row.add(
            "building",
            _("This is a new building: choose its grid (the grid column or the region)."),
            "no_grid",
        )
        return None
    ref = (
        ("id", str(building.pk))
        if building is not None
        else (
            grid.code,
            squash(road_name),
            squash(building_data["door_number"]),
            squash(building_data["estate"]),
            building_key(building_data["number"] or building_data["name"]),
        )
    )
    if building is not None:
        existing = index.houses.get((building.pk, unit_key(unit_number), room_key(number)))
        if existing is not None:
            row.add("number", _("This house is already registered."), "duplicate_house")
            return None
    row.key = (ref, unit_key(unit_number), room_key(number))
    return HousePlan(
        number=row.number,
        building_ref=ref,
        building=building,
        building_data=building_data,
        grid=grid,
        road_name=road_name,
        unit_number=unit_number,
        house_data=house_data,
    )
