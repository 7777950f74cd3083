"""``shequ audit verify``: recompute the audit hash chain and report changed or deleted rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core import audit


class Command(BaseCommand):
    help = "Verify the audit log's hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **opts: Any) -> None:
        result = audit.verify()
        for problem in result.problems:
            self.stderr.write(problem)
        if not result.ok:
            raise CommandError(f"audit chain broken: {len(result.problems)} problem(s) in {result.checked} entries")
        self.stdout.write(f"audit chain intact: {result.checked} entries")
