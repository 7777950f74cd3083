"""Copying a database out and back in: SQLite through its online backup API, PostgreSQL through
``pg_dump -Fc`` / ``pg_restore``. Both copy ciphertext as it is stored; no key is involved."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

from django.db import DatabaseError, connection, transaction

from shequ.core.backup import manifest
from shequ.core.backup.manifest import BackupError


def describe(settings_dict: dict[str, Any] | None = None) -> str:
    """The configured database in words, without its password."""
    s = settings_dict or connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite file {s['NAME']}"
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"PostgreSQL database {s['NAME']} on {host}{port} as {s.get('USER') or 'the default user'}"


# --- SQLite ------------------------------------------------------------------------------------------


def _uri(path: Path, mode: str) -> str:
    return f"{path.resolve().as_uri()}?mode={mode}"


def sqlite_dump(db: Path, out: Path) -> dict[str, Any]:
    """Copy the live database ``db`` into ``out`` (an empty file) and return the copy's facts.

    ``Connection.backup`` with the default ``pages=-1`` copies every page in one step, inside one
    read transaction of the source: in WAL mode writers carry on meanwhile, and the copy is the
    database as of one commit. The copy is switched to a rollback journal: one self-contained file.
    """
    if not db.exists():
        raise BackupError(f"the SQLite database {db} does not exist")
    source = sqlite3.connect(_uri(db, "ro"), uri=True, timeout=30, isolation_level=None)
    copy = sqlite3.connect(out, isolation_level=None)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        return manifest.facts(copy.cursor(), "sqlite")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {db} failed: {exc}") from exc
    finally:
        copy.close()
        source.close()


def sqlite_integrity(path: Path) -> str:
    """SQLite's own check of a file, read-only: "ok" or what is wrong."""
    try:
        con = sqlite3.connect(_uri(path, "ro"), uri=True, isolation_level=None)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"not a readable SQLite database: {exc}"
    return "; ".join(str(row[0]) for row in rows[:5])


def _copy_into(backup: Path, target: sqlite3.Connection) -> None:
    integrity = sqlite_integrity(backup)
    if integrity != "ok":
        raise BackupError(f"{backup} fails SQLite's integrity check: {integrity}")
    source = sqlite3.connect(_uri(backup, "ro"), uri=True, isolation_level=None)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"copying {backup} failed: {exc}") from exc
    finally:
        source.close()


def sqlite_holders(db: Path) -> list[int]:
    """Other processes that have ``db`` (or its WAL) open — a web server or a worker still running.
    Read from /proc (Linux), so only processes this account may inspect; elsewhere none are seen."""
    names = {str(db.resolve()), str(db.resolve()) + "-wal"}
    holders = set()
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in names:
                holders.add(int(fd.split("/")[2]))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    holders.discard(os.getpid())
    return sorted(holders)


def sqlite_restore(backup: Path, db: Path) -> None:
    """Replace the content of the live database ``db`` with the backup's.

    Through the backup API into the live file, not by renaming a new file over it: the copy is one
    write transaction of ``db`` (all of it or none of it), SQLite's locks keep any other connection
    out meanwhile, and open connections see the restored database afterwards. A renamed file would
    leave open connections writing to the old file, and a leftover ``-wal`` file could be replayed
    onto the new one. The backup is checked (``integrity_check``) before anything is written.
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        _copy_into(backup, target)
        target.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise BackupError(f"restoring into {db} failed: {exc}") from exc
    finally:
        target.close()


@contextlib.contextmanager
def sqlite_scratch(backup: Path) -> Iterator[str]:
    """A throw-away copy of the backup (the backup file itself is never opened for writing)."""
    with tempfile.TemporaryDirectory(prefix="shequ-verify-") as folder:
        path = Path(folder) / "copy.sqlite3"
        target = sqlite3.connect(path, isolation_level=None)
        try:
            _copy_into(backup, target)
        finally:
            target.close()
        yield f"sqlite:///{path}"


# --- PostgreSQL -----------------------------------------------------------------------------------------

_VERSION = re.compile(r"\)\s*(\d+)(?:\.(\d+))?")


def _tool_version(path: str) -> tuple[int, str]:
    try:
        line = subprocess.run(  # noqa: S603 - a PostgreSQL tool we found, no shell
            [path, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 0, ""
    match = _VERSION.search(line)
    return (int(match.group(1)) if match else 0), line


def pg_tool(name: str, server_major: int) -> tuple[str, str]:
    """The newest ``pg_dump``/``pg_restore`` on PATH or in /usr/lib/postgresql/*/bin, as long as it
    is not older than the server (an older pg_dump refuses a newer server, or misses what it has)."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    found = [(*_tool_version(path), path) for path in candidates]
    found = [f for f in found if f[0]]
    if not found:
        raise BackupError(
            f"{name} was not found on PATH or in /usr/lib/postgresql/*/bin: install the PostgreSQL"
            f" client tools of version {server_major} or newer (Debian: apt-get install postgresql-client)"
        )
    major, line, path = max(found)
    if major < server_major:
        raise BackupError(
            f"{name} {major} ({path}) is older than the PostgreSQL {server_major} server: install the"
            f" client tools of version {server_major} or newer (Debian: postgresql-client-{server_major})"
        )
    return path, line


def _server_major() -> int:
    connection.ensure_connection()
    return int(connection.pg_version) // 10000  # type: ignore[attr-defined]


def pg_env(dbname: str | None = None) -> dict[str, str]:
    """libpq's environment for the configured server: the password never goes on a command line."""
    s = connection.settings_dict
    env = dict(os.environ)
    values = {
        "PGHOST": s.get("HOST"),
        "PGPORT": s.get("PORT"),
        "PGUSER": s.get("USER"),
        "PGPASSWORD": s.get("PASSWORD"),
        "PGDATABASE": dbname or s.get("NAME"),
        "PGSSLMODE": (s.get("OPTIONS") or {}).get("sslmode"),
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def pg_dump(out: Path) -> tuple[dict[str, Any], str, str]:
    """Dump the configured database into ``out`` (custom format) and return the facts of the very
    snapshot pg_dump copied (shared with ``--snapshot``), pg_dump's version line and the server's."""
    server_major = _server_major()
    tool, line = pg_tool("pg_dump", server_major)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = cursor.fetchone()
        _run(
            [tool, "--format=custom", f"--snapshot={snapshot}", f"--file={out}", "--no-password"],
            pg_env(),
            "pg_dump",
        )
        facts = manifest.facts(cursor, "postgresql")
    return facts, line, str(server_version)


def pg_check_archive(backup: Path) -> None:
    """pg_restore can read the archive's table of contents (a truncated or foreign file fails)."""
    tool, _line = pg_tool("pg_restore", _server_major())
    _run([tool, "--list", str(backup)], pg_env(), f"reading {backup} as a pg_dump archive")


def pg_restore(backup: Path, *, dbname: str | None = None, clean: bool = True) -> None:
    """Restore into ``dbname`` (the configured database unless named) in one transaction: on any
    error nothing changes. ``clean`` drops the archive's objects first."""
    server_major = _server_major()
    tool, _line = pg_tool("pg_restore", server_major)
    target = dbname or str(connection.settings_dict["NAME"])
    if not clean:
        args = [tool, "--single-transaction", "--exit-on-error", "--no-owner", "--no-password"]
        _run([*args, f"--dbname={target}", str(backup)], pg_env(target), "pg_restore")
        return
    # pg_restore --clean drops object by object, and PostgreSQL refuses to drop a partition's
    # constraint or index inherited from its partitioned table (the IoT events): the partitioned
    # tables are dropped whole first (CASCADE takes their partitions), then the archive's own clean
    # script runs, all in one psql transaction.
    psql, _psql_line = pg_tool("psql", server_major)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p' AND n.nspname = 'public'"
        )
        partitioned = [name for (name,) in cursor.fetchall()]
    env = pg_env(target)
    script = subprocess.Popen(  # noqa: S603 (our own command line)
        [tool, "--clean", "--if-exists", "--no-owner", "--file=-", str(backup)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    loader = subprocess.Popen(  # noqa: S603 (our own command line)
        [
            psql,
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            "--no-password",
            f"--dbname={target}",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert script.stdout is not None and loader.stdin is not None
    try:
        for name in partitioned:
            loader.stdin.write(f"DROP TABLE IF EXISTS {name} CASCADE;\n".encode())
        shutil.copyfileobj(script.stdout, loader.stdin, 1 << 20)
    except BrokenPipeError:
        pass  # psql stopped at an error: its message is below
    finally:
        loader.stdin.close()
    assert script.stderr is not None and loader.stderr is not None
    script.stdout.close()
    script_err = script.stderr.read().decode(errors="replace")
    loader_err = loader.stderr.read().decode(errors="replace")
    script.wait()
    loader.wait()
    if script.returncode != 0:
        raise BackupError(f"pg_restore failed (exit {script.returncode}): {script_err.strip()[-2000:]}")
    if loader.returncode != 0:
        raise BackupError(f"pg_restore failed (exit {loader.returncode}): {loader_err.strip()[-2000:]}")


def _url(dbname: str) -> str:
    s = connection.settings_dict
    auth = urlquote(str(s.get("USER") or ""), safe="")
    if s.get("PASSWORD"):
        auth += ":" + urlquote(str(s["PASSWORD"]), safe="")
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    query = f"?sslmode={s['OPTIONS']['sslmode']}" if (s.get("OPTIONS") or {}).get("sslmode") else ""
    return f"postgres://{auth}@{host}{port}/{dbname}{query}"


@contextlib.contextmanager
def pg_scratch(backup: Path) -> Iterator[str]:
    """The backup restored into a scratch database ``shequ_verify_<pid>`` on the configured server,
    dropped afterwards (needs the CREATEDB privilege). The configured database is not touched."""
    name = f"shequ_verify_{os.getpid()}"
    quoted = connection.ops.quote_name(name)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {quoted} TEMPLATE template0 ENCODING 'UTF8'")
    except DatabaseError as exc:
        raise BackupError(
            f"cannot create the scratch database {name} (the account needs the CREATEDB privilege): {exc}"
        ) from exc
    try:
        pg_restore(backup, dbname=name, clean=False)
        yield _url(name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
