"""A resident on a phone (390×844, zh-CN) in a real browser: finds the consultation on her home,
reads the topic, supports a proposal, adds one and comments; a neighbour reports a comment; staff
call the meeting and record the result; she reads it on the public page, which needs no account
and masks names; then the same pages in elderly mode (larger text, nothing wider than the phone).
axe-core finds nothing serious on any of them (screenshots in var/screenshots/consult-*.png)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD
from shequ.participation.models import Comment, CommentStatus, Proposal, ReportReason, Support
from shequ.participation.services import consultations as services
from shequ.participation.tests.fixtures_consult import Consult

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"consult-{name}")
    assert axe_violations(page) == [], name


def test_a_resident_takes_part_on_her_phone_also_in_elderly_mode(phone_page: Any, consult: Consult) -> None:
    page = phone_page
    topic = consult.topic()
    staff_proposal = services.proposal_add(
        actor=consult["worker_a"], topic=topic, title="周六统一清理", body="物业派车，居民把杂物搬到楼下。"
    )
    services.comment_add(actor=consult["neighbour"], topic=topic, body="支持，楼道太窄了。")
    sign_in(page, "resident")
    assert "社区议事协商" in page.inner_text("main")
    page.click("main a[href='/participation/consult/']")
    page.wait_for_url("**/participation/consult/")
    check(page, "home")
    page.click("text=楼道堆物清理")
    page.wait_for_url(f"**/participation/consult/topics/{topic.pk}/")
    main = page.inner_text("main")
    assert "征集意见" in main and "钱*" in main and "钱伟" not in main
    check(page, "topic")

    with page.expect_navigation():
        page.click(f"#proposal-{staff_proposal.pk} button[type=submit]")
    assert "您已支持这个方案" in page.inner_text(".flash")
    assert Support.objects.filter(proposal=staff_proposal).count() == 1

    page.click("details.card summary")  # 添加方案
    page.fill("#proposal_title", "分单元轮流清理")
    page.fill("#proposal_body", "每周清理一个单元，避免一次堆太多。")
    with page.expect_navigation():
        page.click("form.cs-proposal-form button[type=submit]")
    assert Proposal.objects.filter(title="分单元轮流清理", author_person=consult.people["resident"]).exists()

    page.click("form.cs-comment-form button[type=submit]")  # empty: a clear error, nothing posted
    page.wait_for_load_state()
    assert "必填" in page.inner_text(".error-summary") or "必填" in page.inner_text("main")
    assert Comment.objects.filter(user=consult["resident"]).count() == 0
    check(page, "comment-error")
    page.fill("form.cs-comment-form textarea", "希望周末清理，平时要上班。")
    with page.expect_navigation():
        page.click("form.cs-comment-form button[type=submit]")
    mine = Comment.objects.get(user=consult["resident"])
    assert "希望周末清理" in page.inner_text(f"#comment-{mine.pk}")

    # Three neighbours report it; it is hidden for everyone but her and the moderators.
    for persona in ("neighbour", "third", "fourth"):
        services.comment_report(actor=consult[persona], comment=mine, reason=ReportReason.OFF_TOPIC)
    assert Comment.objects.get(pk=mine.pk).status == CommentStatus.HIDDEN_PENDING
    page.reload()
    assert "只有您和审核员能看到" in page.inner_text(f"#comment-{mine.pk}")
    page.click(f"#comment-{mine.pk} a")  # 对隐藏提出申诉
    page.wait_for_url(f"**/consult/comments/{mine.pk}/appeal/")
    check(page, "appeal")
    page.fill("#id_text", "我的留言和议题有关。")
    with page.expect_navigation():
        page.click("form.cs-appeal-form button[type=submit]")
    assert "申诉已提交" in page.inner_text(".flash")

    # Staff hold the meeting and record the result.
    worker = consult["worker_a"]
    topic = services.meeting_schedule(
        actor=worker, topic=topic, at=timezone.now() - dt.timedelta(hours=1), place="社区活动室"
    )
    services.meeting_record(
        actor=worker,
        topic=topic,
        participants="居民代表7人、物业1人",
        participant_count=8,
        minutes="同意周六清理。",
    )
    services.topic_decide(
        actor=worker,
        topic=topic,
        decision="本周六上午统一清理。",
        votes_for=6,
        votes_against=1,
        votes_abstain=1,
    )
    page.reload()
    main = page.inner_text("main")
    assert "本周六上午统一清理" in main and "赞成" in main
    check(page, "topic-decided")

    # The public page: no account, names masked, the hidden comment without its text.
    public = page.context.browser.new_context(
        viewport=PHONE, locale="zh-CN", base_url=page.url.split("/participation")[0]
    )
    anon = public.new_page()
    anon.goto(f"/participation/consult/public/topics/{topic.pk}/")
    text = anon.inner_text("main")
    assert "此留言已被隐藏" in text and "希望周末清理" not in text and "赵*" in text and "赵丽华" not in text
    check(anon, "public-topic")
    public.close()

    # Elderly mode: larger text, the same pages still fit and pass.
    base = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    toggle_elderly(page)
    assert page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)") > base
    page.goto(f"/participation/consult/topics/{topic.pk}/")
    check(page, "topic-elderly")
    page.goto("/participation/consult/")
    check(page, "home-elderly")
    page.goto("/participation/consult/propose/")
    check(page, "propose-elderly")


def test_staff_run_a_topic_and_moderate_on_a_phone(phone_page: Any, consult: Consult) -> None:
    """A community worker opens a topic, calls the meeting from the page, and clears the
    moderation queue; the community's public list: one h1, no sideways scrolling, axe-core clean."""
    page = phone_page
    topic = consult.topic()
    spam = services.comment_add(actor=consult["neighbour"], topic=topic, body="代办证件，电话13900001234")
    for persona in ("resident", "third", "fourth"):
        services.comment_report(actor=consult[persona], comment=spam, reason=ReportReason.ADVERTISING)
    sign_in(page, "worker_a")
    page.goto("/participation/consult/staff/new/")
    check(page, "staff-new")
    page.goto(f"/participation/consult/staff/topics/{topic.pk}/")
    check(page, "staff-topic")
    page.click("#step-meeting summary")
    when = (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#meeting_meeting_at", when)
    with page.expect_navigation():
        page.click("#step-meeting button[type=submit]")  # no place, no link: a clear error
    assert "请填写会议地点或线上会议链接" in page.inner_text("main")
    check(page, "staff-topic-error")
    page.fill("#meeting_meeting_place", "社区活动室")
    with page.expect_navigation():
        page.click("#step-meeting button[type=submit]")
    assert "协商会议已召集" in page.inner_text(".flash")
    page.goto("/participation/consult/moderation/")
    assert "代办证件" in page.inner_text("main") and "广告 ×3" in page.inner_text("main")
    check(page, "moderation")
    page.fill(f"#reason-{spam.pk}", "广告")
    with page.expect_navigation():
        page.click(f"#comment-{spam.pk} button[value=hide]")
    assert Comment.objects.get(pk=spam.pk).status == CommentStatus.HIDDEN
    page.goto("/participation/consult/public/430104002001/")
    check(page, "public-list")
