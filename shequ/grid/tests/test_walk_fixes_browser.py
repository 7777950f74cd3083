"""Fixes from the walk through the resident's pages, on a phone (390×844, zh-CN): 我的报事 shows the
newest report on the first screen, above the rating forms; the report page clears its chips without
an error in the console and asks for no missing file (the icon). Screenshots:
var/screenshots/grid-walk-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import World
from shequ.grid import services
from shequ.grid.tests.conftest import GRID_A
from shequ.grid.tests.test_resident_pages import resolved_ticket
from shequ.grid.tests.test_ticket_life_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_model"),  # the chips from the keywords: the model has its own tests
]


def _watch(page: Any) -> list[str]:
    """Console errors and failed requests (a 4xx/5xx answer) of the page, as they come."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def test_my_reports_newest_on_the_first_screen(phone_page: Any, world: World) -> None:
    for i in range(2):
        resolved_ticket(world, title=f"已办完的事{i}")
    services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="刚报的事",
        description="刚刚",
    )
    page = phone_page
    problems = _watch(page)
    sign_in(page, "resident")
    page.goto("/grid/mine/")
    first = page.locator("ul.tickets li").first
    assert "刚报的事" in first.inner_text()
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box  # no scrolling to see it
    assert "已收到" in first.inner_text()
    screenshot(page, "grid-walk-my-reports")
    assert axe_violations(page) == []
    page.goto("/favicon.ico")
    assert problems == []


def test_clearing_the_description_clears_the_chips_without_an_error(phone_page: Any, world: World) -> None:
    page = phone_page
    problems = _watch(page)
    sign_in(page, "resident")
    page.goto("/grid/report/")
    page.fill("#id_description", "小区门口的垃圾桶满了三天没人清运")
    page.locator(".chip[data-category]").first.wait_for()
    with page.expect_response("**/grid/report/suggest/") as answer:
        page.fill("#id_description", "")
    assert answer.value.status == 200
    page.wait_for_function("() => !document.querySelector('.chip[data-category]')")
    screenshot(page, "grid-walk-report-cleared")
    assert problems == []
