"""Database triggers that make the audit log append-only (security requirement 12), and other
append-only tables that apps register (the vote bulletin board).

Entries can never be deleted; the only UPDATE allowed is the sealer's: giving an unsealed entry its
place in the chain (``seq``, ``prev_hash``, ``hash``, ``sealed_at``) without touching its content.
Checkpoints can be neither changed nor deleted. A registered table refuses DELETE and TRUNCATE, and
every UPDATE that changes a column (writing a row again as it is stays possible: the vote's closing
rewrites its rows so that they share one transaction id).

Used by migrations 0002/0005 and by the test suite, which must lift them to flush the database
between transactional tests (an attacker with that power could also drop them: the hash chain, the
signed checkpoints and their witness outside the database are the second line).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# What a request wrote; sealing must leave all of it as it was.
CONTENT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "role",
    "region_code",
    "action",
    "object_type",
    "object_id",
    "fields",
    "reason",
    "ip",
    "result",
    "detail",
)
_SEAL_ONLY = "OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL"

PG_INSTALL = f"""
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = 'audit log is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION core_auditentry_seal_only() RETURNS trigger AS $$
BEGIN
  IF {_SEAL_ONLY}
     AND ({", ".join("NEW." + c for c in CONTENT_COLUMNS)})
         IS NOT DISTINCT FROM ({", ".join("OLD." + c for c in CONTENT_COLUMNS)}) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING MESSAGE = 'audit log is append-only: UPDATE refused';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_seal_only();
CREATE OR REPLACE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
CREATE OR REPLACE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON core_auditentry
  FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_append_only();
CREATE OR REPLACE TRIGGER core_auditcheckpoint_no_update BEFORE UPDATE ON core_auditcheckpoint
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
CREATE OR REPLACE TRIGGER core_auditcheckpoint_no_delete BEFORE DELETE ON core_auditcheckpoint
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
CREATE OR REPLACE TRIGGER core_auditcheckpoint_no_truncate BEFORE TRUNCATE ON core_auditcheckpoint
  FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS core_auditentry_no_update ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditentry_no_delete ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditcheckpoint_no_update ON core_auditcheckpoint;
DROP TRIGGER IF EXISTS core_auditcheckpoint_no_delete ON core_auditcheckpoint;
DROP TRIGGER IF EXISTS core_auditcheckpoint_no_truncate ON core_auditcheckpoint;
"""
# Before migration 0005 the checkpoint table does not exist yet.
PG_DROP_V1 = """
DROP TRIGGER IF EXISTS core_auditentry_no_update ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditentry_no_delete ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;
"""


def _refuse(name: str, table: str, op: str, when: str = "") -> str:
    condition = f" WHEN {when}" if when else ""
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table}{condition} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: {op} refused'); END;"
    )


_SQLITE_SAME_CONTENT = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in CONTENT_COLUMNS)
SQLITE_INSTALL = [
    _refuse(
        "core_auditentry_no_update",
        "core_auditentry",
        "UPDATE",
        f"NOT ({_SEAL_ONLY} AND {_SQLITE_SAME_CONTENT})",
    ),
    _refuse("core_auditentry_no_delete", "core_auditentry", "DELETE"),
    _refuse("core_auditcheckpoint_no_update", "core_auditcheckpoint", "UPDATE"),
    _refuse("core_auditcheckpoint_no_delete", "core_auditcheckpoint", "DELETE"),
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS core_auditentry_no_update;",
    "DROP TRIGGER IF EXISTS core_auditentry_no_delete;",
    "DROP TRIGGER IF EXISTS core_auditcheckpoint_no_update;",
    "DROP TRIGGER IF EXISTS core_auditcheckpoint_no_delete;",
]


def _statements(vendor: str, install: bool, v1: bool = False) -> list[str]:
    if vendor == "postgresql":
        return [PG_INSTALL if install else (PG_DROP_V1 if v1 else PG_DROP)]
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_DROP
    return []


# Other apps' append-only tables and their columns, registered in their AppConfig.ready().
APPEND_ONLY: dict[str, tuple[str, ...]] = {}

PG_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION shequ_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
"""


def register_append_only(table: str, columns: Sequence[str]) -> None:
    APPEND_ONLY[table] = tuple(columns)


def table_statements(vendor: str, table: str, columns: Sequence[str], *, install: bool) -> list[str]:
    """The triggers that keep ``table`` append-only (``columns``: every column, for SQLite's check
    that an UPDATE changes nothing)."""
    if vendor == "postgresql":
        if not install:
            ops = ("update", "delete", "truncate")
            return [f"DROP TRIGGER IF EXISTS {table}_no_{op} ON {table};" for op in ops]
        return [PG_APPEND_ONLY_FUNCTION] + [
            f"CREATE OR REPLACE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"FOR EACH {level} EXECUTE FUNCTION shequ_append_only();"
            for op, level in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT"))
        ]
    if vendor == "sqlite":
        if not install:
            return [f"DROP TRIGGER IF EXISTS {table}_no_{op};" for op in ("update", "delete")]
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}{when} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END;"
            for op, when in (("UPDATE", f" WHEN NOT ({unchanged})"), ("DELETE", ""))
        ]
    return []


def _registered(connection: Any, install: bool) -> list[str]:
    existing = set(connection.introspection.table_names()) if APPEND_ONLY else set()
    return [
        sql
        for table, columns in APPEND_ONLY.items()
        if table in existing  # (a migration that runs before the app's table exists)
        for sql in table_statements(connection.vendor, table, columns, install=install)
    ]


def install(connection: Any) -> None:
    statements = _statements(connection.vendor, install=True) + _registered(connection, True)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def drop(connection: Any, *, v1: bool = False) -> None:
    """Lift the triggers; ``v1``: those of migration 0002, before the checkpoint table existed."""
    statements = _statements(connection.vendor, install=False, v1=v1) + _registered(connection, False)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install_table(connection: Any, table: str, columns: Sequence[str]) -> None:
    """An app's migration: make ``table`` append-only."""
    with connection.cursor() as cursor:
        for sql in table_statements(connection.vendor, table, columns, install=True):
            cursor.execute(sql)


def drop_table(connection: Any, table: str) -> None:
    with connection.cursor() as cursor:
        for sql in table_statements(connection.vendor, table, (), install=False):
            cursor.execute(sql)
