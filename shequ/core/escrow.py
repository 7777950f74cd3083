"""Key escrow: the platform's keys split among custodians (``shequ keys export`` / ``import``).

The key bundle (field keys with their ids and the current id, the index key, the audit checkpoint
key, the secret key) is sealed with SM4-GCM under a random 16-byte wrapping key, and the wrapping
key is split with Shamir's secret sharing (pycryptodome, GF(2^128)): any ``threshold`` shares give
it back, fewer reveal nothing about it. Each custodian's file holds one share, the sealed bundle,
the set's id, the share's number and the threshold, when it was made, and fingerprints (of the
sealed bundle, so custodians can check their shares belong together, and of each key, so an
operator can compare them with ``shequ keys fingerprint``) — never a key in clear.

The sealed bundle lists the digest of every share: a share altered after export is named as such.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.hazmat.primitives import hashes
from django.conf import settings

from shequ.core import crypto

FORMAT = "shequ-key-share v1"
MAX_SHARES = 255


class EscrowError(Exception):
    """Shares that cannot give the keys back; the message says why."""


def _sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _aad(set_id: str, threshold: int, shares: int) -> bytes:
    return f"{FORMAT}\nset {set_id}\nthreshold {threshold}\nshares {shares}".encode()


def _share_digest(set_id: str, index: int, value: bytes) -> str:
    return _sm3(f"{FORMAT}\nset {set_id}\nshare {index}\n".encode() + value)


def current_bundle() -> dict[str, Any]:
    """The keys this process runs with."""
    return {
        "field_keys": dict(sorted(settings.FIELD_KEYS.items())),
        "field_key_current": str(settings.FIELD_KEY_CURRENT),
        "index_key": str(settings.INDEX_KEY),
        "audit_key": str(settings.AUDIT_CHECKPOINT_KEY),
        "secret_key": str(settings.SECRET_KEY),
    }


def bundle_fingerprints(bundle: dict[str, Any]) -> dict[str, str]:
    """Each key's short fingerprint (the same as ``shequ keys fingerprint`` prints)."""
    from shequ.core import audit

    def audit_id(raw: str) -> str:
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            key = raw.encode()
        return audit.key_id_of(key)

    out = {
        f"field key {key_id}": crypto.fingerprint("field", bytes.fromhex(value))
        for key_id, value in bundle["field_keys"].items()
    }
    out["index key"] = crypto.fingerprint("index", bytes.fromhex(bundle["index_key"]))
    out["audit key"] = audit_id(bundle["audit_key"])
    out["secret key"] = _sm3(b"shequ-secret-key-fingerprint\n" + bundle["secret_key"].encode())[:16]
    return out


@dataclass
class Share:
    path: Path
    body: dict[str, Any]

    @property
    def index(self) -> int:
        return int(self.body["share"])

    @property
    def value(self) -> bytes:
        return bytes.fromhex(self.body["value"])


def export(bundle: dict[str, Any], *, shares: int, threshold: int, out: Path) -> list[Path]:
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise EscrowError(
            f"need 2 <= threshold <= shares <= {MAX_SHARES} (got {threshold} of {shares}): "
            "with a threshold of 1 a single custodian would hold every key"
        )
    set_id = secrets.token_hex(8)
    wrapping = secrets.token_bytes(16)
    split = Shamir.split(threshold, shares, wrapping)
    payload = {
        "bundle": bundle,
        "share_digests": {str(i): _share_digest(set_id, i, value) for i, value in split},
    }
    sealed = crypto.seal_bytes(
        wrapping, json.dumps(payload, sort_keys=True).encode(), _aad(set_id, threshold, shares)
    )
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = []
    for index, value in split:
        body = {
            "format": FORMAT,
            "set": set_id,
            "share": index,
            "shares": shares,
            "threshold": threshold,
            "created_at": created,
            "bundle_fingerprint": _sm3(sealed)[:16],
            "key_fingerprints": bundle_fingerprints(bundle),
            "value": value.hex(),
            "sealed_bundle": base64.b64encode(sealed).decode(),
        }
        path = out / f"shequ-key-share-{set_id}-{index}-of-{shares}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
        paths.append(path)
    return paths


def read_share(path: Path) -> Share:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EscrowError(f"{path}: not a readable key share ({exc})") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise EscrowError(f"{path}: not a Shequ key share ({FORMAT})")
    try:
        int(body["share"]), int(body["threshold"]), int(body["shares"]), str(body["set"])
        if len(bytes.fromhex(body["value"])) != 16:
            raise ValueError("share value must be 16 bytes")
        base64.b64decode(body["sealed_bundle"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise EscrowError(f"{path}: damaged key share ({exc})") from exc
    return Share(path, body)


def _open(shares: list[Share]) -> dict[str, Any] | None:
    first = shares[0].body
    wrapping = Shamir.combine([(s.index, s.value) for s in shares])
    try:
        raw = crypto.open_bytes(
            wrapping,
            base64.b64decode(first["sealed_bundle"]),
            _aad(first["set"], int(first["threshold"]), int(first["shares"])),
        )
    except crypto.CryptoError:
        return None
    payload: dict[str, Any] = json.loads(raw)
    return payload


def recover(paths: list[Path]) -> dict[str, Any]:
    """The key bundle from at least ``threshold`` shares of one set; refuses anything less."""
    if not paths:
        raise EscrowError("give the share files to import")
    shares = [read_share(p) for p in paths]
    first = shares[0].body
    for share in shares[1:]:
        for name in ("set", "threshold", "shares", "sealed_bundle"):
            if share.body[name] != first[name]:
                raise EscrowError(
                    f"{share.path} belongs to another set of shares than {shares[0].path} "
                    f"(set {share.body['set']} vs {first['set']}, or its bundle differs): "
                    "use shares of one export"
                )
    by_index: dict[int, Share] = {}
    for share in shares:
        if share.index in by_index and by_index[share.index].value != share.value:
            raise EscrowError(f"{share.path} and {by_index[share.index].path} are both share {share.index}")
        by_index[share.index] = share
    threshold = int(first["threshold"])
    distinct = list(by_index.values())
    if len(distinct) < threshold:
        raise EscrowError(
            f"this set needs {threshold} different shares of {first['shares']}, got {len(distinct)}: "
            "fewer than the threshold reveal nothing of the keys"
        )
    payload = None
    for subset in itertools.islice(itertools.combinations(distinct, threshold), 1000):
        payload = _open(list(subset))
        if payload is not None:
            break
    if payload is None:
        raise EscrowError(
            "these shares do not open the key bundle: a share was altered or damaged "
            f"(set {first['set']}, bundle fingerprint {first['bundle_fingerprint']})"
        )
    digests = payload["share_digests"]
    for share in distinct:
        if digests.get(str(share.index)) != _share_digest(first["set"], share.index, share.value):
            raise EscrowError(f"{share.path}: share {share.index} was altered after the export")
    bundle: dict[str, Any] = payload["bundle"]
    return bundle


def env_lines(bundle: dict[str, Any]) -> list[str]:
    """The production settings (``SHEQU_*``) that hold these keys."""
    values = {
        "SHEQU_FIELD_KEYS": json.dumps(bundle["field_keys"], separators=(",", ":")),
        "SHEQU_FIELD_KEY_CURRENT": bundle["field_key_current"],
        "SHEQU_INDEX_KEY": bundle["index_key"],
        "SHEQU_AUDIT_KEY": bundle["audit_key"],
        "SHEQU_SECRET_KEY": bundle["secret_key"],
    }
    return [f"{name}={shlex.quote(str(value))}" for name, value in values.items()]


def key_files(bundle: dict[str, Any]) -> dict[str, str]:
    """The development key folder's files (settings.KEY_DIR) that hold these keys."""
    files = {f"field_key_{key_id}": value for key_id, value in bundle["field_keys"].items()}
    files["current_field_key"] = bundle["field_key_current"]
    files["index_key"] = bundle["index_key"]
    files["audit_key"] = bundle["audit_key"]
    files["secret_key"] = bundle["secret_key"]
    return files


def write_key_dir(
    bundle: dict[str, Any], key_dir: Path, replaceable: frozenset[str] = frozenset()
) -> list[Path]:
    """Write the key files; refuse (writing nothing) if one exists with another key in it, unless
    its name is in ``replaceable``."""
    files = key_files(bundle)
    for name, value in files.items():
        path = key_dir / name
        if name not in replaceable and path.exists() and path.read_text().strip() != value:
            raise EscrowError(
                f"{path} exists and holds another key: move it away first (nothing was written)"
            )
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_dir.chmod(0o700)
    written = []
    for name, value in files.items():
        path = key_dir / name
        if path.exists() and path.read_text().strip() == value:
            continue
        draft = key_dir / f".{name}.import"
        draft.unlink(missing_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        os.replace(draft, path)
        written.append(path)
    return written
