"""Database triggers that make the audit log append-only (security requirement 12).

Entries can never be deleted; the only UPDATE allowed is the sealer's: giving an unsealed entry its
place in the chain (``seq``, ``prev_hash``, ``hash``, ``sealed_at``) without touching its content.
Checkpoints can be neither changed nor deleted.

Used by migrations 0002/0005 and by the test suite, which must lift them to flush the database
between transactional tests (an attacker with that power could also drop them: the hash chain, the
signed checkpoints and their witness outside the database are the second line).
"""

from __future__ import annotations

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


def install(connection: Any) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=True):
            cursor.execute(sql)


def drop(connection: Any, *, v1: bool = False) -> None:
    """Lift the triggers; ``v1``: those of migration 0002, before the checkpoint table existed."""
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=False, v1=v1):
            cursor.execute(sql)
