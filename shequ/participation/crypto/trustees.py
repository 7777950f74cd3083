"""What a trustee's phone does (static/participation/ballot.js), in Python for tests, the demo,
the benchmark and the platform's own key share for polls: make a key share with its proof, and
give a share of the count with its proofs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shequ.participation.crypto.elgamal import Ciphertext, Random, partial_decrypt, prove_key
from shequ.participation.crypto.group import G, hex_element, hex_exponent, powmod, random_exponent
from shequ.participation.crypto.verifier import decrypt_context, key_context


@dataclass(frozen=True)
class KeyShare:
    secret: int
    public: int
    proof: dict[str, str]

    @property
    def public_hex(self) -> str:
        return hex_element(self.public)

    @property
    def secret_hex(self) -> str:
        return hex_exponent(self.secret)


def make_key_share(
    vote_uid: str, position: int, secret: int | None = None, rng: Random = random_exponent
) -> KeyShare:
    x = secret if secret is not None else rng()
    return KeyShare(x, powmod(G, x), prove_key(x, key_context(vote_uid, position), rng))


def count_shares(
    secret: int,
    manifest_hash: str,
    position: int,
    totals: Sequence[Ciphertext],
    part: str = "shares",
    rng: Random = random_exponent,
) -> list[dict[str, Any]]:
    return [
        partial_decrypt(secret, total, decrypt_context(manifest_hash, position, part, i), rng)
        for i, total in enumerate(totals)
    ]
