"""``shequ worker``: runs outboxed domain events and periodic jobs."""

from __future__ import annotations

import signal
from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run queued domain events and periodic jobs until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="one pass over what is due, then exit")
        mode.add_argument("--drain", action="store_true", help="run until nothing is due, then exit")
        parser.add_argument("--idle-sleep", type=float, default=1.0, help="seconds to wait when idle")
        parser.add_argument(
            "--import",
            dest="modules",
            action="append",
            default=[],
            metavar="MODULE",
            help="also import this module's event handlers and periodic jobs (repeatable)",
        )
        parser.add_argument(
            "--requeue-failed", action="store_true", help="give failed tasks a fresh set of attempts first"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from shequ.core import keys, outbox

        try:
            keys.start_up_check()
        except keys.KeyCheckError as exc:
            raise CommandError(f"Shequ refuses to start: {exc}") from None
        for module in opts["modules"]:
            import_module(module)
        if opts["requeue_failed"]:
            self.stdout.write(f"requeued {outbox.requeue_failed()} failed tasks")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the task in hand, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("worker started", ending="\n")
        self.stdout.flush()
        outbox.work(
            once=opts["once"], drain=opts["drain"], idle_sleep=opts["idle_sleep"], stop=lambda: stopping
        )
        self.stdout.write("worker stopped")
