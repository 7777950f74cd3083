"""The inbox on a phone: one row per ticket with its count, finished tickets marked, accessible."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import axe_violations, screenshot
from shequ.conftest import World
from shequ.core import outbox
from shequ.core.tests.test_browser_shell import sign_in
from shequ.grid.models import Status
from shequ.grid.tests.test_workflow import advance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def test_inbox_threads_on_a_phone_are_accessible(phone_page: Any, world: World) -> None:
    open_one = advance(world, Status.DISPATCHED)
    closed = advance(world, Status.CLOSED)
    outbox.run_pending()
    sign_in(phone_page, "resident")
    phone_page.goto("/inbox/")
    rows = phone_page.locator("ul.inbox > li")
    assert rows.count() == 2
    assert (
        closed.number in rows.nth(0).inner_text() and "已关闭" in rows.nth(0).locator(".tag.ok").inner_text()
    )
    assert "共 4 条" in rows.nth(0).inner_text()
    assert open_one.number in rows.nth(1).inner_text()
    assert rows.nth(1).locator(".tag.ok").count() == 0
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "inbox-threads")
    assert axe_violations(phone_page, ALL_IMPACTS) == []

    rows.nth(0).locator("a").click()
    phone_page.wait_for_load_state()
    assert phone_page.locator("ol.thread > li").count() == 4
    assert "此事已结束" in phone_page.content()
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "inbox-thread-finished")
    assert axe_violations(phone_page, ALL_IMPACTS) == []
