"""The on-duty roster (值班表) of a community or a street: who answers for the region right now, so
that an urgent matter (a life-safety ticket, later an IoT alarm or an emergency call-out) reaches
someone awake at 3 a.m.

* Selectors: ``on_duty`` / ``duty_now`` (whom to reach at a time: the shifts covering it, else the
  region's fallback person), ``roster`` (a viewer's view of the coming days, with the gaps no shift
  covers), ``duty_staff`` (who may be put on duty there), ``shift_get_for``.
* Services: ``shift_add``, ``shift_remove``, ``fallback_set``, ``shifts_copy_week``. Each needs
  ``core.manage_duty`` in the region (a refusal is audited and raises ``PermissionDenied``),
  validates (bad input raises ``ValidationError`` with field errors and changes nothing), writes in
  one transaction with its audit entry. ``actor=None`` is the platform itself (the demo).

Who may be on duty: an active account holding an active staff role (grid worker, community worker,
community head, street officer) in the region, below it, or above it within the same street — so a
community's roster can hold its grid workers and the street officer, never a resident or someone of
a sibling community. A shift whose person lost that role or whose account was disabled is skipped,
and the fallback answers instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, guards
from shequ.core.models import (
    LEVEL_CODE_LENGTH,
    DutyFallback,
    DutyShift,
    Membership,
    Region,
    RegionLevel,
    Role,
    User,
)
from shequ.core.permissions import Perm, Viewer, has_perm
from shequ.core.text import clean_text

# Regions that keep a roster.
DUTY_LEVELS = frozenset({RegionLevel.COMMUNITY, RegionLevel.STREET})
# Roles whose holders may be put on duty.
DUTY_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_WORKER, Role.COMMUNITY_HEAD, Role.STREET_OFFICER})
MAX_SHIFT = timedelta(days=7)
NOTE_MAX_LENGTH = 40
ROSTER_MAX_DAYS = 31
STREET_CODE_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.STREET]

Why = Literal["shift", "fallback", "none"]


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in the platform's time zone (Asia/Shanghai), as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=local_zone())


# --- Who may be on duty -------------------------------------------------------------------------


def _line_codes(region_code: str) -> list[str]:
    """The region's ancestors within its street, and itself: a membership at one of these (or
    below the region) puts its holder on the region's line."""
    street = region_code[:STREET_CODE_LENGTH]
    return [region_code[:n] for n in LEVEL_CODE_LENGTH.values() if len(street) <= n <= len(region_code)]


def _eligible_memberships(region_code: str) -> QuerySet[Membership]:
    return Membership.objects.filter(
        Q(region_code__startswith=region_code) | Q(region_code__in=_line_codes(region_code)),
        role__in=DUTY_ROLES,
        revoked_at__isnull=True,
    )


def _eligible_q(region_code: str) -> Q:
    """Users who may answer for the region now: active accounts with an active staff role on its line."""
    return Q(is_active=True) & Q(Exists(_eligible_memberships(region_code).filter(user=OuterRef("pk"))))


def duty_staff(*, region_code: str) -> list[User]:
    """Who may be put on the region's roster, by name (the people select box)."""
    return list(User.objects.filter(_eligible_q(region_code)).order_by("display_name", "username"))


def _duty_region(region_code: str, field_name: str = "region") -> Region:
    region = Region.objects.filter(code=region_code).first()
    if region is None or region.level not in DUTY_LEVELS:
        raise ValidationError({field_name: _("Only a community or a street keeps an on-duty roster.")})
    return region


# --- Who is on duty -----------------------------------------------------------------------------


def _covering(region_code: str, at: datetime) -> QuerySet[DutyShift]:
    # starts_at > at - MAX_SHIFT keeps the index range small: no shift is longer.
    return DutyShift.objects.filter(
        region_code=region_code, starts_at__lte=at, starts_at__gt=at - MAX_SHIFT, ends_at__gt=at
    )


@dataclass(frozen=True)
class DutyAnswer:
    """Whom to reach in a region at a time, and why them: ``shift`` (on a shift now), ``fallback``
    (no shift covers the time) or ``none`` (nobody: no shift and no usable fallback).
    ``until``: when the answer changes (the first covering shift's end, or the next shift's start)."""

    users: list[User]
    why: Why
    until: datetime | None = None


def duty_now(*, region_code: str, at: datetime) -> DutyAnswer:
    """Who is on duty in exactly this region at ``at``: the active people whose shift covers it,
    by start; else the fallback person (if still able to answer); else nobody."""
    if timezone.is_naive(at):
        raise ValueError("duty_now needs an aware datetime")
    shifts = list(
        _covering(region_code, at)
        .filter(user__in=User.objects.filter(_eligible_q(region_code)))
        .select_related("user")
        .order_by("starts_at", "pk")
    )
    if shifts:
        users: list[User] = []
        for s in shifts:
            if s.user not in users:
                users.append(s.user)
        return DutyAnswer(users=users, why="shift", until=min(s.ends_at for s in shifts))
    next_start = (
        DutyShift.objects.filter(region_code=region_code, starts_at__gt=at)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    fallback = (
        DutyFallback.objects.filter(
            region_code=region_code, user__in=User.objects.filter(_eligible_q(region_code))
        )
        .select_related("user")
        .first()
    )
    if fallback is not None:
        return DutyAnswer(users=[fallback.user], why="fallback", until=next_start)
    return DutyAnswer(users=[], why="none", until=next_start)


def on_duty(*, region_code: str, at: datetime) -> list[User]:
    """The people to reach in this region at ``at`` (see ``duty_now``); ``[]`` when nobody."""
    return duty_now(region_code=region_code, at=at).users


# --- The roster a viewer sees -------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class RosterEntry:
    """A shift or a gap as shown on one day: ``shift`` None for a gap (clipped to the day); the
    labels say when it starts and ends as seen from that day ("08:30", "前一日 17:30", "次日 08:30")."""

    shift: DutyShift | None
    starts_at: datetime
    ends_at: datetime
    start_label: str
    end_label: str
    first: bool  # the first day the shift shows on (where the page offers to remove it)


@dataclass
class RosterDay:
    day: date
    entries: list[RosterEntry] = field(default_factory=list)
    # Several whole days without any shift are shown as one row, from ``day`` to ``last_day``.
    last_day: date | None = None

    @property
    def empty(self) -> bool:
        return (
            len(self.entries) == 1
            and self.entries[0].shift is None
            and self.entries[0].start_label == "00:00"
            and self.entries[0].end_label == "24:00"
        )


@dataclass
class Roster:
    region: Region
    start: datetime
    end: datetime
    shifts: list[DutyShift]
    gaps: list[Gap]
    fallback: DutyFallback | None
    fallback_active: bool  # the fallback person can still answer (account and role active)
    days: list[RosterDay]


def _gaps(shifts: list[DutyShift], start: datetime, end: datetime) -> list[Gap]:
    gaps: list[Gap] = []
    covered_to = start
    for s in sorted(shifts, key=lambda s: s.starts_at):
        if s.starts_at > covered_to:
            gaps.append(Gap(covered_to, min(s.starts_at, end)))
        covered_to = max(covered_to, s.ends_at)
        if covered_to >= end:
            break
    if covered_to < end:
        gaps.append(Gap(covered_to, end))
    return gaps


def _clock(at: datetime) -> str:
    return timezone.localtime(at, local_zone()).strftime("%H:%M")


def _days(shifts: list[DutyShift], gaps: list[Gap], start: datetime, end: datetime) -> list[RosterDay]:
    first_day = timezone.localtime(start, local_zone()).date()
    out: list[RosterDay] = []
    shown: set[int] = set()
    day = first_day
    while day_start(day) < end:
        lo, hi = max(day_start(day), start), min(day_start(day + timedelta(days=1)), end)
        midnight = day_start(day + timedelta(days=1))
        entries: list[RosterEntry] = []
        for s in shifts:
            if s.starts_at < hi and s.ends_at > lo:
                start_label = _clock(s.starts_at)
                if s.starts_at < day_start(day):
                    start_label = _("%(time)s the day before") % {"time": start_label}
                end_label = _clock(s.ends_at)
                if s.ends_at > midnight:
                    end_label = _("%(time)s next day") % {"time": end_label}
                elif s.ends_at == midnight:
                    end_label = "24:00"
                entries.append(
                    RosterEntry(s, s.starts_at, s.ends_at, start_label, end_label, s.pk not in shown)
                )
                shown.add(s.pk)
        for g in gaps:
            if g.starts_at < hi and g.ends_at > lo:
                a, b = max(g.starts_at, lo), min(g.ends_at, hi)
                end_label = "24:00" if b == midnight else _clock(b)
                entries.append(RosterEntry(None, a, b, _clock(a), end_label, True))
        entries.sort(key=lambda e: (e.starts_at, e.shift is None))
        this = RosterDay(day, entries)
        if out and this.empty and out[-1].empty:
            out[-1].last_day = day
        else:
            out.append(this)
        day += timedelta(days=1)
    return out


def roster_region_get_for(viewer: Viewer, region_code: str) -> Region:
    """The roster's region, or 404 (outside the viewer's scope looks like a missing region)."""
    region = Region.objects.filter(code=region_code).first()
    if (
        region is None
        or region.level not in DUTY_LEVELS
        or not has_perm(viewer, Perm.VIEW_REGION, region.code)
    ):
        raise Http404
    return region


def roster(*, viewer: Viewer, region_code: str, start: datetime | date, days: int = 14) -> Roster:
    """The region's shifts from ``start`` (a time, or a day's local midnight) for ``days`` days,
    the gaps no shift covers, the fallback, and the same by day for the page. 404 outside the
    viewer's ``core.view_region``."""
    region = roster_region_get_for(viewer, region_code)
    days = max(1, min(days, ROSTER_MAX_DAYS))
    if not isinstance(start, datetime):
        start = day_start(start)
    end = start + timedelta(days=days)
    shifts = list(
        DutyShift.objects.filter(region_code=region.code, starts_at__lt=end, ends_at__gt=start)
        .select_related("user")
        .order_by("starts_at", "pk")
    )
    gaps = _gaps(shifts, start, end)
    fallback = fallback_get(region_code=region.code)
    fallback_active = (
        fallback is not None and User.objects.filter(_eligible_q(region.code), pk=fallback.user_id).exists()
    )
    return Roster(
        region=region,
        start=start,
        end=end,
        shifts=shifts,
        gaps=gaps,
        fallback=fallback,
        fallback_active=fallback_active,
        days=_days(shifts, gaps, start, end),
    )


def fallback_get(*, region_code: str) -> DutyFallback | None:
    """The region's fallback (for a caller that has already checked the viewer's scope)."""
    return DutyFallback.objects.filter(region_code=region_code).select_related("user").first()


def shift_get_for(viewer: Viewer, pk: Any) -> DutyShift:
    """One shift the viewer may see (``core.view_region`` in its region), or 404 (also for junk ids)."""
    try:
        shift = DutyShift.objects.select_related("user", "region").get(pk=int(pk))
    except (DutyShift.DoesNotExist, TypeError, ValueError) as exc:
        raise Http404 from exc
    if not has_perm(viewer, Perm.VIEW_REGION, shift.region_code):
        raise Http404
    return shift


# --- Writes -------------------------------------------------------------------------------------


def _require_manage(
    actor: User | None,
    *,
    action: str,
    region_code: str,
    request: Any,
    object_type: str = "core.dutyshift",
    object_id: Any = "",
) -> None:
    """Refuse, audited, an actor without ``core.manage_duty`` in the region (None: the platform)."""
    guards.require_actor(
        actor,
        Perm.MANAGE_DUTY,
        region_code,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request=request,
        message=_("You may not change the on-duty roster of this region."),
    )


def _check_person(user: User, region: Region, field_name: str = "user") -> None:
    if not User.objects.filter(_eligible_q(region.code), pk=user.pk).exists():
        raise ValidationError(
            {
                field_name: _(
                    "%(name)s cannot be on duty for %(region)s: only staff of this community or street "
                    "with an active account can (grid workers, community workers and heads, street officers)."
                )
                % {"name": user.name, "region": region.name}
            }
        )


def _overlapping(user: User, region_code: str, starts_at: datetime, ends_at: datetime) -> QuerySet[DutyShift]:
    return DutyShift.objects.filter(
        user=user, region_code=region_code, starts_at__lt=ends_at, ends_at__gt=starts_at
    )


def fmt(at: datetime) -> str:
    return timezone.localtime(at, local_zone()).strftime("%Y-%m-%d %H:%M")


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValueError("shift times must be timezone-aware")
    if ends_at <= starts_at:
        raise ValidationError({"end": _("The shift must end after it starts.")})
    if ends_at - starts_at > MAX_SHIFT:
        raise ValidationError({"end": _("A shift lasts at most 7 days.")})
    if ends_at <= now:
        raise ValidationError({"day": _("This shift is wholly in the past: choose a time from now on.")})


def shift_add(
    *,
    actor: User | None,
    region_code: str,
    user: User,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    request: Any = None,
) -> DutyShift:
    """Put ``user`` on duty for the region from ``starts_at`` to ``ends_at``.

    Field errors name the form's fields: ``user`` (not staff of the region, or already on duty then),
    ``end`` (ends before it starts, longer than 7 days), ``day`` (wholly in the past), ``note``."""
    _require_manage(actor, action="core.duty_shift_add", region_code=region_code, request=request)
    region = _duty_region(region_code)
    _check_times(starts_at, ends_at, timezone.now())
    note = clean_text(note or "", field="note")
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": _("Keep the note under %(n)d characters.") % {"n": NOTE_MAX_LENGTH}})
    _check_person(user, region)
    with transaction.atomic():
        # Lock the person's row so that two managers adding overlapping shifts for them at once
        # cannot both pass the overlap check (one person's row: nobody else's writes wait).
        User.objects.select_for_update().filter(pk=user.pk).first()
        clash = _overlapping(user, region.code, starts_at, ends_at).first()
        if clash is not None:
            raise ValidationError(
                {
                    "user": _("%(name)s is already on duty here from %(start)s to %(end)s.")
                    % {"name": user.name, "start": fmt(clash.starts_at), "end": fmt(clash.ends_at)}
                }
            )
        shift = DutyShift.objects.create(
            region=region,
            region_code=region.code,
            user=user,
            starts_at=starts_at,
            ends_at=ends_at,
            note=note,
            created_by=actor,
        )
        audit.record(
            "core.duty_shift_add",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="core.dutyshift",
            object_id=shift.pk,
            detail={"user": user.pk, "starts_at": starts_at, "ends_at": ends_at, "note": note},
        )
    return shift


def shift_remove(*, actor: User | None, shift: DutyShift, request: Any = None) -> None:
    """Take a shift off the roster."""
    _require_manage(
        actor,
        action="core.duty_shift_remove",
        region_code=shift.region_code,
        request=request,
        object_id=shift.pk,
    )
    with transaction.atomic():
        deleted, _rows = DutyShift.objects.filter(pk=shift.pk).delete()
        if not deleted:
            raise ValidationError(_("This shift was already removed."))
        audit.record(
            "core.duty_shift_remove",
            actor=actor,
            request=request,
            region_code=shift.region_code,
            object_type="core.dutyshift",
            object_id=shift.pk,
            detail={"user": shift.user_id, "starts_at": shift.starts_at, "ends_at": shift.ends_at},
        )


def fallback_set(*, actor: User | None, region_code: str, user: User, request: Any = None) -> DutyFallback:
    """Make ``user`` the region's fallback: who answers when no shift covers the time."""
    _require_manage(
        actor,
        action="core.duty_fallback_set",
        region_code=region_code,
        request=request,
        object_type="core.dutyfallback",
    )
    region = _duty_region(region_code)
    _check_person(user, region)
    with transaction.atomic():
        fallback, _created = DutyFallback.objects.update_or_create(
            region=region,
            defaults={
                "region_code": region.code,
                "user": user,
                "updated_by": actor,
                "updated_at": timezone.now(),
            },
        )
        audit.record(
            "core.duty_fallback_set",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="core.dutyfallback",
            object_id=fallback.pk,
            detail={"user": user.pk},
        )
    return fallback


@dataclass(frozen=True)
class CopyResult:
    copied: int
    skipped: int  # would overlap the same person's shift, lie wholly in the past, or the person left


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def shifts_copy_week(
    *, actor: User | None, region_code: str, from_monday: date, to_monday: date, request: Any = None
) -> CopyResult:
    """Copy the shifts starting in the week of ``from_monday`` to the week of ``to_monday`` (same
    weekdays and clock times), skipping any that would overlap a shift of the same person there,
    lie wholly in the past, or whose person can no longer be on duty in the region."""
    _require_manage(actor, action="core.duty_copy_week", region_code=region_code, request=request)
    region = _duty_region(region_code)
    if from_monday.weekday() != 0:
        raise ValidationError({"from_monday": _("The week to copy must start on a Monday.")})
    if to_monday.weekday() != 0:
        raise ValidationError({"to_monday": _("The week to fill must start on a Monday.")})
    if from_monday == to_monday:
        raise ValidationError({"to_monday": _("Choose another week to copy to.")})
    # Asia/Shanghai has no daylight saving: whole days keep the clock times.
    shift_by = to_monday - from_monday
    source_start = day_start(from_monday)
    now = timezone.now()
    eligible = set(User.objects.filter(_eligible_q(region.code)).values_list("pk", flat=True))
    copied = skipped = 0
    with transaction.atomic():
        source = list(
            DutyShift.objects.filter(
                region_code=region.code,
                starts_at__gte=source_start,
                starts_at__lt=source_start + timedelta(days=7),
            ).order_by("starts_at", "pk")
        )
        for s in source:
            starts_at, ends_at = s.starts_at + shift_by, s.ends_at + shift_by
            if (
                s.user_id not in eligible
                or ends_at <= now
                or DutyShift.objects.filter(
                    user_id=s.user_id, region_code=region.code, starts_at__lt=ends_at, ends_at__gt=starts_at
                ).exists()
            ):
                skipped += 1
                continue
            DutyShift.objects.create(
                region=region,
                region_code=region.code,
                user_id=s.user_id,
                starts_at=starts_at,
                ends_at=ends_at,
                note=s.note,
                created_by=actor,
            )
            copied += 1
        audit.record(
            "core.duty_copy_week",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="core.dutyshift",
            detail={
                "from_monday": from_monday,
                "to_monday": to_monday,
                "copied": copied,
                "skipped": skipped,
            },
        )
    return CopyResult(copied=copied, skipped=skipped)
