"""Field encryption (SM4-GCM) and blind indexes (HMAC-SM3) for personal data.

Ciphertext format stored in the database: ``sm4gcm:<key id>:<base64(nonce | ciphertext | tag)>``.
The associated data binds a ciphertext to its row and column, so a value copied into
another row or column fails to decrypt instead of silently moving personal data.
"""

from __future__ import annotations

import base64
import os
import unicodedata
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

PREFIX = "sm4gcm"
NONCE_BYTES = 12
TAG_BYTES = 16


class CryptoError(Exception):
    """A ciphertext could not be decrypted (wrong row, tampered, or unknown key)."""


@lru_cache(maxsize=16)
def _key(key_id: str) -> bytes:
    try:
        key = bytes.fromhex(settings.FIELD_KEYS[key_id])
    except KeyError as exc:
        raise CryptoError(f"unknown field key id {key_id!r}") from exc
    if len(key) != 16:
        raise CryptoError(f"field key {key_id!r} must be 16 bytes (32 hex characters)")
    return key


@lru_cache(maxsize=1)
def _index_key() -> bytes:
    return bytes.fromhex(settings.INDEX_KEY)


def current_key_id() -> str:
    return str(settings.FIELD_KEY_CURRENT)


def encrypt(plaintext: str, aad: str, key_id: str | None = None) -> str:
    key_id = key_id or current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(_key(key_id)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad.encode())
    body = encryptor.update(plaintext.encode()) + encryptor.finalize()
    blob = base64.b64encode(nonce + body + encryptor.tag).decode()
    return f"{PREFIX}:{key_id}:{blob}"


def key_id_of(ciphertext: str) -> str:
    return ciphertext.split(":", 2)[1]


def decrypt(ciphertext: str, aad: str) -> str:
    try:
        prefix, key_id, blob = ciphertext.split(":", 2)
        raw = base64.b64decode(blob, validate=True)
    except ValueError as exc:
        raise CryptoError("malformed ciphertext") from exc
    if prefix != PREFIX or len(raw) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("malformed ciphertext")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(_key(key_id)), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad.encode())
    try:
        return (decryptor.update(body) + decryptor.finalize()).decode()
    except InvalidTag as exc:
        raise CryptoError("ciphertext does not belong to this row or was altered") from exc


def normalize(value: str) -> str:
    """Full-width digits and letters to half-width, no spaces, upper case: the form that is indexed."""
    return unicodedata.normalize("NFKC", value).replace(" ", "").strip().upper()


def blind_index(value: str, purpose: str) -> str:
    """HMAC-SM3 of the normalized value; ``purpose`` separates index domains (id number vs phone)."""
    mac = hmac.HMAC(_index_key(), hashes.SM3())
    mac.update(purpose.encode() + b"\x00" + normalize(value).encode())
    return mac.finalize().hex()


# Published test vectors: GB/T 32905 (SM3 "abc") and GB/T 32907 (SM4 example 1).
_SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
_SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
_SM4_CIPHER = "681edf34d206965e86b3e94f536e4246"


def self_test() -> None:
    """Refuse to run when this build of OpenSSL lacks SM3 or SM4 (security requirement 10)."""
    try:
        digest = hashes.Hash(hashes.SM3())
        digest.update(b"abc")
        sm3_ok = digest.finalize().hex() == _SM3_ABC
        enc = Cipher(algorithms.SM4(_SM4_KEY), modes.ECB()).encryptor()  # noqa: S305 - known-answer test only
        sm4_ok = (enc.update(_SM4_KEY) + enc.finalize()).hex() == _SM4_CIPHER
        sealed = encrypt("self-test", "self-test", key_id=current_key_id())
        roundtrip_ok = decrypt(sealed, "self-test") == "self-test"
    except Exception as exc:  # any failure of the primitives means we must not start
        raise RuntimeError(f"SM3/SM4 self-test failed: {exc}") from exc
    if not (sm3_ok and sm4_ok and roundtrip_ok):
        raise RuntimeError("SM3/SM4 self-test failed: known-answer mismatch")
