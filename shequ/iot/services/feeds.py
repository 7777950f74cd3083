"""Feeds of access events to a department (public security) under a written authorization.

A street or county officer with ``iot.feeds`` authorizes a feed for one department client account:
regions inside the officer's scope, device kinds (door, gate, camera), webhook or pull, and the
authorization text (legal basis, document number). What leaves the platform is decided here once
(:func:`event_payload`): the event, the device and place, the credential's kind and its **masked**
form and whether it belongs to a registered resident — never the person's id or name. A feed that
needs to name people needs a field for that authorization first (not built: default masked only).

Every batch that leaves is audited once (not per event) and gets a ``FeedDelivery`` row.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, crypto, webhooks
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, Department, Region, Role, User
from shequ.core.permissions import Viewer, active_memberships, has_perm
from shequ.core.text import clean_text
from shequ.iot.models import (
    Channel,
    Device,
    DeviceEvent,
    DeviceKind,
    FeedDelivery,
    FeedMode,
    FeedSubscription,
)
from shequ.iot.permissions import IotPerm as P

FEED_KINDS = (DeviceKind.DOOR, DeviceKind.GATE, DeviceKind.CAMERA)
BATCH_SIZE = 500
# Events younger than this are left for the next batch: ids are taken when a transaction inserts,
# so an older id may still be committing when a newer one is visible; waiting keeps the cursor from
# stepping over it. received_at is when the event was written (ingest.Pipeline.commit), not when it
# was checked, so a batch held back by an outage does not look settled the moment it commits.
SETTLE = dt.timedelta(seconds=10)


def _secret_aad(feed_id: int) -> str:
    return f"iot.feed.secret:{feed_id}"


def feed_secret(feed: FeedSubscription) -> str:
    return crypto.decrypt(feed.secret, _secret_aad(feed.pk))


def _client_ok(client: User, department: Department) -> bool:
    return client.is_active and any(
        m.role == Role.DEPARTMENT_STAFF and m.department_id == department.pk
        for m in active_memberships(client)
    )


def feed_authorize(
    *,
    actor: Viewer,
    name: Any,
    department: Department,
    client: User,
    regions: list[Region],
    kinds: list[str],
    mode: Any,
    authorization: Any,
    url: Any = "",
    request: HttpRequest | None = None,
) -> tuple[FeedSubscription, str]:
    """Authorize a feed; answers it and the webhook secret (shown once; kept encrypted)."""
    if not regions:
        raise ValidationError({"regions": _("Choose at least one region.")})
    if not isinstance(actor, User):
        raise PermissionDenied(_("You may not change this feed."))
    for region in regions:
        require_actor(
            actor, P.FEEDS, region.code, action="iot.feed_authorize", object_type="iot.feed", request=request
        )
    errors: dict[str, Any] = {}
    label = clean_text(name)
    if not label or len(label) > 100:
        errors["name"] = [_("Give the feed a name of at most 100 characters.")]
    basis = clean_text(authorization)
    if len(basis) < 6 or len(basis) > 200:
        errors["authorization"] = [_("Write the legal basis and the document number (6 to 200 characters).")]
    chosen = sorted(set(kinds))
    if not chosen or any(k not in FEED_KINDS for k in chosen):
        errors["kinds"] = [_("Choose door controllers, barrier gates or cameras.")]
    if mode not in FeedMode.values:
        errors["mode"] = [_("Choose a signed webhook or the pull API.")]
    address = str(url or "").strip()
    if mode == FeedMode.WEBHOOK:
        try:
            address = webhooks.check_url(address)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    else:
        address = ""
    if not _client_ok(client, department):
        errors["client"] = [_("The client account must be an active staff account of this department.")]
    if not any(
        region.code.startswith(department.region_code) or department.region_code.startswith(region.code)
        for region in regions
    ):
        errors["department"] = [_("The department does not serve these regions.")]
    if errors:
        raise ValidationError(errors)
    codes = sorted({r.code for r in regions})
    codes = [c for c in codes if not any(o != c and c.startswith(o) for o in codes)]
    secret = secrets.token_hex(32)
    with transaction.atomic():
        feed = FeedSubscription.objects.create(
            name=label,
            department=department,
            client=client,
            region_codes=codes,
            kinds=chosen,
            mode=mode,
            url=address,
            authorized_by=actor,
            authorization=basis,
            cursor=_latest_id(),
        )
        feed.secret = crypto.encrypt(secret, _secret_aad(feed.pk))
        FeedSubscription.objects.filter(pk=feed.pk).update(secret=feed.secret)
        audit.record(
            "iot.feed_authorize",
            actor=actor,
            request=request,
            region_code=_common(codes),
            object_type="iot.feed",
            object_id=feed.pk,
            reason=basis,
            detail={
                "department": department.code,
                "client": client.pk,
                "regions": codes,
                "kinds": chosen,
                "mode": mode,
            },
        )
    return feed, secret


def _latest_id() -> int:
    """A new feed starts now: it is not a way to download the past."""
    last = DeviceEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return int(last or 0)


def _common(codes: list[str]) -> str:
    first, last = min(codes), max(codes)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def feed_revoke(
    *, actor: Viewer, feed: FeedSubscription, request: HttpRequest | None = None
) -> FeedSubscription:
    """Stop a feed at once (no further delivery or pull)."""
    if not any(has_perm(actor, P.FEEDS, code) for code in feed.region_codes):
        audit.record(
            "iot.feed_revoke",
            actor=actor,
            request=request,
            object_type="iot.feed",
            object_id=feed.pk,
            result=AuditResult.DENIED,
        )
        raise PermissionDenied(_("You may not change this feed."))
    with transaction.atomic():
        if FeedSubscription.objects.filter(pk=feed.pk, active=True).update(active=False):
            audit.record(
                "iot.feed_revoke",
                actor=actor,
                request=request,
                region_code=_common(feed.region_codes),
                object_type="iot.feed",
                object_id=feed.pk,
            )
        feed.active = False
    return feed


# --- What is shared --------------------------------------------------------------------------------


def feed_events(
    feed: FeedSubscription, *, after: int, limit: int = BATCH_SIZE, now: dt.datetime | None = None
) -> list[DeviceEvent]:
    """The feed's next events after ``after`` (event ids), oldest first; never events the
    platform received before the feed was authorized (a feed is not a way into the past, whatever
    ``after`` a client sends)."""
    now = now or timezone.now()
    area = Q(pk__in=[])
    for code in feed.region_codes:
        area |= Q(region_code__startswith=code)
    devices = Device.objects.filter(area, kind__in=feed.kinds)
    return list(
        DeviceEvent.objects.filter(
            area,
            id__gt=after,
            channel=Channel.EVENT,
            received_at__gte=feed.created_at,
            received_at__lte=now - SETTLE,
        )
        .filter(device_id__in=devices.values("pk"))
        .order_by("id")[: max(1, min(limit, BATCH_SIZE))]
    )


def event_payload(events: list[DeviceEvent]) -> list[dict[str, Any]]:
    devices = {
        d.pk: d
        for d in Device.objects.filter(pk__in={e.device_id for e in events}).only("code", "kind", "name")
    }
    out: list[dict[str, Any]] = []
    for e in events:
        device = devices.get(e.device_id)
        out.append(
            {
                "id": e.id,
                "occurred_at": e.occurred_at.isoformat(),
                "region_code": e.region_code,
                "device": device.code if device else "",
                "device_kind": device.kind if device else "",
                "device_name": device.name if device else "",
                "type": e.type,
                "credential_kind": (e.data.get("credential") or {}).get(
                    "kind", "plate" if e.subject_masked else ""
                ),
                "subject_masked": e.subject_masked,
                "resident": e.person_id is not None,
            }
        )
    return out


def _audit_batch(
    action: str,
    feed: FeedSubscription,
    events: list[DeviceEvent],
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    result: str = AuditResult.SUCCESS,
    extra: dict[str, Any] | None = None,
) -> None:
    audit.record(
        action,
        actor=actor,
        actor_name="" if actor else f"feed:{feed.pk}",
        request=request,
        region_code=_common(feed.region_codes),
        object_type="iot.feed",
        object_id=feed.pk,
        fields=["subject_masked", "resident"],
        result=result,
        reason=feed.authorization,
        detail={
            "department": feed.department_id,
            "client": feed.client_id,
            "first": events[0].id if events else None,
            "last": events[-1].id if events else None,
            "count": len(events),
            "residents": sum(1 for e in events if e.person_id is not None),
            **(extra or {}),
        },
    )


def feed_pull(
    *,
    viewer: Viewer,
    feed: FeedSubscription,
    after: int | None,
    limit: int = BATCH_SIZE,
    request: HttpRequest | None = None,
) -> tuple[list[DeviceEvent], int]:
    """The pull API: the feed's client reads the events after ``after`` (default: its cursor).
    Returns the events and the next cursor; the batch is audited and recorded."""
    if getattr(viewer, "pk", None) != feed.client_id or not feed.active:
        raise PermissionDenied(_("This feed is not authorized for this account."))
    if feed.mode != FeedMode.PULL:
        raise PermissionDenied(_("This feed is delivered by webhook."))
    start = feed.cursor if after is None else after
    events = feed_events(feed, after=start, limit=limit)
    cursor = events[-1].id if events else start
    with transaction.atomic():
        if events:
            FeedDelivery.objects.create(
                subscription=feed,
                first_id=events[0].id,
                last_id=events[-1].id,
                count=len(events),
                status="pulled",
                attempts=1,
            )
            FeedSubscription.objects.filter(pk=feed.pk, cursor__lt=cursor).update(cursor=cursor)
        _audit_batch("iot.feed_pull", feed, events, actor=viewer, request=request)
    return events, cursor


# --- Webhook delivery (called by shequ/iot/feeds.py in the worker) ----------------------------------


class DeliveryFailed(Exception):
    pass


def deliver_once(feed_id: int, *, post: Any, now: dt.datetime | None = None) -> int:
    """Send the next batch of a webhook feed; returns how many events were delivered (0: nothing
    to send). ``post(url, body, headers) -> status code`` does the network call (raising or a
    non-2xx status is a failure: a FeedDelivery row ``failed`` and ``DeliveryFailed``, which the
    outbox retries with backoff). The cursor moves only from the value this batch started from, so
    a batch delivered twice (a worker that died after sending) never skips events."""
    feed = FeedSubscription.objects.select_related("department").filter(pk=feed_id).first()
    if feed is None or not feed.active or feed.mode != FeedMode.WEBHOOK:
        return 0
    events = feed_events(feed, after=feed.cursor, now=now)
    if not events:
        return 0
    body = json.dumps(
        {
            "feed": feed.pk,
            "batch": f"{feed.pk}:{events[0].id}-{events[-1].id}",
            "cursor": events[-1].id,
            "events": event_payload(events),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    timestamp = str(int((now or timezone.now()).timestamp()))
    headers = webhooks.signed_headers(
        feed_secret(feed), timestamp, body, f"{feed.pk}:{events[0].id}-{events[-1].id}"
    )
    attempts = (
        FeedDelivery.objects.filter(subscription=feed, first_id=events[0].id, status="failed").count() + 1
    )
    error = ""
    try:
        status = int(post(feed.url, body, headers))
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except Exception as exc:  # any network failure is a failed attempt, retried by the outbox
        error = f"{type(exc).__name__}: {exc}"[:300]
    with transaction.atomic():
        FeedDelivery.objects.create(
            subscription=feed,
            first_id=events[0].id,
            last_id=events[-1].id,
            count=len(events),
            status="failed" if error else "delivered",
            attempts=attempts,
            error=error,
        )
        if not error:
            FeedSubscription.objects.filter(pk=feed.pk, cursor=feed.cursor).update(cursor=events[-1].id)
        _audit_batch(
            "iot.feed_deliver",
            feed,
            events,
            result=AuditResult.FAILURE if error else AuditResult.SUCCESS,
            extra={"attempt": attempts, **({"error": error} if error else {})},
        )
    if error:
        raise DeliveryFailed(error)
    return len(events)
