"""Moderating comments. Any resident who can read a comment may report it once, with a reason;
when ``hide_after_reports()`` distinct residents (default 3, the setting
``PARTICIPATION_HIDE_AFTER_REPORTS``) reported it since a moderator last looked, it is hidden at
once pending review. Moderators (``participation.moderate``) hide or restore with a reason; the
author may appeal a hidden comment once; a moderator decides the appeal. Each step is a
``ModerationStep``, an audit entry and an event (the handlers tell the author and the moderators)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import User
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer
from shequ.participation.models import (
    AppealOutcome,
    Comment,
    CommentAppeal,
    CommentReport,
    CommentStatus,
    ModerationStep,
    ReportReason,
)
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.consultations import _common as c
from shequ.participation.services.consultations import events


def _lock(comment: Comment) -> Comment:
    return Comment.objects.select_for_update(of=("self",)).select_related("topic").get(pk=comment.pk)


def _step(
    comment: Comment,
    *,
    actor: Viewer | None,
    action: str,
    reason: str = "",
    request: HttpRequest | None = None,
) -> None:
    ModerationStep.objects.create(
        comment=comment,
        at=c.now(),
        actor=actor if isinstance(actor, User) else None,
        action=action,
        reason=reason,
    )
    audit.record(
        f"participation.consult_{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=comment.region_code,
        object_type="participation.comment",
        object_id=comment.pk,
        reason=reason[:200],
        detail={"topic": comment.topic_id, "status": comment.status},
    )
    emit(
        events.CommentModerated(
            actor_id=getattr(actor, "pk", None),
            comment_id=comment.pk,
            region_code=comment.region_code,
            action=action,
        )
    )


def reports_since_review(comment: Comment) -> int:
    reports = CommentReport.objects.filter(comment=comment)
    if comment.reviewed_at is not None:
        reports = reports.filter(at__gt=comment.reviewed_at)
    return reports.count()


def comment_report(
    *, actor: Viewer, comment: Comment, reason: str, text: str = "", request: HttpRequest | None = None
) -> CommentReport:
    """A resident reports a comment they can read (not their own), once."""
    resident = c.resident_of(actor)
    if resident is None or resident.community_code != comment.region_code[: c.COMMUNITY_LENGTH]:
        c.refuse(
            actor,
            comment,
            "consult_report",
            "not a resident of the topic's community",
            request=request,
            message=_("Only residents of this community can report its comments."),
        )
        raise AssertionError  # refuse raised
    if reason not in ReportReason.values:
        raise ValidationError({"reason": _("Choose a reason from the list.")})
    text = c.text(text, "text", 300, required=reason == ReportReason.OTHER, label=_("What is wrong"))
    if comment.user_id == resident.user.pk:
        raise ValidationError(_("You cannot report your own comment."))
    try:
        with transaction.atomic():
            comment = _lock(comment)
            if CommentReport.objects.filter(comment=comment, reporter=resident.user).exists():
                raise ValidationError(_("You have already reported this comment."))
            report = CommentReport.objects.create(
                comment=comment, reporter=resident.user, reason=reason, text=text, at=c.now()
            )
            audit.record(
                "participation.consult_report",
                actor=resident.user,
                request=request,
                region_code=comment.region_code,
                object_type="participation.comment",
                object_id=comment.pk,
                detail={"reason": reason},
            )
            if (
                comment.status == CommentStatus.VISIBLE
                and reports_since_review(comment) >= c.hide_after_reports()
            ):
                comment.status = CommentStatus.HIDDEN_PENDING
                comment.hidden_at = c.now()
                comment.hidden_reason = ""
                comment.save(update_fields=["status", "hidden_at", "hidden_reason"])
                _step(comment, actor=None, action="auto_hide", reason=str(c.hide_after_reports()))
    except IntegrityError as exc:  # the same reporter's other tap won the race
        raise ValidationError(_("You have already reported this comment.")) from exc
    return report


def comment_hide(
    *, actor: Viewer, comment: Comment, reason: str, request: HttpRequest | None = None
) -> Comment:
    """Hide a visible comment, or confirm the automatic hiding of a reported one."""
    c.require(actor, P.MODERATE, comment, "consult_hide", request)
    reason = c.text(reason, "reason", c.REASON_MAX, required=True, label=_("The reason"))
    with transaction.atomic():
        comment = _lock(comment)
        if comment.status == CommentStatus.HIDDEN:
            raise c.TransitionError(_("This comment is already hidden by a moderator."))
        now = c.now()
        comment.status, comment.hidden_reason, comment.reviewed_at = CommentStatus.HIDDEN, reason, now
        comment.hidden_at = comment.hidden_at or now
        comment.save(update_fields=["status", "hidden_reason", "reviewed_at", "hidden_at"])
        _step(comment, actor=actor, action="hide", reason=reason, request=request)
    return comment


def comment_restore(
    *, actor: Viewer, comment: Comment, reason: str, request: HttpRequest | None = None
) -> Comment:
    """Show a hidden comment again; the reports so far are settled (only new ones count)."""
    c.require(actor, P.MODERATE, comment, "consult_restore", request)
    reason = c.text(reason, "reason", c.REASON_MAX, required=True, label=_("The reason"))
    with transaction.atomic():
        comment = _lock(comment)
        if comment.status == CommentStatus.VISIBLE:
            raise c.TransitionError(_("This comment is not hidden."))
        if _pending_appeal(comment) is not None:
            raise c.TransitionError(_("The author has appealed: decide the appeal instead."))
        comment.status, comment.hidden_reason, comment.reviewed_at = CommentStatus.VISIBLE, "", c.now()
        comment.hidden_at = None
        comment.save(update_fields=["status", "hidden_reason", "reviewed_at", "hidden_at"])
        _step(comment, actor=actor, action="restore", reason=reason, request=request)
    return comment


def _pending_appeal(comment: Comment) -> CommentAppeal | None:
    return CommentAppeal.objects.filter(comment=comment, decided_at__isnull=True).first()


def comment_appeal(
    *, actor: Viewer, comment: Comment, text: str, request: HttpRequest | None = None
) -> CommentAppeal:
    """The author asks, once, for their hidden comment to be shown again."""
    if not isinstance(actor, User) or comment.user_id != actor.pk:
        c.refuse(
            actor,
            comment,
            "consult_appeal",
            "not the author",
            request=request,
            message=_("Only the author of a comment can appeal against its hiding."),
        )
    text = c.text(text, "text", c.REASON_MAX, required=True, label=_("Why it should be shown"))
    try:
        with transaction.atomic():
            comment = _lock(comment)
            if comment.status == CommentStatus.VISIBLE:
                raise c.TransitionError(_("This comment is not hidden: there is nothing to appeal."))
            if CommentAppeal.objects.filter(comment=comment).exists():
                raise c.TransitionError(_("You have already appealed once against hiding this comment."))
            appeal = CommentAppeal.objects.create(comment=comment, text=text, at=c.now())
            _step(comment, actor=actor, action="appeal", reason=text, request=request)
    except IntegrityError as exc:
        raise c.TransitionError(_("You have already appealed once against hiding this comment.")) from exc
    return appeal


def appeal_decide(
    *, actor: Viewer, comment: Comment, restore: bool, reason: str, request: HttpRequest | None = None
) -> CommentAppeal:
    """Restore the comment, or keep it hidden with the reason the author reads."""
    c.require(actor, P.MODERATE, comment, "consult_appeal_decide", request)
    reason = c.text(reason, "reason", c.REASON_MAX, required=not restore, label=_("The reason"))
    with transaction.atomic():
        comment = _lock(comment)
        appeal = _pending_appeal(comment)
        if appeal is None:
            raise c.TransitionError(_("There is no appeal waiting for a decision on this comment."))
        now = c.now()
        appeal.outcome = AppealOutcome.RESTORED if restore else AppealOutcome.KEPT
        appeal.reason, appeal.decided_at, appeal.decided_by = (
            reason,
            now,
            actor if isinstance(actor, User) else None,
        )
        appeal.save(update_fields=["outcome", "reason", "decided_at", "decided_by"])
        if restore:
            comment.status, comment.hidden_reason, comment.hidden_at = CommentStatus.VISIBLE, "", None
        else:
            comment.status = CommentStatus.HIDDEN
            comment.hidden_reason = reason
        comment.reviewed_at = now
        comment.save(update_fields=["status", "hidden_reason", "hidden_at", "reviewed_at"])
        _step(comment, actor=actor, action="appeal_decide", reason=reason, request=request)
    return appeal
