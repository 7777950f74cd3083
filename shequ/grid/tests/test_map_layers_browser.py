"""The IoT layers on the grid worker's map in a real phone browser: devices and open alerts drawn,
each toggled off and on with its list, axe-clean in normal and elderly mode; screenshots kept."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.grid.tests.test_map_layers import sensed  # noqa: F401  (fixture)
from shequ.iot.models import Device
from shequ.registry.tests.test_browser_registry import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def test_grid_worker_toggles_the_device_and_alert_layers(
    phone_page: Any,
    world: World,
    sensed: dict[str, Device],  # noqa: F811
    settings: Any,
) -> None:
    settings.GRID_MAP_TILES = ""
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "grid_a")
    page.goto("/grid/map/")
    page.wait_for_selector("#map .pin-alert")
    assert page.locator("#map .pin-device").count() == 2  # grid A's two, not grid B's
    assert page.locator("#map .pin-device.pin-alert").count() == 1
    assert page.locator("#map .pin-alert.pin-critical").count() == 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "grid-map-iot-layers")
    assert axe_violations(page, ALL_IMPACTS) == []
    devices = page.locator("input[data-map-layer='iot.devices']")
    devices.uncheck()
    assert page.locator("#map .pin-device").count() == 0
    assert page.locator("#map-layer-iot-devices").is_hidden()
    assert page.locator("#map .pin-alert.pin-critical").count() == 1  # the alerts stay
    devices.check()
    assert page.locator("#map .pin-device").count() == 2
    page.locator("#map .pin-alert.pin-critical").focus()
    page.keyboard.press("Enter")
    page.locator(".leaflet-popup-content").wait_for()
    assert "打开告警" in page.locator(".leaflet-popup-content").inner_text()
    toggle_elderly(page)
    page.goto("/grid/map/")
    page.wait_for_selector("#map .pin-alert")
    screenshot(page, "grid-map-iot-layers-elderly")
    assert axe_violations(page, ALL_IMPACTS) == []
    assert errors == []
