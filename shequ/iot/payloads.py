"""The MQTT topic scheme and the versioned JSON payloads of each device kind.

Topic: ``shequ/<region_code>/<kind>/<device code>/<event|telemetry|heartbeat>``. The HTTP endpoint
takes the same payloads with the topic's parts in the URL.

Every payload (version 1) carries ``v`` (1), ``id`` (the device's message id, unique per device;
a redelivery repeats it) and ``ts`` (when it happened: ISO 8601 with an offset, or epoch
milliseconds). The rest depends on the kind and channel and is checked strictly: an unknown field
is refused, so a vendor sending face images or extra personal data is dead-lettered, not stored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, TypeVar

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from shequ.iot.models import Channel, DeviceKind

TOPIC_ROOT = "shequ"
TOPIC_RE = re.compile(r"^shequ/(\d{6,15})/([a-z_]{2,20})/([A-Za-z0-9_.-]{1,64})/(event|telemetry|heartbeat)$")
# Keys that carry images or biometrics: refused with their own reason, whatever the schema.
FORBIDDEN_KEYS = frozenset(
    {"image", "images", "face", "face_image", "photo", "picture", "snapshot", "feature"}
)
PLATE_RE = re.compile(r"^[\u4e00-\u9fa5][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fa5]?$")


class Reason:
    """Why a message went to the dead letters (stable codes; the pages translate them)."""

    BAD_TOPIC = "bad_topic"
    OVERSIZE = "oversize"
    BAD_JSON = "bad_json"
    BAD_VERSION = "bad_version"
    BAD_SCHEMA = "bad_schema"
    FORBIDDEN = "personal_data"
    UNKNOWN_DEVICE = "unknown_device"
    RETIRED = "retired_device"
    TOPIC_MISMATCH = "topic_mismatch"
    BAD_TOKEN = "bad_token"
    BAD_TIME = "bad_time"


@dataclass(frozen=True)
class Topic:
    region_code: str
    kind: str
    device: str
    channel: str


def parse_topic(topic: str) -> Topic | None:
    m = TOPIC_RE.match(topic)
    if m is None or m.group(2) not in DeviceKind.values:
        return None
    return Topic(m.group(1), m.group(2), m.group(3), m.group(4))


def topic_for(region_code: str, kind: str, device: str, channel: str) -> str:
    return f"{TOPIC_ROOT}/{region_code}/{kind}/{device}/{channel}"


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("epoch milliseconds out of range") from None
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a time needs its UTC offset")
        return parsed.astimezone(dt.UTC)
    raise ValueError("not a time")


def _never(value: Any) -> Any:
    raise ValueError("this device kind sends nothing on this channel")


# The schemas are TypedDicts validated by pydantic straight into dicts: building a BaseModel and
# dumping it back to a dict cost the ingester more than the checks (a door event with its card:
# about 12 µs against 5). Every one refuses unknown keys (``extra="forbid"``, from ``Payload``).
# Infinity and NaN are not JSON: PostgreSQL's jsonb would refuse the whole batch they are in.
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Timestamp = Annotated[dt.datetime, BeforeValidator(_timestamp)]  # epoch ms, not pydantic's seconds
MessageId = Annotated[str, Field(min_length=1, max_length=64)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Battery = Annotated[float, Field(ge=0, le=100)]
_T = TypeVar("_T")
# A field that may be left out or sent as null (the exported JSON Schema says it defaults to null).
Nullable = Annotated[_T | None, Field(json_schema_extra={"default": None})]


@with_config(STRICT)
class Payload(TypedDict):
    v: Literal[1]
    id: MessageId
    ts: Timestamp


@with_config(STRICT)
class Credential(TypedDict):
    kind: Literal["card", "plate", "pass", "remote", "password"]
    value: NotRequired[Annotated[str, Field(max_length=32, json_schema_extra={"default": ""})]]


class Heartbeat(Payload):
    battery: NotRequired[Nullable[Battery]]
    rssi: NotRequired[Nullable[Annotated[int, Field(ge=-150, le=0)]]]
    firmware: NotRequired[Nullable[Annotated[str, Field(max_length=32)]]]


class DoorEvent(Payload):
    type: Literal["open", "denied", "forced", "held_open", "closed"]
    credential: NotRequired[Nullable[Credential]]
    direction: NotRequired[Nullable[Literal["in", "out"]]]


class GateEvent(Payload):
    type: Literal["enter", "exit", "denied"]
    credential: NotRequired[Nullable[Credential]]


class CameraEvent(Payload):
    type: Literal["vehicle_enter", "vehicle_leave", "intrusion", "crowd", "fall", "fire_lane_parking"]
    plate: NotRequired[Nullable[Annotated[str, Field(max_length=10)]]]
    count: NotRequired[Nullable[Annotated[int, Field(ge=0, le=100000)]]]
    dwell_seconds: NotRequired[Nullable[Annotated[int, Field(ge=0)]]]


class AlarmEvent(Payload):
    """Smoke, gas and water-leak detectors."""

    type: Literal["alarm", "clear", "fault", "low_battery", "tamper", "test"]
    level: NotRequired[Nullable[Finite]]


class SosEvent(Payload):
    type: Literal["pressed", "cancelled", "low_battery"]


class DetectorTelemetry(Payload):
    level: Finite  # gas: %LEL; smoke: obscuration %/m; water leak: mm
    battery: NotRequired[Nullable[Battery]]


class EnvironmentTelemetry(Payload):
    temperature: NotRequired[Nullable[Annotated[float, Field(ge=-60, le=90)]]]
    humidity: NotRequired[Nullable[Annotated[float, Field(ge=0, le=100)]]]
    pm25: NotRequired[Nullable[Annotated[float, Field(ge=0, le=2000)]]]
    pm10: NotRequired[Nullable[Annotated[float, Field(ge=0, le=3000)]]]
    noise: NotRequired[Nullable[Annotated[float, Field(ge=0, le=200)]]]
    co2: NotRequired[Nullable[Annotated[float, Field(ge=0, le=50000)]]]
    water_level: NotRequired[Nullable[Annotated[float, Field(ge=-100, le=100)]]]
    rainfall: NotRequired[Nullable[Annotated[float, Field(ge=0, le=1000)]]]


class MeterTelemetry(Payload):
    reading: Annotated[float, Field(ge=0)]
    unit: Literal["kWh", "m3"]


class CounterTelemetry(Payload):
    count: Annotated[int, Field(ge=0, le=100000)]
    entered: NotRequired[Nullable[Annotated[int, Field(ge=0)]]]
    left: NotRequired[Nullable[Annotated[int, Field(ge=0)]]]


@with_config(STRICT)
class SilentPayload(TypedDict):
    """A channel the kind does not use: every payload is refused."""

    v: Annotated[Literal[1], BeforeValidator(_never)]
    id: MessageId
    ts: Timestamp


class Body(NamedTuple):
    """A payload that passed its schema: what the event row keeps of it."""

    id: str
    ts: dt.datetime
    type: str  # the payload's ``type``, else the schema's default (heartbeat, reading)
    value: float | None  # the schema's value field (what threshold and count rules compare)
    data: dict[str, Any]  # the rest, without ``v``, ``id``, ``ts`` and null fields


class Schema:
    """One payload schema: its validator, the event type it defaults to and its value field."""

    def __init__(self, typed: type[Any], default_type: str = "", value_field: str = "") -> None:
        self.name = typed.__name__
        self.adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(typed)
        self.validate_json = self.adapter.validate_json
        self.default_type = default_type
        self.value_field = value_field

    def __repr__(self) -> str:
        return f"<Schema {self.name}>"

    def body(self, fields: dict[str, Any]) -> Body:
        """``fields`` (as validated, the caller's no more) split into the event's parts."""
        del fields["v"]
        msg_id, ts = fields.pop("id"), fields.pop("ts")
        if None in fields.values():  # an optional field sent as null is not kept
            fields = {k: v for k, v in fields.items() if v is not None}
        found = fields.get(self.value_field) if self.value_field else None
        return Body(
            msg_id,
            ts,
            fields.get("type") or self.default_type,
            None if found is None else float(found),
            fields,
        )

    def json_schema(self) -> dict[str, Any]:
        return self.adapter.json_schema()


Silent = Schema(SilentPayload)
K = DeviceKind
SCHEMAS: dict[tuple[str, str], Schema] = {}
_heartbeat = Schema(Heartbeat, "heartbeat")
for _kind in K.values:
    SCHEMAS[(_kind, Channel.HEARTBEAT)] = _heartbeat
    SCHEMAS[(_kind, Channel.EVENT)] = Silent
    SCHEMAS[(_kind, Channel.TELEMETRY)] = Silent
_camera = Schema(CameraEvent, value_field="count")
_alarm = Schema(AlarmEvent, value_field="level")
_detector = Schema(DetectorTelemetry, "reading", "level")
SCHEMAS.update(
    {
        (K.DOOR, Channel.EVENT): Schema(DoorEvent),
        (K.GATE, Channel.EVENT): Schema(GateEvent),
        (K.CAMERA, Channel.EVENT): _camera,
        (K.SMOKE, Channel.EVENT): _alarm,
        (K.GAS, Channel.EVENT): _alarm,
        (K.WATER_LEAK, Channel.EVENT): _alarm,
        (K.SOS, Channel.EVENT): Schema(SosEvent),
        (K.SMOKE, Channel.TELEMETRY): _detector,
        (K.GAS, Channel.TELEMETRY): _detector,
        (K.WATER_LEAK, Channel.TELEMETRY): _detector,
        (K.ENVIRONMENT, Channel.TELEMETRY): Schema(EnvironmentTelemetry, "reading"),
        (K.METER, Channel.TELEMETRY): Schema(MeterTelemetry, "reading", "reading"),
        (K.PEOPLE_COUNTER, Channel.TELEMETRY): Schema(CounterTelemetry, "reading", "count"),
        (K.PEOPLE_COUNTER, Channel.EVENT): _camera,
    }
)


class PayloadError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "payload"
    return f"{where}: {err.get('msg', 'invalid')}"[:300]


def parse(kind: str, channel: str, payload: bytes | str) -> Body:
    """The payload checked against its kind's schema, or ``PayloadError`` with a reason."""
    schema = SCHEMAS[(kind, channel)]
    try:
        return schema.body(schema.validate_json(payload))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e.get("type") == "json_invalid" for e in errors):
            raise PayloadError(Reason.BAD_JSON, _first_error(exc)) from None
        if any(e.get("type") == "extra_forbidden" and str(e["loc"][-1]) in FORBIDDEN_KEYS for e in errors):
            raise PayloadError(Reason.FORBIDDEN, "images and biometrics are not accepted") from None
        if any(e.get("loc") == ("v",) for e in errors):
            raise PayloadError(Reason.BAD_VERSION, _first_error(exc)) from None
        raise PayloadError(Reason.BAD_SCHEMA, _first_error(exc)) from None


def schema_documents() -> dict[str, Any]:
    """JSON schemas per kind and channel, for docs and vendors (``shequ iot schemas``)."""
    return {
        f"{kind}/{channel}": schema.json_schema()
        for (kind, channel), schema in sorted(SCHEMAS.items())
        if schema is not Silent
    }
