"""The audit log under concurrency (issue 7): throughput and latency of audited writes from 1–16
clients, with the new audit log, a plain-insert baseline and the old locked chain, on PostgreSQL.

Each client is a forked process (``--mode threads``: a thread of this process) with its own
database connection, acting in its own community (communities spread over four streets of one
county, or over ``--counties`` counties), like real users. An operation is one real service call in
its own transaction, like a request:

* a ticket's life (``shequ.grid.services``): the community head submits (staff source), accepts,
  dispatches to the street's police station; the station's staff member accepts, responds and
  resolves; the head verifies on site, which closes the ticket (no reporter account to rate it) and
  refreshes the statistics rollup (``stats_rollup.refresh``: the day's rows of the grid, community,
  street and county, locked ``FOR UPDATE``);
* a registry correction of a person's phone (``registry.services.person_correct``);
* audited reveals of a person's ID number and phone (``core.personal.reveal``).

Ten operations a cycle, each audited. Three variants of ``shequ.core.audit.record`` in the same run,
rounds interleaved (the order rotates every round), median of ``--rounds`` rounds of ``--seconds``:

* ``new``: the real ``audit.record`` (an unsealed INSERT, no lock) with the sealer running as in a
  worker (``audit.sealer_loop`` in a thread, every ``AUDIT_SEAL_SECONDS``);
* ``baseline``: ``audit.record`` replaced by a minimal function that inserts the same row (same
  columns and values, actor's role included) into a plain copy of the table (``LIKE … INCLUDING
  ALL``: same indexes, no triggers), no sealer;
* ``old``: the design before issue 7, re-implemented faithfully (``git show 1077859~1:shequ/core/
  audit.py``): ``pg_advisory_xact_lock`` held to COMMIT, the head read, the SM3 hash computed and
  the row inserted inside the caller's transaction, into its own copy of the table.

Printed per client count: ops/s and p95 latency per variant, and the ratios new/baseline and
old/baseline (ops/s); the clients' CPU seconds per wall second; for ``old``, the share of the
round its advisory lock was held; what the database backends were waiting for (``pg_stat_activity``
sampled every 50 ms); p50/p95 per operation at the largest client count. For ``new``:
the seal delay of every entry, ``sealed_at`` − the client's commit time of the operation that wrote
it (both clocks of this machine; ``sealed_at`` is taken when the sealer's batch starts, so add the
batch time printed next to it for the moment the seal commits). At the end: ``seal_all``,
``checkpoint(force=True)`` and ``verify()`` with its time; the witness folder is then removed.

The database (its name must start with ``shequ_bench_audit``) is dropped and created again:

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_audit \\
        .venv/bin/python bench/bench_audit.py [--clients 1,2,4,8,16] [--rounds 3] [--seconds 8] \\
        [--counties 1] [--mode processes|threads]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import queue
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")
os.environ.setdefault("SHEQU_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shequ_bench_audit")
# This run's checkpoints go to a witness folder of its own (the database is new every run).
os.environ["SHEQU_AUDIT_WITNESS_DIR"] = tempfile.mkdtemp(prefix="shequ-bench-audit-witness-")

import django

django.setup()

import bench_registry_generate as common  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from shequ.core import accounts, audit, personal  # noqa: E402
from shequ.core.models import (  # noqa: E402
    AuditEntry,
    AuditResult,
    Department,
    DepartmentKind,
    Region,
    RegionKind,
    RegionLevel,
    Role,
)
from shequ.core.permissions import primary_role  # noqa: E402
from shequ.core.validators import id_check_char  # noqa: E402
from shequ.grid import services as grid  # noqa: E402
from shequ.grid.models import Source  # noqa: E402
from shequ.registry import services as registry  # noqa: E402

VARIANTS = ("new", "baseline", "old")
OPERATIONS = (
    "submit",
    "accept",
    "dispatch",
    "dept_accept",
    "respond",
    "resolve",
    "verify",
    "correct",
    "reveal_id",
    "reveal_phone",
)
CATEGORY = "environment.garbage"
PEOPLE_PER_COMMUNITY = 10
NAMES = [s + g for s in "王李张刘陈杨赵黄周吴" for g in ("小红", "建国", "秀英", "志强", "丽华", "晓明")]
OLD_LOCK_KEY = 7_345_001  # the old design's advisory lock id
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


# --- The two copies of the audit table the other variants write ---------------------------------


def _copy_model(name: str, table: str) -> type[models.Model]:
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "core", "db_table": table, "managed": False}),
    }
    for f in AuditEntry._meta.concrete_fields:
        attrs[f.name] = f.clone()
    return type(name, (models.Model,), attrs)


PlainEntry = _copy_model("BenchAuditPlainEntry", "bench_audit_plain")
OldEntry = _copy_model("BenchAuditOldEntry", "bench_audit_old")


def create_copies() -> None:
    with connection.cursor() as cursor:
        for model in (PlainEntry, OldEntry):
            table = model._meta.db_table
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            # Same columns, indexes and identity; triggers are not copied.
            cursor.execute(f"CREATE TABLE {table} (LIKE core_auditentry INCLUDING ALL)")


REAL_RECORD = audit.record
_captured = threading.local()


def new_record(*args: Any, **kwargs: Any) -> AuditEntry:
    """The real record(); the entry's id is kept to match it with its commit time."""
    entry = REAL_RECORD(*args, **kwargs)
    _captured.ids.append(entry.pk)
    return entry


def plain_record(
    action: str,
    *,
    actor: Any = None,
    request: Any = None,
    role: str = "",
    region_code: str = "",
    object_type: str = "",
    object_id: Any = "",
    fields: list[str] | None = None,
    reason: str = "",
    result: str = AuditResult.SUCCESS,
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> Any:
    """Baseline: the same row, inserted, and nothing else."""
    if actor is not None and not role:
        role = primary_role(actor) or ""
    return PlainEntry.objects.create(
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_name=actor_name or getattr(actor, "username", "") or "",
        role=role,
        region_code=region_code,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        fields=list(fields or []),
        reason=reason,
        ip=audit.client_ip(request),
        result=result,
        detail=detail or {},
    )


def old_record(
    action: str,
    *,
    actor: Any = None,
    request: Any = None,
    role: str = "",
    region_code: str = "",
    object_type: str = "",
    object_id: Any = "",
    fields: list[str] | None = None,
    reason: str = "",
    result: str = AuditResult.SUCCESS,
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> Any:
    """The record() before issue 7 (commit 1077859~1), line for line, writing its own table."""
    if result not in AuditResult.values:
        raise ValueError(f"unknown audit result {result!r}")
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not role:
        role = primary_role(actor) or ""
    meta = AuditEntry._meta
    _text = audit._text
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [OLD_LOCK_KEY])
        if _captured.lock_at is None:  # held from here to COMMIT (measured, not part of the old code)
            _captured.lock_at = time.perf_counter()
        last = OldEntry.objects.order_by("-seq").only("seq", "hash").first()
        entry = OldEntry(
            seq=(last.seq + 1) if last else 1,
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_name=_text(
                actor_name or (getattr(actor, "username", "") if actor is not None else ""),
                meta.get_field("actor_name").max_length,
            ),
            role=_text(role, meta.get_field("role").max_length),
            region_code=_text(region_code, meta.get_field("region_code").max_length),
            action=_text(action, meta.get_field("action").max_length),
            object_type=_text(object_type, meta.get_field("object_type").max_length),
            object_id=_text(object_id, meta.get_field("object_id").max_length),
            fields=audit._json_safe([_text(f) for f in fields or []]),
            reason=_text(reason),
            ip=audit.client_ip(request),
            result=result,
            detail=audit._json_safe(detail or {}),
            prev_hash=last.hash if last else audit.GENESIS,
        )
        entry.hash = audit.chain_hash(entry.prev_hash, entry)  # type: ignore[arg-type]
        entry.save(force_insert=True)
    return entry


RECORDERS: dict[str, Callable[..., Any]] = {"new": new_record, "baseline": plain_record, "old": old_record}


# --- The world: regions, departments, accounts, people -------------------------------------------


def resident_id(birth: dt.date, seq: int = 101) -> str:
    first17 = f"430104{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


@dataclass
class Client:
    number: int
    community: Region
    grid: Region
    head: Any
    staff: Any
    department: Department
    people: list[Any]
    rng: random.Random
    step: int = 0
    ticket: Any = None

    def operations(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("submit", self.submit),
            ("accept", lambda: self._ticket(grid.ticket_accept, actor=self.head)),
            (
                "dispatch",
                lambda: self._ticket(grid.ticket_dispatch, actor=self.head, department=self.department),
            ),
            ("dept_accept", lambda: self._ticket(grid.ticket_department_accept, actor=self.staff)),
            (
                "respond",
                lambda: self._ticket(grid.ticket_respond, actor=self.staff, comment="已派民警到场查看。"),
            ),
            (
                "resolve",
                lambda: self._ticket(grid.ticket_resolve, actor=self.staff, result="已清理，恢复通行。"),
            ),
            ("verify", lambda: self._ticket(grid.ticket_verify, actor=self.head, passed=True)),
            ("correct", self.correct),
            ("reveal_id", lambda: self.reveal("id_number")),
            ("reveal_phone", lambda: self.reveal("phone")),
        ]

    def submit(self) -> None:
        self.ticket = grid.ticket_submit(
            actor=self.head,
            source=Source.STAFF,
            region=self.grid,
            title="楼道堆物",
            description="3栋2单元楼道堆满纸箱，影响通行。",
            category=CATEGORY,
        )

    def _ticket(self, func: Callable[..., Any], **kwargs: Any) -> None:
        self.ticket = func(ticket=self.ticket, **kwargs)

    def correct(self) -> None:
        person = self.people[self.rng.randrange(len(self.people))]
        registry.person_correct(
            actor=self.head,
            person=person,
            changes={"phone": f"139{self.rng.randrange(10**8):08d}"},
            reason="居民来电更正手机号",
        )

    def reveal(self, field_name: str) -> None:
        person = self.people[self.rng.randrange(len(self.people))]
        personal.reveal(actor=self.head, obj=person, field=field_name, reason="上门核实身份")


def _region(code: str, name: str, level: str, kind: str, parent: Region | None) -> Region:
    return Region.objects.create(code=code, name=name, level=level, kind=kind, parent=parent)


def build_world(n_clients: int, counties: int) -> list[Client]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # not timed here
    province = _region("43", "湖南省", RegionLevel.PROVINCE, RegionKind.PROVINCE, None)
    city = _region("4301", "长沙市", RegionLevel.CITY, RegionKind.CITY, province)
    streets_per_county = max(1, 4 // counties) if counties < 4 else 1
    clients: list[Client] = []
    county_regions: dict[str, Region] = {}
    street_regions: dict[str, tuple[Region, Department]] = {}
    born = dt.date(1950, 1, 1)
    for i in range(n_clients):
        county_code = f"4301{4 + i % counties:02d}"
        street_code = f"{county_code}{2 + (i // counties) % streets_per_county:03d}"
        community_code = f"{street_code}{1 + i:03d}"
        if county_code not in county_regions:
            county_regions[county_code] = _region(
                county_code, f"区{county_code}", RegionLevel.COUNTY, RegionKind.COUNTY, city
            )
        if street_code not in street_regions:
            street = _region(
                street_code,
                f"街道{street_code}",
                RegionLevel.STREET,
                RegionKind.STREET,
                county_regions[county_code],
            )
            dept = Department.objects.create(
                code=f"police-{street_code}",
                name=f"派出所{street_code}",
                kind=DepartmentKind.POLICE,
                region=street,
                region_code=street_code,
            )
            street_regions[street_code] = (street, dept)
        street, dept = street_regions[street_code]
        community = _region(
            community_code, f"社区{i + 1}", RegionLevel.COMMUNITY, RegionKind.COMMUNITY, street
        )
        grid_region = _region(
            f"{community_code}001", "第一网格", RegionLevel.GRID, RegionKind.GRID, community
        )
        head = accounts.user_create(
            actor=None, username=f"head{i}", display_name=f"社区主任{i}", password="Tq7!correct-Horse"
        )
        accounts.membership_grant(actor=None, user=head, role=Role.COMMUNITY_HEAD, region=community)
        staff = accounts.user_create(
            actor=None, username=f"police{i}", display_name=f"民警{i}", password="Tq7!correct-Horse"
        )
        accounts.membership_grant(
            actor=None, user=staff, role=Role.DEPARTMENT_STAFF, region=street, department=dept
        )
        road = registry.road_create(actor=None, region=community, name=f"麓山南路{i}")
        building = registry.building_create(
            actor=None,
            region=grid_region,
            data={"road": road, "door_number": "12", "number": "3", "floors": 6},
        )
        unit = registry.unit_create(actor=None, building=building, number="2")
        house = registry.house_create(
            actor=None, building=building, data={"unit": unit, "number": "301", "floor": 3, "area": "89.5"}
        )
        people = []
        for p in range(PEOPLE_PER_COMMUNITY):
            born += dt.timedelta(days=37)
            people.append(
                registry.person_register(
                    actor=None,
                    data={
                        "name": NAMES[(i * PEOPLE_PER_COMMUNITY + p) % len(NAMES)],
                        "id_number": resident_id(born),
                        "phone": "13812345678",
                    },
                    house=house,
                )
            )
        clients.append(Client(i, community, grid_region, head, staff, dept, people, random.Random(i)))
    return clients


def setup(n_clients: int, counties: int) -> list[Client]:
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("shequ_bench_audit"):
        sys.exit(f"refusing to use {name!r}: the database name must start with shequ_bench_audit")
    common.recreate_database()
    call_command("migrate", verbosity=0)
    create_copies()
    clients = build_world(n_clients, counties)
    audit.seal_all()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return clients


# --- Running rounds -------------------------------------------------------------------------------


@dataclass
class RoundResult:
    ops: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    commits: list[tuple[int, float]] = field(default_factory=list)  # (entry id, commit wall time)
    wall: float = 0.0
    cpu: float = 0.0
    lock_held: float = 0.0  # old: seconds the advisory lock was held (acquired → COMMIT), summed


class Runner:
    """One client's loop: operations back to back until the round's end, in the client's own
    thread or process (and so its own database connection)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.ops = client.operations()

    def round(self, variant: str, start_at: float, stop_at: float) -> RoundResult:
        audit.record = RECORDERS[variant]  # type: ignore[assignment]
        _captured.ids = []
        _captured.lock_at = None
        out = RoundResult()
        time.sleep(max(0.0, start_at - time.perf_counter()))
        cpu0 = time.thread_time()
        while time.perf_counter() < stop_at:
            c = self.client
            name, func = self.ops[c.step % len(self.ops)]
            _captured.ids.clear()
            _captured.lock_at = None
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    func()
            except Exception as exc:  # counted; the ticket's life starts again
                out.errors[f"{name}: {type(exc).__name__}: {str(exc)[:80]}"] += 1
                c.step = 0
                continue
            ended = time.perf_counter()
            out.latency[name].append((ended - started) * 1000)
            out.ops += 1
            if _captured.lock_at is not None:
                out.lock_held += ended - _captured.lock_at
            if variant == "new":
                wall = time.time()
                out.commits.extend((pk, wall) for pk in _captured.ids)
            c.step += 1
        out.cpu = time.thread_time() - cpu0
        return out


class ClientThread(threading.Thread):
    """A client as a thread of this process (the database calls release the GIL)."""

    def __init__(self, client: Client) -> None:
        super().__init__(daemon=True, name=f"client-{client.number}")
        self.runner = Runner(client)
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.outbox: queue.Queue[RoundResult] = queue.Queue()

    def run(self) -> None:
        while (order := self.inbox.get()) is not None:
            self.outbox.put(self.runner.round(*order))
        connection.close()

    def put(self, order: Any) -> None:
        self.inbox.put(order)

    def get(self) -> RoundResult:
        return self.outbox.get()


class ClientProcess:
    """A client as a forked process, like one web worker process (forked before any thread runs)."""

    def __init__(self, client: Client) -> None:
        self.runner = Runner(client)
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=self._main, args=(child,), daemon=True, name=f"client-{client.number}"
        )

    def start(self) -> None:
        self.process.start()

    def _main(self, pipe: Any) -> None:
        while (order := pipe.recv()) is not None:
            pipe.send(self.runner.round(*order))
        connection.close()

    def put(self, order: Any) -> None:
        self.pipe.send(order)

    def get(self) -> RoundResult:
        return self.pipe.recv()


class WaitSampler(threading.Thread):
    """What this database's busy backends wait for, every 50 ms, tagged with the current round."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="wait-sampler")
        self.tag: tuple[int, str] | None = None
        self.samples: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
        self.busy: Counter[tuple[int, str]] = Counter()
        self.ticks: Counter[tuple[int, str]] = Counter()
        self.stopped = threading.Event()

    def run(self) -> None:
        sql = """
            SELECT a.wait_event_type, a.wait_event, l.locktype, l.objid, a.query
            FROM pg_stat_activity a
            LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
              AND a.state IN ('active', 'idle in transaction') AND a.backend_type = 'client backend'
        """
        with connection.cursor() as cursor:
            while not self.stopped.wait(0.05):
                tag = self.tag
                if tag is None:
                    continue
                cursor.execute(sql)
                self.ticks[tag] += 1
                for wtype, wevent, locktype, objid, query in cursor.fetchall():
                    self.busy[tag] += 1
                    self.samples[tag][_wait_label(wtype, wevent, locktype, objid, query)] += 1
        connection.close()


_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', re.IGNORECASE)


def _wait_label(wtype: str | None, wevent: str | None, locktype: str | None, objid: Any, query: str) -> str:
    if wtype is None:
        return "running (CPU)"
    if wtype == "Client":
        return (
            "idle in transaction (waiting for its client)" if wevent == "ClientRead" else f"Client:{wevent}"
        )
    if locktype == "advisory":
        return f"Lock:advisory {objid}"
    if wtype == "Lock":
        table = _TABLE.search(query or "")
        return f"Lock:{wevent} on {table.group(1) if table else (query or '')[:40]}"
    return f"{wtype}:{wevent}"


def run_round(
    clients: list[Any], variant: str, seconds: float, sampler: WaitSampler, level: int
) -> RoundResult:
    stop_sealer = threading.Event()
    sealer = None
    if variant == "new":
        sealer = threading.Thread(
            target=audit.sealer_loop, args=(stop_sealer.is_set,), daemon=True, name="audit-sealer"
        )
        sealer.start()
    start_at = time.perf_counter() + 0.05
    stop_at = start_at + seconds
    sampler.tag = (level, variant)
    for c in clients:
        c.put((variant, start_at, stop_at))
    results = [c.get() for c in clients]
    sampler.tag = None
    out = RoundResult(wall=time.perf_counter() - start_at)
    for r in results:
        out.ops += r.ops
        out.cpu += r.cpu
        out.lock_held += r.lock_held
        out.errors.update(r.errors)
        for name, values in r.latency.items():
            out.latency[name].extend(values)
        out.commits.extend(r.commits)
    if sealer is not None:
        # Let the sealer chain this round's last entries as it would anyway, then stop it.
        deadline = time.time() + 10
        while audit.unsealed_count() and time.time() < deadline:
            time.sleep(0.05)
        stop_sealer.set()
        sealer.join()
    audit.record = REAL_RECORD  # type: ignore[assignment]
    return out


_seal_batches: list[tuple[float, int]] = []  # (ms, entries) of each batch that sealed something
_REAL_SEAL = audit.seal


def timed_seal(*, limit: int = audit.SEAL_BATCH) -> int:
    started = time.perf_counter()
    done = _REAL_SEAL(limit=limit)
    if done:
        _seal_batches.append(((time.perf_counter() - started) * 1000, done))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="1,2,4,8,16", help="client counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant and client count")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one round")
    parser.add_argument(
        "--mode",
        choices=("processes", "threads"),
        default="processes",
        help="clients as forked processes (default) or as threads of this process",
    )
    parser.add_argument(
        "--counties", type=int, default=1, help="spread the communities over this many counties"
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL: set SHEQU_DATABASE_URL")
    started = time.perf_counter()
    clients = setup(max(levels), args.counties)
    print(f"database: {settings.DATABASES['default']['NAME']}; machine: {common.machine()}")
    print(
        f"set-up: {len(clients)} communities in {args.counties} county(ies), "
        f"{PEOPLE_PER_COMMUNITY} people each, {time.perf_counter() - started:.1f} s; "
        f"rounds: {args.rounds} × {args.seconds:g} s per variant and client count; "
        f"clients as {args.mode}; seal every {settings.AUDIT_SEAL_SECONDS:g} s"
    )
    audit.seal = timed_seal  # type: ignore[assignment]
    connections.close_all()  # children open their own
    runners = [ClientProcess(c) if args.mode == "processes" else ClientThread(c) for c in clients]
    for r in runners:
        r.start()
    sampler = WaitSampler()
    sampler.start()
    # Warm-up (not counted): every variant once at the largest client count.
    for variant in VARIANTS:
        run_round(runners, variant, 1.0, sampler, 0)
    results: dict[tuple[int, str], list[RoundResult]] = defaultdict(list)
    errors: Counter[str] = Counter()
    for level in levels:
        for r in range(args.rounds):
            order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]
            for variant in order:
                res = run_round(runners[:level], variant, args.seconds, sampler, level)
                results[level, variant].append(res)
                errors.update(res.errors)
        report_level(level, results, sampler)
    for r in runners:
        r.put(None)
    sampler.stopped.set()
    report_seal(results)
    report_ops(levels[-1], results)
    finish()
    if errors:
        print("errors:")
        for text, n in errors.most_common(10):
            print(f"  {n} × {text}")
    print(f"machine after: {common.machine()}; whole run {time.perf_counter() - started:.0f} s")


def _all_latency(res: RoundResult) -> list[float]:
    return [v for values in res.latency.values() for v in values]


def report_level(level: int, results: dict[tuple[int, str], list[RoundResult]], sampler: WaitSampler) -> None:
    rates = {v: [r.ops / r.wall for r in results[level, v]] for v in VARIANTS}
    p95s = {v: [percentile(_all_latency(r), 95) for r in results[level, v]] for v in VARIANTS}
    cpus = {v: [r.cpu / r.wall for r in results[level, v]] for v in VARIANTS}
    ratio_new = statistics.median(a / b for a, b in zip(rates["new"], rates["baseline"], strict=True))
    ratio_old = statistics.median(a / b for a, b in zip(rates["old"], rates["baseline"], strict=True))
    print(f"\n{level} client(s), load average {os.getloadavg()[0]:.1f}")
    print(f"  {'variant':<9} {'ops/s':>8} {'p95 ms':>8} {'p50 ms':>8} {'client CPU/s':>12}  rounds ops/s")
    for v in VARIANTS:
        p50 = statistics.median(percentile(_all_latency(r), 50) for r in results[level, v])
        each = " ".join(f"{x:.1f}" for x in rates[v])
        print(
            f"  {v:<9} {statistics.median(rates[v]):8.1f} {statistics.median(p95s[v]):8.1f} {p50:8.1f} "
            f"{statistics.median(cpus[v]):12.2f}  {each}"
        )
    held = statistics.median(r.lock_held / r.wall for r in results[level, "old"])
    print(
        f"  ratio new/baseline {ratio_new:.2f}   old/baseline {ratio_old:.2f} (median of per-round ratios); "
        f"old: the advisory lock was held {held:.0%} of the time"
    )
    for v in VARIANTS:
        tag = (level, v)
        ticks = max(1, sampler.ticks[tag])
        top = ", ".join(f"{label} {n / ticks:.2f}" for label, n in sampler.samples[tag].most_common(5))
        print(f"  {v:<9} backends busy {sampler.busy[tag] / ticks:.1f}: {top}")


def report_seal(results: dict[tuple[int, str], list[RoundResult]]) -> None:
    commits = {level: [c for r in rs for c in r.commits] for (level, v), rs in results.items() if v == "new"}
    ids = [pk for cs in commits.values() for pk, _ in cs]
    sealed = dict(AuditEntry.objects.filter(pk__in=ids).values_list("pk", "sealed_at"))

    def delays(cs: list[tuple[int, float]]) -> list[float]:
        return [(sealed[pk].timestamp() - wall) * 1000 for pk, wall in cs if sealed.get(pk) is not None]

    every = delays([c for cs in commits.values() for c in cs])
    unsealed = sum(1 for pk in ids if sealed.get(pk) is None)
    print(
        f"\nseal delay (sealed_at − client commit) of {len(every)} entries, {unsealed} unsealed: "
        f"p50 {percentile(every, 50):.0f} ms, p99 {percentile(every, 99):.0f} ms, "
        f"max {max(every, default=float('nan')):.0f} ms, min {min(every, default=float('nan')):.0f} ms"
    )
    for level, cs in commits.items():
        d = delays(cs)
        print(
            f"  {level:>2} clients: {len(d)} entries, "
            f"p50 {percentile(d, 50):.0f} ms, p99 {percentile(d, 99):.0f} ms"
        )
    times = [ms for ms, _n in _seal_batches]
    sizes = [float(n) for _ms, n in _seal_batches]
    print(
        f"sealer batches: {len(times)}, time per batch p50 {percentile(times, 50):.0f} ms, "
        f"p99 {percentile(times, 99):.0f} ms, max {max(times, default=float('nan')):.0f} ms; "
        f"entries per batch p50 {percentile(sizes, 50):.0f}, max {max(sizes, default=float('nan')):.0f}"
    )


def report_ops(level: int, results: dict[tuple[int, str], list[RoundResult]]) -> None:
    print(f"\nper operation at {level} clients, p50 / p95 ms over all rounds:")
    names = [n for n in OPERATIONS if any(n in r.latency for v in VARIANTS for r in results[level, v])]
    print(f"  {'operation':<13}" + "".join(f" {v:>17}" for v in VARIANTS))
    for name in names:
        cells = []
        for v in VARIANTS:
            values = [x for r in results[level, v] for x in r.latency.get(name, [])]
            cells.append(f"{percentile(values, 50):8.1f} /{percentile(values, 95):7.1f}")
        print(f"  {name:<13}" + "".join(f" {c:>17}" for c in cells))


def finish() -> None:
    connections.close_all()
    sealed = audit.seal_all()
    cp = audit.checkpoint(force=True)
    started = time.perf_counter()
    result = audit.verify()
    took = time.perf_counter() - started
    print(
        f"\nend: sealed {sealed} more; checkpoint at entry {cp.seq if cp else '-'}; verify of "
        f"{result.checked} entries: {'OK' if result.ok else 'FAILED'} in {took:.2f} s "
        f"({took / max(1, result.checked) * 1e6:.0f} µs an entry); checkpoints {result.checkpoints}, "
        f"witnessed up to {result.witnessed_seq}"
    )
    for problem in result.problems[:10]:
        print(f"  problem: {problem}")
    old = OldEntry.objects.count()
    plain = PlainEntry.objects.count()
    print(f"rows written by the other variants: old chain {old}, baseline {plain}")
    shutil.rmtree(settings.AUDIT_WITNESS_DIR, ignore_errors=True)  # this run's own temporary folder


if __name__ == "__main__":
    main()
