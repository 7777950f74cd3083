"""Moderating comments: reports with a reason (one per reporter; "other" needs words), the
automatic hiding after N distinct reporters (the setting, default 3) pending review, moderators
hiding and restoring with a reason, the author's single appeal and its decision, each step
audited and the author (and the moderators) told."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from shequ.core import outbox
from shequ.core.models import AuditEntry, Message
from shequ.participation.models import (
    AppealOutcome,
    Comment,
    CommentAppeal,
    CommentReport,
    CommentStatus,
    ModerationStep,
    ReportReason,
)
from shequ.participation.services import consultations as services
from shequ.participation.services.consultations import _common as c
from shequ.participation.tests.fixtures_consult import Consult

pytestmark = pytest.mark.django_db


def posted(consult: Consult, body: str = "物业都是骗子，电话13812345678") -> Comment:
    return services.comment_add(actor=consult["resident"], topic=consult.topic(), body=body)


def report(
    consult: Consult, comment: Comment, persona: str, reason: str = ReportReason.ABUSE, text: str = ""
) -> Any:
    return services.comment_report(actor=consult[persona], comment=comment, reason=reason, text=text)


def test_a_comment_is_hidden_after_three_distinct_reporters_not_before(consult: Consult) -> None:
    comment = posted(consult)
    report(consult, comment, "neighbour")
    with pytest.raises(ValidationError, match=r"已经举报|already reported"):
        report(consult, comment, "neighbour", ReportReason.PERSONAL)  # the same person twice counts once
    report(consult, comment, "third", ReportReason.PERSONAL)
    comment.refresh_from_db()
    assert (
        comment.status == CommentStatus.VISIBLE and CommentReport.objects.filter(comment=comment).count() == 2
    )
    report(consult, comment, "gridb", ReportReason.OTHER, "泄露电话")
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HIDDEN_PENDING and comment.hidden_at is not None
    assert list(ModerationStep.objects.filter(comment=comment).values_list("action", "actor")) == [
        ("auto_hide", None)
    ]
    assert (
        AuditEntry.objects.filter(action="participation.consult_auto_hide", object_id=str(comment.pk)).count()
        == 1
    )
    outbox.run_pending()
    assert (
        Message.objects.filter(recipient=consult["resident"], topic="participation.consult.auto_hide").count()
        == 1
    )
    moderators = set(
        Message.objects.filter(topic="participation.consult.auto_hide").values_list(
            "recipient__username", flat=True
        )
    )
    assert {"worker_a", "head_a"} <= moderators and "head_b" not in moderators
    report(consult, comment, "fourth")  # a fourth report on a hidden comment hides nothing more
    assert ModerationStep.objects.filter(comment=comment).count() == 1


def test_the_threshold_is_a_setting(consult: Consult, settings: Any) -> None:
    settings.PARTICIPATION_HIDE_AFTER_REPORTS = 1
    comment = posted(consult)
    report(consult, comment, "neighbour", ReportReason.ADVERTISING)
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HIDDEN_PENDING


def test_reports_are_checked(consult: Consult) -> None:
    comment = posted(consult)
    with pytest.raises(ValidationError) as err:
        report(consult, comment, "neighbour", ReportReason.OTHER, " ")
    assert "text" in err.value.message_dict
    with pytest.raises(ValidationError):
        report(consult, comment, "neighbour", "spam")
    with pytest.raises(ValidationError, match=r"自己|own"):
        report(consult, comment, "resident")
    with pytest.raises(PermissionDenied):
        report(consult, comment, "resident_b")  # another community's resident
    with pytest.raises(PermissionDenied):
        report(consult, comment, "worker_a")  # staff moderate, they do not report
    assert CommentReport.objects.count() == 0


def test_moderators_hide_and_restore_with_a_reason_and_only_new_reports_count_after(
    consult: Consult, settings: Any
) -> None:
    settings.PARTICIPATION_HIDE_AFTER_REPORTS = 2
    comment = posted(consult)
    worker = consult["worker_a"]
    for persona in ("head_b", "grid_a", "street", "resident"):
        with pytest.raises(PermissionDenied):
            services.comment_hide(actor=consult[persona], comment=comment, reason="r")
    with pytest.raises(ValidationError):
        services.comment_hide(actor=worker, comment=comment, reason="")
    with pytest.raises(c.TransitionError):
        services.comment_restore(actor=worker, comment=comment, reason="本来就显示")
    comment = services.comment_hide(actor=worker, comment=comment, reason="含他人电话号码")
    assert (comment.status, comment.hidden_reason) == (CommentStatus.HIDDEN, "含他人电话号码")
    with pytest.raises(c.TransitionError):
        services.comment_hide(actor=worker, comment=comment, reason="again")
    comment = services.comment_restore(actor=worker, comment=comment, reason="已核实，号码是物业公开电话")
    assert comment.status == CommentStatus.VISIBLE and comment.reviewed_at is not None
    report(consult, comment, "neighbour")
    report(consult, comment, "third")
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HIDDEN_PENDING  # two new reports after the review
    comment = services.comment_hide(actor=consult["head_a"], comment=comment, reason="确认含辱骂")  # confirm
    assert comment.status == CommentStatus.HIDDEN
    assert list(ModerationStep.objects.filter(comment=comment).values_list("action", flat=True)) == [
        "hide",
        "restore",
        "auto_hide",
        "hide",
    ]
    outbox.run_pending()
    told = list(Message.objects.filter(recipient=consult["resident"]).values_list("topic", flat=True))
    assert told.count("participation.consult.hide") == 2 and "participation.consult.restore" in told


def test_the_author_appeals_once_and_the_moderator_decides(consult: Consult) -> None:
    comment = posted(consult)
    worker = consult["worker_a"]
    with pytest.raises(c.TransitionError):
        services.comment_appeal(actor=consult["resident"], comment=comment, text="没违规")  # not hidden
    services.comment_hide(actor=worker, comment=comment, reason="辱骂")
    with pytest.raises(PermissionDenied):
        services.comment_appeal(actor=consult["neighbour"], comment=comment, text="替他申诉")
    with pytest.raises(ValidationError):
        services.comment_appeal(actor=consult["resident"], comment=comment, text="  ")
    services.comment_appeal(actor=consult["resident"], comment=comment, text="我只是陈述事实")
    with pytest.raises(c.TransitionError, match=r"一次|once"):
        services.comment_appeal(actor=consult["resident"], comment=comment, text="再申诉")
    with pytest.raises(c.TransitionError):
        services.comment_restore(actor=worker, comment=comment, reason="r")  # decide the appeal instead
    with pytest.raises(ValidationError):
        services.appeal_decide(
            actor=worker, comment=comment, restore=False, reason=""
        )  # keeping needs a reason
    with pytest.raises(PermissionDenied):
        services.appeal_decide(actor=consult["head_b"], comment=comment, restore=True, reason="")
    appeal = services.appeal_decide(actor=worker, comment=comment, restore=False, reason="用语仍属辱骂")
    assert (appeal.outcome, appeal.decided_by) == (AppealOutcome.KEPT, worker)
    with pytest.raises(c.TransitionError):
        services.appeal_decide(actor=worker, comment=comment, restore=True, reason="")
    with pytest.raises(c.TransitionError):
        services.comment_appeal(
            actor=consult["resident"], comment=comment, text="第二次"
        )  # once, even after a decision
    assert CommentAppeal.objects.count() == 1
    outbox.run_pending()
    decided = Message.objects.get(recipient=consult["resident"], topic="participation.consult.appeal_decide")
    assert "用语仍属辱骂" in decided.body
    assert Message.objects.filter(recipient=worker, topic="participation.consult.appeal").exists()
    actions = list(
        AuditEntry.objects.filter(object_type="participation.comment").values_list("action", flat=True)
    )
    assert "participation.consult_appeal" in actions and "participation.consult_appeal_decide" in actions


def test_an_appeal_restores_the_comment(consult: Consult) -> None:
    comment = posted(consult, "楼道堆物应该处理")
    for persona in ("neighbour", "third", "gridb"):
        report(consult, comment, persona, ReportReason.OFF_TOPIC)
    services.comment_appeal(actor=consult["resident"], comment=comment, text="和议题有关")
    appeal = services.appeal_decide(actor=consult["head_a"], comment=comment, restore=True, reason="")
    comment.refresh_from_db()
    assert (appeal.outcome, comment.status) == (AppealOutcome.RESTORED, CommentStatus.VISIBLE)
