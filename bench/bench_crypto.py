"""Cost of protecting one personal-data value: SM4-GCM encryption and decryption, and the HMAC-SM3
blind index, each against a baseline measured in the same run (AES-128-GCM via ``AESGCM``, and
HMAC-SHA256, wrapped the same way: same normalization, nonce, base64 and key-id framing).

Prints µs per operation and the ratio to the baseline. No database is touched.
``.venv/bin/python bench/bench_crypto.py [iterations]``
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")

import django

django.setup()

from cryptography.hazmat.primitives import hashes, hmac  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from shequ.core import crypto  # noqa: E402

VALUE = "13812345678"
AAD = "core.user.phone:6f1c0a52-3a7e-4f1e-9a55-1d2b3c4d5e6f"
AES_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
HMAC_KEY = bytes.fromhex("ab" * 32)


def aes_encrypt(plaintext: str, aad: str) -> str:
    nonce = os.urandom(crypto.NONCE_BYTES)
    body = AESGCM(AES_KEY).encrypt(nonce, plaintext.encode(), aad.encode())
    return f"aesgcm:k1:{base64.b64encode(nonce + body).decode()}"


def aes_decrypt(ciphertext: str, aad: str) -> str:
    _, _, blob = ciphertext.split(":", 2)
    raw = base64.b64decode(blob, validate=True)
    return (
        AESGCM(AES_KEY).decrypt(raw[: crypto.NONCE_BYTES], raw[crypto.NONCE_BYTES :], aad.encode()).decode()
    )


def hmac_sha256_index(value: str, purpose: str) -> str:
    mac = hmac.HMAC(HMAC_KEY, hashes.SHA256())
    mac.update(purpose.encode() + b"\x00" + crypto.normalize(value).encode())
    return mac.finalize().hex()


def _mean_us(fn: Callable[[], object], iterations: int) -> float:
    t0 = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - t0) / iterations * 1e6


def compare(
    ours: Callable[[], object], base: Callable[[], object], iterations: int, repeats: int = 9
) -> tuple[float, float, float]:
    """Median µs per call of each, and the median of the per-run ratios. The two alternate run by
    run, so a busy machine slows both alike instead of skewing the ratio."""
    for _ in range(min(iterations, 1000)):  # warm-up
        ours()
        base()
    ours_runs, base_runs = [], []
    for _ in range(repeats):
        ours_runs.append(_mean_us(ours, iterations))
        base_runs.append(_mean_us(base, iterations))
    ratios = [o / b for o, b in zip(ours_runs, base_runs, strict=True)]
    return statistics.median(ours_runs), statistics.median(base_runs), statistics.median(ratios)


def main(iterations: int = 20000) -> None:
    crypto.self_test()
    sealed = crypto.encrypt(VALUE, AAD)
    aes_sealed = aes_encrypt(VALUE, AAD)
    assert crypto.decrypt(sealed, AAD) == VALUE and aes_decrypt(aes_sealed, AAD) == VALUE
    cases = [
        (
            "encrypt one value",
            lambda: crypto.encrypt(VALUE, AAD),
            "SM4-GCM",
            lambda: aes_encrypt(VALUE, AAD),
            "AES-128-GCM",
        ),
        (
            "decrypt one value",
            lambda: crypto.decrypt(sealed, AAD),
            "SM4-GCM",
            lambda: aes_decrypt(aes_sealed, AAD),
            "AES-128-GCM",
        ),
        (
            "blind index of one value",
            lambda: crypto.blind_index(VALUE, "phone"),
            "HMAC-SM3",
            lambda: hmac_sha256_index(VALUE, "phone"),
            "HMAC-SHA256",
        ),
    ]
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend

    print(
        f"cryptography {cryptography.__version__}, {backend.openssl_version_text()}, "
        f"{iterations} iterations × 9 alternating runs (medians)"
    )
    print(f"{'operation':<26} {'shequ':>12} {'µs':>8}   {'baseline':>12} {'µs':>8}   ratio")
    for name, ours, ours_label, base, base_label in cases:
        ours_us, base_us, ratio = compare(ours, base, iterations)
        print(f"{name:<26} {ours_label:>12} {ours_us:8.2f}   {base_label:>12} {base_us:8.2f}   {ratio:5.2f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
