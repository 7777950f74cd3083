"""``shequ serve``: the web server (waitress), optionally with a worker thread for small installs."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve Shequ over HTTP (waitress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--with-worker", action="store_true", help="also run the background worker in-process"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from waitress import serve

        from shequ.core import keys

        try:
            keys.start_up_check()
        except keys.KeyCheckError as exc:
            raise CommandError(f"Shequ refuses to start: {exc}") from None
        from shequ.core import staticfiles

        # Before the application loads: WhiteNoise indexes STATIC_ROOT when it starts.
        started = time.perf_counter()
        if staticfiles.collect_if_stale():
            took = time.perf_counter() - started
            self.stdout.write(f"static files collected, fingerprinted and compressed ({took:.1f} s)")
        from shequ.wsgi import application

        if opts["with_worker"]:
            from shequ.core import outage, outbox

            # Supervised: a worker loop that dies of anything is logged and started again, so the
            # background work comes back with the web side after a database outage.
            outage.supervise("in-process worker", partial(outbox.work, idle_sleep=1.0))
        url = f"http://{opts['host']}:{opts['port']}/"
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(self.style.SUCCESS(f"Shequ is ready at {url} (database: {engine})"))
        serve(
            application,
            host=opts["host"],
            port=opts["port"],
            threads=opts["threads"],
            ident="shequ",
            # waitress reads a whole body before it calls the application: with this limit it
            # answers a bigger declared Content-Length with 413 at once, without reading the body.
            max_request_body_size=settings.MAX_REQUEST_BYTES + 1,  # waitress refuses from this size on
        )
