"""``shequ verify-board FILE [--tracker HASH …]``: recompute a vote's result from its public board.

The same check runs without the platform: ``python -m shequ.participation.crypto.verifier FILE``
needs only Python, gmpy2 and these few modules (docs/participation.md, "Verifying a vote")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.participation.crypto import verifier


class Command(BaseCommand):
    help = "Verify a vote's bulletin board (the JSON of its public page) and recompute its result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("board")
        parser.add_argument("--tracker", action="append", default=[])

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [options["board"], *(x for t in options["tracker"] for x in ("--tracker", t))]
        try:
            code = verifier.main(argv)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the board: {exc}") from exc
        if code:
            raise CommandError("NOT VERIFIED")
