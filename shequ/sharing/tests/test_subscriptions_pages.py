"""The subscription pages: the security administrator registers a subscription on a grant (secret
shown once), pauses, resumes, rotates and deletes it, and works the dead letters (重新投递, 放弃);
the department reads its subscriptions only; a sibling region's administrator sees nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from shequ.core.models import AuditEntry, OutboxTask
from shequ.sharing.models import DeliveryState, Subscription, SubscriptionState, WebhookDelivery
from shequ.sharing.services import subscriptions
from shequ.sharing.tests.reqsub_world import COMMUNITY_A, Sharing, sharing_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def registered(s: Sharing) -> Subscription:
    grant = s.grant(["name", "sex"])
    sub, _secret = subscriptions.subscription_create(
        actor=s["secadmin"],
        grant=grant,
        events=["registry.person_moved_out"],
        region_codes=[COMMUNITY_A],
        url="https://police.example/hook",
    )
    return sub


def dead_letter(s: Sharing, sub: Subscription) -> WebhookDelivery:
    with transaction.atomic():
        [delivery] = subscriptions.fan_out(
            "registry.person_moved_out", "people", s.people["a"].pk, COMMUNITY_A
        )
    subscriptions.delivery_give_up(delivery.pk, "HTTP 502")
    delivery.refresh_from_db()
    return delivery


def test_the_security_admin_registers_a_subscription(sharing: Sharing) -> None:
    grant = sharing.grant(["name", "sex"])
    admin = as_user(sharing["secadmin"])
    chooser = admin.get("/sharing/subscriptions/new/")
    assert chooser.status_code == 200 and f'value="{grant.pk}"' in chooser.content.decode()
    page = admin.get(f"/sharing/subscriptions/new/?grant={grant.pk}")
    text = page.content.decode()
    assert "居民迁出" in text and "居民死亡" in text
    data = {
        "grant": str(grant.pk),
        "events": ["registry.person_moved_out"],
        "regions": [str(sharing.world.regions[COMMUNITY_A].pk)],
        "url": "http://police.example/hook",
    }
    refused = admin.post("/sharing/subscriptions/new/", data)
    assert refused.status_code == 400 and "https://" in refused.content.decode()
    assert not Subscription.objects.exists()
    outside = admin.post(
        "/sharing/subscriptions/new/", {**data, "regions": [str(sharing.world.regions["430104002003"].pk)]}
    )
    assert outside.status_code == 400 and not Subscription.objects.exists()
    made = admin.post("/sharing/subscriptions/new/", {**data, "url": "https://police.example/hook"})
    sub = Subscription.objects.get()
    secret = subscriptions.subscription_secret(sub)
    assert made.status_code == 200 and secret in made.content.decode() and secret not in sub.secret
    detail = admin.get(f"/sharing/subscriptions/{sub.pk}/").content.decode()
    assert "https://police.example/hook" in detail and secret not in detail
    admin.post(f"/sharing/subscriptions/{sub.pk}/pause/")
    sub.refresh_from_db()
    assert sub.state == SubscriptionState.PAUSED
    admin.post(f"/sharing/subscriptions/{sub.pk}/resume/")
    rotated = admin.post(f"/sharing/subscriptions/{sub.pk}/rotate/")
    sub.refresh_from_db()
    new_secret = subscriptions.subscription_secret(sub)
    assert new_secret != secret and new_secret in rotated.content.decode()
    admin.post(f"/sharing/subscriptions/{sub.pk}/delete/")
    sub.refresh_from_db()
    assert sub.state == SubscriptionState.DELETED
    assert f"/sharing/subscriptions/{sub.pk}/" not in admin.get("/sharing/subscriptions/").content.decode()
    actions = set(
        AuditEntry.objects.filter(object_type="sharing.subscription").values_list("action", flat=True)
    )
    assert {
        "sharing.subscription_create",
        "sharing.subscription_pause",
        "sharing.subscription_resume",
        "sharing.subscription_rotate",
        "sharing.subscription_delete",
    } <= actions


def test_the_department_reads_its_subscriptions_only(sharing: Sharing) -> None:
    sub = registered(sharing)
    dept = as_user(sharing["dept"])
    assert f"/sharing/subscriptions/{sub.pk}/" in dept.get("/sharing/subscriptions/").content.decode()
    detail = dept.get(f"/sharing/subscriptions/{sub.pk}/").content.decode()
    assert "居民迁出" in detail and "/pause/" not in detail
    assert dept.post(f"/sharing/subscriptions/{sub.pk}/pause/").status_code == 403
    assert dept.get("/sharing/subscriptions/dead/").status_code == 403
    sub.refresh_from_db()
    assert sub.state == SubscriptionState.ACTIVE
    other = as_user(sharing.other_dept)
    assert f"/sharing/subscriptions/{sub.pk}/" not in other.get("/sharing/subscriptions/").content.decode()
    assert other.get(f"/sharing/subscriptions/{sub.pk}/").status_code == 404


def test_dead_letters_are_redelivered_or_discarded_by_the_admin(sharing: Sharing) -> None:
    sub = registered(sharing)
    first = dead_letter(sharing, sub)
    admin = as_user(sharing["secadmin"])
    page = admin.get("/sharing/subscriptions/dead/").content.decode()
    assert f"第{first.pk}号投递" in page and "HTTP 502" in page and "重新投递" in page and "放弃" in page
    assert "张三丰" not in page  # no personal data on the page
    before = OutboxTask.objects.filter(event_type="sharing.webhook_due").count()
    assert admin.post(f"/sharing/subscriptions/dead/{first.pk}/redeliver/").status_code == 302
    first.refresh_from_db()
    assert first.state == DeliveryState.PENDING
    assert OutboxTask.objects.filter(event_type="sharing.webhook_due").count() == before + 1
    # A second event for the same subscription (a new emission), dead too, then discarded.
    second = dead_letter(sharing, sub)
    admin.post(f"/sharing/subscriptions/dead/{second.pk}/discard/")
    second.refresh_from_db()
    assert second.state == DeliveryState.DISCARDED
    assert f"第{second.pk}号投递 ·" not in admin.get("/sharing/subscriptions/dead/").content.decode()
    assert AuditEntry.objects.filter(action="sharing.delivery_redeliver").count() == 1
    assert AuditEntry.objects.filter(action="sharing.delivery_discard").count() == 1


def test_a_sibling_regions_admin_sees_and_changes_nothing(sharing: Sharing) -> None:
    sub = registered(sharing)
    delivery = dead_letter(sharing, sub)
    other = as_user(sharing.secadmin_b)
    assert f"/sharing/subscriptions/{sub.pk}/" not in other.get("/sharing/subscriptions/").content.decode()
    assert other.get(f"/sharing/subscriptions/{sub.pk}/").status_code == 404
    assert other.post(f"/sharing/subscriptions/{sub.pk}/delete/").status_code == 404
    assert f"第{delivery.pk}号投递" not in other.get("/sharing/subscriptions/dead/").content.decode()
    assert other.post(f"/sharing/subscriptions/dead/{delivery.pk}/redeliver/").status_code == 404
    assert (
        f"/sharing/subscriptions/new/?grant={sub.grant_id}"
        not in other.get("/sharing/subscriptions/new/").content.decode()
    )
    assert other.get(f"/sharing/subscriptions/new/?grant={sub.grant_id}").status_code == 400
    sub.refresh_from_db()
    delivery.refresh_from_db()
    assert sub.state == SubscriptionState.ACTIVE and delivery.state == DeliveryState.DEAD
    for key in ("head_a", "street", "resident"):
        assert as_user(sharing[key]).get("/sharing/subscriptions/").status_code == 403
