"""A resident reports with no network (the app shell's service worker, core/sw.js): the report page
opens from the copy kept at the last visit, the report is kept on the phone, and when the network
is back it is sent by itself, exactly once — a second sending of the same form makes no second
ticket. Screenshots: var/screenshots/offline-*.png."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import World
from shequ.grid.models import Ticket
from shequ.grid.tests.test_ticket_life_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_model"),
]

PROBLEM = "5栋楼道的灯坏了一个星期，晚上很黑，老人上下楼不方便"


def controlled(page: Any) -> None:
    """Wait until the service worker controls the page (it claims open pages when it starts).

    The worker's install fetches the shell; on a loaded CI machine one of those fetches can fail,
    and then the browser drops that install. shequ.js registers again on every page, so a
    phone's next visit retries it: so does this wait, with a reload, up to three times."""
    for attempt in range(3):
        try:
            page.wait_for_function(
                "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
                timeout=10_000,
            )
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.reload()


def test_a_report_written_offline_is_kept_and_sent_once(phone_page: Any, world: World) -> None:
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    controlled(page)
    page.reload()  # now through the worker, which keeps a copy of the report page

    page.context.set_offline(True)
    page.reload()  # no network: the kept copy
    assert page.locator("h1").inner_text() == "我要报事"
    page.fill("#id_description", PROBLEM)
    page.fill("#id_address", "5栋2单元")
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    assert "/offline/" in page.url
    assert page.locator(".offline-kept h1").is_visible()
    assert "报事已保存在这台手机上" in page.locator("main").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "offline-kept")
    assert axe_violations(page) == []
    assert not Ticket.objects.filter(description=PROBLEM).exists()

    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    status = page.locator(".outbox-status")
    status.wait_for(state="visible")
    assert "已经发出" in status.inner_text()
    screenshot(page, "offline-sent")
    ticket = Ticket.objects.get(description=PROBLEM)
    assert ticket.address == "5栋2单元" and ticket.reporter_user == world["resident"]
    page.click(".outbox-status a")
    page.wait_for_url(f"**/{ticket.pk}/**")

    # Nothing is left to send: a new page asks the worker to send again, and no ticket is added.
    page.goto("/")
    page.evaluate(
        """async () => {
            const reg = await navigator.serviceWorker.ready;
            reg.active.postMessage({type: "flush"});
            await new Promise((done) => setTimeout(done, 500));
        }"""
    )
    assert Ticket.objects.filter(description=PROBLEM).count() == 1


def test_a_report_sent_online_goes_through_the_worker(phone_page: Any, world: World) -> None:
    """With the worker in control, a report posted with the network on is sent at once, as before."""
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    controlled(page)
    page.reload()
    page.fill("#id_description", PROBLEM)
    page.fill("#id_address", "5栋2单元")
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    ticket = Ticket.objects.get(description=PROBLEM)
    page.wait_for_url(f"**/{ticket.pk}/**")
    assert "/offline/" not in page.url
