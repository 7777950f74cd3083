"""The independent verifier: recomputes a vote's result from its public bulletin board alone.

    shequ verify-board board.json [--tracker HASH …]
    python -m shequ.participation.crypto.verifier board.json   (no database, no settings)

It checks the hash chain, the manifest (each trustee's key proof, the joint key), every ballot's
proofs, that only the last ballot under each credential counts, the encrypted totals, each
trustee's decryption proof, the counts, and the decision under the vote's legal rules; with
``--tracker`` it says whether each voter's tracker is on the board and counted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shequ.participation import rules
from shequ.participation.crypto.ballots import canonical, digest, verify_ballot
from shequ.participation.crypto.elgamal import (
    ONE,
    Ciphertext,
    ProofError,
    combine,
    product,
    verify_key,
    verify_partial,
)
from shequ.participation.crypto.group import GroupError, element, mulmod, public_key

GENESIS = "0" * 64
FORMAT = "shequ-board/1"


def entry_hash(prev_hash: str, seq: int, kind: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{seq}|{kind}|{payload}".encode()).hexdigest()


@dataclass
class Report:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    ballots: int = 0
    counted: int = 0
    counts: list[int] = field(default_factory=list)
    counts_area: list[int] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    trackers: dict[str, str] = field(default_factory=dict)  # tracker → counted / superseded / missing

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def aggregate(
    ballots: Sequence[tuple[list[Ciphertext], int]], options: int, weighted: bool
) -> tuple[list[Ciphertext], list[Ciphertext]]:
    """Per option, the product of the counted ballots' ciphertexts (and, for owners, each raised to
    the ballot's area in 0.01 m²)."""
    totals = [product([cts[i] for cts, _w in ballots]) for i in range(options)]
    if not weighted:
        return totals, []
    areas = [product([cts[i].weighted(w) for cts, w in ballots]) if ballots else ONE for i in range(options)]
    return totals, areas


def _check_one(args: tuple[Any, int, str, int, int]) -> tuple[str, list[Ciphertext]]:
    ballot, key, manifest_hash, options, max_choices = args
    try:
        cts = verify_ballot(
            key=key, manifest_hash=manifest_hash, ballot=ballot, options=options, max_choices=max_choices
        )
    except ValueError as exc:
        return str(exc), []
    return "", cts


def _check_ballots(
    entries: list[dict[str, Any]], key: int, manifest_hash: str, options: int, max_choices: int, jobs: int
) -> list[tuple[str, list[Ciphertext]]]:
    """Every ballot's proofs (the expensive part: about 20 exponentiations per option), on ``jobs``
    processes when more than one."""
    work = [(e["payload"]["ballot"], key, manifest_hash, options, max_choices) for e in entries]
    if jobs <= 1 or len(work) < 2 * jobs:
        return [_check_one(w) for w in work]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_check_one, work, chunksize=max(1, len(work) // (jobs * 8))))


def verify(board: dict[str, Any], trackers: Sequence[str] = (), *, jobs: int = 1) -> Report:
    report = Report()
    entries = board.get("entries") if isinstance(board, dict) else None
    if (
        not isinstance(board, dict)
        or board.get("format") != FORMAT
        or not isinstance(entries, list)
        or not entries
        or not all(isinstance(e, dict) and isinstance(e.get("payload"), dict) for e in entries)
    ):
        report.fail(f"not a board export of format {FORMAT}")
        return report
    try:
        return _verify(report, entries, trackers, jobs)
    except (KeyError, TypeError, ValueError) as exc:
        report.fail(f"the board is malformed: {exc!r}")
        return report


def _verify(report: Report, entries: list[dict[str, Any]], trackers: Sequence[str], jobs: int) -> Report:
    prev = GENESIS
    for n, entry in enumerate(entries):
        payload = canonical(entry.get("payload"))
        if entry.get("seq") != n or entry.get("prev_hash") != prev:
            report.fail(f"entry {n}: the chain is broken (an entry is missing, added or moved)")
        if entry_hash(prev, n, str(entry.get("kind")), payload) != entry.get("hash"):
            report.fail(f"entry {n}: its hash does not match its content")
        prev = str(entry.get("hash"))
    if not report.ok:
        return report
    kinds = [e["kind"] for e in entries]
    if kinds[0] != "manifest":
        report.fail("the board does not start with the manifest")
        return report
    manifest = entries[0]["payload"]
    manifest_hash = digest(manifest)
    try:
        key = _joint_key(manifest, manifest_hash)
    except (ProofError, GroupError, KeyError, TypeError) as exc:
        report.fail(f"manifest: {exc}")
        return report
    options, max_choices = len(manifest["options"]), int(manifest["max_choices"])
    weighted = bool(manifest.get("weighted"))
    last: dict[str, tuple[str, list[Ciphertext], int]] = {}
    seen: dict[str, str] = {}
    ballot_entries = [e for e in entries if e["kind"] == "ballot"]
    checked = _check_ballots(ballot_entries, key, manifest_hash, options, max_choices, jobs)
    for entry, (error, cts) in zip(ballot_entries, checked, strict=True):
        report.ballots += 1
        ballot = entry["payload"]["ballot"]
        tracker = digest(ballot)
        if tracker != entry["payload"].get("tracker"):
            report.fail(f"entry {entry['seq']}: the tracker is not the ballot's hash")
        if error:
            report.fail(f"entry {entry['seq']}: {error}")
            continue
        weight = entry["payload"].get("weight", 1)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < (0 if weighted else 1):
            report.fail(f"entry {entry['seq']}: the ballot's weight is not a whole number of 0.01 m²")
            continue
        if not weighted and weight != 1:
            report.fail(f"entry {entry['seq']}: a ballot counts once in a vote not weighted by area")
            continue
        credential = ballot["credential"]
        if credential in last:
            seen[last[credential][0]] = "superseded"
        last[credential] = (tracker, cts, weight)
        seen[tracker] = "counted"
    report.counted = len(last)
    for t in trackers:
        report.trackers[t] = seen.get(t, "missing")
        if seen.get(t) is None:
            report.fail(f"tracker {t[:16]}… is not on the board")
    tallies = [e["payload"] for e in entries if e["kind"] == "tally"]
    closes = [e["payload"] for e in entries if e["kind"] == "close"]
    if not tallies:
        return report  # still open or counting: the ballots so far are checked
    if len(tallies) != 1 or len(closes) != 1 or kinds.index("close") > kinds.index("tally"):
        report.fail("a board has one close entry, then one tally entry")
        return report
    close, tally = closes[0], tallies[0]
    if kinds.index("close") < max((i for i, k in enumerate(kinds) if k == "ballot"), default=-1):
        report.fail("a ballot was added after the vote closed")
    counted = [(cts, w) for _t, cts, w in last.values()]
    totals, areas = aggregate(counted, options, weighted)
    report.counts = _decrypt(report, manifest, manifest_hash, totals, tally, "shares", "counts", len(counted))
    if weighted:
        bound = sum(w for _c, w in counted)
        report.counts_area = _decrypt(
            report, manifest, manifest_hash, areas, tally, "shares_area", "counts_area", bound
        )
    if tally.get("cast") != report.counted:
        report.fail(
            f"the tally says {tally.get('cast')} ballots were counted; the board has {report.counted}"
        )
    if close.get("voted") != report.counted:
        report.fail(
            f"the roll says {close.get('voted')} people voted; the board counts {report.counted} ballots"
        )
    counts = rules.Tally(
        electorate=int(close["electorate"]),
        cast=report.counted,
        votes=tuple(report.counts),
        electorate_area=int(close.get("electorate_area", 0)),
        cast_area=sum(w for _c, w in counted) if weighted else 0,
        votes_area=tuple(report.counts_area),
    )
    report.outcome = rules.outcome(
        kind=manifest["kind"],
        tally=counts,
        matter=manifest.get("matter", "ordinary"),
        quorum=manifest.get("quorum", "none"),
        seats=int(manifest.get("seats", 0)),
    )
    if report.outcome != tally.get("outcome"):
        report.fail(
            f"the announced decision {tally.get('outcome')} differs from the recomputed {report.outcome}"
        )
    return report


def _joint_key(manifest: dict[str, Any], manifest_hash: str) -> int:
    joint = 1
    for trustee in manifest["trustees"]:
        public = public_key(trustee["key"])
        verify_key(public, trustee["proof"], key_context(manifest["vote"], int(trustee["position"])))
        joint = mulmod(joint, public)
    if joint != public_key(manifest["key"]):
        raise ProofError("the joint key is not the product of the trustees' keys")
    if len(manifest["trustees"]) < 1:
        raise ProofError("no trustee")
    return joint


def key_context(vote: str, position: int) -> str:
    """What a trustee's key proof is bound to (before the manifest exists, hence not its hash)."""
    return f"{vote}|trustee|{position}"


def decrypt_context(manifest_hash: str, position: int, part: str, index: int) -> str:
    return f"{manifest_hash}|{position}|{part}|{index}"


def _decrypt(
    report: Report,
    manifest: dict[str, Any],
    manifest_hash: str,
    totals: list[Ciphertext],
    tally: dict[str, Any],
    shares_key: str,
    counts_key: str,
    bound: int,
) -> list[int]:
    given = {int(p["position"]): p.get(shares_key) for p in tally.get("partials", [])}
    counts: list[int] = []
    for i, total in enumerate(totals):
        announced = tally.get("totals" if shares_key == "shares" else "totals_area") or []
        if i >= len(announced) or announced[i] != total.to_json():
            report.fail(
                f"option {i + 1}: the encrypted total differs from the product of the counted ballots"
            )
        shares = []
        for trustee in manifest["trustees"]:
            position = int(trustee["position"])
            try:
                partial = (given.get(position) or [])[i]
                shares.append(
                    verify_partial(
                        element(trustee["key"]),
                        total,
                        partial,
                        decrypt_context(manifest_hash, position, shares_key, i),
                    )
                )
            except (IndexError, ProofError, GroupError, TypeError) as exc:
                report.fail(f"option {i + 1}, trustee {position}: {exc}")
        try:
            counts.append(combine(total, shares, bound) if len(shares) == len(manifest["trustees"]) else -1)
        except ProofError as exc:
            report.fail(f"option {i + 1}: {exc}")
            counts.append(-1)
    if counts != tally.get(counts_key):
        report.fail(f"the announced {counts_key} {tally.get(counts_key)} differ from the recomputed {counts}")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a vote's bulletin board and recompute its result.")
    parser.add_argument("board", help="the board export (JSON), as the public page offers it")
    parser.add_argument("--tracker", action="append", default=[], help="a ballot tracker to look for")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes checking ballots")
    args = parser.parse_args(argv)
    with open(args.board, encoding="utf-8") as f:
        board = json.load(f)
    report = verify(board, args.tracker, jobs=max(1, args.jobs))
    print(f"ballots on the board: {report.ballots}; counted (last per credential): {report.counted}")
    if report.counts:
        print(f"counts per option: {report.counts}")
    if report.counts_area:
        print(f"floor area per option (0.01 m²): {report.counts_area}")
    if report.outcome:
        print(f"decision: {json.dumps(report.outcome, ensure_ascii=False)}")
    for tracker, state in report.trackers.items():
        print(f"tracker {tracker}: {state}")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("VERIFIED" if report.ok else "NOT VERIFIED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
