"""The on-duty roster in a real browser on a 390×844 phone: a community head adds a night shift and
sees it on the roster; the page fits the phone and axe-core finds no serious or critical violation
(also with form errors and in the elderly mode)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.browser import axe_violations, screenshot
from shequ.conftest import World
from shequ.core import duty
from shequ.core.models import DutyShift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A = "430104002001"


def open_as(page: Any, live_server: Any, user: Any, path: str) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(path)


def test_add_a_night_shift_on_a_phone(phone_page: Any, live_server: Any, world: World) -> None:
    duty.fallback_set(actor=None, region_code=A, user=world["head_a"])
    open_as(phone_page, live_server, world["head_a"], "/duty/")
    assert phone_page.url.endswith(f"/duty/{A}/")  # the head's only roster
    assert phone_page.locator("#now-heading").inner_text() == "现在值班"
    assert "head_a" in phone_page.locator(".duty-now").inner_text()
    assert axe_violations(phone_page) == []

    tomorrow = timezone.localtime(timezone.now(), duty.local_zone()).date() + timedelta(days=1)
    phone_page.select_option("#id_shift-user", label="grid_a")
    phone_page.fill("#id_shift-day", tomorrow.isoformat())
    phone_page.fill("#id_shift-start", "17:30")
    phone_page.fill("#id_shift-end", "08:30")
    phone_page.fill("#id_shift-note", "夜班")
    phone_page.click("text=添加班次 >> nth=-1")
    phone_page.wait_for_load_state()
    assert "grid_a" in phone_page.locator(".flash").inner_text()
    shift = DutyShift.objects.get()
    assert shift.ends_at - shift.starts_at == timedelta(hours=15)
    night = phone_page.locator(".duty-shift", has_text="grid_a").first
    assert "17:30" in night.inner_text() and "次日 08:30" in night.inner_text()
    screenshot(phone_page, "duty-roster")
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert axe_violations(phone_page) == []

    # The same night again: refused, the error summary on top, nothing added.
    phone_page.select_option("#id_shift-user", label="grid_a")
    phone_page.fill("#id_shift-day", tomorrow.isoformat())
    phone_page.fill("#id_shift-start", "20:00")
    phone_page.fill("#id_shift-end", "23:00")
    phone_page.click("text=添加班次 >> nth=-1")
    phone_page.wait_for_load_state()
    assert phone_page.locator("[data-error-summary]").count() == 1
    assert DutyShift.objects.count() == 1
    screenshot(phone_page, "duty-roster-errors")
    assert axe_violations(phone_page) == []

    # Remove it again, after the confirmation step.
    phone_page.locator(".duty-remove summary").first.click()
    phone_page.locator(".duty-remove button").first.click()
    phone_page.wait_for_load_state()
    assert not DutyShift.objects.exists()


def test_roster_in_elderly_mode_passes_axe(phone_page: Any, live_server: Any, world: World) -> None:
    user = world["street"]
    user.elderly_mode = True
    user.save()
    open_as(phone_page, live_server, user, f"/duty/{A}/")
    assert phone_page.locator("html.elderly").count() == 1
    screenshot(phone_page, "duty-roster-elderly")
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert axe_violations(phone_page) == []
