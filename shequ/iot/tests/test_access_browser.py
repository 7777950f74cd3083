"""The resident's pass pages and the guard's gate check on a 390×844 phone: one h1, no horizontal
scrolling, no serious axe-core violation, also in elderly mode; the flow works by hand."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
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
    toggle_elderly(page)  # elderly mode
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


def test_staff_access_pages_on_a_phone(phone_page: Any, estate: Estate, tmp_path: Any) -> None:
    from shequ.iot import services
    from shequ.iot.ingest import Pipeline
    from shequ.iot.tests.conftest import message
    from shequ.iot.tests.test_device_import import good_rows, workbook

    page = phone_page
    person = estate.reg.people["a"]
    services.credential_register(actor=None, person=person, kind="plate", value="湘A12345")
    Pipeline().process(
        [
            message(
                estate.gates["a"],
                "event",
                "u1",
                type="enter",
                credential={"kind": "plate", "value": "湘B99999"},
            )
        ]
    )
    sign_in(page, "worker_a")
    page.goto(f"/iot/access/people/{person.pk}/credentials/")
    check(page, "credentials")
    page.select_option("#id_kind", "card")
    page.fill("#id_value", "12")
    page.click("main form.card button[type=submit]")
    page.wait_for_load_state()
    assert "4 到 20 位数字" in page.locator("main").inner_text()
    check(page, "credentials-error")
    page.goto("/iot/access/plates/")
    check(page, "plates")
    page.goto("/iot/devices/import/")
    check(page, "device-import")
    file = tmp_path / "设备.xlsx"
    rows = good_rows(estate)
    rows[2][2] = "冰箱"  # one bad row
    file.write_bytes(workbook(rows))
    page.set_input_files("#id_file", str(file))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_url("**/iot/devices/import/*/")
    check(page, "device-import-report")
    # The street officer signs in with a second factor: the browser takes a session made here.
    from django.conf import settings
    from django.test import Client

    session = Client()
    session.force_login(estate.world["street"])
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": page.url.split("/iot/")[0],
            }
        ]
    )
    page.goto("/iot/feeds/new/")
    check(page, "feed-new")
    page.fill("#id_name", "岳麓派出所门禁数据")
    page.select_option("#id_department", label="岳麓派出所")
    page.select_option("#id_client", index=1)
    page.check("#id_regions_0")
    page.check("#id_mode_0")
    page.fill("#id_url", "https://police.example/hook")
    page.fill("#id_authorization", "依据岳公函〔2026〕12号")
    page.click("main form.card button[type=submit]")
    page.wait_for_load_state()
    check(page, "feed-created")
    page.click("main a.button")
    page.wait_for_load_state()
    check(page, "feed-detail")
