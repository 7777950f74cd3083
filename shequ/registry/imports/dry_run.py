"""The dry run: read the file, find the header, check every row, report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core.bulk import fork_map, fork_state, paused_gc
from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import has_perm
from shequ.core.spreadsheets import (
    HEADER_SCAN_ROWS,
    MAX_DATA_ROWS,
    Col,
    Header,
    ImportFileError,
    Problem,
    Report,
    data_rows,
    duplicates_in_file,
    exact_numbers,
    read_table,
)
from shequ.registry.imports._common import _digest, _improve_choice_errors
from shequ.registry.imports.columns import COLUMNS, find_header
from shequ.registry.imports.houses import HousePlan, _check_house, _grid_lookup
from shequ.registry.imports.organizations import _check_organization, _orgs_in_db
from shequ.registry.imports.people import _PERSON_CHOICE_FIELDS, PersonPlan, _check_person, _people_in_db
from shequ.registry.imports.places import HouseIndex, unit_key
from shequ.registry.models import (
    ImportKind,
    Unit,
)
from shequ.registry.permissions import RegistryPerm as P

# --- Using every CPU for big files --------------------------------------------------------------


def _check_people_range(span: tuple[int, int]) -> list[tuple[list[Problem], Any, PersonPlan | None]]:
    rows, exact, index, today, language = fork_state()
    out = []
    with translation.override(language):
        for row in rows[span[0] : span[1]]:
            person = _check_person(row, exact, index, today)
            _improve_choice_errors(row, _PERSON_CHOICE_FIELDS)
            out.append((row.problems, row.key, person))
    return out


# --- The dry run --------------------------------------------------------------------------------


@dataclass
class Plan:
    """A checked file: the report, and what a commit would write (valid rows only)."""

    report: Report
    region: Region
    rows: list[Any] = field(default_factory=list)


def _required_missing(header: Header, kind: str) -> list[Col]:
    keys = {c.key for c in header.columns if c.key}
    return [c for c in COLUMNS[kind] if c.required and c.key not in keys]


def check_region(*, actor: Any, region: Region, kind: str) -> None:
    """The region an import goes to: a grid or community (a street or community for houses, where
    the grid column says where new buildings go) in the importer's scope."""
    if kind not in COLUMNS:
        raise ValidationError({"kind": _("Choose what the file holds: people, houses or organizations.")})
    if region.level not in (RegionLevel.GRID, RegionLevel.COMMUNITY):
        raise ValidationError({"region": _("Choose a grid or a community.")})
    if actor is not None and not has_perm(actor, P.IMPORT, region.code):
        raise PermissionDenied(_("You may not import data into this region."))


def check(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any = None,
    sheet: str | None = None,
    today: dt.date | None = None,
    workers: int = 1,
) -> Plan:
    """The dry run: read and validate every row, against the file itself and the database. Writes
    nothing. ``workers`` > 1 validates big files in that many processes (commands and benchmarks;
    web requests keep to their own process)."""
    with paused_gc():
        return _check(
            content=content,
            filename=filename,
            kind=kind,
            region=region,
            actor=actor,
            sheet=sheet,
            today=today,
            workers=workers,
        )


def _check(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any,
    sheet: str | None,
    today: dt.date | None,
    workers: int,
) -> Plan:
    check_region(actor=actor, region=region, kind=kind)
    report = Report(kind=kind, filename=filename[:200], region_code=region.code)
    plan = Plan(report=report, region=region)
    try:
        table = read_table(content, filename, sheet)
    except ImportFileError as exc:
        report.problems.append(Problem(None, "", None, exc.message, exc.code))
        return plan
    report.sheet = table.sheet
    header = find_header(table, kind)
    if header is None:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _(
                    "No header row was found in the first %(n)d rows: the columns need names such as "
                    "%(names)s."
                )
                % {
                    "n": HEADER_SCAN_ROWS,
                    "names": "、".join(str(c.title) for c in COLUMNS[kind] if c.required),
                },
                "no_header",
            )
        )
        return plan
    report.header_rows = [table.row_number(r) for r in header.rows]
    report.columns = [
        {
            "col": c.index,
            "title": c.title,
            "field": c.key,
            "label": str(next((col.title for col in COLUMNS[kind] if col.key == c.key), "")),
        }
        for c in header.columns
    ]
    missing = _required_missing(header, kind)
    for col in missing:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _("The file has no “%(title)s” column (also recognised: %(names)s).")
                % {"title": str(col.title), "names": "、".join(col.synonyms[:4])},
                "missing_column",
            )
        )
    if missing:
        return plan
    today = today or timezone.localdate()
    rows = list(data_rows(table, header, report))
    report.data_rows = len(rows)
    if len(rows) > MAX_DATA_ROWS:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _("The sheet has more than %(n)d rows: split it into several files.") % {"n": MAX_DATA_ROWS},
                "too_many_rows",
            )
        )
        return plan
    index = HouseIndex(region.code)
    plans: dict[int, Any] = {}
    if kind == ImportKind.PEOPLE:
        exact: dict[int, Any] = {}
        id_cols = header.by_key().get("id_number", [])
        for column in id_cols:
            if any(
                isinstance(r.cells.get("id_number"), float) and r.cells["id_number"] >= 1e15 for r in rows
            ):
                exact.update(exact_numbers(table, column.index))
                break
        index.load()  # before any fork: workers share it
        state = (rows, exact, index, today, translation.get_language())
        for (start, _stop), results in fork_map(_check_people_range, state, len(rows), workers):
            for row, (problems, key, person) in zip(rows[start:], results, strict=False):
                row.problems, row.key = problems, key
                if person is not None:
                    plans[row.number] = person
        bad = duplicates_in_file(
            rows, "id_number", _("The same ID number is also in row %(rows)s."), "duplicate_in_file"
        )
        bad |= _people_in_db(rows, actor, plans)
    elif kind == ImportKind.HOUSES:
        grids = _grid_lookup(region)
        for row in rows:
            house = _check_house(row, region, grids, index)
            if house is not None:
                plans[row.number] = house
        bad = duplicates_in_file(
            rows, "number", _("The same house is also in row %(rows)s."), "duplicate_in_file"
        )
    else:
        for row in rows:
            org = _check_organization(row, index)
            if org is not None:
                plans[row.number] = org
        bad = duplicates_in_file(
            rows, "uscc", _("The same credit code is also in row %(rows)s."), "duplicate_in_file"
        )
        bad |= _orgs_in_db(rows, actor)
    for n in bad:
        plans.pop(n, None)
    if kind == ImportKind.PEOPLE:
        report.plan = {
            "people": len(plans),
            "residences": sum(1 for p in plans.values() if p.house is not None),
        }
    elif kind == ImportKind.HOUSES:
        report.plan = _house_counts(list(plans.values()), index)
    else:
        report.plan = {"organizations": len(plans)}
    for row in rows:
        report.problems.extend(row.problems)
    report.problems.sort(key=lambda p: (p.row or 0, p.col if p.col is not None else -1))
    valid = sorted(plans)
    report.valid_count = len(valid)
    report.valid_digest = _digest(valid)
    plan.rows = [plans[n] for n in valid]
    return plan


def _house_counts(plans: Sequence[HousePlan], index: HouseIndex) -> dict[str, int]:
    new_buildings = {p.building_ref for p in plans if p.building is None}
    units = {(p.building_ref, unit_key(p.unit_number)) for p in plans if p.unit_number}
    existing = {
        (("id", str(building_id)), unit_key(unit))
        for building_id, unit in Unit.objects.filter(
            building_id__in={p.building.pk for p in plans if p.building is not None}
        ).values_list("building_id", "number")
    }
    roads = {p.road_name for p in plans if p.road_name and p.building is None}
    return {
        "houses": len(plans),
        "buildings": len(new_buildings),
        "units": len(units - existing),
        "roads": len(roads),
    }
