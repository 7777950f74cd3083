"""Every read of the disclosure area, scoped to the viewer.

Staff (``participation.view``) and supervisors (``participation.supervise``) see the items and
questions of their regions; ``get_*_for`` answers 404 outside. The public board reads only published
items and answered questions of one community, with the askers masked; a resident reads their own
questions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.models import Region, RegionLevel
from shequ.core.permissions import Viewer, has_perm, scope_q, scopes_for
from shequ.core.selectors import resident_regions
from shequ.grid import deadlines
from shequ.participation.models import (
    DisclosureFile,
    DisclosureItem,
    DisclosureQuestion,
    DisclosureStatus,
    QuestionKind,
    QuestionStatus,
)
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import rules

COMMUNITY_LENGTH = 12
SUPERVISION_MAX = 300  # communities on one supervision page


def _pk(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def visible_q(viewer: Viewer) -> Q:
    return scope_q(viewer, P.VIEW) | scope_q(viewer, P.SUPERVISE)


def may_view(viewer: Viewer, region_code: str) -> bool:
    return has_perm(viewer, P.VIEW, region_code) or has_perm(viewer, P.SUPERVISE, region_code)


# --- Items ----------------------------------------------------------------------------------------------


def item_list(
    *, viewer: Viewer, region_code: str = "", kind: str = "", status: str = ""
) -> QuerySet[DisclosureItem]:
    items = DisclosureItem.objects.filter(visible_q(viewer))
    if region_code:
        items = items.filter(region_code__startswith=region_code)
    if kind:
        items = items.filter(kind=kind)
    if status:
        items = items.filter(status=status)
    return (
        items.select_related("region", "author")
        .annotate(row_count=Count("rows", distinct=True))
        .order_by("-created_at", "-pk")
    )


def get_item_for(viewer: Viewer, pk: Any) -> DisclosureItem:
    item = (
        DisclosureItem.objects.filter(visible_q(viewer))
        .select_related("region", "author", "published_by", "withdrawn_by")
        .filter(pk=_pk(pk))
        .first()
    )
    if item is None:
        raise Http404
    return item


def files_of(item: DisclosureItem) -> QuerySet[DisclosureFile]:
    return item.files.order_by("pk")


def get_file_for(viewer: Viewer, token: str) -> DisclosureFile:
    row = DisclosureFile.objects.select_related("item").filter(token=token).first()
    if row is None or not may_view(viewer, row.item.region_code):
        raise Http404
    return row


def communities_for(viewer: Viewer, perm: str) -> list[Region]:
    """The communities (and villages) under the viewer's scopes for ``perm``."""
    codes = scopes_for(viewer, perm)
    if not codes:
        return []
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(code__startswith=code[:COMMUNITY_LENGTH])
    return list(Region.objects.filter(q, level=RegionLevel.COMMUNITY).order_by("code")[:SUPERVISION_MAX])


def community_schedule(region: Region, *, now: dt.datetime | None = None) -> list[rules.Entry]:
    items = DisclosureItem.objects.filter(region_code=region.code).exclude(status=DisclosureStatus.WITHDRAWN)
    return rules.schedule(region.code, items, now=now)


# --- The public board --------------------------------------------------------------------------------


def public_community(code: str) -> Region:
    region = Region.objects.filter(code=code, level=RegionLevel.COMMUNITY).first()
    if region is None:
        raise Http404
    return region


def public_items(region: Region, *, kind: str = "") -> QuerySet[DisclosureItem]:
    items = DisclosureItem.objects.filter(region_code=region.code, status=DisclosureStatus.PUBLISHED)
    if kind:
        items = items.filter(kind=kind)
    return items.annotate(
        answered=Count("questions", filter=Q(questions__status=QuestionStatus.ANSWERED), distinct=True)
    ).order_by("-published_at", "-pk")


def get_public_item(region: Region, pk: Any) -> DisclosureItem:
    item = (
        DisclosureItem.objects.filter(region_code=region.code, status=DisclosureStatus.PUBLISHED, pk=_pk(pk))
        .select_related("region")
        .first()
    )
    if item is None:
        raise Http404
    return item


def get_public_file(token: str) -> DisclosureFile:
    row = (
        DisclosureFile.objects.select_related("item")
        .filter(token=token, item__status=DisclosureStatus.PUBLISHED)
        .first()
    )
    if row is None:
        raise Http404
    return row


def answered_questions(item: DisclosureItem) -> QuerySet[DisclosureQuestion]:
    return (
        item.questions.filter(status=QuestionStatus.ANSWERED)
        .select_related("row")
        .order_by("-answered_at", "-pk")
    )


def recent_answers(region: Region, *, limit: int = 20) -> QuerySet[DisclosureQuestion]:
    return (
        DisclosureQuestion.objects.filter(
            region_code=region.code, status=QuestionStatus.ANSWERED, item__status=DisclosureStatus.PUBLISHED
        )
        .select_related("item", "row")
        .order_by("-answered_at", "-pk")[:limit]
    )


# --- Residents ------------------------------------------------------------------------------------------


def home_communities(user: Viewer) -> list[Region]:
    """The communities whose boards a resident takes part in (their resident memberships')."""
    codes = {r.code[:COMMUNITY_LENGTH] for r in resident_regions(user)}
    return list(Region.objects.filter(code__in=codes, level=RegionLevel.COMMUNITY).order_by("code"))


def my_questions(user: Viewer) -> QuerySet[DisclosureQuestion]:
    return (
        DisclosureQuestion.objects.filter(asker_id=getattr(user, "pk", None))
        .select_related("item", "row", "region")
        .order_by("-asked_at", "-pk")
    )


# --- Questions for staff and supervisors -------------------------------------------------------------------


def question_list(
    *, viewer: Viewer, status: str = "", kind: str = "", overdue: bool = False, region_code: str = ""
) -> QuerySet[DisclosureQuestion]:
    questions = DisclosureQuestion.objects.filter(visible_q(viewer))
    if status:
        questions = questions.filter(status=status)
    if kind:
        questions = questions.filter(kind=kind)
    if region_code:
        questions = questions.filter(region_code__startswith=region_code)
    if overdue:
        questions = questions.filter(status=QuestionStatus.OPEN, due_at__lt=timezone.now())
    return questions.select_related("item", "row", "region").order_by("status", "due_at", "pk")


def get_question_for(viewer: Viewer, pk: Any) -> DisclosureQuestion:
    question = (
        DisclosureQuestion.objects.filter(visible_q(viewer))
        .select_related("item", "row", "region", "answered_by")
        .filter(pk=_pk(pk))
        .first()
    )
    if question is None:
        raise Http404
    return question


# --- Supervision -------------------------------------------------------------------------------------------


@dataclass
class CommunityRow:
    region: Region
    open_questions: int = 0
    overdue_questions: int = 0
    overdue_challenges: int = 0
    overdue_items: int = 0
    late_items: int = 0
    overdue_labels: list[str] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return bool(self.overdue_challenges or self.overdue_questions or self.overdue_items)


def supervision(
    *, viewer: Viewer, region_code: str = "", now: dt.datetime | None = None
) -> list[CommunityRow]:
    """Per community under the viewer's supervision (or ``region_code`` within it): open and overdue
    questions, overdue unanswered challenges, expected items overdue or published late."""
    now = now or timezone.now()
    communities = [
        r for r in communities_for(viewer, P.SUPERVISE) if not region_code or r.code.startswith(region_code)
    ]
    rows = {r.code: CommunityRow(region=r) for r in communities}
    if not rows:
        return []
    codes = list(rows)
    counts = (
        DisclosureQuestion.objects.filter(region_code__in=codes, status=QuestionStatus.OPEN)
        .values("region_code", "kind")
        .annotate(
            n=Count("pk"),
            late=Count("pk", filter=Q(due_at__lt=now)),
        )
    )
    for entry in counts:
        row = rows[entry["region_code"]]
        row.open_questions += entry["n"]
        if entry["kind"] == QuestionKind.CHALLENGE:
            row.overdue_challenges += entry["late"]
        else:
            row.overdue_questions += entry["late"]
    items = list(
        DisclosureItem.objects.filter(region_code__in=codes).exclude(status=DisclosureStatus.WITHDRAWN)
    )
    by_code: dict[str, list[DisclosureItem]] = {}
    for item in items:
        by_code.setdefault(item.region_code, []).append(item)
    calendar = deadlines.Calendar.load()
    for code, row in rows.items():
        entries = rules.schedule(code, by_code.get(code, []), now=now, calendar=calendar)
        states = Counter(e.state for e in entries)
        row.overdue_items = states[rules.State.OVERDUE]
        row.late_items = states[rules.State.LATE]
        row.overdue_labels = [f"{e.kind_label} {e.label}" for e in entries if e.state == rules.State.OVERDUE][
            :6
        ]
    return sorted(rows.values(), key=lambda r: (not r.needs_attention, r.region.code))


def overdue_challenges(
    *, viewer: Viewer, region_code: str = "", limit: int = 200
) -> list[DisclosureQuestion]:
    questions = DisclosureQuestion.objects.filter(
        scope_q(viewer, P.SUPERVISE), status=QuestionStatus.OPEN, due_at__lt=timezone.now()
    )
    if region_code:
        questions = questions.filter(region_code__startswith=region_code)
    return list(questions.select_related("item", "row", "region").order_by("kind", "due_at", "pk")[:limit])
