"""The daily check-in pages on a 390×844 phone: one h1, no horizontal scrolling, no serious
axe-core violation, also in elderly mode; a community head starts a check-in by hand and follows
its first round."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.core import inbound
from shequ.emergency.models import CheckInCampaign, Mobilization
from shequ.emergency.services import checkins
from shequ.emergency.tests.conftest import Registry

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
    screenshot(page, f"emergency-{name}")
    assert axe_violations(page) == [], name


def test_a_head_starts_a_daily_check_in_on_a_phone(phone_page: Any, town: Registry) -> None:
    page = phone_page
    sign_in(page, "head_a")
    page.goto("/emergency/checkins/")
    check(page, "checkins-empty")
    page.click("text=发起每日报平安")
    page.wait_for_url("**/emergency/checkins/new/")
    check(page, "checkin-new")
    today = timezone.localdate()
    page.fill("#id_title", "每日健康打卡")
    page.fill("#id_question", "今天您和家人身体是否正常？有发热、咳嗽请回复2。")
    page.fill("#id_region", "430104002001")
    page.fill("#id_starts_on", (today + dt.timedelta(days=3)).isoformat())
    page.fill("#id_ends_on", today.isoformat())
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "最后一天不能早于开始日期" in page.inner_text("main")
    check(page, "checkin-new-error")
    assert not CheckInCampaign.objects.exists()
    page.fill("#id_starts_on", today.isoformat())
    page.fill("#id_ends_on", (today + dt.timedelta(days=13)).isoformat())
    page.fill("#id_send_at", "08:00")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/emergency/checkins/*/")
    campaign = CheckInCampaign.objects.get()
    check(page, "checkin-waiting")
    # The first round goes out; 张三 answers by SMS.
    checkins.rounds_due(now=timezone.make_aware(dt.datetime.combine(today, dt.time(8, 5))))
    inbound.receive([inbound.Incoming("mo-browser-1", "13811112222", "2 咳嗽", timezone.now())])
    page.reload()
    round_ = Mobilization.objects.get(campaign=campaign)
    assert page.locator(f'a[href="/emergency/callouts/{round_.pk}/"]').count() == 1
    check(page, "checkin-detail")
    toggle_elderly(page)  # elderly mode
    check(page, "checkin-detail-elderly")
    page.goto("/emergency/checkins/")
    check(page, "checkins")
