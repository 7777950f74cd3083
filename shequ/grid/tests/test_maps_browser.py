"""Maps in a real browser on a phone with no tile server: the community's ticket map by deadline
state, the street's heat map (a table repeats it), the officer's statistics choropleth, and the
report page's map pin drawn on the grid's boundary. axe-core finds nothing in normal and elderly
mode; screenshots are kept for a look."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.grid.models import Ticket
from shequ.grid.tests.test_maps import mapped  # noqa: F401  (fixture)
from shequ.registry.tests.test_browser_registry import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"grid-{name}")
    assert axe_violations(page, ALL_IMPACTS) == [], name


def elderly(page: Any) -> None:
    toggle_elderly(page)


def test_community_ticket_map_and_elderly_mode(
    phone_page: Any,
    world: World,
    mapped: dict[str, Ticket],  # noqa: F811
    settings: Any,
) -> None:
    settings.GRID_MAP_TILES = ""
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "head_a")
    page.goto("/grid/map/")
    page.wait_for_selector("#map .pin-ticket")
    assert page.locator("#map .pin-ticket").count() == 3
    assert page.locator("#map .pin-ticket.pin-red").count() == 1
    assert page.locator("#map .pin-ticket.is-outside").count() == 1
    assert page.locator(".leaflet-tile").count() == 0
    check(page, "map-community")
    page.locator("#map .pin-ticket.pin-red").focus()
    page.keyboard.press("Enter")
    page.locator(".leaflet-popup-content").wait_for()
    assert "已超期" in page.locator(".leaflet-popup-content").inner_text()
    elderly(page)
    page.goto("/grid/map/")
    page.wait_for_selector("#map .pin-ticket")
    check(page, "map-community-elderly")
    assert errors == []


def test_officer_opens_the_statistics_map(
    phone_page: Any,
    world: World,
    mapped: dict[str, Ticket],  # noqa: F811
) -> None:
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, "head_a")
    page.goto("/grid/stats/")
    page.wait_for_selector("[data-chart='regionmap'] svg path")
    assert page.locator("[data-chart='regionmap'] svg path").count() >= 2  # grid A and grid B
    table = page.locator("#region-heading ~ .table-wrap table").inner_text()
    assert "第一网格" in table and "第二网格" in table
    screenshot(page, "grid-stats-map")
    assert axe_violations(page) == []
    assert errors == []
    # The heat map of the community's grids, as the street sees it, is the same page one level up.
    page.goto("/grid/map/?region=430104002001001")
    page.wait_for_selector("#map .pin-ticket")


def test_report_map_pin_without_a_tile_server(
    phone_page: Any,
    world: World,
    mapped: dict[str, Ticket],  # noqa: F811
    settings: Any,
) -> None:
    settings.GRID_MAP_TILES = ""
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    if page.locator("input[type=radio][name=place]").count():
        page.check("input[name=place][value=elsewhere]")
    box = page.locator("#report-map.leaflet-container")
    box.wait_for()
    assert page.locator("#report-map path.map-region").count() == 1
    box.scroll_into_view_if_needed()
    box.click()
    assert page.input_value("#id_latitude") and page.input_value("#id_longitude")
    assert page.locator("#point-status").inner_text() == "已在地图上选点。"
    page.locator("#elsewhere").screenshot(
        path=str(screenshot(page, "grid-report-map").with_name("grid-report-map-box.png"))
    )
    assert axe_violations(page, ALL_IMPACTS) == []
