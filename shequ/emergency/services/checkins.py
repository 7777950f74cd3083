"""Daily check-ins (epidemic mode): a light reuse of call-outs. Each day of a campaign a round is
sent (a call-out of kind ``checkin``); when the round closes, every grid with people who did not
answer or answered "something wrong" gets one follow-up task for its grid worker."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core import outbox
from shequ.emergency.events import CheckInFollowUp
from shequ.emergency.models import Answer, Mobilization, Recipient


def follow_up(mobilization: Mobilization) -> int:
    """Emit one follow-up per grid with missing or abnormal answers (inside the closing transaction)."""
    rows = (
        Recipient.objects.filter(mobilization=mobilization)
        .values("region_code")
        .annotate(
            missing=Count("pk", filter=Q(answer=Answer.PENDING)),
            abnormal=Count("pk", filter=Q(answer=Answer.ABNORMAL)),
        )
        .filter(Q(missing__gt=0) | Q(abnormal__gt=0))
        .order_by("region_code")
    )
    with override("zh-hans"):
        title = _("Check-in follow-up: %(title)s") % {"title": mobilization.title}
    events = [
        CheckInFollowUp(
            mobilization_id=mobilization.pk,
            region_code=row["region_code"],
            title=title[:100],
            missing=row["missing"],
            abnormal=row["abnormal"],
            is_drill=mobilization.is_drill,
        )
        for row in rows
    ]
    outbox.emit_many(events)
    return len(events)
