"""Transports: the pipeline in process (``direct``), the HTTP ingestion endpoint, an MQTT broker."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.client
import json
import logging
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from shequ.core import outbox
from shequ.iot import handlers
from shequ.iot.ingest import Pipeline, Result
from shequ.iot.models import Device
from shequ.iot.services.devices import device_token_reset, token_hash
from shequ.iot.simulator.fleet import MINUTE, Fleet, Outgoing

log = logging.getLogger(__name__)
TOKENS_FILE = "demo-device-tokens.json"


@dataclass
class Stats:
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    alerts: int = 0
    errors: int = 0

    def line(self) -> str:
        return (
            f"sent {self.sent}, stored {self.stored}, duplicates {self.duplicates}, "
            f"refused {self.refused}, new alerts {self.alerts}, errors {self.errors}"
        )


class Transport(Protocol):
    name: str
    stats: Stats

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None: ...

    def tick(self, now: dt.datetime) -> None: ...

    def close(self) -> None: ...


class DirectTransport:
    """The ingestion pipeline in this process; the time-based rules (absence, dwell, offline) are
    checked on the simulated clock, and with ``work`` the outbox runs too (tickets, notices), as
    ``shequ worker`` would."""

    name = "direct"
    BATCH = 2000

    def __init__(
        self,
        *,
        checks: bool = True,
        work: bool = False,
        check_every: dt.timedelta = MINUTE,
    ) -> None:
        self.pipeline = Pipeline()
        self.stats = Stats()
        self.checks = checks
        self.work = work
        self.check_every = check_every
        self.checked_at: dt.datetime | None = None

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None:
        for i in range(0, len(batch), self.BATCH):
            # Simulated hours may pass in milliseconds: the pipeline's per-device write throttle
            # counts real seconds and would hold back the devices' last-seen time.
            self.pipeline.touched.clear()
            result = self.pipeline.process([m.message() for m in batch[i : i + self.BATCH]], now=now)
            self._count(result)
        self.stats.sent += len(batch)

    def _count(self, result: Result) -> None:
        self.stats.stored += result.stored
        self.stats.duplicates += result.duplicates
        self.stats.refused += sum(result.dead.values())
        self.stats.alerts += result.alerts

    def tick(self, now: dt.datetime) -> None:
        if self.checks and (self.checked_at is None or now - self.checked_at >= self.check_every):
            self.stats.alerts += handlers.check_absence(now) + handlers.check_dwell(now)
            self.stats.alerts += handlers.check_offline(now)
            self.checked_at = now
        if self.work:
            outbox.run_pending()

    def close(self) -> None:
        return None


def tokens_path() -> Path:
    return Path(settings.VAR_DIR) / TOKENS_FILE


def device_tokens(fleet: Fleet, *, path: Path | None = None) -> dict[str, str]:
    """The demo devices' tokens from ``var/demo-device-tokens.json``, each checked against the
    device's stored hash; a device missing there, or whose token no longer matches (reset since, or
    the file written for another database), gets a new one (its old token stops working) and the
    file is written again (readable by its owner only)."""
    path = path or tokens_path()
    known: dict[str, str] = {}
    if path.exists():
        with contextlib.suppress(ValueError, AttributeError):
            known = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    hashes = dict(Device.objects.filter(pk__in=[d.id for d in fleet.devices]).values_list("pk", "token_hash"))
    stale = [
        d.id for d in fleet.devices if d.code not in known or token_hash(known[d.code]) != hashes.get(d.id)
    ]
    if stale:
        with transaction.atomic():
            for device in Device.objects.filter(pk__in=stale):
                known[device.code] = device_token_reset(actor=None, device=device)
        write_tokens(known, path)
    return known


def write_tokens(tokens: dict[str, str], path: Path | None = None) -> Path:
    path = path or tokens_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(dict(sorted(tokens.items())), indent=1) + "\n")
    return path


class HttpTransport:
    """``POST /api/v1/iot/ingest/<device>/<channel>`` with each device's bearer token, one message a
    request on a kept-alive connection (as a device without MQTT does)."""

    name = "http"

    def __init__(self, url: str, tokens: dict[str, str], *, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.prefix = parts.path.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout
        self.stats = Stats()
        self.conn: http.client.HTTPConnection | None = None

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Until the server accepts connections (it may be starting beside us), at most ``timeout``."""
        deadline = time.monotonic() + timeout
        while not broker_answers(self.host, self.port):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout)
        return self.conn

    def post(self, m: Outgoing) -> int:
        path = f"{self.prefix}/api/v1/iot/ingest/{urllib.parse.quote(m.device.code)}/{m.channel}"
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.tokens.get(m.device.code, '')}",
        }
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request("POST", path, body=m.payload(), headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None:
        for m in batch:
            try:
                status = self.post(m)
            except (OSError, http.client.HTTPException) as exc:
                self.stats.errors += 1
                log.warning("simulator: %s: %s", m.device.code, exc)
                continue
            self.stats.sent += 1
            if status == 202:
                self.stats.stored += 1
            elif 400 <= status < 500:
                self.stats.refused += 1
            else:
                self.stats.errors += 1

    def tick(self, now: dt.datetime) -> None:
        return None  # the server's worker checks the time-based rules

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class MqttTransport:
    """QoS 1 publishes with gmqtt (MQTT 5) on the topic scheme; ``close`` waits until the broker has
    acknowledged every message. gmqtt runs its event loop in a thread of its own, so the rest of the
    simulator (and Django's database calls in ``direct``) stays synchronous."""

    name = "mqtt"
    MAX_IN_FLIGHT = 5000

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        import threading

        from gmqtt import Client
        from gmqtt.mqtt.constants import MQTTv50
        from gmqtt.storage import PersistentStorage

        self.stats = Stats()
        self.storage = PersistentStorage()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="simulator-mqtt", daemon=True)
        self.thread.start()
        self.client = Client(client_id or f"shequ-sim-{time.time_ns():x}", persistent_storage=self.storage)
        if username:
            self.client.set_auth_credentials(username, password)
        self._call(self.client.connect(host, port, version=MQTTv50, keepalive=30), timeout=10)

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        for topic, payload in messages:
            self.client.publish(topic, payload, qos=1)
            if len(self.storage.get_all()) >= self.MAX_IN_FLIGHT:
                await self.storage.wait_empty()

    def send(self, batch: Sequence[Outgoing], now: dt.datetime) -> None:
        self._call(self._publish([(m.device.topic(m.channel), m.payload()) for m in batch]))
        self.stats.sent += len(batch)

    def tick(self, now: dt.datetime) -> None:
        return None  # the ingester stores, the worker checks the time-based rules

    def flush(self, timeout: float = 30.0) -> None:
        self._call(asyncio.wait_for(self.storage.wait_empty(), timeout))

    def close(self) -> None:
        try:
            self.flush()
            self._call(self.client.disconnect(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)


def broker_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
