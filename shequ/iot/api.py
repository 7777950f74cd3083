"""The IoT API (mounted at /api/v1/iot/).

* ``POST /ingest/{device}/{channel}``: devices without MQTT send the same JSON payloads as over
  MQTT, with ``Authorization: Bearer <device token>``. 202 when stored (or already stored: the
  message id makes a resend harmless); a refused payload is dead-lettered and answered 400/401/413
  with the dead-letter reason as ``code``.
* Reads of devices, events (by device, place and time range; access records only with the access
  permission, audited) and alerts; acknowledging and clearing alerts.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status
from ninja.security import HttpBearer

from shequ.core import guards
from shequ.core.apiauth import api_auth, register_scope
from shequ.core.apierrors import ApiError
from shequ.core.models import User
from shequ.core.schemas import MAX_DB_ID
from shequ.iot import selectors, services
from shequ.iot.ingest import Message, Pipeline
from shequ.iot.models import Alert, Channel, DeviceEvent
from shequ.iot.payloads import Reason, topic_for
from shequ.iot.permissions import IotPerm as P
from shequ.iot.schemas import (
    AlertFilters,
    AlertOut,
    ClearIn,
    DeviceCode,
    DeviceOut,
    EventFilters,
    EventOut,
    IngestOut,
)

IOT_READ = register_scope("iot:read", "Read devices, device events and alerts in the owner's regions.")
IOT_WRITE = register_scope("iot:write", "Acknowledge and clear IoT alerts in the owner's regions.")
router = Router(tags=["iot"])
READ = api_auth(IOT_READ)
WRITE = api_auth(IOT_WRITE)

# One pipeline per web process: it caches devices, credentials and rules between requests.
_PIPELINE = Pipeline()
STATUS_OF = {Reason.BAD_TOKEN: 401, Reason.OVERSIZE: 413}
# An unknown device code is answered like a wrong token (the dead letter keeps the difference), so
# the endpoint does not tell a stranger which device codes exist.
ANSWERED_AS = {Reason.UNKNOWN_DEVICE: Reason.BAD_TOKEN, Reason.BAD_TOPIC: Reason.BAD_TOKEN}
MESSAGES = {
    Reason.BAD_TOKEN: "The device code or its token is wrong.",
    Reason.OVERSIZE: "The payload is larger than the platform accepts from a device.",
    Reason.RETIRED: "This device is retired.",
    Reason.BAD_JSON: "The payload is not JSON.",
    Reason.BAD_VERSION: "The payload's version (v) is not one the platform knows.",
    Reason.BAD_SCHEMA: "The payload does not match the schema of this device kind and channel.",
    Reason.FORBIDDEN: "Images and biometric data are not accepted.",
    Reason.BAD_TIME: "The payload's time (ts) is too far from now.",
}


def _viewer(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


class DeviceToken(HttpBearer):
    """A device's own token (``Authorization: Bearer dev_…``). Any token passes here; the pipeline
    checks it against the device named in the path and dead-letters a wrong one (401)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return token or None


@router.post(
    "/ingest/{device}/{channel}",
    response={202: IngestOut},
    auth=DeviceToken(),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A payload of the device's kind (docs/iot.md), e.g. "
            '`{"v": 1, "id": "m-1", "ts": 1733472000000, "type": "alarm"}`.',
        }
    },
)
def ingest(
    request: HttpRequest,
    device: Annotated[DeviceCode, Path(description="The device's code, as registered.")],
    channel: Annotated[Channel, Path(description="event, telemetry or heartbeat.")],
) -> Status[Any]:
    """A device without MQTT sends one message (same payload as on its MQTT topic)."""
    code = device
    found = _PIPELINE.devices.get(code)
    if found is None:
        _PIPELINE.refresh()
        found = _PIPELINE.devices.get(code)
    # The topic the device would have used: region and kind as registered (an unknown device gets
    # a topic the pipeline refuses as unknown, and is dead-lettered like any other).
    topic = (
        topic_for(found.region_code, found.kind, code, channel)
        if found
        else topic_for("000000", "door", code, channel)
    )
    result = _PIPELINE.process(
        [Message(topic, request.body, transport="http", token=str(getattr(request, "auth", "")))]
    )
    reason = result.outcomes[0]
    if reason:
        reason = ANSWERED_AS.get(reason, reason)
        raise ApiError(
            STATUS_OF.get(reason, 400), reason, _(MESSAGES.get(reason, "The message was refused."))
        )
    return Status(202, {"status": "stored" if result.stored else "duplicate"})


def _event_out(e: DeviceEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "device_id": e.device_id,
        "channel": e.channel,
        "type": e.type,
        "occurred_at": e.occurred_at,
        "received_at": e.received_at,
        "value": e.value,
        "house_id": e.house_id,
        "subject_masked": e.subject_masked,
        "resident": e.person_id is not None,
        "data": e.data,
    }


def _alert_out(a: Alert) -> dict[str, Any]:
    return {
        **{f: getattr(a, f) for f in AlertOut.model_fields if hasattr(a, f) and not f.startswith("rule_")},
        "rule_id": a.rule_id,
        "rule_name": a.rule.name,
        "rule_kind": a.rule.kind,
    }


@router.get("/devices", response=list[DeviceOut], auth=READ)
def device_list(request: HttpRequest, kind: str | None = None, status: str | None = None) -> list[Any]:
    """Devices in the caller's regions with their status and last values (at most 1,000)."""
    viewer = guards.require_api(request, P.VIEW, _("Your role gives no access to IoT devices."))
    return list(selectors.device_list(viewer=viewer, kind=kind, status=status)[:1000])


@router.get("/devices/{device_id}", response=DeviceOut, auth=READ)
def device_get(request: HttpRequest, device_id: Path[int]) -> Any:
    if not 1 <= device_id <= MAX_DB_ID:
        raise ApiError(404, "not_found", _("Not found."))
    return selectors.get_device_for(_viewer(request), device_id)


@router.get("/events", response=list[EventOut], auth=READ)
def event_list(request: HttpRequest, filters: Query[EventFilters]) -> list[dict[str, Any]]:
    """Events newest first, by device, house, building or key place and time range. Access records
    (naming a resident) only with the access permission there; such reads are audited."""
    viewer = guards.require_api(request, P.VIEW, _("Your role gives no access to IoT devices."))
    device = selectors.get_device_for(viewer, filters.device) if filters.device else None
    rows = selectors.event_list(
        viewer=viewer,
        device=device,
        house_id=filters.house,
        building_id=filters.building,
        key_place_id=filters.key_place,
        start=filters.start,
        end=filters.end,
        limit=filters.limit,
        request=request,
    )
    return [_event_out(e) for e in rows]


@router.get("/alerts", response=list[AlertOut], auth=READ)
def alert_list(request: HttpRequest, filters: Query[AlertFilters]) -> list[dict[str, Any]]:
    viewer = guards.require_api(request, P.VIEW, _("Your role gives no access to IoT devices."))
    return [_alert_out(a) for a in selectors.alert_list(viewer=viewer, state=filters.state)[:500]]


@router.post("/alerts/{alert_id}/ack", response=AlertOut, auth=WRITE)
def alert_ack(request: HttpRequest, alert_id: Path[int]) -> dict[str, Any]:
    viewer = _viewer(request)
    alert = selectors.get_alert_for(viewer, alert_id) if 1 <= alert_id <= MAX_DB_ID else None
    if alert is None:
        raise ApiError(404, "not_found", _("Not found."))
    return _alert_out(services.alert_acknowledge(actor=viewer, alert=alert, request=request))


@router.post("/alerts/{alert_id}/clear", response=AlertOut, auth=WRITE)
def alert_clear(request: HttpRequest, alert_id: Path[int], payload: ClearIn) -> dict[str, Any]:
    viewer = _viewer(request)
    alert = selectors.get_alert_for(viewer, alert_id) if 1 <= alert_id <= MAX_DB_ID else None
    if alert is None:
        raise ApiError(404, "not_found", _("Not found."))
    return _alert_out(services.alert_clear(actor=viewer, alert=alert, reason=payload.reason, request=request))
