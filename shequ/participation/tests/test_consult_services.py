"""The consultation services: every step of a topic's life (dated, by whom, audited, on the
timeline, an event each), steps at the wrong stage refused with the stage named and nothing
written, residents' proposals accepted or declined (the proposer told), scope rules for residents
(home in the grid/community and buildings), proposals and their support (one per person: a
database constraint, also when the service's own check is raced), comments and feedback."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import AuditEntry, AuditResult, Message, OutboxTask
from shequ.core.personal import mask_name
from shequ.grid.tests.conftest import png
from shequ.participation.models import (
    Comment,
    Feedback,
    FileKind,
    Proposal,
    Stage,
    Support,
    Topic,
    TopicFile,
    TopicStep,
)
from shequ.participation.services import consultations as services
from shequ.participation.services.consultations import _common as c
from shequ.participation.services.consultations import files as topic_files
from shequ.participation.tests.fixtures_consult import Consult
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Topic.objects.count(),
        TopicStep.objects.count(),
        Proposal.objects.count(),
        Support.objects.count(),
        Comment.objects.count(),
        Feedback.objects.count(),
        TopicFile.objects.count(),
        AuditEntry.objects.filter(action__startswith="participation.", result=AuditResult.SUCCESS).count(),
    )


def steps(topic: Topic) -> list[tuple[str, str, str]]:
    return list(TopicStep.objects.filter(topic=topic).values_list("action", "from_stage", "to_stage"))


def upload(name: str = "photo.png") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png(), content_type="image/png")


# --- The whole flow ---------------------------------------------------------------------------------


def test_a_topic_goes_through_every_stage_each_step_dated_audited_and_on_the_timeline(
    consult: Consult,
) -> None:
    worker = consult["worker_a"]
    topic = services.topic_open(
        actor=worker,
        region=consult.world.regions[COMMUNITY_A],
        title="小区停车难",
        description="晚上车位不够，消防通道被占。",
        buildings=[consult.building("a")],
    )
    assert (
        topic.stage == Stage.COLLECTING and topic.proposer_user == worker and not topic.proposed_by_resident
    )
    assert list(topic.buildings.all()) == [consult.building("a")]
    meeting_at = timezone.now() - dt.timedelta(hours=1)
    topic = services.meeting_schedule(
        actor=worker, topic=topic, at=meeting_at, place="社区二楼会议室", link="https://meet.example/abc"
    )
    assert (topic.stage, topic.meeting_at, topic.meeting_place) == (
        Stage.MEETING,
        meeting_at,
        "社区二楼会议室",
    )
    topic = services.meeting_record(
        actor=worker,
        topic=topic,
        participants="居民代表9人、物业2人",
        participant_count="11",
        minutes="讨论划线和错时停车。",
        files=[upload("signin.png")],
        files_public=False,
    )
    attachment = TopicFile.objects.get(topic=topic)
    assert (attachment.kind, attachment.public, attachment.content_type) == (
        FileKind.MEETING,
        False,
        "image/png",
    )
    assert topic_files.open_file(attachment).startswith(b"\x89PNG")
    with attachment.file.open("rb") as fh:
        assert not fh.read().startswith(b"\x89PNG")  # sealed at rest
    topic = services.topic_decide(
        actor=worker, topic=topic, decision="划线30个车位。", votes_for=8, votes_against=2, votes_abstain=1
    )
    assert (topic.stage, topic.votes_for, topic.votes_against, topic.votes_abstain) == (
        Stage.DECIDED,
        8,
        2,
        1,
    )
    topic = services.implementation_start(actor=worker, topic=topic, note="物业负责")
    update = services.progress_add(
        actor=worker, topic=topic, on=timezone.localdate(), text="已划线20个。", photos=[upload()]
    )
    assert update.photos.get().public is True
    topic = services.feedback_open(actor=worker, topic=topic)
    services.feedback_give(actor=consult["resident"], topic=topic, satisfied=True, comment="好多了")
    topic = services.topic_close(actor=worker, topic=topic)
    assert topic.stage == Stage.CLOSED
    assert steps(topic) == [
        ("open", "", "collecting"),
        ("meeting", "collecting", "meeting"),
        ("minutes", "meeting", "meeting"),
        ("decide", "meeting", "decided"),
        ("implement", "decided", "implementing"),
        ("progress", "implementing", "implementing"),
        ("feedback_open", "implementing", "feedback"),
        ("close", "feedback", "closed"),
    ]
    assert all(s.actor == worker and s.at for s in TopicStep.objects.filter(topic=topic))
    actions = set(
        AuditEntry.objects.filter(object_type="participation.topic", object_id=str(topic.pk)).values_list(
            "action", flat=True
        )
    )
    assert {
        "participation.consult_open",
        "participation.consult_decide",
        "participation.consult_close",
    } <= actions
    events = OutboxTask.objects.filter(event_type="participation.topic_changed").count()
    assert events >= 8


def test_a_residents_proposal_is_accepted_or_declined_and_the_proposer_told(consult: Consult) -> None:
    resident, worker = consult["resident"], consult["worker_a"]
    topic = services.topic_propose(
        actor=resident, title="增设快递柜", description="快递常丢，希望在楼下装快递柜。"
    )
    assert (topic.stage, topic.region_code, topic.proposer_person, topic.proposed_by_resident) == (
        Stage.PROPOSED,
        COMMUNITY_A,
        consult.people["resident"],
        True,
    )
    outbox.run_pending()
    assert Message.objects.filter(
        recipient=worker, subject__contains="增设快递柜"
    ).exists()  # staff hear of it
    declined = services.topic_propose(actor=resident, title="拆除围墙", description="围墙挡路。")
    with pytest.raises(ValidationError) as err:
        services.topic_decline(actor=worker, topic=declined, reason="  ")
    assert "reason" in err.value.message_dict
    declined = services.topic_decline(
        actor=worker, topic=declined, reason="围墙属于学校，社区无权处理，已转交街道。"
    )
    services.topic_accept(actor=worker, topic=topic)
    outbox.run_pending()
    subjects = list(Message.objects.filter(recipient=resident).values_list("subject", "body"))
    assert any("已被采纳" in s or "增设快递柜" in s for s, _b in subjects)
    assert any("拆除围墙" in s and "属于学校" in b for s, b in subjects)
    assert Topic.objects.get(pk=declined.pk).stage == Stage.DECLINED


def test_staff_of_another_community_and_grid_workers_cannot_run_a_topic(consult: Consult) -> None:
    topic = consult.topic()
    before = counts()
    for persona in ("head_b", "grid_a", "street", "resident", "outsider"):
        with pytest.raises(PermissionDenied):
            services.meeting_schedule(actor=consult[persona], topic=topic, at=timezone.now(), place="x")
    with pytest.raises(PermissionDenied):
        services.topic_open(
            actor=consult["head_b"], region=consult.world.regions[COMMUNITY_A], title="t", description="d"
        )
    assert counts() == before
    assert (
        AuditEntry.objects.filter(action="participation.consult_meeting", result=AuditResult.DENIED).count()
        == 5
    )


@pytest.mark.parametrize(
    ("stage", "step"),
    [
        (Stage.COLLECTING, "decide"),
        (Stage.COLLECTING, "minutes"),
        (Stage.COLLECTING, "close"),
        (Stage.MEETING, "meeting"),
        (Stage.MEETING, "implement"),
        (Stage.DECIDED, "progress"),
        (Stage.DECIDED, "feedback_open"),
        (Stage.IMPLEMENTING, "decide"),
        (Stage.FEEDBACK, "progress"),
        (Stage.CLOSED, "meeting"),
        (Stage.CLOSED, "accept"),
        (Stage.COLLECTING, "decline"),
    ],
)
def test_a_step_at_the_wrong_stage_is_refused_with_the_stage_named_and_nothing_written(
    consult: Consult, stage: str, step: str
) -> None:
    topic = consult.topic(stage)
    worker = consult["worker_a"]
    calls: dict[str, Any] = {
        "decide": lambda: services.topic_decide(actor=worker, topic=topic, decision="x"),
        "minutes": lambda: services.meeting_record(
            actor=worker, topic=topic, participants="a", participant_count=1, minutes="m"
        ),
        "close": lambda: services.topic_close(actor=worker, topic=topic),
        "meeting": lambda: services.meeting_schedule(actor=worker, topic=topic, at=timezone.now(), place="p"),
        "implement": lambda: services.implementation_start(actor=worker, topic=topic),
        "progress": lambda: services.progress_add(
            actor=worker, topic=topic, on=timezone.localdate(), text="t", photos=[upload()]
        ),
        "feedback_open": lambda: services.feedback_open(actor=worker, topic=topic),
        "accept": lambda: services.topic_accept(actor=worker, topic=topic),
        "decline": lambda: services.topic_decline(actor=worker, topic=topic, reason="r"),
    }
    before, stored = counts(), Topic.objects.filter(pk=topic.pk).values().get()
    with pytest.raises(c.TransitionError) as err:
        calls[step]()
    assert str(Stage(stage).label) in " ".join(err.value.messages)
    assert counts() == before and Topic.objects.filter(pk=topic.pk).values().get() == stored


def test_meeting_minutes_and_decision_check_their_input(consult: Consult) -> None:
    worker = consult["worker_a"]
    topic = consult.topic()
    with pytest.raises(ValidationError) as err:
        services.meeting_schedule(actor=worker, topic=topic, at=timezone.now())
    assert "meeting_place" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.meeting_schedule(actor=worker, topic=topic, at=timezone.now(), link="javascript:alert(1)")
    assert "meeting_link" in err.value.message_dict
    future = services.meeting_schedule(
        actor=worker, topic=topic, at=timezone.now() + dt.timedelta(days=2), place="活动室"
    )
    before = counts()
    with pytest.raises(c.TransitionError, match=r"尚未召开|not taken place"):
        services.meeting_record(
            actor=worker, topic=future, participants="a", participant_count=3, minutes="m"
        )
    with pytest.raises(c.TransitionError):
        services.topic_decide(actor=worker, topic=future, decision="决定")  # no minutes yet
    assert counts() == before
    held = consult.topic(Stage.MEETING)
    services.meeting_record(
        actor=worker, topic=held, participants="代表", participant_count=5, minutes="纪要"
    )
    with pytest.raises(ValidationError) as err:
        services.topic_decide(
            actor=worker, topic=held, decision="d", votes_for=4, votes_against=2, votes_abstain=0
        )
    assert "votes_for" in err.value.message_dict  # 6 votes, 5 participants
    with pytest.raises(ValidationError):
        services.topic_decide(actor=worker, topic=held, decision="d", votes_for=4)  # all three or none
    with pytest.raises(ValidationError):
        services.meeting_record(
            actor=worker, topic=held, participants="代表", participant_count="-1", minutes="m"
        )
    assert Topic.objects.get(pk=held.pk).stage == Stage.MEETING


def test_feedback_needs_a_progress_update_first(consult: Consult) -> None:
    topic = consult.topic(Stage.IMPLEMENTING)
    with pytest.raises(c.TransitionError):
        services.feedback_open(actor=consult["worker_a"], topic=topic)
    with pytest.raises(ValidationError):
        services.progress_add(
            actor=consult["worker_a"],
            topic=topic,
            on=timezone.localdate() + dt.timedelta(days=1),
            text="明天",
        )


# --- Scope ------------------------------------------------------------------------------------------


def test_only_residents_living_in_the_scope_take_part_with_a_clear_message(consult: Consult) -> None:
    topic = consult.topic(region=GRID_A, buildings=("a",))
    comment = services.comment_add(actor=consult["resident"], topic=topic, body="支持清理")
    assert (comment.person, comment.author_name) == (consult.people["resident"], "赵丽华")
    for persona in ("gridb", "resident_b", "worker_a", "head_b"):
        before = counts()
        with pytest.raises(PermissionDenied) as err:
            services.comment_add(actor=consult[persona], topic=topic, body="我也说一句")
        assert counts() == before
        if persona == "gridb":
            assert "第一网格" in str(err.value) and "麓山南路" in str(err.value)  # names the scope
    whole = consult.topic()  # the community: grid B's resident is in it
    services.comment_add(actor=consult["gridb"], topic=whole, body="同意")
    with pytest.raises(PermissionDenied):
        services.feedback_give(actor=consult["resident_b"], topic=whole, satisfied=True)


def test_a_resident_without_a_registry_link_is_told_to_have_it_checked(consult: Consult) -> None:
    from shequ.core import accounts
    from shequ.core.models import Role

    user = accounts.user_create(
        actor=None, username="newcomer", display_name="新住户", password=None, phone="13977770000"
    )
    accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=consult.world.regions[GRID_A])
    with pytest.raises(PermissionDenied, match=r"手机号|mobile number"):
        services.comment_add(actor=user, topic=consult.topic(), body="你好")
    with pytest.raises(PermissionDenied):
        services.topic_propose(actor=user, title="t", description="d")


# --- Proposals and support --------------------------------------------------------------------------


def test_support_once_per_person_withdraw_and_counted(consult: Consult) -> None:
    topic = consult.topic()
    proposal = services.proposal_add(
        actor=consult["resident"], topic=topic, title="周六集中清理", body="物业出车"
    )
    staff = services.proposal_add(
        actor=consult["worker_a"], topic=topic, title="分单元清理", body="每周一个单元"
    )
    assert (proposal.by_staff, staff.by_staff, staff.author_person) == (False, True, None)
    services.proposal_support(actor=consult["neighbour"], proposal=proposal)
    services.proposal_support(actor=consult["resident"], proposal=proposal)
    with pytest.raises(ValidationError, match=r"已经支持|already support"):
        services.proposal_support(actor=consult["neighbour"], proposal=proposal)
    assert proposal.supports.count() == 2
    services.proposal_unsupport(actor=consult["neighbour"], proposal=proposal)
    with pytest.raises(ValidationError):
        services.proposal_unsupport(actor=consult["neighbour"], proposal=proposal)
    assert proposal.supports.count() == 1
    assert AuditEntry.objects.filter(action="participation.consult_unsupport").count() == 1


def test_support_uniqueness_is_a_database_constraint_even_when_the_check_is_raced(
    consult: Consult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two taps at once: both pass the service's look-up before either writes; the unique
    constraint keeps one support and the loser gets the clear message."""
    topic = consult.topic()
    proposal = services.proposal_add(actor=consult["resident"], topic=topic, title="方案", body="内容")
    services.proposal_support(actor=consult["neighbour"], proposal=proposal)
    from django.db.models.query import QuerySet

    real_exists = QuerySet.exists

    def raced(self: QuerySet[Any]) -> bool:
        return False if self.model is Support else real_exists(self)

    monkeypatch.setattr(QuerySet, "exists", raced)
    with pytest.raises(ValidationError, match=r"已经支持|already support"):
        services.proposal_support(actor=consult["neighbour"], proposal=proposal)
    assert Support.objects.filter(proposal=proposal).count() == 1
    person = consult.people["neighbour"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Support.objects.create(proposal=proposal, person=person, user=consult["neighbour"])


def test_proposals_only_while_collecting_support_until_the_decision(consult: Consult) -> None:
    topic = consult.topic()
    proposal = services.proposal_add(actor=consult["resident"], topic=topic, title="方案", body="内容")
    topic = services.meeting_schedule(actor=consult["worker_a"], topic=topic, at=timezone.now(), place="p")
    with pytest.raises(c.TransitionError):
        services.proposal_add(actor=consult["resident"], topic=topic, title="晚了", body="x")
    services.proposal_support(actor=consult["neighbour"], proposal=proposal)  # still before the decision
    decided = consult.topic(Stage.DECIDED)
    late = Proposal.objects.create(
        topic=decided, region_code=decided.region_code, title="t", body="b", author_name="x", by_staff=True
    )
    with pytest.raises(c.TransitionError):
        services.proposal_support(actor=consult["neighbour"], proposal=late)


def test_feedback_once_per_person_in_the_feedback_stage(consult: Consult) -> None:
    collecting = consult.topic()
    with pytest.raises(c.TransitionError):
        services.feedback_give(actor=consult["resident"], topic=collecting, satisfied=True)
    topic = consult.topic(Stage.FEEDBACK)
    services.feedback_give(actor=consult["resident"], topic=topic, satisfied=False, comment="还有堆物")
    with pytest.raises(ValidationError, match=r"已经|already"):
        services.feedback_give(actor=consult["resident"], topic=topic, satisfied=True)
    with pytest.raises(ValidationError):
        services.feedback_give(actor=consult["neighbour"], topic=topic, satisfied="maybe")
    assert Feedback.objects.filter(topic=topic).count() == 1


def test_comments_are_refused_before_acceptance_and_after_closing(consult: Consult) -> None:
    proposed = services.topic_propose(actor=consult["resident"], title="t", description="d")
    with pytest.raises(c.TransitionError):
        services.comment_add(actor=consult["neighbour"], topic=proposed, body="x")
    closed = consult.topic(Stage.CLOSED)
    with pytest.raises(c.TransitionError):
        services.comment_add(actor=consult["neighbour"], topic=closed, body="x")
    with pytest.raises(ValidationError):
        services.comment_add(actor=consult["neighbour"], topic=consult.topic(), body=" ")


def test_masked_names() -> None:
    assert [mask_name(n) for n in ("张三", "欧阳娜娜", "李", "")] == ["张*", "欧**娜", "*", ""]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_supports_by_one_person_leave_one_row_on_postgresql(
    consult: Consult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests of the same resident in two connections, both past the look-up before either
    writes (a barrier holds them there): PostgreSQL's unique index keeps one row."""
    import threading

    from django.db import connection, connections
    from django.db.models.query import QuerySet

    if connection.vendor != "postgresql":
        pytest.skip("needs two real connections (PostgreSQL)")
    topic = consult.topic()
    proposal = services.proposal_add(actor=consult["resident"], topic=topic, title="方案", body="内容")
    barrier = threading.Barrier(2, timeout=10)
    real_exists = QuerySet.exists

    def raced(self: QuerySet[Any]) -> bool:
        if self.model is Support:
            barrier.wait()
            return False
        return real_exists(self)

    monkeypatch.setattr(QuerySet, "exists", raced)
    outcomes: list[str] = []

    def tap() -> None:
        try:
            services.proposal_support(actor=consult["neighbour"], proposal=proposal)
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert Support.objects.filter(proposal=proposal).count() == 1


def test_texts_written_in_a_box_keep_their_line_breaks() -> None:
    """Minutes, comments and reasons are written in several lines; a title is one line."""
    from django.core.exceptions import ValidationError

    assert c.text("第一项\n第二项", "minutes", 100) == "第一项\n第二项"
    with pytest.raises(ValidationError) as refused:
        c.text("标题\n换行", "title", 100)
    assert "title" in refused.value.message_dict
