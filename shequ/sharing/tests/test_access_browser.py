"""The catalog and the grant form on a 390×844 phone: the public catalog signed out; the security
administrator makes a grant (first refused with specific errors, nothing written), sees it and its
calls; the community head reads the access log. Every page: one h1, no horizontal scrolling, no
serious axe-core violation (also in elderly mode); screenshots in var/screenshots/sharing-access-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.sharing.models import Grant
from shequ.sharing.tests import access_fixtures as fx
from shequ.sharing.tests.access_fixtures import COMMUNITY_A, Shared

shared, fast_hasher, fresh_rate_windows = fx.shared, fx.fast_hasher, fx.fresh_rate_windows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"sharing-access-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str, totp_secret: str = "") -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    if totp_secret:  # administrators sign in with a second factor
        import pyotp

        page.wait_for_url("**/login/second-factor/")
        page.fill("#id_code", pyotp.TOTP(totp_secret).now())
        page.click("main form[action='/login/second-factor/'] button[type=submit]")
    page.wait_for_url("**/")


def test_catalog_and_grant_form_on_a_phone(shared: Shared, phone_page: Any) -> None:
    from shequ.core.auth import totp_enrol_directly

    page = phone_page
    # The public catalog, signed out: resources and field protection, no data.
    page.goto("/sharing/catalog/")
    main = page.inner_text("main")
    assert "实有人口" in main and "有条件共享" in main and "张三丰" not in page.content()
    check(page, "catalog")
    page.click("a[href='/sharing/catalog/people/']")
    page.wait_for_url("**/sharing/catalog/people/")
    assert "敏感个人信息" in page.inner_text("main")
    check(page, "catalog-people")
    assert toggle_elderly(page)
    check(page, "catalog-people-elderly")
    assert not toggle_elderly(page)

    # The security administrator's grant form.
    sign_in(page, "secadmin", totp_enrol_directly(shared.world["secadmin"]))
    page.goto("/sharing/grants/new/")
    check(page, "grant-choose")
    page.select_option("#id_resource", "people")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/sharing/grants/new/?resource=people")
    check(page, "grant-form")
    # Sensitive groups without a legal basis: refused, with the reason, nothing written.
    page.select_option("#id_client", str(shared.client.pk))
    page.check("input[name=fields_][value=name]")
    page.check("input[name=fields_][value=special_tags]")
    page.fill("#id_region_1", COMMUNITY_A)
    page.fill("#id_purpose", "特殊人群服务管理")
    page.click("main form button[type=submit]:has-text('授权')")
    page.wait_for_load_state()
    assert "法律法规依据" in page.inner_text("main")
    assert not Grant.objects.exists()
    check(page, "grant-form-error")
    page.uncheck("input[name=fields_][value=special_tags]")
    page.check("input[name=fields_][value=phone]")
    page.fill("#id_region_1", COMMUNITY_A)
    page.select_option("#id_filter_residence_type", "floating")
    page.click("main form button[type=submit]:has-text('授权')")
    page.wait_for_url("**/sharing/grants/*/")
    grant = Grant.objects.get()
    assert grant.fields == ["name", "phone"] and grant.row_filters == {"residence_type": "floating"}
    assert "授权已生效" in page.inner_text("main")
    check(page, "grant-detail")
    assert toggle_elderly(page)
    page.goto("/sharing/grants/new/?resource=people")
    check(page, "grant-form-elderly")
    assert not toggle_elderly(page)

    # The department reads; the community head sees it in the access log.
    assert shared.get("people/rows").status_code == 200
    sign_in(page, "head_a")
    page.goto("/sharing/log/")
    main = page.inner_text("main")
    assert "岳麓派出所" in main and "本辖区1条" in main
    check(page, "log")
    page.click("main ul.list a")
    page.wait_for_url("**/sharing/log/*/")
    assert "特殊人群服务管理" in page.inner_text("main")
    check(page, "log-detail")
