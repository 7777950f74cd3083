"""The demo's live devices as companions of ``shequ serve --with-devices`` (``make demo``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import IO, Any

from django.conf import settings

from shequ.iot import simulator


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
        host = os.environ.get("SHEQU_MQTT_HOST", "127.0.0.1")
        port = os.environ.get("SHEQU_MQTT_PORT", "1883")
        simulate = ["simulate-devices", "--exit-with-parent"]
        if simulator.broker_answers(host, int(port)):
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
