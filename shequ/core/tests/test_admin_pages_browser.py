"""The administration pages in a real browser: they fit a phone and axe-core finds no serious or
critical violations (with and without form errors)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shequ.browser import axe_violations, screenshot
from shequ.conftest import World
from shequ.core import audit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_as(page: Any, live_server: Any, user: Any, path: str) -> None:
    """Sign in by session cookie: these tests are about the pages, the sign-in flow has its own."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(path)


@pytest.mark.parametrize(
    ("persona", "path", "name"),
    [
        ("sysadmin", "/admin/accounts/", "admin-accounts"),
        ("secadmin", "/admin/memberships/", "admin-roles"),
        ("auditor", "/admin/audit/?action=membership", "admin-audit"),
    ],
)
def test_admin_pages_fit_a_phone_and_pass_axe(
    phone_page: Any, live_server: Any, world: World, persona: str, path: str, name: str
) -> None:
    audit.record(
        "personal.reveal",
        actor=world["head_a"],
        region_code="430104002001",
        fields=["phone"],
        reason="回访核实",
    )
    open_as(phone_page, live_server, world[persona], path)
    assert phone_page.locator("h1").count() == 1
    screenshot(phone_page, name)
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert axe_violations(phone_page) == []
    # With errors shown: submit the page's main form empty.
    if persona != "auditor":
        phone_page.click("main form.narrow button[type=submit]")
        phone_page.wait_for_load_state()
        assert phone_page.locator("[aria-invalid=true]").count() > 0
        screenshot(phone_page, f"{name}-errors")
        assert axe_violations(phone_page) == []
