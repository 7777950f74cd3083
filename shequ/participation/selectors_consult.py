"""Every read of the consultations area, scoped to the viewer.

- Public (no sign-in): topics past the proposal stage, their proposals with support counts,
  comments (hidden ones without their text), meeting, decision, progress and feedback; names
  masked (张*). Proposed and declined topics are not public.
- Residents: the topics of the communities they are residents of (and their own proposals).
- Staff: topics under their ``participation.view`` scope; moderators the comments under their
  ``participation.moderate`` scope. ``get_*_for`` answers 404 outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from shequ.core.models import RegionLevel
from shequ.core.permissions import Viewer, has_perm, scope_q, scopes_for
from shequ.core.selectors import resident_regions
from shequ.participation.models import (
    Comment,
    CommentAppeal,
    CommentReport,
    CommentStatus,
    Feedback,
    ProgressUpdate,
    Proposal,
    Stage,
    Support,
    Topic,
    TopicFile,
    TopicStep,
)
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.consultations._common import COMMUNITY_LENGTH

PUBLIC_STAGES = frozenset(
    {Stage.COLLECTING, Stage.MEETING, Stage.DECIDED, Stage.IMPLEMENTING, Stage.FEEDBACK, Stage.CLOSED}
)
OPEN_STAGES = frozenset(
    {Stage.PROPOSED, Stage.COLLECTING, Stage.MEETING, Stage.DECIDED, Stage.IMPLEMENTING, Stage.FEEDBACK}
)


def _pk(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def _topics() -> QuerySet[Topic]:
    return Topic.objects.select_related("region").prefetch_related("buildings")


# --- Public ---------------------------------------------------------------------------------------


def public_topic_list(*, community_code: str) -> QuerySet[Topic]:
    return (
        _topics()
        .filter(region_code__startswith=community_code, stage__in=PUBLIC_STAGES)
        .order_by("-created_at", "-pk")
    )


def get_public_topic(pk: Any) -> Topic:
    topic = _topics().filter(pk=_pk(pk), stage__in=PUBLIC_STAGES).first()
    if topic is None:
        raise Http404
    return topic


# --- Residents ------------------------------------------------------------------------------------


def resident_communities(user: Viewer) -> list[str]:
    """The community codes where the account is a resident."""
    return sorted({r.code[:COMMUNITY_LENGTH] for r in resident_regions(user)})


def resident_topic_list(*, user: Viewer) -> QuerySet[Topic]:
    """The public topics of the resident's communities and the resident's own proposals."""
    codes = resident_communities(user)
    if not codes:
        return Topic.objects.none()
    area = Q(pk__in=[])
    for code in codes:
        area |= Q(region_code__startswith=code)
    mine = Q(proposer_user_id=getattr(user, "pk", None), proposed_by_resident=True)
    return _topics().filter(area).filter(Q(stage__in=PUBLIC_STAGES) | mine).order_by("-created_at", "-pk")


def get_topic_for_resident(user: Viewer, pk: Any) -> Topic:
    topic = resident_topic_list(user=user).filter(pk=_pk(pk)).first()
    if topic is None:
        raise Http404
    return topic


def get_comment_for_resident(user: Viewer, pk: Any) -> Comment:
    comment = Comment.objects.select_related("topic", "topic__region").filter(pk=_pk(pk)).first()
    if comment is None:
        raise Http404
    get_topic_for_resident(user, comment.topic_id)  # 404 outside the resident's communities
    return comment


def get_proposal_for_resident(user: Viewer, pk: Any) -> Proposal:
    proposal = Proposal.objects.select_related("topic", "topic__region").filter(pk=_pk(pk)).first()
    if proposal is None:
        raise Http404
    get_topic_for_resident(user, proposal.topic_id)
    return proposal


# --- Staff ----------------------------------------------------------------------------------------


def visible_q(viewer: Viewer) -> Q:
    """Topics under the viewer's scopes, and a grid worker's community-wide topics (they concern
    the worker's grid too)."""
    scopes = scopes_for(viewer, P.VIEW)
    communities = {code[:COMMUNITY_LENGTH] for code in scopes if len(code) > COMMUNITY_LENGTH}
    return scope_q(viewer, P.VIEW) | Q(region_code__in=sorted(communities))


def topic_list(*, viewer: Viewer, stage: str = "", q: str = "") -> QuerySet[Topic]:
    """Newest first. ``stage``: a stage, ``open`` (not closed nor declined) or empty (all)."""
    topics = _topics().filter(visible_q(viewer))
    if stage == "open":
        topics = topics.filter(stage__in=OPEN_STAGES)
    elif stage in Stage.values:
        topics = topics.filter(stage=stage)
    if q:
        topics = topics.filter(Q(title__contains=q) | Q(description__contains=q))
    return topics.order_by("-created_at", "-pk")


def get_topic_for(viewer: Viewer, pk: Any) -> Topic:
    topic = _topics().filter(visible_q(viewer), pk=_pk(pk)).first()
    if topic is None:
        raise Http404
    return topic


def consult_regions(*, viewer: Viewer) -> list[Any]:
    """The grids and communities where the viewer may open topics."""
    from shequ.core.models import Region

    return list(
        Region.objects.filter(
            scope_q(viewer, P.CONSULT, "code"), level__in=[RegionLevel.COMMUNITY, RegionLevel.GRID]
        ).order_by("code")[:500]
    )


def buildings_for(*, viewer: Viewer) -> QuerySet[Any]:
    """Registry buildings under the viewer's consultation scope (to narrow a topic's scope)."""
    from shequ.registry.models import Building

    return Building.objects.filter(scope_q(viewer, P.CONSULT)).order_by("region_code", "address")


def open_count(*, viewer: Viewer) -> int:
    return topic_list(viewer=viewer, stage="open").count()


# --- Moderation -----------------------------------------------------------------------------------


def moderation_queue(*, viewer: Viewer) -> list[Comment]:
    """Comments waiting for a moderator: hidden after reports, appealed, or reported while visible."""
    pending_appeal = CommentAppeal.objects.filter(comment=OuterRef("pk"), decided_at__isnull=True)
    reported = CommentReport.objects.filter(comment=OuterRef("pk")).filter(
        Q(comment__reviewed_at__isnull=True) | Q(at__gt=OuterRef("reviewed_at"))
    )
    rows = (
        Comment.objects.filter(scope_q(viewer, P.MODERATE))
        .annotate(appealed=Exists(pending_appeal), reported=Exists(reported))
        .filter(
            Q(status=CommentStatus.HIDDEN_PENDING)
            | Q(appealed=True)
            | Q(status=CommentStatus.VISIBLE, reported=True)
        )
        .select_related("topic", "topic__region", "appeal")
        .prefetch_related(Prefetch("reports", queryset=CommentReport.objects.order_by("at", "pk")))
        .order_by("created_at", "pk")
    )
    return list(rows[:200])


def moderated_recently(*, viewer: Viewer, limit: int = 30) -> list[Comment]:
    return list(
        Comment.objects.filter(scope_q(viewer, P.MODERATE), status=CommentStatus.HIDDEN)
        .select_related("topic")
        .order_by("-hidden_at", "-pk")[:limit]
    )


def get_comment_for_moderator(viewer: Viewer, pk: Any) -> Comment:
    comment = Comment.objects.select_related("topic").filter(scope_q(viewer, P.MODERATE), pk=_pk(pk)).first()
    if comment is None:
        raise Http404
    return comment


def can_moderate(viewer: Viewer, topic: Topic) -> bool:
    return has_perm(viewer, P.MODERATE, topic.region_code)


# --- A topic's parts ------------------------------------------------------------------------------


def steps_of(topic: Topic, *, public_only: bool = True) -> list[TopicStep]:
    steps = TopicStep.objects.filter(topic=topic)
    if public_only:
        steps = steps.filter(public=True)
    return list(steps.order_by("at", "pk"))


def proposals_of(topic: Topic, *, person_id: int | None = None) -> list[Proposal]:
    """With ``supporters`` (the count) and ``supported`` (by ``person_id``)."""
    rows = Proposal.objects.filter(topic=topic).annotate(supporters=Count("supports"))
    if person_id is not None:
        rows = rows.annotate(
            supported=Exists(Support.objects.filter(proposal=OuterRef("pk"), person_id=person_id))
        )
    return list(rows.order_by("-supporters", "created_at", "pk"))


def comments_of(topic: Topic) -> list[Comment]:
    return list(
        Comment.objects.filter(topic=topic)
        .annotate(report_count=Count("reports"))
        .select_related("appeal")
        .order_by("created_at", "pk")
    )


def progress_of(topic: Topic) -> list[ProgressUpdate]:
    return list(ProgressUpdate.objects.filter(topic=topic).prefetch_related("photos").order_by("on", "pk"))


def files_of(topic: Topic, *, public_only: bool) -> list[TopicFile]:
    rows = TopicFile.objects.filter(topic=topic)
    if public_only:
        rows = rows.filter(public=True)
    return list(rows.order_by("pk"))


def get_file(topic: Topic, token: str, *, public_only: bool) -> TopicFile:
    rows = TopicFile.objects.filter(topic=topic, token=str(token)[:32])
    if public_only:
        rows = rows.filter(public=True)
    row = rows.first()
    if row is None:
        raise Http404
    return row


@dataclass(frozen=True)
class FeedbackSummary:
    total: int
    satisfied: int
    rows: list[Feedback]

    @property
    def percent(self) -> str:
        from shequ.core.figures import percent, rate

        return percent(rate(self.satisfied, self.total))


def feedback_of(topic: Topic) -> FeedbackSummary:
    rows = list(Feedback.objects.filter(topic=topic).order_by("at", "pk"))
    return FeedbackSummary(total=len(rows), satisfied=sum(1 for f in rows if f.satisfied), rows=rows)


def feedback_by(topic: Topic, person_id: int) -> Feedback | None:
    return Feedback.objects.filter(topic=topic, person_id=person_id).first()
