"""The whole call-out in real browsers (issue 12): the community head signs in, issues a (drill)
rainstorm warning and mobilizes through the form with its preview; two residents answer on
phone-sized pages opened from their SMS links (one safe, one needing help, with where she is); the
officer's roll-call updates without a reload; a silent resident is sent again and passed to the
grid worker, and the marker appears on the page; the officer records an answer reached by phone,
closes the call-out and reads the report. Every page fits the phone and axe-core finds no serious
violation (the answer page in the elderly mode too). Screenshots: var/screenshots/emergency-*.png.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.core import messaging, outbox, region_shapes
from shequ.core.models import Message
from shequ.emergency.models import Answer, Mobilization, MobilizationStatus, Recipient
from shequ.emergency.services import answers, mobilization, warnings
from shequ.emergency.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, Registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = "今晚至明晨有特大暴雨，麓山南路低洼处住户请立即做好转移准备，听从网格员安排。"


def check(page: Any, name: str) -> None:
    """One h1, fits the phone, no serious axe violation; screenshot."""
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"emergency-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


def square(code: str, lng: float, lat: float) -> dict[str, Any]:
    d = 0.004
    ring = [[lng, lat], [lng + d, lat], [lng + d, lat + d], [lng, lat + d], [lng, lat]]
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def answer_link(call: Mobilization, person_id: int) -> str:
    message = Message.objects.get(
        topic=answers.TOPIC, topic_ref=str(call.pk), contact_ref=f"registry.person:{person_id}"
    )
    link = messaging.message_link(message)
    assert link == f"/emergency/answer/{messaging.message_token(message.pk)}/"
    return link


def resident_page(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def test_a_call_out_from_warning_to_report(
    phone_page: Any, browser: Any, live_server: Any, town: Registry
) -> None:
    region_shapes.shapes_import(
        actor=None,
        collection={
            "type": "FeatureCollection",
            "features": [square(GRID_A, 112.930, 28.220), square(GRID_B, 112.934, 28.220)],
        },
    )
    officer = phone_page
    head_a = town.world["head_a"]

    # The warning (the warnings pages are another page area): drafted and issued as a drill.
    warning = warnings.warning_draft(
        actor=head_a,
        kind="rainstorm",
        level=3,
        title="暴雨橙色预警",
        text=BODY,
        area_codes=[COMMUNITY_A],
        is_drill=True,
    )
    warnings.warning_issue(actor=head_a, warning=warning)

    # The officer mobilizes from the warning: the form comes filled in.
    sign_in(officer, "head_a")
    officer.goto(f"/emergency/callouts/new/?warning={warning.pk}")
    assert officer.input_value("#id_title") == "暴雨橙色预警"
    assert officer.is_checked("#id_assistance") and officer.is_checked("#id_is_drill")
    # Bad input first: an empty message is refused, nothing is sent.
    officer.fill("#id_body", "")
    officer.check(f"input[name=residents][value='{COMMUNITY_A}']")
    with officer.expect_navigation():
        officer.click("form.callout-form button[type=submit]")
    assert officer.locator("#id_body[aria-invalid=true]").count() == 1
    assert not Mobilization.objects.exists()
    check(officer, "callout-new-errors")
    officer.fill("#id_body", BODY)
    count = officer.locator("#body-count").inner_text()
    assert str(len(BODY)) in count and "400" in count  # the live character count
    officer.check(f"input[name=residents][value='{COMMUNITY_A}']")
    officer.check("#id_staff")
    officer.fill("#id_resend_after_minutes", "5")
    officer.fill("#id_escalate_after_minutes", "15")
    check(officer, "callout-new")
    with officer.expect_navigation():
        officer.click("form.callout-form button[type=submit]")
    reach = officer.locator("#reach").inner_text()
    assert "将通知" in reach and "【演练】" in officer.content()
    assert not Mobilization.objects.exists()  # a preview sends nothing
    check(officer, "callout-preview")
    with officer.expect_navigation():
        officer.click("button.send-button")
    call = Mobilization.objects.get()
    assert officer.url.endswith(f"/emergency/callouts/{call.pk}/")
    assert call.is_drill and call.warning == warning and call.total >= 5
    assert reach.count(str(call.total)) >= 1
    officer.wait_for_selector("#map path.map-region")  # the grids on the map
    assert officer.locator("#answered-count").inner_text() == "0"
    check(officer, "rollcall-sent")
    officer.evaluate("() => { window.notReloaded = true; }")

    # Two residents answer from the links of their SMS, on their phones (no account).
    zhao = resident_page(browser, live_server)
    zhao.goto(answer_link(call, town.people["a2"].pk))
    assert "【演练】" in zhao.content() and BODY in zhao.content()
    check(zhao, "answer")
    with zhao.expect_navigation():
        zhao.click("button.big-answer[value=safe]")
    assert "您的回答：安全" in zhao.locator("#answered").inner_text()
    check(zhao, "answer-safe")

    zhang = resident_page(browser, live_server)
    zhang.goto(answer_link(call, town.people["a"].pk))
    toggle_elderly(zhang)  # the elderly mode
    zhang.wait_for_selector("html.elderly")
    zhang.fill("#id_location", "5栋楼顶")
    check(zhang, "answer-elderly")
    with zhang.expect_navigation():
        zhang.click("button.big-answer[value=help]")
    answered = zhang.locator("#answered").inner_text()
    assert "需要帮助" in answered and "110" in answered
    assert zhang.locator("a[href='tel:110']").count() == 1 and zhang.locator("a[href='tel:120']").count() == 1
    check(zhang, "answer-help")
    outbox.run_pending()  # the worker: the help answer becomes an urgent grid ticket

    # The roll-call updates by itself (htmx), without a reload.
    officer.wait_for_function("() => document.getElementById('answered-count').textContent.trim() === '2'")
    assert officer.evaluate("() => window.notReloaded === true")
    help_list = officer.locator(".help-list")
    help_list.locator("a[href^='/grid/tickets/']").wait_for()
    assert "张三" in help_list.inner_text() and "5栋楼顶" in help_list.inner_text()
    assert "赵六" not in officer.locator(".silent-list").all_inner_texts()[0]

    # Those still silent are sent again, then passed to their grid worker: the marker appears.
    later = timezone.now()
    assert mobilization.resend_due(call, now=later + timedelta(minutes=6)) > 0
    assert mobilization.escalate_due(call, now=later + timedelta(minutes=16)) > 0
    li = Recipient.objects.get(mobilization=call, person_id=town.people["b"].pk)
    row = officer.locator(f".silent-row[data-recipient='{li.pk}']")
    row.locator(".escalated").wait_for()
    assert "已转交网格员" in row.inner_text() and "已发送 2 次" in row.inner_text()
    assert officer.evaluate("() => window.notReloaded === true")
    check(officer, "rollcall-escalated")

    # The grid worker reached 李四 by phone and the officer records it.
    with officer.expect_navigation():
        row.locator("a.record-link").click()
    check(officer, "record")
    officer.select_option("#id_answer", Answer.SAFE)
    officer.fill("#id_note", "21:40 电话联系，已到亲戚家")
    with officer.expect_navigation():
        officer.click("main form button[type=submit]")
    li.refresh_from_db()
    assert li.answer == Answer.SAFE and li.via == "staff"

    # Closing stops the polling; the report has the timeline and the names.
    with officer.expect_navigation():
        officer.click("button.danger")
    call.refresh_from_db()
    assert call.status == MobilizationStatus.CLOSED
    assert officer.locator("#rollcall[hx-trigger]").count() == 0
    check(officer, "rollcall-closed")
    officer.goto(f"/emergency/callouts/{call.pk}/report/")
    text = officer.content()
    assert "张三 应答“需要帮助”" in text and "已结束" in text and "【演练】" in text
    check(officer, "report")
    officer.goto("/emergency/callouts/")
    assert "【演练】暴雨橙色预警" in officer.locator(".callout-list").inner_text()
    check(officer, "callouts")
    # The resident's page after closing: a clear message, the answer kept.
    zhao.reload()
    assert "本次动员已结束" in zhao.content() and zhao.locator("button.big-answer").count() == 0
    check(zhao, "answer-closed")
    # A link altered on the way: the page says so, in Chinese, with the numbers to call.
    zhao.goto(answer_link(call, town.people["a2"].pk)[:-3] + "x/")
    assert "链接无效" in zhao.locator("h1").inner_text() and zhao.locator("a[href='tel:119']").count() == 1
    check(zhao, "answer-invalid")
