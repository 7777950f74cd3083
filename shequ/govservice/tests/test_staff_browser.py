"""The counter on a 390×844 phone: worker_a takes the old-age allowance for 刘奶奶 on her behalf
(帮办代办, consent signed) with her bank card brought on paper, prints the receipt, then forwards the
application to the civil-affairs bureau. Every page: one h1, no horizontal scrolling, no serious
axe-core violation (also in elderly mode); screenshots in var/screenshots/govservice-staff-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.govservice.models import Application, Consent, Status
from shequ.govservice.tests.conftest import Gov

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"govservice-staff-{name}")
    assert axe_violations(page) == [], name


def test_worker_takes_an_application_on_behalf_at_the_counter_and_forwards_it(
    phone_page: Any, gov: Gov
) -> None:
    page = phone_page
    sign_in(page, "worker_a")
    page.goto("/govservice/counter/")
    check(page, "counter")
    page.fill("#id_q", gov.elder.id_number)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "刘奶奶" in main and gov.elder.id_number not in page.content()
    check(page, "counter-found")
    page.click("text=为刘奶奶申请")
    page.wait_for_url("**/govservice/counter/?person=*")
    check(page, "counter-items")
    page.click("a:has-text('高龄津贴申领')")
    page.wait_for_url("**/govservice/counter/elderly_allowance/?person=*")
    assert "来自人口库" in page.inner_text("main")
    check(page, "take")
    # On her behalf without saying how she agreed: refused, nothing taken.
    page.check("#id_paper_bank_card")
    page.check("#id_on_behalf")
    page.click("button[value=take]")
    page.wait_for_load_state()
    assert "请记录居民同意由您代为申请的方式" in page.inner_text("main")
    assert not Application.objects.exists()
    check(page, "take-error")
    page.check("#id_paper_bank_card")
    page.check("#id_on_behalf")
    page.check(f"input[name=consent][value={Consent.SIGNED}]")
    page.fill("#id_consent_note", "本人签字，女儿在场")
    page.click("button[value=take]")
    page.wait_for_url("**/govservice/applications/*/?receipt=1")
    app = Application.objects.get()
    assert app.on_behalf and app.helper_id == gov["worker_a"].pk and app.status == Status.ACCEPTED
    assert next(m["how"] for m in app.materials if m["code"] == "bank_card") == "paper"
    assert "收件回执" in page.inner_text("main") and app.number in page.inner_text("main")
    check(page, "receipt")
    page.emulate_media(media="print")
    assert not page.locator("h1").is_visible()  # only the receipt prints
    page.emulate_media(media="screen")
    page.click("text=关闭回执")
    page.wait_for_url(f"**/govservice/applications/{app.pk}/")
    check(page, "application")
    page.click("#step-forward summary")
    page.select_option("#id_forward-department", str(gov.civil.pk))
    page.fill("#id_forward-note", "请审批")
    page.click("#step-forward button[type=submit]")
    page.wait_for_url(f"**/govservice/applications/{app.pk}/")
    app.refresh_from_db()
    assert app.status == Status.FORWARDED and app.department_id == gov.civil.pk
    assert "已转部门办理" in page.inner_text("main")
    check(page, "forwarded")
    toggle_elderly(page)  # elderly mode
    check(page, "forwarded-elderly")
    page.goto("/govservice/applications/")
    check(page, "list")


def test_county_officer_edits_the_catalog_on_a_phone(phone_page: Any, live_server: Any, gov: Gov) -> None:
    """The catalog editor without JavaScript tricks: more material rows, a promise longer than the
    law refused with its field named, then saved as a new version."""
    from django.test import Client

    from shequ.core import accounts
    from shequ.core.models import Role
    from shequ.govservice.models import ServiceItem
    from shequ.govservice.tests.conftest import COUNTY

    editor = accounts.user_create(
        actor=None,
        username="county",
        display_name="区政务服务中心",
        password=PASSWORD,
        phone="13877776666",
        email="county@example.test",
    )
    accounts.membership_grant(
        actor=None, user=editor, role=Role.COUNTY_OFFICER, region=gov.world.regions[COUNTY]
    )
    client = Client()
    client.force_login(editor)
    page = phone_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/govservice/catalog/")
    check(page, "catalog")
    page.click("a:has-text('居住证明')")
    page.wait_for_url("**/govservice/catalog/residence_certificate/edit/")
    check(page, "item-edit")
    rows = page.locator("input[name$='-code'][name^='m']").count()
    page.click("button[value=materials]")
    page.wait_for_load_state()
    assert page.locator("input[name$='-code'][name^='m']").count() == rows + 3
    page.fill("#id_promised_days", "9")
    page.click("main form > p.actions button[type=submit]")
    page.wait_for_load_state()
    assert "承诺时限不能长于法定时限" in page.inner_text("main")
    check(page, "item-edit-error")
    page.fill("#id_promised_days", "2")
    page.click("main form > p.actions button[type=submit]")
    page.wait_for_url("**/govservice/catalog/")
    item = ServiceItem.objects.get(code="residence_certificate")
    assert item.version == 2 and item.promised_days == 2
