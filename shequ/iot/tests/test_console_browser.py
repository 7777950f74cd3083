"""The IoT console in a real browser on a phone (390×844, zh-Hans): the device list, the device
map, a device's page, the alert console (refreshed by htmx), an alert's page with its steps and a
house's door activity. Each fits the phone and axe-core finds no serious or critical violation, in
the normal and the elderly mode. Screenshots: var/screenshots/iot-console-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.iot import views_alerts
from shequ.iot.ingest import Message, Pipeline
from shequ.iot.tests.console_fixtures import Console, console  # noqa: F401  (fixture)
from shequ.registry.tests.test_browser_registry import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"iot-console-{name}")
    assert axe_violations(page) == [], (name, axe_violations(page))


def elderly(page: Any) -> None:
    toggle_elderly(page)


def test_console_on_a_phone(
    phone_page: Any,
    console: Console,  # noqa: F811
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.GRID_MAP_TILES = ""
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    smoke = console.devices["smoke-1"]
    Pipeline().process(  # two refused messages for the dead-letter page
        [
            Message(
                f"shequ/{smoke.region_code}/smoke/{smoke.code}/event",
                b'{"v": 1, "id": "x", "ts": 1, "face": "..."}',
            ),
            Message(f"shequ/{smoke.region_code}/smoke/{smoke.code}/event", b"<b>not json</b>" * 40),
        ]
    )
    sign_in(page, "head_a")
    for mode in ("", "-elderly"):
        page.goto("/iot/devices/")
        assert "在线" in page.locator("ul.counts").inner_text()
        assert page.locator(".device-list li").count() == 7
        check(page, f"devices{mode}")
        page.goto("/iot/alerts/")
        rows = page.locator(".alert-list li")
        assert rows.count() == 2
        assert "烟感报警" in rows.first.inner_text()  # critical first
        check(page, f"alerts{mode}")
        page.goto(f"/iot/alerts/{console.alerts['a'].pk}/")
        page.click("#step-clear summary")
        check(page, f"alert{mode}")
        page.goto(f"/iot/devices/{console.devices['gas-1'].pk}/")
        assert "燃气浓度" in page.locator(".values").inner_text()
        check(page, f"device{mode}")
        page.goto(f"/iot/houses/{console.houses['a'].pk}/")
        assert page.locator(".day-strips li").count() == 7
        check(page, f"house{mode}")
        for name, url in [
            ("rules", "/iot/rules/"),
            ("rule-new", "/iot/rules/new/"),
            ("device-new", "/iot/devices/new/"),
            ("dead-letters", "/iot/dead-letters/"),
        ]:
            page.goto(url)
            check(page, f"{name}{mode}")
        page.goto("/iot/map/")
        page.wait_for_selector("#map .pin-device")
        assert page.locator("#map .pin-device.pin-alert").count() == 1
        check(page, f"map{mode}")
        if not mode:
            elderly(page)
    # The console's list is fetched again by htmx (its fragment, not the whole page).
    monkeypatch.setattr(views_alerts, "REFRESH_SECONDS", 2)
    page.goto("/iot/alerts/")
    with page.expect_response(
        lambda r: "/iot/alerts/" in r.url and bool(r.request.headers.get("hx-request"))
    ) as got:
        pass
    assert "<html" not in got.value.text()
    assert page.locator(".alert-list li").count() == 2
    assert errors == []
