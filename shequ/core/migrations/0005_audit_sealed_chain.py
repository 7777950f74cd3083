"""The audit log without a platform-wide lock (issue 7): entries are inserted unsealed and the
sealer chains them after commit; signed checkpoints are kept in their own table.

The old ``seq`` primary key becomes ``id`` (insertion order) and a new ``seq`` (place in the chain)
is filled with the same numbers, so every existing hash still verifies.
"""

from django.core.management.color import no_style
from django.db import migrations, models
from django.db.models import F


def lift_v1_triggers(apps, schema_editor):
    from shequ.core import dbtriggers

    dbtriggers.drop(schema_editor.connection, v1=True)


def chain_positions(apps, schema_editor):
    AuditEntry = apps.get_model("core", "AuditEntry")
    AuditEntry.objects.update(seq=F("id"), sealed_at=F("at"))
    # The old code wrote its numbers itself, so PostgreSQL's identity sequence never moved.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [AuditEntry]):
            cursor.execute(sql)


def install_triggers(apps, schema_editor):
    from shequ.core import dbtriggers

    dbtriggers.install(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    from shequ.core import dbtriggers

    dbtriggers.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_alter_department_kind")]

    operations = [
        migrations.RunPython(lift_v1_triggers, migrations.RunPython.noop),
        migrations.RenameField("auditentry", "seq", "id"),
        migrations.AddField("auditentry", "seq", models.BigIntegerField(blank=True, null=True, unique=True)),
        migrations.AddField("auditentry", "sealed_at", models.DateTimeField(blank=True, null=True)),
        migrations.AlterField(
            "auditentry", "prev_hash", models.CharField(blank=True, max_length=64, null=True)
        ),
        migrations.AlterField(
            "auditentry", "hash", models.CharField(blank=True, max_length=64, null=True, unique=True)
        ),
        migrations.RunPython(chain_positions, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            "auditentry", options={"ordering": ["-id"], "verbose_name_plural": "audit entries"}
        ),
        migrations.AddIndex(
            "auditentry",
            models.Index(condition=models.Q(seq__isnull=True), fields=["id"], name="core_audit_unsealed"),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.BigIntegerField(unique=True)),
                ("head_hash", models.CharField(max_length=64)),
                ("root", models.CharField(max_length=64)),
                ("at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=64)),
                ("frontier", models.JSONField(default=list)),
            ],
            options={"ordering": ["-seq"]},
        ),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
