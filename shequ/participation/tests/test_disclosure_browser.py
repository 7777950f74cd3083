"""Disclosure on a phone (390×844, zh-CN) in a real browser: the public board and an item with its
masked list need no sign-in; a resident opens 居务公开 from the menu, challenges one row of the list and
reads the community's answer; staff write and publish a finance item, see what is due, answer; the
street's supervision page. axe-core finds nothing serious, every page fits the phone, and elderly
mode works (screenshots in var/screenshots/participation-disclosure-*.png)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import PASSWORD
from shequ.participation.models import DisclosureItem, DisclosureQuestion, QuestionStatus
from shequ.participation.services.disclosure import questions as q
from shequ.participation.tests.fixtures_disclosure import Disc, rows_text
from shequ.registry.tests.conftest import COMMUNITY_A

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    """One h1, fits the phone, no serious axe violation; screenshot."""
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"participation-disclosure-{name}")
    assert axe_violations(page) == [], name


def sign_in(page: Any, username: str, totp_secret: str = "") -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    if totp_secret:  # staff above the community sign in with a second factor
        import pyotp

        page.wait_for_url("**/login/second-factor/")
        page.fill("#id_code", pyotp.TOTP(totp_secret).now())
        page.click("main form[action='/login/second-factor/'] button[type=submit]")
    page.wait_for_url("**/")


def test_disclosure_on_a_phone(disc: Disc, phone_page: Any) -> None:
    lines, ids = rows_text(disc.reg, 4)
    item = disc.item(rows=lines)
    answered = q.question_ask(actor=disc["resident"], item=item, kind="question", body="低保金每月几号发放？")
    q.question_answer(actor=disc["worker_a"], question=answered, answer="每月10日前发放到社保卡。")
    page = phone_page

    # The public board, signed out.
    page.goto(f"/participation/disclosure/board/{COMMUNITY_A}/")
    assert item.title in page.inner_text("main") and "每月10日前" in page.inner_text("main")
    check(page, "board")
    page.click(f"a[href='/participation/disclosure/board/{COMMUNITY_A}/{item.pk}/']")
    main = page.inner_text("main")
    assert "张*明" in main and ids[0] not in main and "王*明" in main
    check(page, "board-item")

    # The resident: the menu entry, the item, a challenge of row 2.
    sign_in(page, "resident")
    page.goto("/me/")
    page.click("main a[href='/participation/disclosure/mine/']")
    page.wait_for_url("**/participation/disclosure/mine/")
    check(page, "mine")
    page.click(f"a[href='/participation/disclosure/board/{COMMUNITY_A}/']")
    page.click(f"a[href='/participation/disclosure/board/{COMMUNITY_A}/{item.pk}/']")
    page.click("text=质疑第2行")
    page.wait_for_url("**/ask/**")
    assert page.locator("input[name=kind][value=challenge]").is_checked()
    page.fill("#id_body", "第2行这户家里新买了车，还符合条件吗？")
    check(page, "ask")
    with page.expect_navigation():
        page.click("form.dc-form button[type=submit]")
    assert "已提交" in page.inner_text(".flash")
    challenge = DisclosureQuestion.objects.get(kind="challenge")
    assert challenge.row is not None and challenge.row.number == 2 and challenge.asker_masked == "王*明"

    # Staff answer it and write the month's finances.
    sign_in(page, "worker_a")
    page.goto(f"/participation/disclosure/questions/{challenge.pk}/")
    check(page, "question")
    page.fill("#id_answer", "经入户核查，车辆为亲属借用，该户仍符合条件。")
    with page.expect_navigation():
        page.click("form.dc-card button[type=submit]")
    challenge.refresh_from_db()
    assert challenge.status == QuestionStatus.ANSWERED
    page.goto("/participation/disclosure/new/")
    page.select_option("#id_kind", "finance")
    page.select_option("#id_period", "2026-11")
    page.fill("#id_title", "2026年11月财务收支公开")
    page.fill("#id_body", "本月收入5万元，支出3.2万元。")
    check(page, "new")
    with page.expect_navigation():
        page.click("form.dc-form button[type=submit]")
    finance = DisclosureItem.objects.get(title="2026年11月财务收支公开")
    check(page, "item")
    with page.expect_navigation():
        page.click("form[action$='/publish/'] button")
    finance.refresh_from_db()
    assert finance.is_published
    page.goto("/participation/disclosure/schedule/")
    assert "2026年11月" in page.inner_text("main")
    check(page, "schedule")
    page.goto(f"/participation/disclosure/{item.pk}/list/")
    check(page, "list")

    # The resident reads the answer, in elderly mode.
    sign_in(page, "resident")
    page.goto("/participation/disclosure/mine/")
    page.click("header form button.tool >> nth=0")
    page.wait_for_load_state()
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    assert "车辆为亲属借用" in page.inner_text("main")
    check(page, "mine-elderly")
    page.goto(f"/participation/disclosure/board/{COMMUNITY_A}/{item.pk}/")
    check(page, "board-item-elderly")

    # The street supervises: the overdue challenge, by community.
    from shequ.core.auth import totp_enrol_directly

    DisclosureQuestion.objects.filter(pk=challenge.pk).update(
        status=QuestionStatus.OPEN, answer="", answered_at=None
    )
    DisclosureQuestion.objects.filter(pk=challenge.pk).update(
        due_at=challenge.asked_at - dt.timedelta(days=1)
    )
    sign_in(page, "street", totp_enrol_directly(disc["street"]))
    page.goto("/participation/disclosure/supervision/")
    main = page.inner_text("main")
    assert "民主监督" in main and "枇杷塘社区" in main and "第2行这户" not in main and "超期未答复" in main
    overdue = page.locator("ul[aria-labelledby=challenges-heading] li")
    assert overdue.count() == 1 and item.title in overdue.inner_text()
    check(page, "supervision")
