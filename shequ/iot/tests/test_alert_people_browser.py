"""A welfare check's alert page and the house's door activity on a phone: the living-alone resident
named (phone masked), axe-clean in normal and elderly mode; screenshots kept for a look."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.iot.tests.console_fixtures import Console, console  # noqa: F401  (fixture)
from shequ.iot.tests.test_console_pages import _welfare_alert
from shequ.registry.tests.test_browser_registry import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_welfare_alert_names_the_resident_on_a_phone(
    phone_page: Any,
    world: World,
    console: Console,  # noqa: F811
) -> None:
    alert = _welfare_alert(world, console)
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "grid_a")
    for mode in ("", "-elderly"):
        for url, name in (
            (f"/iot/alerts/{alert.pk}/", "alert"),
            (f"/iot/houses/{console.houses['a'].pk}/", "house"),
        ):
            page.goto(url)
            residents = page.locator("#residents-heading + p + ul").inner_text()
            assert "张奶奶" in residents and "王租客" not in residents
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
            screenshot(page, f"iot-welfare-{name}{mode}")
            assert axe_violations(page) == [], (name, mode)
        if not mode:
            toggle_elderly(page)
    assert errors == []
