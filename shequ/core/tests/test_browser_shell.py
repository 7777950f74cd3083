"""The page shell in a real browser: phone layout, accessibility (axe-core), elderly mode."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def test_login_page_is_chinese_accessible_and_fits_a_phone(phone_page: Any) -> None:
    phone_page.goto("/login/")
    assert phone_page.locator("html").get_attribute("lang") == "zh-Hans"
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "login")
    assert axe_violations(phone_page) == []


def test_home_for_community_head_accessible_in_both_modes(phone_page: Any, world: World) -> None:
    sign_in(phone_page, "head_a")
    assert "枇杷塘社区" in phone_page.content()
    assert axe_violations(phone_page) == []
    screenshot(phone_page, "home-head")
    base_size = phone_page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    toggle_elderly(phone_page)
    elderly_size = phone_page.evaluate(
        "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"
    )
    assert elderly_size > base_size
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert axe_violations(phone_page) == []
    screenshot(phone_page, "home-head-elderly")


def test_home_for_a_volunteer_says_what_the_role_is_for(phone_page: Any, world: World) -> None:
    from shequ.core.tests.test_smoke import volunteer

    volunteer(world)
    sign_in(phone_page, "volunteer")
    card = phone_page.locator("section[aria-labelledby=volunteer-heading]")
    assert "社区志愿服务" in card.inner_text() and "即将推出" in card.inner_text()
    box = card.bounding_box()
    assert box is not None and box["y"] < 844  # on the first screen, not below an empty page
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "home-volunteer")
    assert axe_violations(phone_page) == []
