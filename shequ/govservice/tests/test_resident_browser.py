"""A resident on a phone (390×844, zh-CN) in a real browser: opens the catalog, applies for the
old-age allowance with a photo of her bank card (the rest filled from the registry), reads the
confirmation; staff accept, forward, decide and deliver it; she rates it 2 stars with a reason
(the "what went well" reasons hide once 2 stars are chosen) and reads that a rectification is
open. axe-core finds nothing serious on the apply and detail pages (screenshots in
var/screenshots/govservice-*.png)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shequ.browser import axe_violations, screenshot
from shequ.conftest import PASSWORD
from shequ.govservice.models import Application, Delivery, Evaluation, Outcome, Rectification, RectStatus
from shequ.govservice.services import applications as apps
from shequ.govservice.tests.conftest import Gov
from shequ.grid.tests.conftest import png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


def test_a_resident_applies_on_her_phone_and_rates_it(phone_page: Any, gov: Gov) -> None:
    page = phone_page
    sign_in(page, "resident")
    page.goto("/govservice/")
    assert "5项材料中已为您自动填好4项" in page.inner_text("main")
    screenshot(page, "govservice-catalog")
    page.click("a[href='/govservice/items/elderly_allowance/apply/']")
    page.wait_for_url("**/govservice/items/elderly_allowance/apply/")
    main = page.inner_text("main")
    assert "已从人口库为您填好4项材料" in main and "刘奶奶" in main and gov.elder.id_number not in main
    assert axe_violations(page) == []
    page.set_input_files(
        "#files-bank_card", files=[{"name": "card.png", "mimeType": "image/png", "buffer": png()}]
    )
    screenshot(page, "govservice-apply")
    with page.expect_navigation():
        page.click("form.gs-apply button[type=submit]")
    application = Application.objects.get()
    assert page.url.endswith(f"/govservice/mine/{application.pk}/")
    flash = page.inner_text(".flash")
    assert application.number in flash and "一个工作日" in flash
    assert "已提交，待受理" in page.inner_text("main")
    assert axe_violations(page) == []
    screenshot(page, "govservice-detail-submitted")

    # The counter and the department do their part.
    worker = gov["worker_a"]
    application = apps.application_accept(actor=worker, application=application)
    application = apps.application_forward(actor=worker, application=application, department=gov.civil)
    application = apps.application_decide(
        actor=gov.clerk, application=application, outcome=Outcome.APPROVED, note="自下月起按月发放"
    )
    apps.application_deliver(actor=worker, application=application, delivery=Delivery.PICKUP)

    page.reload()
    main = page.inner_text("main")
    assert "已办结" in main and "自下月起按月发放" in main and "评价本次办理" in main
    good = page.locator("fieldset[data-reasons=good]")
    assert good.is_visible()
    page.check("input[name=stars][value='2']")
    assert not good.is_visible()  # with 2 stars only what went wrong is offered
    page.get_by_label("办理时间过长").check()
    page.fill("textarea[name=comment]", "等了很久才通知")
    assert axe_violations(page) == []
    screenshot(page, "govservice-rate")
    with page.expect_navigation():
        page.click("form.gs-rate button[type=submit]")
    main = page.inner_text("main")
    assert "感谢您的评价" in page.inner_text(".flash") and "已启动整改" in page.inner_text(".flash")
    assert re.search(r"待整改", main) and "办理时间过长" in main and "等了很久才通知" in main
    assert axe_violations(page) == []
    screenshot(page, "govservice-detail-rated")
    evaluation = Evaluation.objects.get()
    assert (evaluation.stars, evaluation.reasons) == (2, ["slow"])
    assert Rectification.objects.get(evaluation=evaluation).status == RectStatus.OPEN
