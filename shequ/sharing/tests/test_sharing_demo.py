"""The demo's sharing: after the demo builder ran on a small generated town, the police and civil
affairs have clients and grants (active, expired, revoked), their calls are in the access log with
the people they returned (the demo resident among them), a data request waits for the owner and one
made a grant, a subscription points at a dead address (a resident's move-out, made here, ends there
as a dead letter after the outbox's retries), and the resident has a copy (answered) and a
correction (waiting, with its deadline). Her 我的个人信息 page names the police; the community's log
shows the calls. Run again: left alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from shequ.core.models import User
from shequ.core.outbox import MAX_ATTEMPTS
from shequ.demo import generator
from shequ.emergency import demo as emergency_demo
from shequ.govservice import demo as govservice_demo
from shequ.grid import demo as grid_demo
from shequ.iot import demo as iot_demo
from shequ.participation import demo as participation_demo
from shequ.registry import demo as registry_demo
from shequ.registry.demo.accounts import link_demo_resident
from shequ.registry.models import Person, PersonStatus
from shequ.registry.services import person_move_out
from shequ.registry.tests.test_demo import load_regions
from shequ.sharing import demo
from shequ.sharing.models import (
    CallOutcome,
    DataRequest,
    DeliveryState,
    Grant,
    RequestStatus,
    RightsKind,
    RightsRequest,
    RightsStatus,
    SharedSubject,
    SharingCall,
    Subscription,
    WebhookDelivery,
)
from shequ.sharing.tests.reqsub_world import run_due


@pytest.fixture
def demo_street(
    db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any
) -> generator.DemoResult:
    """The demo generator with a small registry and few tickets, without IoT, the rainstorm, the
    government services and participation."""
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_regions()
    monkeypatch.setattr(registry_demo.generator, "PEOPLE_PER_SIZE", 2000)
    monkeypatch.setattr(grid_demo, "TICKETS_PER_SIZE", 10)
    monkeypatch.setattr(generator, "generate_iot", lambda **kw: iot_demo.IotSummary(skipped=True))
    monkeypatch.setattr(
        generator, "generate_emergency", lambda **kw: emergency_demo.EmergencySummary(skipped=True)
    )
    monkeypatch.setattr(
        generator, "generate_govservice", lambda **kw: govservice_demo.GovSummary(skipped=True)
    )
    monkeypatch.setattr(
        generator, "generate_participation", lambda **kw: participation_demo.ParticipationSummary()
    )
    return generator.generate(size=1)


def _state() -> tuple[int, ...]:
    return (
        Grant.objects.count(),
        SharingCall.objects.count(),
        SharedSubject.objects.count(),
        DataRequest.objects.count(),
        Subscription.objects.count(),
        RightsRequest.objects.count(),
    )


def test_demo_sharing(demo_street: generator.DemoResult) -> None:
    summary = demo_street.sharing
    assert summary is not None and not summary.skipped, summary
    assert summary.clients == 2 and summary.grants == 5  # 4 made directly, 1 by the approved request
    resident = User.objects.get(username="resident")
    person = link_demo_resident(resident)
    assert person is not None and summary.resident_seen
    # Every call is logged; the answered ones with the people they returned.
    calls = SharingCall.objects.filter(client__username__in=[demo.POLICE_CLIENT, demo.CIVIL_CLIENT])
    assert calls.count() == summary.calls >= 24
    refused = calls.exclude(outcome=CallOutcome.OK)
    assert refused.count() == summary.refused == 2
    assert {c.grant.revoked_at is not None for c in refused if c.grant} == {False, True}
    answered = calls.filter(outcome=CallOutcome.OK, rows__gt=0)
    assert answered.exists()
    for call in answered:
        assert SharedSubject.objects.filter(call=call).count() == call.rows
    assert SharedSubject.objects.filter(call__in=calls, person_id=person.pk).exists()
    assert (
        not SharedSubject.objects.filter(call__in=calls)
        .exclude(call__grant__region_codes__icontains="430104002")
        .exists()
    )
    # Requests: one waits for the owner, one made a grant.
    requests = DataRequest.objects.all()
    assert requests.filter(status=RequestStatus.PENDING, owner_decision="").count() == 1
    approved = requests.get(status=RequestStatus.APPROVED)
    assert Grant.objects.filter(request_id=approved.pk).exists()
    # The subscription's address answers nothing: the worker's retries end in a dead letter.
    sub = Subscription.objects.get(url=demo.DEAD_URL)
    assert sub.pk == summary.subscription
    run_due(rounds=3)  # the demo's own events first
    worker = User.objects.get(username="worker_a")
    for leaving in Person.objects.filter(
        region_code__startswith=demo.COMMUNITY_A, status=PersonStatus.ACTIVE
    ).exclude(pk=person.pk)[:50]:
        try:  # a household's head cannot leave before the household
            person_move_out(actor=worker, person=leaving, destination="深圳市")
            break
        except ValidationError:
            continue
    run_due(rounds=12)
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == MAX_ATTEMPTS, delivery.last_error
    rights = {r.kind: r for r in RightsRequest.objects.filter(requester=resident)}
    assert rights[RightsKind.COPY].status == RightsStatus.DONE
    correction = rights[RightsKind.CORRECTION]
    assert correction.status == RightsStatus.OPEN and correction.due_at > correction.submitted_at
    # The resident sees the police in 我的个人信息; the community's staff see the calls.
    client = Client()
    client.force_login(resident)
    page = client.get(reverse("sharing:rights_mine")).content.decode()
    assert "岳麓派出所" in page and demo.POLICE_PURPOSE in page
    staff = Client()
    staff.force_login(User.objects.get(username="worker_a"))
    log = staff.get(reverse("sharing:access_log"))
    assert log.status_code == 200 and "岳麓派出所" in log.content.decode()
    assert any("/sharing/log/" in line for line in summary.lines())
    # Run again: nothing new, the summary counts what is there.
    before = _state()
    again = demo.generate_sharing(seed=7)
    assert again.skipped and again.calls == summary.calls and again.resident_seen
    assert _state() == before
