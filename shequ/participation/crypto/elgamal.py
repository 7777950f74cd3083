"""Exponential ElGamal and the zero-knowledge proofs a vote needs (Cramer–Damgård–Schoenmakers
disjunctions, Chaum–Pedersen equalities, Schnorr proofs of knowledge), in the compact
(challenge, response) form: a verifier recomputes the commitments and the challenge from them.

A message ``m`` (0 or 1 per option; a count in a tally) is encrypted under the joint key
``K = g^(x1+…+xn)`` as ``(a, b) = (g^r, K^r · g^m)``. Products of ciphertexts encrypt sums, so the
tally is computed on the encrypted ballots and only the total is ever decrypted, by each trustee's
share: ``d_i = a^x_i``, then ``g^m = b / ∏ d_i`` and ``m`` is a small discrete logarithm.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gmpy2

from shequ.participation.crypto.group import (
    G,
    GroupError,
    P,
    Q,
    element,
    exponent,
    hash_to_exponent,
    hex_element,
    hex_exponent,
    inverse,
    mulmod,
    powmod,
    random_exponent,
)

Random = Callable[[], int]


class ProofError(ValueError):
    """A proof that does not verify (or is malformed)."""


@dataclass(frozen=True)
class Ciphertext:
    a: int
    b: int

    def to_json(self) -> dict[str, str]:
        return {"a": hex_element(self.a), "b": hex_element(self.b)}

    @classmethod
    def from_checked_json(cls, data: dict[str, str]) -> Ciphertext:
        """A ciphertext this box already checked (at casting): parsed without the subgroup test,
        two exponentiations each that closing 10,000 ballots would otherwise repeat."""
        return cls(int(data["a"], 16), int(data["b"], 16))

    @classmethod
    def from_json(cls, data: object) -> Ciphertext:
        if not isinstance(data, dict) or not {"a", "b"} <= set(data):
            raise GroupError("a ciphertext is an object with a and b")
        return cls(element(data.get("a", "")), element(data.get("b", "")))

    def __mul__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(mulmod(self.a, other.a), mulmod(self.b, other.b))

    def weighted(self, weight: int) -> Ciphertext:
        """The ciphertext of ``weight · m``: an owner's vote counted by floor area."""
        return Ciphertext(powmod(self.a, weight), powmod(self.b, weight))


ONE = Ciphertext(1, 1)  # encrypts 0 with no randomness: the start of a product


def product(ciphertexts: Sequence[Ciphertext]) -> Ciphertext:
    a, b = gmpy2.mpz(1), gmpy2.mpz(1)
    for c in ciphertexts:
        a = gmpy2.f_mod(a * c.a, P)
        b = gmpy2.f_mod(b * c.b, P)
    return Ciphertext(int(a), int(b))


def encrypt(key: int, m: int, r: int) -> Ciphertext:
    return Ciphertext(powmod(G, r), mulmod(powmod(key, r), powmod(G, m)))


# --- Proof of knowledge of a secret key (a trustee's share) ------------------------------------------


def prove_key(secret: int, context: str, rng: Random = random_exponent) -> dict[str, str]:
    public = powmod(G, secret)
    w = rng()
    c = hash_to_exponent("key", context, hex_element(public), hex_element(powmod(G, w)))
    v = (w - c * secret) % Q
    return {"c": hex_exponent(c), "v": hex_exponent(int(v))}


def verify_key(public: int, proof: object, context: str) -> None:
    if not isinstance(proof, dict) or set(proof) != {"c", "v"}:
        raise ProofError("a key proof is an object with exactly c and v")
    c, v = _pair(proof)
    commitment = mulmod(powmod(G, v), powmod(public, c))
    if hash_to_exponent("key", context, hex_element(public), hex_element(commitment)) != c:
        raise ProofError("the key proof does not verify")


# --- The disjunctive range proof: a ciphertext encrypts one of 0, 1, …, limit ------------------------


def prove_range(
    key: int, ct: Ciphertext, m: int, r: int, limit: int, context: str, rng: Random = random_exponent
) -> dict[str, list[str]]:
    if not 0 <= m <= limit:
        raise ProofError("the value is outside the range it is proved in")
    challenges: list[int] = [0] * (limit + 1)
    responses: list[int] = [0] * (limit + 1)
    commitments: list[str] = []
    w = rng()
    for j in range(limit + 1):
        if j == m:
            alpha, beta = powmod(G, w), powmod(key, w)
        else:
            challenges[j], responses[j] = rng(), rng()
            alpha, beta = _commitments(key, ct, j, challenges[j], responses[j])
        commitments += [hex_element(alpha), hex_element(beta)]
    c = _range_challenge(key, ct, limit, context, commitments)
    challenges[m] = int((c - sum(challenges)) % Q)
    responses[m] = int((w - challenges[m] * r) % Q)
    return {"c": [hex_exponent(x) for x in challenges], "v": [hex_exponent(x) for x in responses]}


def verify_range(key: int, ct: Ciphertext, proof: object, limit: int, context: str) -> None:
    if not isinstance(proof, dict) or set(proof) != {"c", "v"}:
        raise ProofError("a range proof is an object with exactly c and v")
    cs, vs = proof.get("c"), proof.get("v")
    if not isinstance(cs, list) or not isinstance(vs, list) or len(cs) != limit + 1 or len(vs) != limit + 1:
        raise ProofError(f"a range proof over 0…{limit} has {limit + 1} challenges and responses")
    challenges, responses = [exponent(x) for x in cs], [exponent(x) for x in vs]
    commitments: list[str] = []
    for j in range(limit + 1):
        alpha, beta = _commitments(key, ct, j, challenges[j], responses[j])
        commitments += [hex_element(alpha), hex_element(beta)]
    if _range_challenge(key, ct, limit, context, commitments) != sum(challenges) % Q:
        raise ProofError("the range proof does not verify")


def _commitments(key: int, ct: Ciphertext, j: int, c: int, v: int) -> tuple[int, int]:
    # The prover answered v = w − c·r, so g^v·a^c = g^w and K^v·(b/g^j)^c = K^w when b = K^r·g^j.
    alpha = mulmod(powmod(G, v), powmod(ct.a, c))
    shifted = mulmod(ct.b, inverse(powmod(G, j))) if j else ct.b
    beta = mulmod(powmod(key, v), powmod(shifted, c))
    return alpha, beta


def _range_challenge(key: int, ct: Ciphertext, limit: int, context: str, commitments: list[str]) -> int:
    return hash_to_exponent(
        "range", context, str(limit), hex_element(key), hex_element(ct.a), hex_element(ct.b), *commitments
    )


# --- Partial decryption by one trustee, with its Chaum–Pedersen proof ---------------------------------


def partial_decrypt(
    secret: int, ct: Ciphertext, context: str, rng: Random = random_exponent
) -> dict[str, str]:
    share = powmod(ct.a, secret)
    w = rng()
    public = powmod(G, secret)
    c = hash_to_exponent(
        "decrypt",
        context,
        hex_element(public),
        hex_element(ct.a),
        hex_element(share),
        hex_element(powmod(G, w)),
        hex_element(powmod(ct.a, w)),
    )
    v = (w - c * secret) % Q
    return {"d": hex_element(share), "c": hex_exponent(c), "v": hex_exponent(int(v))}


def verify_partial(public: int, ct: Ciphertext, partial: object, context: str) -> int:
    """The trustee's share ``a^x_i`` once its proof verifies."""
    if not isinstance(partial, dict) or set(partial) != {"d", "c", "v"}:
        raise ProofError("a partial decryption is an object with exactly d, c and v")
    share = element(partial.get("d", ""))
    c, v = _pair(partial)
    t1 = mulmod(powmod(G, v), powmod(public, c))
    t2 = mulmod(powmod(ct.a, v), powmod(share, c))
    expected = hash_to_exponent(
        "decrypt",
        context,
        hex_element(public),
        hex_element(ct.a),
        hex_element(share),
        hex_element(t1),
        hex_element(t2),
    )
    if expected != c:
        raise ProofError("the partial decryption proof does not verify")
    return share


def combine(ct: Ciphertext, shares: Sequence[int], bound: int) -> int:
    """The plaintext of ``ct`` from all trustees' shares, known to lie in [0, bound]."""
    shared = 1
    for share in shares:
        shared = mulmod(shared, share)
    return discrete_log(mulmod(ct.b, inverse(shared)), bound)


def discrete_log(target: int, bound: int) -> int:
    """``m`` in [0, bound] with ``g^m = target`` (baby-step giant-step: √bound steps each way)."""
    step = max(1, math.isqrt(bound) + 1)
    baby: dict[int, int] = {}
    value = 1
    for j in range(step):
        baby.setdefault(value, j)
        value = mulmod(value, int(G))
    giant = inverse(powmod(G, step))
    value = target
    for i in range(step + 1):
        if value in baby and i * step + baby[value] <= bound:
            return i * step + baby[value]
        value = mulmod(value, giant)
    raise ProofError(f"the decrypted value is not between 0 and {bound}")


def _pair(proof: object) -> tuple[int, int]:
    if not isinstance(proof, dict) or not {"c", "v"} <= set(proof):
        raise ProofError("a proof is an object with c and v")
    return exponent(proof.get("c", "")), exponent(proof.get("v", ""))
