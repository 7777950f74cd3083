"""Refuse UPDATE and DELETE on the audit log in the database itself (security requirement 12)."""

from django.db import migrations

from shequ.core import dbtriggers


def forward(apps, schema_editor):
    dbtriggers.install(schema_editor.connection)


def backward(apps, schema_editor):
    dbtriggers.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
