"""``shequ worker``: runs outboxed domain events and periodic jobs."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run queued domain events and periodic jobs until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due, then exit")
        parser.add_argument("--idle-sleep", type=float, default=1.0)

    def handle(self, *args: Any, **opts: Any) -> None:
        from shequ.core import outbox

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the task in hand, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("worker started")
        outbox.work(once=opts["once"], idle_sleep=opts["idle_sleep"], stop=lambda: stopping)
        self.stdout.write("worker stopped")
