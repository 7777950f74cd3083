"""Votes with encrypted ballots at the size of a large community: one committee election with
``--voters`` voters (10,000), 7 candidates for 5 seats ("choose up to 5 of 7"), three trustees.

1. **Cast**: every voter casts one ballot through ``services.votes.ballot_cast`` (what the ballot
   page's POST calls): proof checks, the board's append under the vote's lock, the roll line.
   Ballots are encrypted beforehand as the voters' phones would (``crypto.ballots.encrypt_ballot``,
   on ``--workers`` processes; not timed as server work). p50/p95/p99 per cast.
2. **Tally**: closing (the box multiplies the 10,000 counted ballots into one encrypted total per
   candidate and puts them on the board), each trustee's share of the count as their phone makes
   it, and the server's check of the three shares with the decision.
3. **Verify**: the board exported as the public page offers it, and the independent verifier
   (``crypto.verifier.verify``) recomputing the result from it on one process and on all CPUs.

4. **Concurrency** (``--concurrency N``, instead of 1–3): ``--casts`` ballots cast one after another
   (the sequential baseline), then ``--casts`` more by N processes at once into the same election
   (an evening rush on several web workers). Each cast is split into its parts as measured inside
   ``ballot_cast``: the proof check (before any lock), the wait for the vote's row lock, and the
   rest (the board append, the index, the roll line, the commit) with the lock held. p50/p95/p99
   and throughput for both, and the ratio concurrent/sequential.

Baseline measured in the same run: one exponentiation in the group (2048-bit modulus, 256-bit
exponent), so every time is also printed as a count of exponentiations, which does not depend on
the machine. PostgreSQL database (name must contain ``bench``; created again each run):

    SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench_votes \\
        .venv/bin/python bench/bench_votes.py [--voters 10000] [--workers 2]
        [--concurrency 8 --casts 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
os.environ.setdefault("SHEQU_DEBUG", "0")

import django

django.setup()

import bench_registry_generate as common  # noqa: E402
from benchstats import percentile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from shequ.conftest import build_tree  # noqa: E402
from shequ.core import accounts  # noqa: E402
from shequ.core.models import Role, User  # noqa: E402
from shequ.participation.crypto import ballots, group  # noqa: E402
from shequ.participation.crypto.elgamal import Ciphertext  # noqa: E402
from shequ.participation.crypto.trustees import KeyShare, count_shares, make_key_share  # noqa: E402
from shequ.participation.crypto.verifier import verify  # noqa: E402
from shequ.participation.models import Option, Vote, Voter, VoteStatus  # noqa: E402
from shequ.participation.selectors_votes import board_export  # noqa: E402
from shequ.participation.services import votes as svc  # noqa: E402
from shequ.participation.services.votes import casting  # noqa: E402
from shequ.participation.services.votes.counting import close_entry  # noqa: E402

COMMUNITY = "430104002001"
CANDIDATES = 7
SEATS = 5


def modexp_ms(runs: int = 2000) -> float:
    base, exps = group.powmod(group.G, 12345), [group.random_exponent() for _ in range(runs)]
    started = time.perf_counter()
    for e in exps:
        group.powmod(base, e)
    return (time.perf_counter() - started) * 1000 / runs


def setup(voters: int) -> tuple[Vote, User, dict[int, KeyShare]]:
    common.recreate_database()
    call_command("migrate", verbosity=0)
    regions = build_tree()
    head = accounts.user_create(
        actor=None, username="head", display_name="社区书记", password=None, phone="13800000001"
    )
    accounts.membership_grant(actor=None, user=head, role=Role.COMMUNITY_HEAD, region=regions[COMMUNITY])
    now = timezone.now()
    vote = Vote.objects.create(
        region=regions[COMMUNITY],
        region_code=COMMUNITY,
        kind="election",
        title="第十二届居民委员会选举",
        electorate="voters",
        cutoff_date=now.date(),
        max_choices=SEATS,
        seats=SEATS,
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(days=1),
        election_day=now.date(),
        roll_published_at=now - dt.timedelta(days=25),
        objection_deadline=now - dt.timedelta(days=20),
        candidates_final_at=now,
        key_mode="trustees",
        created_by=head,
    )
    Option.objects.bulk_create(
        Option(vote=vote, position=i + 1, label=f"候选人{i + 1}") for i in range(CANDIDATES)
    )
    Voter.objects.bulk_create(
        (Voter(vote=vote, label=f"选民{i}", term="") for i in range(voters)), batch_size=5000
    )
    shares: dict[int, KeyShare] = {}
    for i in range(3):
        user = accounts.user_create(
            actor=None, username=f"trustee{i}", display_name=f"委员{i}", password=None, phone=f"1390000000{i}"
        )
        trustee = svc.trustee_add(actor=head, vote=vote, user=user)
        share = make_key_share(str(vote.uid), trustee.position)
        svc.trustee_key_submit(actor=user, trustee=trustee, public_key=share.public_hex, proof=share.proof)
        shares[trustee.position] = share
    vote = svc.vote_open(actor=head, vote=vote)
    return vote, head, shares


def _encrypt(args: tuple[int, str, str, list[int]]) -> dict[str, Any]:
    key, manifest_hash, credential, selections = args
    return ballots.encrypt_ballot(
        key=key, manifest_hash=manifest_hash, credential=credential, selections=selections, max_choices=SEATS
    )


# --- Concurrency: the parts of one cast, measured inside ballot_cast by wrapping what it calls ------

_PARTS: dict[str, float] = {}


def _timed(name: str, fn: Any) -> Any:
    def wrapper(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            _PARTS[name] = _PARTS.get(name, 0.0) + (time.perf_counter() - t0) * 1000

    return wrapper


casting.verify_ballot = _timed("verify", casting.verify_ballot)  # type: ignore[assignment]
casting.lock = _timed("wait", casting.lock)  # type: ignore[assignment]  # SELECT … FOR UPDATE

# Filled before the pool forks, so the workers read them without pickling 10 kB ballots each.
_JOBS: list[tuple[Voter, dict[str, Any]]] = []


def _cast_one(voter: Voter, ballot: dict[str, Any]) -> tuple[float, float, float]:
    """One cast: (total, proof check, lock wait) in ms."""
    _PARTS.clear()
    t0 = time.perf_counter()
    svc.ballot_cast(voter=voter, ballot=ballot)
    return (time.perf_counter() - t0) * 1000, _PARTS.get("verify", 0.0), _PARTS.get("wait", 0.0)


def _worker(slot: int, n: int, barrier: Any) -> tuple[list[tuple[float, float, float]], float, float]:
    connections.close_all()  # the parent's connection is not ours: open a new one
    Vote.objects.exists()
    barrier.wait()
    started = time.perf_counter()
    out = [_cast_one(voter, ballot) for voter, ballot in _JOBS[slot::n]]
    finished = time.perf_counter()
    connections.close_all()
    return out, started, finished


def _report(label: str, rows: list[tuple[float, float, float]], wall_s: float, base: float) -> float:
    total = [r[0] for r in rows]
    check = [r[1] for r in rows]
    wait = [r[2] for r in rows]
    held = [r[0] - r[1] - r[2] for r in rows]
    p = {q: percentile(total, q) for q in (50, 95, 99)}
    print(
        f"{label}: {len(rows)} casts in {wall_s:.1f} s = {len(rows) / wall_s:.1f} casts/s; "
        f"p50 {p[50]:.1f} ms, p95 {p[95]:.1f} ms, p99 {p[99]:.1f} ms (p95 = {p[95] / base:.0f} exp.)"
    )
    for name, values in (("proof check", check), ("lock wait", wait), ("with the lock held", held)):
        print(
            f"    {name:>18}: p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}  "
            f"p99 {percentile(values, 99):7.1f} ms; {sum(values) / sum(total) * 100:4.1f} % of cast time"
        )
    return p[95]


def concurrency(args: argparse.Namespace, base: float) -> None:
    vote, _head, _shares = setup(args.voters)
    roll = list(vote.voters.order_by("pk")[: 2 * args.casts])
    key = group.element(vote.public_key)
    rng = random.Random(2026)
    work = []
    for voter in roll:
        picks = sorted(rng.sample(range(CANDIDATES), rng.randint(0, SEATS)))
        work.append(
            (
                key,
                vote.manifest_hash,
                svc.credential_for(vote, voter),
                [int(i in picks) for i in range(CANDIDATES)],
            )
        )
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        prepared = list(pool.map(_encrypt, work, chunksize=50))
    print(
        f"{len(prepared)} ballots encrypted beforehand ({args.workers} processes, not timed as server work): "
        f"{time.perf_counter() - started:.0f} s; election of {args.voters} voters"
    )
    sequential = list(zip(roll[: args.casts], prepared[: args.casts], strict=True))
    t0 = time.perf_counter()
    rows = [_cast_one(voter, ballot) for voter, ballot in sequential]
    seq_wall = time.perf_counter() - t0
    seq_p95 = _report("sequential (1 process)", rows, seq_wall, base)
    seq_rate = len(rows) / seq_wall

    _JOBS[:] = list(zip(roll[args.casts :], prepared[args.casts :], strict=True))
    n = args.concurrency
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(n)
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        results = list(pool.map(_worker, range(n), [n] * n, [barrier] * n))
    rows = [r for out, _s, _f in results for r in out]
    wall = max(f for _o, _s, f in results) - min(s for _o, s, _f in results)
    con_p95 = _report(f"concurrent ({n} processes at once)", rows, wall, base)
    con_rate = len(rows) / wall
    print(
        f"concurrent/sequential: p95 x{con_p95 / seq_p95:.2f}, throughput x{con_rate / seq_rate:.2f} "
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})"
    )
    counted = vote.ballots.filter(current=True).count()
    assert counted == 2 * args.casts, counted
    print(f"ballots counted: {counted}; board entries: {vote.board.count()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--concurrency", type=int, default=0, help="N processes casting at once")
    parser.add_argument("--casts", type=int, default=2000, help="casts per phase (with --concurrency)")
    args = parser.parse_args()
    rng = random.Random(2026)
    base = modexp_ms()
    print(f"baseline: one exponentiation {base:.3f} ms ({os.cpu_count()} CPUs)")
    if args.concurrency:
        concurrency(args, base)
        return

    vote, head, shares = setup(args.voters)
    roll = list(vote.voters.order_by("pk"))
    key = group.element(vote.public_key)
    work = []
    favourites = rng.sample(range(CANDIDATES), SEATS)
    for voter in roll:
        # Most voters back most of the favourites, some add or swap one: realistic counts.
        chosen = {i for i in favourites if rng.random() < 0.8} | {
            i for i in range(CANDIDATES) if rng.random() < 0.1
        }
        picks = sorted(chosen)[:SEATS]
        work.append(
            (
                key,
                vote.manifest_hash,
                svc.credential_for(vote, voter),
                [int(i in picks) for i in range(CANDIDATES)],
            )
        )
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        prepared = list(pool.map(_encrypt, work, chunksize=100))
    encrypt_s = time.perf_counter() - started
    print(f"ballots encrypted (the phones' work, {args.workers} processes): {encrypt_s:.1f} s")

    cast_ms = []
    started = time.perf_counter()
    for voter, ballot in zip(roll, prepared, strict=True):
        t0 = time.perf_counter()
        svc.ballot_cast(voter=voter, ballot=ballot)
        cast_ms.append((time.perf_counter() - t0) * 1000)
    total_cast = time.perf_counter() - started
    p50, p95, p99 = (percentile(cast_ms, p) for p in (50, 95, 99))
    print(
        f"cast {len(cast_ms)} ballots in {total_cast:.0f} s: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms (p95 = {p95 / base:.0f} exponentiations)"
    )

    Vote.objects.filter(pk=vote.pk).update(closes_at=timezone.now())
    vote.refresh_from_db()
    t0 = time.perf_counter()
    vote = svc.vote_close(actor=head, vote=vote)
    close_s = time.perf_counter() - t0
    totals = [Ciphertext.from_json(t) for t in close_entry(vote)["totals"]]
    phone_s, submit_s = [], []
    for trustee in vote.trustees.order_by("position"):
        t0 = time.perf_counter()
        partial = count_shares(shares[trustee.position].secret, vote.manifest_hash, trustee.position, totals)
        phone_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        svc.trustee_decrypt_submit(actor=trustee.user, trustee=trustee, shares=partial, shares_area=[])
        submit_s.append(time.perf_counter() - t0)
    vote.refresh_from_db()
    assert vote.status == VoteStatus.DECIDED
    print(f"close (encrypted totals of {vote.result['cast']} ballots on the board): {close_s:.2f} s")
    print(f"a trustee's share of the count (their phone, Python twin): {max(phone_s) * 1000:.0f} ms")
    print(f"server checks a trustee's share (the last one also decides): max {max(submit_s) * 1000:.0f} ms")
    print(f"tally total (close + three shares checked and combined): {close_s + sum(submit_s):.2f} s")
    print(f"result: {vote.result['counts']} {vote.result['outcome']}")

    t0 = time.perf_counter()
    board = board_export(vote)
    export_s = time.perf_counter() - t0
    print(f"board export ({len(board['entries'])} entries): {export_s:.2f} s")
    for jobs in sorted({1, args.workers}):
        t0 = time.perf_counter()
        report = verify(board, jobs=jobs)
        verify_s = time.perf_counter() - t0
        assert report.ok, report.problems[:3]
        per_ballot = verify_s * 1000 / max(1, report.ballots)
        print(
            f"verify the board on {jobs} process(es): {verify_s:.1f} s "
            f"({per_ballot:.1f} ms per ballot = {per_ballot / base:.0f} exponentiations)"
        )
    del prepared


if __name__ == "__main__":
    main()
