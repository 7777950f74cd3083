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
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    types: ClassVar[frozenset[str]] = frozenset()
    value_field: ClassVar[str] = ""

    v: Literal[1]
    id: Annotated[str, Field(min_length=1, max_length=64)]
    ts: dt.datetime

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, value: Any) -> dt.datetime:
        return _timestamp(value)

    # Fields are read from __dict__: getattr of a field a model lacks goes through pydantic's
    # __getattr__ and an AttributeError, a cost the ingester paid for every message.
    def event_type(self) -> str:
        return self.__dict__.get("type") or self._default_type

    _default_type: ClassVar[str] = ""

    def value(self) -> float | None:
        if not self.value_field:
            return None
        found = self.__dict__.get(self.value_field)
        return None if found is None else float(found)


Finite = Annotated[float, Field(allow_inf_nan=False)]


class Credential(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["card", "plate", "pass", "remote", "password"]
    value: Annotated[str, Field(max_length=32)] = ""


class Heartbeat(Payload):
    _default_type: ClassVar[str] = "heartbeat"
    battery: Annotated[float, Field(ge=0, le=100)] | None = None
    rssi: Annotated[int, Field(ge=-150, le=0)] | None = None
    firmware: Annotated[str, Field(max_length=32)] | None = None


class DoorEvent(Payload):
    type: Literal["open", "denied", "forced", "held_open", "closed"]
    credential: Credential | None = None
    direction: Literal["in", "out"] | None = None


class GateEvent(Payload):
    type: Literal["enter", "exit", "denied"]
    credential: Credential | None = None


class CameraEvent(Payload):
    type: Literal["vehicle_enter", "vehicle_leave", "intrusion", "crowd", "fall", "fire_lane_parking"]
    plate: Annotated[str, Field(max_length=10)] | None = None
    count: Annotated[int, Field(ge=0, le=100000)] | None = None
    dwell_seconds: Annotated[int, Field(ge=0)] | None = None
    value_field: ClassVar[str] = "count"


class AlarmEvent(Payload):
    """Smoke, gas and water-leak detectors."""

    type: Literal["alarm", "clear", "fault", "low_battery", "tamper", "test"]
    level: Finite | None = None
    value_field: ClassVar[str] = "level"


class SosEvent(Payload):
    type: Literal["pressed", "cancelled", "low_battery"]


class DetectorTelemetry(Payload):
    _default_type: ClassVar[str] = "reading"
    level: Finite  # gas: %LEL; smoke: obscuration %/m; water leak: mm
    battery: Annotated[float, Field(ge=0, le=100)] | None = None
    value_field: ClassVar[str] = "level"


class EnvironmentTelemetry(Payload):
    _default_type: ClassVar[str] = "reading"
    temperature: Annotated[float, Field(ge=-60, le=90)] | None = None
    humidity: Annotated[float, Field(ge=0, le=100)] | None = None
    pm25: Annotated[float, Field(ge=0, le=2000)] | None = None
    pm10: Annotated[float, Field(ge=0, le=3000)] | None = None
    noise: Annotated[float, Field(ge=0, le=200)] | None = None
    co2: Annotated[float, Field(ge=0, le=50000)] | None = None
    water_level: Annotated[float, Field(ge=-100, le=100)] | None = None
    rainfall: Annotated[float, Field(ge=0, le=1000)] | None = None


class MeterTelemetry(Payload):
    _default_type: ClassVar[str] = "reading"
    reading: Annotated[float, Field(ge=0)]
    unit: Literal["kWh", "m3"]
    value_field: ClassVar[str] = "reading"


class CounterTelemetry(Payload):
    _default_type: ClassVar[str] = "reading"
    count: Annotated[int, Field(ge=0, le=100000)]
    entered: Annotated[int, Field(ge=0)] | None = None
    left: Annotated[int, Field(ge=0)] | None = None
    value_field: ClassVar[str] = "count"


class Silent(Payload):
    """A channel the kind does not use: every payload is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("v", mode="before")
    @classmethod
    def _never(cls, value: Any) -> Any:
        raise ValueError("this device kind sends nothing on this channel")


K = DeviceKind
SCHEMAS: dict[tuple[str, str], type[Payload]] = {}
for _kind in K.values:
    SCHEMAS[(_kind, Channel.HEARTBEAT)] = Heartbeat
    SCHEMAS[(_kind, Channel.EVENT)] = Silent
    SCHEMAS[(_kind, Channel.TELEMETRY)] = Silent
SCHEMAS.update(
    {
        (K.DOOR, Channel.EVENT): DoorEvent,
        (K.GATE, Channel.EVENT): GateEvent,
        (K.CAMERA, Channel.EVENT): CameraEvent,
        (K.SMOKE, Channel.EVENT): AlarmEvent,
        (K.GAS, Channel.EVENT): AlarmEvent,
        (K.WATER_LEAK, Channel.EVENT): AlarmEvent,
        (K.SOS, Channel.EVENT): SosEvent,
        (K.SMOKE, Channel.TELEMETRY): DetectorTelemetry,
        (K.GAS, Channel.TELEMETRY): DetectorTelemetry,
        (K.WATER_LEAK, Channel.TELEMETRY): DetectorTelemetry,
        (K.ENVIRONMENT, Channel.TELEMETRY): EnvironmentTelemetry,
        (K.METER, Channel.TELEMETRY): MeterTelemetry,
        (K.PEOPLE_COUNTER, Channel.TELEMETRY): CounterTelemetry,
        (K.PEOPLE_COUNTER, Channel.EVENT): CameraEvent,
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


def parse(kind: str, channel: str, payload: bytes) -> Payload:
    """The payload checked against its kind's schema, or ``PayloadError`` with a reason."""
    schema = SCHEMAS[(kind, channel)]
    try:
        return schema.model_validate_json(payload)
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
        f"{kind}/{channel}": schema.model_json_schema()
        for (kind, channel), schema in sorted(SCHEMAS.items())
        if schema is not Silent
    }
