"""Every read of the emergency app that leaves it, region-scoped to the viewer.

``warning_get_for`` / ``mobilization_get_for`` answer 404 for rows outside the viewer's scope (and
for viewers without ``emergency.view``), as every other app's ``get_<obj>_for`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from shequ.core.permissions import Viewer, has_perm, scope_q, scopes_for
from shequ.core.selectors import region_names
from shequ.emergency.models import (
    Answer,
    Mobilization,
    MobilizationStatus,
    Recipient,
    Warning,
    WarningStatus,
)
from shequ.emergency.permissions import EmergencyPerm as P

PENDING_NAMES_PER_GRID = 50


def _covering_q(viewer: Viewer) -> Q:
    """Rows of the viewer's regions and of the regions above them: a community's warning covers
    its grids, and its call-out reaches their people, whom the grid worker follows on the roll-call."""
    q = scope_q(viewer, P.VIEW)
    for code in scopes_for(viewer, P.VIEW):
        q |= Q(region_code__in=[code[:n] for n in (2, 4, 6, 9, 12) if n < len(code)])
    return q


def warning_list(*, viewer: Viewer, status: str = "") -> QuerySet[Warning]:
    qs = Warning.objects.filter(_covering_q(viewer))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("region")


def warning_get_for(viewer: Viewer, pk: Any) -> Warning:
    warning = warning_list(viewer=viewer).filter(pk=pk).first() if str(pk).isdigit() else None
    if warning is None:
        raise Http404
    return warning


def warnings_in_force(*, region_code: str = "") -> QuerySet[Warning]:
    """Public: the warnings in force (of a region and the regions above and below it). Warnings
    are published to everyone in their area; their text holds no personal data."""
    qs = Warning.objects.filter(status=WarningStatus.ISSUED)
    if region_code:
        above = [region_code[:n] for n in (2, 4, 6, 9, 12, 15) if n <= len(region_code)]
        qs = qs.filter(Q(region_code__startswith=region_code) | Q(region_code__in=above))
    return qs.order_by("-level", "-issued_at")


def public_warning_get(pk: Any) -> Warning:
    """Public: a warning that is or was in force (never a draft)."""
    warning = (
        Warning.objects.filter(pk=pk, status__in=[WarningStatus.ISSUED, WarningStatus.LIFTED]).first()
        if str(pk).isdigit()
        else None
    )
    if warning is None:
        raise Http404
    return warning


def warning_audience(warning: Warning) -> int:
    """How many people issuing the warning reaches now: the staff and residents of its area (inside
    its zone when one is drawn), counted as its publication counts them (the issue page says it)."""
    from shequ.emergency.services.warnings import area_people

    return len(area_people(warning))


def mobilization_list(*, viewer: Viewer, status: str = "") -> QuerySet[Mobilization]:
    qs = Mobilization.objects.filter(_covering_q(viewer))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("region", "warning", "created_by")


def mobilization_get_for(viewer: Viewer, pk: Any) -> Mobilization:
    found = mobilization_list(viewer=viewer).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404
    return found


def live_counts(*, viewer: Viewer) -> dict[str, int]:
    """For the home tiles: warnings in force and open call-outs in the viewer's scope."""
    if not has_perm(viewer, P.VIEW):
        return {}
    return {
        "warnings": warning_list(viewer=viewer, status=WarningStatus.ISSUED).count(),
        "callouts": mobilization_list(viewer=viewer, status=MobilizationStatus.OPEN).count(),
    }


@dataclass
class GridCount:
    region_code: str
    name: str
    total: int = 0
    answered: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # answer → people
    pending_names: list[Recipient] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.counts.get(Answer.PENDING, 0)

    @property
    def help(self) -> int:
        return self.counts.get(Answer.HELP, 0)

    @property
    def share(self) -> int:
        """Answered, in percent (rounded down, so 100 means everyone)."""
        return self.answered * 100 // self.total if self.total else 0


@dataclass
class RollCallView:
    mobilization: Mobilization
    grids: list[GridCount]
    totals: dict[str, int]
    total: int
    answered: int
    help_needed: list[Recipient]

    @property
    def pending(self) -> int:
        return self.total - self.answered


def roll_call(*, mobilization: Mobilization, viewer: Viewer, grid: str = "") -> RollCallView:
    """Counts per grid (one GROUP BY on the roll-call index), the names of those not answered
    (up to ``PENDING_NAMES_PER_GRID`` per grid) and everyone who asked for help. The viewer must
    have been given the call-out by ``mobilization_get_for``; the people listed are further limited
    to the viewer's own regions (a grid worker sees their grid's people of a street's call-out)."""
    people = Recipient.objects.filter(mobilization=mobilization).filter(scope_q(viewer, P.VIEW))
    if grid:
        people = people.filter(region_code__startswith=grid)
    rows = people.values("region_code", "answer").annotate(n=Count("pk")).order_by("region_code")
    grids: dict[str, GridCount] = {}
    totals: dict[str, int] = {}
    for row in rows:
        code, answer, n = row["region_code"], row["answer"], row["n"]
        g = grids.setdefault(code, GridCount(code, code))
        g.total += n
        g.counts[answer] = g.counts.get(answer, 0) + n
        if answer != Answer.PENDING:
            g.answered += n
        totals[answer] = totals.get(answer, 0) + n
    names = region_names(list(grids))
    for code, g in grids.items():
        g.name = names.get(code, code)
    # One query for all grids, the first names of each (a window per grid): the list is for
    # finding people, the closing report has them all.
    pending = (
        people.filter(answer=Answer.PENDING)
        .annotate(rank=Window(RowNumber(), partition_by=[F("region_code")], order_by=[F("name"), F("pk")]))
        .filter(rank__lte=PENDING_NAMES_PER_GRID)
        .order_by("region_code", "name", "pk")
        .only("pk", "name", "place", "region_code", "sends", "escalated_at", "target", "user_id", "person_id")
    )
    for r in pending:
        grids[r.region_code].pending_names.append(r)
    help_needed = list(people.filter(answer=Answer.HELP).order_by("answered_at", "pk")[:200])
    total = sum(g.total for g in grids.values())
    answered = sum(g.answered for g in grids.values())
    ordered = sorted(grids.values(), key=lambda g: (-g.pending, g.region_code))
    return RollCallView(mobilization, ordered, totals, total, answered, help_needed)


def recipient_get(mobilization: Mobilization, pk: Any) -> Recipient:
    """One person of a call-out the viewer was given by ``mobilization_get_for`` (404 otherwise);
    the page then checks the person's own region with its guard, audited."""
    found = (
        Recipient.objects.filter(mobilization=mobilization, pk=pk).select_related("mobilization").first()
        if str(pk).isdigit()
        else None
    )
    if found is None:
        raise Http404
    return found
