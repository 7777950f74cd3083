"""The staff pages of the grid in a real browser on a phone: the community queue, the ticket page
with its steps open, the department portal, the supervision page and the staff entry form. Each
fits the phone and axe-core finds no serious or critical violation, in the normal and the elderly
mode. Screenshots: var/screenshots/grid-staff-*.png."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.grid import services
from shequ.grid.models import Category, Status, Ticket
from shequ.grid.tests.conftest import GRID_A, new_ticket, png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def as_user(page: Any, live_server: Any, user: Any) -> None:
    """Sign the page's browser in with a session cookie (street-level staff need TOTP; the second
    factor has its own browser test)."""
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"grid-staff-{name}")
    assert axe_violations(page) == [], (name, axe_violations(page))


def both_modes(page: Any, name: str) -> None:
    check(page, name)
    toggle_elderly(page)
    check(page, f"{name}-elderly")
    toggle_elderly(page)


@pytest.fixture
def street_day(world: World) -> dict[str, Ticket]:
    resident = world["resident"]
    fresh = services.ticket_submit(
        actor=resident,
        source="resident",
        region=world.regions[GRID_A],
        title="小区门口路灯不亮",
        description="3栋门口的路灯坏了一个星期，晚上老人出门看不清路。",
        contact_name="王阿姨",
        contact_phone="13912345678",
        photos=[png("orange", (320, 240))],
    )
    services.suggest(fresh, category=Category.objects.get(code="security.public_order"), confidence=0.74)
    urgent = new_ticket(world, title="楼道里有很重的煤气味", code="safety.gas", urgency="urgent")
    late = new_ticket(world, title="垃圾站两天没人清运", code="environment.garbage")
    Ticket.objects.filter(pk=late.pk).update(
        warn_at=timezone.now() - dt.timedelta(hours=3), due_at=timezone.now() - dt.timedelta(hours=1)
    )
    sent = []
    for title in ("夜间施工噪音扰民", "小区门口有人聚集", "电动车楼道充电"):
        t = new_ticket(world, title=title)
        t = services.ticket_accept(actor=world["worker_a"], ticket=t)
        sent.append(services.ticket_dispatch(actor=world["worker_a"], ticket=t, department=world.department))
    services.ticket_department_accept(actor=world["dept"], ticket=sent[0])
    services.extension_request(
        actor=world["dept"], ticket=sent[0], days=3, reason="需要协调施工单位，时间不够"
    )
    return {"fresh": fresh, "urgent": urgent, "late": late, "sent": sent[1]}


def test_staff_pages_on_a_phone(
    phone_page: Any, live_server: Any, world: World, street_day: dict[str, Ticket]
) -> None:
    page = phone_page
    page.set_default_timeout(60000)  # a shared CI machine can be slow to render the first page

    # The community worker's queue: the overdue ticket in red with its words, the urgent one next.
    as_user(page, live_server, world["worker_a"])
    page.goto("/grid/")
    assert page.locator(".state-red").count() >= 1
    assert "已超期" in page.content() or "Overdue" in page.content()
    both_modes(page, "queue")

    # The ticket page with the accept step open (the classifier's suggestion preselected).
    page.click(f"a[href='/grid/tickets/{street_day['fresh'].pk}/']")
    page.wait_for_url(f"**/grid/tickets/{street_day['fresh'].pk}/")
    page.click("#step-accept summary")
    assert page.locator("#id_accept-category").input_value() == "security.public_order"
    assert page.locator(".photos:not(.small) img").count() == 1
    assert page.locator(".timeline .photos.small img").count() == 1  # the report's step shows it too
    both_modes(page, "ticket")
    # An empty result on "close on the spot": the form comes back with its error, nothing changes.
    page.click("#step-close_on_spot summary")
    with page.expect_navigation():
        page.click("#step-close_on_spot button[type=submit]")
    assert page.locator("#step-close_on_spot[open] .errorlist").count() == 1
    check(page, "ticket-error")
    page.click("#step-accept summary")
    with page.expect_navigation():
        page.click("#step-accept button[type=submit]")
    assert Ticket.objects.get(pk=street_day["fresh"].pk).status == Status.ACCEPTED

    # The staff entry form.
    page.goto("/grid/tickets/new/")
    both_modes(page, "new")

    # The department portal: choose all, accept in bulk.
    as_user(page, live_server, world["dept"])
    page.goto("/grid/department/")
    both_modes(page, "department")
    page.check("#select-all")
    with page.expect_navigation():
        page.click("button[name=action][value=accept]")
    check(page, "department-after-bulk")
    assert Ticket.objects.get(pk=street_day["sent"].pk).status == Status.DEPT_ACCEPTED

    # The community head's supervision page, with the request for more time.
    as_user(page, live_server, world["head_a"])
    page.goto("/grid/supervision/")
    assert "需要协调施工单位" in page.content()
    both_modes(page, "supervision")
