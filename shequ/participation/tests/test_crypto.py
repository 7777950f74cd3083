"""The voting cryptography on its own: the group is the one its seeds give, values outside it are
refused, proofs verify and fail when anything is changed, and known answers pin the protocol (a
change to any hash input or encoding changes them; ballot.js is checked against the same)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import gmpy2
import pytest

from shequ.participation.crypto import ballots, elgamal, group
from shequ.participation.crypto.trustees import count_shares, make_key_share


def counter_rng(seed: str) -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield 1 + int.from_bytes(hashlib.sha256(f"{seed}/{n}".encode()).digest(), "big") % (int(group.Q) - 1)


def rng(seed: str) -> Callable[[], int]:
    it = counter_rng(seed)
    return lambda: next(it)


def test_the_group_is_the_one_its_seeds_give() -> None:
    p, q, g = group.derive()
    assert (p, q, g) == (group.P, group.Q, group.G)
    assert gmpy2.is_prime(p, 50) and gmpy2.is_prime(q, 50)
    assert p.bit_length() == 2048 and q.bit_length() == 256 and (p - 1) % q == 0
    assert g != 1 and pow(g, q, p) == 1
    # No smaller counter gives a 2048-bit prime: the first one was taken, not a chosen one.
    for counter in range(group.P_COUNTER):
        candidate = group.derive(counter)[0]
        assert candidate.bit_length() != 2048 or not gmpy2.is_prime(candidate, 25)


def test_values_outside_the_subgroup_are_refused() -> None:
    for bad in (0, int(group.P) - 1, int(group.P), 2):
        with pytest.raises(group.GroupError):
            group.element(group.hex_element(bad))
    with pytest.raises(group.GroupError):
        group.element("zz")
    with pytest.raises(group.GroupError):
        group.exponent(group.hex_exponent(int(group.Q)))


def test_a_ballot_round_trip_and_the_homomorphic_tally() -> None:
    shares = [make_key_share("v", i) for i in range(3)]
    key = 1
    for s in shares:
        key = group.mulmod(key, s.public)
    picks = [[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0]]
    cts = [
        ballots.verify_ballot(
            key=key,
            manifest_hash="m" * 64,
            ballot=ballots.encrypt_ballot(
                key=key, manifest_hash="m" * 64, credential=f"{i:064x}", selections=p, max_choices=2
            ),
            options=3,
            max_choices=2,
        )
        for i, p in enumerate(picks)
    ]
    totals = [elgamal.product([c[i] for c in cts]) for i in range(3)]
    counts = []
    for total in totals:
        ds = [
            elgamal.verify_partial(
                s.public, total, count_shares(s.secret, "m" * 64, n, [total])[0], f"{'m' * 64}|{n}|shares|0"
            )
            for n, s in enumerate(shares)
        ]
        counts.append(elgamal.combine(total, ds, len(picks)))
    assert counts == [2, 1, 2]
    # Without one trustee's share the plaintext is out of reach.
    with pytest.raises(elgamal.ProofError):
        elgamal.combine(
            totals[0],
            [
                elgamal.verify_partial(
                    shares[0].public,
                    totals[0],
                    count_shares(shares[0].secret, "m" * 64, 0, [totals[0]])[0],
                    f"{'m' * 64}|0|shares|0",
                )
            ],
            10,
        )


def test_every_proof_fails_when_its_inputs_change() -> None:
    share = make_key_share("v", 1)
    with pytest.raises(elgamal.ProofError):
        elgamal.verify_key(share.public, share.proof, "v|trustee|2")  # another position
    key = share.public
    ct = elgamal.encrypt(key, 1, 12345)
    proof = elgamal.prove_range(key, ct, 1, 12345, 1, "ctx")
    elgamal.verify_range(key, ct, proof, 1, "ctx")
    with pytest.raises(elgamal.ProofError):
        elgamal.verify_range(key, ct, proof, 1, "other context")
    with pytest.raises(elgamal.ProofError):
        elgamal.verify_range(key, elgamal.Ciphertext(ct.a, group.mulmod(ct.b, int(group.G))), proof, 1, "ctx")
    with pytest.raises(elgamal.ProofError):
        elgamal.prove_range(key, elgamal.encrypt(key, 2, 1), 2, 1, 1, "ctx")  # 2 is not a 0/1 choice
    partial = elgamal.partial_decrypt(share.secret, ct, "d")
    with pytest.raises(elgamal.ProofError):
        elgamal.verify_partial(share.public, ct, {**partial, "d": group.hex_element(int(group.G))}, "d")


def test_known_answers() -> None:
    """Fixed randomness gives fixed bytes: these digests change only when the protocol does."""
    share = make_key_share("kat-vote", 1, secret=next(counter_rng("kat-secret")))
    key = share.public
    ballot = ballots.encrypt_ballot(
        key=key,
        manifest_hash="ab" * 32,
        credential="cd" * 32,
        selections=[0, 1, 1],
        max_choices=2,
        rng=rng("kat-ballot"),
    )
    ct = elgamal.Ciphertext.from_json(ballot["choices"][1])
    partial = elgamal.partial_decrypt(share.secret, ct, "kat", rng("kat-partial"))
    key_proof = elgamal.prove_key(share.secret, "kat-vote|trustee|1", rng("kat-key"))
    assert ballots.digest(key_proof) == KAT_KEY_PROOF
    assert ballots.tracker(ballot) == KAT_BALLOT
    assert ballots.digest(partial) == KAT_PARTIAL


KAT_KEY_PROOF = "8551466ccb6117a7e36b8c93478ac91bbd0642f8a4395bf3a56eb5c37214f2b3"
KAT_BALLOT = "06772f081f5c509588d4e9635e951adbdb910d7b9537cf6f604174eaa6505ee6"
KAT_PARTIAL = "25f0625686d29d695d3151d6189bee85789f88d2814ea127148cc49b1035dba3"


def test_numbers_have_one_spelling() -> None:
    value = group.hex_element(int(group.G))
    assert group.element(value) == int(group.G)
    others: list[Any] = [value.upper(), "0x" + value[2:], " " + value[1:], "+" + value[1:], int(group.G)]
    for other in others:  # the last: a JSON number where hex is expected
        with pytest.raises(group.GroupError):
            group.element(other)


def test_the_identity_is_not_a_key() -> None:
    with pytest.raises(group.GroupError):
        group.public_key(group.hex_element(1))


def test_the_verifier_reports_malformed_boards_instead_of_crashing() -> None:
    from shequ.participation.crypto.verifier import verify

    boards: list[Any] = [
        [],
        {"format": "shequ-board/1", "entries": [1]},
        {"format": "x"},
        {"format": "shequ-board/1", "entries": [{"payload": {}}]},
    ]
    for board in boards:
        report = verify(board)
        assert not report.ok and report.problems
