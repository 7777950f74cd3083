"""Field encryption (SM4-GCM) and blind indexes (HMAC-SM3) for personal data.

Ciphertext format stored in the database: ``sm4gcm:<key id>:<base64(nonce | ciphertext | tag)>``.
The associated data binds a ciphertext to its row and column, so a value copied into
another row or column fails to decrypt instead of silently moving personal data.

Keys come from settings (``FIELD_KEYS``, ``FIELD_KEY_CURRENT``, ``INDEX_KEY``), never from the
database. Parsed keys are cached by their value, so changing settings (key rotation, tests with
``override_settings``) takes effect at once.
"""

from __future__ import annotations

import base64
import os
import re
import unicodedata
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

PREFIX = "sm4gcm"
NONCE_BYTES = 12
TAG_BYTES = 16
INDEX_KEY_MIN_BYTES = 16
# Key ids appear inside the ciphertext between colons.
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class CryptoError(Exception):
    """A ciphertext could not be decrypted (wrong row, tampered, or unknown key)."""


@lru_cache(maxsize=64)
def _parse_field_key(key_id: str, hex_value: str) -> bytes:
    try:
        key = bytes.fromhex(hex_value)
    except ValueError as exc:
        raise CryptoError(f"field key {key_id!r} is not hexadecimal") from exc
    if len(key) != 16:
        raise CryptoError(f"field key {key_id!r} must be 16 bytes (32 hex characters)")
    return key


def _key(key_id: str) -> bytes:
    hex_value = settings.FIELD_KEYS.get(key_id)
    if hex_value is None:
        raise CryptoError(f"unknown field key id {key_id!r}")
    return _parse_field_key(key_id, hex_value)


@lru_cache(maxsize=64)
def _parsed_algorithm(key_id: str, hex_value: str) -> algorithms.SM4:
    # Checked and built once per key: bulk imports seal hundreds of thousands of values.
    return algorithms.SM4(_parse_field_key(key_id, hex_value))


def _algorithm(key_id: str) -> algorithms.SM4:
    hex_value = settings.FIELD_KEYS.get(key_id)
    if hex_value is None:
        raise CryptoError(f"unknown field key id {key_id!r}")
    return _parsed_algorithm(key_id, hex_value)


@lru_cache(maxsize=8)
def _parse_index_key(hex_value: str) -> bytes:
    try:
        key = bytes.fromhex(hex_value)
    except ValueError as exc:
        raise CryptoError("INDEX_KEY is not hexadecimal") from exc
    if len(key) < INDEX_KEY_MIN_BYTES:
        raise CryptoError(f"INDEX_KEY must be at least {INDEX_KEY_MIN_BYTES} bytes")
    return key


def _index_key() -> bytes:
    return _parse_index_key(str(settings.INDEX_KEY))


@lru_cache(maxsize=8)
def _keyed_mac(hex_value: str) -> hmac.HMAC:
    """An HMAC-SM3 context holding the key, never finalized: each index copies it instead of
    keying a new one (half the cost per value)."""
    return hmac.HMAC(_parse_index_key(hex_value), hashes.SM3())


def current_key_id() -> str:
    return str(settings.FIELD_KEY_CURRENT)


# Keys proven against the database's canaries in this process (shequ/core/keys.py), by id and value:
# the first encryption under a key id (or blind index under an index key) checks that it is the key
# that wrote the stored data and records a canary; later ones cost a set lookup.
_proven_field_keys: set[tuple[str, str]] = set()
_proven_index_keys: set[str] = set()
# Set by keys.reindexing() while ``rotate_keys --reindex`` rebuilds the indexes under a new key.
_index_proof_suspended = False


def _prove_field_key(key_id: str) -> None:
    hex_value = settings.FIELD_KEYS.get(key_id)
    if hex_value is None or (key_id, hex_value) in _proven_field_keys:
        return
    from shequ.core import keys

    keys.prove_field_key(key_id)  # raises KeyCheckError; may adopt a dev key file written meanwhile
    _proven_field_keys.add((key_id, settings.FIELD_KEYS[key_id]))


def _prove_index_key() -> None:
    hex_value = str(settings.INDEX_KEY)
    if hex_value in _proven_index_keys or _index_proof_suspended:
        return
    from shequ.core import keys

    keys.prove_index_key()
    _proven_index_keys.add(str(settings.INDEX_KEY))


def forget_proven_keys() -> None:
    """For tests and after a key import: prove the keys again on next use."""
    _proven_field_keys.clear()
    _proven_index_keys.clear()


def encrypt(plaintext: str, aad: str, key_id: str | None = None) -> str:
    key_id = key_id or current_key_id()
    if not _KEY_ID.match(key_id):
        raise CryptoError(f"invalid field key id {key_id!r}")
    _prove_field_key(key_id)
    return seal(plaintext, aad, key_id)


def seal(plaintext: str, aad: str, key_id: str) -> str:
    """Encrypt without the canary proof: for the canaries themselves and the self-test."""
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(_algorithm(key_id), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad.encode())
    body = encryptor.update(plaintext.encode()) + encryptor.finalize()
    blob = base64.b64encode(nonce + body + encryptor.tag).decode()
    return f"{PREFIX}:{key_id}:{blob}"


def seal_bytes(key: bytes, data: bytes, aad: bytes) -> bytes:
    """SM4-GCM under a key given here, not from settings (the key escrow's wrapping key):
    nonce | ciphertext | tag."""
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(data) + encryptor.finalize()
    return nonce + body + encryptor.tag


def open_bytes(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("sealed data too short")
    nonce, body, tag = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as exc:
        raise CryptoError("the wrong key, or the sealed data was altered") from exc


def fingerprint(kind: str, key: bytes) -> str:
    """A short name for a key that reveals nothing of it (SM3, domain-separated by kind)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"shequ-key-fingerprint\n" + kind.encode() + b"\n" + key)
    return digest.finalize().hex()[:16]


def field_key_bytes(key_id: str) -> bytes:
    return _key(key_id)


def index_key_bytes() -> bytes:
    return _index_key()


def is_ciphertext(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":") and value.count(":") >= 2


def key_id_of(ciphertext: str) -> str:
    if not is_ciphertext(ciphertext):
        raise CryptoError("malformed ciphertext")
    return ciphertext.split(":", 2)[1]


def decrypt(ciphertext: str, aad: str) -> str:
    try:
        prefix, key_id, blob = ciphertext.split(":", 2)
        raw = base64.b64decode(blob, validate=True)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise CryptoError("malformed ciphertext") from exc
    if prefix != PREFIX or len(raw) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("malformed ciphertext")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(_algorithm(key_id), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad.encode())
    try:
        return (decryptor.update(body) + decryptor.finalize()).decode()
    except InvalidTag as exc:
        raise CryptoError("ciphertext does not belong to this row or was altered") from exc


# Separators people type inside phone and ID numbers: whitespace of any width and dashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalize(value: str) -> str:
    """Full-width digits and letters to half-width, no spaces or dashes, upper case: the indexed form."""
    if value.isascii() and value.isalnum():  # already clean (NFKC leaves ASCII letters and digits)
        return value.upper()
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


def blind_index(value: str, purpose: str) -> str:
    """HMAC-SM3 of the normalized value; ``purpose`` separates index domains (id number vs phone)."""
    _prove_index_key()
    return raw_blind_index(value, purpose)


def raw_blind_index(value: str, purpose: str) -> str:
    """The blind index without the canary proof: for the canary itself and the self-test."""
    mac = _keyed_mac(str(settings.INDEX_KEY)).copy()
    mac.update(purpose.encode() + b"\x00" + normalize(value).encode())
    return mac.finalize().hex()


# Published test vectors: GB/T 32905 (SM3 "abc") and GB/T 32907 (SM4 example 1).
_SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
_SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
_SM4_CIPHER = "681edf34d206965e86b3e94f536e4246"


def self_test() -> None:
    """Refuse to run when this build of OpenSSL lacks SM3 or SM4, or the keys are unusable
    (security requirement 10). Raises RuntimeError."""
    try:
        digest = hashes.Hash(hashes.SM3())
        digest.update(b"abc")
        sm3_ok = digest.finalize().hex() == _SM3_ABC
        enc = Cipher(algorithms.SM4(_SM4_KEY), modes.ECB()).encryptor()  # noqa: S305 - known-answer test only
        sm4_ok = (enc.update(_SM4_KEY) + enc.finalize()).hex() == _SM4_CIPHER
        sealed = seal("self-test", "self-test", key_id=current_key_id())
        roundtrip_ok = decrypt(sealed, "self-test") == "self-test"
        index_ok = len(raw_blind_index("self-test", "self-test")) == 64
        for key_id in settings.FIELD_KEYS:  # every configured key must at least parse
            _key(key_id)
        # The index key must be its own key: reusing a field key would tie the two together.
        separate_ok = _index_key() not in {_key(k) for k in settings.FIELD_KEYS}
    except Exception as exc:  # any failure of the primitives or keys means we must not start
        raise RuntimeError(f"SM3/SM4 self-test failed: {exc}") from exc
    if not (sm3_ok and sm4_ok and roundtrip_ok and index_ok):
        raise RuntimeError("SM3/SM4 self-test failed: known-answer mismatch")
    if not separate_ok:
        raise RuntimeError("SM3/SM4 self-test failed: INDEX_KEY must differ from every field key")
