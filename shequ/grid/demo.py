"""Demo tickets for 岳麓街道: a few hundred per ``size`` in every status, category and source, written
through the workflow services (each step audited, evented and on the timeline like a real one).

Texts come from the classifier corpus (``shequ/grid/data/corpus.csv``: what residents, grid
workers and 12345 operators really write, labelled with the category); without it, from the
category names and keywords. Routing rules send each category to the demo departments
(``shequ.demo.generator.DEPARTMENTS``); categories no demo department handles stay with the
community, which resolves them itself or closes them on the spot.

Time: a ticket's life is spread over the past weeks without patching the clock. Each step runs
now, through its service; before the next step everything the ticket has so far — its own
timestamps and deadlines, its timeline, its dispatches and extensions — is moved back by the gap
planned before that step (one UPDATE per table), so deadlines stay where the service put them
relative to the step that set them; after the last step the whole ticket moves back to its
planned place in the past. Open tickets whose deadlines then lie behind us are overdue, and the
escalation job run at the end supervises them one level up (督办). Audit entries keep the real
time of generation: the log records when the demo was made, not a fiction.

Deterministic for a seed (the texts, places, sources, steps and gaps; the dates move with the day
it runs). Idempotent: a street that already has tickets is left alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from shequ.core import accounts, geo, outbox
from shequ.core.models import Department, Message, Region, RegionLevel, Role, User
from shequ.core.region_shapes import shapes_of
from shequ.grid import services, stats_rollup
from shequ.grid.models import (
    OPEN_STATUSES,
    Category,
    Dispatch,
    Extension,
    Source,
    Status,
    Ticket,
    TicketAction,
    Urgency,
    UrgentAlert,
)
from shequ.grid.notices import THREAD_KIND
from shequ.grid.services import Decision

STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区: the demo accounts' community
COMMUNITY_B = "430104002003"  # 泽盛社区: head_b's
TICKETS_PER_SIZE = 300
CORPUS = Path(__file__).resolve().parent / "data" / "corpus.csv"
# Oldest ticket, in days.
MAX_AGE_DAYS = 75
# Notices older than this are marked read: the demo's people have been using the app.
READ_AFTER = dt.timedelta(days=3)

# category code (leaf or main type) → department code, and whether staff entries go straight there.
ROUTING: list[tuple[str, str, bool]] = [
    ("security", "yuelu-police", False),
    ("security.crime_clue", "yuelu-police", True),
    ("livelihood.documents", "yuelu-police", False),
    ("environment.garbage", "yuelu-urban", False),
    ("environment.greening", "yuelu-urban", False),
    ("cityscape", "yuelu-urban", False),
    ("livelihood.housing", "yuelu-housing", False),
    ("safety.building", "yuelu-housing", False),
    ("dispute.demolition", "yuelu-housing", False),
    ("special", "yuelu-civil", False),
    ("livelihood.assistance", "yuelu-civil", False),
    ("livelihood.elderly", "yuelu-civil", False),
    ("livelihood.water", "changsha-water", False),
    ("livelihood.power", "changsha-power", False),
    ("safety.electrical", "changsha-power", True),
]
# The property company serves its own community only.
PROPERTY_RULE = ("dispute.property_mgmt", "lushan-property", COMMUNITY_A)

# Extra resident accounts, so that ratings come from more than one person (no password is printed:
# they exist to own reports, not to sign in).
RESIDENTS = [
    ("demo_resident_2", "彭桂芳", COMMUNITY_A + "002"),
    ("demo_resident_3", "谭志明", COMMUNITY_A + "003"),
    ("demo_resident_4", "邓丽华", COMMUNITY_B + "001"),
    ("demo_resident_5", "易建军", COMMUNITY_B + "002"),
]

# What a ticket becomes, with weights: (end state, path).
PLANS: list[tuple[str, float]] = [
    ("submitted", 7),
    ("accepted", 5),
    ("dispatched", 7),
    ("dept_accepted", 5),
    ("in_progress", 6),
    ("extension", 2),
    ("returned", 2),
    ("resolved", 6),
    ("verified", 4),
    ("closed", 30),
    ("closed_on_spot", 8),
    ("handled", 6),
    ("reopened", 3),
    ("resupervised", 2),
    ("merged", 5),
]
SOURCES: list[tuple[str, float]] = [
    (Source.RESIDENT, 30),
    (Source.HOTLINE, 22),
    (Source.PATROL, 25),
    (Source.STAFF, 12),
    (Source.SENSOR, 4),
    (Source.OPEN311, 7),
]
SENSOR_CATEGORIES = ("safety.gas", "safety.fire", "safety.electrical")


@dataclass
class TicketSummary:
    tickets: int = 0
    seconds: float = 0.0
    skipped: bool = False
    by_status: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    escalated: int = 0
    rules: int = 0
    notices: int = 0
    notices_read: int = 0

    def line(self) -> str:
        if self.skipped:
            return "grid: the demo street already has tickets (left as they are)"
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        return (
            f"grid: {self.tickets} tickets in {self.seconds:.1f} s ({statuses}); "
            f"{self.overdue} overdue, {self.escalated} escalated; {self.rules} routing rules; "
            f"{self.notices} notices ({self.notices_read} older than {READ_AFTER.days} days marked read)"
        )


def _weighted(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    return rng.choices([k for k, _w in items], weights=[w for _k, w in items])[0]


def load_texts() -> list[tuple[str, str]]:
    """(text, leaf category code) pairs: the corpus, else made from the tree's names and keywords."""
    leaves = dict(
        Category.objects.filter(is_active=True, parent__isnull=False).values_list("code", "keywords")
    )
    texts: list[tuple[str, str]] = []
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8", newline="") as fh:
            texts = [
                (row["text"], row["category"]) for row in csv.DictReader(fh) if row["category"] in leaves
            ]
    if texts:
        return texts
    names = dict(Category.objects.filter(code__in=leaves).values_list("code", "name_zh"))
    for code, keywords in sorted(leaves.items()):
        for word in (keywords or names[code]).split():
            texts.append((f"居民反映{word}的问题，{names[code]}，请尽快处理。", code))
    return texts


def title_of(text: str) -> str:
    """The first clause, as a worker would title it (at most 20 characters)."""
    for mark in "，。！？!?；;,":
        text = text.split(mark)[0]
    text = text.removeprefix("来电人反映：").removeprefix("网格员巡查发现：").strip()
    return (text[:20] or "群众诉求").strip()


_SHIFT_SQL: dict[tuple[str, str], tuple[str, int]] = {}
_SENTINEL = dt.timedelta(microseconds=1)


def _delta_param(delta: dt.timedelta) -> Any:
    """A timedelta as the database takes it in ``column - %s`` (Django's own conversion)."""
    return delta if connection.vendor == "postgresql" else delta // _SENTINEL


def _shift_sql(model: type[models.Model], key: str, fields: tuple[str, ...]) -> tuple[str, int]:
    """``UPDATE … SET f = f - %s, … WHERE key = %s`` as Django compiles it, compiled once: the ORM
    spends most of a small update compiling the expressions, and the demo runs a thousand."""
    cache_key = (model._meta.label, connection.vendor)
    if cache_key not in _SHIFT_SQL:
        query = model._default_manager.filter(**{key: -1}).query.chain(UpdateQuery)
        assert isinstance(query, UpdateQuery)
        query.add_update_values({f: F(f) - _SENTINEL for f in fields})
        sql, params = query.get_compiler(connection.alias).as_sql()
        assert list(params) == [*[_delta_param(_SENTINEL)] * len(fields), -1], params
        _SHIFT_SQL[cache_key] = (sql, len(fields))
    return _SHIFT_SQL[cache_key]


class _Clock:
    """Moves one ticket back in time (see the module docstring).

    Between steps only the rows later steps read are moved: the ticket and its dispatches. Timeline
    entries and extension requests are only written, so each keeps the real time of the step that
    wrote it, and :meth:`finish` moves it by everything that moved the ticket after that step."""

    TICKET_FIELDS = (
        "clock_started_at",
        "warn_at",
        "due_at",
        "warned_at",
        "submitted_at",
        "response_due_at",
        "responded_at",
        "resolve_due_at",
        "resolved_at",
        "closed_at",
        "rated_at",
        "escalated_at",
        "updated_at",
    )
    DISPATCH_FIELDS = (
        "dispatched_at",
        "response_due_at",
        "resolve_due_at",
        "accepted_at",
        "responded_at",
        "resolved_at",
        "returned_at",
    )

    ALERT_FIELDS = ("raised_at", "ack_due_at", "acknowledged_at", "cleared_at")

    def __init__(self) -> None:
        self.ticket_id = 0
        # (real time a step started, how far everything since then has been moved back)
        self.marks: list[list[Any]] = []
        self.step()

    def step(self) -> None:
        self.marks.append([timezone.now(), dt.timedelta(0)])

    def back(self, delta: dt.timedelta) -> None:
        if delta <= dt.timedelta(0):
            return
        with connection.cursor() as cursor:
            for sql, fields in (
                _shift_sql(Ticket, "pk", self.TICKET_FIELDS),
                _shift_sql(Dispatch, "ticket_id", self.DISPATCH_FIELDS),
                _shift_sql(UrgentAlert, "ticket_id", self.ALERT_FIELDS),
            ):
                cursor.execute(sql, [*[_delta_param(delta)] * fields, self.ticket_id])
        for mark in self.marks:
            mark[1] += delta

    def shift_of(self, at: dt.datetime) -> dt.timedelta:
        shift = self.marks[0][1]
        for started, moved in self.marks:
            if started <= at:
                shift = moved
        return shift

    def finish(self) -> None:
        actions = list(TicketAction.objects.filter(ticket_id=self.ticket_id))
        for action in actions:
            action.at -= self.shift_of(action.at)
        TicketAction.objects.bulk_update(actions, ["at"])
        extensions = list(Extension.objects.filter(ticket_id=self.ticket_id))
        for ext in extensions:
            ext.requested_at -= self.shift_of(ext.requested_at)
            if ext.decided_at is not None:
                ext.decided_at -= self.shift_of(ext.decided_at)
        Extension.objects.bulk_update(extensions, ["requested_at", "decided_at"])


@dataclass
class _World:
    rng: random.Random
    now: dt.datetime
    grids: list[Region]
    communities: dict[str, Region]
    users: dict[str, User | None]
    residents: dict[str, User]  # grid code → resident account
    departments: dict[str, Department]
    texts: list[tuple[str, str]]
    categories: dict[str, Category]
    grids_with_residents: list[Region] = field(default_factory=list)
    hotline_seq: int = 0
    # Where tickets are (grid boundaries by code; a generator of its own, so the tickets' lives
    # stay what they were before they had points).
    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    place_rng: random.Random = field(default_factory=lambda: random.Random(0))


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _residents() -> dict[str, User]:
    """The demo resident and the extra ones, created once."""
    out: dict[str, User] = {}
    resident = _user("resident")
    if resident is not None:
        for m in resident.memberships.filter(role=Role.RESIDENT, revoked_at__isnull=True):
            out[m.region_code] = resident
    for username, name, grid_code in RESIDENTS:
        region = Region.objects.filter(code=grid_code).first()
        if region is None:
            continue
        user = _user(username)
        if user is None:
            user = accounts.user_create(actor=None, username=username, display_name=name, password=None)
            accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=region)
        out[grid_code] = user
    return out


def ensure_routing(departments: dict[str, Department]) -> int:
    """The demo street's routing rules (idempotent)."""
    street = Region.objects.get(code=STREET)
    count = 0
    rules = [(c, d, auto, street) for c, d, auto in ROUTING]
    community = Region.objects.filter(code=PROPERTY_RULE[2]).first()
    if community is not None:
        rules.append((PROPERTY_RULE[0], PROPERTY_RULE[1], False, community))
    for code, dept_code, auto, region in rules:
        category = Category.objects.filter(code=code).first()
        department = departments.get(dept_code)
        if category is None or department is None:
            continue
        services.routing_rule_set(
            actor=None, category=category, region=region, department=department, auto_dispatch=auto
        )
        count += 1
    return count


def _department_actor(w: _World, department: Department | None) -> User | None:
    if department is None:
        return None
    return {"yuelu-police": w.users.get("police"), "lushan-property": w.users.get("property")}.get(
        department.code
    )


def _community_actor(w: _World, code: str) -> User | None:
    return {COMMUNITY_A: w.users.get("worker_a"), COMMUNITY_B: w.users.get("head_b")}.get(code[:12])


def _supervisor(w: _World, code: str) -> User | None:
    return {COMMUNITY_A: w.users.get("head_a"), COMMUNITY_B: w.users.get("head_b")}.get(code[:12])


def _verifier(w: _World, code: str) -> User | None:
    return {COMMUNITY_A + "001": w.users.get("grid_a"), COMMUNITY_A + "002": w.users.get("grid_b")}.get(
        code, _community_actor(w, code)
    )


def _hours(rng: random.Random, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(hours=rng.uniform(low, high))


def _new_ticket(w: _World, plan: str) -> tuple[Ticket, list[tuple[dt.timedelta, Callable[[Ticket], Ticket]]]]:
    """Submit one ticket; return it with its remaining steps (gap before the step, the step)."""
    rng = w.rng
    source = _weighted(rng, SOURCES)
    if plan in {"closed", "reopened", "resupervised", "verified"} and rng.random() < 0.6:
        source = Source.RESIDENT  # ratings need a reporter with an account
    if plan in {"reopened", "resupervised"}:
        source = Source.RESIDENT
    if source == Source.RESIDENT:
        grid = w.grids_with_residents[rng.randrange(len(w.grids_with_residents))]
    elif source == Source.PATROL and rng.random() < 0.7:
        grid = (
            w.communities[COMMUNITY_A + "001"] if rng.random() < 0.5 else w.communities[COMMUNITY_A + "002"]
        )
    else:
        grid = w.grids[rng.randrange(len(w.grids))]
    text, code = w.texts[rng.randrange(len(w.texts))]
    if source == Source.SENSOR:
        code = SENSOR_CATEGORIES[rng.randrange(len(SENSOR_CATEGORIES))]
        text = {
            "safety.gas": "燃气报警器报警，可燃气体浓度超标",
            "safety.fire": "烟感报警器报警，疑似有烟雾",
            "safety.electrical": "电气火灾监测报警，线路温度过高",
        }[code]
    category = w.categories[code]
    kwargs: dict[str, Any] = {
        "region": grid,
        "title": title_of(text),
        "description": text,
        "source": source,
    }
    actor: User | None = None
    if source == Source.RESIDENT:
        actor = w.residents[grid.code]
    else:
        kwargs["category"] = category
    if source == Source.HOTLINE:
        w.hotline_seq += 1
        kwargs.update(
            external_ref=f"12345-{w.now:%Y}{w.hotline_seq:06d}",
            description=f"来电人反映：{text}",
            contact_name=rng.choice(["刘女士", "王先生", "陈阿姨", "李先生", "张女士", "赵师傅"]),
            contact_phone=rng.choice(["138", "139", "186", "177"]) + f"{rng.randrange(10**8):08d}",
        )
    elif source == Source.PATROL:
        actor = _verifier(w, grid.code) if grid.code.startswith(COMMUNITY_A) else None
        if actor is not None and not actor.memberships.filter(region_code=grid.code).exists():
            actor = None
        kwargs["description"] = f"网格员巡查发现：{text}"
    elif source == Source.STAFF:
        actor = _community_actor(w, grid.code)
        kwargs.update(contact_name=rng.choice(["居民来访", "周大爷", "何女士"]))
    elif source == Source.SENSOR:
        w.hotline_seq += 1
        kwargs.update(external_ref=f"sensor-{w.hotline_seq:06d}", urgency=Urgency.URGENT)
    elif source == Source.OPEN311:
        w.hotline_seq += 1
        kwargs["external_ref"] = f"open311-{w.hotline_seq:06d}"
    if source in {Source.PATROL, Source.STAFF} and rng.random() < 0.08:
        kwargs["urgency"] = Urgency.URGENT
    kwargs.update(_place(w, grid, source))
    ticket = services.ticket_submit(actor=actor, **kwargs)
    return ticket, _steps(w, ticket, plan, category)


MISPLACED_TICKETS = 0.05


def _place(w: _World, grid: Region, source: str) -> dict[str, Any]:
    """A point inside the ticket's grid; none for hotline calls (an address only), and a few in
    the street outside their grid (a wrong pin, for the maps' "outside its grid" list)."""
    shape = w.shapes.get(grid.code)
    if shape is None or source == Source.HOTLINE:
        return {}
    if w.place_rng.random() < MISPLACED_TICKETS and STREET in w.shapes:
        shape = w.shapes[STREET]
    lon, lat = geo.sample_point(shape, w.place_rng)
    return {"latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}"}


def _steps(
    w: _World, ticket: Ticket, plan: str, category: Category
) -> list[tuple[dt.timedelta, Callable[[Ticket], Ticket]]]:
    rng = w.rng
    code = ticket.region_code
    community = _community_actor(w, code)
    department = services.default_department(category, code)
    dept_actor = _department_actor(w, department)
    reporter = ticket.reporter_user
    steps: list[tuple[dt.timedelta, Callable[[Ticket], Ticket]]] = []
    # A slow hand now and then: some answers and results come after their deadlines.
    late = rng.random() < 0.2

    def add(low: float, high: float, step: Callable[[Ticket], Ticket]) -> None:
        steps.append((_hours(rng, low, high * (6 if late else 1)), step))

    alert = UrgentAlert.objects.filter(ticket=ticket).first()
    # Someone on duty acknowledged the urgent ones within minutes (the newest still wait); in the
    # communities without demo staff, the street officer who was alerted.
    acknowledger = community or w.users.get("street")
    if alert is not None and plan != "submitted" and acknowledger is not None:
        steps.append(
            (
                dt.timedelta(minutes=rng.uniform(1.5, 9)),
                lambda t: (services.alert_acknowledge(actor=acknowledger, alert=alert), t)[1],
            )
        )
    if plan == "merged":
        return steps  # merged after all the others exist (see generate_tickets)
    if plan == "submitted":
        return steps
    auto = ticket.status == Status.DISPATCHED
    if plan == "closed_on_spot" and not auto:
        add(
            0.1,
            2,
            lambda t: services.ticket_close_on_spot(
                actor=community, ticket=t, category=category, result="现场已处理，居民表示满意。"
            ),
        )
        return steps
    if not auto:
        add(0.3, 20, lambda t: services.ticket_accept(actor=community, ticket=t, category=category))
    if plan == "accepted":
        return steps
    if department is None and plan in {"dispatched", "dept_accepted", "in_progress", "extension", "returned"}:
        return steps  # nobody to dispatch to: it waits with the community
    if department is None or (plan == "handled" and not auto):
        add(4, 96, lambda t: services.ticket_handle(actor=community, ticket=t, result="社区已协调处理完毕。"))
        _finish(w, steps, add, plan if plan in {"resolved", "handled"} else "closed", reporter, code)
        return steps
    if not auto:
        add(0.1, 3, lambda t: services.ticket_dispatch(actor=community, ticket=t, department=department))
    if plan == "returned":
        add(
            1,
            20,
            lambda t: services.ticket_department_return(
                actor=dept_actor, ticket=t, reason="不属于本单位职责范围，请核实后改派。"
            ),
        )
        return steps
    if plan == "dispatched":
        return steps
    add(0.5, 20, lambda t: services.ticket_department_accept(actor=dept_actor, ticket=t, comment="已签收。"))
    if plan == "dept_accepted":
        return steps
    add(1, 30, lambda t: services.ticket_respond(actor=dept_actor, ticket=t, comment="已安排人员现场查看。"))
    if plan == "in_progress":
        return steps
    if plan == "extension":
        add(
            2,
            48,
            lambda t: _extend(t, dept_actor, _supervisor(w, code)),
        )
        return steps
    add(
        6,
        200,
        lambda t: services.ticket_resolve(actor=dept_actor, ticket=t, result="已现场处理完毕，问题已解决。"),
    )
    _finish(w, steps, add, plan, reporter, code)
    return steps


def _extend(ticket: Ticket, dept_actor: User | None, supervisor: User | None) -> Ticket:
    ext = services.extension_request(
        actor=dept_actor, ticket=ticket, days=5, reason="需协调多个单位，申请延期。"
    )
    services.extension_decide(actor=supervisor, extension=ext, approve=True, comment="同意延期。")
    return Ticket.objects.get(pk=ticket.pk)


def _finish(
    w: _World,
    steps: list[tuple[dt.timedelta, Callable[[Ticket], Ticket]]],
    add: Callable[[float, float, Callable[[Ticket], Ticket]], None],
    plan: str,
    reporter: User | None,
    code: str,
) -> None:
    """After the resolution: the check on site, the reporter's rating, supervision of bad ones."""
    rng = w.rng
    if plan in {"resolved", "handled"}:
        return
    verifier = _verifier(w, code)
    add(
        2,
        40,
        lambda t: services.ticket_verify(actor=verifier, ticket=t, passed=True, comment="现场核查属实。"),
    )
    if plan == "verified" or reporter is None:
        return
    if plan in {"reopened", "resupervised"}:
        stars = rng.choice([1, 2])
        add(
            1,
            48,
            lambda t: services.ticket_rate(
                actor=reporter, ticket=t, rating=stars, comment="问题没有真正解决。"
            ),
        )
        if plan == "resupervised":
            add(
                2,
                24,
                lambda t: services.ticket_supervise(
                    actor=_supervisor(w, code),
                    ticket=t,
                    decision=Decision.REDISPATCH if t.department_id else Decision.RETURN,
                    comment="督办：请重新处理并回复居民。",
                ),
            )
        return
    stars = rng.choices([5, 4, 3], weights=[6, 3, 1])[0]
    add(
        1,
        72,
        lambda t: services.ticket_rate(actor=reporter, ticket=t, rating=stars, comment="处理及时，谢谢。"),
    )


def _run(
    clock: _Clock,
    ticket: Ticket,
    steps: list[tuple[dt.timedelta, Callable[[Ticket], Ticket]]],
    tail: dt.timedelta,
) -> Ticket:
    """Each step now, after moving the ticket back by the gap before it; then back by ``tail``.
    (The services re-read the ticket under a lock, so the object in hand may be stale.)"""
    clock.ticket_id = ticket.pk
    for gap, step in steps:
        clock.back(gap)
        clock.step()
        ticket = step(ticket)
    clock.back(tail)
    clock.finish()
    return ticket


def _tail(rng: random.Random, elapsed: dt.timedelta, plan: str) -> dt.timedelta:
    """Time since the last step. Open tickets are mostly recent; some lie overdue for days."""
    budget = dt.timedelta(days=MAX_AGE_DAYS) - elapsed
    if budget <= dt.timedelta(0):
        return dt.timedelta(0)
    open_plan = plan in {"submitted", "accepted", "dispatched", "dept_accepted", "in_progress", "returned"}
    if open_plan:
        days = rng.uniform(3, 20) if rng.random() < 0.3 else rng.uniform(0, 0.4)
    else:
        days = rng.triangular(0, MAX_AGE_DAYS, 5)
    return min(dt.timedelta(days=days), budget)


def generate_tickets(*, size: float = 1, seed: int = 2026) -> TicketSummary:
    """``TICKETS_PER_SIZE × size`` tickets in the demo street (needs the demo's regions, accounts
    and departments: ``shequ.demo.generator.generate``)."""
    summary = TicketSummary()
    started = time.perf_counter()
    started_at = timezone.now()
    if Ticket.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True
        return summary
    rng = random.Random(seed)
    departments = {d.code: d for d in Department.objects.filter(is_active=True)}
    with transaction.atomic():
        summary.rules = ensure_routing(departments)
        residents = _residents()
    grids = list(Region.objects.filter(code__startswith=STREET, level=RegionLevel.GRID).order_by("code"))
    w = _World(
        rng=rng,
        now=timezone.now(),
        grids=grids,
        communities={r.code: r for r in Region.objects.filter(code__startswith=STREET)},
        users={
            name: _user(name)
            for name in ("worker_a", "head_a", "head_b", "grid_a", "grid_b", "street", "police", "property")
        },
        residents=residents,
        departments=departments,
        texts=load_texts(),
        categories={c.code: c for c in Category.objects.all()},
    )
    w.grids_with_residents = [r for r in grids if r.code in residents]
    w.shapes = shapes_of([STREET, *(g.code for g in grids)])
    w.place_rng = random.Random(f"{seed}:ticket-places")
    count = max(1, round(TICKETS_PER_SIZE * size))
    plans = [_weighted(rng, PLANS) for _ in range(count)]
    # Every end state at least once, whatever the draw.
    for i, (plan, _weight) in enumerate(PLANS):
        if plan not in plans and i < count:
            plans[i] = plan
    merged = [p for p in plans if p == "merged"]
    made: list[Ticket] = []
    for plan in [p for p in plans if p != "merged"]:
        with transaction.atomic():
            clock = _Clock()
            ticket, steps = _new_ticket(w, plan)
            elapsed = sum((gap for gap, _s in steps), dt.timedelta(0))
            limit = dt.timedelta(days=MAX_AGE_DAYS - 1)
            if elapsed > limit:  # a very slow life: compress it into the demo's window
                steps = [(gap * (limit / elapsed), step) for gap, step in steps]
                elapsed = limit
            made.append(_run(clock, ticket, steps, _tail(rng, elapsed, plan)))
    for _plan in merged:
        with transaction.atomic():
            _merge_one(w, made)
    escalated = services.escalate_overdue(limit=10_000)
    summary.notices, summary.notices_read = date_notices(started_at)
    # The services filed each finished ticket under the real day; the clock moved them back since.
    stats_rollup.rebuild()
    tickets = Ticket.objects.filter(region_code__startswith=STREET)
    summary.tickets = tickets.count()
    summary.by_status = Counter(tickets.values_list("status", flat=True))
    summary.by_source = Counter(tickets.values_list("source", flat=True))
    now = timezone.now()
    summary.overdue = tickets.filter(status__in=OPEN_STATUSES, due_at__lt=now).count()
    summary.escalated = escalated
    summary.seconds = time.perf_counter() - started
    return summary


def date_notices(since: dt.datetime) -> tuple[int, int]:
    """Run the worker now and date each grid notice at the step it reports.

    The steps ran now and were moved back afterwards; a notice written by the worker would carry
    the minute the demo was made (89 notices "at one minute"). Each progress notice takes the time
    of its step on the ticket's timeline (the n-th notice of a step, the n-th such step), a dispatch
    notice its dispatch's, a reminder and an escalation the ticket's; those older than
    ``READ_AFTER`` are marked read. Returns (notices dated, marked read)."""
    outbox.run_pending()
    notices = list(
        Message.objects.filter(created_at__gte=since, thread_key__startswith=f"{THREAD_KIND}:").order_by("pk")
    )
    ticket_ids = {int(m.thread_key.partition(":")[2]) for m in notices}
    steps: dict[tuple[int, str, str], list[dt.datetime]] = {}
    for ticket_id, action, to_status, step_at in (
        TicketAction.objects.filter(ticket_id__in=ticket_ids)
        .order_by("at", "pk")
        .values_list("ticket_id", "action", "to_status", "at")
    ):
        steps.setdefault((ticket_id, action, to_status), []).append(step_at)
    dispatched = dict(Dispatch.objects.filter(ticket_id__in=ticket_ids).values_list("pk", "dispatched_at"))
    tickets = {t.pk: t for t in Ticket.objects.filter(pk__in=ticket_ids).only("warned_at", "escalated_at")}
    seen: Counter[tuple[int, str]] = Counter()
    cutoff = timezone.now() - READ_AFTER
    for message in notices:
        ticket_id = int(message.thread_key.partition(":")[2])
        at: dt.datetime | None = None
        if message.topic == "grid.progress" and message.recipient_id is not None:
            _pk, action, to_status = [*message.topic_ref.split(":"), "", ""][:3]
            times = steps.get((ticket_id, action, to_status), [])
            n = seen[(message.recipient_id, message.topic_ref)]
            seen[(message.recipient_id, message.topic_ref)] += 1
            at = times[n] if n < len(times) else None
        elif message.topic == "grid.dispatch" and message.topic_ref.isdigit():
            at = dispatched.get(int(message.topic_ref))
        elif message.topic == "grid.warn":
            at = tickets[ticket_id].warned_at
        elif message.topic == "grid.escalate":
            at = tickets[ticket_id].escalated_at
        if at is not None:
            message.created_at = at
            if at < cutoff:
                message.read_at = at + dt.timedelta(hours=2)
    Message.objects.bulk_update(notices, ["created_at", "read_at"], batch_size=500)
    return len(notices), sum(1 for m in notices if m.read_at is not None)


def _merge_one(w: _World, made: list[Ticket]) -> None:
    """A duplicate of an open ticket of the same community, merged into it a little later."""
    rng = w.rng
    open_ids = list(
        Ticket.objects.filter(
            pk__in=[t.pk for t in made], status__in=[Status.SUBMITTED, Status.ACCEPTED, Status.DISPATCHED]
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not open_ids:
        return
    parent = Ticket.objects.get(pk=open_ids[rng.randrange(len(open_ids))])
    w.hotline_seq += 1
    actor = _community_actor(w, parent.region_code)
    clock = _Clock()
    duplicate = services.ticket_submit(
        actor=None,
        source=Source.HOTLINE,
        region=parent.region,
        title=parent.title,
        description=f"来电人反映：{parent.description}（重复反映）",
        external_ref=f"12345-{w.now:%Y}{w.hotline_seq:06d}",
    )
    clock.ticket_id = duplicate.pk
    # The duplicate came in a little after the parent; it is merged soon after it came.
    clock.back(_hours(rng, 0.2, 1.5))
    clock.step()
    merged_at = clock.marks[-1][0]
    services.ticket_merge(actor=actor, ticket=duplicate, into=parent)
    back = max(timezone.now() - parent.submitted_at - _hours(rng, 2, 12), dt.timedelta(0))
    clock.back(back)
    clock.finish()
    # The parent's "merged in" line moves back with the duplicate.
    TicketAction.objects.filter(ticket=parent, action="merged_in", at__gte=merged_at).update(
        at=F("at") - back
    )
