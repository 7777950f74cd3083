"""Reads of the daily check-ins, region-scoped to the viewer (``campaign_get_for`` answers 404
outside the viewer's scope). Each round's counts are one GROUP BY over the roll-call index,
limited to the people of the viewer's own regions, as the roll-call is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.permissions import Viewer, scope_q
from shequ.emergency.models import Answer, CheckInCampaign, Mobilization, Recipient
from shequ.emergency.permissions import EmergencyPerm as P


def campaign_list(*, viewer: Viewer) -> QuerySet[CheckInCampaign]:
    return CheckInCampaign.objects.filter(scope_q(viewer, P.VIEW)).select_related("region", "created_by")


def campaign_get_for(viewer: Viewer, pk: Any) -> CheckInCampaign:
    found = campaign_list(viewer=viewer).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404
    return found


def campaign_state(campaign: CheckInCampaign, today: dt.date | None = None) -> str:
    """``stopped``, ``upcoming``, ``running`` or ``ended`` (by the local day)."""
    today = today or timezone.localdate()
    if not campaign.active:
        return "stopped"
    if campaign.starts_on > today:
        return "upcoming"
    if campaign.ends_on < today:
        return "ended"
    return "running"


@dataclass
class RoundCounts:
    round: Mobilization
    total: int = 0
    answered: int = 0
    abnormal: int = 0

    @property
    def missing(self) -> int:
        return self.total - self.answered


def campaign_rounds(*, campaign: CheckInCampaign, viewer: Viewer) -> list[RoundCounts]:
    """The campaign's rounds, newest first, with answered / "something wrong" / missing counts of
    the people in the viewer's regions."""
    rounds = {
        m.pk: RoundCounts(m) for m in Mobilization.objects.filter(campaign=campaign).order_by("-round_date")
    }
    rows = (
        Recipient.objects.filter(mobilization__campaign=campaign)
        .filter(scope_q(viewer, P.VIEW))
        .values("mobilization_id", "answer")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts = rounds[row["mobilization_id"]]
        counts.total += row["n"]
        if row["answer"] != Answer.PENDING:
            counts.answered += row["n"]
        if row["answer"] == Answer.ABNORMAL:
            counts.abnormal += row["n"]
    return list(rounds.values())
