"""Reads of webhook subscriptions and their deliveries, scoped by the viewer: security
administrators (``sharing.subscribe``) see those whose regions lie in their scope; a department's
staff see their department's subscriptions, read-only. Anything else is 404."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.permissions import Viewer, codes_q, has_perm, scopes_for
from shequ.sharing.models import DeliveryState, Grant, Subscription, SubscriptionState, WebhookDelivery
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services.requests import request_departments


def _visible(viewer: Viewer) -> Q:
    return codes_q(scopes_for(viewer, P.SUBSCRIBE)) | Q(
        department__in=[d.pk for d in request_departments(viewer)]
    )


def subscription_list(*, viewer: Viewer) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(_visible(viewer))
        .exclude(state=SubscriptionState.DELETED)
        .select_related("department", "client", "grant")
    )


def get_subscription_for(viewer: Viewer, pk: int) -> Subscription:
    sub = (
        Subscription.objects.filter(_visible(viewer), pk=pk)
        .select_related("department", "client", "grant")
        .first()
    )
    if sub is None:
        raise Http404
    return sub


def can_manage(viewer: Viewer, sub: Subscription) -> bool:
    """The security administrator's actions (the department's staff only read)."""
    return all(has_perm(viewer, P.SUBSCRIBE, code) for code in sub.region_codes)


def dead_letters(*, viewer: Viewer) -> QuerySet[WebhookDelivery]:
    """Dead deliveries of the subscriptions the viewer manages, newest first."""
    return (
        WebhookDelivery.objects.filter(
            codes_q(scopes_for(viewer, P.SUBSCRIBE), "subscription__region_code"), state=DeliveryState.DEAD
        )
        .select_related("subscription__department")
        .order_by("-dead_at", "-pk")
    )


def get_dead_letter_for(viewer: Viewer, pk: int) -> WebhookDelivery:
    found = dead_letters(viewer=viewer).select_related("subscription__grant").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def subscribable_grants(*, viewer: Viewer) -> QuerySet[Grant]:
    """Grants in force within the viewer's scope (a subscription is registered on one)."""
    now = timezone.now()
    return (
        Grant.objects.filter(codes_q(scopes_for(viewer, P.SUBSCRIBE)), revoked_at__isnull=True)
        .filter(starts_at__lte=now, expires_at__gt=now)
        .select_related("department", "client")
        .order_by("-created_at")
    )
