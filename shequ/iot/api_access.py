"""Access-control API (mounted at /api/v1/iot/ next to ``api.py``).

* ``POST /gate/{device}/check``: a gate controller checks a visitor pass code with its own device
  token (``Authorization: Bearer dev_…``, as for ``/ingest``). The answer says allowed or why not;
  an allowed check uses one entry.
* ``GET /feeds/{feed_id}/events?after=<cursor>``: a department client pulls its authorized feed
  (masked subjects only); each batch is audited.
"""

from __future__ import annotations

import hmac
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema

from shequ.core.apiauth import api_auth, deny, register_scope
from shequ.core.apierrors import ApiError
from shequ.core.schemas import MAX_DB_ID, Str200, StrictIn
from shequ.iot.api import DeviceToken
from shequ.iot.models import Device, FeedSubscription
from shequ.iot.services import access, feeds
from shequ.iot.services.devices import token_hash

IOT_FEEDS_READ = register_scope(
    "iotfeed:read", "Pull the access-event feeds authorized for the token's owner."
)
router = Router(tags=["iot access"])


def _gate(request: HttpRequest, code: str) -> Device:
    """The device named in the path, when the bearer token is its own (else 401, as ``/ingest``)."""
    token = str(getattr(request, "auth", ""))
    device = Device.objects.filter(code=code[:64], active=True).first()
    if (
        device is None
        or not device.token_hash
        or not hmac.compare_digest(token_hash(token), device.token_hash)
    ):
        raise ApiError(401, "bad_token", _("The device token is missing or wrong."))
    return device


class CheckIn(StrictIn):
    code: Str200 = Field(description="The pass code (8 characters) or the link its QR code holds.")


class CheckOut(Schema):
    allowed: bool
    reason: Literal["", "unknown", "wrong_place", "revoked", "not_yet", "expired", "used_up"]
    message: str
    entries_left: int | None = None


@router.post("/gate/{device}/check", response=CheckOut, auth=DeviceToken())
def gate_check(request: HttpRequest, device: Path[str], payload: CheckIn) -> dict[str, Any]:
    """A gate controller checks a visitor pass (its device token, like ``/ingest``)."""
    gate = _gate(request, device)
    if gate.kind not in ("gate", "door"):
        raise ApiError(403, "not_a_gate", _("Only door controllers and barrier gates check passes."))
    result = access.pass_check(code=payload.code, device=gate, request=request)
    vp = result.visitor_pass
    return {
        "allowed": result.allowed,
        "reason": result.reason,
        "message": result.message,
        "entries_left": vp.max_uses - vp.uses if vp is not None else None,
    }


class FeedEventOut(Schema):
    id: int
    occurred_at: str
    region_code: str
    device: str
    device_kind: str
    device_name: str
    type: str
    credential_kind: str
    subject_masked: str = Field(description="The card or plate, masked; never the clear value.")
    resident: bool = Field(description="The credential belongs to a registered resident (who is not named).")


class FeedPage(Schema):
    feed: int
    cursor: int = Field(description="Pass it as `after` to read on.")
    events: list[FeedEventOut]


class FeedQuery(Schema):
    after: int | None = Field(None, ge=0, le=MAX_DB_ID)
    limit: int = Field(feeds.BATCH_SIZE, ge=1, le=feeds.BATCH_SIZE)


@router.get("/feeds/{feed_id}/events", response=FeedPage, auth=api_auth(IOT_FEEDS_READ))
def feed_events(request: HttpRequest, feed_id: Path[int], query: Query[FeedQuery]) -> dict[str, Any]:
    """The next events of a pull feed authorized for the caller; each batch is audited."""
    viewer = request.auth  # type: ignore[attr-defined]
    feed = FeedSubscription.objects.filter(pk=feed_id).first() if 1 <= feed_id <= MAX_DB_ID else None
    if feed is None or feed.client_id != viewer.pk:
        raise ApiError(404, "not_found", _("Not found."))
    try:
        events, cursor = feeds.feed_pull(
            viewer=viewer, feed=feed, after=query.after, limit=query.limit, request=request
        )
    except PermissionDenied as exc:
        raise deny(request, "feed_inactive", str(exc), feed=feed.pk) from None
    return {"feed": feed.pk, "cursor": cursor, "events": feeds.event_payload(events)}
