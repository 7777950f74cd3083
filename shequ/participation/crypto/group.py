"""The group every vote uses: a 2048-bit prime ``P`` with a 256-bit prime-order subgroup ``Q``,
generated from a public seed so nobody could have chosen it with a trapdoor (``derive()``; a test
repeats the derivation). Arithmetic runs on gmpy2 (GMP): a 2048-bit exponentiation with a 256-bit
exponent takes about 0.3 ms there against 2.3 ms with Python's ``pow``.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import gmpy2

Q_SEED = b"shequ/participation/q/v1"
P_SEED = b"shequ/participation/p/v1/"
P_COUNTER = 2946  # the first counter whose candidate is a 2048-bit prime (a test checks the ones below)

Q = gmpy2.mpz(0x844719D116A245CD1DD173383109D02EBA4999D9B16F04350EB359D13E865D99)
P = gmpy2.mpz(
    0x815E7E84AC51B3FF07B47FD0FFE39230DD986839C6CE74D1CD1262A91A4331530F476444565280BDAB88F7BD7313280718EEED05A615EE42C1D4E82A250263F01245C528698E19EF04C8920AA8185A1B03AA473D802D7AA775B953CB65974D5CA11DC8F79C05BD3EB6E831D56DF1548428BE8A32022AF4E438BCCCC224F5485FD911901051CAE417F02D9A88D4060658A951DE1515EC8398832FC92F85E8DADC416F74C9FB21608E96A177772B3787F721002BF637167EF744AC554CC9BFEF8691C26A9DE38CC3CDA9044A13626EFB070F2E9A6178C94CF1383F7DF6117191177BFF3F844ECF9247EC5EE5BAFAA81E2BC8843999A5F331C679ED884C30230685
)
G = gmpy2.powmod(2, (P - 1) // Q, P)

P_HEX_LEN = 512  # every element is written as 512 lowercase hex digits
Q_HEX_LEN = 64  # every exponent as 64


_HEX = {width: re.compile(f"[0-9a-f]{{{width}}}") for width in (64, 512)}


class GroupError(ValueError):
    """A value that is not in the group (or not an exponent): the input is refused, not repaired."""


def derive(counter: int = P_COUNTER) -> tuple[int, int, int]:
    """Recompute (P, Q, G) from the seeds: Q is the next prime above SHA-256(Q_SEED) with its top bit
    set; P = k·Q + 1 with k from SHAKE-256(P_SEED + counter), 1792 bits, top bit set, even; the
    counter is the first whose P has 2048 bits and is prime; G = 2^((P−1)/Q)."""
    q = gmpy2.next_prime(int.from_bytes(hashlib.sha256(Q_SEED).digest(), "big") | (1 << 255))
    stream = hashlib.shake_256(P_SEED + str(counter).encode()).digest(224)
    k = int.from_bytes(stream, "big") | (1 << 1791)
    k -= k % 2
    p = k * q + 1
    return int(p), int(q), int(gmpy2.powmod(2, (p - 1) // q, p))


def powmod(base: int, exp: int) -> int:
    return int(gmpy2.powmod(base, exp, P))


def mulmod(a: int, b: int) -> int:
    return int(gmpy2.f_mod(gmpy2.mpz(a) * b, P))


def inverse(a: int) -> int:
    return int(gmpy2.invert(a, P))


def random_exponent() -> int:
    """A uniformly random exponent in [1, Q)."""
    return 1 + secrets.randbelow(int(Q) - 1)


def element(value: str) -> int:
    """A group member from its hex form; anything outside the subgroup is refused (a value outside
    it could leak a secret key's bits: the small-subgroup attack)."""
    number = _parse(value, P_HEX_LEN)
    if not 1 <= number < P or gmpy2.powmod(number, Q, P) != 1:
        raise GroupError("not an element of the group")
    return number


def exponent(value: str) -> int:
    number = _parse(value, Q_HEX_LEN)
    if not 0 <= number < Q:
        raise GroupError("not an exponent of the group")
    return number


def _parse(value: str, width: int) -> int:
    # One spelling per number (lowercase hex of fixed width, never a JSON number): a ballot
    # re-encoded as "0x…", "+…", in capitals or as integers would verify under another tracker.
    if not isinstance(value, str) or not _HEX[width].fullmatch(value):
        raise GroupError(f"expected {width} lowercase hexadecimal digits")
    return int(value, 16)


def public_key(value: str) -> int:
    """A key (a trustee's share or the joint key): a group element other than 1, which would
    encrypt nothing."""
    number = element(value)
    if number == 1:
        raise GroupError("the identity is not a key")
    return number


def hex_element(value: int) -> str:
    return format(value, f"0{P_HEX_LEN}x")


def hex_exponent(value: int) -> str:
    return format(value, f"0{Q_HEX_LEN}x")


def hash_to_exponent(*parts: str) -> int:
    """The Fiat–Shamir challenge: SHA-256 of the parts (hex forms, tags) joined by "|", mod Q."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest(), "big") % int(Q)
