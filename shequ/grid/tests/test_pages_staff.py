"""The staff pages of the grid: the ticket page and its step forms, photos, the queues, the
department portal with its bulk actions, supervision and the staff entry form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from shequ.conftest import World
from shequ.core.models import AuditEntry
from shequ.grid import forms, selectors, services
from shequ.grid.models import Attachment, Category, Extension, ExtensionStatus, Status, Ticket, TicketAction
from shequ.grid.tests.conftest import COMMUNITY_B, GRID_A, GRID_B, new_ticket, png

pytestmark = pytest.mark.django_db


def upload(name: str = "p.png", colour: str = "red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(colour), content_type="image/png")


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def resident_ticket(world: World, **extra: Any) -> Ticket:
    data: dict[str, Any] = {
        "source": "resident",
        "region": world.regions[GRID_A],
        "title": "楼道灯坏了",
        "description": "5栋2单元楼道的灯坏了好几天，晚上看不见。",
        "contact_name": "王阿姨",
        "contact_phone": "13912345678",
    }
    data.update(extra)
    return services.ticket_submit(actor=world["resident"], **data)


def dispatched(world: World) -> Ticket:
    t = resident_ticket(world)
    t = services.ticket_accept(actor=world["worker_a"], ticket=t, category="security.public_order")
    return services.ticket_dispatch(actor=world["worker_a"], ticket=t, department=world.department)


def post_step(client: Client, ticket: Ticket, step: str, data: dict[str, Any] | None = None) -> Any:
    prefixed = {f"{step}-{k}": v for k, v in (data or {}).items()}
    if step == "dept_accept":
        prefixed.setdefault("dept_accept-confirm", "True")  # the page's hidden confirmation
    return client.post(reverse(f"grid:ticket_{step}", args=[ticket.pk]), prefixed)


def text(response: Any) -> str:
    return response.content.decode()


# --- The ticket page ----------------------------------------------------------------------------


def test_ticket_page_for_the_community(world: World) -> None:
    t = resident_ticket(world, photos=[png()])
    services.suggest(t, category=Category.objects.get(code="environment.garbage"), confidence=0.82)
    response = client_for(world, "worker_a").get(reverse("grid:ticket", args=[t.pk]))
    assert response.status_code == 200
    page = text(response)
    assert t.title in page and t.number in page
    assert "139****5678" in page and "13912345678" not in page  # masked for staff
    assert "王阿姨" in page
    # The steps the community may take now, and not the department's.
    assert reverse("grid:ticket_accept", args=[t.pk]) in page
    assert reverse("grid:ticket_close_on_spot", args=[t.pk]) in page
    assert reverse("grid:ticket_merge", args=[t.pk]) in page
    assert reverse("grid:ticket_dept_accept", args=[t.pk]) not in page
    assert reverse("grid:ticket_dispatch", args=[t.pk]) not in page
    # The classifier's suggestion is the accept form's default and is named.
    assert 'value="environment.garbage" selected' in page
    assert "系统建议：很可能是“垃圾清运”（把握 82%）" in page

    # The photo is served through the scope-checked view, never a media URL.
    att = Attachment.objects.get(ticket=t)
    assert reverse("grid:photo", args=[t.pk, att.pk]) in page
    assert "/media/" not in page
    # The state of the deadline, in words.
    assert "state-green" in page


@pytest.mark.parametrize(
    ("confidence", "words"),
    [
        (None, "系统建议：消防隐患"),
        (0.9, "系统建议：很可能是“消防隐患”（把握 90%）"),
        (0.45, "系统建议：可能是“消防隐患”"),
        (0.22, "系统猜测：消防隐患（把握不大，请对照描述核实）"),
    ],
)
def test_the_suggestion_in_words_with_a_share_only_when_sure(confidence: float | None, words: str) -> None:
    with translation.override("zh-hans"):
        assert forms.suggestion_words("消防隐患", confidence) == words


def test_ticket_page_for_the_reporter_hides_staff_names_and_notes(world: World) -> None:
    t = dispatched(world)
    services.ticket_comment(actor=world["worker_a"], ticket=t, text="内部：这人经常投诉")
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    services.ticket_respond(actor=world["dept"], ticket=t, comment="已安排民警今晚巡查")
    page = text(client_for(world, "resident").get(reverse("grid:ticket", args=[t.pk])))
    assert "已安排民警今晚巡查" in page  # replies are for the reporter
    assert "内部：这人经常投诉" not in page  # internal notes are not
    assert "worker_a" not in page and ">dept<" not in page and "· dept" not in page
    assert world.department.name in page  # the department's name instead of the person's
    assert "139****5678" not in page  # no contact block for the reporter
    assert reverse("grid:ticket_accept", args=[t.pk]) not in page
    staff_page = text(client_for(world, "worker_a").get(reverse("grid:ticket", args=[t.pk])))
    assert "内部：这人经常投诉" in staff_page and "worker_a" in staff_page


def test_rating_form_shown_to_the_reporter_of_a_resolved_ticket(world: World) -> None:
    t = dispatched(world)
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    services.ticket_resolve(actor=world["dept"], ticket=t, result="灯已更换", photos=[png("blue")])
    page = text(client_for(world, "resident").get(reverse("grid:ticket", args=[t.pk])))
    assert reverse("grid:ticket_rate", args=[t.pk]) in page
    assert "灯已更换" in page
    staff = text(client_for(world, "grid_a").get(reverse("grid:ticket", args=[t.pk])))
    assert reverse("grid:ticket_rate", args=[t.pk]) not in staff
    assert reverse("grid:ticket_verify", args=[t.pk]) in staff


def test_place_links_follow_the_registry_scope(world: World) -> None:
    from shequ.registry.tests.conftest import Registry  # noqa: F401  (fixture data model)

    t = resident_ticket(world, address="岳麓大道1号")
    page = text(client_for(world, "worker_a").get(reverse("grid:ticket", args=[t.pk])))
    assert "岳麓大道1号" in page


def test_merged_ticket_links_its_parent(world: World) -> None:
    parent = new_ticket(world)
    dup = new_ticket(world, title="又有人打架")
    services.ticket_merge(actor=world["worker_a"], ticket=dup, into=parent)
    client = client_for(world, "worker_a")
    page = text(client.get(reverse("grid:ticket", args=[dup.pk])))
    assert reverse("grid:ticket", args=[parent.pk]) in page
    page = text(client.get(reverse("grid:ticket", args=[parent.pk])))
    assert reverse("grid:ticket", args=[dup.pk]) in page


# --- Steps --------------------------------------------------------------------------------------


def test_the_community_steps_through_the_forms(world: World) -> None:
    t = resident_ticket(world)
    client = client_for(world, "worker_a")
    r = post_step(
        client, t, "accept", {"category": "security.public_order", "urgency": "normal", "comment": "收到"}
    )
    assert r.status_code == 302 and r["Location"] == reverse("grid:ticket", args=[t.pk])
    t.refresh_from_db()
    assert t.status == Status.ACCEPTED and t.category is not None
    assert t.category.code == "security.public_order"
    # The dispatch form defaults to the routing's department.
    page = text(client.get(reverse("grid:ticket", args=[t.pk])))
    assert f'value="{world.department.pk}" selected' in page
    r = post_step(client, t, "dispatch", {"department": world.department.pk})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == Status.DISPATCHED and t.department == world.department


def test_a_step_not_allowed_now_is_refused_with_the_reason(world: World) -> None:
    t = dispatched(world)
    client = client_for(world, "worker_a")
    r = post_step(client, t, "accept", {"category": "security.public_order", "urgency": "normal"})
    assert r.status_code == 400
    assert "cannot be" in text(r) or "不能" in text(r)
    t.refresh_from_db()
    assert t.status == Status.DISPATCHED


def test_an_invalid_form_is_shown_again_with_its_errors(world: World) -> None:
    t = dispatched(world)
    client = client_for(world, "dept")
    assert post_step(client, t, "dept_accept").status_code == 302
    r = post_step(client, t, "resolve", {"result": ""})
    assert r.status_code == 400
    page = text(r)
    assert 'id="step-resolve" open' in page or '<details class="step" open id="step-resolve">' in page
    t.refresh_from_db()
    assert t.status == Status.DEPT_ACCEPTED


def test_a_step_without_the_right_is_403_and_audited(world: World) -> None:
    t = dispatched(world)
    r = post_step(client_for(world, "resident"), t, "dept_accept")
    assert r.status_code == 403
    assert post_step(client_for(world, "dept"), t, "dept_accept", {"confirm": ""}).status_code == 400
    assert AuditEntry.objects.filter(action="grid.dept_accept", result="denied").exists()
    t.refresh_from_db()
    assert t.status == Status.DISPATCHED


def test_outside_the_scope_is_404(world: World) -> None:
    t = dispatched(world)
    assert post_step(client_for(world, "head_b"), t, "comment", {"comment": "x"}).status_code == 404
    assert client_for(world, "head_b").get(reverse("grid:ticket", args=[t.pk])).status_code == 404


def test_the_department_steps_and_photos(world: World) -> None:
    t = dispatched(world)
    client = client_for(world, "dept")
    assert post_step(client, t, "dept_accept", {"comment": "收到"}).status_code == 302
    assert post_step(client, t, "respond", {"comment": "今晚处理"}).status_code == 302
    r = client.post(
        reverse("grid:ticket_resolve", args=[t.pk]),
        {"resolve-result": "已更换灯泡", "resolve-photos": [upload("a.png"), upload("b.png", "green")]},
    )
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == Status.RESOLVED
    step = TicketAction.objects.get(ticket=t, action="resolve")
    assert step.attachments.count() == 2


def test_a_bad_photo_is_refused_and_nothing_changes(world: World) -> None:
    t = dispatched(world)
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    bad = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    r = client_for(world, "dept").post(
        reverse("grid:ticket_resolve", args=[t.pk]), {"resolve-result": "好了", "resolve-photos": [bad]}
    )
    assert r.status_code == 400
    t.refresh_from_db()
    assert t.status == Status.DEPT_ACCEPTED and not Attachment.objects.filter(ticket=t).exists()


def test_return_extension_and_decision(world: World) -> None:
    t = dispatched(world)
    dept = client_for(world, "dept")
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    assert post_step(dept, t, "request_extension", {"days": "50", "reason": "等配件"}).status_code == 400
    assert post_step(dept, t, "request_extension", {"days": "3", "reason": "等配件"}).status_code == 302
    head = client_for(world, "head_a")
    assert reverse("grid:ticket_decide_extension", args=[t.pk]) in text(
        head.get(reverse("grid:ticket", args=[t.pk]))
    )
    # Refusing needs a reason.
    assert post_step(head, t, "decide_extension", {"decision": "no"}).status_code == 400
    r = post_step(head, t, "decide_extension", {"decision": "yes"})
    assert r.status_code == 302
    assert Extension.objects.get(ticket=t).status == ExtensionStatus.APPROVED
    assert post_step(dept, t, "dept_return", {"reason": ""}).status_code == 400
    assert post_step(dept, t, "dept_return", {"reason": "不归派出所管"}).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.ACCEPTED and t.department is None


def test_verify_pass_and_fail(world: World) -> None:
    t = dispatched(world)
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    services.ticket_resolve(actor=world["dept"], ticket=t, result="已处理")
    grid = client_for(world, "grid_a")
    assert post_step(grid, t, "verify", {"decision": "no"}).status_code == 400  # needs what is wrong
    assert post_step(grid, t, "verify", {"decision": "no", "comment": "灯还是不亮"}).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.IN_PROGRESS
    services.ticket_resolve(actor=world["dept"], ticket=t, result="换了整套灯具")
    assert post_step(grid, t, "verify", {"decision": "yes"}).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.VERIFIED


def test_merge_by_number(world: World) -> None:
    parent = new_ticket(world)
    dup = new_ticket(world, title="重复")
    client = client_for(world, "worker_a")
    assert post_step(client, dup, "merge", {"into": "20200101999999"}).status_code == 400
    other = new_ticket(world, grid=COMMUNITY_B)
    assert post_step(client, dup, "merge", {"into": other.number}).status_code == 400  # not visible
    assert post_step(client, dup, "merge", {"into": parent.number}).status_code == 302
    dup.refresh_from_db()
    assert dup.status == Status.MERGED and dup.parent == parent


def test_close_on_spot_recategorize_handle_comment(world: World) -> None:
    t = new_ticket(world)
    grid = client_for(world, "grid_a")
    assert post_step(grid, t, "close_on_spot", {"result": "劝散了"}).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.CLOSED
    t2 = new_ticket(world)
    worker = client_for(world, "worker_a")
    assert post_step(worker, t2, "recategorize", {"category": "environment.noise"}).status_code == 302
    assert (
        post_step(worker, t2, "recategorize", {"category": "environment"}).status_code == 400
    )  # a main type
    services.ticket_accept(actor=world["worker_a"], ticket=t2)
    assert post_step(worker, t2, "handle", {"result": "社区调解"}).status_code == 302
    assert post_step(worker, t2, "comment", {"comment": "已回访"}).status_code == 302
    t2.refresh_from_db()
    assert t2.status == Status.RESOLVED and t2.category is not None
    assert t2.category.code == "environment.noise"
    history = text(worker.get(reverse("grid:ticket", args=[t2.pk])))
    assert "→ 噪音扰民" in history and "environment.noise" not in history.split('id="timeline-heading"')[1]


def test_supervise_a_reopened_ticket(world: World) -> None:
    t = dispatched(world)
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    services.ticket_resolve(actor=world["dept"], ticket=t, result="已处理")
    services.ticket_rate(actor=world["resident"], ticket=t, rating=1, comment="根本没修")
    head = client_for(world, "head_a")
    assert post_step(head, t, "supervise", {"decision": "close"}).status_code == 400  # needs an explanation
    r = post_step(
        head,
        t,
        "supervise",
        {"decision": "redispatch", "department": world.department.pk, "comment": "重新处理"},
    )
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == Status.DISPATCHED


# --- Photos -------------------------------------------------------------------------------------


def test_photo_view_is_scope_checked_and_not_cached(world: World) -> None:
    t = resident_ticket(world, photos=[png()])
    att = Attachment.objects.get(ticket=t)
    url = reverse("grid:photo", args=[t.pk, att.pk])
    r = client_for(world, "worker_a").get(url)
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert r["Cache-Control"] == "no-store"
    body = b"".join(r.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\x89PNG")
    assert client_for(world, "resident").get(url).status_code == 200
    for persona in ("head_b", "grid_b", "outsider", "nobody", "dept"):
        assert client_for(world, persona).get(url).status_code == 404, persona
    other = new_ticket(world, grid=GRID_B)
    assert (
        client_for(world, "worker_a").get(reverse("grid:photo", args=[other.pk, att.pk])).status_code == 404
    )
    assert Client().get(url).status_code == 302


def test_reveal_the_contact_phone_is_audited(world: World) -> None:
    t = resident_ticket(world)
    url = reverse("grid:ticket_reveal", args=[t.pk])
    assert client_for(world, "head_a").post(url, {"field": "contact_phone", "reason": ""}).status_code == 400
    r = client_for(world, "head_a").post(url, {"field": "contact_phone", "reason": "回访核实"})
    assert r.status_code == 200 and "13912345678" in text(r)
    assert AuditEntry.objects.filter(action="personal.reveal", result="success").exists()
    assert (
        client_for(world, "worker_a").post(url, {"field": "contact_phone", "reason": "x"}).status_code == 403
    )
    assert (
        client_for(world, "resident").post(url, {"field": "contact_phone", "reason": "x"}).status_code == 403
    )
    assert client_for(world, "head_b").post(url, {"field": "contact_phone", "reason": "x"}).status_code == 404


def test_zh_hans_rendering(world: World) -> None:
    t = resident_ticket(world)
    client = client_for(world, "worker_a")
    page = text(client.get(reverse("grid:ticket", args=[t.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert 'lang="zh-Hans"' in page
    assert "受理" in page  # the accept step
    assert not re.search(r">\s*What you can do\s*<", page)


# --- Queues -------------------------------------------------------------------------------------


def test_community_queue_sorted_by_deadline_with_filters(world: World) -> None:
    urgent = new_ticket(world, title="煤气味很重", code="safety.gas", urgency="urgent")
    normal = new_ticket(world, title="楼上装修太吵", code="environment.noise")
    other = new_ticket(world, grid=COMMUNITY_B, title="别的社区")
    client = client_for(world, "worker_a")
    page = text(client.get(reverse("grid:queue")))
    assert urgent.title in page and normal.title in page and other.title not in page
    # The nearest deadline first.
    assert page.index(f">{urgent.title}</a>") < page.index(f">{normal.title}</a>")
    page = text(client.get(reverse("grid:queue"), {"category": "environment"}))
    assert normal.title in page and urgent.title not in page
    page = text(client.get(reverse("grid:queue"), {"q": urgent.number}))
    assert urgent.title in page and normal.title not in page
    page = text(client.get(reverse("grid:queue"), {"colour": "red"}))
    assert urgent.title not in page
    page = text(client.get(reverse("grid:queue"), {"status": "nonsense"}))  # ignored, not an error
    assert urgent.title in page
    # A grid worker sees their own grid's queue only.
    b = new_ticket(world, grid=GRID_B, title="二网格的事")
    page = text(client_for(world, "grid_a").get(reverse("grid:queue")))
    assert urgent.title in page and b.title not in page


def test_ticket_list_is_paginated_and_scoped(world: World) -> None:
    for i in range(32):
        new_ticket(world, title=f"事件{i:02d}")
    new_ticket(world, grid=COMMUNITY_B, title="别处的事")
    client = client_for(world, "head_a")
    first = text(client.get(reverse("grid:list")))
    assert "事件31" in first and "别处的事" not in first and "?page=2" in first
    second = text(client.get(reverse("grid:list"), {"page": 2}))
    assert "事件00" in second
    street = text(client_for(world, "street").get(reverse("grid:list"), {"q": "别处"}))
    assert "别处的事" in street


def test_department_queue_and_bulk_actions(world: World) -> None:
    tickets = [dispatched(world) for _ in range(3)]
    client = client_for(world, "dept")
    page = text(client.get(reverse("grid:department")))
    assert all(reverse("grid:ticket", args=[t.pk]) in page for t in tickets)
    # Nothing chosen, or a return without a reason: refused, nothing changes.
    assert client.post(reverse("grid:department_bulk"), {"action": "accept"}).status_code == 400
    r = client.post(reverse("grid:department_bulk"), {"action": "return", "tickets": [tickets[0].pk]})
    assert r.status_code == 400
    # One ticket is accepted by someone else first: the bulk reports it and does the rest.
    services.ticket_department_accept(actor=world["dept"], ticket=tickets[0])
    r = client.post(reverse("grid:department_bulk"), {"action": "accept", "tickets": [t.pk for t in tickets]})
    assert r.status_code == 302
    shown = text(client.get(reverse("grid:department")))
    assert tickets[0].number in shown and ("was not changed" in shown or "未作改动" in shown)
    statuses = [Ticket.objects.get(pk=t.pk).status for t in tickets]
    assert statuses == [Status.DEPT_ACCEPTED] * 3
    r = client.post(
        reverse("grid:department_bulk"),
        {"action": "return", "tickets": [tickets[1].pk, tickets[2].pk], "reason": "不是派出所的事"},
    )
    assert r.status_code == 302
    assert Ticket.objects.get(pk=tickets[1].pk).status == Status.ACCEPTED
    # A ticket that is not the department's cannot be chosen.
    foreign = new_ticket(world)
    r = client.post(reverse("grid:department_bulk"), {"action": "accept", "tickets": [foreign.pk]})
    assert r.status_code == 400
    assert client_for(world, "worker_a").post(reverse("grid:department_bulk"), {}).status_code == 403


def test_supervision_page_lists_overdue_reopened_and_extensions(world: World) -> None:
    import datetime as dt

    from django.utils import timezone

    late = new_ticket(world, title="过期的事")
    Ticket.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    t = dispatched(world)
    services.ticket_department_accept(actor=world["dept"], ticket=t)
    services.extension_request(actor=world["dept"], ticket=t, days=2, reason="等配件")
    client = client_for(world, "head_a")
    page = text(client.get(reverse("grid:supervision")))
    assert "过期的事" in page and "等配件" in page
    r = client.post(
        reverse("grid:ticket_decide_extension", args=[t.pk]),
        {
            "decide_extension-decision": "no",
            "decide_extension-comment": "先处理",
            "next": reverse("grid:supervision"),
        },
    )
    assert r.status_code == 302 and r["Location"] == reverse("grid:supervision")
    assert Extension.objects.get(ticket=t).status == ExtensionStatus.REJECTED
    assert "过期的事" not in text(client_for(world, "head_b").get(reverse("grid:supervision")))
    assert client_for(world, "grid_a").get(reverse("grid:supervision")).status_code == 403


def test_staff_entry_walk_in_and_patrol(world: World) -> None:
    client = client_for(world, "grid_a")
    page = text(client.get(reverse("grid:new")))
    assert GRID_A in page and GRID_B not in page  # only the viewer's own areas
    # One name: the tab, the page's title and heading, and the button on the ticket list.
    tab = re.search(r'<a href="' + reverse("grid:new") + r'"[^>]*><svg[^>]*>.*?</svg><span>([^<]+)', page)
    assert tab is not None and tab.group(1) == "新建工单"
    assert "<h1>新建工单</h1>" in page and "<title>新建工单 ·" in page
    assert f'href="{reverse("grid:new")}">新建工单</a>' in text(client.get(reverse("grid:list")))
    assert "录入事件" not in page
    r = client.post(
        reverse("grid:new"),
        {
            "source": "patrol",
            "region": GRID_A,
            "category": "environment.garbage",
            "urgency": "normal",
            "title": "垃圾堆放",
            "description": "3栋后面垃圾堆了好几天",
            "contact_phone": "13800001111",
            "photos": [upload()],
        },
    )
    assert r.status_code == 302
    created = Ticket.objects.get(title="垃圾堆放")
    assert r["Location"] == reverse("grid:ticket", args=[created.pk])
    assert created.source == "patrol" and created.created_by == world["grid_a"]
    assert created.attachments.count() == 1
    # Bad input: the specific error, nothing written.
    before = Ticket.objects.count()
    r = client.post(
        reverse("grid:new"),
        {
            "source": "staff",
            "region": GRID_A,
            "urgency": "normal",
            "title": "x",
            "description": "y",
            "contact_phone": "123",
        },
    )
    assert r.status_code == 400 and Ticket.objects.count() == before
    r = client.post(
        reverse("grid:new"),
        {"source": "staff", "region": GRID_B, "urgency": "normal", "title": "x", "description": "y"},
    )
    assert r.status_code == 400 and Ticket.objects.count() == before  # not the viewer's grid
    r = client.post(
        reverse("grid:new"),
        {
            "source": "staff",
            "region": GRID_A,
            "urgency": "normal",
            "title": "x",
            "description": "y",
            "house": "999999",
        },
    )
    assert r.status_code == 400 and Ticket.objects.count() == before
    for persona in ("resident", "dept", "street", "nobody"):
        assert client_for(world, persona).get(reverse("grid:new")).status_code == 403, persona


def test_a_staff_form_sent_twice_makes_one_ticket(world: World) -> None:
    """The form's client key: the app resends a patrol report it kept offline, or a double tap."""
    client = client_for(world, "grid_a")
    key = text(client.get(reverse("grid:new"))).split('name="client_key" value="')[1].split('"')[0]
    data = {
        "source": "patrol",
        "region": GRID_A,
        "urgency": "normal",
        "title": "井盖松动",
        "description": "2栋门口井盖松动",
        "client_key": key,
    }
    first, second = client.post(reverse("grid:new"), data), client.post(reverse("grid:new"), data)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Ticket.objects.filter(title="井盖松动").count() == 1
    # Keys are drawn at random: the same key from another account is refused, never a way to
    # reach grid_a's ticket, and nothing is written.
    other = client_for(world, "worker_a").post(reverse("grid:new"), data)
    assert other.status_code == 400 and str(first["Location"]) not in text(other)
    assert Ticket.objects.filter(title="井盖松动").count() == 1


def test_home_tiles_and_tabs(world: World) -> None:
    """Each role's home is a grid of its services with their counts, and its phone tabs are its own."""
    from shequ.core.components import tabs_for, tiles_for

    new_ticket(world)
    dispatched(world)

    def tiles(persona: str) -> dict[str, int | None]:
        return {t.url: t.count for t in tiles_for(world[persona])}

    def tabs(persona: str) -> list[str]:
        return [t["url"] for t in tabs_for(world[persona])]

    queue, dept_queue = reverse("grid:queue"), reverse("grid:department")
    assert tiles("worker_a")[queue] == 1 and tiles("worker_a")[queue + "?colour=red"] == 0
    assert tiles("dept")[dept_queue] == 1 and queue not in tiles("dept")
    assert reverse("grid:supervision") in tiles("head_a")
    assert queue in tiles("grid_a")
    assert reverse("grid:report") in tiles("resident") and queue not in tiles("resident")
    # 首页, two of the role's own, 消息, 我的.
    home, inbox, me = reverse("core:home"), reverse("core:inbox"), reverse("core:me")
    assert tabs("grid_a") == [home, queue, reverse("registry:my_grid"), inbox, me]
    assert tabs("resident") == [home, reverse("grid:report"), reverse("grid:my_tickets"), inbox, me]
    assert tabs("dept")[:2] == [home, dept_queue] and tabs("dept")[-2:] == [inbox, me]
    page = text(client_for(world, "worker_a").get("/"))
    assert 'class="tabbar"' in page and queue in page


def test_the_queue_tally_counts_each_status(world: World) -> None:
    # The queue is ordered by deadline; the counts must not be grouped by it (every count was 1).
    for _ in range(3):
        new_ticket(world)
    services.ticket_accept(actor=world["worker_a"], ticket=new_ticket(world))
    assert selectors.status_counts(selectors.community_queue(world["worker_a"])) == {
        "submitted": 3,
        "accepted": 1,
    }
    page = client_for(world, "worker_a").get(reverse("grid:queue")).content.decode()
    assert re.search(r'\?status=submitted">[^<]*<strong>3</strong>', page)
    assert re.search(r'\?status=accepted">[^<]*<strong>1</strong>', page)
