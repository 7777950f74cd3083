"""Encrypted ballots: one ciphertext per option (0 or 1, each with its range proof) and a proof that
the choices add up to at most ``max_choices`` — a ballot over the allowed choices cannot be
proved, so it is refused at the box rather than counted as spoilt.

Every proof is bound to the vote's manifest hash and the ballot's credential (the voter's
pseudonym), so a ballot copied from the board cannot be cast again under another credential.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from shequ.participation.crypto.elgamal import (
    Ciphertext,
    ProofError,
    encrypt,
    product,
    prove_range,
    verify_range,
)
from shequ.participation.crypto.group import GroupError, Q, random_exponent

CREDENTIAL_LEN = 64


class BallotError(ValueError):
    """A ballot the box refuses, with the reason."""


def canonical(data: Any) -> str:
    """The one JSON text of ``data`` that everyone hashes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: Any) -> str:
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def tracker(ballot: dict[str, Any]) -> str:
    """The ballot's tracker: what the voter keeps and finds on the board."""
    return digest(ballot)


def _context(manifest_hash: str, credential: str, part: str) -> str:
    return f"{manifest_hash}|{credential}|{part}"


def encrypt_ballot(
    *,
    key: int,
    manifest_hash: str,
    credential: str,
    selections: Sequence[int],
    max_choices: int,
    rng: Any = random_exponent,
) -> dict[str, Any]:
    """The encrypted ballot for ``selections`` (0/1 per option). The browser does the same in
    ballot.js; this one serves tests, the benchmark and the counter's paper-ballot entry."""
    if any(s not in (0, 1) for s in selections):
        raise BallotError("each option is chosen (1) or not (0)")
    if sum(selections) > max_choices:
        raise BallotError(f"at most {max_choices} choices")
    choices: list[dict[str, Any]] = []
    cts: list[Ciphertext] = []
    total_r = 0
    for i, m in enumerate(selections):
        r = rng()
        ct = encrypt(key, m, r)
        proof = prove_range(key, ct, m, r, 1, _context(manifest_hash, credential, str(i)), rng)
        choices.append({**ct.to_json(), "proof": proof})
        cts.append(ct)
        total_r += r
    total = prove_range(
        key,
        product(cts),
        sum(selections),
        total_r % int(Q),
        max_choices,
        _context(manifest_hash, credential, "total"),
        rng,
    )
    return {"credential": credential, "choices": choices, "total": total}


def verify_ballot(
    *, key: int, manifest_hash: str, ballot: object, options: int, max_choices: int
) -> list[Ciphertext]:
    """The ballot's ciphertexts once every proof verifies; else BallotError with the reason."""
    if not isinstance(ballot, dict) or set(ballot) != {"credential", "choices", "total"}:
        raise BallotError("a ballot has exactly: credential, choices, total")
    credential, choices = ballot["credential"], ballot["choices"]
    if not isinstance(credential, str) or len(credential) != CREDENTIAL_LEN:
        raise BallotError("the ballot's credential is malformed")
    if not isinstance(choices, list) or len(choices) != options:
        raise BallotError(f"the ballot must have {options} choices, one per option")
    cts: list[Ciphertext] = []
    try:
        for i, choice in enumerate(choices):
            if not isinstance(choice, dict) or set(choice) != {"a", "b", "proof"}:
                raise BallotError(f"choice {i + 1} is malformed")
            ct = Ciphertext.from_json(choice)
            verify_range(key, ct, choice["proof"], 1, _context(manifest_hash, credential, str(i)))
            cts.append(ct)
        verify_range(
            key, product(cts), ballot["total"], max_choices, _context(manifest_hash, credential, "total")
        )
    except ProofError as exc:
        raise BallotError(f"the ballot's proofs do not verify ({exc}); over {max_choices} choices?") from exc
    except GroupError as exc:
        raise BallotError(f"the ballot holds a malformed number ({exc})") from exc
    return cts
