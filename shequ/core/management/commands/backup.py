"""``shequ backup``: a consistent online copy of the database, and checks that it restores.

    shequ backup [--out FILE|DIR]   copy the configured database (SQLite backup API / pg_dump -Fc)
                                    with FILE.manifest.json beside it; default var/backups/
    shequ backup verify FILE        restore FILE into a scratch database and check it there
    shequ backup check FILE         the same checks on the configured database (what verify runs on
                                    the scratch copy; also useful right after a restore)

See docs/operations.md (Backups; Restoring and testing a restore).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from shequ.core import backup
from shequ.core.backup import checks
from shequ.core.backup.manifest import Manifest, backup_file_of, manifest_path


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a backup or restore must not wait on warnings
    help = (
        "Back up the database (consistent, online), or verify a backup by restoring it into a scratch copy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            default="",
            help="the backup file, or a folder for shequ-<time>.* (default: var/backups/)",
        )
        sub = parser.add_subparsers(dest="action")
        verify = sub.add_parser("verify", help="Restore FILE into a scratch database and check it.")
        verify.add_argument("file")
        check = sub.add_parser("check", help="Check the configured database against FILE's manifest.")
        check.add_argument("file")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts.get("action") == "verify":
                if not backup.verify(Path(opts["file"]), self.stdout):
                    raise CommandError("backup NOT verified: see the failed checks above")
            elif opts.get("action") == "check":
                self._check(Path(opts["file"]))
            else:
                self._backup(Path(opts["out"]) if opts["out"] else None)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:  # the database is down, or refuses the account
            raise CommandError(f"database error: {exc}") from exc

    def _backup(self, out: Path | None) -> None:
        file, manifest = backup.create(out)
        self.stdout.write(f"backup   {file}")
        self.stdout.write(f"manifest {manifest_path(file)}")
        self.stdout.write(
            f"{manifest.engine}, taken {manifest.created_at}, {manifest.size:,} bytes,"
            f" {sum(manifest.counts.values()):,} rows in {len(manifest.counts)} tables,"
            f" audit log up to entry {manifest.audit['head_seq']}"
        )
        self.stdout.write(f"sha256   {manifest.sha256}")

    def _check(self, path: Path) -> None:
        manifest = Manifest.load(manifest_path(backup_file_of(path.expanduser().absolute())))
        results = checks.run_all(manifest)
        for result in results:
            self.stdout.write(f"{'PASS' if result.ok else 'FAIL'}  {result.name}: {result.summary}")
            for line in result.details:
                self.stdout.write(f"      {line}")
        failed = [r.name for r in results if not r.ok]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}")
        self.stdout.write(f"backup verified: all {len(results)} checks passed")
