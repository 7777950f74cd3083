"""Refuse UPDATE and DELETE on the audit log in the database itself (security requirement 12).

The triggers of this first version are written out here: ``core.dbtriggers`` now installs those of
migration 0005 (sealing and checkpoints), which need columns and a table that do not exist yet.
"""

from django.db import migrations

PG_INSTALL = """
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = 'audit log is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
CREATE OR REPLACE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
CREATE OR REPLACE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON core_auditentry
  FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_append_only();
"""
SQLITE_INSTALL = [
    "CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;",
    "CREATE TRIGGER IF NOT EXISTS core_auditentry_no_delete BEFORE DELETE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;",
]


def forward(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"postgresql": [PG_INSTALL], "sqlite": SQLITE_INSTALL}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def backward(apps, schema_editor):
    from shequ.core import dbtriggers

    dbtriggers.drop(schema_editor.connection, v1=True)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
