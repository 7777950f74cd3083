"""The walk's fixes in a real browser on a 390×844 phone in zh-CN: the ledger page says what the
user may export, the region picker (grant-role form) lists results as one types and is driven by
the keyboard, and the household edit page; each fits the phone and axe-core finds no violation of
any impact, in the normal and the elderly mode."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.core.tests.test_admin_pages_browser import open_as
from shequ.registry import services
from shequ.registry.tests.conftest import Registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")
FIRST_OPTION = (
    "() => document.querySelector('#id_grant-region_listbox li .region-name')?.textContent === '%s'"
)


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, name)
    assert axe_violations(page, ALL_IMPACTS) == [], name


def elderly_mode(page: Any) -> None:
    toggle_elderly(page)
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")


def test_ledger_page_tells_a_worker_what_they_may_export(
    phone_page: Any, live_server: Any, reg: Registry
) -> None:
    reg.register("刘秀英", reg.houses["a"][1], birth="19380412", phone="13912340000")
    page = phone_page
    open_as(page, live_server, reg.world["worker_a"], "/registry/ledgers/elderly_80/")
    rights = page.locator("#export-rights").inner_text()
    assert "导出的身份证号和手机号已打码；需要完整号码请联系社区书记/主任" in rights
    assert page.locator("input[name=reason]").count() == 0
    check(page, "fixes-ledger-worker")
    with page.expect_download() as download:
        page.click("form[action$='/export/'] button[type=submit]")
    assert download.value.suggested_filename.endswith(".xlsx")
    elderly_mode(page)
    check(page, "fixes-ledger-worker-elderly")


def test_ledger_page_for_a_head_has_a_translated_reason(
    phone_page: Any, live_server: Any, reg: Registry
) -> None:
    page = phone_page
    open_as(page, live_server, reg.world["head_a"], "/registry/ledgers/elderly_80/")
    assert page.locator("label[for=id_reason]").inner_text().startswith("需要完整号码的理由")
    check(page, "fixes-ledger-head")


def test_region_picker_search_keyboard_and_breadcrumb(
    phone_page: Any, live_server: Any, world: World
) -> None:
    page = phone_page
    open_as(page, live_server, world["secadmin"], "/admin/memberships/")
    box = page.locator("#id_grant-region")
    assert box.get_attribute("role") == "combobox"
    assert page.locator("#id_grant-region_code").get_attribute("type") == "hidden"
    box.click()
    box.fill("枇杷")
    page.wait_for_function(FIRST_OPTION % "枇杷塘社区")
    assert box.get_attribute("aria-expanded") == "true"
    options = page.locator("#id_grant-region_listbox li[role=option]")
    assert options.first.locator(".region-name").inner_text() == "枇杷塘社区"
    check(page, "fixes-region-picker-open")
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    box.press("Enter")  # chooses, does not submit; the community's grids are listed next
    page.wait_for_function(FIRST_OPTION % "第一网格")
    assert page.locator("#id_grant-region_code").input_value() == "430104002001"
    assert box.input_value() == "枇杷塘社区"
    crumb = page.locator("#id_grant-region_crumb .region-crumb-text").inner_text()
    assert crumb == "湖南省 › 长沙市 › 岳麓区 › 岳麓街道 › 枇杷塘社区"
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    # The chosen code is what the form posts: grant a role with it.
    page.fill("#id_grant-username", "resident")
    page.select_option("#id_grant-role", "community_worker")
    page.click("main form.narrow button[type=submit]")
    page.wait_for_load_state()
    assert "枇杷塘社区" in page.locator("main").inner_text()
    elderly_mode(page)
    box = page.locator("#id_grant-region")
    box.fill("网格")
    page.wait_for_function(FIRST_OPTION % "第一网格")
    check(page, "fixes-region-picker-elderly")


def test_region_picker_without_javascript_takes_a_code(browser: Any, live_server: Any, world: World) -> None:
    from shequ.browser import PHONE as phone

    context = browser.new_context(
        viewport=phone, locale="zh-CN", base_url=live_server.url, java_script_enabled=False
    )
    page = context.new_page()
    try:
        open_as(page, live_server, world["secadmin"], "/admin/memberships/")
        assert page.locator("#id_grant-region").get_attribute("list") == "id_grant-region_regions"
        page.fill("#id_grant-username", "resident")
        page.select_option("#id_grant-role", "community_worker")
        page.fill("#id_grant-region", "430199")
        page.click("main form.narrow button[type=submit]")
        assert "没有找到代码为 430199 的地区" in page.locator("main").inner_text()
        screenshot(page, "fixes-region-picker-nojs-error")
    finally:
        context.close()


def test_household_edit_page(phone_page: Any, live_server: Any, reg: Registry) -> None:
    head = reg.people["a"]
    household = services.household_create(actor=None, head=head)
    spouse = reg.register("刘芳", reg.houses["a"][0])
    services.household_add_member(actor=None, household=household, person=spouse, relation_to_head="spouse")
    reg.register("陈小明", reg.houses["a"][1], birth="20100101")
    page = phone_page
    open_as(page, live_server, reg.world["grid_a"], f"/registry/households/{household.pk}/")
    page.click(f"a[href='/registry/households/{household.pk}/edit/']")
    page.wait_for_url(f"**/households/{household.pk}/edit/")
    page.fill("#id_q", "陈小明")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**q=**")
    check(page, "fixes-household-edit")
    page.locator("select[name$='-relation_to_head']").last.select_option("grandchild")
    page.locator("form:has(input[name=op][value=add]) button[type=submit]").click()
    page.wait_for_load_state()
    assert "陈小明已加入本户" in page.locator("body").inner_text()
    elderly_mode(page)
    page.locator("details.disclose summary").first.click()
    check(page, "fixes-household-edit-elderly")
