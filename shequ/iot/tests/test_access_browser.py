"""The resident's pass pages and the guard's gate check on a 390×844 phone: one h1, no horizontal
scrolling, no serious axe-core violation, also in elderly mode; the flow works by hand."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import PASSWORD
from shequ.iot.models import PassCheck, VisitorPass
from shequ.iot.tests.access_world import Estate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"iot-{name}")
    assert axe_violations(page) == [], name


def test_pass_and_gate_check_on_a_phone(phone_page: Any, estate: Estate) -> None:
    page = phone_page
    sign_in(page, "resident")
    page.goto("/iot/passes/")
    check(page, "passes")
    page.fill("#id_visitor_name", "钱七")
    page.fill("#id_plate", "湘A12345")
    page.fill("#id_max_uses", "1")
    page.click("main form.pass-form button[type=submit]")
    page.wait_for_url("**/iot/passes/*/")
    vp = VisitorPass.objects.get()
    check(page, "pass-detail")
    assert page.locator(".pass-code").inner_text() == vp.code
    assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 0
    page.click("button.tool[aria-pressed]")  # elderly mode
    page.wait_for_load_state()
    check(page, "pass-detail-elderly")

    sign_in(page, "grid_a")
    page.goto(f"/iot/gate/?code={vp.code}")  # what the guard's phone opens from the QR code
    check(page, "gate")
    assert page.input_value("#id_code") == vp.code
    page.click("main form.gate-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".verdict-ok .verdict-word").inner_text() == "放行"
    check(page, "gate-allowed")
    page.fill("#id_code", vp.code)
    page.click("main form.gate-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".verdict-bad .verdict-reason").inner_text() == "次数已用完"
    check(page, "gate-refused")
    assert list(PassCheck.objects.order_by("pk").values_list("allowed", flat=True)) == [True, False]
