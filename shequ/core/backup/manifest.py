"""A backup's manifest: what the copy holds (tables and row counts, migration heads, the audit
chain's head) and which keys it needs, written beside the backup file as ``<file>.manifest.json``.

The facts are read from the copy itself (SQLite) or inside the snapshot ``pg_dump`` copies
(PostgreSQL), so they describe exactly what was saved. Keys are named by id and fingerprint only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from shequ.core import audit, keys

FORMAT = "shequ-backup/1"
SUFFIX = ".manifest.json"


class BackupError(Exception):
    """A backup, restore or verification that cannot go ahead; the message says why and what to do."""


class Cursor(Protocol):
    """A DB-API cursor: ``sqlite3``'s or Django's (queries here take no parameters)."""

    def execute(self, sql: str) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


@dataclass
class Manifest:
    engine: str  # "sqlite" or "postgresql"
    file: str  # the backup file's name, in the same folder as the manifest
    created_at: str  # UTC ISO time the snapshot was taken
    sha256: str = ""
    size: int = 0
    database: str = ""  # where it came from, without a password
    tool: str = ""  # "sqlite3 3.40.1" or pg_dump's version line
    server_version: str = ""
    migrations: dict[str, str] = field(default_factory=dict)  # app → newest applied migration
    counts: dict[str, int] = field(default_factory=dict)  # table → rows
    audit: dict[str, Any] = field(default_factory=dict)  # head_seq, head_hash, unsealed, checkpoint_seq
    keys: dict[str, Any] = field(default_factory=dict)  # ids and fingerprints, never a key
    format: str = FORMAT

    @property
    def taken_at(self) -> datetime:
        return datetime.fromisoformat(self.created_at.removesuffix("Z")).replace(tzinfo=UTC)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BackupError(
                f"no manifest at {path}: a backup is the file and its manifest together"
                " (shequ backup writes both)"
            ) from exc
        except (OSError, ValueError) as exc:
            raise BackupError(f"the manifest {path} cannot be read: {exc}") from exc
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupError(f"{path} is not a {FORMAT} manifest")
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{k: v for k, v in body.items() if k in known})
        except TypeError as exc:
            raise BackupError(f"the manifest {path} is incomplete: {exc}") from exc


def manifest_path(backup_file: Path) -> Path:
    return backup_file.with_name(backup_file.name + SUFFIX)


def backup_file_of(path: Path) -> Path:
    """The backup file named on the command line, or the one a manifest names."""
    if path.name.endswith(SUFFIX):
        return path.with_name(path.name.removesuffix(SUFFIX))
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- where backups may go --------------------------------------------------------------------------


def key_dir() -> Path:
    """The folder holding key files (``SHEQU_KEY_DIR``): a backup must never land there, or one
    stolen copy of the backup folder would hold both the ciphertext and its keys."""
    configured = getattr(settings, "KEY_DIR", None) or os.environ.get("SHEQU_KEY_DIR")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "keys"


def default_dir() -> Path:
    return Path(settings.VAR_DIR) / "backups"


def refuse_key_dir(path: Path) -> None:
    target = path.resolve()
    keys = key_dir().resolve()
    if target == keys or keys in target.parents:
        raise BackupError(
            f"refusing to write a backup into the key folder {keys}: keep backups and keys apart"
            " (see docs/operations.md, Keys)"
        )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600) through a temporary name, so a reader never sees half of it."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(draft, path)
    sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- what a copy holds -------------------------------------------------------------------------------


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tables(cursor: Cursor, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(str(row[0]) for row in cursor.fetchall())


def facts(cursor: Cursor, vendor: str) -> dict[str, Any]:
    """Row counts of every table, the newest applied migration per app and the audit chain's head,
    read through ``cursor`` (inside the snapshot being saved)."""
    names = tables(cursor, vendor)
    counts = {}
    for name in names:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(name)}")  # noqa: S608 - names come from the catalog
        counts[name] = int(cursor.fetchone()[0])
    migrations: dict[str, str] = {}
    if "django_migrations" in names:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        for app, name in cursor.fetchall():
            migrations[str(app)] = str(name)
    head: dict[str, Any] = {"head_seq": 0, "head_hash": audit.GENESIS, "unsealed": 0, "checkpoint_seq": 0}
    if "core_auditentry" in names:
        cursor.execute(
            "SELECT seq, hash FROM core_auditentry WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        )
        row = cursor.fetchone()
        if row:
            head["head_seq"], head["head_hash"] = int(row[0]), str(row[1])
        cursor.execute("SELECT COUNT(*) FROM core_auditentry WHERE seq IS NULL")
        head["unsealed"] = int(cursor.fetchone()[0])
    if "core_auditcheckpoint" in names:
        cursor.execute("SELECT MAX(seq) FROM core_auditcheckpoint")
        head["checkpoint_seq"] = int(cursor.fetchone()[0] or 0)
    return {"counts": counts, "migrations": migrations, "audit": head}


# --- keys, by fingerprint ----------------------------------------------------------------------------


def key_fingerprints() -> dict[str, Any]:
    """Which keys are configured, by id and a fingerprint that does not reveal them: a restore needs
    the same keys, kept apart from the backups (key escrow)."""
    return {
        "field_keys": {kid: keys.field_fingerprint(kid) for kid in sorted(settings.FIELD_KEYS)},
        "field_key_current": str(settings.FIELD_KEY_CURRENT),
        "index_key": keys.index_fingerprint(),
        "audit_key": audit.key_id(),
    }
