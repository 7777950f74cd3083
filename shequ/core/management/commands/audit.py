"""``shequ audit verify``: recompute the audit hash chain and report changed or deleted rows.

``shequ audit head`` prints the newest entry as ``<seq>:<hash>``; keep it outside the database
(a ticket, a log shipped elsewhere) and later run ``shequ audit verify --anchor <seq>:<hash>`` to
also detect deletion of the newest entries, which the chain alone cannot show.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core import audit

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = "Verify the audit log's hash chain, or print its head."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "head"])
        parser.add_argument("--anchor", default="", help="<seq>:<hash> printed earlier by 'audit head'")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "head":
            seq, digest = audit.head()
            self.stdout.write(f"{seq}:{digest}")
            return
        anchor = None
        if opts["anchor"]:
            match = _ANCHOR.match(opts["anchor"].strip().lower())
            if not match:
                raise CommandError("--anchor must look like <seq>:<64 hex characters>")
            anchor = (int(match.group(1)), match.group(2))
        result = audit.verify(anchor=anchor)
        for problem in result.problems:
            self.stderr.write(problem)
        if not result.ok:
            raise CommandError(
                f"audit chain broken: {len(result.problems)} problem(s) in {result.checked} entries"
            )
        self.stdout.write(
            f"audit chain intact: {result.checked} entries, head {result.head_seq}:{result.head_hash}"
        )
