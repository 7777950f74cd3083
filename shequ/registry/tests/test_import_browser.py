"""The import and export pages in a phone-sized browser: one h1, no horizontal scrolling, no serious
axe-core violation, and the whole flow (upload → report → import → result) works by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import PASSWORD
from shequ.registry.models import Person
from shequ.registry.tests.conftest import COMMUNITY_A, Registry
from shequ.registry.tests.test_import import messy_ledger

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded(reg: Registry) -> Registry:
    return reg


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"registry-{name}")
    assert axe_violations(page) == [], name


def test_import_flow_on_a_phone(phone_page: Any, seeded: Registry, tmp_path: Path) -> None:
    page = phone_page
    ledger = tmp_path / "台账.xlsx"
    ledger.write_bytes(messy_ledger(seeded.people["a"].id_number, seeded.people["c"].id_number))
    sign_in(page, "worker_a")
    page.goto("/registry/import/")
    check(page, "import-start")
    page.select_option("#id_kind", "people")
    page.select_option("#id_region", COMMUNITY_A)
    page.set_input_files("#id_file", str(ledger))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_url("**/registry/import/*/")
    check(page, "import-report")
    assert page.locator("table.data tbody tr").count() == 12
    page.click("main form[action$='/commit/'] button[type=submit]")
    page.wait_for_url("**/done/")
    check(page, "import-result")
    assert Person.objects.filter(name="李明").count() == 1


def test_export_page_on_a_phone(phone_page: Any, seeded: Registry) -> None:
    page = phone_page
    sign_in(page, "head_a")
    page.goto("/registry/export/people/")
    check(page, "export-people")
    with page.expect_download() as download:
        page.click("main form button[type=submit]")
    assert download.value.suggested_filename.startswith("people-all-")
