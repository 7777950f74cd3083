"""The call-out pages: the list, the new call-out with its preview, the live roll-call and its
fragment and map, staff answers, closing, and the answer page a call-out SMS links to — each with
users of sibling regions and with bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from shequ.core import messaging, region_shapes
from shequ.core.models import AuditEntry, Message
from shequ.emergency.models import Answer, Mobilization, MobilizationStatus, Recipient, Response, Via
from shequ.emergency.services import answers, mobilization
from shequ.emergency.services.mobilization import ANSWER_PATH
from shequ.emergency.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B, Registry

pytestmark = pytest.mark.django_db

NEW = "/emergency/callouts/new/"


def client_for(town: Registry, persona: str) -> Client:
    client = Client()
    client.force_login(town.world[persona])
    return client


def call_out(town: Registry, **extra: Any) -> Mobilization:
    data: dict[str, Any] = {
        "actor": town.world["head_a"],
        "title": "暴雨转移",
        "body": "今晚有特大暴雨，低洼处住户请做好转移准备。",
        "response": Response.STATUS,
        "targets": [{"kind": "residents", "region": COMMUNITY_A}, {"kind": "staff", "region": COMMUNITY_A}],
    }
    data.update(extra)
    return mobilization.mobilization_start(**data)


def token_of(call: Mobilization, person_id: int) -> str:
    message = Message.objects.filter(
        topic=answers.TOPIC, topic_ref=str(call.pk), contact_ref=f"registry.person:{person_id}"
    ).first()
    assert message is not None
    return messaging.message_token(message.pk)


def form_data(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "暴雨转移",
        "body": "今晚有特大暴雨，低洼处住户请做好转移准备。",
        "response": "status",
        "residents": [COMMUNITY_A],
        "resend_after_minutes": "10",
        "resends": "1",
        "escalate_after_minutes": "20",
    }
    data.update(extra)
    return data


# --- New call-out --------------------------------------------------------------------------------


def test_the_form_offers_the_officers_own_regions_only(town: Registry) -> None:
    page = client_for(town, "head_a").get(NEW)
    assert page.status_code == 200
    text = page.content.decode()
    assert f'value="{GRID_A}"' in text and f'value="{COMMUNITY_A}"' in text
    assert f'value="{COMMUNITY_B}"' not in text
    assert 'data-count="400"' in text  # the live character count
    # Grid workers do not mobilize: the audited 403 page.
    refused = client_for(town, "grid_a").get(NEW)
    assert refused.status_code == 403 and "无权操作" in refused.content.decode()
    assert AuditEntry.objects.filter(action="access.denied", object_id=NEW).exists()


def test_preview_shows_how_many_people_then_one_click_sends(town: Registry) -> None:
    client = client_for(town, "head_a")
    preview = client.post(NEW, form_data(staff="on", staff_region=COMMUNITY_A))
    assert preview.status_code == 200
    text = preview.content.decode()
    people = mobilization.addressees(
        mobilization.clean_targets(
            actor=town.world["head_a"],
            raw=[{"kind": "staff", "region": COMMUNITY_A}, {"kind": "residents", "region": COMMUNITY_A}],
        ),
        exclude_user=town.world["head_a"],
    )
    assert f"将通知 {len(people)} 人" in text and "回复1" in text
    assert not Mobilization.objects.exists() and not Message.objects.exists()
    # The preview page carries the form as hidden fields: sending is one click.
    sent = client.post(NEW, form_data(staff="True", staff_region=COMMUNITY_A, step="send"))
    call = Mobilization.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/emergency/callouts/{call.pk}/"
    assert call.total == len(people) and call.region_code == COMMUNITY_A
    assert {t["kind"] for t in call.targets} == {"staff", "residents"}


@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"title": ""}, "id_title"),
        ({"body": "雨" * 401}, "id_body"),
        ({"response": "maybe"}, "id_response"),
        ({"residents": []}, None),  # nothing ticked
        ({"staff": "on", "staff_region": ""}, "id_staff_region"),
        ({"staff": "on", "staff_region": COMMUNITY_B}, "id_staff_region"),
        ({"resend_after_minutes": "0"}, "id_resend_after_minutes"),
        ({"resends": "9"}, "id_resends"),
        ({"assistance": "on"}, "id_warning"),
        ({"residents": ["430104002003"]}, "id_residents"),
    ],
)
def test_bad_input_gets_field_errors_and_sends_nothing(
    town: Registry, change: dict[str, Any], field_error: str | None
) -> None:
    for step in ("preview", "send"):
        page = client_for(town, "head_a").post(NEW, form_data(step=step, **change))
        assert page.status_code == 400
        text = page.content.decode()
        assert "error-summary" in text
        if field_error:
            assert f'href="#{field_error}' in text or f'id="{field_error}' in text
    assert not Mobilization.objects.exists() and not Message.objects.exists()


def test_a_target_outside_the_scope_is_refused_with_403_and_audited(town: Registry) -> None:
    # Buildings are offered from the scope only; a forged id of another community's building.
    building_b = town.buildings["c"]
    page = client_for(town, "head_a").post(NEW, form_data(residents=[], buildings=[str(building_b.pk)]))
    assert page.status_code == 400  # not among the choices: the form refuses it
    # Through the service's own check, the sibling's region itself (a street officer's form would
    # list it; head_b's scope does not hold community A).
    page = client_for(town, "head_b").post(NEW, form_data(residents=[], staff="on", staff_region=COMMUNITY_A))
    assert page.status_code == 400 and "不在您的" in page.content.decode()
    assert not Mobilization.objects.exists()


def test_the_services_refusal_is_the_403_page_and_audited(town: Registry) -> None:
    """head_a also works (without mobilizing) in community B: B's warning is offered, but its
    assistance list is not theirs to call out; the service refuses, audits, nothing is sent."""
    from shequ.core.models import Membership, Role
    from shequ.emergency.services import warnings

    warning = warnings.warning_draft(
        actor=town.world["head_b"],
        kind="rainstorm",
        level=2,
        title="桃子湖暴雨",
        text="请注意防范。",
        area_codes=[COMMUNITY_B],
    )
    warnings.warning_issue(actor=town.world["head_b"], warning=warning)
    Membership.objects.create(
        user=town.world["head_a"],
        role=Role.COMMUNITY_WORKER,
        region=town.world.regions[COMMUNITY_B],
        region_code=COMMUNITY_B,
    )
    client = client_for(town, "head_a")
    assert f'value="{warning.pk}"' in client.get(NEW).content.decode()
    for step in ("preview", "send"):
        page = client.post(NEW, form_data(residents=[], warning=str(warning.pk), assistance="on", step=step))
        assert page.status_code == 403 and "您不能动员辖区外的人员" in page.content.decode()
    assert AuditEntry.objects.filter(action="emergency.mobilize", result="denied").count() == 2
    assert not Mobilization.objects.exists() and not Message.objects.filter(topic=answers.TOPIC).exists()


def test_warning_preselects_its_assistance_list(town: Registry) -> None:
    from shequ.emergency.services import warnings

    warning = warnings.warning_draft(
        actor=town.world["head_a"],
        kind="rainstorm",
        level=3,
        title="暴雨橙色预警",
        text="预计3小时内降雨量将达50毫米以上，请低洼处住户转移。",
        area_codes=[COMMUNITY_A],
        is_drill=True,
    )
    warnings.warning_issue(actor=town.world["head_a"], warning=warning)
    page = client_for(town, "head_a").get(f"{NEW}?warning={warning.pk}")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["warning"] == warning.pk and form.initial["assistance"] is True
    assert form.initial["is_drill"] is True
    # head_b cannot open another community's warning.
    assert client_for(town, "head_b").get(f"{NEW}?warning={warning.pk}").status_code == 404
    # A drill warning's call-out must be a drill.
    page = client_for(town, "head_a").post(NEW, form_data(warning=str(warning.pk)))
    assert page.status_code == 400 and 'href="#id_is_drill' in page.content.decode()


# --- The roll-call -------------------------------------------------------------------------------


def test_roll_call_counts_names_and_polls_while_open(town: Registry) -> None:
    call = call_out(town, is_drill=True)
    zhang = Recipient.objects.get(mobilization=call, person_id=town.people["a"].pk)
    answers.answer_on_page(recipient=zhang, answer=Answer.HELP, location="5栋楼顶")
    client = client_for(town, "head_a")
    page = client.get(f"/emergency/callouts/{call.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "【演练】" in text
    assert f"1 / {call.total}" in text.replace("</span>", "").replace('<span class="num">', "")
    assert "赵六" in text and "李四" in text  # not answered, grid A and grid B
    assert "5栋楼顶" in text and "张三" in text  # the help list
    assert 'hx-trigger="every 4s"' in text and "emergency/rollcall.js" in text
    fragment = client.get(f"/emergency/callouts/{call.pk}/", HTTP_HX_REQUEST="true")
    assert (
        fragment.status_code == 200
        and b"<html" not in fragment.content
        and b'id="rollcall"' in fragment.content
    )
    # The map: grids coloured by the share not answered, the count of the silent and a link to
    # their names.
    ring = [[112.93, 28.22], [112.934, 28.22], [112.934, 28.224], [112.93, 28.22]]
    region_shapes.shapes_import(
        actor=None,
        collection={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": code},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
                for code in (GRID_A, GRID_B)
            ],
        },
    )
    geo = client.get(f"/emergency/callouts/{call.pk}/map.geojson").json()
    grids = {f["properties"]["code"]: f["properties"] for f in geo["features"]}
    silent = Recipient.objects.filter(mobilization=call, answer=Answer.PENDING)
    assert grids[GRID_A]["count"] == silent.filter(region_code=GRID_A).count() > 0
    assert grids[GRID_B]["count"] == silent.filter(region_code=GRID_B).count() > 0
    assert grids[GRID_B]["band"] == 4 and 1 <= grids[GRID_A]["band"] < 4  # all of B silent
    assert grids[GRID_B]["url"] == f"/emergency/callouts/{call.pk}/?grid={GRID_B}#silent-{GRID_B}"
    # Closed: the fragment comes back without the trigger, so the polling stops.
    mobilization.mobilization_close(actor=town.world["head_a"], mobilization=call)
    fragment = client.get(f"/emergency/callouts/{call.pk}/", HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in fragment.content


def test_the_help_list_links_the_grid_ticket(town: Registry) -> None:
    from shequ.core import outbox

    call = call_out(town)
    zhang = Recipient.objects.get(mobilization=call, person_id=town.people["a"].pk)
    answers.answer_on_page(recipient=zhang, answer=Answer.HELP)
    outbox.run_pending()
    zhang.refresh_from_db()
    assert zhang.ticket_ref
    text = client_for(town, "head_a").get(f"/emergency/callouts/{call.pk}/").content.decode()
    assert reverse("grid:ticket", args=[int(zhang.ticket_ref)]) in text


def test_sibling_regions_see_nothing_of_each_other(town: Registry) -> None:
    call = call_out(town)
    pk = call.pk
    for path in (
        f"/emergency/callouts/{pk}/",
        f"/emergency/callouts/{pk}/map.geojson",
        f"/emergency/callouts/{pk}/report/",
    ):
        assert client_for(town, "head_b").get(path).status_code == 404, path
    assert client_for(town, "outsider").get(f"/emergency/callouts/{pk}/").status_code == 404
    assert client_for(town, "head_b").post(f"/emergency/callouts/{pk}/close/").status_code == 404
    assert "暴雨转移" not in client_for(town, "head_b").get("/emergency/callouts/").content.decode()
    assert "暴雨转移" in client_for(town, "head_a").get("/emergency/callouts/").content.decode()
    # grid_b sees the call-out of the community but only grid B's people.
    text = client_for(town, "grid_b").get(f"/emergency/callouts/{pk}/").content.decode()
    assert "李四" in text and "赵六" not in text and "张三" not in text
    # The escalation notice's link: the grid worker's own grid.
    mine = client_for(town, "grid_b").get(f"/emergency/callouts/{pk}/?grid={GRID_B}")
    assert mine.status_code == 200 and "仅显示第二网格" in mine.content.decode()
    report = client_for(town, "grid_b").get(f"/emergency/callouts/{pk}/report/").content.decode()
    assert "李四" in report and "赵六" not in report
    # ... and cannot answer for grid A's people, nor close, nor export.
    zhao = Recipient.objects.get(mobilization=call, person_id=town.people["a2"].pk)
    refused = client_for(town, "grid_b").post(
        f"/emergency/callouts/{pk}/answer/{zhao.pk}/",
        {"recipient": zhao.pk, "answer": "safe", "note": "电话联系"},
    )
    assert refused.status_code == 403
    zhao.refresh_from_db()
    assert zhao.answer == Answer.PENDING
    assert client_for(town, "grid_b").post(f"/emergency/callouts/{pk}/close/").status_code == 403
    assert client_for(town, "grid_b").get(f"/emergency/callouts/{pk}/report.xlsx").status_code == 403
    call.refresh_from_db()
    assert call.status == MobilizationStatus.OPEN


def test_staff_record_an_answer_with_a_note(town: Registry) -> None:
    call = call_out(town)
    li = Recipient.objects.get(mobilization=call, person_id=town.people["b"].pk)
    client = client_for(town, "grid_b")
    path = f"/emergency/callouts/{call.pk}/answer/{li.pk}/"
    assert client.get(path).status_code == 200
    missing = client.post(path, {"recipient": li.pk, "answer": "safe", "note": ""})
    assert missing.status_code == 400 and 'href="#id_note' in missing.content.decode()
    other_pk = Recipient.objects.exclude(pk=li.pk).filter(mobilization=call).first().pk  # type: ignore[union-attr]
    swapped = client.post(path, {"recipient": other_pk, "answer": "safe", "note": "电话"})
    assert swapped.status_code == 400 and "表单对应的是另一个人" in swapped.content.decode()
    wrong = client.post(path, {"recipient": li.pk, "answer": "ack", "note": "电话"})  # not offered
    assert wrong.status_code == 400
    li.refresh_from_db()
    assert li.answer == Answer.PENDING
    done = client.post(path, {"recipient": li.pk, "answer": "safe", "note": "21:40 电话联系，在亲戚家"})
    assert done.status_code == 302
    li.refresh_from_db()
    assert (li.answer, li.via, li.note) == (Answer.SAFE, Via.STAFF, "21:40 电话联系，在亲戚家")
    by_staff = AuditEntry.objects.filter(action="emergency.answer_by_staff", actor_id=town.world["grid_b"].pk)
    assert by_staff.exists()
    # A recipient of another call-out through this one's path: 404.
    other = call_out(town, title="另一次")
    someone = Recipient.objects.filter(mobilization=other).first()
    assert someone is not None
    assert client.get(f"/emergency/callouts/{call.pk}/answer/{someone.pk}/").status_code == 404


def test_close(town: Registry) -> None:
    call = call_out(town)
    client = client_for(town, "head_a")
    assert client.get(f"/emergency/callouts/{call.pk}/close/").status_code == 405
    assert client.post(f"/emergency/callouts/{call.pk}/close/").status_code == 302
    call.refresh_from_db()
    assert call.status == MobilizationStatus.CLOSED
    again = client.post(f"/emergency/callouts/{call.pk}/close/", follow=True)
    assert "本次动员已经结束" in again.content.decode()


# --- The answer page -----------------------------------------------------------------------------


def test_the_answer_page_takes_an_answer_without_an_account(town: Registry) -> None:
    call = call_out(town, is_drill=True)
    token = token_of(call, town.people["a"].pk)
    path = ANSWER_PATH.format(token=token)
    assert path == f"/emergency/answer/{token}/"
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    text = page.content.decode()
    assert page.status_code == 200 and "【演练】" in text and "今晚有特大暴雨" in text
    assert page["Cache-Control"] == "no-store"
    assert 'value="safe"' in text and 'value="help"' in text and "13811112222" not in text
    csrf = client.cookies["csrftoken"].value
    # Without the CSRF token: refused.
    assert client.post(path, {"answer": "help"}).status_code == 403
    done = client.post(path, {"answer": "help", "location": "5栋楼顶", "csrfmiddlewaretoken": csrf})
    assert done.status_code == 302
    zhang = Recipient.objects.get(mobilization=call, person_id=town.people["a"].pk)
    assert (zhang.answer, zhang.via, zhang.location) == (Answer.HELP, Via.PAGE, "5栋楼顶")
    after = client.get(path).content.decode()
    assert "您的回答：需要帮助" in after and 'href="tel:110"' in after and 'href="tel:119"' in after
    assert answers.confirmation(call, Answer.HELP) in after
    # The answer can be changed while the call-out is open.
    client.post(path, {"answer": "safe", "location": "", "csrfmiddlewaretoken": csrf})
    zhang.refresh_from_db()
    assert zhang.answer == Answer.SAFE
    # A bad answer: an error, nothing changed.
    bad = client.post(path, {"answer": "ack", "csrfmiddlewaretoken": csrf})
    assert bad.status_code == 400
    long = client.post(path, {"answer": "help", "location": "楼" * 201, "csrfmiddlewaretoken": csrf})
    assert long.status_code == 400
    zhang.refresh_from_db()
    assert zhang.answer == Answer.SAFE
    # Closed: a clear message, no buttons, the answer kept.
    mobilization.mobilization_close(actor=town.world["head_a"], mobilization=call)
    closed = client.get(path).content.decode()
    assert "本次动员已结束，不再接收答复" in closed
    assert 'name="answer"' not in closed and "您的回答：安全" in closed
    late = client.post(path, {"answer": "help", "csrfmiddlewaretoken": csrf})
    assert late.status_code == 409
    zhang.refresh_from_db()
    assert zhang.answer == Answer.SAFE


@pytest.mark.parametrize("mangle", ["tail", "other_topic", "garbage"])
def test_forged_tokens_get_the_chinese_404(town: Registry, mangle: str) -> None:
    call = call_out(town)
    token = token_of(call, town.people["a"].pk)
    if mangle == "tail":
        token = token[:-1] + ("x" if token[-1] != "x" else "y")
    elif mangle == "other_topic":
        other = messaging.notify(sender=None, recipients=[town.world["grid_a"]], subject="x", body="y")
        token = messaging.message_token(other[0].pk)
    else:
        token = "not-a-token"
    client = Client()
    page = client.get(f"/emergency/answer/{token}/")
    assert page.status_code == 404 and "链接无效" in page.content.decode()
    assert client.post(f"/emergency/answer/{token}/", {"answer": "safe"}).status_code in (403, 404)
    assert not Recipient.objects.filter(mobilization=call).exclude(answer=Answer.PENDING).exists()


def test_the_answer_page_of_an_account_holder(town: Registry) -> None:
    call = call_out(town, response=Response.ACK)
    message = Message.objects.get(topic=answers.TOPIC, recipient=town.world["grid_b"])
    client = Client()
    path = f"/emergency/answer/{messaging.message_token(message.pk)}/"
    text = client.get(path).content.decode()
    assert 'value="ack"' in text and 'value="safe"' not in text
    client.get(path)
    csrf = client.cookies["csrftoken"].value
    assert client.post(path, {"answer": "ack", "csrfmiddlewaretoken": csrf}).status_code == 302
    grid_b = Recipient.objects.get(mobilization=call, user=town.world["grid_b"])
    assert grid_b.answer == Answer.ACK and grid_b.region_code.startswith(GRID_B[:12])


# --- The scope matrix ----------------------------------------------------------------------------

# Every call-out route, as "emergency:<name>" (the core matrix leaves ``emergency:`` to the app).
COVERED: set[str] = {
    "emergency:callouts",
    "emergency:callout_new",
    "emergency:callout",
    "emergency:callout_map",
    "emergency:callout_record",
    "emergency:callout_close",
    "emergency:callout_report",
    "emergency:callout_report_xlsx",
    "emergency:answer",
}
# Written from the personas (shequ/conftest.py) and the role table (emergency/permissions.py).
VIEWERS = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}  # emergency.view
MOBILIZERS = {"head_a", "head_b", "street", "outsider"}  # emergency.mobilize
OTHERS = {"dept", "resident", "nobody", "sysadmin", "secadmin", "auditor"}
# Who is given each call-out: its region's staff and those of the regions below (a grid worker
# follows their grid's people on their community's call-out).
SEES = {"a": {"grid_a", "grid_b", "worker_a", "head_a", "street"}, "b": {"head_b", "street"}}


def test_every_call_out_route_is_in_the_matrix() -> None:
    from shequ.emergency import urls_callouts

    routes = {
        f"emergency:{p.name}" for p in urls_callouts.urlpatterns if isinstance(p, URLPattern) and p.name
    }
    assert routes == COVERED


def expected(persona: str, side: str, *, perm: set[str], region_perm: set[str] | None = None) -> int:
    """The guard (403 without the permission anywhere), then the object (404 outside the scope),
    then the permission in the object's region (403)."""
    if persona not in perm:
        return 403
    if persona not in SEES[side]:
        return 404
    if region_perm is not None and persona not in region_perm:
        return 403
    return 200


def test_the_scope_matrix_of_the_call_out_pages(town: Registry) -> None:
    calls = {
        "a": call_out(town),
        "b": call_out(
            town, actor=town.world["head_b"], targets=[{"kind": "residents", "region": COMMUNITY_B}]
        ),
    }
    li = Recipient.objects.get(mobilization=calls["a"], person_id=town.people["b"].pk)  # grid B
    wang = Recipient.objects.get(mobilization=calls["b"], person_id=town.people["c"].pk)
    people = {"a": li, "b": wang}
    # The record page also needs the person's region: grid A's worker may not answer for grid B.
    record_region = {"a": {"grid_b", "worker_a", "head_a", "street"}, "b": {"head_b", "street"}}
    wrong: list[tuple[str, str, int, int]] = []
    for persona in sorted(VIEWERS | OTHERS):
        client = client_for(town, persona)

        def expect(path: str, want: int, method: str = "get", data: Any = None) -> None:
            got = getattr(client, method)(path, data or {}).status_code
            if got != want:
                wrong.append((persona, path, got, want))

        expect("/emergency/callouts/", 200 if persona in VIEWERS else 403)
        expect(NEW, 200 if persona in MOBILIZERS else 403)
        expect(NEW, 400 if persona in MOBILIZERS else 403, "post")  # empty form: nothing sent
        for side, call in calls.items():
            base = f"/emergency/callouts/{call.pk}/"
            seen = expected(persona, side, perm=VIEWERS)
            expect(base, seen)
            expect(base + "map.geojson", seen)
            expect(base + "report/", seen)
            mobilizers = MOBILIZERS & SEES[side]
            expect(base + "report.xlsx", expected(persona, side, perm=MOBILIZERS, region_perm=mobilizers))
            record = f"{base}answer/{people[side].pk}/"
            want = expected(persona, side, perm=VIEWERS, region_perm=record_region[side])
            expect(record, want)
            expect(record, 400 if want == 200 else want, "post")  # empty form: nothing recorded
            # Closing: only those who may not close try here (403 or 404; nothing changes).
            if persona not in mobilizers:
                expect(base + "close/", expected(persona, side, perm=VIEWERS, region_perm=set()), "post")
    assert wrong == []
    assert not Recipient.objects.exclude(answer=Answer.PENDING).exists()
    assert Mobilization.objects.filter(status=MobilizationStatus.OPEN).count() == 2
    # The answer page: the token is the key, whoever holds it (signed in or not).
    token = token_of(calls["b"], town.people["c"].pk)
    assert client_for(town, "head_a").get(f"/emergency/answer/{token}/").status_code == 200
    assert Client().get(f"/emergency/answer/{token}/").status_code == 200
