"""Backups you can restore (docs/operations.md): ``shequ backup``, ``shequ restore`` and
``shequ backup verify``.

- :func:`create` takes a consistent online copy while the site runs (SQLite's backup API,
  ``pg_dump -Fc``) into ``var/backups/`` or ``--out``, and writes its manifest beside it: engine,
  time, migration heads, row counts, the audit head, the configured keys' ids and fingerprints (never
  the keys) and the file's SHA-256. It refuses to write into the key folder.
- :func:`restore` checks the SHA-256, then replaces the configured database with the backup in one
  transaction, and witnesses the restore (``audit.record_restore``) so that ``shequ audit verify``
  reads the witnessed checkpoints beyond the restored chain as superseded, not as a truncation.
- :func:`verify` restores into a scratch database and runs :mod:`.checks` there in a subprocess.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from io import TextIOBase
from pathlib import Path

from django.conf import settings
from django.db import connection

from shequ.core import audit, keys
from shequ.core.backup import engines
from shequ.core.backup.manifest import (
    BackupError,
    Manifest,
    backup_file_of,
    default_dir,
    facts,
    key_fingerprints,
    manifest_path,
    now_text,
    refuse_key_dir,
    sha256_of,
    sync_dir,
    write_private,
)
from shequ.settings import private_dir, private_file

__all__ = ["BackupError", "Manifest", "create", "load", "restore", "restore_plan", "verify"]

EXTENSIONS = {"sqlite": "sqlite3", "postgresql": "pgdump"}


def _sqlite_path() -> Path:
    return Path(str(connection.settings_dict["NAME"]))


def _default_out(folder: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = folder / f"shequ-{stamp}.{EXTENSIONS[connection.vendor]}"
    number = 1
    while out.exists() or manifest_path(out).exists():
        number += 1
        out = folder / f"shequ-{stamp}-{number}.{EXTENSIONS[connection.vendor]}"
    return out


def _target(out: Path | None) -> Path:
    """The new backup file: ``out``, or a time-stamped name in the folder ``out`` or var/backups/."""
    if out is None:
        return _default_out(private_dir(default_dir()))
    out = out.expanduser().absolute()
    refuse_key_dir(out)
    if out.is_dir():
        return _default_out(out)
    if out.exists() or manifest_path(out).exists():
        raise BackupError(f"{out} already exists: name a new file (a backup never overwrites another)")
    if not out.parent.exists():
        private_dir(out.parent)
    return out


def create(out: Path | None = None) -> tuple[Path, Manifest]:
    """Back up the configured database into ``out`` (a new file, or a folder for the default name;
    ``var/backups/`` if None); returns the backup file and its manifest."""
    if connection.vendor not in EXTENSIONS:
        raise BackupError(f"cannot back up a {connection.vendor} database")
    out = _target(out)
    refuse_key_dir(out)
    partial = private_file(out.with_name(f".{out.name}.partial"))
    try:
        taken_at = now_text()
        if connection.vendor == "sqlite":
            found = engines.sqlite_dump(_sqlite_path(), partial)
            tool, server_version = f"sqlite3 {sqlite3.sqlite_version}", sqlite3.sqlite_version
        else:
            found, tool, server_version = engines.pg_dump(partial)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, out)  # a backup file exists only once it is complete
        sync_dir(out.parent)
    finally:
        partial.unlink(missing_ok=True)
    manifest = Manifest(
        engine=connection.vendor,
        file=out.name,
        created_at=taken_at,
        sha256=sha256_of(out),
        size=out.stat().st_size,
        database=engines.describe(),
        tool=tool,
        server_version=server_version,
        migrations=found["migrations"],
        counts=found["counts"],
        audit=found["audit"],
        keys=key_fingerprints(),
    )
    write_private(manifest_path(out), manifest.to_json())
    return out, manifest


def load(path: Path) -> tuple[Path, Manifest]:
    """The backup file and its manifest, after checking the file's SHA-256 against the manifest."""
    file = backup_file_of(path.expanduser().absolute())
    manifest = Manifest.load(manifest_path(file))
    if not file.is_file():
        raise BackupError(f"{file} does not exist (its manifest does)")
    digest = sha256_of(file)
    if digest != manifest.sha256:
        raise BackupError(
            f"{file} does not match its manifest: SHA-256 {digest}, the manifest says {manifest.sha256}."
            " The file is damaged or was changed; use another backup."
        )
    return file, manifest


# --- restore -----------------------------------------------------------------------------------------


@dataclass
class Restored:
    file: Path
    manifest: Manifest
    record: audit.RestoreRecord


def _summary(counts: dict[str, int], head: dict[str, object]) -> str:
    return (
        f"{len(counts)} tables, {sum(counts.values()):,} rows, audit log up to entry {head.get('head_seq')}"
    )


def restore_plan(path: Path) -> tuple[Path, Manifest, str]:
    """Check the backup and say what a restore would replace (nothing is changed)."""
    file, manifest = load(path)
    if manifest.engine != connection.vendor:
        raise BackupError(
            f"{file} is a {manifest.engine} backup and the configured database is {connection.vendor}:"
            " set SHEQU_DATABASE_URL to a database of the same kind"
        )
    with connection.cursor() as cursor:
        now = facts(cursor, connection.vendor)
    text = (
        f"This replaces everything in the {engines.describe()} (now {_summary(now['counts'], now['audit'])})"
        f" with the backup {file} taken {manifest.created_at} ({_summary(manifest.counts, manifest.audit)})."
        " Changes made since the backup are lost. Stop the web server and the workers first."
    )
    return file, manifest, text


def restore(path: Path, *, confirmed: bool) -> Restored:
    file, manifest, plan = restore_plan(path)
    if not confirmed:
        raise BackupError(plan + " Nothing was changed: run again with --yes to restore.")
    if connection.vendor == "sqlite":
        connection.close()
        holders = engines.sqlite_holders(_sqlite_path())
        if holders:
            raise BackupError(
                f"{_sqlite_path()} is open in process(es) {', '.join(map(str, holders))}: stop the web"
                " server and the workers first. Nothing was changed."
            )
        engines.sqlite_restore(file, _sqlite_path())
    else:
        engines.pg_check_archive(file)
        connection.close()
        engines.pg_restore(file)
    connection.close()
    head = audit.head()
    if head != (manifest.audit.get("head_seq"), manifest.audit.get("head_hash")):
        raise BackupError(
            f"the restored audit chain ends at entry {head[0]}, the manifest says"
            f" {manifest.audit.get('head_seq')}: check the database with 'shequ backup check {file}'"
        )
    reinstated = audit.reinstate_witnessed_checkpoints(manifest.taken_at)
    record = audit.record_restore(backup_sha256=manifest.sha256)
    audit.record(
        "backup.restore",
        object_type="backup",
        object_id=manifest.sha256[:16],
        detail={
            "file": file.name,
            "sha256": manifest.sha256,
            "taken_at": manifest.created_at,
            "seq": head[0],
            "checkpoints_reinstated": reinstated,
            "by": getpass.getuser(),  # the operating-system account that ran the restore
        },
    )
    return Restored(file, manifest, record)


# --- verify ------------------------------------------------------------------------------------------


def verify(path: Path, out: TextIOBase) -> bool:
    """Restore the backup into a scratch database and run the checks there in a subprocess whose
    configured database is the copy; print the report to ``out``. True when every check passed."""
    file, manifest = load(path)
    out.write(f"backup   {file} ({manifest.engine}, taken {manifest.created_at}, {manifest.size:,} bytes)\n")
    out.write(f"sha256   {manifest.sha256} matches the manifest\n")
    if manifest.engine == "sqlite":
        scratch = engines.sqlite_scratch(file)
    elif connection.vendor == "postgresql":
        scratch = engines.pg_scratch(file)
    else:
        raise BackupError(
            "verifying a PostgreSQL backup needs a PostgreSQL server: set SHEQU_DATABASE_URL to one"
            " (a scratch database shequ_verify_<pid> is made there and dropped; yours is not touched)"
        )
    with scratch as url:
        out.write(f"restored into a scratch {manifest.engine} database\n")
        out.flush()
        env = dict(os.environ)
        env["SHEQU_DATABASE_URL"] = url
        env.update(keys.child_env())  # the keys being verified are this process's, wherever they came from
        env["SHEQU_AUDIT_WITNESS_DIR"] = str(settings.AUDIT_WITNESS_DIR)
        env.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
        done = subprocess.run(  # noqa: S603 - our own command, no shell
            [sys.executable, "-m", "shequ.cli", "backup", "check", str(manifest_path(file))],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    out.write(done.stdout)
    if done.stderr.strip():
        out.write(done.stderr)
    return done.returncode == 0
