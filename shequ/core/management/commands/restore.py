"""``shequ restore FILE --yes``: replace the configured database with a backup.

Checks the backup's SHA-256 against its manifest first; without ``--yes`` it only says what would be
replaced. Stop the web server and the workers before restoring. Afterwards the audit witness holds a
signed restore record, so ``shequ audit verify`` reads the newer witnessed checkpoints as superseded
by the restore. See docs/operations.md (Restoring and testing a restore).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from shequ.core import backup


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a backup or restore must not wait on warnings
    help = "Restore the database from a backup made by 'shequ backup' (asks for --yes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the backup file (its .manifest.json must be beside it)")
        parser.add_argument("--yes", action="store_true", help="replace the configured database")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            done = backup.restore(Path(opts["file"]), confirmed=opts["yes"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:  # the database is down, or refuses the account
            raise CommandError(f"database error: {exc}") from exc
        self.stdout.write(
            f"restored {done.file} (taken {done.manifest.created_at}): audit log up to entry"
            f" {done.record.seq}; the restore is recorded in the audit witness"
        )
        self.stdout.write("next: 'shequ migrate', 'shequ audit verify', then start the web server and worker")
