"""Webhook subscriptions: registered by a security administrator (``sharing.subscribe``) for a
department's grant; events fanned out to deliveries by the outbox handlers in ``handlers.py`` and
sent signed (``shequ.core.webhooks``) by an external handler.

Never twice: a delivery is sent only while it is ``pending``. The send checks and counts the attempt
under a row lock, posts outside any transaction, then marks the row delivered under the lock again.
A worker that dies between the receiver's 2xx and the mark leaves the row pending, and the outbox
sends it again when the lease ends: receivers deduplicate on ``X-Shequ-Delivery`` (the row's id).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, crypto, webhooks
from shequ.core.components import DataResource, resources_all
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, OutboxTask, User, common_region_code
from shequ.core.outbox import current_event_id, emit_many
from shequ.core.permissions import Viewer
from shequ.sharing.events import WebhookDue
from shequ.sharing.models import (
    CallOutcome,
    DeliveryState,
    Grant,
    SharedRegion,
    SharedSubject,
    SharingCall,
    Subscription,
    SubscriptionState,
    WebhookDelivery,
)
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services.calls import call_record, shown_value

__all__ = [
    "DeliveryFailed",
    "deliver",
    "delivery_discard",
    "delivery_give_up",
    "delivery_redeliver",
    "fan_out",
    "granted_row",
    "subscribable_events",
    "subscription_create",
    "subscription_delete",
    "subscription_pause",
    "subscription_resume",
    "subscription_rotate_secret",
    "subscription_secret",
]

ERROR_MAX = 300
Post = Callable[[str, bytes, dict[str, str]], int]


class DeliveryFailed(Exception):
    """The receiver answered non-2xx or could not be reached: the outbox retries with backoff."""


def subscribable_events(resource: str) -> tuple[str, ...]:
    """The events of the resource the catalog lists and the platform delivers (``handlers``)."""
    from shequ.sharing.handlers import DELIVERED

    res = resources_all().get(resource)
    return tuple(e for e in res.events if e in DELIVERED) if res else ()


def _secret_aad(subscription_id: int) -> str:
    return f"sharing.subscription.secret:{subscription_id}"


def _payload_aad(subscription_id: int, event_id: str) -> str:
    return f"sharing.delivery:{subscription_id}:{event_id}"


def subscription_secret(subscription: Subscription) -> str:
    return crypto.decrypt(subscription.secret, _secret_aad(subscription.pk))


def _audit(
    action: str,
    actor: Viewer | None,
    sub: Subscription,
    request: HttpRequest | None,
    *,
    result: str = AuditResult.SUCCESS,
    detail: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    audit.record(
        f"sharing.{action}",
        actor=actor,
        request=request,
        region_code=sub.region_code,
        object_type="sharing.subscription",
        object_id=sub.pk,
        result=result,
        reason=reason,
        detail={"grant": sub.grant_id, "department": sub.department_id, **(detail or {})},
    )


def _require(actor: Viewer | None, codes: Sequence[str], action: str, object_id: Any = "") -> None:
    for code in codes:
        require_actor(
            actor,
            P.SUBSCRIBE,
            code,
            action=f"sharing.{action}",
            object_type="sharing.subscription",
            object_id=object_id,
            message=_("You may not manage subscriptions of this region."),
        )


def subscription_create(
    *,
    actor: Viewer,
    grant: Grant,
    events: Sequence[str],
    region_codes: Sequence[str],
    url: Any,
    request: HttpRequest | None = None,
) -> tuple[Subscription, str]:
    """Register a subscription on an active grant: events the catalog lists for the grant's
    resource, regions inside the grant's, an https (or loopback) address. Answers it and the
    signing secret (shown once; stored encrypted). Bad input raises ``ValidationError`` keyed by
    argument and writes nothing."""
    if not isinstance(actor, User):
        raise PermissionDenied(_("Sign in first."))
    codes = sorted({str(c).strip() for c in region_codes if str(c).strip()})
    _require(actor, codes or list(grant.region_codes), "subscription_create")
    errors: dict[str, str] = {}
    if not grant.in_force():
        errors["grant"] = _("The grant is not in force: subscribe only on an active grant.")
    offered = subscribable_events(grant.resource)
    chosen = [e for e in dict.fromkeys(str(e).strip() for e in events) if e]
    unknown = [e for e in chosen if e not in offered]
    if not chosen:
        errors["events"] = _("Choose at least one event.")
    elif unknown:
        errors["events"] = _("The resource offers no such events: %(names)s.") % {"names": ", ".join(unknown)}
    outside = [c for c in codes if not any(c.startswith(g) for g in grant.region_codes)]
    if not codes:
        errors["region_codes"] = _("Choose at least one region.")
    elif outside:
        errors["region_codes"] = _("These regions are outside the grant: %(codes)s.") % {
            "codes": ", ".join(outside)
        }
    address = str(url or "").strip()
    if len(address) > 300:
        errors["url"] = _("The webhook address is too long.")
    else:
        try:
            webhooks.check_url(address)
        except ValidationError as exc:
            errors["url"] = exc.message_dict["url"][0]
    if errors:
        raise ValidationError(errors)
    codes = [c for c in codes if not any(c != o and c.startswith(o) for o in codes)]
    secret = secrets.token_hex(32)
    with transaction.atomic():
        sub = Subscription.objects.create(
            grant=grant,
            department_id=grant.department_id,
            client_id=grant.client_id,
            resource=grant.resource,
            events=chosen,
            region_codes=codes,
            region_code=common_region_code(codes),
            url=address,
            secret="",
            created_by=actor,
        )
        sub.secret = crypto.encrypt(secret, _secret_aad(sub.pk))
        Subscription.objects.filter(pk=sub.pk).update(secret=sub.secret)
        _audit(
            "subscription_create",
            actor,
            sub,
            request,
            detail={"resource": sub.resource, "events": chosen, "regions": codes, "url": address},
        )
    return sub, secret


def _set_state(
    actor: Viewer, sub: Subscription, state: str, action: str, request: HttpRequest | None
) -> Subscription:
    _require(actor, sub.region_codes, action, sub.pk)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=sub.pk)
        if locked.state == SubscriptionState.DELETED:
            raise ValidationError({"state": _("The subscription has been deleted.")})
        if locked.state == state:
            return locked
        locked.state = state
        locked.save(update_fields=["state"])
        _audit(action, actor, locked, request)
    return locked


def subscription_pause(
    *, actor: Viewer, subscription: Subscription, request: HttpRequest | None = None
) -> Subscription:
    """No new events are queued while paused (deliveries already queued still go)."""
    return _set_state(actor, subscription, SubscriptionState.PAUSED, "subscription_pause", request)


def subscription_resume(
    *, actor: Viewer, subscription: Subscription, request: HttpRequest | None = None
) -> Subscription:
    return _set_state(actor, subscription, SubscriptionState.ACTIVE, "subscription_resume", request)


def subscription_delete(
    *, actor: Viewer, subscription: Subscription, request: HttpRequest | None = None
) -> Subscription:
    """Kept for its deliveries' history; nothing is queued or sent for it any more."""
    _require(actor, subscription.region_codes, "subscription_delete", subscription.pk)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.state == SubscriptionState.DELETED:
            return locked
        locked.state = SubscriptionState.DELETED
        locked.save(update_fields=["state"])
        dropped = WebhookDelivery.objects.filter(
            subscription=locked, state__in=(DeliveryState.PENDING, DeliveryState.DEAD)
        ).update(state=DeliveryState.DISCARDED, last_error=_("Subscription deleted")[:ERROR_MAX])
        _audit("subscription_delete", actor, locked, request, detail={"discarded": dropped})
    return locked


def subscription_rotate_secret(
    *, actor: Viewer, subscription: Subscription, request: HttpRequest | None = None
) -> tuple[Subscription, str]:
    """A new signing secret, shown once; the old one stops signing at once."""
    _require(actor, subscription.region_codes, "subscription_rotate", subscription.pk)
    secret = secrets.token_hex(32)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.state == SubscriptionState.DELETED:
            raise ValidationError({"state": _("The subscription has been deleted.")})
        locked.secret = crypto.encrypt(secret, _secret_aad(locked.pk))
        locked.secret_rotated_at = timezone.now()
        locked.save(update_fields=["secret", "secret_rotated_at"])
        _audit("subscription_rotate", actor, locked, request)
    return locked, secret


# --- Fan-out (database handlers) -------------------------------------------------------------------


def granted_row(grant: Grant, resource: DataResource, obj: Any) -> dict[str, Any]:
    """The row as the API gives it under ``grant`` (``calls.shown_value``): only granted fields,
    personal ones masked unless the grant names them unmasked, left out when they have no mask."""
    clear = resource.row(obj)
    out: dict[str, Any] = {}
    for field in resource.fields:
        if field.key not in grant.fields:
            continue
        shown, value = shown_value(field, clear.get(field.key), field.key in grant.unmasked)
        if shown:
            out[field.key] = value
    return out


def _object(grant: Grant, resource: DataResource, object_id: int, codes: Sequence[str]) -> Any | None:
    """The resource's row ``object_id`` if the grant reaches it in ``codes`` (its row filters too)."""
    found = [o for o in resource.rows(codes, grant.row_filters, object_id - 1, 1) if o.pk == object_id]
    return found[0] if found else None


def _occurred_at(event_id: str) -> datetime:
    if event_id:
        at = OutboxTask.objects.filter(event_id=event_id).values_list("created_at", flat=True).first()
        if at is not None:
            return at
    return timezone.now()


def _covers(codes: Sequence[str], region_code: str) -> bool:
    return any(region_code.startswith(c) for c in codes)


def fan_out(event_name: str, resource_key: str, object_id: int, region_code: str) -> list[WebhookDelivery]:
    """One delivery per active subscription on ``resource_key`` to ``event_name`` whose regions hold
    ``region_code``,
    whose grant is in force and under which the resource returns the object (regions and row
    filters of the grant); each queued with a ``sharing.webhook_due`` task. Idempotent per outbox
    emission (a retried handler finds its rows)."""
    event_id = current_event_id() or str(uuid.uuid4())
    now = timezone.now()
    catalog = resources_all()
    subs = [
        s
        for s in Subscription.objects.filter(state=SubscriptionState.ACTIVE, resource=resource_key)
        .select_related("grant__department", "grant__client")
        .order_by("pk")
        if s.resource == resource_key
        and event_name in s.events
        and _covers(s.region_codes, region_code)
        and _covers(s.grant.region_codes, region_code)
        and s.grant.in_force(now)
        and s.resource in catalog
    ]
    if not subs:
        return []
    done = set(
        WebhookDelivery.objects.filter(event_id=event_id, subscription__in=subs).values_list(
            "subscription_id", flat=True
        )
    )
    occurred = _occurred_at(current_event_id())
    made: list[WebhookDelivery] = []
    for sub in subs:
        if sub.pk in done:
            continue
        resource = catalog[sub.resource]
        obj = _object(sub.grant, resource, object_id, sub.region_codes)
        if obj is None:
            continue  # outside the grant's rows (a filter), or no longer in the resource
        region = str(resource.region_code(obj))
        body: dict[str, Any] = {
            "event": event_name,
            "id": event_id,
            "occurred_at": occurred.isoformat(),
            "region": region,
            "resource": resource.key,
            "subscription": sub.pk,
            "data": granted_row(sub.grant, resource, obj),
        }
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
        made.append(
            WebhookDelivery(
                subscription=sub,
                event_name=event_name,
                event_id=event_id,
                object_id=object_id,
                occurred_at=occurred,
                region_code=region,
                payload=crypto.encrypt(text, _payload_aad(sub.pk, event_id)),
                subject_ids=sorted({int(p) for p in resource.subjects(obj)}),
            )
        )
    if made:
        WebhookDelivery.objects.bulk_create(made)
        # (bulk_create sets pks on PostgreSQL and on SQLite 3.35+)
        emit_many([WebhookDue(delivery_id=d.pk) for d in made])
    return made


# --- Sending (the external handler) ----------------------------------------------------------------


def _log_delivery(delivery: WebhookDelivery, grant: Grant) -> SharingCall:
    """The delivery in the access log: one call of one row, with its community and its people
    (``call_record``, like an API call). The row is read again for that; should it be gone since
    the event, the call is logged with the community and people kept on the delivery."""
    resource = resources_all().get(grant.resource)
    obj = _object(grant, resource, delivery.object_id, grant.region_codes) if resource else None
    query = {"webhook": delivery.pk, "event": delivery.event_name}
    if obj is not None:
        return call_record(grant=grant, outcome=CallOutcome.OK, rows=[obj], query=query)
    call = call_record(grant=grant, outcome=CallOutcome.OK, rows=[], query=query)
    SharingCall.objects.filter(pk=call.pk).update(rows=1, region_code=delivery.region_code)
    SharedRegion.objects.create(call=call, region_code=delivery.region_code[:12], rows=1)
    SharedSubject.objects.bulk_create([SharedSubject(call=call, person_id=p) for p in delivery.subject_ids])
    return call


def deliver(delivery_id: int, *, post: Post = webhooks.http_post, now: datetime | None = None) -> bool:
    """Send one pending delivery; True when the receiver took it. A delivered, dead or discarded
    row sends nothing. A non-2xx answer or a network error is recorded on the row and raises
    ``DeliveryFailed`` (the outbox retries with backoff; ``delivery_give_up`` after the last)."""
    with transaction.atomic():
        d = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription__grant__department", "subscription__grant__client")
            .filter(pk=delivery_id)
            .first()
        )
        if d is None or d.state != DeliveryState.PENDING:
            return False
        sub = d.subscription
        grant = sub.grant
        if sub.state == SubscriptionState.DELETED or not grant.in_force():
            d.state = DeliveryState.DISCARDED
            d.last_error = _("The grant is no longer in force.")[:ERROR_MAX]
            d.save(update_fields=["state", "last_error"])
            return False
        d.attempts += 1
        d.save(update_fields=["attempts"])
        body = crypto.decrypt(d.payload, _payload_aad(sub.pk, d.event_id)).encode()
        secret = subscription_secret(sub)
    timestamp = str(int((now or timezone.now()).timestamp()))
    headers = webhooks.signed_headers(secret, timestamp, body, str(d.pk))
    error = ""
    try:
        status = int(post(sub.url, body, headers))
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except Exception as exc:  # any network failure is a failed attempt, retried by the outbox
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=d.pk)
        if error:
            locked.last_error = error
            locked.save(update_fields=["last_error"])
        elif locked.state == DeliveryState.PENDING:
            locked.state = DeliveryState.DELIVERED
            locked.delivered_at = timezone.now()
            locked.last_error = ""
            locked.save(update_fields=["state", "delivered_at", "last_error"])
            _log_delivery(locked, grant)
    if error:
        raise DeliveryFailed(error)
    return True


def delivery_give_up(delivery_id: int, error: str) -> None:
    """After the outbox's last attempt: the delivery is a dead letter (until redelivered)."""
    found = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING).first()
    if found is None:
        return
    found.state = DeliveryState.DEAD
    found.dead_at = timezone.now()
    found.last_error = found.last_error or error[:ERROR_MAX]  # the receiver's answer, when there was one
    found.save(update_fields=["state", "dead_at", "last_error"])


def _dead_letter(actor: Viewer, delivery: WebhookDelivery, action: str) -> WebhookDelivery:
    sub = delivery.subscription
    _require(actor, sub.region_codes, action, sub.pk)
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if locked.state != DeliveryState.DEAD:
        raise ValidationError({"state": _("Only a failed delivery can be sent again or discarded.")})
    return locked


def delivery_redeliver(
    *, actor: Viewer, delivery: WebhookDelivery, request: HttpRequest | None = None
) -> WebhookDelivery:
    """Queue a dead letter again with a fresh set of attempts (the receiver is back)."""
    with transaction.atomic():
        locked = _dead_letter(actor, delivery, "delivery_redeliver")
        sub = delivery.subscription
        if sub.state == SubscriptionState.DELETED or not sub.grant.in_force():
            raise ValidationError({"state": _("The grant is no longer in force: nothing can be sent.")})
        locked.state = DeliveryState.PENDING
        locked.dead_at = None
        locked.save(update_fields=["state", "dead_at"])
        emit_many([WebhookDue(delivery_id=locked.pk)])
        _audit("delivery_redeliver", actor, sub, request, detail={"delivery": locked.pk})
    return locked


def delivery_discard(
    *, actor: Viewer, delivery: WebhookDelivery, request: HttpRequest | None = None
) -> WebhookDelivery:
    with transaction.atomic():
        locked = _dead_letter(actor, delivery, "delivery_discard")
        locked.state = DeliveryState.DISCARDED
        locked.save(update_fields=["state"])
        _audit("delivery_discard", actor, delivery.subscription, request, detail={"delivery": locked.pk})
    return locked
