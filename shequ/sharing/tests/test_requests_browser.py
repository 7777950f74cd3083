"""The data-request form and the dead-letter view on a 390×844 phone: one h1, no horizontal
scrolling, no serious axe-core violation, with errors shown and in elderly mode; the flow works
by hand (file a request; send a failed delivery again)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.sharing.models import DataRequest, DeliveryState, WebhookDelivery
from shequ.sharing.services import subscriptions
from shequ.sharing.tests.reqsub_world import COMMUNITY_A, Sharing, sharing_fixture  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_as(page: Any, live_server: Any, user: Any, path: str) -> None:
    """Sign in by session cookie: these tests are about the pages, the sign-in flow has its own."""
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(path)


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"sharing-{name}")
    assert axe_violations(page) == [], name


def test_the_request_form_on_a_phone(phone_page: Any, live_server: Any, sharing: Sharing) -> None:
    page = phone_page
    open_as(page, live_server, sharing["dept"], "/sharing/requests/new/")
    check(page, "request-choose")
    page.select_option("#id_resource", "people")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    check(page, "request-form")
    with page.expect_navigation():
        page.click("main form button[type=submit]")  # nothing filled in
    assert page.locator("[aria-invalid=true]").count() > 0 or page.locator(".errorlist").count() > 0
    check(page, "request-form-errors")
    page.check("input[name=field_keys][value=name]")
    page.check("input[name=field_keys][value=phone]")
    page.check("input[name=unmasked][value=phone]")
    page.check(f"input[name=regions][value='{sharing.world.regions[COMMUNITY_A].pk}']")
    page.fill("#id_purpose", "流动人口服务管理核查")
    page.fill("#id_legal_basis", "《居住证暂行条例》第四条")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    req = DataRequest.objects.get()
    assert page.url.endswith(f"/sharing/requests/{req.pk}/")
    check(page, "request-detail")
    toggle_elderly(page)
    check(page, "request-detail-elderly")
    open_as(page, live_server, sharing.owner, f"/sharing/requests/{req.pk}/")
    check(page, "request-decide")


def test_the_dead_letter_view_on_a_phone(phone_page: Any, live_server: Any, sharing: Sharing) -> None:
    grant = sharing.grant(["name", "sex"])
    sub, _secret = subscriptions.subscription_create(
        actor=sharing["secadmin"],
        grant=grant,
        events=["registry.person_moved_out"],
        region_codes=[COMMUNITY_A],
        url="https://police.example/hook",
    )
    with transaction.atomic():
        [delivery] = subscriptions.fan_out(
            "registry.person_moved_out", "people", sharing.people["a"].pk, COMMUNITY_A
        )
    subscriptions.delivery_give_up(delivery.pk, "HTTP 502")
    page = phone_page
    open_as(page, live_server, sharing["secadmin"], "/sharing/subscriptions/dead/")
    check(page, "dead-letters")
    toggle_elderly(page)
    check(page, "dead-letters-elderly")
    with page.expect_navigation():
        page.click("main form[action$='/redeliver/'] button")
    assert WebhookDelivery.objects.get(pk=delivery.pk).state == DeliveryState.PENDING
    check(page, "dead-letters-after")
    page.goto(f"/sharing/subscriptions/{sub.pk}/")
    check(page, "subscription-detail")
