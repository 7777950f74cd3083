"""The vote bulletin board becomes append-only in the database, like the audit log: triggers refuse
DELETE, TRUNCATE and every UPDATE that changes a column (``core.dbtriggers``)."""

from django.db import migrations

TABLE = "participation_boardentry"
COLUMNS = ("id", "vote_id", "seq", "kind", "payload", "prev_hash", "hash", "created_at")


def install(apps, schema_editor):
    from shequ.core import dbtriggers

    dbtriggers.install_table(schema_editor.connection, TABLE, COLUMNS)


def drop(apps, schema_editor):
    from shequ.core import dbtriggers

    dbtriggers.drop_table(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("participation", "0005_proxy_account")]

    operations = [migrations.RunPython(install, drop)]
