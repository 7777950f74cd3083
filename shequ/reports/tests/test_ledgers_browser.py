"""Ledger pages in a real browser on a phone, in Chinese: the index grouped by app, a ledger with
its filters, table (scrolling sideways inside ``.table-wrap``, not the page), export and schedule
forms, and a generated file's page fit the phone, and axe-core finds no serious or critical
violation, in the normal and the elderly mode."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.core import outbox
from shequ.registry import services
from shequ.registry.tests.conftest import GRID_A, Registry
from shequ.registry.tests.test_browser_registry import sign_in
from shequ.reports.tests.test_ledgers_apps import grid_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def elderly(reg: Registry, settings: Any, tmp_path: Any) -> Registry:
    settings.MEDIA_ROOT = tmp_path
    for i, (name, birth) in enumerate(
        (("刘秀英", "19380412"), ("陈建国", "19420101"), ("曾桂兰", "19300909"))
    ):
        person = reg.register(name, reg.houses["a"][i], birth=birth, phone="13912340000")
        services.tag_add(actor=None, person=person, category="disabled", subtype="physical", grade="2")
    grid_ticket(reg, GRID_A, "楼道堆放杂物")
    return reg


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"ledger-{name}")
    assert axe_violations(page) == [], name


def test_ledger_pages_on_a_phone(phone_page: Any, elderly: Registry) -> None:
    page = phone_page
    sign_in(page, "head_a")
    page.goto("/reports/ledgers/")
    # Grouped by the app that declares them, in Chinese.
    headings = page.locator("main h2").all_inner_texts()
    assert {"基础数据", "网格事件"} <= set(headings), headings
    assert page.locator("text=网格事件台账").count() == 1 and page.locator("text=残疾人台账").count() == 1
    check(page, "index")
    page.click("a[href^='/reports/ledgers/disabled/']")
    page.wait_for_url("**/reports/ledgers/disabled/**")
    assert page.locator("table.data tbody tr").count() == 3
    # The wide table scrolls inside its wrapper.
    assert page.evaluate(
        "() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth > w.clientWidth; }"
    )
    check(page, "disabled")
    page.select_option("#id_disability_grade", "2")
    page.click("form.filters[role=search] button[type=submit]")
    page.wait_for_url("**disability_grade=2**")
    assert page.locator("table.data tbody tr").count() == 3
    toggle_elderly(page)
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    check(page, "disabled-elderly")
    with page.expect_download() as download:
        page.click("form[action$='/export/'] button[type=submit]")
    assert download.value.suggested_filename.endswith(".xlsx")
    # A period ledger: generate it, the worker makes the file, the run page offers it.
    page.goto("/reports/ledgers/grid_tickets/")
    assert page.locator("table.data tbody tr").count() == 1
    check(page, "grid-tickets-elderly")
    page.click("form[action$='/generate/'] button[type=submit]")
    page.wait_for_url("**/reports/ledger-runs/*/")
    outbox.run_pending()
    page.reload()
    assert page.locator("a.button", has_text="下载 Excel").count() == 1
    check(page, "run-elderly")
    toggle_elderly(page)
    page.goto("/reports/ledger-runs/")
    check(page, "runs")
