"""``shequ serve``: the web server (waitress), optionally with a worker thread for small installs
and, for the demo, the device simulator (``make demo``)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core.components import Companion, components


class Command(BaseCommand):
    help = "Serve Shequ over HTTP (waitress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--with-worker", action="store_true", help="also run the background worker in-process"
        )
        parser.add_argument(
            "--with-devices",
            action="store_true",
            default=os.environ.get("SHEQU_DEMO_DEVICES") == "1",
            help="also simulate the demo street's devices: over MQTT with `shequ ingest` when a broker "
            "answers at SHEQU_MQTT_HOST:PORT, else over HTTP to this server (default: SHEQU_DEMO_DEVICES=1)",
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
        from shequ.core import views_errors
        from shequ.wsgi import application

        # For nginx's error_page: its own 413/502/504 answers in Chinese (docs/operations.md).
        views_errors.write_front_error_pages(Path(settings.VAR_DIR) / "errors")

        if opts["with_worker"]:
            from shequ.core import outage, outbox

            # Supervised: a worker loop that dies of anything is logged and started again, so the
            # background work comes back with the web side after a database outage.
            outage.supervise("in-process worker", partial(outbox.work, idle_sleep=1.0))
        url = f"http://{opts['host']}:{opts['port']}/"
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        # Apps' companion processes for the demo (the IoT app's simulated devices, ``make demo``).
        companions = (
            [comp.companions(self.stdout) for comp in components() if comp.companions is not None]
            if opts["with_devices"]
            else []
        )
        for companion in companions:
            companion.start(f"http://{_reachable(opts['host'])}:{opts['port']}")
        if companions:
            # Stopped by a service manager: the companions first, then the default end.
            signal.signal(signal.SIGTERM, partial(_stop_then_exit, companions))
        self.stdout.write(self.style.SUCCESS(f"Shequ is ready at {url} (database: {engine})"))
        try:
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
        finally:
            for companion in companions:
                companion.stop()


def _stop_then_exit(companions: list[Companion], signum: int, frame: object) -> None:
    for companion in companions:
        companion.stop()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _reachable(host: str) -> str:
    """Where a local client finds a server listening on ``host`` (all interfaces: loopback)."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:
            return "127.0.0.1"
    return host
