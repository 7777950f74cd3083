"""Filling: seeded templates are valid and filled for every community in grouped queries, numbers
match the base data, and the drill-down behind every computed cell lists exactly the rows counted."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shequ.core.components import stats_all
from shequ.registry import services as registry
from shequ.registry.models import Person, VisitPurpose
from shequ.registry.tests.conftest import (  # noqa: F401 - fixtures
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    Registry,
    _fast_password_hasher,
    reg,
)
from shequ.reports.definitions import parse
from shequ.reports.handlers import fill_due
from shequ.reports.models import InstanceStatus, ReportInstance, ReportTemplate
from shequ.reports.seeds import TEMPLATES
from shequ.reports.selectors_reports import cell_records, table
from shequ.reports.services import fill_period, seed_templates
from shequ.reports.tests.test_ledgers_pages import Populate

STREET = "430104002"
COUNTY = "430104"


@pytest.fixture
def seeded(db: None) -> dict[str, ReportTemplate]:
    seed_templates()
    return {t.key: t for t in ReportTemplate.objects.filter(active=True)}


@pytest.fixture
def populated(reg: Registry) -> Populate:  # noqa: F811
    filler = Populate(reg)
    filler.add(2)
    # Two visits to an elderly person living alone (who is also a veteran), this month.
    alone = Person.objects.filter(tags__category__code="living_alone", region_code__startswith=GRID_A).first()
    for _ in range(2):
        registry.visit_record(
            actor=reg.world["grid_a"], person=alone, purpose=VisitPurpose.CARE, notes="走访"
        )
    return filler


def today() -> date:
    return timezone.localdate()


def test_seeds_are_valid_idempotent_and_numerous(seeded: dict[str, ReportTemplate]) -> None:
    assert len(seeded) == len(TEMPLATES) >= 10
    for template in seeded.values():
        definition = parse(template.definition)
        assert template.number.startswith("湘社区统")
        assert any(row.ratio for row in definition.rows), template.key
        assert any(row.manual for row in definition.rows), template.key
    assert seed_templates() == 0
    assert ReportTemplate.objects.count() == len(seeded)


def test_fill_writes_every_community_and_levels_above(
    seeded: dict[str, ReportTemplate], populated: Populate
) -> None:
    template = seeded["community_basic"]
    written = fill_period(template=template, period_start=today())
    # 3 communities, 2 streets, 1 county (the receiving level).
    assert written == 6
    a = ReportInstance.objects.get(template=template, region_code=COMMUNITY_A)
    assert a.status == InstanceStatus.DRAFT and a.level == "community"
    assert a.values["residents:total"] == a.values["residents:male"] + a.values["residents:female"]
    assert a.values["elderly:total"] == 6  # 老人, 空巢, 特困 ×2 (born 1940)
    assert a.values["rented:total"] == 2
    assert a.values["elderly_ratio:total"] == round(6 * 100 / a.values["residents:total"], 1)
    b = ReportInstance.objects.get(template=template, region_code=COMMUNITY_B)
    assert b.values["elderly:total"] == 0
    assert ReportInstance.objects.filter(template=template, level="street").count() == 2
    # Filling again refreshes without duplicates.
    assert fill_period(template=template, period_start=today()) == 6
    assert ReportInstance.objects.filter(template=template).count() == 6


def test_fill_is_grouped_not_per_community(seeded: dict[str, ReportTemplate], populated: Populate) -> None:
    template = seeded["elderly"]
    cells = len([c for c in parse(template.definition).cells() if c[0].computed])
    with CaptureQueriesContext(connection) as queries:
        fill_period(template=template, period_start=today())
    # A query (or two, for a tag defined by age) per computed cell, plus a handful of writes: the
    # number of communities does not appear.
    assert len(queries) <= 2 * cells + 15


@pytest.mark.parametrize(
    "key",
    [
        "community_basic",
        "elderly",
        "disabled",
        "floating_rental",
        "social_assistance",
        "veterans",
        "key_groups",
    ],
)
def test_drill_down_matches_every_computed_cell(
    seeded: dict[str, ReportTemplate], populated: Populate, key: str
) -> None:
    template = seeded[key]
    fill_period(template=template, period_start=today())
    viewer = populated.reg.world["head_a"]  # holds the drug_user grant (Populate)
    instance = ReportInstance.objects.get(template=template, region_code=COMMUNITY_A)
    checked = nonzero = 0
    for row in table(instance).rows:
        for cell in row.cells:
            if not cell.computed:
                continue
            stat, records = cell_records(viewer=viewer, instance=instance, cell_key=cell.key)
            rows = list(records)
            assert len(rows) == cell.value, (key, cell.key)
            assert all(stat.row(r) for r in rows)
            checked += 1
            nonzero += bool(cell.value)
    assert checked and nonzero


def test_drill_down_refuses_non_computed_cells(
    seeded: dict[str, ReportTemplate], populated: Populate
) -> None:
    template = seeded["community_basic"]
    fill_period(template=template, period_start=today())
    instance = ReportInstance.objects.get(template=template, region_code=COMMUNITY_A)
    viewer = populated.reg.world["head_a"]
    for bad in (
        "elderly_ratio:total",
        "staff",
        "staff:value",
        "nope:total",
        "households:male",
        "h_people:total",
    ):
        with pytest.raises(Http404):
            cell_records(viewer=viewer, instance=instance, cell_key=bad)


def test_fill_due_fills_current_and_previous_period(
    seeded: dict[str, ReportTemplate], populated: Populate
) -> None:
    written = fill_due(key="grid_tickets")
    assert written == 12
    starts = set(
        ReportInstance.objects.filter(template=seeded["grid_tickets"]).values_list("period_start", flat=True)
    )
    assert len(starts) == 2


def test_every_seeded_stat_exists(seeded: dict[str, ReportTemplate]) -> None:
    known = stats_all()
    for template in seeded.values():
        for row in parse(template.definition).rows:
            assert not row.stat or row.stat in known


def test_a_changed_seed_becomes_a_new_version(seeded: dict[str, ReportTemplate]) -> None:
    ReportTemplate.objects.filter(key="elderly").update(title="老年人口统计表（旧）")
    assert seed_templates() == 1
    versions = list(ReportTemplate.objects.filter(key="elderly").order_by("version"))
    assert [(t.version, t.active) for t in versions] == [(1, False), (2, True)]
    assert versions[1].title == "老年人口统计表" and versions[1].note == "官方模板更新"


def test_the_table_has_headings_cells_ratios_and_manual_rows(
    seeded: dict[str, ReportTemplate], populated: Populate
) -> None:
    template = seeded["community_basic"]
    fill_period(template=template, period_start=today())
    instance = ReportInstance.objects.get(template=template, region_code=COMMUNITY_A)
    shown = table(instance)
    assert shown.number == "湘社区统1表" and [c[1] for c in shown.columns] == ["合计", "男", "女"]
    rows = {row.key: row for row in shown.rows}
    assert rows["h_people"].heading and not rows["h_people"].cells
    assert rows["staff"].manual and rows["staff"].manual_display == "—"
    assert rows["elderly_ratio"].ratio and rows["elderly_ratio"].cells[0].display.endswith("%")
    assert [c.key for c in rows["households"].cells] == ["households:total", "", ""]
    assert rows["residents"].cells[0].computed and not rows["elderly_ratio"].cells[0].computed
