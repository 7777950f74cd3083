"""The ingestion pipeline shared by MQTT (``shequ ingest``) and the HTTP endpoint.

``Pipeline.process(messages)`` checks each message (topic, size, schema, device, token, time:
``prepare``), then in one transaction (``commit``) stores the good ones once (``storage.store``),
dead-letters the rest with their reason, keeps devices' online state and last values and houses'
last activity current, and runs the arrival rules on the events that are new. The caller
acknowledges the messages only after it returns: a crash before that makes the broker deliver them
again, and the idempotent store keeps them once (at-least-once delivery, exactly-once storage).

A bad message never raises out of ``process``; a database failure does (the caller retries the
whole batch, unacknowledged).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from shequ.core import crypto
from shequ.iot import payloads, rules, storage
from shequ.iot.models import (
    AccessCredential,
    Channel,
    DeadLetter,
    DeadLetterCount,
    Device,
    DeviceKind,
    HouseActivity,
)
from shequ.iot.payloads import PayloadError, Reason
from shequ.iot.rules import DeviceInfo
from shequ.iot.services.alerts import raise_hits
from shequ.iot.services.devices import token_hash

log = logging.getLogger(__name__)

# How often a device row is written for its heartbeat and last values (not on every message).
TOUCH_SECONDS = 10.0
# How often the caches of devices, credentials and rules are reloaded.
REFRESH_SECONDS = 30.0
# A device's clock may run this far ahead; older than the retention is refused too.
FUTURE_SKEW = dt.timedelta(hours=1)
DOOR_ACTIVITY = frozenset({"open", "enter", "exit", "closed"})
DEAD_PAYLOAD_KEEP = 2000
TOPIC_CACHE = 200_000
INTERNAL = "internal"  # a message the code or the database could not take (a bug to look into)
# Plain strings for the per-row comparisons (a TextChoices member compares through enum machinery).
TELEMETRY, EVENT = str(Channel.TELEMETRY), str(Channel.EVENT)


@dataclass
class Message:
    topic: str
    payload: bytes
    transport: str = "mqtt"
    token: str | None = None  # HTTP: the device's bearer token (MQTT devices authenticate at the broker)


@dataclass
class Result:
    stored: int = 0
    duplicates: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    # Per message, in order: "" stored or duplicate, else the dead-letter reason (HTTP answers with it).
    outcomes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Bounds:
    """What a message is checked against, fixed once per batch."""

    max_bytes: int
    earliest: dt.datetime
    latest: dt.datetime


@dataclass
class _Dead:
    message: Message
    reason: str
    detail: str
    device_code: str = ""
    region_code: str = ""


@dataclass
class Prepared:
    """A batch checked: the rows to store and the messages to dead-letter, in order."""

    now: dt.datetime
    rows: list[storage.EventRow] = field(default_factory=list)
    dead: list[_Dead] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    # ``now`` was the caller's (a test's or the simulator's clock): the rows keep it as received_at.
    clock_given: bool = False


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL: a hostile payload's would make the whole batch fail."""
    return value.replace("\x00", "\ufffd")


def mask_credential(kind: str, value: str) -> str:
    clean = value.strip().upper()
    if kind == "plate" and len(clean) >= 4:
        return f"{clean[:2]}·***{clean[-2:]}"
    return f"****{clean[-4:]}" if len(clean) > 4 else "****"


class Pipeline:
    """One per ingesting process: it caches devices, credentials and rules between batches."""

    def __init__(self) -> None:
        self.devices: dict[str, DeviceInfo] = {}
        self.by_id: dict[int, DeviceInfo] = {}
        self.credentials: dict[tuple[str, str], tuple[int, int | None]] = {}
        self.matcher = rules.Matcher(())
        self.loaded_at = -1e9
        self.missed_at = -1e9
        self.touched: dict[int, float] = {}
        # Per device not written yet (``_touch``): when it was last heard, and the values to write.
        self.heard: dict[int, dt.datetime] = {}
        self.pending: dict[int, dict[str, Any]] = {}
        self.swept_at = -1e9
        self.online: set[int] = set()
        # Topics repeat (one to three per device): parsed once each.
        self.topics: dict[str, payloads.Topic | None] = {}

    # --- caches -------------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.loaded_at < REFRESH_SECONDS:
            return
        devices = [rules.device_info(d) for d in Device.objects.all()]
        self.devices = {d.code: d for d in devices}
        self.by_id = {d.id: d for d in devices}
        self.online = set(Device.objects.filter(online=True).values_list("pk", flat=True))
        self.credentials = {
            (kind, index): (person, house)
            for kind, index, person, house in AccessCredential.objects.filter(active=True).values_list(
                "kind", "value_index", "person_id", "house_id"
            )
        }
        self.matcher = rules.Matcher(rules.load(rules.ARRIVAL_KINDS))
        self.loaded_at = now

    def _device(self, code: str) -> DeviceInfo | None:
        found = self.devices.get(code)
        if found is None and time.monotonic() - self.missed_at > 2.0:
            # A device registered a moment ago: reload once, but not for every unknown message.
            self.missed_at = time.monotonic()
            self.refresh(force=True)
            found = self.devices.get(code)
        return found

    @staticmethod
    def _token_ok(device: DeviceInfo, token: str | None) -> bool:
        return bool(token and device.token_hash and hmac.compare_digest(token_hash(token), device.token_hash))

    def _fresh(self, device: DeviceInfo) -> DeviceInfo:
        if time.monotonic() - self.missed_at > 2.0:
            self.missed_at = time.monotonic()
            self.refresh(force=True)
        return self.devices.get(device.code, device)

    # --- one message --------------------------------------------------------------------------

    def _topic(self, name: str) -> payloads.Topic | None:
        found = self.topics.get(name, False)
        if found is False:
            if len(self.topics) > TOPIC_CACHE:
                self.topics.clear()
            found = self.topics[name] = payloads.parse_topic(name)
        return found  # type: ignore[return-value]

    def _row(self, m: Message, now: dt.datetime, bounds: _Bounds) -> storage.EventRow:
        if len(m.payload) > bounds.max_bytes:
            raise PayloadError(Reason.OVERSIZE, f"{len(m.payload)} bytes (at most {bounds.max_bytes})")
        topic = self._topic(m.topic)
        if topic is None:
            raise PayloadError(
                Reason.BAD_TOPIC, "expected shequ/<region>/<kind>/<device>/<event|telemetry|heartbeat>"
            )
        device = self._device(topic.device)
        if device is None:
            raise PayloadError(Reason.UNKNOWN_DEVICE, f"no device {topic.device!r}")
        if m.transport == "http" and not self._token_ok(device, m.token):
            # A token reset a moment ago: read the device again once before refusing.
            device = self._fresh(device)
            if not self._token_ok(device, m.token):
                raise PayloadError(Reason.BAD_TOKEN, "the device token is missing or wrong")
        if not device.active:
            raise PayloadError(Reason.RETIRED, "the device is retired")
        if device.region_code != topic.region_code or device.kind != topic.kind:
            raise PayloadError(
                Reason.TOPIC_MISMATCH, f"the device is registered as {device.region_code}/{device.kind}"
            )
        body = payloads.parse(topic.kind, topic.channel, m.payload)
        if body.ts > bounds.latest or body.ts < bounds.earliest:
            raise PayloadError(Reason.BAD_TIME, f"ts {body.ts.isoformat()} is too far from now")
        data = body.data
        if b"\\u0000" in m.payload and "\\u0000" in storage.encode_json(data):
            # PostgreSQL's jsonb refuses NUL characters in strings.
            raise PayloadError(Reason.BAD_SCHEMA, "NUL characters are not accepted")
        row = storage.EventRow(
            device_id=device.id,
            region_code=device.region_code,
            channel=topic.channel,
            type=body.type,
            msg_id=body.id,
            occurred_at=body.ts,
            received_at=now,
            value=body.value,
            house_id=device.house_id,
            data=data,
        )
        if "credential" in data or "plate" in data:
            self._subject(row, data)
        return row

    def _subject(self, row: storage.EventRow, data: dict[str, Any]) -> None:
        """Access records: a card or plate becomes its blind index, a masked form and, when it is a
        registered resident's, the person (and their house); the clear value is not stored."""
        credential = data.get("credential")
        kind, value = "", ""
        if credential is not None:
            # Only the kind is kept: a card number, plate, pass code or password is never stored.
            data["credential"] = {"kind": credential["kind"]}
            if credential["kind"] in ("card", "plate") and credential.get("value"):
                kind, value = credential["kind"], credential["value"]
        elif plate := data.get("plate"):
            kind, value = "plate", str(plate)
            del data["plate"]
        if not value:
            return
        index = crypto.blind_index(value, f"iot_{kind}")
        row.subject_ref = index
        row.subject_masked = mask_credential(kind, value)
        owner = self.credentials.get((kind, index))
        if owner is not None:
            row.person_id, house = owner
            row.house_id = row.house_id or house

    # --- a batch ------------------------------------------------------------------------------

    def process(self, messages: Sequence[Message], *, now: dt.datetime | None = None) -> Result:
        return self.commit(self.prepare(messages, now=now))

    def prepare(self, messages: Sequence[Message], *, now: dt.datetime | None = None) -> Prepared:
        """The checks, without a transaction (the ingester prepares the next batch while the one
        before is being written); only a reload of the caches reads the database."""
        self.refresh()
        clock_given = now is not None
        now = now or timezone.now()
        bounds = _Bounds(settings.IOT_MAX_PAYLOAD_BYTES, now - storage.retention(), now + FUTURE_SKEW)
        prepared = Prepared(now, clock_given=clock_given)
        rows, dead, outcomes = prepared.rows, prepared.dead, prepared.outcomes
        for m in messages:
            try:
                rows.append(self._row(m, now, bounds))
                outcomes.append("")
            except PayloadError as exc:
                parts = m.topic.split("/")
                dead.append(
                    _Dead(
                        m,
                        exc.reason,
                        exc.detail,
                        parts[3][:64] if len(parts) > 3 else "",
                        parts[1][:15] if len(parts) > 1 else "",
                    )
                )
                outcomes.append(exc.reason)
            except Exception as exc:  # a bug for one message must not stop the stream
                log.exception("iot: message on %s could not be read", m.topic[:200])
                dead.append(_Dead(m, INTERNAL, type(exc).__name__))
                outcomes.append(INTERNAL)
        return prepared

    def commit(self, prepared: Prepared) -> Result:
        """One transaction: the events stored once, devices and houses touched, dead letters, rules
        and alerts. It may be run again after a failure (only the rows' received_at changes).

        An event's received_at is when it is written, not when it was checked: feeds page by id and
        leave the newest ``SETTLE`` seconds of received_at alone, which only protects an event
        committed late if a batch held back (a database outage, a retry) does not look old."""
        now, rows, dead = prepared.now, prepared.rows, prepared.dead
        with transaction.atomic():
            if not prepared.clock_given:
                written = timezone.now()
                for row in rows:
                    row.received_at = written
            new = storage.store(rows)
            self._touch(rows, now)
            self._activity(new)
            self._dead_letters(dead, now)
            hits = rules.count_hits(self.matcher.hits(new, self.by_id))
            alerts = raise_hits(hits, now=now)
        return Result(
            stored=len(new),
            duplicates=len(rows) - len(new),
            dead=Counter(d.reason for d in dead),
            alerts=alerts,
            outcomes=list(prepared.outcomes),
        )

    def _touch(self, rows: list[storage.EventRow], now: dt.datetime) -> None:
        """Online state, last seen and last values, written at most every ``TOUCH_SECONDS`` per
        device, and at once when it comes back online or sends an event other than a door or gate
        passage (an alarm, a refusal, a camera event). What arrives in between is held and written
        with the device's next write, or by a sweep every ``TOUCH_SECONDS`` if it sends nothing more.
        Houses' last door activity (welfare checks) is kept exactly by ``_activity``, not here."""
        pending, heard = self.pending, self.heard
        urgent: set[int] = set()
        for row in rows:
            d = row.device_id
            heard[d] = now
            if row.channel == TELEMETRY:
                pending.setdefault(d, {}).update(row.data)
            elif row.channel == EVENT:
                pending.setdefault(d, {})["last_event"] = row.type
                if row.type not in DOOR_ACTIVITY:
                    urgent.add(d)
        seen = {row.device_id for row in rows}
        clock = time.monotonic()
        touched = self.touched
        due = [
            d
            for d in seen
            if d not in self.online or d in urgent or clock - touched.get(d, -1e9) >= TOUCH_SECONDS
        ]
        if clock - self.swept_at >= TOUCH_SECONDS:
            self.swept_at = clock
            due += [d for d in heard if d not in seen and clock - touched.get(d, -1e9) >= TOUCH_SECONDS]
        if not due:
            return
        if storage.is_postgres():
            payload = storage.encode_json(
                [{"id": d, "seen": heard[d].isoformat(), "vals": pending.get(d, {})} for d in due]
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Device._meta.db_table} d SET online = true, "  # noqa: S608 (our own table names)
                    "last_seen_at = v.seen, last_values = d.last_values || v.vals "
                    "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, seen timestamptz, vals jsonb) "
                    "WHERE d.id = v.id",
                    [payload],
                )
        else:
            for d in due:
                device = Device.objects.filter(pk=d).only("last_values").first()
                if device is None:
                    continue
                merged = {**device.last_values, **pending.get(d, {})}
                Device.objects.filter(pk=d).update(online=True, last_seen_at=heard[d], last_values=merged)
        for d in due:
            touched[d] = clock
            self.online.add(d)
            del heard[d]
            pending.pop(d, None)

    def _activity(self, new: list[storage.EventRow]) -> None:
        """The last door activity per house (the welfare-check rule reads it)."""
        last: dict[int, storage.EventRow] = {}
        for row in new:
            if row.house_id is None or row.type not in DOOR_ACTIVITY:
                continue
            device = self.by_id.get(row.device_id)
            if device is None or device.kind not in (DeviceKind.DOOR, DeviceKind.GATE):
                continue
            if row.house_id not in last or last[row.house_id].occurred_at < row.occurred_at:
                last[row.house_id] = row
        if not last:
            return
        existing = set(
            HouseActivity.objects.filter(house_id__in=list(last)).values_list("house_id", flat=True)
        )
        HouseActivity.objects.bulk_create(
            [
                HouseActivity(
                    house_id=h, region_code=r.region_code, last_at=r.occurred_at, device_id=r.device_id
                )
                for h, r in last.items()
                if h not in existing
            ],
            ignore_conflicts=True,
        )
        for h, r in last.items():
            if h in existing:
                HouseActivity.objects.filter(house_id=h).update(
                    last_at=Greatest(F("last_at"), r.occurred_at), device_id=r.device_id
                )

    def refuse(self, message: Message, detail: str, *, now: dt.datetime | None = None) -> Result:
        """Dead-letter one message that the database would not take (``internal``): the caller
        found it by writing a failed batch message by message, so one bad message does not hold
        back the stream."""
        now = now or timezone.now()
        parts = message.topic.split("/")
        dead = _Dead(
            message,
            INTERNAL,
            detail,
            parts[3][:64] if len(parts) > 3 else "",
            parts[1][:15] if len(parts) > 1 else "",
        )
        with transaction.atomic():
            self._dead_letters([dead], now)
        return Result(dead=Counter({INTERNAL: 1}), outcomes=[INTERNAL])

    def _dead_letters(self, dead: list[_Dead], now: dt.datetime) -> None:
        if not dead:
            return
        kept = [_kept(d) for d in dead]
        DeadLetter.objects.bulk_create(
            [
                DeadLetter(
                    received_at=now,
                    transport=d.message.transport,
                    topic=_text(d.message.topic[:200]),
                    device_code=_text(d.device_code),
                    region_code=d.region_code if d.region_code.isdigit() else "",
                    reason=d.reason,
                    detail=_text(detail),
                    payload=_text(payload),
                )
                for d, (payload, detail) in zip(dead, kept, strict=True)
            ]
        )
        for reason, n in Counter(d.reason for d in dead).items():
            updated = DeadLetterCount.objects.filter(reason=reason).update(count=F("count") + n, last_at=now)
            if not updated:
                DeadLetterCount.objects.create(reason=reason, count=n, last_at=now)


def _forbidden_keys() -> re.Pattern[bytes]:
    keys = b"|".join(re.escape(k.encode()) for k in sorted(payloads.FORBIDDEN_KEYS))
    return re.compile(rb'"(?:' + keys + rb')"\s*:', re.IGNORECASE)


# A dead letter keeps no image or biometric, whatever its reason: its payload is dropped when it
# names one of the keys the schemas refuse (payloads.FORBIDDEN_KEYS) or holds a base64 JPEG or PNG.
FORBIDDEN_KEY_RE = _forbidden_keys()
# Pictures as base64 (JPEG, PNG, GIF, WebP, BMP), as data: URLs, or as raw bytes (JPEG, PNG, GIF).
IMAGE_RE = re.compile(
    rb"/9j/|iVBORw0KGgo|R0lGOD|UklGR|Qk[0-9A-Za-z+/]{2}AAAAAA|data:image/|\xff\xd8\xff|\x89PNG|GIF8[79]a",
    re.IGNORECASE,
)
# Control bytes that text (UTF-8, or a vendor's GBK) does not hold but pictures and other blobs do.
BINARY_RE = re.compile(rb"[\x00-\x08\x0e-\x1f]")
JSON_ESCAPE_RE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|/)")


def _unescaped(raw: bytes) -> bytes:
    """The payload with JSON's \\uXXXX and \\/ escapes undone and NULs (UTF-16 text) left out, so
    an escaped key or image is found as well as a plain one."""
    raw = raw.replace(b"\x00", b"")
    if b"\\" not in raw:
        return raw
    return JSON_ESCAPE_RE.sub(
        lambda m: chr(int(m[1], 16)).encode("utf-8", "surrogatepass") if m[1] else b"/", raw
    ).replace(b"\x00", b"")


def carries_images(raw: bytes) -> bool:
    text = _unescaped(raw)
    return bool(FORBIDDEN_KEY_RE.search(text) or IMAGE_RE.search(text))


def _kept(d: _Dead) -> tuple[str, str]:
    """The payload a dead letter keeps (the first ``DEAD_PAYLOAD_KEEP`` bytes, for finding what a
    vendor sends wrong) and its detail; none for an oversize message (most likely a picture) or
    one carrying images or biometrics, and the detail says so."""
    detail = d.detail[:400]
    if d.reason == Reason.FORBIDDEN:
        return "", detail
    if d.reason == Reason.OVERSIZE:
        return "", f"{detail}; payload not kept"
    if carries_images(d.message.payload):
        return "", f"{detail}; payload not kept: it carries an image or biometric field"
    if BINARY_RE.search(d.message.payload):  # not text (a picture, most likely): nothing to learn from
        return "", f"{detail}; payload not kept: binary data"
    return d.message.payload[:DEAD_PAYLOAD_KEEP].decode("utf-8", "replace"), d.detail[:500]
