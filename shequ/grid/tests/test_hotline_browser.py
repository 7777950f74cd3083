"""The 12345 import pages in a phone-sized browser: one h1, no horizontal scrolling, no serious
axe-core violation, and the flow (upload → report → import) works by hand."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import PASSWORD, World
from shequ.grid.models import Source, Ticket
from shequ.grid.tests.test_hotline import Suggestion, messy_workbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"grid-{name}")
    assert axe_violations(page) == [], name


def test_hotline_import_on_a_phone(
    phone_page: Any, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = types.SimpleNamespace(suggest=lambda text, k=3: [Suggestion("cityscape.parking", 0.77)][:k])
    monkeypatch.setitem(sys.modules, "shequ.grid.classifier", fake)
    page = phone_page
    file = tmp_path / "12345工单.xlsx"
    file.write_bytes(messy_workbook())
    sign_in(page, "worker_a")
    page.goto("/grid/hotline/")
    check(page, "hotline-import")
    page.set_input_files("#id_file", str(file))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_url("**/grid/hotline/*/")
    check(page, "hotline-report")
    assert page.locator("table.data tbody tr").count() == 11  # row 11 was not imported before here
    page.click("main form[action$='/commit/'] button[type=submit]")
    page.wait_for_url("**/grid/hotline/*/")
    check(page, "hotline-done")
    assert Ticket.objects.filter(source=Source.HOTLINE).count() == 4
