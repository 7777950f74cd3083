"""Notices a person can trust: one per event per person, each naming its own step, every field
filled in both languages, grouped per ticket in the inbox and marked when the ticket is finished."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from shequ.conftest import World
from shequ.core import outbox, selectors
from shequ.core.models import Message, OutboxStatus, OutboxTask
from shequ.grid import handlers, notices, services
from shequ.grid.events import TicketChanged
from shequ.grid.models import AlertLevel, Clock, Dispatch, Status, Ticket, UrgentAlert
from shequ.grid.tests.test_workflow import advance, reported

pytestmark = pytest.mark.django_db


def progress_subjects(user: Any) -> list[str]:
    return list(
        Message.objects.filter(recipient=user, topic="grid.progress")
        .order_by("pk")
        .values_list("subject", flat=True)
    )


def test_a_worker_catching_up_names_each_step_once(world: World) -> None:
    """The demo's worker (and a worker back from an outage) runs many steps of one ticket at once:
    each notice names the status its own step set, not the ticket's final one."""
    advance(world, Status.CLOSED)  # nothing run yet: the worker catches up below
    outbox.run_pending()
    subjects = progress_subjects(world["resident"])
    with translation.override("zh-hans"):
        wanted = [
            str(Status(s).label)
            for s in (Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED)
        ]
    assert [re.split(r"[:：]\s*", s)[-1] for s in subjects] == wanted
    assert len(set(subjects)) == len(subjects)
    # The department was asked to sign for a ticket it had already signed for: no such notice.
    assert not Message.objects.filter(recipient=world["dept"], topic="grid.dispatch").exists()


def test_same_event_retried_or_handled_twice_sends_one_message_per_person(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second handler of the same event (e.g. two apps both telling the reporter).
    monkeypatch.setitem(
        outbox._HANDLERS[TicketChanged.name],
        "test.second_handler",
        outbox.HandlerSpec("test.second_handler", handlers.tell_reporter),
    )
    t = advance(world, Status.ACCEPTED)
    tasks = OutboxTask.objects.filter(event_type=TicketChanged.name)
    assert tasks.count() == 2 and len(set(tasks.values_list("event_id", flat=True))) == 1
    outbox.run_pending()
    assert len(progress_subjects(world["resident"])) == 1
    # A retry after a lost acknowledgement: the same tasks run again.
    tasks.update(status=OutboxStatus.PENDING, available_at=timezone.now() - dt.timedelta(seconds=1))
    outbox.run_pending()
    assert tasks.filter(status=OutboxStatus.DONE).count() == 2
    assert len(progress_subjects(world["resident"])) == 1
    # A new event about the same ticket is a new notice.
    services.ticket_dispatch(actor=world["worker_a"], ticket=t)
    outbox.run_pending()
    assert len(progress_subjects(world["resident"])) == 2


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{|\}\}")
# Where an empty value leaves its mark: "请在 前签收", "due at .", "派给，", "Ticket: " at a line end.
GAP = re.compile(r"  |\s[.,;:，。；：]|[在给]\s*[，。前]|[:：]\s*(\n|$)|\bat\s*\.|before\s*\.")


def every_notice(world: World) -> dict[str, notices.Notice]:
    """Each kind of grid notice, built from a real dispatched ticket."""
    t = advance(world, Status.DISPATCHED)
    t = Ticket.objects.select_related("category").get(pk=t.pk)
    dispatch = Dispatch.objects.get(ticket=t)
    assert t.department is not None and t.due_at is not None
    built = {
        "dispatched": notices.dispatched(t, t.department, dispatch, urgent=False),
        "dispatched urgent": notices.dispatched(t, t.department, dispatch, urgent=True),
        "low_rating": notices.low_rating(t),
        "deadline_near response": notices.deadline_near(t, Clock.RESPONSE, t.due_at),
        "deadline_near resolution": notices.deadline_near(t, Clock.RESOLUTION, t.due_at),
        "escalated": notices.escalated(t, 2),
    }
    alert = UrgentAlert.objects.create(
        ticket=t, community_code=t.region_code[:12], life_safety=True, kind="gas", reasons=[]
    )
    for level in AlertLevel.values:
        built[f"urgent_alert {level}"] = notices.urgent_alert(t, alert, level, minutes=10, waited=12)
        built[f"urgent_alert {level} skipped"] = notices.urgent_alert(
            t, alert, level, minutes=10, waited=0, skipped=True
        )
    built["urgent_reporter"] = notices.urgent_reporter(t, alert, minutes=10)
    for level in (AlertLevel.COMMUNITY_HEAD, AlertLevel.STREET):
        built[f"urgent_reporter {level}"] = notices.urgent_reporter(t, alert, minutes=10, level=level)
    built["urgent_reporter nobody"] = notices.urgent_reporter(
        t, alert, minutes=10, level=AlertLevel.STREET, reached=False
    )
    built["urgent_acknowledged staff"] = notices.urgent_acknowledged(t, by="值班员", for_reporter=False)
    built["urgent_acknowledged reporter"] = notices.urgent_acknowledged(t, by="值班员", for_reporter=True)
    for status in Status.values:
        built[f"progress {status}"] = notices.progress(t, status)
    return built


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_notice_kind_renders_every_field(world: World, language: str) -> None:
    kinds = {
        name
        for name, fn in inspect.getmembers(notices, inspect.isfunction)
        if fn.__module__ == notices.__name__ and inspect.signature(fn).return_annotation == "Notice"
    }
    with translation.override(language):
        built = every_notice(world)
    assert kinds == {name.split()[0] for name in built}, "a new notice kind needs a case here"
    for name, notice in built.items():
        text = f"{notice.subject}\n{notice.body}"
        assert notice.subject.strip() and notice.body.strip(), name
        for field, value in notice.fields.items():
            assert value.strip(), f"{name}: {field} rendered empty"
            assert value in text, f"{name}: {field} missing from the text"
        assert not PLACEHOLDER.search(text), f"{name}: unfilled placeholder in {text!r}"
        assert not GAP.search(text), f"{name}: a gap in {text!r}"


def test_property_manager_is_told_the_deadline_to_sign_by(world: World) -> None:
    t = advance(world, Status.DISPATCHED)
    outbox.run_pending()
    dispatch = Dispatch.objects.get(ticket=t)
    message = Message.objects.get(recipient=world["dept"], topic="grid.dispatch")
    due = timezone.localtime(dispatch.response_due_at).strftime("%Y-%m-%d %H:%M")
    assert f"请在 {due} 前签收" in message.body


def client_for(user: Any, language: str) -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.mark.parametrize(("language", "badge"), [("zh-hans", "已关闭"), ("en", "Closed")])
def test_inbox_groups_a_tickets_notices_and_says_when_it_is_finished(
    world: World, language: str, badge: str
) -> None:
    open_one = advance(world, Status.DISPATCHED)
    outbox.run_pending()
    closed = advance(world, Status.CLOSED)
    outbox.run_pending()
    resident = world["resident"]
    assert Message.objects.filter(recipient=resident).count() == 2 + 4
    assert selectors.unread_count(user=resident) == 2  # two threads with something unread

    page = client_for(resident, language).get(reverse("core:inbox")).content.decode()
    [inbox] = re.findall(r'<ul class="list inbox">(.*?)</ul>', page, re.S)
    rows = re.findall(r"<li[^>]*>(.*?)</li>", inbox, re.S)
    assert len(rows) == 2  # one row per ticket
    newest, older = rows
    tag = f'<span class="tag ok">{badge}</span>'
    assert closed.number in newest and tag in newest
    assert open_one.number in older and tag not in older
    assert ("4 条" if language == "zh-hans" else "4 messages") in newest

    # Opening the thread shows the ticket's notices and marks them all read.
    latest = Message.objects.filter(recipient=resident, thread_key=f"grid.ticket:{closed.pk}").latest("pk")
    detail = client_for(resident, language).get(reverse("core:message", args=[latest.pk])).content.decode()
    assert tag in detail
    assert len(re.findall(r'<ol class="list thread">(.*?)</ol>', detail, re.S)[0].split("<li>")) == 1 + 4
    assert not Message.objects.filter(
        recipient=resident, thread_key=f"grid.ticket:{closed.pk}", read_at__isnull=True
    ).exists()
    assert selectors.unread_count(user=resident) == 1


def test_a_merged_ticket_is_marked_too(world: World) -> None:
    merged = advance(world, Status.MERGED)
    fresh = reported(world)
    states = notices.thread_states([str(merged.pk), str(fresh.pk), "not a number"])
    assert states[str(merged.pk)].finished and not states[str(fresh.pk)].finished
    assert set(states) == {str(merged.pk), str(fresh.pk)}
