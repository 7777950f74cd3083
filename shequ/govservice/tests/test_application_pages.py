"""The staff's application pages: the list (filters, deadline colours, no ID or phone number), one
application (materials masked, files linked, the full timeline, the forms of the steps the viewer
may take) and each step taken from the page, refused from the page (wrong status: a message and
nothing changed; bad input: a form error), the audited material file, and the scope matrix with
the sibling users and the civil-affairs clerk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from shequ.core.models import AuditEntry
from shequ.govservice.models import Application, Channel, Outcome, Status
from shequ.govservice.services import applications as apps
from shequ.govservice.tests.conftest import COMMUNITY_A, COMMUNITY_B, Gov
from shequ.govservice.tests.test_applications import online, upload
from shequ.registry import prefill

pytestmark = pytest.mark.django_db

COVERED: set[str] = {
    "govservice:applications",
    "govservice:application",
    "govservice:application_act",
    "govservice:application_file",
}


def client(gov: Gov, persona: str) -> Client:
    c = Client()
    c.force_login(gov.clerk if persona == "clerk" else gov[persona])
    return c


def page(response: Any) -> str:
    return str(response.content.decode())


def act(c: Client, app: Application, action: str, **data: Any) -> Any:
    fields = {f"{action}-{k}": v for k, v in data.items()}
    return c.post(reverse("govservice:application_act", args=[app.pk]), {"action": action, **fields})


def counter_app(gov: Gov, code: str = "residence_certificate", **extra: Any) -> Application:
    data: dict[str, Any] = {
        "actor": gov["worker_a"],
        "item": gov.item(code),
        "channel": Channel.COUNTER,
        "region": gov.world.regions[COMMUNITY_A],
        "applicant": apps.Applicant(facts=prefill.facts_of(gov.elder)),
        "answers": {"purpose": "办理银行业务"},
    }
    data.update(extra)
    return apps.application_submit(**data)


def sibling_app(gov: Gov) -> Application:
    return apps.application_submit(
        actor=gov["head_b"],
        item=gov.item("residence_certificate"),
        channel=Channel.COUNTER,
        region=gov.world.regions[COMMUNITY_B],
        applicant=apps.Applicant(name="王先生", phone="13912345678"),
        answers={"purpose": "租房"},
        paper=["id_card", "residence", "household"],
    )


# --- The list -----------------------------------------------------------------------------------


def test_list_shows_the_area_with_filters_and_no_numbers(gov: Gov) -> None:
    first = online(gov)
    taken = counter_app(gov)
    other = sibling_app(gov)
    c = client(gov, "worker_a")
    text = page(c.get(reverse("govservice:applications")))
    assert first.number in text and taken.number in text and other.number not in text
    assert "刘奶奶" in text and "高龄津贴申领" in text and "正常" in text
    assert gov.elder.id_number not in text and gov.elder.phone not in text
    only = page(c.get(reverse("govservice:applications"), {"status": "submitted"}))
    assert first.number in only and taken.number not in only
    by_number = page(c.get(reverse("govservice:applications"), {"number": taken.number}))
    assert taken.number in by_number and first.number not in by_number
    by_item = page(
        c.get(reverse("govservice:applications"), {"item": "elderly_allowance", "channel": "online"})
    )
    assert first.number in by_item and taken.number not in by_item
    assert c.get(reverse("govservice:applications"), {"status": "nonsense"}).status_code == 400
    sibling = page(client(gov, "head_b").get(reverse("govservice:applications")))
    assert other.number in sibling and first.number not in sibling


def test_overdue_filter_and_red_state(gov: Gov) -> None:
    from django.utils import timezone

    app = online(gov)
    Application.objects.filter(pk=app.pk).update(
        due_at=timezone.now() - dt.timedelta(hours=1),
        warn_at=timezone.now() - dt.timedelta(hours=5),
    )
    fresh = counter_app(gov, "elderly_allowance", paper=["bank_card"], answers={})
    text = page(client(gov, "worker_a").get(reverse("govservice:applications"), {"overdue": "on"}))
    assert app.number in text and fresh.number not in text and "已超期" in text


def test_list_pages_fifty_at_a_time(gov: Gov) -> None:
    first = online(gov)
    rows = [Application(**{**_copy(first), "submitted_at": first.submitted_at}) for _ in range(55)]
    Application.objects.bulk_create(rows)
    c = client(gov, "worker_a")
    text = page(c.get(reverse("govservice:applications")))
    assert text.count('class="row-link"') == 50 and 'rel="next"' in text
    second = page(c.get(reverse("govservice:applications"), {"page": "2"}))
    assert second.count('class="row-link"') == 6 and 'rel="prev"' in second and 'rel="next"' not in second


def _copy(app: Application) -> dict[str, Any]:
    skip = {"id", "uid", "applicant_phone"}
    return {
        f.attname: getattr(app, f.attname) for f in Application._meta.concrete_fields if f.attname not in skip
    }


# --- One application ------------------------------------------------------------------------------


def test_detail_shows_materials_masked_files_and_every_step(gov: Gov) -> None:
    app = online(gov)
    c = client(gov, "worker_a")
    response = c.get(reverse("govservice:application", args=[app.pk]))
    text = page(response)
    assert "no-store" in response["Cache-Control"]
    assert "居民身份证" in text and "来自人口库" in text and gov.elder.masked_id_number in text
    assert gov.elder.id_number not in text and gov.elder.phone not in text
    token = app.files.get().token
    assert reverse("govservice:application_file", args=[app.pk, token]) in text
    assert "受理" in text and "补正" in text and "不予受理" in text  # the forms of this status
    assert 'value="forward"' not in text  # not yet accepted
    assert "网上提交" in text  # the timeline


def test_material_file_is_served_audited_and_scoped(gov: Gov) -> None:
    app = online(gov)
    token = app.files.get().token
    url = reverse("govservice:application_file", args=[app.pk, token])
    response = client(gov, "worker_a").get(url)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.filter(action="govservice.material_read").latest("pk")
    assert entry.actor_id == gov["worker_a"].pk and entry.object_id == str(app.pk)
    assert entry.detail["material"] == "bank_card"
    for persona in ("head_b", "outsider", "grid_b", "clerk"):
        assert client(gov, persona).get(url).status_code == 404, persona
    assert client(gov, "resident").get(url).status_code == 403
    bad = reverse("govservice:application_file", args=[app.pk, "0" * 32])
    assert client(gov, "worker_a").get(bad).status_code == 404
    assert AuditEntry.objects.filter(action="govservice.material_read").count() == 1


def test_each_step_from_the_page_online_forward_decide_deliver(gov: Gov) -> None:
    app = online(gov)
    worker = client(gov, "worker_a")
    assert act(worker, app, "accept").status_code == 302
    app.refresh_from_db()
    assert app.status == Status.ACCEPTED
    text = page(worker.get(reverse("govservice:application", args=[app.pk])))
    assert "岳麓区民政局" in text and 'value="decide"' not in text  # entrusted: forward, not decide
    assert act(worker, app, "forward", department=str(gov.civil.pk), note="请审批").status_code == 302
    app.refresh_from_db()
    assert app.status == Status.FORWARDED and app.department == gov.civil
    # The community may not decide what is forwarded (the step is refused: it is forwarded); the
    # department's clerk does.
    response = act(worker, app, "decide", outcome="approved")
    assert response.status_code == 400 and "已转部门" in page(response)
    clerk = client(gov, "clerk")
    assert 'value="decide"' in page(clerk.get(reverse("govservice:application", args=[app.pk])))
    assert (
        act(clerk, app, "decide", outcome="denied", note="").status_code == 400
    )  # a denial gives its reason
    app.refresh_from_db()
    assert app.status == Status.FORWARDED
    assert act(clerk, app, "decide", outcome="approved", note="下月起发放").status_code == 302
    assert act(worker, app, "deliver", delivery="nonsense").status_code == 400
    assert act(worker, app, "deliver", delivery="pickup").status_code == 302
    app.refresh_from_db()
    assert app.status == Status.CLOSED and app.outcome == Outcome.APPROVED
    steps = list(app.steps.values_list("action", flat=True))
    assert steps == ["submit", "accept", "forward", "decide", "deliver"]


def test_return_resubmit_and_reject_from_the_page(gov: Gov) -> None:
    app = online(gov)
    worker = client(gov, "worker_a")
    response = act(worker, app, "return", note="看不清")
    assert response.status_code == 400 and "必填" in page(response)
    response = act(worker, app, "return", missing=["bank_card"], note="卡号看不清")
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == Status.RETURNED and app.missing == ["bank_card"]
    # Received at the counter on paper: accepted at once.
    response = worker.post(
        reverse("govservice:application_act", args=[app.pk]),
        {"action": "resubmit", "resubmit-paper": ["bank_card"]},
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == Status.ACCEPTED
    other = online(gov)
    assert act(worker, other, "reject", reason="").status_code == 400
    assert act(worker, other, "reject", reason="户籍不在本社区").status_code == 302
    other.refresh_from_db()
    assert other.status == Status.REJECTED


def test_resubmit_with_a_scan_from_the_page(gov: Gov) -> None:
    app = online(gov)
    apps.application_return(actor=gov["worker_a"], application=app, missing=["bank_card"])
    worker = client(gov, "worker_a")
    response = worker.post(
        reverse("govservice:application_act", args=[app.pk]),
        {"action": "resubmit", "resubmit-file_bank_card": [upload()]},
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == Status.ACCEPTED and app.files.count() == 2


def test_steps_refused_for_the_status_change_nothing(gov: Gov) -> None:
    app = online(gov)
    worker = client(gov, "worker_a")
    for action, data in (
        ("deliver", {"delivery": "pickup"}),
        ("forward", {"department": str(gov.civil.pk)}),
        ("decide", {"outcome": "approved"}),
        ("close_on_receipt", {}),
        ("resubmit", {}),
    ):
        response = act(worker, app, action, **data)
        assert response.status_code == 400, action
        assert "不能" in page(response) or "无法" in page(response), action
    app.refresh_from_db()
    assert app.status == Status.SUBMITTED and app.steps.count() == 1
    assert act(worker, app, "nonsense").status_code == 400
    response = act(worker, app, "forward", department="999999")
    assert response.status_code == 400
    app.refresh_from_db()
    assert app.status == Status.SUBMITTED


def test_close_on_receipt_from_the_page(gov: Gov) -> None:
    app = online(gov, "residence_certificate", files={}, answers={"purpose": "办理银行业务"})
    worker = client(gov, "worker_a")
    text = page(worker.get(reverse("govservice:application", args=[app.pk])))
    assert 'value="close_on_receipt"' in text
    assert act(worker, app, "close_on_receipt").status_code == 302
    app.refresh_from_db()
    assert app.status == Status.CLOSED
    response = act(worker, app, "close_on_receipt")
    assert response.status_code == 400
    assert app.steps.count() == 2


def test_community_decides_an_authorized_item(gov: Gov) -> None:
    app = counter_app(gov)
    worker = client(gov, "worker_a")
    text = page(worker.get(reverse("govservice:application", args=[app.pk])))
    assert 'value="decide"' in text and 'value="forward"' not in text
    assert act(worker, app, "decide", outcome="answered").status_code == 400  # not a consultation
    assert act(worker, app, "decide", outcome="approved").status_code == 302
    app.refresh_from_db()
    assert app.status == Status.DECIDED


def test_receipt_section_prints(gov: Gov) -> None:
    app = counter_app(gov)
    text = page(
        client(gov, "worker_a").get(reverse("govservice:application", args=[app.pk]), {"receipt": "1"})
    )
    assert "收件回执" in text and app.number in text and "data-print" in text and "no-print" in text
    assert "http://testserver/govservice/track/" in text


# --- The scope matrix ------------------------------------------------------------------------------


def test_every_route_of_this_page_area_is_in_the_matrix() -> None:
    from shequ.govservice import urls_counter

    routes = {
        f"govservice:{p.name}" for p in urls_counter.urlpatterns if isinstance(p, URLPattern) and p.name
    }
    from shequ.govservice.tests import test_catalog_pages, test_counter_pages

    assert routes == COVERED | test_counter_pages.COVERED | test_catalog_pages.COVERED


# Who sees community A's application (govservice.view in its region, or took it themselves).
SEES_A = {"worker_a", "head_a", "street"}
STAFF = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider", "dept", "clerk"}
OTHERS = {"resident", "nobody", "sysadmin", "secadmin", "auditor"}


def test_the_scope_matrix_of_the_application_pages(gov: Gov) -> None:
    app = online(gov)
    forwarded = online(gov)
    apps.application_accept(actor=gov["worker_a"], application=forwarded)
    apps.application_forward(actor=gov["worker_a"], application=forwarded, department=gov.civil)
    token = app.files.get().token
    wrong: list[tuple[str, str, int, int]] = []
    for persona in sorted(STAFF | OTHERS):
        c = client(gov, persona)

        def expect(path: str, want: int, method: str = "get", data: Any = None) -> None:
            got = getattr(c, method)(path, data or {}).status_code
            if got != want:
                wrong.append((persona, path, got, want))

        staff = persona in STAFF
        expect(reverse("govservice:applications"), 200 if staff else 403)
        for target, sees in ((app, SEES_A), (forwarded, SEES_A | {"clerk"})):
            want = 200 if persona in sees else 404 if staff else 403
            expect(reverse("govservice:application", args=[target.pk]), want)
        want = 200 if persona in SEES_A else 404 if staff else 403
        expect(reverse("govservice:application_file", args=[app.pk, token]), want)
        # Accepting: those who see it but may not handle it get 403; the others 404 or 403.
        post_want = 302 if persona in {"worker_a", "head_a", "street"} else want
        if persona not in {"worker_a", "head_a", "street"}:
            expect(
                reverse("govservice:application_act", args=[app.pk]), post_want, "post", {"action": "accept"}
            )
    assert wrong == []
    app.refresh_from_db()
    assert app.status == Status.SUBMITTED
    clerk_list = page(client(gov, "clerk").get(reverse("govservice:applications")))
    assert forwarded.number in clerk_list and app.number not in clerk_list


def test_department_returns_a_forwarded_application_from_the_page(gov: Gov) -> None:
    app = online(gov)
    apps.application_accept(actor=gov["worker_a"], application=app)
    apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    clerk = client(gov, "clerk")
    text = page(clerk.get(reverse("govservice:application", args=[app.pk])))
    assert 'value="return"' in text and 'value="forward"' not in text and 'value="accept"' not in text
    # The community's worker may no longer return it: the department has it.
    response = act(client(gov, "worker_a"), app, "return", missing=["bank_card"])
    assert response.status_code == 400 and "已转部门" in page(response)
    assert act(clerk, app, "return", missing=["bank_card"], note="请提供本人社保卡").status_code == 302
    app.refresh_from_db()
    assert app.status == Status.RETURNED and app.missing == ["bank_card"]
    assert app.steps.filter(action="return").count() == 1


def test_a_helper_who_may_not_handle_sees_no_steps_and_is_refused(gov: Gov) -> None:
    app = apps.application_submit(
        actor=gov["grid_a"],
        item=gov.item("residence_certificate"),
        channel=Channel.HOME,
        region=gov.world.regions[COMMUNITY_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.elder)),
        answers={"purpose": "办理银行业务"},
        on_behalf=True,
        consent="signed",
    )
    grid = client(gov, "grid_a")
    text = page(grid.get(reverse("govservice:application", args=[app.pk])))
    assert "帮办代办" in text and 'name="action"' not in text
    assert act(grid, app, "close_on_receipt").status_code == 403
    assert act(grid, app, "decide", outcome="approved").status_code == 403
    app.refresh_from_db()
    assert app.status == Status.ACCEPTED
    assert AuditEntry.objects.filter(action__startswith="govservice.", result="denied").count() == 2
