"""``shequ ingest``: the MQTT ingester (gmqtt, asyncio, MQTT 5).

It subscribes to ``$share/<group>/shequ/#`` with QoS 1 on a persistent session, so several
ingesters split the devices' messages and a restarted one gets back what it had not acknowledged.
Messages are buffered and written in batches by one database thread (``ingest.Pipeline``); the
PUBACKs of a batch are sent, in one write, only after it has committed (the broker redelivers
anything not acknowledged). While one batch is written the next fills.

Per message the event loop does as little as it can: gmqtt parses the PUBLISH and hands it to
``_take`` (in place of gmqtt's QoS 1 handler, which would make an asyncio task and a future per
message and write each PUBACK on its own); the acknowledgements go out per batch. A PUBACK is only
sent on the connection the message came in on: after a reconnect the broker sends the unacknowledged
messages again (stored once), and an old packet id may by then name another message.
A database outage holds the batch, unacknowledged, and retries with backoff; the broker stops
sending once ``receive_maximum`` messages wait for their acknowledgement.

gmqtt was chosen by measurement (a bare QoS 1 subscriber: gmqtt about 46,000 messages/s, paho-mqtt
about 15,000; ``bench/bench_iot_ingest.py`` measured it again: 9 against 52 µs of CPU a message).
The ingester costs 35–40 µs of CPU an event (docs/benchmarks.md, "IoT ingestion").
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections

from shequ.core import outage
from shequ.iot.ingest import Message, Pipeline, Prepared, Result

log = logging.getLogger(__name__)

SUBSCRIPTION = "shequ/#"
PUBACK = struct.Struct("!BBHBB")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = field(default_factory=lambda: f"shequ-ingest-{socket.gethostname()}")
    group: str = "shequ"
    # Topic filters inside the shared subscription (an ingester per region: ``shequ/4301#`` is not
    # MQTT, but ``shequ/430104002001001/#`` is); the tests use one per device to stay apart.
    topics: tuple[str, ...] = (SUBSCRIPTION,)
    username: str | None = None
    password: str | None = None
    batch: int = 2000
    linger: float = 0.05  # seconds a partial batch waits for more
    receive_maximum: int = 20000  # unacknowledged messages the broker may send us
    session_expiry: int = 3600  # seconds the broker keeps our session (and its messages) while we are away
    report_every: float = 10.0


@dataclass
class Totals:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    alerts: int = 0
    batches: int = 0


def _merge(results: list[Result]) -> Result:
    total = Result()
    for r in results:
        total.stored += r.stored
        total.duplicates += r.duplicates
        total.dead.update(r.dead)
        total.alerts += r.alerts
        total.outcomes += r.outcomes
    return total


class Ingester:
    def __init__(self, settings: Settings, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline or Pipeline()
        # Each message with its packet id (None at QoS 0) and the connection it came in on.
        self.buffer: list[tuple[Message, int | None, int]] = []
        self.client: Any = None
        self.generation = 0
        self.first_at = 0.0
        self.kick = asyncio.Event()
        self.totals = Totals()
        # One thread owns the writing connection: batches are written one after another. Another
        # checks the next batch meanwhile (its Python work overlaps the database's).
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iot-db")
        self.prep = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iot-prepare")
        self.watch = outage.OutageWatch("ingester")
        self.connected = asyncio.Event()

    # --- MQTT side ----------------------------------------------------------------------------

    def _take(self, mid: int | None, payload: bytes, topic: str | bytes, properties: Any) -> None:
        if isinstance(topic, bytes):  # gmqtt passes a topic that is not UTF-8 as it came
            topic = topic.decode("utf-8", "replace")
        if not self.buffer:
            self.first_at = time.monotonic()
        self.buffer.append((Message(topic, payload), mid, self.generation))
        self.totals.received += 1
        if len(self.buffer) >= self.settings.batch:
            self.kick.set()

    def on_message(self, client: Any, topic: str, payload: bytes, qos: int, properties: Any) -> None:
        """QoS 0 messages (gmqtt calls this for them only): nothing to acknowledge."""
        self._take(None, payload, topic, properties)

    def _acknowledge(self, batch: list[tuple[Message, int | None, int]]) -> None:
        connection = getattr(self.client, "_connection", None)
        mids = [mid for _m, mid, generation in batch if mid is not None and generation == self.generation]
        if connection is None or not mids:
            return
        # MQTT 5 PUBACK: type, remaining length 4, packet id, reason 0 (success), no properties.
        connection._protocol.write_data(b"".join([PUBACK.pack(0x40, 4, mid, 0, 0) for mid in mids]))

    def on_connect(self, client: Any, flags: Any, rc: Any, properties: Any) -> None:
        from gmqtt import Subscription

        self.generation += 1  # acknowledgements of the connection before are void
        group = self.settings.group
        client.subscribe([Subscription(f"$share/{group}/{t}", qos=1) for t in self.settings.topics])
        self.connected.set()
        log.info(
            "ingester connected to %s:%s as %s",
            self.settings.host,
            self.settings.port,
            self.settings.client_id,
        )

    def on_subscribe(self, client: Any, mid: int, qos: Any, properties: Any) -> None:
        log.info(
            "ingester subscribed to %s in group %s", ", ".join(self.settings.topics), self.settings.group
        )

    def on_disconnect(self, client: Any, packet: Any, exc: Any = None) -> None:
        self.connected.clear()
        log.warning("ingester disconnected from the broker; gmqtt reconnects")

    # --- database side ------------------------------------------------------------------------

    def _prepare(self, messages: list[Message]) -> Prepared:
        """Runs in the preparing thread (it reads the database only to reload its caches)."""
        while True:
            try:
                close_old_connections()
                return self.pipeline.prepare(messages)
            except Exception as exc:
                if not outage.database_unavailable(exc):
                    raise
                time.sleep(self.watch.failed(exc))

    def _write(self, messages: list[Message], prepared: Prepared | None = None) -> Result:
        """Runs in the database thread: the batch, retried until the database takes it. A batch
        the database refuses for another reason (a bug, a value it cannot hold) is written message
        by message, and the one that fails alone is dead-lettered: left unacknowledged it would
        come back for ever and hold up everything behind it."""
        while True:
            try:
                close_old_connections()
                result = self.pipeline.commit(prepared or self.pipeline.prepare(messages))
                self.watch.ok()
                return result
            except Exception as exc:
                if outage.database_unavailable(exc):
                    time.sleep(self.watch.failed(exc))
                    continue
                if len(messages) == 1:
                    log.exception(
                        "ingester: a message on %s is refused by the database", messages[0].topic[:200]
                    )
                    return self.pipeline.refuse(messages[0], f"{type(exc).__name__}: {exc}"[:500])
                log.exception("ingester: a batch of %d failed; writing it message by message", len(messages))
                return _merge([self._write([m]) for m in messages])

    async def _wait(self, seconds: float) -> None:
        """Until a full batch is announced (or stopping), at most ``seconds``."""
        self.kick.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.kick.wait(), timeout=seconds)

    async def batcher(self, stopping: asyncio.Event, ready: asyncio.Queue[Any]) -> None:
        """Cuts the buffer into batches (full, or after ``linger``) and checks them."""
        loop = asyncio.get_running_loop()
        while not (stopping.is_set() and not self.buffer):
            if not self.buffer:
                await self._wait(0.2)
                continue
            wait = self.settings.linger - (time.monotonic() - self.first_at)
            if len(self.buffer) < self.settings.batch and wait > 0 and not stopping.is_set():
                await self._wait(wait)
                continue
            batch, self.buffer = self.buffer[: self.settings.batch], self.buffer[self.settings.batch :]
            if self.buffer:
                self.first_at = time.monotonic()
            messages = [m for m, _mid, _g in batch]
            prepared: Prepared | None = None
            try:
                prepared = await loop.run_in_executor(self.prep, self._prepare, messages)
            except Exception:
                log.exception("ingester: a batch of %d could not be checked; the writer tries", len(batch))
            await ready.put((batch, messages, prepared))
        await ready.put(None)

    async def writer(self, ready: asyncio.Queue[Any]) -> None:
        """Writes the checked batches in order and acknowledges each once it has committed."""
        loop = asyncio.get_running_loop()
        while (item := await ready.get()) is not None:
            batch, messages, prepared = item
            try:
                result = await loop.run_in_executor(self.db, self._write, messages, prepared)
            except Exception:
                # Not even its dead letter could be written: leave the batch unacknowledged (the
                # broker sends it again after we reconnect) and keep going; the log says why.
                log.exception("ingester: a batch of %d messages failed; they stay unacknowledged", len(batch))
                continue
            self._acknowledge(batch)
            t = self.totals
            t.batches += 1
            t.stored += result.stored
            t.duplicates += result.duplicates
            t.dead += sum(result.dead.values())
            t.alerts += result.alerts

    async def reporter(self, stopping: asyncio.Event) -> None:
        last, at, said = 0, time.monotonic(), Totals()
        while not stopping.is_set():
            await asyncio.sleep(self.settings.report_every)
            now = time.monotonic()
            t = self.totals
            if t == said:
                continue  # nothing new: no line
            said = dataclasses.replace(t)
            log.info(
                "ingester: %.0f msg/s; stored %d, duplicates %d, dead letters %d, alerts %d",
                (t.received - last) / (now - at),
                t.stored,
                t.duplicates,
                t.dead,
                t.alerts,
            )
            last, at = t.received, now

    async def run(self, stopping: asyncio.Event) -> Totals:
        from gmqtt import Client
        from gmqtt.mqtt.constants import MQTTv50

        s = self.settings
        await asyncio.get_running_loop().run_in_executor(self.db, self.pipeline.refresh)
        client = Client(
            s.client_id,
            clean_session=False,
            optimistic_acknowledgement=False,
            session_expiry_interval=s.session_expiry,
            receive_maximum=s.receive_maximum,
        )
        self.client = client
        handler = client._package_handler
        handler._handle_qos_1_publish_packet = self._take  # acknowledged by _acknowledge, per batch
        client.on_message = self.on_message
        client.on_connect = self.on_connect
        client.on_disconnect = self.on_disconnect
        client.on_subscribe = self.on_subscribe
        client.set_config({"reconnect_retries": -1, "reconnect_delay": 2})
        if s.username:
            client.set_auth_credentials(s.username, s.password)
        ready: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)  # one batch checked ahead
        batcher = asyncio.create_task(self.batcher(stopping, ready))
        writer = asyncio.create_task(self.writer(ready))
        reporter = asyncio.create_task(self.reporter(stopping))
        await client.connect(s.host, s.port, version=MQTTv50, keepalive=30)
        await stopping.wait()
        await batcher
        await writer  # what was received is written and acknowledged before we leave
        reporter.cancel()
        await asyncio.sleep(0.05)  # let the last PUBACKs go out
        await client.disconnect()
        self.db.shutdown(wait=True)
        self.prep.shutdown(wait=True)
        return self.totals
