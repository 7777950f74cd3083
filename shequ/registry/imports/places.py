"""Finding the houses a row names: building, unit and room numbers as ledgers write them."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from shequ.core import validators as v
from shequ.core.spreadsheets import Row, cell_text, is_blank, squash
from shequ.registry import addresses
from shequ.registry.models import (
    Building,
    House,
)


def _key(value: Any, suffixes: tuple[str, ...]) -> str:
    """A building, unit or room number for comparison: ``3栋``/``３号楼``/``3`` → ``3``,
    ``0301室`` → ``301``."""
    return _text_key(value if isinstance(value, str) else cell_text(value), suffixes)


@functools.lru_cache(maxsize=65536)
def _text_key(value: str, suffixes: tuple[str, ...]) -> str:
    # Ledgers repeat the same few building, unit and room numbers on thousands of rows.
    text = v.normalize_code(value)
    for suffix in suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text


_BUILDING_SUFFIXES = ("号楼", "栋", "幢", "座", "楼", "号")
_UNIT_SUFFIXES = ("单元", "单")
_ROOM_SUFFIXES = ("室", "号", "房")


def bare_number(text: str, suffixes: tuple[str, ...]) -> str:
    """A number as stored for a new building, unit or house: ``7栋`` → ``7``, ``1单元`` → ``1``,
    ``101室`` → ``101`` (the standard address adds the suffix back); names stay as written."""
    compact = v.normalize_code(text)
    for suffix in suffixes:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            compact = compact[: -len(suffix)]
            break
    return compact if re.fullmatch(r"[0-9A-Z\-]+", compact) else text


def building_key(value: Any) -> str:
    return _key(value, _BUILDING_SUFFIXES)


def unit_key(value: Any) -> str:
    return _key(value, _UNIT_SUFFIXES)


def room_key(value: Any) -> str:
    return _key(value, _ROOM_SUFFIXES)


_ADDRESS_PARTS = re.compile(
    r"(?P<b>[0-9A-Za-z]+)(?:栋|幢|号楼|座)(?:(?P<u>[0-9A-Za-z]+)单元)?(?P<r>[0-9A-Za-z]+)(?:室|号|房)?$"
)
_DASHED_PARTS = re.compile(r"^(?P<b>[0-9A-Za-z]+)-(?:(?P<u>[0-9A-Za-z]+)-)?(?P<r>[0-9A-Za-z]+)$")


def address_parts(value: Any) -> tuple[str, str, str] | None:
    """(building, unit, room) at the end of an address: ``…12号3栋2单元301室`` or ``3-2-301``."""
    text = cell_text(value).replace(" ", "")
    m = _DASHED_PARTS.match(text) or _ADDRESS_PARTS.search(text)
    if not m:
        return None
    return m["b"], m["u"] or "", m["r"]


# --- Places: finding houses ---------------------------------------------------------------------


@dataclass(frozen=True)
class BuildingRef:
    """What imports need of a registered building (loaded as plain values: a county has many)."""

    pk: int
    number: str
    name: str
    estate: str
    door_number: str
    road_name: str
    region_id: int
    region_code: str


@dataclass(frozen=True)
class HouseRef:
    pk: int
    building_id: int
    unit_number: str
    number: str
    region_id: int
    region_code: str
    address: str


class HouseIndex:
    """The buildings and houses of a region subtree, by their numbers as ledgers write them."""

    def __init__(self, region_code: str) -> None:
        self.region_code = region_code
        self.buildings: dict[str, list[BuildingRef]] = defaultdict(list)
        self.houses: dict[tuple[int, str, str], HouseRef] = {}
        self.by_room: dict[tuple[int, str], list[HouseRef]] = defaultdict(list)
        self.loaded = False

    def load(self) -> HouseIndex:
        if self.loaded:
            return self
        buildings = Building.objects.filter(region_code__startswith=self.region_code).values_list(
            "pk", "number", "name", "estate", "door_number", "road__name", "region_id", "region_code"
        )
        for pk, number, name, estate, door, road, region_id, code in buildings:
            b = BuildingRef(pk, number, name, estate, door, road or "", region_id, code)
            for label in {building_key(number), building_key(name)} - {""}:
                self.buildings[label].append(b)
        houses = House.objects.filter(region_code__startswith=self.region_code).values_list(
            "pk", "building_id", "unit__number", "number", "region_id", "region_code", "address"
        )
        for pk, building_id, unit, number, region_id, code, address in houses:
            h = HouseRef(pk, building_id, unit or "", number, region_id, code, address)
            r = room_key(number)
            self.houses[(building_id, unit_key(unit) if unit else "", r)] = h
            self.by_room[(building_id, r)].append(h)
        self.loaded = True
        return self

    def find_buildings(self, building: Any, estate: Any = "") -> list[BuildingRef]:
        found = self.buildings.get(building_key(building), [])
        if len(found) > 1 and not is_blank(estate):
            wanted = squash(cell_text(estate))
            found = [b for b in found if wanted in (squash(b.estate), squash(b.road_name))]
        return found

    def find_house(self, building: BuildingRef, unit: Any, room: Any) -> HouseRef | None:
        u, r = unit_key(unit), room_key(room)
        house = self.houses.get((building.pk, u, r))
        if house is None and not u:
            # The ledger left the unit out: fine when the room number is unique in the building.
            matches = self.by_room.get((building.pk, r), [])
            house = matches[0] if len(matches) == 1 else None
        if house is None and u:
            house = self.houses.get((building.pk, "", r))  # a building without units
        return house


def _place_text(building: Any, unit: Any, room: Any) -> str:
    return addresses.compose(
        region_part="", building=cell_text(building), unit=cell_text(unit), house=cell_text(room)
    )


def _resolve_house(row: Row, index: HouseIndex) -> HouseRef | None:
    """The registered house a row names (building/unit/room columns, a composite room like
    ``3-2-301``, or the end of the address), or None when it names none; problems on the row."""
    building, unit, room = row.cells.get("building"), row.cells.get("unit"), row.cells.get("room")
    key = "building"
    if is_blank(building) and not is_blank(room):
        parts = address_parts(room)
        if parts:
            building, unit, room = parts
            key = "room"
    if is_blank(building) and is_blank(room):
        parts = address_parts(row.cells.get("address")) if not is_blank(row.cells.get("address")) else None
        if not parts:
            return None
        building, unit, room = parts
        key = "address"
    if is_blank(building):
        row.add("room", _("Give the building as well as the room."), "no_building")
        return None
    if is_blank(room):
        row.add(
            "building" if key == "building" else key, _("Give the room as well as the building."), "no_room"
        )
        return None
    buildings = index.load().find_buildings(building, row.cells.get("estate"))
    if not buildings:
        row.add(
            key,
            _("No building %(b)s is registered in this region: import the houses first.")
            % {"b": cell_text(building)},
            "unknown_building",
        )
        return None
    if len(buildings) > 1:
        row.add(
            key,
            _("Several buildings of this region are numbered %(b)s: add the estate (小区) column.")
            % {"b": cell_text(building)},
            "ambiguous_building",
        )
        return None
    house = index.find_house(buildings[0], unit, room)
    if house is None:
        row.add(
            "room" if key == "building" else key,
            _("No house %(where)s is registered in this region: import the houses first.")
            % {"where": _place_text(building, unit, room)},
            "unknown_house",
        )
    return house
