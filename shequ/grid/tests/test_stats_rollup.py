"""The statistics rollup gives the live report's figures: after random lives of tickets through the
real services (several days, regions, categories and departments; merges, returns, reopening and
supervision, closing unrated ones), at the time they end and with ``now`` moved on (what is overdue
changes); after finished tickets written past the services (their deadlines undecided) and a
rebuild; and the refresh is part of the step's transaction."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import random
import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from django.utils import timezone

from shequ.conftest import World
from shequ.core.models import Department
from shequ.grid import services, stats, stats_rollup
from shequ.grid.models import (
    Dispatch,
    DispatchDay,
    Extension,
    ExtensionStatus,
    Source,
    Status,
    Ticket,
    TicketAction,
    TicketDay,
)
from shequ.grid.services import Decision
from shequ.grid.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B, category

pytestmark = pytest.mark.django_db

STREET = "430104002"
TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
CATEGORIES = ["security.public_order", "environment.garbage", "environment.noise"]
REGIONS = [GRID_A, GRID_B, COMMUNITY_B, "430104002003001", COMMUNITY_A]


def assert_same(rolled: Any, live: Any, where: str = "") -> None:
    """Every figure equal (times and ratings to a microsecond's rounding)."""
    a, b = dataclasses.asdict(rolled), dataclasses.asdict(live)
    assert a.keys() == b.keys()
    for name, value in b.items():
        other = a[name]
        if isinstance(value, float) or isinstance(other, float):
            assert other is not None and value is not None, f"{where}.{name}: {other} vs {value}"
            assert math.isclose(other, value, rel_tol=1e-9, abs_tol=1e-6), (
                f"{where}.{name}: {other} vs {value}"
            )
        else:
            assert other == value, f"{where}.{name}: {other} vs {value}"


def assert_reports_equal(query: stats.StatsQuery, now: dt.datetime) -> stats.Report:
    rolled = stats.report(query, now=now)
    live = stats.report(query, now=now, live=True)
    where = f"{query.region_code} {query.start}–{query.end} {query.category}"
    assert_same(rolled.total, live.total, f"{where} total")
    for name in ("regions", "categories", "days", "departments"):
        got, want = getattr(rolled, name), getattr(live, name)
        assert [r.key for r in got] == [r.key for r in want], f"{where} {name}"
        for g, w in zip(got, want, strict=True):
            assert_same(g, w, f"{where} {name} {w.key}")
    assert rolled.category_level == live.category_level and rolled.area == live.area
    return live


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(services._common, "_now", c)
    return c


@pytest.fixture
def urban(world: World) -> Department:
    return Department.objects.create(
        code="urban", name="城管中队", kind="urban", region=world.regions["430104"], region_code="430104"
    )


def _submit(world: World, rng: random.Random, clock: Clock) -> Ticket:
    resident = rng.random() < 0.4
    region = GRID_A if resident else rng.choice(REGIONS)
    code = rng.choice([*CATEGORIES, None]) if not resident else None
    return services.ticket_submit(
        actor=world["resident"] if resident else None,
        source=Source.RESIDENT if resident else Source.HOTLINE,
        region=world.regions[region],
        title="路灯不亮",
        description="3栋旁边的路灯一个星期没亮了。",
        category=code,
        submitted_at=clock.now,
    )


def _step(
    world: World, rng: random.Random, ticket: Ticket, others: list[Ticket], depts: list[Department]
) -> None:
    """One legal step of ``ticket``'s life, chosen at random (refusals are fine and change nothing)."""
    t = Ticket.objects.get(pk=ticket.pk)
    s = t.status
    cat = rng.choice(CATEGORIES)
    try:
        if rng.random() < 0.1:  # a note, in any state (finished ones too): counts nothing
            services.ticket_comment(actor=None, ticket=t, text="已电话回访。")
        for ext in Extension.objects.filter(ticket=t, status=ExtensionStatus.PENDING):
            if rng.random() < 0.3:  # a late decision: refused once the ticket is resolved
                with contextlib.suppress(ValidationError):
                    services.extension_decide(actor=None, extension=ext, approve=True)
        if s == Status.SUBMITTED:
            choice = rng.choice(["accept", "accept", "close_on_spot", "merge"])
            if choice == "accept":
                services.ticket_accept(actor=None, ticket=t, category=cat)
            elif choice == "close_on_spot":
                services.ticket_close_on_spot(actor=None, ticket=t, result="已当场处理。", category=cat)
            else:
                into = [o for o in others if o.pk != t.pk and o.region_code[:12] == t.region_code[:12]]
                if into:
                    services.ticket_merge(actor=None, ticket=t, into=rng.choice(into))
        elif s == Status.ACCEPTED:
            choice = rng.choice(["dispatch", "dispatch", "handle", "close_on_spot"])
            if choice == "dispatch":
                services.ticket_dispatch(actor=None, ticket=t, department=rng.choice(depts))
            elif choice == "handle":
                services.ticket_handle(actor=None, ticket=t, result="社区已处理。")
            else:
                services.ticket_close_on_spot(actor=None, ticket=t, result="已当场处理。")
        elif s == Status.DISPATCHED:
            if rng.random() < 0.25:
                services.ticket_department_return(actor=None, ticket=t, reason="不属于本部门。")
            else:
                services.ticket_department_accept(actor=None, ticket=t)
        elif s in (Status.DEPT_ACCEPTED, Status.IN_PROGRESS):
            choice = rng.choice(["respond", "resolve", "resolve", "return", "extend"])
            if choice == "respond":
                services.ticket_respond(actor=None, ticket=t, comment="正在处理。")
            elif choice == "extend":
                ext = services.extension_request(
                    actor=None, ticket=t, days=rng.randint(1, 5), reason="等配件。"
                )
                if rng.random() < 0.5:
                    approve = rng.random() < 0.7
                    services.extension_decide(actor=None, extension=ext, approve=approve, comment="不同意。")
            elif choice == "resolve":
                services.ticket_resolve(actor=None, ticket=t, result="已处理完毕。")
            else:
                services.ticket_department_return(actor=None, ticket=t, reason="不属于本部门。")
        elif s == Status.RESOLVED:
            if t.reporter_user_id and rng.random() < 0.4:
                services.ticket_rate(
                    actor=world["resident"], ticket=t, rating=rng.randint(1, 5), comment="一般"
                )
            else:
                services.ticket_verify(actor=None, ticket=t, passed=rng.random() < 0.8, comment="还有问题。")
        elif s == Status.VERIFIED:
            if rng.random() < 0.6:
                services.ticket_rate(
                    actor=world["resident"], ticket=t, rating=rng.randint(1, 5), comment="一般"
                )
        elif s == Status.REOPENED:
            decision = rng.choice([Decision.REDISPATCH, Decision.REDISPATCH, Decision.RETURN, Decision.CLOSE])
            department = rng.choice(depts) if decision == Decision.REDISPATCH else None
            services.ticket_supervise(
                actor=None, ticket=t, decision=decision, comment="督办。", department=department
            )
    except ValidationError:  # not allowed in this state or for this pair: nothing changed
        pass


def _queries(start: dt.date, end: dt.date) -> list[stats.StatsQuery]:
    out = []
    for code in ("430104", STREET, COMMUNITY_A, COMMUNITY_B, GRID_A):
        out.append(stats.StatsQuery(region_code=code, start=start, end=end))
    for cat in ("security", "environment", "environment.noise"):
        out.append(stats.StatsQuery(region_code=STREET, start=start, end=end, category=category(cat)))
    middle = start + (end - start) / 2
    out.append(stats.StatsQuery(region_code=STREET, start=middle, end=end))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 6])
def test_rollup_report_equals_live_after_random_lives(
    world: World, urban: Department, clock: Clock, seed: int
) -> None:
    rng = random.Random(seed)
    depts = [world.department, urban]
    made: list[Ticket] = []
    for _ in range(240):
        clock.now += dt.timedelta(hours=rng.uniform(0.5, 4))
        unfinished = list(Ticket.objects.exclude(status__in=[Status.CLOSED, Status.MERGED]).order_by("pk"))
        if len(unfinished) < 3 or rng.random() < 0.2:
            made.append(_submit(world, rng, clock))
        else:
            _step(world, rng, rng.choice(unfinished), made, depts)
        if rng.random() < 0.02:
            services.close_unrated(now=clock.now + dt.timedelta(days=8))
    actions = set(TicketAction.objects.values_list("action", flat=True))
    assert {"close_on_spot", "merge", "dept_return", "rate", "verify"} <= actions, actions
    assert {"supervise_close", "supervise_return", "supervise_redispatch", "close_unrated"} & actions
    assert {"request_extension", "comment"} <= actions and {"approve_extension", "reject_extension"} & actions
    assert TicketDay.objects.filter(closed__gt=0).exists() and DispatchDay.objects.exists()
    assert stats_rollup.check() == []
    start = START.date()
    end = clock.now.astimezone(TZ).date()
    for later in (dt.timedelta(0), dt.timedelta(hours=20), dt.timedelta(days=30)):
        now = clock.now + later
        for query in _queries(start, end):
            live = assert_reports_equal(query, now)
        assert live.total.submitted > 0
    # A rebuild gives the rows the steps left.
    before = sorted(TicketDay.objects.filter(submitted__gt=0).values_list(*stats_rollup.TICKET_FIELDS))
    stats_rollup.rebuild()
    assert sorted(TicketDay.objects.values_list(*stats_rollup.TICKET_FIELDS)) == before
    assert stats_rollup.check() == []


def noise(world: World, grid: str, at: dt.datetime) -> Ticket:
    """A hotline report of night-time construction noise in ``grid`` at ``at``."""
    return services.ticket_submit(
        actor=None,
        source=Source.HOTLINE,
        region=world.regions[grid],
        title="噪音",
        description="夜间施工。",
        category="environment.noise",
        submitted_at=at,
    )


def test_finished_tickets_with_undecided_deadlines_are_counted_live(world: World, clock: Clock) -> None:
    """Bulk loads can write a closed ticket that was never answered, its response due tomorrow, or
    a push never accepted: their rates depend on ``now``, so the rollup leaves them to the live part."""
    a = noise(world, GRID_A, clock.now)
    b = noise(world, GRID_B, clock.now)
    services.ticket_accept(actor=None, ticket=b)
    services.ticket_dispatch(actor=None, ticket=b, department=world.department)
    Ticket.objects.filter(pk__in=[a.pk, b.pk]).update(status=Status.CLOSED, closed_at=clock.now)
    stats_rollup.rebuild()
    assert TicketDay.objects.get(region_code="430104", category_key=stats_rollup.ALL).pending == 2
    assert (
        TicketDay.objects.filter(pending__gt=0, region_code__in=[GRID_A, GRID_B], category_key__gt=0).count()
        == 2
    )
    day = clock.now.astimezone(TZ).date()
    query = stats.StatsQuery(region_code=STREET, start=day, end=day)
    for later in (dt.timedelta(hours=1), dt.timedelta(days=40)):
        live = assert_reports_equal(query, clock.now + later)
    assert live.total.closed == 2 and live.total.response_due == 2
    assert Dispatch.objects.filter(ticket=b).count() == 1 and live.departments[0].response_due == 1


def test_refresh_is_part_of_the_step(world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after the status change rolls the rollup back with the ticket."""
    ticket = noise(world, GRID_A, clock.now)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(services._common, "emit", fail)
    with pytest.raises(RuntimeError):
        services.ticket_close_on_spot(actor=None, ticket=ticket, result="已处理。")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.SUBMITTED
    assert not TicketDay.objects.exists()
    monkeypatch.undo()
    monkeypatch.setattr(services._common, "_now", clock)
    services.ticket_close_on_spot(actor=None, ticket=ticket, result="已处理。")
    # Under its grid, community, street and county; of its category and of all.
    assert TicketDay.objects.count() == 8
    row = TicketDay.objects.get(region_code=GRID_A, category_key=category("environment.noise").pk)
    assert (row.submitted, row.closed, row.resolved) == (1, 1, 1)
    county = TicketDay.objects.get(region_code="430104", category_key=stats_rollup.ALL)
    assert (county.submitted, county.closed, county.resolved) == (1, 1, 1)


def test_rollup_command_rebuilds_and_checks(
    world: World, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = noise(world, GRID_A, clock.now)
    services.ticket_close_on_spot(actor=None, ticket=ticket, result="已处理。")
    call_command("grid", "rollup", "--check")
    assert "rollup matches" in capsys.readouterr().out
    # Written past the services: the check finds the stale row, a rebuild mends it.
    Ticket.objects.filter(pk=ticket.pk).update(rating=5)
    with pytest.raises(CommandError, match="8 rows"):
        call_command("grid", "rollup", "--check")
    assert "rated 0 ≠ 1" in capsys.readouterr().out
    call_command("grid", "rollup", "--rebuild")
    assert "8 ticket rows, 0 department rows" in capsys.readouterr().out
    call_command("grid", "rollup", "--check")
    assert set(TicketDay.objects.values_list("good", flat=True)) == {1}


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="concurrent writers need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_keep_the_rollup_exact(world: World) -> None:
    """Six tickets of one key finished at the same moment in six connections, the key's rows
    existing already. (The services' audit chain serializes their steps today; the refresh does
    not count on it.) Each refresh locks the rows before recomputing them, so none overwrites
    another's count with a total that misses the other's ticket."""
    made = [
        services.ticket_submit(
            actor=None,
            source=Source.HOTLINE,
            region=world.regions[GRID_A],
            title="噪音",
            description="夜间施工。",
            category="environment.noise",
        )
        for _ in range(7)
    ]
    services.ticket_close_on_spot(actor=None, ticket=made.pop(), result="已处理。")
    start = threading.Barrier(len(made))
    errors: list[BaseException] = []

    def finish(ticket: Ticket) -> None:
        try:
            start.wait()
            with transaction.atomic():
                now = timezone.now()
                Ticket.objects.filter(pk=ticket.pk).update(
                    status=Status.CLOSED, responded_at=now, resolved_at=now, closed_at=now
                )
                stats_rollup.refresh(ticket)
                time.sleep(0.05)  # hold the transaction open a little, as a step's later writes do
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finish, args=(t,)) for t in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stats_rollup.check() == []
    row = TicketDay.objects.get(region_code="430104", category_key=stats_rollup.ALL)
    assert (row.submitted, row.closed) == (7, 7)


@pytest.mark.django_db(transaction=True)
def test_a_ticket_finishing_during_a_report_is_counted_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollup part and the live part read one snapshot: a ticket closed by another connection
    between them is counted as it stood in one of them (here: still open), never in neither."""
    now = timezone.now()
    done = noise(world, GRID_A, now)
    services.ticket_close_on_spot(actor=None, ticket=done, result="已处理。")
    closing = noise(world, GRID_A, now)
    day = timezone.localdate(now)
    query = stats.StatsQuery(region_code=STREET, start=day, end=day)
    errors: list[BaseException] = []

    def close_elsewhere() -> None:
        try:
            services.ticket_close_on_spot(
                actor=None, ticket=Ticket.objects.get(pk=closing.pk), result="已处理。"
            )
        except BaseException as exc:  # SQLite: waits for the report's lock, or gives up; reported below
            errors.append(exc)
        finally:
            connections.close_all()

    real_tickets = stats.tickets
    other = threading.Thread(target=close_elsewhere)

    def tickets(q: stats.StatsQuery) -> Any:
        # Called between the rollup part and the live part: the other connection closes the open
        # ticket now and, where nothing holds it off, commits before the live part reads.
        if not other.is_alive() and other.ident is None:
            other.start()
            other.join(timeout=1.5)
        return real_tickets(q)

    monkeypatch.setattr(stats, "tickets", tickets)
    report = stats_rollup.report(query)
    other.join(timeout=30)
    assert other.ident is not None and not other.is_alive()
    assert report.total.submitted == 2, report.total
    assert report.total.closed + report.total.open == 2, report.total
    assert all("locked" in str(e) for e in errors), errors


def test_steps_that_count_nothing_do_not_refresh_the_rollup(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = noise(world, GRID_A, clock.now)
    services.ticket_close_on_spot(actor=None, ticket=ticket, result="已处理。")
    refreshed: list[int] = []
    monkeypatch.setattr(stats_rollup, "refresh", lambda t: refreshed.append(t.pk))
    services.ticket_comment(actor=world["worker_a"], ticket=ticket, text="已电话回访。")
    assert refreshed == []
