"""The standard address (标准地址): 行政区划 + 街路巷 + 门牌号 + 楼栋/单元/室.

``湖南省长沙市岳麓区岳麓街道枇杷塘社区麓山南路12号3栋2单元301室``. It is stored on buildings and
houses for search and rebuilt by the services whenever one of its parts changes. Grids are not
part of an address. The suffixes (号, 栋, 单元, 室) are data, not interface text: they are added
only when the typed value is a bare number, so ``A座`` or ``12号楼`` stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shequ.core.models import LEVEL_CODE_LENGTH, Region, RegionLevel

_BARE = re.compile(r"^[0-9A-Za-z\-]+$")
COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]


def _part(value: str, suffix: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    return f"{value}{suffix}" if _BARE.match(value) else value


def region_prefix(region_code: str, names: dict[str, str] | None = None) -> str:
    """The administrative part: the names of the regions from the province down to the community
    (a grid's own name is left out). ``names`` is an optional code → name cache for bulk work."""
    code = region_code[:COMMUNITY_LENGTH]
    codes = [code[:n] for n in LEVEL_CODE_LENGTH.values() if n <= len(code)]
    if names is None or any(c not in names for c in codes):
        found = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
        if names is not None:
            names.update(found)
        lookup = found
    else:
        lookup = names
    return "".join(lookup.get(c, "") for c in codes)


def compose(
    *,
    region_part: str,
    road: str = "",
    door_number: str = "",
    estate: str = "",
    building: str = "",
    unit: str = "",
    house: str = "",
) -> str:
    """Join the parts of an address. Without a road the estate name stands in for it (rural
    houses and estates are often known by name only)."""
    place = _part(road, "") + _part(door_number, "号") if road else (estate or "") + _part(door_number, "号")
    return region_part + place + _part(building, "栋") + _part(unit, "单元") + _part(house, "室")


def building_address(building: object, names: dict[str, str] | None = None) -> str:
    from shequ.registry.models import Building

    assert isinstance(building, Building)
    return compose(
        region_part=region_prefix(building.region_code, names),
        road=building.road.name if building.road_id else "",  # type: ignore[union-attr]
        door_number=building.door_number,
        estate=building.estate,
        building=building.number or building.name,
    )


def house_address(house: object, names: dict[str, str] | None = None) -> str:
    from shequ.registry.models import House

    assert isinstance(house, House)
    building = house.building
    return compose(
        region_part=region_prefix(building.region_code, names),
        road=building.road.name if building.road_id else "",  # type: ignore[union-attr]
        door_number=building.door_number,
        estate=building.estate,
        building=building.number or building.name,
        unit=house.unit.number if house.unit_id else "",  # type: ignore[union-attr]
        house=house.number,
    )


def standard_address(
    region_code: str,
    *,
    road: str = "",
    door_number: str = "",
    estate: str = "",
    building: str = "",
    unit: str = "",
    house: str = "",
    names: dict[str, str] | None = None,
) -> str:
    """The standard address of the given parts (for imports and previews)."""
    return compose(
        region_part=region_prefix(region_code, names),
        road=road,
        door_number=door_number,
        estate=estate,
        building=building,
        unit=unit,
        house=house,
    )


def region_names(codes: Iterable[str]) -> dict[str, str]:
    """A cache of region names for ``region_prefix`` covering the communities of ``codes``."""
    wanted: set[str] = set()
    for code in codes:
        c = code[:COMMUNITY_LENGTH]
        wanted.update(c[:n] for n in LEVEL_CODE_LENGTH.values() if n <= len(c))
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
