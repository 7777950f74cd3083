"""``shequ serve``: the web server (waitress), optionally with a worker thread for small installs
and, for the demo, the device simulator (``make demo``)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from typing import IO, Any

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
        from shequ.wsgi import application

        if opts["with_worker"]:
            from shequ.core import outage, outbox

            # Supervised: a worker loop that dies of anything is logged and started again, so the
            # background work comes back with the web side after a database outage.
            outage.supervise("in-process worker", partial(outbox.work, idle_sleep=1.0))
        url = f"http://{opts['host']}:{opts['port']}/"
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        devices = DeviceProcesses(self.stdout) if opts["with_devices"] else None
        if devices is not None:
            devices.start(f"http://{_reachable(opts['host'])}:{opts['port']}")
            # Stopped by a service manager: the devices first, then the default end.
            signal.signal(signal.SIGTERM, partial(_stop_then_exit, devices))
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
            if devices is not None:
                devices.stop()


def _stop_then_exit(devices: DeviceProcesses, signum: int, frame: object) -> None:
    devices.stop()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _reachable(host: str) -> str:
    """Where a local client finds a server listening on ``host`` (all interfaces: loopback)."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:
            return "127.0.0.1"
    return host


class DeviceProcesses:
    """The demo's live devices: ``shequ simulate-devices`` and, when it publishes over MQTT, a
    ``shequ ingest`` of its own (a shared-subscription group of the demo's), as child processes
    logging to ``var/``; they end with the server."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.children: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []
        self.timer: threading.Timer | None = None

    def _spawn(self, name: str, *args: str) -> None:
        log = (settings.VAR_DIR / f"{name}.log").open("ab")
        self.logs.append(log)
        command = [sys.executable, "-m", "shequ.cli", *args]
        # Our own command line (this interpreter, fixed arguments).
        self.children.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))  # noqa: S603

    def start(self, server: str) -> None:
        from shequ.iot.simulator import broker_answers

        host = os.environ.get("SHEQU_MQTT_HOST", "127.0.0.1")
        port = os.environ.get("SHEQU_MQTT_PORT", "1883")
        simulate = ["simulate-devices", "--exit-with-parent"]
        if broker_answers(host, int(port)):
            self._spawn("ingest", "ingest", "--client-id", "shequ-demo-ingest", "--group", "shequ-demo")
            # The ingester subscribes first, or the broker drops what nobody has asked for yet.
            self.timer = threading.Timer(3.0, self._spawn, ["simulator", *simulate, "--via", "mqtt"])
            self.timer.daemon = True
            self.timer.start()
            how = f"over MQTT ({host}:{port}) with `shequ ingest`"
        else:
            self._spawn("simulator", *simulate, "--via", "http", "--url", server)
            how = f"over HTTP to {server} (no MQTT broker at {host}:{port})"
        self.out.write(f"devices: the demo street's devices are simulated {how}; logs in {settings.VAR_DIR}")

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        for log in self.logs:
            log.close()
