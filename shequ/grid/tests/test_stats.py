"""Statistics on a small hand-made set: every expected number below is worked out by hand from
the timestamps written here, not computed by the code under test.

The set (March 2026, "now" is 1 April 12:00 Beijing time):

====  ========  ======================  ================  ============================================
 no.  where     category                submitted         what happened
====  ========  ======================  ================  ============================================
 T1   grid A    security.public_order   03-02 09:00       answered 10:00 (due 21:00), police accepted
                                                          11:00 (due 22:00), resolved 03-05 09:00
                                                          (due 03-10), closed, rated 5
 T2   grid B    environment.garbage     03-03 08:00       answered 03-05 08:00 (due 03-04 08:00: late),
                                                          resolved by the community 03-09 08:00 (due
                                                          03-08: late), closed, rated 3
 T3   comm. B   environment.noise       03-10 10:00       never answered, due 03-11 10:00: overdue
 T4   grid A    security.public_order   03-20 10:00       answered 11:00 (due 03-21 00:00), pushed to
                                                          the police 12:00, returned 18:00, accepted
                                                          again by the community; resolution due 04-05
 T5   grid A    security.public_order   03-31 23:30       merged into T4
 T6   grid A    security.public_order   02-28 23:59       outside the period
 T7   other     environment.noise       03-05 10:00       another street: outside the area
====  ========  ======================  ================  ============================================
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from shequ.conftest import World
from shequ.grid import stats, stats_rollup
from shequ.grid.models import Dispatch, Status, Ticket
from shequ.grid.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B, category, new_ticket

STREET = "430104002"
TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 4, 1, 12, 0, tzinfo=TZ)
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def make(world: World, grid: str, code: str, **fields: Any) -> Ticket:
    ticket = new_ticket(world, grid=grid, code=code)
    Ticket.objects.filter(pk=ticket.pk).update(
        **{"response_due_at": None, "resolve_due_at": None, "due_at": None, "warn_at": None, **fields}
    )
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def cohort(world: World) -> dict[str, Ticket]:
    police = world.department
    t1 = make(
        world,
        GRID_A,
        "security.public_order",
        status=Status.CLOSED,
        submitted_at=at(3, 2, 9),
        response_due_at=at(3, 2, 21),
        responded_at=at(3, 2, 10),
        resolve_due_at=at(3, 10),
        resolved_at=at(3, 5, 9),
        closed_at=at(3, 6),
        rating=5,
        department=police,
    )
    Dispatch.objects.create(
        ticket=t1,
        department=police,
        dispatched_at=at(3, 2, 10),
        response_due_at=at(3, 2, 22),
        resolve_due_at=at(3, 10),
        accepted_at=at(3, 2, 11),
        resolved_at=at(3, 5, 9),
    )
    t2 = make(
        world,
        GRID_B,
        "environment.garbage",
        status=Status.CLOSED,
        submitted_at=at(3, 3, 8),
        response_due_at=at(3, 4, 8),
        responded_at=at(3, 5, 8),
        resolve_due_at=at(3, 8),
        resolved_at=at(3, 9, 8),
        closed_at=at(3, 10),
        rating=3,
    )
    t3 = make(
        world,
        COMMUNITY_B,
        "environment.noise",
        status=Status.SUBMITTED,
        submitted_at=at(3, 10, 10),
        response_due_at=at(3, 11, 10),
        due_at=at(3, 11, 10),
    )
    t4 = make(
        world,
        GRID_A,
        "security.public_order",
        status=Status.ACCEPTED,
        submitted_at=at(3, 20, 10),
        responded_at=at(3, 20, 11),
        response_due_at=at(3, 21),
        resolve_due_at=at(4, 5),
        due_at=at(4, 5),
    )
    Dispatch.objects.create(
        ticket=t4,
        department=police,
        dispatched_at=at(3, 20, 12),
        response_due_at=at(3, 21),
        resolve_due_at=at(4, 5),
        returned_at=at(3, 20, 18),
        return_reason="不属于本所职责",
        is_current=False,
    )
    t5 = make(
        world,
        GRID_A,
        "security.public_order",
        status=Status.MERGED,
        parent=t4,
        submitted_at=at(3, 31, 23, 30),
        closed_at=at(3, 31, 23, 40),
    )
    t6 = make(world, GRID_A, "security.public_order", submitted_at=at(2, 28, 23, 59))
    t7 = make(world, "430104003001", "environment.noise", submitted_at=at(3, 5, 10))
    stats_rollup.rebuild()  # the set was written past the services
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "t7": t7}


def query(code: str = STREET, **extra: Any) -> stats.StatsQuery:
    return stats.StatsQuery(region_code=code, start=MARCH[0], end=MARCH[1], **extra)


def test_street_totals(cohort: dict[str, Ticket]) -> None:
    with timezone.override("Asia/Shanghai"):
        f = stats.total(query(), now=NOW)
    assert f.submitted == 5
    assert f.by_status == {"closed": 2, "submitted": 1, "accepted": 1, "merged": 1}
    assert (f.resolved, f.closed, f.open, f.overdue) == (2, 2, 2, 1)
    # Decided responses: T1 (on time), T2 (late), T3 (deadline passed), T4 (on time).
    assert (f.response_on_time, f.response_due, f.response_rate) == (2, 4, 0.5)
    # Decided resolutions: T1 (on time), T2 (late); T4's deadline is still ahead.
    assert (f.resolve_on_time, f.resolve_due, f.resolve_rate) == (1, 2, 0.5)
    assert f.response_hours == pytest.approx((1 + 48 + 1) / 3)
    assert f.resolve_hours == pytest.approx((72 + 144) / 2)
    assert (f.rated, f.good, f.good_share, f.rating) == (2, 1, 0.5, 4.0)


def test_by_region_is_one_level_down(cohort: dict[str, Ticket]) -> None:
    rows = stats.by_region(query(), now=NOW)
    assert [(r.key, r.label, r.submitted) for r in rows] == [
        (COMMUNITY_A, "枇杷塘社区", 4),
        (COMMUNITY_B, "泽盛社区", 1),
    ]
    a, b = rows
    assert (a.response_on_time, a.response_due, a.overdue) == (2, 3, 0)
    assert (b.response_on_time, b.response_due, b.overdue) == (0, 1, 1)
    grids = stats.by_region(query(COMMUNITY_A), now=NOW)
    assert [(r.key, r.submitted) for r in grids] == [(GRID_A, 3), (GRID_B, 1)]
    assert stats.by_region(query(GRID_A), now=NOW) == []


def test_by_category_main_types_then_leaves(cohort: dict[str, Ticket]) -> None:
    level, rows = stats.by_category(query(), now=NOW)
    assert level == "main"
    assert [(r.label, r.submitted) for r in rows] == [("治安防控", 3), ("环境卫生", 2)]
    level, rows = stats.by_category(query(category=category("environment")), now=NOW)
    assert level == "leaf"
    assert [(r.label, r.submitted) for r in rows] == [("垃圾清运", 1), ("噪音扰民", 1)]
    only_noise = stats.total(query(category=category("environment.noise")), now=NOW)
    assert (only_noise.submitted, only_noise.overdue) == (1, 1)


def test_department_rates_from_its_dispatches(world: World, cohort: dict[str, Ticket]) -> None:
    (police,) = stats.by_department(query(), now=NOW)
    assert police.label == world.department.name
    assert (police.dispatched, police.accepted, police.returned, police.resolved) == (2, 1, 1, 1)
    assert (police.open, police.overdue) == (0, 0)
    # T1 accepted 1 h after the push, T4 returned after 6 h: both before their deadlines.
    assert (police.response_on_time, police.response_due) == (2, 2)
    assert police.response_hours == pytest.approx(3.5)
    # Only T1 stayed with the police: resolved 71 h after the push, on time.
    assert (police.resolve_on_time, police.resolve_due, police.resolve_hours) == (1, 1, pytest.approx(71))
    assert (police.rated, police.good, police.rating) == (1, 1, 5.0)


def test_department_view_counts_only_its_tickets(world: World, cohort: dict[str, Ticket]) -> None:
    f = stats.total(query(department_ids=(world.department.pk,)), now=NOW)
    assert f.submitted == 2 and f.by_status == {"closed": 1, "accepted": 1}


def test_days_cover_the_period_in_local_time(cohort: dict[str, Ticket]) -> None:
    days = stats.by_day(query(), now=NOW)
    assert len(days) == 31
    counts = {d.key: d.submitted for d in days if d.submitted}
    assert [d.resolved for d in days if d.resolved] == [1, 1]  # T1 and T2 (by day of submission)
    assert counts == {"2026-03-02": 1, "2026-03-03": 1, "2026-03-10": 1, "2026-03-20": 1, "2026-03-31": 1}


def test_report_runs_a_fixed_number_of_queries(
    cohort: dict[str, Ticket], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        report = stats.report(query(), now=NOW)
    assert report.total.submitted == 5 and report.area == "岳麓区 › 岳麓街道"


def test_area_figures_are_the_sum_of_its_regions(cohort: dict[str, Ticket]) -> None:
    """The report adds the regions up instead of scanning again: the same figures as the area's own
    query, weighted averages included."""
    summed = stats.combine(stats.by_region(query(), now=NOW))
    direct = stats.total(query(), now=NOW)
    assert summed.by_status == direct.by_status
    for name in stats.COUNTS:
        assert getattr(summed, name) == getattr(direct, name), name
    assert summed.response_hours == pytest.approx(direct.response_hours)
    assert summed.resolve_hours == pytest.approx(direct.resolve_hours)
    assert summed.rating == pytest.approx(direct.rating)
    grid = stats.report(query(GRID_A), now=NOW)  # a grid has no regions below: its own query
    assert grid.regions == [] and grid.total.submitted == 3


def test_empty_period_gives_no_rates(cohort: dict[str, Ticket]) -> None:
    f = stats.total(stats.StatsQuery(region_code=STREET, start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31)))
    assert f.submitted == 0 and f.response_rate is None and f.rating is None and f.response_hours is None
    with pytest.raises(ValueError):
        stats.StatsQuery(region_code=STREET, start=MARCH[1], end=MARCH[0])
