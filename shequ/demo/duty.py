"""Demo on-duty rosters: for each demo community, a day shift 08:30–17:30 and a night shift
17:30–08:30 from yesterday for the next 14 days, alternating among the community's staff, and the
community head as the fallback — so 现在值班 names someone at any hour of the demo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from shequ.core import duty
from shequ.core.models import DutyShift, Membership, Role, User

DAY_START, NIGHT_START = time(8, 30), time(17, 30)
DAYS = 14


@dataclass
class DutySummary:
    shifts: int = 0
    fallbacks: int = 0

    def line(self) -> str:
        return f"on-duty rosters: {self.shifts} shifts added, {self.fallbacks} fallbacks set"


def _community_staff(code: str) -> list[User]:
    """The community's own staff first (its head, workers, grid workers); the street officer above
    joins only when the community has fewer than two."""
    staff = duty.duty_staff(region_code=code)
    own = [
        u
        for u in staff
        if Membership.objects.filter(user=u, region_code__startswith=code, revoked_at__isnull=True).exists()
    ]
    return own if len(own) >= 2 else staff


def _turn(slot: int, n: int) -> int:
    """Whose turn slot number ``slot`` is: in rotation, never the same person twice in a row, and
    with more than two people each takes days and nights in turn (plain ``slot % n`` would keep an
    even-sized team on fixed day or night shifts)."""
    if n > 2 and n % 2 == 0:
        return (slot + slot // n) % n
    return slot % n


def generate_duty(*, communities: list[str], today: date | None = None) -> DutySummary:
    summary = DutySummary()
    zone = duty.local_zone()
    today = today or timezone.localtime(timezone.now(), zone).date()
    for code in communities:
        staff = _community_staff(code)
        if not staff:
            continue
        head = next(
            (u for u in staff if u.memberships.filter(role=Role.COMMUNITY_HEAD, region_code=code).exists()),
            staff[0],
        )
        if not duty.fallback_get(region_code=code):
            duty.fallback_set(actor=None, region_code=code, user=head)
            summary.fallbacks += 1
        for n in range(-1, DAYS):
            day = today + timedelta(days=n)
            slots = [
                (
                    datetime.combine(day, DAY_START, tzinfo=zone),
                    datetime.combine(day, NIGHT_START, tzinfo=zone),
                    "白班",
                ),
                (
                    datetime.combine(day, NIGHT_START, tzinfo=zone),
                    datetime.combine(day + timedelta(days=1), DAY_START, tzinfo=zone),
                    "夜班",
                ),
            ]
            for i, (start, end, note) in enumerate(slots):
                if DutyShift.objects.filter(region_code=code, starts_at__lt=end, ends_at__gt=start).exists():
                    continue  # an earlier run (or a person) already covers it
                person = staff[_turn(2 * day.toordinal() + i, len(staff))]
                try:
                    duty.shift_add(
                        actor=None, region_code=code, user=person, starts_at=start, ends_at=end, note=note
                    )
                except ValidationError:
                    continue  # wholly in the past
                summary.shifts += 1
    return summary
