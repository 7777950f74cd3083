"""An urgent report in real browsers: a resident writes what they smell on a phone and is told at
once whom to call (tap-to-call links, gas first 119) and what the community is doing; the person on
duty (another phone) opens the alert from the inbox, reads why it is urgent and presses "确认收到";
the resident's page then says someone is on it. Fits the phone, axe-clean, also in the elderly mode.
Screenshots: var/screenshots/grid-urgent-*.png."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.core import outbox
from shequ.grid.models import AlertState, Ticket, UrgentAlert
from shequ.grid.tests.conftest import COMMUNITY_A
from shequ.grid.tests.test_ticket_life_browser import sign_in, staff_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_model"),
]

GAS = "3栋2单元楼道里好大一股煤气味，头都晕了，快来人"


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"grid-urgent-{name}")
    assert axe_violations(page) == [], name


def test_an_urgent_report_from_the_phone_to_the_acknowledgement(
    phone_page: Any, browser: Any, live_server: Any, world: World
) -> None:
    from django.utils import timezone

    from shequ.core.models import DutyShift

    DutyShift.objects.create(
        region=world.regions[COMMUNITY_A],
        region_code=COMMUNITY_A,
        user=world["worker_a"],
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(hours=8),
    )
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    page.fill("#id_description", GAS)
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    ticket = Ticket.objects.get()
    box = page.locator("section.call-now")
    assert box.count() == 1
    links = box.locator("a.call")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "tel:119",
        "tel:110",
        "tel:120",
    ]
    assert "不要开关电灯" in box.inner_text() and "值班" in box.inner_text()
    check(page, "report-done")
    page.goto("/me/")
    with page.expect_navigation():
        toggle_elderly(page)
    page.goto(f"/grid/report/{ticket.pk}/done/")
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    check(page, "report-done-elderly")

    # The worker runs the alert: the person on duty gets it in the inbox with the button.
    outbox.run_pending()
    duty = staff_page(browser, live_server, world["worker_a"], by_password=True)
    duty.goto("/inbox/")
    duty.locator("main a", has_text="紧急").first.click()
    duty.wait_for_load_state()
    assert "确认收到" in duty.content()
    duty.goto(f"/grid/tickets/{ticket.pk}/")
    alert_box = duty.locator("section.alert-box")
    assert "燃气泄漏" in alert_box.inner_text() and "煤气" in alert_box.locator("mark").first.inner_text()
    check(duty, "ticket-alert")
    with duty.expect_navigation():
        duty.click("form.alert-ack button[type=submit]")
    alert = UrgentAlert.objects.get()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == world["worker_a"]
    check(duty, "ticket-acknowledged")
    duty.context.close()

    page.goto(f"/grid/tickets/{ticket.pk}/")
    assert "已确认收到您的报告" in page.locator("section.call-now").inner_text()
    check(page, "ticket-resident")
    # The resident's notice in the inbox carries the same call box (still in the elderly mode).
    from django.urls import reverse

    from shequ.core.models import Message

    told = Message.objects.get(recipient=world["resident"], topic="grid.urgent_reporter")
    page.goto(reverse("core:message", args=[told.pk]))
    links = page.locator("section.call-now a.call")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "tel:119",
        "tel:110",
        "tel:120",
    ]
    check(page, "message-resident")
