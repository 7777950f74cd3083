"""The browser's ballot.js against the Python reference (shequ/participation/crypto): with the same
randomness both give the same ballot, key share and shares of the count to the byte; with real
randomness Python's verifiers accept what the browser made; the browser refuses what Python
refuses; a trustee's phone recomputes the board's totals and notices a tampered close entry.

Runs Node on ballot_harness.js. On a laptop without Node the module is skipped; with ``CI`` set a
missing Node fails it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shequ.participation.crypto.ballots import canonical, encrypt_ballot, tracker, verify_ballot
from shequ.participation.crypto.elgamal import (
    Ciphertext,
    combine,
    encrypt,
    partial_decrypt,
    product,
    prove_key,
    verify_key,
    verify_partial,
)
from shequ.participation.crypto.group import G, P, Q, element, exponent, hex_element, powmod
from shequ.participation.crypto.trustees import make_key_share
from shequ.participation.crypto.verifier import aggregate, decrypt_context, key_context, verify
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes

HARNESS = Path(__file__).with_name("ballot_harness.js")
MANIFEST_HASH = hashlib.sha256(b"manifest").hexdigest()
CREDENTIAL = hashlib.sha256(b"credential").hexdigest()


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is not on PATH: CI must run the browser's ballot code")
        pytest.skip("node is not installed here")
    return found


def run_js(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [node(), str(HARNESS)],
        input=json.dumps({"jobs": jobs}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answers: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(answers) == len(jobs)
    return answers


def ok(answer: dict[str, Any]) -> Any:
    assert "error" not in answer, answer["error"]
    return answer["result"]


def sequence(seed: str, n: int = 400) -> list[int]:
    """Deterministic exponents in [1, Q) from SHA-256 of a counter."""
    return [
        1 + int.from_bytes(hashlib.sha256(f"{seed}|{i}".encode()).digest(), "big") % (int(Q) - 1)
        for i in range(n)
    ]


class Replay:
    """An rng handing out a fixed sequence, counting what it handed out."""

    def __init__(self, values: list[int]) -> None:
        self.values, self.used = values, 0

    def __call__(self) -> int:
        value = self.values[self.used]
        self.used += 1
        return value


def hexes(values: list[int]) -> list[str]:
    return [format(v, "x") for v in values]


SECRET = sequence("joint key", 1)[0]
KEY = powmod(G, SECRET)


# --- (a) Known answers: the same randomness gives the same bytes --------------------------------------


def test_the_constants_are_the_groups() -> None:
    p, q, g = (ok(a) for a in run_js([{"fn": name, "args": []} for name in ("P", "Q", "G")]))
    assert (int(p, 16), int(q, 16), int(g, 16)) == (int(P), int(Q), int(G))


@pytest.mark.parametrize(
    ("selections", "max_choices"),
    [
        ([0, 1, 0], 1),
        ([1], 1),
        ([0, 0, 0], 1),  # blank, one choice
        ([1, 0, 1, 1, 0], 3),
        ([0, 0, 0, 0, 0], 3),  # blank, three choices
        ([1, 1, 0, 1, 1, 0, 1], 5),
    ],
)
def test_a_ballot_is_the_same_as_pythons_for_the_same_randomness(
    selections: list[int], max_choices: int
) -> None:
    values = sequence(f"ballot {selections} {max_choices}")
    python = Replay(values)
    expected = encrypt_ballot(
        key=KEY,
        manifest_hash=MANIFEST_HASH,
        credential=CREDENTIAL,
        selections=selections,
        max_choices=max_choices,
        rng=python,
    )
    args = {
        "key": hex_element(KEY),
        "manifestHash": MANIFEST_HASH,
        "credential": CREDENTIAL,
        "selections": selections,
        "maxChoices": max_choices,
    }
    answer, code = run_js(
        [
            {"fn": "encryptBallot", "args": [args], "rng": hexes(values)},
            {"fn": "tracker", "args": [expected]},
        ]
    )
    assert ok(answer) == expected
    assert answer["used"] == python.used  # the same draws in the same order
    assert ok(code) == tracker(expected)


def test_a_key_share_and_shares_of_the_count_are_the_same_as_pythons() -> None:
    uid = "3f2b8c1e-投票-7d"  # non-ASCII: the contexts are hashed as UTF-8 on both sides
    values = sequence("trustee")
    secret = values[0]
    proof = prove_key(secret, key_context(uid, 2), Replay(values[1:]))
    totals = [encrypt(KEY, m, r) for m, r in zip((3, 0, 7), sequence("totals", 3), strict=True)]
    totals_json = [t.to_json() for t in totals]
    expected: dict[str, list[dict[str, str]]] = {}
    for part in ("shares", "shares_area"):
        replay = Replay(sequence(part))
        expected[part] = [
            partial_decrypt(secret, t, decrypt_context(MANIFEST_HASH, 2, part, i), replay)
            for i, t in enumerate(totals)
        ]
    share, *counted = run_js(
        [{"fn": "makeKeyShare", "args": [uid, 2], "rng": hexes(values)}]
        + [
            {
                "fn": "countShares",
                "args": [format(secret, "064x"), MANIFEST_HASH, 2, totals_json, part],
                "rng": hexes(sequence(part)),
            }
            for part in ("shares", "shares_area")
        ]
    )
    assert ok(share) == {
        "secret": format(secret, "064x"),
        "public": make_key_share(uid, 2, secret).public_hex,
        "proof": proof,
    }
    assert share["used"] == 2
    assert [ok(a) for a in counted] == [expected["shares"], expected["shares_area"]]


def test_canonical_json_is_pythons() -> None:
    data = {
        "zh": '加装电梯 «引号» "quoted" back\\slash',
        "controls": "\x00\x01\b\f\n\r\t\x1f\x7f\u2028",
        "\ue000": 1,  # a private-use character sorts before…
        "\U0001f600": [True, False, None, -12, 0],  # …an emoji by code point (not by UTF-16 unit)
        "nested": {"b": [], "a": {}, "B": "x"},
    }
    (answer,) = run_js([{"fn": "canonical", "args": [data]}])
    assert ok(answer) == canonical(data)


# --- (b) Real randomness: Python's verifiers accept what the browser made ----------------------------


def test_pythons_verifiers_accept_what_the_browser_made() -> None:
    uid = "9a1c-real"
    shares = [ok(a) for a in run_js([{"fn": "makeKeyShare", "args": [uid, n]} for n in (1, 2, 3)])]
    joint = 1
    for n, share in enumerate(shares, start=1):
        public = element(share["public"])
        verify_key(public, share["proof"], key_context(uid, n))
        assert powmod(G, exponent(share["secret"])) == public
        joint = joint * public % int(P)
    picks = ([1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0])
    args = [
        {
            "key": hex_element(joint),
            "manifestHash": MANIFEST_HASH,
            "credential": hashlib.sha256(str(n).encode()).hexdigest(),
            "selections": list(s),
            "maxChoices": 2,
        }
        for n, s in enumerate(picks)
    ]
    answers = run_js(
        [{"fn": "encryptBallot", "args": [a]} for a in args] + [{"fn": "encryptBallot", "args": [args[0]]}]
    )
    ballots = [ok(a) for a in answers]
    assert ballots[0] != ballots[-1]  # fresh randomness every time
    cts = [
        verify_ballot(key=joint, manifest_hash=MANIFEST_HASH, ballot=b, options=4, max_choices=2)
        for b in ballots[:-1]
    ]
    totals = [product([c[i] for c in cts]) for i in range(4)]
    jobs = [
        {
            "fn": "countShares",
            "args": [s["secret"], MANIFEST_HASH, n, [t.to_json() for t in totals], "shares"],
        }
        for n, s in enumerate(shares, start=1)
    ]
    partials = [ok(a) for a in run_js(jobs)]
    counts = []
    for i, total in enumerate(totals):
        ds = [
            verify_partial(
                element(s["public"]),
                total,
                partials[n - 1][i],
                decrypt_context(MANIFEST_HASH, n, "shares", i),
            )
            for n, s in enumerate(shares, start=1)
        ]
        counts.append(combine(total, ds, len(picks)))
    assert counts == [3, 1, 2, 0]  # encrypted, multiplied and decrypted by the browser's code
    # The verifiers can fail: one changed digit is refused.
    forged = json.loads(json.dumps(ballots[0]))
    forged["choices"][0]["proof"]["v"][0] = format(
        (int(forged["choices"][0]["proof"]["v"][0], 16) + 1) % int(Q), "064x"
    )
    with pytest.raises(ValueError, match="do not verify"):
        verify_ballot(key=joint, manifest_hash=MANIFEST_HASH, ballot=forged, options=4, max_choices=2)


def test_random_exponents_are_in_range() -> None:
    draws = [int(ok(a), 16) for a in run_js([{"fn": "randomExponent", "args": []}] * 200)]
    assert all(1 <= x < Q for x in draws) and len(set(draws)) == 200
    assert max(draws).bit_length() == 256  # the top half of the range is reached


# --- (c) The browser refuses what Python refuses ------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"selections": [1, 1, 0]}, "at most 1 choices"),
        ({"selections": [2, 0, 0]}, "chosen (1) or not (0)"),
        ({"selections": [0.5, 0, 0]}, "chosen (1) or not (0)"),
        ({"selections": ["1", 0, 0]}, "chosen (1) or not (0)"),
        ({"selections": [True, False, False]}, "chosen (1) or not (0)"),
        ({"key": hex_element(2)}, "not an element"),  # outside the subgroup
        ({"key": hex_element(KEY).upper()}, "lowercase"),
        ({"key": hex_element(1)}, "identity"),
        ({"credential": "short"}, "credential"),
    ],
)
def test_the_browser_refuses_a_bad_ballot(change: dict[str, Any], message: str) -> None:
    args = {
        "key": hex_element(KEY),
        "manifestHash": MANIFEST_HASH,
        "credential": CREDENTIAL,
        "selections": [1, 0, 0],
        "maxChoices": 1,
        **change,
    }
    (answer,) = run_js([{"fn": "encryptBallot", "args": [args]}])
    assert message in answer.get("error", ""), answer


def test_a_trustees_phone_refuses_totals_outside_the_group() -> None:
    good = encrypt(KEY, 1, 5).to_json()
    bad = {"a": hex_element(2), "b": good["b"]}
    secret = format(SECRET, "064x")
    answers = run_js(
        [
            {"fn": "countShares", "args": [secret, MANIFEST_HASH, 1, [good, bad], "shares"]},
            {"fn": "countShares", "args": [secret, MANIFEST_HASH, 1, [good], "other"]},
            {"fn": "countShares", "args": [secret[:-1], MANIFEST_HASH, 1, [good], "shares"]},
        ]
    )
    assert "not an element" in answers[0]["error"]
    assert "shares or shares_area" in answers[1]["error"]
    assert "64 lowercase" in answers[2]["error"]


# --- (d) The board's totals, recomputed on a trustee's phone -------------------------------------------


def totals_and_check(*boards: dict[str, Any]) -> list[tuple[Any, bool]]:
    jobs = [{"fn": f, "args": [b]} for b in boards for f in ("totalsFromBoard", "checkTotals")]
    answers = run_js(jobs)
    return [(answers[i].get("result"), answers[i + 1]["result"]) for i in range(0, len(answers), 2)]


@pytest.mark.django_db
def test_the_phone_recomputes_a_real_boards_totals_and_detects_tampering(votes: Votes) -> None:
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    votes.cast(vote, votes.adults[0], [0, 1, 0])
    votes.cast(vote, votes.adults[1], [1, 0, 0])
    votes.cast(vote, votes.adults[0], [1, 0, 0])  # a re-vote: only this one counts
    votes.cast(vote, votes.adults[2], [0, 0, 0])
    vote = votes.close(vote)
    assert vote.result["counts"] == [2, 0, 0]
    board = board_export(vote)
    close = next(e for e in board["entries"] if e["kind"] == "close")["payload"]

    def tampered(change: Any) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(board))
        change(copy, next(e for e in copy["entries"] if e["kind"] == "close")["payload"])
        return copy

    def swap(_b: dict[str, Any], c: dict[str, Any]) -> None:
        c["totals"][0], c["totals"][1] = c["totals"][1], c["totals"][0]

    def reencrypt(_b: dict[str, Any], c: dict[str, Any]) -> None:
        c["totals"][2] = (Ciphertext.from_json(c["totals"][2]) * encrypt(KEY, 1, 7)).to_json()

    def drop_ballot(b: dict[str, Any], _c: dict[str, Any]) -> None:
        dropped = [e for e in b["entries"] if e["kind"] == "ballot"][1]
        b["entries"] = [e for e in b["entries"] if e is not dropped]

    def drop_revote(b: dict[str, Any], _c: dict[str, Any]) -> None:
        # Without the re-vote the earlier ballot under that credential counts again.
        dropped = [e for e in b["entries"] if e["kind"] == "ballot"][2]
        b["entries"] = [e for e in b["entries"] if e is not dropped]

    def drop_close(b: dict[str, Any], _c: dict[str, Any]) -> None:
        b["entries"] = [e for e in b["entries"] if e["kind"] != "close"]

    results = totals_and_check(
        board, *(tampered(f) for f in (swap, reencrypt, drop_ballot, drop_revote, drop_close))
    )
    (totals, checked), *forged = results
    assert totals == {"totals": close["totals"], "totals_area": close["totals_area"]}
    assert checked is True
    assert [c for _t, c in forged] == [False] * 5
    assert verify(board).ok


def weighted_board(weights: list[int], picks: list[list[int]], credentials: list[str]) -> dict[str, Any]:
    """A board of an owners' vote as far as the totals need it (no chain: the phone's totals do not
    read it), with its close entry made by the verifier's own aggregate."""
    entries: list[dict[str, Any]] = [
        {
            "seq": 0,
            "kind": "manifest",
            "payload": {"options": ["同意", "反对"], "max_choices": 1, "weighted": True},
        }
    ]
    counted: dict[str, tuple[list[Ciphertext], int]] = {}
    for n, (w, s, cred) in enumerate(zip(weights, picks, credentials, strict=True)):
        ballot = encrypt_ballot(
            key=KEY, manifest_hash=MANIFEST_HASH, credential=cred, selections=s, max_choices=1
        )
        entries.append(
            {
                "seq": n + 1,
                "kind": "ballot",
                "payload": {"ballot": ballot, "tracker": tracker(ballot), "weight": w},
            }
        )
        counted[cred] = ([Ciphertext.from_json(c) for c in ballot["choices"]], w)
    totals, areas = aggregate(list(counted.values()), 2, True)
    close = {"totals": [t.to_json() for t in totals], "totals_area": [t.to_json() for t in areas]}
    entries.append({"seq": len(entries), "kind": "close", "payload": close})
    return {"format": "shequ-board/1", "entries": entries}


def test_the_phone_weighs_an_owners_ballot_by_floor_area() -> None:
    creds = [hashlib.sha256(c.encode()).hexdigest() for c in "abca"]
    board = weighted_board([8950, 12000, 6433, 8950], [[1, 0], [0, 1], [1, 0], [0, 1]], creds)
    empty = weighted_board([], [], [])
    off_by_one = json.loads(json.dumps(board))
    off_by_one["entries"][2]["payload"]["weight"] = 12001  # an area changed after closing
    (totals, checked), (empty_totals, empty_checked), (_t, forged) = totals_and_check(
        board, empty, off_by_one
    )
    close = board["entries"][-1]["payload"]
    assert totals == close and checked is True
    assert empty_totals == empty["entries"][-1]["payload"] and empty_checked is True
    assert empty_totals["totals_area"] == [{"a": hex_element(1), "b": hex_element(1)}] * 2
    assert forged is False


@pytest.mark.django_db
def test_an_election_run_by_the_browsers_code_end_to_end(
    votes: Votes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trustees' key shares, the voters' ballots and the shares of the count all come from
    ballot.js; the services accept each, and the independent verifier agrees with the result."""
    secrets: dict[int, str] = {}

    def js_key_ceremony(vote: Any) -> None:
        trustees = [svc.trustee_add(actor=votes["head_a"], vote=vote, user=u) for u in votes.trustees]
        jobs = [{"fn": "makeKeyShare", "args": [str(vote.uid), t.position]} for t in trustees]
        for trustee, answer in zip(trustees, run_js(jobs), strict=True):
            share = ok(answer)
            secrets[trustee.position] = share["secret"]
            svc.trustee_key_submit(
                actor=trustee.user, trustee=trustee, public_key=share["public"], proof=share["proof"]
            )

    monkeypatch.setattr(votes, "key_ceremony", js_key_ceremony)
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.election(seats=2, candidates=3))
    picks = ([1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 1, 1])
    voters = [votes.voter(vote, p) for p in votes.adults[: len(picks)]]
    jobs: list[dict[str, Any]] = [
        {
            "fn": "encryptBallot",
            "args": [
                {
                    "key": vote.public_key,
                    "manifestHash": vote.manifest_hash,
                    "credential": svc.credential_for(vote, voter),
                    "selections": list(s),
                    "maxChoices": vote.max_choices,
                }
            ],
        }
        for voter, s in zip(voters, picks, strict=True)
    ]
    receipts = [svc.ballot_cast(voter=v, ballot=ok(a)) for v, a in zip(voters, run_js(jobs), strict=True)]
    vote = votes.close(vote)
    board = board_export(vote)
    ((_totals, checked),) = totals_and_check(board)
    assert checked is True  # the phones agree these are the board's totals before decrypting
    close = next(e for e in board["entries"] if e["kind"] == "close")["payload"]
    trustees = list(vote.trustees.order_by("position"))
    jobs = [
        {"fn": "countShares", "args": [secrets[t.position], vote.manifest_hash, t.position, close[k], part]}
        for t in trustees
        for k, part in (("totals", "shares"), ("totals_area", "shares_area"))
    ]
    answers = iter(run_js(jobs))
    for t in trustees:
        shares, shares_area = ok(next(answers)), ok(next(answers))
        svc.trustee_decrypt_submit(actor=t.user, trustee=t, shares=shares, shares_area=shares_area)
    vote.refresh_from_db()
    assert vote.result["counts"] == [3, 3, 2]
    report = verify(board_export(vote), [r.tracker for r in receipts])
    assert report.ok, report.problems
    assert report.counts == [3, 3, 2] and set(report.trackers.values()) == {"counted"}


@pytest.mark.django_db
def test_the_phone_checks_the_whole_board_before_decrypting(votes: Votes) -> None:
    """checkBoard: the chain, the manifest the trustee made a key for, ballots before the close
    entry, the close entry's count, at least two ballots, and the totals."""
    from shequ.participation.crypto.ballots import canonical
    from shequ.participation.crypto.verifier import entry_hash

    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    votes.cast(vote, votes.adults[0], [1, 0, 0])
    votes.cast(vote, votes.adults[1], [0, 1, 0])
    vote = votes.close(vote)
    board = board_export(vote)

    def rechain(b: dict[str, Any]) -> dict[str, Any]:
        prev = "0" * 64
        for n, e in enumerate(b["entries"]):
            e["seq"], e["prev_hash"] = n, prev
            e["hash"] = prev = entry_hash(prev, n, e["kind"], canonical(e["payload"]))
        return b

    broken = json.loads(json.dumps(board))
    broken["entries"][1]["payload"]["weight"] = 1 if broken["entries"][1]["payload"]["weight"] != 1 else 2
    # One ballot only (the forged board a server could show a trustee): its total is that ballot.
    lone = json.loads(json.dumps(board))
    first = next(e for e in lone["entries"] if e["kind"] == "ballot")
    lone["entries"] = [e for e in lone["entries"] if e["kind"] != "ballot" or e is first]
    close = next(e for e in lone["entries"] if e["kind"] == "close")["payload"]
    cts = [Ciphertext.from_json(c) for c in first["payload"]["ballot"]["choices"]]
    close["totals"], close["voted"] = [c.to_json() for c in cts], 1
    rechain(lone)
    answers = run_js(
        [
            {"fn": "checkBoard", "args": [board, vote.manifest_hash]},
            {"fn": "checkBoard", "args": [board, "0" * 64]},
            {"fn": "checkBoard", "args": [broken, vote.manifest_hash]},
            {"fn": "checkBoard", "args": [lone, vote.manifest_hash]},
        ]
    )
    assert answers[0]["result"]["ok"] and answers[0]["result"]["counted"] == 2
    assert [a["result"].get("reason") for a in answers[1:]] == ["manifest", "chain", "count"]
