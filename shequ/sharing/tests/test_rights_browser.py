"""Residents' rights on a phone (390×844, zh-CN) in a real browser: the resident opens 我的个人信息
from the menu, reads which department used their data and why, asks for a correction (a first try
without the value shows the error), then reads the answer in elderly mode; staff see the queue and
the request. axe-core finds nothing serious, every page fits the phone (screenshots in
var/screenshots/sharing-rights-*.png)."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.registry.models import Person
from shequ.registry.tests import conftest as registry_fixtures
from shequ.sharing.models import RightsRequest
from shequ.sharing.services import rights as services
from shequ.sharing.tests import rights_fixtures
from shequ.sharing.tests.rights_fixtures import Rights

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
reg = registry_fixtures.reg
_fast_password_hasher = registry_fixtures._fast_password_hasher
rights = rights_fixtures.rights


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"sharing-rights-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


def test_my_personal_information_on_a_phone(rights: Rights, phone_page: Any) -> None:
    rights.call([rights.person, rights.neighbour])
    page = phone_page
    sign_in(page, "resident")
    page.goto("/me/")
    page.click("main a[href='/sharing/rights/']")
    page.wait_for_url("**/sharing/rights/")
    main = page.inner_text("main")
    assert "核查低保家庭人口" in main and "社会救助暂行办法" in main and "还没有工作人员" in main
    check(page, "mine")

    page.click("a[href='/sharing/rights/new/correction/']")
    page.wait_for_url("**/new/correction/")
    page.select_option("#id_item", "occupation")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "必填" in page.inner_text("main") and RightsRequest.objects.count() == 0
    check(page, "new-error")
    page.fill("#id_value", "护士")
    page.fill("#id_detail", "我去年已经换了工作。")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "请求已提交" in page.inner_text("main")
    check(page, "sent")
    made = RightsRequest.objects.get()

    # Staff: the queue and the request.
    sign_in(page, "worker_a")
    page.goto("/sharing/rights/staff/")
    assert "王*明" in page.inner_text("main")
    check(page, "queue")
    page.goto(f"/sharing/rights/staff/{made.pk}/")
    check(page, "staff-detail")
    page.fill("#id_correct-reason", "已与本人工作证核对。")
    with page.expect_navigation():
        page.click("button[name=action][value=correct]")
    assert Person.objects.get(pk=rights.person.pk).occupation == "护士"

    # The resident reads the answer in elderly mode.
    sign_in(page, "resident")
    page.goto(f"/sharing/rights/{made.pk}/")
    assert toggle_elderly(page)
    assert "已与本人工作证核对" in page.inner_text("main")
    check(page, "answer-elderly")
    page.goto("/sharing/rights/")
    check(page, "mine-elderly")
    services.request_submit(actor=rights["resident"], kind="copy")
    page.goto("/sharing/rights/new/deletion/")
    check(page, "new-deletion-elderly")
