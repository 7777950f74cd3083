"""Daily check-ins (epidemic mode): a light reuse of call-outs. Each day of a campaign a round is
sent (a call-out of kind ``checkin``); when the round closes, every grid with people who did not
answer or answered "something wrong" gets one follow-up task for its grid worker.

``campaign_start`` checks the officer's scope over the targets (as a call-out does) and audits the
campaign once; ``rounds_due`` (the worker, every few minutes) sends each day's round at its time
through ``mobilization_start`` — at most one a day, the unique constraint on (campaign, day)
settles a race between workers — and closes the rounds of earlier days, which emits the follow-ups.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core import audit, outbox
from shequ.core.models import User
from shequ.core.permissions import has_perm
from shequ.emergency.events import CheckInFollowUp
from shequ.emergency.models import (
    Answer,
    CheckInCampaign,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    Recipient,
    Response,
)
from shequ.emergency.permissions import EmergencyPerm
from shequ.emergency.services import mobilization as callouts
from shequ.emergency.services.answers import short_text

log = logging.getLogger(__name__)

DAYS_MAX = 90  # a campaign longer than a quarter is started again, deliberately
# A round's reminder to the silent a few hours after it was sent; no escalation before the
# round closes (the follow-up tasks of the close do that, once per grid).
REMIND_AFTER_MINUTES = 180
ESCALATE_AFTER_MINUTES = callouts.MINUTES_MAX


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


# Campaigns -------------------------------------------------------------------------------------


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({field: _("Enter a date such as 2026-12-07.")}) from None


def _time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        return dt.time.fromisoformat(str(value).strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise ValidationError({"send_at": _("Enter a time such as 08:00.")}) from None


def campaign_start(
    *,
    actor: User,
    title: str,
    question: str,
    targets: list[dict[str, Any]],
    starts_on: Any,
    ends_on: Any,
    send_at: Any = "08:00",
    is_drill: bool = False,
    request: HttpRequest | None = None,
) -> CheckInCampaign:
    """Daily check-ins for the people the targets name (like a call-out's), from ``starts_on`` to
    ``ends_on`` (local days), each day's round sent at ``send_at`` (local time). Needs
    ``emergency.mobilize`` over every target (a refusal is audited); bad input changes nothing."""
    errors: dict[str, Any] = {}
    for field, value, length in (("title", title, 60), ("question", question, 200)):
        try:
            text = short_text(value, length, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if not text:
            errors[field] = (
                _("Give the check-in a title.")
                if field == "title"
                else _("Write the question people answer.")
            )
        elif field == "title":
            title = text
        else:
            question = text
    start = end = None
    try:
        start = _date(starts_on, "starts_on")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        end = _date(ends_on, "ends_on")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        at = _time(send_at)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    today = timezone.localdate()
    if start is not None and start < today:
        errors["starts_on"] = _("The first day cannot be in the past.")
    if start is not None and end is not None:
        if end < start:
            errors["ends_on"] = _("The last day comes on or after the first.")
        elif (end - start).days + 1 > DAYS_MAX:
            errors["ends_on"] = _("At most %(n)d days; start another check-in after that.") % {"n": DAYS_MAX}
    if errors:
        raise ValidationError(errors)
    assert start is not None and end is not None
    cleaned = callouts.clean_targets(actor=actor, raw=targets, request=request)
    people = callouts.addressees(cleaned)
    if not people:
        raise ValidationError(
            {"targets": _("Nobody the targets name can be reached (no account or mobile number).")}
        )
    region = callouts._region_of(cleaned, people)
    with transaction.atomic():
        campaign = CheckInCampaign.objects.create(
            region=region,
            region_code=region.code,
            title=title,
            question=question,
            targets=[t.as_json() for t in cleaned],
            starts_on=start,
            ends_on=end,
            send_at=at,
            is_drill=is_drill,
            created_by=actor,
        )
        audit.record(
            "emergency.campaign_start",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="emergency.campaign",
            object_id=campaign.pk,
            detail={
                "title": title,
                "targets": campaign.targets,
                "people": len(people),
                "starts_on": start.isoformat(),
                "ends_on": end.isoformat(),
                "send_at": at.strftime("%H:%M"),
                "drill": is_drill,
            },
        )
    return campaign


def campaign_stop(
    *, actor: User, campaign: CheckInCampaign, request: HttpRequest | None = None
) -> CheckInCampaign:
    """No more rounds (today's, if sent, stays open for answers until the day ends)."""
    if not has_perm(actor, EmergencyPerm.MOBILIZE, campaign.region_code):
        audit.record(
            "emergency.campaign_stop",
            actor=actor,
            request=request,
            region_code=campaign.region_code,
            object_type="emergency.campaign",
            object_id=campaign.pk,
            result="denied",
        )
        raise PermissionDenied(_("You may not stop check-ins of this region."))
    with transaction.atomic():
        stopped = CheckInCampaign.objects.filter(pk=campaign.pk, active=True).update(active=False)
        if not stopped:
            raise ValidationError(_("This check-in is already stopped."))
        audit.record(
            "emergency.campaign_stop",
            actor=actor,
            request=request,
            region_code=campaign.region_code,
            object_type="emergency.campaign",
            object_id=campaign.pk,
            detail={"rounds": campaign.rounds.count()},
        )
    campaign.refresh_from_db()
    return campaign


# Rounds ----------------------------------------------------------------------------------------


def round_start(campaign: CheckInCampaign, day: dt.date) -> Mobilization | None:
    """Send the campaign's round of ``day`` (None when it exists already or reaches nobody)."""
    try:
        with transaction.atomic():
            return callouts.mobilization_start(
                actor=None,
                title=campaign.title,
                body=campaign.question,
                response=Response.CHECKIN,
                targets=campaign.targets,
                is_drill=campaign.is_drill,
                resend_after_minutes=REMIND_AFTER_MINUTES,
                resends=1,
                escalate_after_minutes=ESCALATE_AFTER_MINUTES,
                kind=MobilizationKind.CHECKIN,
                campaign=campaign,
                round_date=day,
            )
    except IntegrityError:  # another worker sent it a moment ago
        return None
    except ValidationError as exc:
        log.warning("check-in %s: no round on %s: %s", campaign.pk, day, "; ".join(exc.messages))
        return None


def rounds_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Close the rounds of earlier days (their follow-ups go to the grids), then send today's round
    of every running campaign whose time has come. Idempotent: run it as often as you like."""
    local = timezone.localtime(now or timezone.now())
    today = local.date()
    closed = 0
    stale = Mobilization.objects.filter(
        kind=MobilizationKind.CHECKIN, status=MobilizationStatus.OPEN, round_date__lt=today
    ).order_by("pk")
    for round_ in stale:
        try:
            callouts.mobilization_close(actor=None, mobilization=round_)
        except ValidationError:  # closed meanwhile by staff or another worker
            continue
        closed += 1
    sent = 0
    due = (
        CheckInCampaign.objects.filter(
            active=True, starts_on__lte=today, ends_on__gte=today, send_at__lte=local.time()
        )
        .exclude(rounds__round_date=today)
        .order_by("pk")
    )
    for campaign in due:
        if round_start(campaign, today) is not None:
            sent += 1
    return {"closed": closed, "sent": sent}
