"""The full life of a ticket in real browsers: a resident reports a problem on a phone-sized page
and sees the number; the community worker (another browser) accepts and dispatches it on the ticket
page; the department staff (a third) accepts, replies and resolves it; the resident rates it 5 and
sees it closed. The resident pages fit the phone and axe-core finds no serious or critical
violation, in the normal and the elderly mode. Screenshots: var/screenshots/grid-resident-*.png."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD, World
from shequ.grid.models import Status, Ticket
from shequ.grid.tests.conftest import png

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_model"),  # the chips from the keywords: the model has its own tests
]

PROBLEM = "小区3栋门口的垃圾桶满了三天没人清运，味道很大"


def check(page: Any, name: str) -> None:
    """One h1, fits the phone, no serious axe violation; screenshot."""
    assert page.locator("h1").count() == 1, name
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > w)
            .map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)""",
        PHONE["width"],
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], (name, wide)
    screenshot(page, f"grid-resident-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


def staff_page(browser: Any, live_server: Any, user: Any, *, by_password: bool) -> Any:
    """Another person's phone. Street-level department staff need TOTP: their session comes as a
    cookie (the second factor has its own browser test); the community worker signs in."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    if by_password:
        sign_in(page, user.username)
    else:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )
    return page


def step(
    page: Any, key: str, fill: dict[str, str] | None = None, select: dict[str, str] | None = None
) -> None:
    """Open a workflow step on the ticket page, fill it and send it."""
    page.click(f"#step-{key} summary")
    for selector, value in (fill or {}).items():
        page.fill(selector, value)
    for selector, value in (select or {}).items():
        page.select_option(selector, value)
    with page.expect_navigation():
        page.click(f"#step-{key} button[type=submit]")


def test_a_ticket_from_report_to_rating(
    phone_page: Any, browser: Any, live_server: Any, world: World
) -> None:
    page = phone_page

    # The resident reports on the phone.
    sign_in(page, "resident")
    page.goto("/grid/report/")
    check(page, "report")
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")  # nothing typed
    assert page.locator("#id_description[aria-invalid=true]").count() == 1
    check(page, "report-errors")
    assert Ticket.objects.count() == 0

    page.fill("#id_description", PROBLEM)
    chip = page.locator(".chip[data-category]").first
    chip.wait_for()
    code = chip.get_attribute("data-category")
    assert code == "environment.garbage"
    chip.click()
    assert page.input_value("#id_category") == code and chip.get_attribute("aria-pressed") == "true"
    page.set_input_files(
        "#photos",
        files=[{"name": "垃圾桶.png", "mimeType": "image/png", "buffer": png("green", (64, 48))}],
    )
    page.fill("#id_address", "3栋门口")
    check(page, "report-filled")
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    ticket = Ticket.objects.get()
    assert page.url.endswith(f"/grid/report/{ticket.pk}/done/")
    assert ticket.number in page.locator("h1 + p").inner_text()
    assert ticket.category is not None and ticket.category.code == code
    assert ticket.attachments.count() == 1 and ticket.address == "3栋门口"
    check(page, "report-done")

    # The community worker accepts and dispatches it on the ticket page.
    worker = staff_page(browser, live_server, world["worker_a"], by_password=True)
    worker.goto(f"/grid/tickets/{ticket.pk}/")
    assert PROBLEM in worker.content()
    step(worker, "accept", select={"#id_accept-category": code})
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED
    step(worker, "dispatch", select={"#id_dispatch-department": str(world.department.pk)})
    ticket.refresh_from_db()
    assert ticket.status == Status.DISPATCHED and ticket.department == world.department
    worker.context.close()

    # The resident follows it.
    page.goto("/grid/mine/")
    assert "已派给职能部门" in page.content()
    check(page, "mine-dispatched")

    # The department accepts, replies and resolves it.
    dept = staff_page(browser, live_server, world["dept"], by_password=False)
    dept.goto(f"/grid/tickets/{ticket.pk}/")
    step(dept, "dept_accept")
    step(dept, "respond", fill={"#id_respond-comment": "已安排环卫今天下午清运。"})
    step(dept, "resolve", fill={"#id_resolve-result": "垃圾已清运，垃圾桶已清洗消毒。"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    dept.context.close()

    # The resident rates it 5 and sees it closed.
    page.goto("/grid/mine/")
    assert "垃圾已清运" in page.content()
    check(page, "mine-to-rate")
    page.click(f"label[for='rate-{ticket.pk}-5']")
    page.fill(f"#rate-{ticket.pk}-comment", "很快就处理了，谢谢！")
    with page.expect_navigation():
        page.click(f"form[action='/grid/tickets/{ticket.pk}/rate/'] button[type=submit]")
    assert page.url.endswith("/grid/mine/")
    assert "已关闭" in page.locator("ul.tickets").inner_text()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.rating == 5
    check(page, "mine-closed")

    # The public list shows the matter without the resident's words.
    page.goto("/grid/public/?region=430104002")
    assert (
        "垃圾已清运" in page.content() and PROBLEM not in page.content() and "3栋门口" not in page.content()
    )
    check(page, "public")

    # The same pages in the elderly mode.
    toggle_elderly(page)
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    check(page, "public-elderly")
    for path, name in [
        ("/grid/report/", "report-elderly"),
        ("/grid/mine/", "mine-elderly"),
        (f"/grid/report/{ticket.pk}/done/", "report-done-elderly"),
        ("/grid/public/", "public-areas-elderly"),
    ]:
        page.goto(path)
        check(page, name)


def test_map_pin_fills_the_point(phone_page: Any, world: World, settings: Any) -> None:
    """With a tile server configured, a tap on the map sets the ticket's point. The tile here is an
    inline image: the test never calls the internet."""
    import base64

    settings.GRID_MAP_TILES = "data:image/png;base64," + base64.b64encode(png("green", (64, 48))).decode()
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    page.locator("#report-map.leaflet-container").wait_for()
    page.locator("#report-map").click(position={"x": 200, "y": 130})
    assert page.input_value("#id_latitude") and page.input_value("#id_longitude")
    assert page.locator("#point-status").inner_text() != ""
    check(page, "report-map")
    page.fill("#id_description", "路边井盖松动，踩上去会晃")
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    ticket = Ticket.objects.get()
    assert ticket.latitude is not None and ticket.longitude is not None
    assert abs(float(ticket.latitude) - 28.2282) < 0.01 and abs(float(ticket.longitude) - 112.9388) < 0.01


def test_photos_over_the_request_limit_are_stopped_before_sending(
    phone_page: Any, world: World, settings: Any
) -> None:
    """The server refuses an oversize upload unread (a 413 page, and the typed report would be gone);
    the page says so first and keeps what was typed."""
    settings.MAX_REQUEST_BYTES = 1024 * 1024
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    page.fill("#id_description", PROBLEM)
    big = {"name": "大图.png", "mimeType": "image/png", "buffer": b"\x89PNG" + b"0" * (2 * 1024 * 1024)}
    page.set_input_files("#photos", files=[big])
    page.click("main form.report-form button[type=submit]")
    alert = page.locator("form.report-form .size-error[role=alert]")
    alert.wait_for()
    assert "1 MB" in alert.inner_text() and "尚未发送" in alert.inner_text()
    assert page.url.endswith("/grid/report/") and page.input_value("#id_description") == PROBLEM
    check(page, "report-too-big")
    assert not Ticket.objects.exists()
    page.get_by_role("button", name="删除第 1 张照片").click()  # the photos add up: drop the big one
    page.set_input_files(
        "#photos", files=[{"name": "小图.png", "mimeType": "image/png", "buffer": png("green", (64, 48))}]
    )
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    assert Ticket.objects.get().attachments.count() == 1
