"""Schemas of the IoT API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from shequ.core.schemas import Str200, StrictIn

# Letters, digits, dot, dash and underscore: a device code is one MQTT topic level.
DeviceCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class IngestOut(Schema):
    status: Literal["stored", "duplicate"] = Field(
        description="`duplicate`: this message id was stored before."
    )


class DeviceOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    vendor: str
    model: str
    region_code: str
    building_id: int | None
    house_id: int | None
    key_place_id: int | None
    latitude: float | None
    longitude: float | None
    location_note: str
    active: bool
    online: bool
    last_seen_at: dt.datetime | None
    last_values: dict[str, object]


class EventOut(Schema):
    id: int
    device_id: int
    channel: str
    type: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    value: float | None
    house_id: int | None
    subject_masked: str = Field(description="A card or plate, masked (access records).")
    resident: bool = Field(description="The credential belongs to a registered resident.")
    data: dict[str, object]


class AlertOut(Schema):
    id: int
    rule_id: int
    rule_name: str
    rule_kind: str
    region_code: str
    device_id: int | None
    house_id: int | None
    severity: int
    title: str
    detail: str
    value: float | None
    count: int
    state: str
    first_at: dt.datetime
    last_at: dt.datetime
    acknowledged_at: dt.datetime | None
    cleared_at: dt.datetime | None
    clear_reason: str
    ticket_id: int | None


class EventFilters(Schema):
    device: int | None = Field(None, ge=1, le=2**63 - 1)
    house: int | None = Field(None, ge=1, le=2**63 - 1)
    building: int | None = Field(None, ge=1, le=2**63 - 1)
    key_place: int | None = Field(None, ge=1, le=2**63 - 1)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    limit: int = Field(100, ge=1, le=500)


class AlertFilters(Schema):
    state: Literal["open", "active", "acknowledged", "cleared", "all"] = "open"


class ClearIn(StrictIn):
    reason: Str200 = Field(description="Why it is cleared (handled, false alarm …); at least 4 characters.")
