"""What residents say on a topic: proposals (方案) and their support, comments, and the feedback
(反馈评价) after the decision was carried out. Only residents whose registry home lies in the
topic's scope take part (``_common.require_in_scope``: the refusal names the scope); staff may put
proposals too. One support per person per proposal and one feedback per person per topic are
unique constraints: two taps at once make one row, the second gets a clear message."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core import audit
from shequ.core.models import User
from shequ.core.permissions import Viewer, has_perm
from shequ.participation.models import Comment, Feedback, Proposal, Stage, Support, Topic
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.consultations import _common as c

# Stages at which each kind of opinion is taken.
PROPOSAL_STAGES = frozenset({Stage.COLLECTING})
SUPPORT_STAGES = frozenset({Stage.COLLECTING, Stage.MEETING})
COMMENT_STAGES = frozenset(
    {Stage.COLLECTING, Stage.MEETING, Stage.DECIDED, Stage.IMPLEMENTING, Stage.FEEDBACK}
)
FEEDBACK_STAGES = frozenset({Stage.FEEDBACK})


def _stage(topic: Topic, allowed: frozenset[str], message: str) -> None:
    if topic.stage not in allowed:
        raise c.TransitionError(message % {"stage": Stage(topic.stage).label})


def _audit(
    action: str, actor: Viewer, obj: object, region_code: str, request: HttpRequest | None, **detail: object
) -> None:
    audit.record(
        f"participation.consult_{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=region_code,
        object_type=f"participation.{type(obj).__name__.lower()}",
        object_id=getattr(obj, "pk", ""),
        detail=dict(detail),
    )


def proposal_add(
    *, actor: Viewer, topic: Topic, title: str, body: str, request: HttpRequest | None = None
) -> Proposal:
    """A resident in scope (or staff running consultations there) puts forward a proposal."""
    staff = isinstance(actor, User) and has_perm(actor, P.CONSULT, topic.region_code)
    resident = None if staff else c.require_in_scope(actor, topic, "consult_proposal", request)
    title = c.text(title, "title", c.TITLE_MAX, required=True, label=pgettext("consultation", "Title"))
    body = c.text(body, "body", c.TEXT_MAX, required=True, label=_("What it proposes"))
    with transaction.atomic():
        topic = c.lock(topic)
        _stage(
            topic,
            PROPOSAL_STAGES,
            _("Proposals are taken while opinions are collected; this topic is at “%(stage)s”."),
        )
        proposal = Proposal.objects.create(
            topic=topic,
            region_code=topic.region_code,
            title=title,
            body=body,
            author_person=resident.person if resident else None,
            author_user=actor if isinstance(actor, User) else None,
            author_name=resident.person.name if resident else c.actor_name(actor),
            by_staff=resident is None,
            created_at=c.now(),
        )
        _audit("proposal", actor, proposal, topic.region_code, request, topic=topic.pk)
    return proposal


def proposal_support(*, actor: Viewer, proposal: Proposal, request: HttpRequest | None = None) -> Support:
    topic = proposal.topic
    resident = c.require_in_scope(actor, topic, "consult_support", request)
    _stage(
        topic,
        SUPPORT_STAGES,
        _("Proposals can be supported until the decision; this topic is at “%(stage)s”."),
    )
    if Support.objects.filter(proposal=proposal, person=resident.person).exists():
        raise ValidationError(_("You already support this proposal."))
    try:
        with transaction.atomic():
            support = Support.objects.create(
                proposal=proposal, person=resident.person, user=resident.user, at=c.now()
            )
            _audit("support", actor, proposal, topic.region_code, request, topic=topic.pk)
    except IntegrityError as exc:  # the same person's other tap won the race: one support stays
        raise ValidationError(_("You already support this proposal.")) from exc
    return support


def proposal_unsupport(*, actor: Viewer, proposal: Proposal, request: HttpRequest | None = None) -> None:
    topic = proposal.topic
    resident = c.require_in_scope(actor, topic, "consult_unsupport", request)
    _stage(
        topic, SUPPORT_STAGES, _("Support can be withdrawn until the decision; this topic is at “%(stage)s”.")
    )
    with transaction.atomic():
        deleted, _rows = Support.objects.filter(proposal=proposal, person=resident.person).delete()
        if not deleted:
            raise ValidationError(_("You do not support this proposal."))
        _audit("unsupport", actor, proposal, topic.region_code, request, topic=topic.pk)


def comment_add(*, actor: Viewer, topic: Topic, body: str, request: HttpRequest | None = None) -> Comment:
    resident = c.require_in_scope(actor, topic, "consult_comment", request)
    body = c.text(body, "body", c.COMMENT_MAX, required=True, label=_("Your comment"))
    with transaction.atomic():
        topic = c.lock(topic)
        _stage(topic, COMMENT_STAGES, _("Comments are not taken at the stage “%(stage)s”."))
        comment = Comment.objects.create(
            topic=topic,
            region_code=topic.region_code,
            person=resident.person,
            user=resident.user,
            author_name=resident.person.name,
            body=body,
            created_at=c.now(),
        )
        _audit("comment", actor, comment, topic.region_code, request, topic=topic.pk)
    return comment


def feedback_give(
    *, actor: Viewer, topic: Topic, satisfied: object, comment: str = "", request: HttpRequest | None = None
) -> Feedback:
    """Satisfied or not, with an optional comment; once per person."""
    resident = c.require_in_scope(actor, topic, "consult_feedback", request)
    if satisfied not in (True, False):
        raise ValidationError({"satisfied": _("Say whether you are satisfied.")})
    comment = c.text(comment, "comment", 500, label=pgettext("feedback", "Comment"))
    _stage(
        topic,
        FEEDBACK_STAGES,
        _("Feedback is taken once the decision was carried out; this topic is at “%(stage)s”."),
    )
    if Feedback.objects.filter(topic=topic, person=resident.person).exists():
        raise ValidationError(_("You have already given your feedback on this topic."))
    try:
        with transaction.atomic():
            feedback = Feedback.objects.create(
                topic=topic,
                person=resident.person,
                user=resident.user,
                author_name=resident.person.name,
                satisfied=bool(satisfied),
                comment=comment,
                at=c.now(),
            )
            _audit(
                "feedback",
                actor,
                feedback,
                topic.region_code,
                request,
                topic=topic.pk,
                satisfied=bool(satisfied),
            )
    except IntegrityError as exc:
        raise ValidationError(_("You have already given your feedback on this topic.")) from exc
    return feedback
