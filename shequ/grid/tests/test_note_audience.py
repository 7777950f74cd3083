"""Who reads a note (models.REPORTER_NOTE_ACTIONS, docs/architecture.md): the reporter reads the
department's reply and the result, never what staff wrote for each other — the dispatch
instructions, acceptance, return and extension reasons, the failed check, supervision and internal
notes — on the ticket page, in the API or in Open311. Staff see every note, marked, and each form
says under its text field who will read it."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.grid import services
from shequ.grid.models import Ticket
from shequ.grid.tests.conftest import GRID_A
from shequ.grid.tests.open311_helpers import BASE, _fresh_rate_windows, make_key  # noqa: F401

__all__ = ["_fresh_rate_limits"]
pytestmark = pytest.mark.django_db

STAFF_ONLY = {
    "accept": "受理备注：该户多次反映，注意态度",
    "dispatch": "请派出所协助督促清理楼道堆物",
    "dept_accept": "已安排民警周三上门",
    "dept_return": "非本所职责，建议转城管",
    "extension": "需协调物业，申请延期",
    "verify": "现场复核：三楼仍有堆物",
    "note": "内部备注：当事人情绪激动",
}
FOR_REPORTER = {"respond": "您好，民警将于本周内上门处理。", "resolve": "楼道堆物已全部清理完毕。"}


@pytest.fixture
def ticket(world: World) -> Ticket:
    w = world
    t = services.ticket_submit(
        actor=w["resident"],
        source="resident",
        region=w.regions[GRID_A],
        title="楼道堆物",
        description="3栋楼道堆满杂物，堵住了消防通道。",
    )
    t = services.ticket_accept(
        actor=w["worker_a"], ticket=t, category="environment.garbage", comment=STAFF_ONLY["accept"]
    )
    t = services.ticket_dispatch(actor=w["worker_a"], ticket=t, department=w.department, comment="先转派出所")
    t = services.ticket_department_return(actor=w["dept"], ticket=t, reason=STAFF_ONLY["dept_return"])
    t = services.ticket_dispatch(
        actor=w["worker_a"], ticket=t, department=w.department, comment=STAFF_ONLY["dispatch"]
    )
    t = services.ticket_department_accept(actor=w["dept"], ticket=t, comment=STAFF_ONLY["dept_accept"])
    t = services.ticket_respond(actor=w["dept"], ticket=t, comment=FOR_REPORTER["respond"])
    services.extension_request(actor=w["dept"], ticket=t, days=3, reason=STAFF_ONLY["extension"])
    t = services.ticket_resolve(actor=w["dept"], ticket=t, result="已清理")
    t = services.ticket_verify(actor=w["grid_a"], ticket=t, passed=False, comment=STAFF_ONLY["verify"])
    t = services.ticket_resolve(actor=w["dept"], ticket=t, result=FOR_REPORTER["resolve"])
    services.ticket_comment(actor=w["worker_a"], ticket=t, text=STAFF_ONLY["note"])
    return Ticket.objects.get(pk=t.pk)


def _assert_reporter_view(text: str) -> None:
    for label, note in STAFF_ONLY.items():
        assert note not in text, label
    for label, note in FOR_REPORTER.items():
        assert note in text, label


def test_reporter_page_shows_replies_and_results_only(world: World, ticket: Ticket) -> None:
    client = Client()
    client.force_login(world["resident"])
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    _assert_reporter_view(page)
    assert "先转派出所" not in page
    assert "Dispatched to a department" in page or "派" in page  # the step itself is shown


def test_reporter_api_shows_replies_and_results_only(world: World, ticket: Ticket) -> None:
    token = issue(world, "resident")
    response = Client().get(f"/api/v1/grid/tickets/{ticket.pk}", **bearer(token))
    assert response.status_code == 200
    _assert_reporter_view(json.dumps(response.json(), ensure_ascii=False))
    comments = {s["action"]: s["comment"] for s in response.json()["timeline"]}
    assert comments["dispatch"] == "" and comments["respond"] == FOR_REPORTER["respond"]


def test_open311_shows_no_staff_note(world: World, ticket: Ticket) -> None:
    for params in ({}, {"api_key": make_key(world, "resident")}):
        response = Client().get(f"{BASE}requests/{ticket.number}.json", params)
        assert response.status_code == 200, response.content
        text = response.content.decode()
        for label, note in STAFF_ONLY.items():
            assert note not in text, label


def test_staff_see_every_note_marked_and_forms_say_who_reads(world: World, ticket: Ticket) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world["worker_a"])
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    for note in (*STAFF_ONLY.values(), *FOR_REPORTER.values()):
        assert note in page
    marked = re.findall(r'<p class="comment"><span class="subtle">Staff only:</span> ([^<]*)</p>', page)
    assert STAFF_ONLY["dispatch"] in marked and FOR_REPORTER["respond"] not in marked

    fresh = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="路灯坏了",
        description="路灯坏了",
    )
    fresh = services.ticket_accept(actor=world["worker_a"], ticket=fresh, category="environment.garbage")
    page = client.get(reverse("grid:ticket", args=[fresh.pk])).content.decode()
    dispatch_form = page.split('id="step-dispatch"')[1].split("</details>")[0]
    assert "Staff only: the reporter does not see this." in dispatch_form
    handle_form = page.split('id="step-handle"')[1].split("</details>")[0]
    assert "The reporter reads this on their ticket page." in handle_form
    note_form = page.split('id="step-comment"')[1].split("</details>")[0]
    assert "Staff only: the reporter does not see this." in note_form


def test_department_sees_its_instructions(world: World, ticket: Ticket) -> None:
    client = Client()
    client.force_login(world["dept"])
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    assert STAFF_ONLY["dispatch"] in page


def test_public_note_actions_are_for_the_reporter() -> None:
    from shequ.grid.models import REPORTER_NOTE_ACTIONS
    from shequ.grid.open311 import PUBLIC_NOTE_ACTIONS

    assert set(PUBLIC_NOTE_ACTIONS) <= REPORTER_NOTE_ACTIONS
    assert not {"dispatch", "comment", "accept", "dept_return", "request_extension"} & REPORTER_NOTE_ACTIONS
