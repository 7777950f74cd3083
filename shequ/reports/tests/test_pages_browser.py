"""The report pages on a phone (390×844, zh-CN) in a real browser: the community worker opens the
month's report from the index, types a wrong and then a right manual value, follows a number to
the records behind it, submits after the confirmation; the street (second factor) reviews and
returns it with a reason; the worker sees the reason first and the history. Every page: one h1, fits
the phone, axe-core finds nothing serious, in normal and elderly mode (screenshots in
var/screenshots/reports-*.png)."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.reports.models import InstanceStatus
from shequ.reports.tests.fixtures_pages import Rep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    """One h1, fits the phone, no serious axe violation; screenshot."""
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"reports-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str, totp_secret: str = "") -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    if totp_secret:  # staff above the community sign in with a second factor
        import pyotp

        page.wait_for_url("**/login/second-factor/")
        page.fill("#id_code", pyotp.TOTP(totp_secret).now())
        page.click("main form[action='/login/second-factor/'] button[type=submit]")
    page.wait_for_url("**/")


def test_fill_submit_return_on_a_phone(rep: Rep, phone_page: Any) -> None:
    from shequ.core.auth import totp_enrol_directly

    page = phone_page
    a, street = rep.a, rep.street

    # The worker: the index, the report, a wrong value then the right one.
    sign_in(page, "worker_a")
    page.goto("/reports/")
    main = page.inner_text("main")
    assert "人口基本情况统计表" in main and "枇杷塘社区" in main and "泽盛社区" not in main
    check(page, "index")
    page.click(f"main a[href='/reports/{a.pk}/']")
    page.wait_for_url(f"**/reports/{a.pk}/")
    check(page, "instance")
    page.fill("#id_staff", "十二")
    with page.expect_navigation():
        page.click("section.rp-manual-form button[type=submit]")
    assert "请输入整数" in page.inner_text(".error-summary") or "整数" in page.inner_text(".error-summary")
    check(page, "instance-error")
    page.fill("#id_staff", "12")
    with page.expect_navigation():
        page.click("section.rp-manual-form button[type=submit]")
    assert "已保存" in page.inner_text(".flash")

    # Where does 3 come from: the three residents.
    page.click(f"a[href='/reports/{a.pk}/cell/residents:total/']:visible")
    page.wait_for_url("**/cell/**")
    assert "3条记录" in page.inner_text("main").replace(" ", "")
    check(page, "drilldown")
    page.go_back()

    # Submit, after the confirmation.
    page.click(f"a[href='/reports/{a.pk}/submit/']")
    page.wait_for_url("**/submit/")
    check(page, "submit")
    with page.expect_navigation():
        page.click("form.rp-actions button[type=submit]")
    a.refresh_from_db()
    assert a.status == InstanceStatus.SUBMITTED and a.manual == {"staff": 12}
    assert "已上报待审核" in page.inner_text("main")

    # The street reviews and returns it with a reason.
    sign_in(page, "street", totp_enrol_directly(rep["street"]))
    page.goto(f"/reports/{street.pk}/review/")
    main = page.inner_text("main")
    assert "枇杷塘社区" in main and "泽盛社区" in main
    check(page, "review")
    page.click(f"a[href='/reports/{a.pk}/return/']")
    page.wait_for_url("**/return/")
    with page.expect_navigation():
        page.click("section[aria-labelledby=return-heading] button[type=submit]")
    assert "请填写退回原因" in page.inner_text("main")
    page.fill("#id_reason", "社区工作者人数与花名册不符，请核实")
    check(page, "return")
    with page.expect_navigation():
        page.click("section[aria-labelledby=return-heading] button[type=submit]")
    a.refresh_from_db()
    assert a.status == InstanceStatus.RETURNED

    # The worker sees why first, and the history.
    sign_in(page, "worker_a")
    page.goto(f"/reports/{a.pk}/")
    assert "社区工作者人数与花名册不符" in page.inner_text("section.rp-returned")
    check(page, "returned")
    page.goto(f"/reports/{a.pk}/history/")
    assert "社区工作者人数与花名册不符" in page.inner_text("main")
    check(page, "history")
    page.click(f"a[href='/reports/{a.pk}/history/1/']")
    page.wait_for_url("**/history/1/")
    check(page, "snapshot")

    # Elderly mode on the same pages.
    page.goto(f"/reports/{a.pk}/")
    assert toggle_elderly(page)
    check(page, "returned-elderly")
    for path, name in (
        ("/reports/", "index-elderly"),
        (f"/reports/{a.pk}/cell/residents:female/", "drilldown-elderly"),
        (f"/reports/{a.pk}/history/", "history-elderly"),
    ):
        page.goto(path)
        check(page, name)
    sign_in(page, "street", totp_enrol_directly(rep["street"]))
    page.goto(f"/reports/{street.pk}/review/")
    assert toggle_elderly(page)
    check(page, "review-elderly")


def test_templates_on_a_phone(rep: Rep, phone_page: Any) -> None:
    from shequ.core.auth import totp_enrol_directly

    page = phone_page
    sign_in(page, "province", totp_enrol_directly(rep.province))
    page.goto("/reports/templates/")
    check(page, "templates")
    page.goto("/reports/templates/test_population/v1/")
    assert "社区工作者人数" in page.inner_text("main")
    check(page, "template")
    assert toggle_elderly(page)
    check(page, "template-elderly")
