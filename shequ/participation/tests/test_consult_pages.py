"""The consultation pages through the browser's requests: public pages (no sign-in; names masked,
hidden comments without their text, staff-only attachments not served), residents' pages (topics
of their community; commenting, proposing, supporting, feedback, reporting, appealing; out-of-scope
residents told whose topic it is), staff pages (opening a topic, every step, wrong-stage steps
refused with nothing written, attachments audited) and the moderation queue.

The scope matrix uses sibling-region personas: community B's residents and staff (``resident_b``,
``head_b``) and the other street's ``outsider`` cannot see or act on community A's non-public pages;
grid workers read but do not run consultations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.core.models import AuditEntry, AuditResult
from shequ.grid.tests.conftest import png
from shequ.participation.models import (
    Comment,
    CommentStatus,
    Feedback,
    Proposal,
    ReportReason,
    Stage,
    Support,
    Topic,
    TopicFile,
    TopicStep,
)
from shequ.participation.services import consultations as services
from shequ.participation.tests.fixtures_consult import Consult
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A

pytestmark = pytest.mark.django_db

COVERED = {
    "participation:consult_public_list",
    "participation:consult_public_topic",
    "participation:consult_public_file",
    "participation:consult_home",
    "participation:consult_propose",
    "participation:consult_topic",
    "participation:consult_comment",
    "participation:consult_proposal_add",
    "participation:consult_feedback",
    "participation:consult_support",
    "participation:consult_report",
    "participation:consult_appeal",
    "participation:consult_staff_list",
    "participation:consult_staff_new",
    "participation:consult_staff_topic",
    "participation:consult_staff_act",
    "participation:consult_staff_file",
    "participation:consult_moderation",
    "participation:consult_moderate",
}


def as_user(consult: Consult, persona: str | None) -> Client:
    client = Client()
    if persona:
        client.force_login(consult[persona])
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def image(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(), content_type="image/png")


def rows() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (Topic, TopicStep, Proposal, Support, Comment, Feedback, TopicFile)
    )


# --- The scope matrix -------------------------------------------------------------------------------


@pytest.fixture
def scene(consult: Consult) -> dict[str, Any]:
    """A topic of community A at the meeting stage with a public and a staff-only attachment, a
    proposal, a visible and a hidden comment (with an appeal page for its author)."""
    worker = consult["worker_a"]
    topic = consult.topic()
    proposal = services.proposal_add(
        actor=consult["resident"], topic=topic, title="集中清理", body="周六上午"
    )
    visible = services.comment_add(actor=consult["resident"], topic=topic, body="支持周六清理")
    hidden = services.comment_add(actor=consult["neighbour"], topic=topic, body="楼上老王就是个骗子")
    services.comment_hide(actor=worker, comment=hidden, reason="人身攻击")
    topic = services.meeting_schedule(
        actor=worker, topic=topic, at=timezone.now() - dt.timedelta(hours=1), place="活动室"
    )
    services.meeting_record(
        actor=worker,
        topic=topic,
        participants="居民代表6人",
        participant_count=6,
        minutes="纪要",
        files=[image()],
        files_public=True,
    )
    services.meeting_record(
        actor=worker,
        topic=topic,
        participants="居民代表6人",
        participant_count=6,
        minutes="纪要",
        files=[image("sign.png")],
    )
    public_file, staff_file = TopicFile.objects.order_by("pk")
    proposed = services.topic_propose(actor=consult["resident"], title="装快递柜", description="快递常丢")
    return {
        "topic": topic,
        "proposal": proposal,
        "visible": visible,
        "hidden": hidden,
        "public_file": public_file,
        "staff_file": staff_file,
        "proposed": proposed,
    }


def test_public_pages_need_no_account_and_show_only_what_is_public(
    consult: Consult, scene: dict[str, Any]
) -> None:
    anon = Client()
    topic = scene["topic"]
    listing = anon.get(reverse("participation:consult_public_list", args=[COMMUNITY_A]))
    assert listing.status_code == 200 and "楼道堆物清理" in text(listing) and "装快递柜" not in text(listing)
    assert (
        anon.get(reverse("participation:consult_public_list", args=["430104002"])).status_code == 404
    )  # a street
    assert "楼道堆物清理" not in text(
        anon.get(reverse("participation:consult_public_list", args=[COMMUNITY_B]))
    )
    page = text(anon.get(reverse("participation:consult_public_topic", args=[topic.pk])))
    assert "支持周六清理" in page and "赵*" in page and "赵丽华" not in page
    assert "此留言已被隐藏" in page and "老王" not in page and "钱伟" not in page and "人身攻击" not in page
    assert "居民代表6人" in page and "活动室" in page and "集中清理" in page
    assert scene["public_file"].token in page and scene["staff_file"].token not in page
    assert (
        anon.get(reverse("participation:consult_public_topic", args=[scene["proposed"].pk])).status_code
        == 404
    )
    served = anon.get(
        reverse("participation:consult_public_file", args=[topic.pk, scene["public_file"].token])
    )
    assert (
        served.status_code == 200
        and served["Content-Type"] == "image/png"
        and served.content.startswith(b"\x89PNG")
    )
    assert (
        anon.get(
            reverse("participation:consult_public_file", args=[topic.pk, scene["staff_file"].token])
        ).status_code
        == 404
    )
    assert (
        anon.get(
            reverse("participation:consult_public_file", args=[scene["proposed"].pk, "x" * 32])
        ).status_code
        == 404
    )


RESIDENT_GETS = [
    ("participation:consult_topic", "topic"),
    ("participation:consult_report", "visible"),
    ("participation:consult_appeal", "hidden"),
]
RESIDENT_POSTS = [
    ("participation:consult_comment", "topic", {"body": "外区居民的话"}),
    ("participation:consult_proposal_add", "topic", {"title": "t", "body": "b"}),
    ("participation:consult_feedback", "topic", {"satisfied": "yes"}),
    ("participation:consult_support", "proposal", {}),
    ("participation:consult_report", "visible", {"reason": "abuse"}),
    ("participation:consult_appeal", "hidden", {"text": "申诉"}),
]


@pytest.mark.parametrize("persona", ["resident_b", "head_b", "outsider", "worker_a", "street"])
def test_residents_pages_of_community_a_are_404_to_everyone_not_resident_there(
    consult: Consult, scene: dict[str, Any], persona: str
) -> None:
    client = as_user(consult, persona)
    before = rows()
    for name, key in RESIDENT_GETS:
        assert client.get(reverse(name, args=[scene[key].pk])).status_code == 404, name
    for name, key, data in RESIDENT_POSTS:
        assert client.post(reverse(name, args=[scene[key].pk]), data).status_code == 404, name
    assert rows() == before
    home = text(client.get(reverse("participation:consult_home")))
    assert "楼道堆物清理" not in home


def test_residents_pages_need_a_sign_in(scene: dict[str, Any]) -> None:
    anon = Client()
    for name, key in RESIDENT_GETS:
        response = anon.get(reverse(name, args=[scene[key].pk]))
        assert response.status_code == 302 and "/login/" in response["Location"]
    for name in (
        "participation:consult_home",
        "participation:consult_propose",
        "participation:consult_staff_list",
    ):
        assert "/login/" in anon.get(reverse(name))["Location"]


STAFF_GETS = [
    ("participation:consult_staff_topic", lambda s: [s["topic"].pk]),
    ("participation:consult_staff_file", lambda s: [s["topic"].pk, s["staff_file"].token]),
]


@pytest.mark.parametrize("persona", ["head_b", "outsider"])
def test_staff_pages_of_community_a_are_404_to_sibling_staff(
    consult: Consult, scene: dict[str, Any], persona: str
) -> None:
    client = as_user(consult, persona)
    for name, args in STAFF_GETS:
        assert client.get(reverse(name, args=args(scene))).status_code == 404, name
    before = rows()
    act = client.post(
        reverse("participation:consult_staff_act", args=[scene["topic"].pk]),
        {"action": "decide", "decision": "x"},
    )
    assert act.status_code == 404
    moderate = client.post(
        reverse("participation:consult_moderate", args=[scene["hidden"].pk]),
        {"action": "restore", "reason": "r"},
    )
    assert moderate.status_code == 404
    assert Comment.objects.get(pk=scene["hidden"].pk).status == CommentStatus.HIDDEN and rows() == before
    listing = text(client.get(reverse("participation:consult_staff_list")))
    assert "楼道堆物清理" not in listing and "装快递柜" not in listing
    assert "楼上老王" not in text(client.get(reverse("participation:consult_moderation")))
    # Opening a topic in community A from community B: the region is not offered, nothing is written.
    response = client.post(
        reverse("participation:consult_staff_new"), {"region": COMMUNITY_A, "title": "t", "description": "d"}
    )
    assert response.status_code in (400, 403) and rows() == before


def test_grid_workers_read_but_do_not_run_or_moderate(consult: Consult, scene: dict[str, Any]) -> None:
    client = as_user(consult, "grid_a")
    assert (
        client.get(reverse("participation:consult_staff_topic", args=[scene["topic"].pk])).status_code == 200
    )
    before = rows()
    response = client.post(
        reverse("participation:consult_staff_act", args=[scene["topic"].pk]),
        {"action": "decide", "decision": "x"},
    )
    assert response.status_code == 403 and rows() == before
    assert client.get(reverse("participation:consult_staff_new")).status_code == 403
    assert client.get(reverse("participation:consult_moderation")).status_code == 403
    assert (
        client.post(
            reverse("participation:consult_moderate", args=[scene["hidden"].pk]),
            {"action": "restore", "reason": "r"},
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).count() >= 3


def test_residents_cannot_open_staff_pages(consult: Consult, scene: dict[str, Any]) -> None:
    client = as_user(consult, "resident")
    for name, args in [
        ("participation:consult_staff_list", []),
        ("participation:consult_staff_new", []),
        ("participation:consult_moderation", []),
        ("participation:consult_staff_topic", [scene["topic"].pk]),
        ("participation:consult_staff_file", [scene["topic"].pk, scene["staff_file"].token]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403, name


def test_staff_open_attachments_audited(consult: Consult, scene: dict[str, Any]) -> None:
    client = as_user(consult, "worker_a")
    response = client.get(
        reverse("participation:consult_staff_file", args=[scene["topic"].pk, scene["staff_file"].token])
    )
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert (
        AuditEntry.objects.filter(
            action="participation.consult_file_read", object_id=str(scene["topic"].pk)
        ).count()
        == 1
    )
    page = text(client.get(reverse("participation:consult_staff_topic", args=[scene["topic"].pk])))
    assert "钱伟" in page and "楼上老王" in page  # staff read the hidden comment and full names


# --- Residents -------------------------------------------------------------------------------------


def test_a_resident_comments_proposes_and_supports_on_their_phone_pages(consult: Consult) -> None:
    topic = consult.topic()
    client = as_user(consult, "resident")
    home = text(client.get(reverse("participation:consult_home")))
    assert "楼道堆物清理" in home and "议事协商" in home
    page = text(client.get(reverse("participation:consult_topic", args=[topic.pk])))
    assert "发表留言" in page and "添加方案" in page
    response = client.post(
        reverse("participation:consult_comment", args=[topic.pk]), {"body": "同意周六清理"}
    )
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.author_name == "赵丽华" and response["Location"].endswith(f"#comment-{comment.pk}")
    assert (
        client.post(reverse("participation:consult_comment", args=[topic.pk]), {"body": ""}).status_code
        == 400
    )
    assert (
        client.post(
            reverse("participation:consult_proposal_add", args=[topic.pk]),
            {"title": "周六清理", "body": "上午九点"},
        ).status_code
        == 302
    )
    proposal = Proposal.objects.get()
    neighbour = as_user(consult, "neighbour")
    assert neighbour.post(reverse("participation:consult_support", args=[proposal.pk])).status_code == 302
    again = neighbour.post(reverse("participation:consult_support", args=[proposal.pk]))
    assert again.status_code == 400 and "已经支持" in text(again)
    assert Support.objects.count() == 1
    page = text(neighbour.get(reverse("participation:consult_topic", args=[topic.pk])))
    assert "撤回支持" in page and "1 人支持" in page and "赵*" in page
    assert (
        neighbour.post(
            reverse("participation:consult_support", args=[proposal.pk]), {"action": "withdraw"}
        ).status_code
        == 302
    )
    assert Support.objects.count() == 0


def test_an_out_of_scope_resident_reads_and_is_told_why_they_cannot_take_part(consult: Consult) -> None:
    topic = consult.topic(region=GRID_A, buildings=("a",))
    client = as_user(consult, "gridb")  # community A, grid B: the same community, another grid
    page = text(client.get(reverse("participation:consult_topic", args=[topic.pk])))
    assert "您的住址不在其中" in page and "发表留言" not in page
    response = client.post(reverse("participation:consult_comment", args=[topic.pk]), {"body": "我也想说"})
    assert (
        response.status_code == 403 and "您的住址不在其中" in text(response) and "第一网格" in text(response)
    )
    assert Comment.objects.count() == 0


def test_a_resident_proposes_a_topic_and_bad_input_writes_nothing(consult: Consult) -> None:
    client = as_user(consult, "resident")
    assert client.get(reverse("participation:consult_propose")).status_code == 200
    before = rows()
    bad = client.post(reverse("participation:consult_propose"), {"title": "", "description": "x"})
    assert bad.status_code == 400 and rows() == before
    response = client.post(
        reverse("participation:consult_propose"), {"title": "增设快递柜", "description": "快递常丢"}
    )
    topic = Topic.objects.get(title="增设快递柜")
    assert response.status_code == 302 and topic.stage == Stage.PROPOSED
    page = text(client.get(reverse("participation:consult_topic", args=[topic.pk])))
    assert "待受理" in page
    assert "增设快递柜" in text(client.get(reverse("participation:consult_home")))
    assert (
        as_user(consult, "neighbour").get(reverse("participation:consult_topic", args=[topic.pk])).status_code
        == 404
    )


def test_feedback_from_the_page(consult: Consult) -> None:
    topic = consult.topic(Stage.FEEDBACK)
    client = as_user(consult, "resident")
    assert "您对落实结果满意吗" in text(client.get(reverse("participation:consult_topic", args=[topic.pk])))
    assert client.post(reverse("participation:consult_feedback", args=[topic.pk]), {}).status_code == 400
    ok = client.post(
        reverse("participation:consult_feedback", args=[topic.pk]), {"satisfied": "no", "comment": "还有杂物"}
    )
    assert ok.status_code == 302 and Feedback.objects.get().satisfied is False
    public = text(Client().get(reverse("participation:consult_public_topic", args=[topic.pk])))
    assert "还有杂物" in public and "赵*" in public and "0.0%" in public


def test_report_from_the_page_hides_after_three_and_the_author_appeals(consult: Consult) -> None:
    topic = consult.topic()
    comment = services.comment_add(actor=consult["neighbour"], topic=topic, body="卖房找我 13900001111")
    url = reverse("participation:consult_report", args=[comment.pk])
    client = as_user(consult, "resident")
    assert "广告" in text(client.get(url))
    assert client.post(url, {"reason": ReportReason.OTHER, "text": ""}).status_code == 400
    assert client.post(url, {"reason": ReportReason.ADVERTISING}).status_code == 302
    assert as_user(consult, "third").post(url, {"reason": ReportReason.ADVERTISING}).status_code == 302
    assert as_user(consult, "fourth").post(url, {"reason": ReportReason.PERSONAL}).status_code == 302
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HIDDEN_PENDING
    public = text(Client().get(reverse("participation:consult_public_topic", args=[topic.pk])))
    assert "此留言已被隐藏" in public and "卖房" not in public
    assert as_user(consult, "gridb").get(url).status_code == 404  # hidden: nothing to report
    author = as_user(consult, "neighbour")
    own = text(author.get(reverse("participation:consult_topic", args=[topic.pk])))
    assert "卖房找我" in own and "申诉" in own
    appeal_url = reverse("participation:consult_appeal", args=[comment.pk])
    assert author.post(appeal_url, {"text": ""}).status_code == 400
    assert author.post(appeal_url, {"text": "我是业主，不是广告"}).status_code == 302
    again = author.post(appeal_url, {"text": "再申诉"})
    assert again.status_code == 400 and "只能申诉一次" in text(again)
    assert client.get(appeal_url).status_code == 404  # not the author's


# --- Staff ----------------------------------------------------------------------------------------


def act(client: Client, topic: Topic, action: str, **data: Any) -> Any:
    return client.post(
        reverse("participation:consult_staff_act", args=[topic.pk]), {"action": action, **data}
    )


def test_staff_open_a_topic_and_run_every_step_from_the_page(consult: Consult) -> None:
    client = as_user(consult, "worker_a")
    new = text(client.get(reverse("participation:consult_staff_new")))
    assert "枇杷塘社区" in new and "泽盛社区" not in new
    bad = client.post(
        reverse("participation:consult_staff_new"), {"region": COMMUNITY_A, "title": "", "description": ""}
    )
    assert bad.status_code == 400 and Topic.objects.count() == 0
    building = consult.building("a")
    response = client.post(
        reverse("participation:consult_staff_new"),
        {
            "region": GRID_A,
            "title": "加装电梯",
            "description": "三单元加装电梯的方案和费用分摊",
            "buildings": [str(building.pk)],
        },
    )
    topic = Topic.objects.get()
    assert response.status_code == 302 and list(topic.buildings.all()) == [building]
    wrong = act(client, topic, "decide", decision="装")
    assert (
        wrong.status_code == 400
        and "征集意见" in text(wrong)
        and Topic.objects.get().stage == Stage.COLLECTING
    )
    assert act(client, topic, "proposal", title="全体分摊", body="按楼层").status_code == 302
    when = (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert (
        act(client, topic, "meeting", meeting_at=when, meeting_place="", meeting_link="").status_code == 400
    )
    assert act(client, topic, "meeting", meeting_at=when, meeting_place="三单元门口").status_code == 302
    minutes = client.post(
        reverse("participation:consult_staff_act", args=[topic.pk]),
        {
            "action": "minutes",
            "participants": "三单元业主12户代表",
            "participant_count": "12",
            "minutes": "同意加装，按楼层分摊。",
            "attachments": [image("a.png"), image("b.png")],
            "files_public": "on",
        },
    )
    assert minutes.status_code == 302 and TopicFile.objects.filter(public=True).count() == 2
    too_many = act(
        client, topic, "decide", decision="加装", votes_for="10", votes_against="2", votes_abstain="1"
    )
    assert too_many.status_code == 400 and Topic.objects.get().stage == Stage.MEETING
    assert (
        act(
            client, topic, "decide", decision="加装", votes_for="10", votes_against="1", votes_abstain="1"
        ).status_code
        == 302
    )
    assert act(client, topic, "implement", note="").status_code == 302
    assert act(client, topic, "feedback_open").status_code == 400  # no progress yet
    progress = client.post(
        reverse("participation:consult_staff_act", args=[topic.pk]),
        {
            "action": "progress",
            "on": timezone.localdate().isoformat(),
            "text": "井道已开挖",
            "photos": [image()],
        },
    )
    assert progress.status_code == 302
    assert act(client, topic, "feedback_open").status_code == 302
    assert act(client, topic, "close", note="").status_code == 302
    topic.refresh_from_db()
    assert topic.stage == Stage.CLOSED
    page = text(client.get(reverse("participation:consult_staff_topic", args=[topic.pk])))
    assert "井道已开挖" in page and "协商会议已召集" in page and "worker_a" in page
    public = text(Client().get(reverse("participation:consult_public_topic", args=[topic.pk])))
    assert "井道已开挖" in public and "赞成" in public and "worker_a" not in public
    assert act(client, topic, "nonsense").status_code == 400


def test_staff_accept_and_decline_residents_proposals_from_the_page(consult: Consult) -> None:
    first = services.topic_propose(actor=consult["resident"], title="装快递柜", description="快递常丢")
    second = services.topic_propose(actor=consult["resident"], title="拆围墙", description="挡路")
    client = as_user(consult, "head_a")
    listing = text(client.get(reverse("participation:consult_staff_list"), {"stage": "proposed"}))
    assert "装快递柜" in listing and "拆围墙" in listing
    assert act(client, second, "decline", reason="").status_code == 400
    assert act(client, second, "decline", reason="不属社区职责").status_code == 302
    assert act(client, first, "accept", note="").status_code == 302
    assert Topic.objects.get(pk=first.pk).stage == Stage.COLLECTING
    assert Topic.objects.get(pk=second.pk).stage == Stage.DECLINED
    page = text(as_user(consult, "resident").get(reverse("participation:consult_topic", args=[second.pk])))
    assert "不属社区职责" in page


def test_the_moderation_queue(consult: Consult, settings: Any) -> None:
    settings.PARTICIPATION_HIDE_AFTER_REPORTS = 2
    topic = consult.topic()
    spam = services.comment_add(actor=consult["neighbour"], topic=topic, body="代办证件 13900002222")
    fine = services.comment_add(actor=consult["third"], topic=topic, body="我觉得可以")
    for persona in ("resident", "fourth"):
        services.comment_report(actor=consult[persona], comment=spam, reason=ReportReason.ADVERTISING)
    services.comment_report(actor=consult["resident"], comment=fine, reason=ReportReason.OFF_TOPIC)
    client = as_user(consult, "head_a")
    queue = text(client.get(reverse("participation:consult_moderation")))
    assert "代办证件" in queue and "我觉得可以" in queue and "广告 ×2" in queue
    url = reverse("participation:consult_moderate", args=[fine.pk])
    assert client.post(url, {"action": "hide", "reason": ""}).status_code == 400
    assert (
        client.post(
            reverse("participation:consult_moderate", args=[spam.pk]), {"action": "hide", "reason": "广告"}
        ).status_code
        == 302
    )
    assert client.post(url, {"action": "restore", "reason": "没问题"}).status_code == 400  # not hidden
    services.comment_appeal(actor=consult["neighbour"], comment=spam, text="不是广告")
    queue = text(client.get(reverse("participation:consult_moderation")))
    assert "不是广告" in queue
    appeal = reverse("participation:consult_moderate", args=[spam.pk])
    assert client.post(appeal, {"action": "appeal", "decision": "keep", "reason": ""}).status_code == 400
    assert (
        client.post(appeal, {"action": "appeal", "decision": "keep", "reason": "仍是广告"}).status_code == 302
    )
    assert Comment.objects.get(pk=spam.pk).status == CommentStatus.HIDDEN
    assert client.post(appeal, {"action": "bogus"}).status_code == 404
