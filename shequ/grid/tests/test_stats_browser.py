"""The statistics page in a real browser on a phone: the ECharts charts draw (no script blocked by
the CSP), every chart has its table, the page fits the phone, axe-core finds no serious or critical
violation, the elderly mode shows the tables without charts, and the export downloads."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.grid import services
from shequ.grid.tests.conftest import GRID_B, new_ticket
from shequ.registry.tests.test_browser_registry import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tickets(world: World) -> None:
    worker, dept = world["worker_a"], world["dept"]
    for i in range(3):
        t = new_ticket(world)
        t = services.ticket_accept(actor=worker, ticket=t)
        t = services.ticket_dispatch(actor=worker, ticket=t, department=world.department)
        if i:
            t = services.ticket_department_accept(actor=dept, ticket=t)
            services.ticket_resolve(actor=dept, ticket=t, result="已调解")
    new_ticket(world, grid=GRID_B, code="environment.garbage")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"grid-stats-{name}")
    assert axe_violations(page) == [], name


def test_stats_page_on_a_phone(phone_page: Any, world: World, tickets: None) -> None:
    page = phone_page
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "head_a")
    page.goto("/grid/stats/")
    page.wait_for_selector("[data-chart='status'] svg")
    page.wait_for_selector("[data-chart='regions'] svg")
    page.wait_for_selector("[data-chart='days'] svg")
    assert page.locator("table.data").count() >= 4
    assert page.locator("#summary-heading + dl dd").first.inner_text() == "4"
    check(page, "phone")
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
    with page.expect_download() as download:
        page.click("form.stats-export button[type=submit]")
    assert download.value.suggested_filename.endswith(".xlsx")
    toggle_elderly(page)
    page.goto("/grid/stats/")
    assert page.locator("[data-chart]").count() == 0
    check(page, "elderly")
