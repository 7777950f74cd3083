"""Home-care pages: the list with each week's progress, a new plan for a registry person (masked
facts, refusal of someone too young), one plan with the quick record form, ending it, the grid
worker's visits; the scope matrix (sibling grid, sibling community, another street: 404; a
volunteer records but neither starts nor ends plans: 403; residents: 403); bad input changes
nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.browser import toggle_elderly
from shequ.conftest import PASSWORD
from shequ.core import accounts
from shequ.core.models import Role, User
from shequ.govservice.models import CareOutcome, CarePlan, CareRecord, CareService
from shequ.govservice.services import care
from shequ.govservice.tests.conftest import COMMUNITY_A, Gov
from shequ.registry import prefill
from shequ.registry.services import visits

pytestmark = pytest.mark.django_db

COVERED = {"govservice:care_plans", "govservice:care_plan_new", "govservice:care_plan"}
SIBLINGS = ("grid_b", "head_b", "outsider")


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def volunteer(gov: Gov) -> User:
    user = accounts.user_create(
        actor=None, username="vol", display_name="志愿者小何", password=PASSWORD, phone="13877776666"
    )
    # Volunteers belong to a community (or a street), not a grid.
    accounts.membership_grant(
        actor=None, user=user, role=Role.VOLUNTEER, region=gov.world.regions[COMMUNITY_A]
    )
    return user


def plan_of(gov: Gov, **extra: Any) -> CarePlan:
    data: dict[str, Any] = {
        "actor": gov["worker_a"],
        "facts": prefill.facts_of(gov.elder),
        "services": [CareService.MEALS, CareService.VISIT],
        "visits_per_week": 3,
        "provider": "枇杷塘长者食堂",
    }
    data.update(extra)
    return care.care_plan_start(**data)


def test_the_list_shows_each_weeks_progress_and_the_registry_link(gov: Gov) -> None:
    plan = plan_of(gov)
    for outcome in (CareOutcome.DONE, CareOutcome.ABSENT, CareOutcome.DONE):
        care.care_record_add(actor=gov["grid_a"], plan=plan, service=CareService.MEALS, outcome=outcome)
    old = CareRecord.objects.order_by("pk").first()
    assert old is not None
    CareRecord.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=9))
    page = text(as_user(gov["worker_a"]).get(reverse("govservice:care_plans")))
    assert "刘奶奶" in page and "本周已服务 1/3 次" in page and "落后" in page
    assert reverse("registry:person", args=[gov.elder.pk]) in page
    assert reverse("govservice:care_plan_new") in page
    # A grid worker sees the plan of their grid, starts none.
    grid = text(as_user(gov["grid_a"]).get(reverse("govservice:care_plans")))
    assert "刘奶奶" in grid and reverse("govservice:care_plan_new") not in grid
    # Ended plans are a filter of their own.
    care.care_plan_end(actor=gov["worker_a"], plan=plan, reason="搬去女儿家")
    assert "刘奶奶" not in text(as_user(gov["worker_a"]).get(reverse("govservice:care_plans")))
    ended = text(as_user(gov["worker_a"]).get(reverse("govservice:care_plans") + "?state=ended"))
    assert "刘奶奶" in ended and "已结束" in ended


def test_a_worker_starts_a_plan_from_the_registry(gov: Gov) -> None:
    client = as_user(gov["worker_a"])
    url = reverse("govservice:care_plan_new")
    page = text(client.get(url))
    assert "刘奶奶" in page and "陈晨" not in page  # only the care population is offered
    assert gov.elder.id_number not in page
    found = text(client.post(url, {"id_number": gov.elder.id_number}))
    assert f"?person={gov.elder.pk}" in found and gov.elder.id_number not in found
    form = text(client.get(url, {"person": gov.elder.pk}))
    assert "二级" in form and gov.elder.masked_id_number in form and gov.elder.id_number not in form
    assert 'type="checkbox"' in form
    # Bad input: no service chosen; nothing is started.
    bad = client.post(url, {"person": gov.elder.pk, "visits_per_week": 3})
    assert bad.status_code == 400 and "error-summary" in text(bad)
    assert not CarePlan.objects.exists()
    response = client.post(
        url,
        {
            "person": gov.elder.pk,
            "services": ["meals", "visit"],
            "visits_per_week": 5,
            "provider": "长者食堂",
        },
    )
    plan = CarePlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "govservice:care_plan", args=[plan.pk]
    )
    assert (plan.person_id, plan.services, plan.visits_per_week) == (gov.elder.pk, ["meals", "visit"], 5)
    # A second plan for her is refused with a clear message.
    again = client.post(url, {"person": gov.elder.pk, "services": ["meals"], "visits_per_week": 1})
    assert again.status_code == 400 and "已有居家养老服务计划" in text(again)
    assert CarePlan.objects.count() == 1


def test_a_resident_too_young_is_refused_clearly(gov: Gov) -> None:
    client = as_user(gov["worker_a"])
    url = reverse("govservice:care_plan_new")
    page = text(client.get(url, {"person": gov.young.pk}))
    assert "60" in page
    response = client.post(url, {"person": gov.young.pk, "services": ["visit"], "visits_per_week": 1})
    assert response.status_code == 400 and "60" in text(response)
    assert not CarePlan.objects.exists()


def test_recording_at_the_door_and_a_concern(gov: Gov) -> None:
    plan = plan_of(gov)
    client = as_user(gov["grid_a"])
    url = reverse("govservice:care_plan", args=[plan.pk])
    page = text(client.get(url))
    assert page.count('type="radio"') == 5  # two services, three outcomes
    assert reverse("registry:person", args=[gov.elder.pk]) in page
    ok = client.post(url, {"action": "record", "service": "meals", "outcome": "done"})
    assert ok.status_code == 302 and plan.records.count() == 1
    # A concern needs a note: refused, nothing recorded.
    bad = client.post(url, {"action": "record", "service": "meals", "outcome": "concern"})
    assert bad.status_code == 400 and plan.records.count() == 1
    # A service the plan does not have: refused by the form.
    bad = client.post(url, {"action": "record", "service": "bathing", "outcome": "done"})
    assert bad.status_code == 400 and plan.records.count() == 1
    response = client.post(
        url, {"action": "record", "service": "visit", "outcome": "concern", "note": "老人说胸口闷"}
    )
    assert response.status_code == 302 and plan.records.count() == 2
    page = text(client.get(url))
    assert "老人说胸口闷" in page and "本周已服务 2/3 次" in page
    assert "本周发现异常" in text(client.get(reverse("govservice:care_plans")))
    # A grid worker does not end plans.
    assert 'value="end"' not in page
    assert client.post(url, {"action": "end", "reason": "x"}).status_code == 403
    assert CarePlan.objects.get().active


def test_the_grid_workers_visits_show_on_the_plan(gov: Gov) -> None:
    plan = plan_of(gov)
    visits.visit_record(actor=gov["grid_a"], person=gov.elder, purpose="care", findings="腿脚不便，需要助浴")
    url = reverse("govservice:care_plan", args=[plan.pk])
    page = text(as_user(gov["worker_a"]).get(url))
    assert "腿脚不便" in page
    # A volunteer may not see people's registry records: no visits, no registry link.
    page = text(as_user(volunteer(gov)).get(url))
    assert "腿脚不便" not in page and reverse("registry:person", args=[gov.elder.pk]) not in page


def test_ending_a_plan(gov: Gov) -> None:
    plan = plan_of(gov)
    client = as_user(gov["worker_a"])
    url = reverse("govservice:care_plan", args=[plan.pk])
    bad = client.post(url, {"action": "end", "reason": ""})
    assert bad.status_code == 400 and CarePlan.objects.get().active
    response = client.post(url, {"action": "end", "reason": "入住养老院"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert not plan.active and "入住养老院" in plan.note
    page = text(client.get(url))
    assert "已结束" in page and 'value="record"' not in page
    # Recording on an ended plan is refused, nothing changes.
    refused = client.post(url, {"action": "record", "service": "meals", "outcome": "done"})
    assert refused.status_code == 400 and not plan.records.exists()


def test_scope_matrix(gov: Gov) -> None:
    plan = plan_of(gov)
    url = reverse("govservice:care_plan", args=[plan.pk])
    record = {"action": "record", "service": "meals", "outcome": "done"}
    for persona in SIBLINGS:
        client = as_user(gov[persona])
        assert client.get(url).status_code == 404, persona
        assert client.post(url, record).status_code == 404, persona
        assert client.post(url, {"action": "end", "reason": "x"}).status_code == 404, persona
        assert "刘奶奶" not in text(client.get(reverse("govservice:care_plans"))), persona
    # head_b may start plans, but not for a person of community A (404), nor sees her in the list.
    head_b = as_user(gov["head_b"])
    assert head_b.get(reverse("govservice:care_plan_new"), {"person": gov.elder.pk}).status_code == 404
    assert (
        head_b.post(
            reverse("govservice:care_plan_new"),
            {"person": gov.elder.pk, "services": ["meals"], "visits_per_week": 1},
        ).status_code
        == 404
    )
    assert "刘奶奶" not in text(head_b.get(reverse("govservice:care_plan_new")))
    assert not CarePlan.objects.exclude(pk=plan.pk).exists()
    # Residents and people without a role: 403 everywhere.
    for persona in ("resident", "nobody"):
        client = as_user(gov[persona])
        for name in ("govservice:care_plans", "govservice:care_plan_new"):
            assert client.get(reverse(name)).status_code == 403, (persona, name)
        assert client.get(url).status_code == 403
        assert client.post(url, record).status_code == 403
    # A volunteer of grid A records, but neither starts nor ends plans.
    vol = as_user(volunteer(gov))
    assert vol.get(url).status_code == 200
    assert vol.post(url, record).status_code == 302 and plan.records.count() == 1
    assert vol.get(reverse("govservice:care_plan_new")).status_code == 403
    assert vol.post(reverse("govservice:care_plan_new"), {"person": gov.elder.pk}).status_code == 403
    assert vol.post(url, {"action": "end", "reason": "x"}).status_code == 403
    assert 'value="end"' not in text(vol.get(url))
    assert CarePlan.objects.get().active and plan.records.count() == 1
    # Garbage ids: 404.
    assert as_user(gov["worker_a"]).get("/govservice/care/999999/").status_code == 404
    # The street's officer sees the plans of the street's communities.
    assert as_user(gov["street"]).get(url).status_code == 200


def test_anonymous_is_sent_to_login(gov: Gov) -> None:
    plan = plan_of(gov)
    for url in (
        reverse("govservice:care_plans"),
        reverse("govservice:care_plan_new"),
        reverse("govservice:care_plan", args=[plan.pk]),
    ):
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- On a phone ---------------------------------------------------------------------------------


def sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    from shequ.browser import PHONE, axe_violations, screenshot

    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"govservice-care-{name}")
    assert axe_violations(page) == [], name


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_care_pages_on_a_phone(phone_page: Any, gov: Gov) -> None:
    """A worker starts a plan, the grid worker records a meal at the door with the big buttons
    (one h1, no sideways scrolling, axe-core clean, also in elderly mode)."""
    page = phone_page
    sign_in(page, "worker_a")
    page.goto("/govservice/care/new/")
    check(page, "new")
    page.fill("#id_q", "刘")
    page.click("main form button[type=submit]")
    page.click("text=刘奶奶")
    page.wait_for_url("**/govservice/care/new/?person=*")
    check(page, "new-person")
    page.click("main form button[type=submit]")  # nothing chosen: a clear error
    page.wait_for_load_state()
    assert "请至少选择一项服务" in page.inner_text("main") or "必填" in page.inner_text("main")
    check(page, "new-error")
    page.check("text=助餐送餐")
    page.check("text=上门探访")
    page.fill("#id_visits_per_week", "3")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/govservice/care/*/")
    plan = CarePlan.objects.get()
    sign_in(page, "grid_a")
    page.goto(f"/govservice/care/{plan.pk}/")
    check(page, "detail")
    page.click("label:has-text('助餐送餐')")
    page.click("label:has-text('已服务，但发现异常')")
    page.fill("#id_note", "老人说头晕")
    page.click("form.care-record button[type=submit]")
    page.wait_for_url(f"**/govservice/care/{plan.pk}/")
    assert "老人说头晕" in page.inner_text("main")
    assert CareRecord.objects.get().outcome == CareOutcome.CONCERN
    page.goto("/govservice/care/")
    check(page, "list")
    toggle_elderly(page)  # elderly mode
    page.goto(f"/govservice/care/{plan.pk}/")
    check(page, "detail-elderly")
