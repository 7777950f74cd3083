"""The grid worker's map on a phone, with no tile server: the grid's boundary and buildings are
drawn, a building is reached with the keyboard, its popup links to the building page, which lists
its houses; axe-core finds nothing in normal and elderly mode."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.registry.tests.conftest import Registry
from shequ.registry.tests.test_browser_registry import sign_in
from shequ.registry.tests.test_maps import mapped  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"registry-{name}")
    assert axe_violations(page, ("minor", "moderate", "serious", "critical")) == [], name


def test_grid_worker_opens_a_building_from_the_map(phone_page: Any, mapped: Registry, settings: Any) -> None:  # noqa: F811
    settings.GRID_MAP_TILES = ""
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, "grid_a")
    page.goto("/registry/map/")
    page.wait_for_selector("#map.leaflet-container path.map-region")
    building = page.locator(".leaflet-marker-icon.pin-building")
    assert building.count() == 1
    assert page.locator("#map-status").inner_text() == "地图已绘制完成。"
    assert page.locator(".leaflet-tile").count() == 0  # vector layers only, no tile requested
    check(page, "map")

    # By keyboard: the mark takes the focus, Enter opens its popup with the building's link.
    building.focus()
    page.keyboard.press("Enter")
    link = page.locator(".leaflet-popup-content a")
    link.wait_for()
    assert "打开楼栋" in link.inner_text()
    link.click()
    page.wait_for_url(f"**/registry/buildings/{mapped.buildings['a'].pk}/")
    content = page.content()
    for house in mapped.houses["a"]:
        assert house.number in content
    assert errors == []

    page.goto("/registry/map/")
    toggle_elderly(page)
    page.goto("/registry/map/")
    page.wait_for_selector("#map.leaflet-container .pin-building")
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    check(page, "map-elderly")
