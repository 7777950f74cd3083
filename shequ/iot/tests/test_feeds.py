"""Feeds of access events to a department: authorized by an officer within their scope, delivered
by a signed webhook (a real HTTP server here, which checks the signature and fails once) or pulled
by the department's client; masked subjects only; one audit entry and one FeedDelivery per batch."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from shequ.core import accounts, outbox
from shequ.core.apiauth import token_create
from shequ.core.models import AuditEntry, AuditResult, OutboxStatus, OutboxTask, Role
from shequ.iot import feeds, ingest, services
from shequ.iot.ingest import Pipeline
from shequ.iot.models import DeviceEvent, FeedDelivery, FeedSubscription
from shequ.iot.services import feeds as feed_services
from shequ.iot.tests.access_world import Estate
from shequ.iot.tests.conftest import message

pytestmark = pytest.mark.django_db
COMMUNITY_A = "430104002001"


class Receiver:
    """A department's webhook endpoint: checks the signature, answers the queued statuses."""

    def __init__(self) -> None:
        self.secret = ""
        self.statuses: list[int] = []
        self.bodies: list[dict[str, Any]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Shequ-Timestamp"]
                mac = hmac.new(receiver.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                if not hmac.compare_digest(self.headers["X-Shequ-Signature"], "sha256=" + mac.hexdigest()):
                    receiver.bad_signatures += 1
                    status = 401
                else:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status == 200:
                        receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def authorize(e: Estate, **extra: Any) -> tuple[FeedSubscription, str]:
    data: dict[str, Any] = {
        "name": "岳麓派出所门禁数据",
        "department": e.world.department,
        "client": e.world["dept"],
        "regions": [e.world.regions[COMMUNITY_A]],
        "kinds": ["gate"],
        "mode": "pull",
        "authorization": "依据岳公函〔2026〕12号",
        **extra,
    }
    feed, secret = services.feed_authorize(actor=e.world["street"], **data)
    # Authorized a while ago: the events gate_traffic() dates a minute back come after it.
    FeedSubscription.objects.filter(pk=feed.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    feed.refresh_from_db()
    return feed, secret


def gate_traffic(e: Estate, n: int = 3, prefix: str = "m") -> None:
    """Events old enough to be shared (the feed leaves the newest seconds for the next batch);
    湘A12345 is a resident's car."""
    past = timezone.now() - dt.timedelta(minutes=1)
    services.credential_register(actor=None, person=e.reg.people["a"], kind="plate", value="湘A12345")
    plates = ["湘A12345", "湘B99999"]
    Pipeline().process(
        [
            message(
                e.gates["a"],
                "event",
                f"{prefix}{i}",
                past,
                type="enter",
                credential={"kind": "plate", "value": plates[i % 2]},
            )
            for i in range(n)
        ]
        # The sibling community's gate: outside the feed.
        + [
            message(
                e.gates["b"],
                "event",
                f"{prefix}x",
                past,
                type="enter",
                credential={"kind": "plate", "value": "湘C77777"},
            )
        ],
        now=past,
    )


def test_authorize_checks_everything(estate: Estate) -> None:
    with pytest.raises(PermissionDenied):  # community B is not the head's of community A
        services.feed_authorize(
            actor=estate.world["head_a"],
            name="x",
            department=estate.world.department,
            client=estate.world["dept"],
            regions=[estate.world.regions[COMMUNITY_A]],
            kinds=["gate"],
            mode="pull",
            authorization="依据岳公函〔2026〕12号",
        )
    changes: list[tuple[dict[str, Any], str]] = [
        ({"client": estate.world["grid_a"]}, "client"),
        ({"kinds": ["smoke"]}, "kinds"),
        ({"authorization": "口头"}, "authorization"),
        ({"mode": "webhook", "url": "http://example.com/hook"}, "url"),
        ({"mode": "webhook", "url": "ftp://example.com/"}, "url"),
    ]
    for change, field in changes:
        with pytest.raises(ValidationError) as exc:
            authorize(estate, **change)
        assert field in exc.value.message_dict, change
    assert not FeedSubscription.objects.exists()
    with pytest.raises(PermissionDenied):  # the outsider's street is not the street officer's
        authorize(estate, regions=[estate.world.regions["430104003001"]])
    feed, secret = authorize(estate, mode="webhook", url="https://police.example/hook")
    assert len(secret) == 64 and secret not in feed.secret and feed_services.feed_secret(feed) == secret
    entry = AuditEntry.objects.get(action="iot.feed_authorize", result=AuditResult.SUCCESS)
    assert entry.reason == "依据岳公函〔2026〕12号" and entry.detail["regions"] == [COMMUNITY_A]


def test_webhook_delivers_signed_batches_and_retries(estate: Estate, receiver: Receiver) -> None:
    feed, secret = authorize(estate, mode="webhook", url=receiver.url)
    receiver.secret = secret
    receiver.statuses = [500]  # the department's server fails once
    gate_traffic(estate)
    assert feeds.queue_due_feeds() == 1
    assert feeds.queue_due_feeds() == 0  # one delivery queued at a time
    outbox.run_pending()
    failed = FeedDelivery.objects.get()
    assert (failed.status, failed.count, failed.error, failed.attempts) == ("failed", 3, "HTTP 500", 1)
    feed.refresh_from_db()
    assert receiver.bodies == [] and feed.cursor < failed.first_id
    task = OutboxTask.objects.get(event_type="iot.feed_due")
    assert task.status == OutboxStatus.PENDING and task.available_at > timezone.now()  # backoff
    OutboxTask.objects.filter(pk=task.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    outbox.run_pending()
    delivered = FeedDelivery.objects.get(status="delivered")
    assert (delivered.attempts, delivered.first_id, delivered.last_id) == (2, failed.first_id, failed.last_id)
    feed.refresh_from_db()
    assert feed.cursor == delivered.last_id
    [body] = receiver.bodies
    assert receiver.bad_signatures == 0
    events = body["events"]
    assert [e["subject_masked"] for e in events] == ["湘A·***45", "湘B·***99", "湘A·***45"]
    assert [e["resident"] for e in events] == [True, False, True]
    assert all(e["device"] == "gate-a" for e in events)  # not the sibling community's gate
    text = json.dumps(body, ensure_ascii=False)
    assert "12345" not in text and "person" not in text and "张三" not in text
    audits = AuditEntry.objects.filter(action="iot.feed_deliver").order_by("pk")
    assert [a.result for a in audits] == [AuditResult.FAILURE, AuditResult.SUCCESS]
    assert audits[1].detail["count"] == 3 and audits[1].detail["residents"] == 2
    # Nothing new: nothing is sent again.
    assert feeds.queue_due_feeds() == 0
    outbox.run_pending()
    assert len(receiver.bodies) == 1


def test_a_wrong_secret_is_refused_by_the_receiver(estate: Estate, receiver: Receiver) -> None:
    feed, _secret = authorize(estate, mode="webhook", url=receiver.url)
    receiver.secret = "not-the-secret"
    gate_traffic(estate)
    with pytest.raises(feed_services.DeliveryFailed):
        feed_services.deliver_once(feed.pk, post=feeds.http_post)
    assert receiver.bad_signatures == 1
    assert FeedDelivery.objects.get().error == "HTTP 401"


def test_stopped_feed_sends_nothing(estate: Estate, receiver: Receiver) -> None:
    feed, secret = authorize(estate, mode="webhook", url=receiver.url)
    receiver.secret = secret
    services.feed_revoke(actor=estate.world["street"], feed=feed)
    gate_traffic(estate)
    assert feeds.queue_due_feeds() == 0
    assert feed_services.deliver_once(feed.pk, post=feeds.http_post) == 0
    assert receiver.bodies == []


# --- Pull -------------------------------------------------------------------------------------------


def client_token(e: Estate, user_key: str = "dept") -> str:
    _token, raw = token_create(
        actor=None,
        user=e.world[user_key],
        name="feed",
        scopes=["iotfeed:read"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    return raw


def test_pull_reads_batches_after_the_cursor(estate: Estate, client: Client) -> None:
    feed, _ = authorize(estate)
    gate_traffic(estate, n=3)
    auth = f"Bearer {client_token(estate)}"
    first = client.get(f"/api/v1/iot/feeds/{feed.pk}/events?limit=2", HTTP_AUTHORIZATION=auth)
    assert first.status_code == 200
    body = first.json()
    assert [e["subject_masked"] for e in body["events"]] == ["湘A·***45", "湘B·***99"]
    rest = client.get(
        f"/api/v1/iot/feeds/{feed.pk}/events?after={body['cursor']}", HTTP_AUTHORIZATION=auth
    ).json()
    assert len(rest["events"]) == 1 and rest["cursor"] > body["cursor"]
    empty = client.get(
        f"/api/v1/iot/feeds/{feed.pk}/events?after={rest['cursor']}", HTTP_AUTHORIZATION=auth
    ).json()
    assert empty["events"] == [] and empty["cursor"] == rest["cursor"]
    assert list(FeedDelivery.objects.order_by("pk").values_list("status", "count")) == [
        ("pulled", 2),
        ("pulled", 1),
    ]
    assert AuditEntry.objects.filter(action="iot.feed_pull", actor_id=estate.world["dept"].pk).count() == 3


def test_pull_never_reaches_before_the_authorization(estate: Estate, client: Client) -> None:
    gate_traffic(estate, n=2)  # a minute ago
    feed, _ = services.feed_authorize(
        actor=estate.world["street"],
        name="新推送",
        department=estate.world.department,
        client=estate.world["dept"],
        regions=[estate.world.regions[COMMUNITY_A]],
        kinds=["gate"],
        mode="pull",
        authorization="依据岳公函〔2026〕13号",
    )
    auth = f"Bearer {client_token(estate)}"
    body = client.get(f"/api/v1/iot/feeds/{feed.pk}/events?after=0", HTTP_AUTHORIZATION=auth).json()
    assert body["events"] == []


def test_pull_is_for_the_feeds_client_only(estate: Estate, client: Client) -> None:
    feed, _ = authorize(estate)
    other = accounts.user_create(
        actor=None, username="dept2", display_name="dept2", password="Tq7!correct-Horse"
    )
    accounts.membership_grant(
        actor=None,
        user=other,
        role=Role.DEPARTMENT_STAFF,
        region=estate.world.regions["430104002"],
        department=estate.world.department,
    )
    estate.world.users["dept2"] = other
    url = f"/api/v1/iot/feeds/{feed.pk}/events"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {client_token(estate, 'dept2')}").status_code == 404
    assert client.get(url).status_code == 401
    assert (
        client.get(
            "/api/v1/iot/feeds/99999999/events", HTTP_AUTHORIZATION=f"Bearer {client_token(estate)}"
        ).status_code
        == 404
    )
    assert (
        client.get(f"{url}?after=-1", HTTP_AUTHORIZATION=f"Bearer {client_token(estate)}").status_code == 400
    )
    services.feed_revoke(actor=estate.world["street"], feed=feed)
    stopped = client.get(url, HTTP_AUTHORIZATION=f"Bearer {client_token(estate)}")
    assert stopped.status_code == 403
    assert AuditEntry.objects.filter(result=AuditResult.DENIED, detail__feed=feed.pk).exists()
    assert not FeedDelivery.objects.exists()


# --- Pages ------------------------------------------------------------------------------------------


def test_officer_authorizes_on_the_page(estate: Estate, client: Client) -> None:
    client.force_login(estate.world["street"])
    form = {
        "name": "岳麓派出所",
        "department": str(estate.world.department.pk),
        "client": str(estate.world["dept"].pk),
        "regions": [str(estate.world.regions[COMMUNITY_A].pk)],
        "kinds": ["gate", "door"],
        "mode": "webhook",
        "url": "http://police.example/hook",
        "authorization": "依据岳公函〔2026〕12号",
    }
    refused = client.post("/iot/feeds/new/", form)
    assert refused.status_code == 400 and "https://" in refused.content.decode()
    assert not FeedSubscription.objects.exists()
    form["url"] = "https://police.example/hook"
    made = client.post("/iot/feeds/new/", form)
    feed = FeedSubscription.objects.get()
    assert made.status_code == 200 and feed_services.feed_secret(feed) in made.content.decode()
    detail = client.get(f"/iot/feeds/{feed.pk}/").content.decode()
    assert "依据岳公函〔2026〕12号" in detail and feed_services.feed_secret(feed) not in detail


def test_a_batch_written_late_is_not_shared_before_it_settles(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds page by event id and leave the newest ``SETTLE`` seconds alone, so an id taken by a
    transaction that commits a moment later is not stepped over. A batch held back before it is
    written (a database outage, a retry) must not look old the moment it commits: its events are
    received when they are written, not when they were checked."""
    feed, _secret = authorize(estate)
    pipeline = Pipeline()
    prepared = pipeline.prepare(
        [
            message(
                estate.gates["a"], "event", "late-1", type="enter", credential={"kind": "card", "value": "1"}
            )
        ]
    )
    written = prepared.now + dt.timedelta(minutes=1)  # the database was away for a minute
    monkeypatch.setattr(ingest, "timezone", SimpleNamespace(now=lambda: written))
    assert pipeline.commit(prepared).stored == 1
    event = DeviceEvent.objects.get(msg_id="late-1")
    assert event.received_at == written
    after = feed.cursor
    assert feed_services.feed_events(feed, after=after, now=written + dt.timedelta(seconds=5)) == []
    settled = written + feed_services.SETTLE + dt.timedelta(seconds=1)
    assert feed_services.feed_events(feed, after=after, now=settled) == [event]
