"""When each kind of disclosure is due, the periods the periodic kinds cover, and a community's
expected-items schedule.

Law and local rules (村务公开): finances monthly, ordinary affairs at least quarterly, major matters
at once. Here: a month's finances within ``finance`` working days after the month ends, a quarter's
affairs within ``affairs`` working days after the quarter ends, a major matter or a subsidy list
within ``major``/``subsidy`` working days of its decision date; questions are answered within
``DISCLOSURE_ANSWER_WORKING_DAYS``. Working days follow the grid's deadline engine (the holiday
calendar with its 调休 days). Every number is a setting with the default below.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.grid import deadlines
from shequ.participation.models import DisclosureItem, DisclosureKind, DisclosureStatus

K = DisclosureKind
DEFAULT_DUE_WORKING_DAYS: dict[str, int] = {
    K.FINANCE: 7,  # about the 10th of the next month
    K.AFFAIRS: 10,  # about the middle of the month after the quarter
    K.MAJOR: 5,  # "at once"
    K.SUBSIDY: 5,
    K.POLICY: 10,
}
DEFAULT_ANSWER_WORKING_DAYS = 5
DEFAULT_SCHEDULE_MONTHS = 12
MONTHLY = frozenset({K.FINANCE})
QUARTERLY = frozenset({K.AFFAIRS})
PERIODIC = MONTHLY | QUARTERLY
# Kinds due a few working days after their decision date.
DECIDED = frozenset({K.MAJOR, K.SUBSIDY, K.POLICY})


def due_working_days(kind: str) -> int:
    custom: Mapping[str, int] = getattr(settings, "DISCLOSURE_DUE_WORKING_DAYS", {}) or {}
    return int(custom.get(kind, DEFAULT_DUE_WORKING_DAYS[kind]))


def answer_working_days() -> int:
    return int(getattr(settings, "DISCLOSURE_ANSWER_WORKING_DAYS", DEFAULT_ANSWER_WORKING_DAYS))


def schedule_months() -> int:
    return int(getattr(settings, "DISCLOSURE_SCHEDULE_MONTHS", DEFAULT_SCHEDULE_MONTHS))


# --- Periods -------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date
    key: str  # 2026-03 or 2026Q1

    @property
    def label(self) -> str:
        if "Q" in self.key:
            return _("%(year)d, quarter %(q)d") % {"year": self.start.year, "q": (self.start.month + 2) // 3}
        return _("%(year)d, month %(month)d") % {"year": self.start.year, "month": self.start.month}


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def month_of(day: dt.date) -> Period:
    return Period(day.replace(day=1), _month_end(day.year, day.month), f"{day.year:04d}-{day.month:02d}")


def quarter_of(day: dt.date) -> Period:
    q = (day.month - 1) // 3
    start = dt.date(day.year, 3 * q + 1, 1)
    return Period(start, _month_end(day.year, 3 * q + 3), f"{day.year:04d}Q{q + 1}")


def period_of(kind: str, day: dt.date) -> Period:
    return month_of(day) if kind in MONTHLY else quarter_of(day)


_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_KEY = re.compile(r"^(\d{4})Q([1-4])$")


def parse_period(kind: str, key: str) -> Period:
    """The period ``key`` names for ``kind`` (ValidationError on the ``period`` field otherwise)."""
    key = (key or "").strip().upper()
    if kind in MONTHLY:
        m = _MONTH_KEY.match(key)
        if m and 2000 <= int(m[1]) <= 2100 and 1 <= int(m[2]) <= 12:
            return month_of(dt.date(int(m[1]), int(m[2]), 1))
        raise ValidationError({"period": _("Give the month as YYYY-MM, for example 2026-03.")})
    if kind in QUARTERLY:
        m = _QUARTER_KEY.match(key)
        if m and 2000 <= int(m[1]) <= 2100:
            return quarter_of(dt.date(int(m[1]), 3 * int(m[2]) - 2, 1))
        raise ValidationError({"period": _("Give the quarter as YYYYQn, for example 2026Q1.")})
    raise ValidationError({"period": _("Only finances and ordinary affairs cover a period.")})


def periods_between(kind: str, first: dt.date, last: dt.date) -> list[Period]:
    """The periods of ``kind`` that overlap ``first``…``last``, oldest first."""
    out: list[Period] = []
    period = period_of(kind, first)
    while period.start <= last:
        out.append(period)
        period = period_of(kind, period.end + dt.timedelta(days=1))
    return out


# --- Due dates -------------------------------------------------------------------------------------------


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def clock(kind: str, day: dt.date, calendar: deadlines.Calendar) -> tuple[dt.datetime, dt.datetime]:
    """(warn point, due) of an item of ``kind`` whose period ended (or which was decided) on
    ``day``: counting starts the next day, as for every administrative time limit."""
    start = _end_of(day)
    due = calendar.add_working_days(start, due_working_days(kind))
    return deadlines.warn_point(start, due), due


def item_clock(
    kind: str, period: Period | None, decided_on: dt.date | None, calendar: deadlines.Calendar
) -> tuple[dt.datetime | None, dt.datetime | None]:
    if kind in PERIODIC and period is not None:
        return clock(kind, period.end, calendar)
    if kind in DECIDED and decided_on is not None:
        return clock(kind, decided_on, calendar)
    return None, None


def answer_clock(asked_at: dt.datetime, calendar: deadlines.Calendar) -> tuple[dt.datetime, dt.datetime]:
    due = calendar.add_working_days(asked_at, answer_working_days())
    return deadlines.warn_point(asked_at, due), due


# --- The schedule -------------------------------------------------------------------------------------------


class State:
    PUBLISHED = "published"  # on time
    LATE = "late"  # published after its due date
    UPCOMING = "upcoming"  # the period has not ended yet
    OPEN = "open"  # due later
    SOON = "soon"  # past the warning point
    OVERDUE = "overdue"


@dataclass
class Entry:
    """One expected item of a community: a period of a periodic kind, or a decided matter's draft."""

    kind: str
    period: Period | None
    due_at: dt.datetime | None
    warn_at: dt.datetime | None
    state: str
    item: DisclosureItem | None = None  # the published one, or the draft of a decided matter
    drafts: list[DisclosureItem] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(DisclosureKind(self.kind).label)

    @property
    def label(self) -> str:
        if self.period is not None:
            return self.period.label
        return self.item.title if self.item is not None else ""


def state_of(
    *,
    published_at: dt.datetime | None,
    due_at: dt.datetime | None,
    warn_at: dt.datetime | None,
    now: dt.datetime,
) -> str:
    if published_at is not None:
        return State.LATE if due_at is not None and published_at > due_at else State.PUBLISHED
    if due_at is None:
        return State.OPEN
    if now > due_at:
        return State.OVERDUE
    if warn_at is not None and now >= warn_at:
        return State.SOON
    return State.OPEN


def expected_periods(now: dt.datetime, months: int | None = None) -> dict[str, list[Period]]:
    """The periods the schedule covers: the last ``months`` months and their quarters, up to the
    running ones (which are upcoming)."""
    today = timezone.localtime(now).date()
    months = months or schedule_months()
    first = today.replace(day=1)
    for _i in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return {kind: periods_between(kind, first, today) for kind in sorted(PERIODIC)}


def schedule(
    region_code: str,
    items: Iterable[DisclosureItem],
    *,
    now: dt.datetime | None = None,
    calendar: deadlines.Calendar | None = None,
    months: int | None = None,
) -> list[Entry]:
    """The community's expected items, newest first: each period of the periodic kinds with its
    due date and whether (and when) it was published, and each unpublished decided matter.
    ``items`` are the community's items (any status)."""
    now = now or timezone.now()
    calendar = calendar or deadlines.Calendar.load()
    today = timezone.localtime(now).date()
    published: dict[tuple[str, str], DisclosureItem] = {}
    drafts: dict[tuple[str, str], list[DisclosureItem]] = {}
    entries: list[Entry] = []
    for item in items:
        if item.region_code != region_code:
            continue
        if item.kind in PERIODIC:
            key = (item.kind, item.period_key)
            if item.status == DisclosureStatus.PUBLISHED:
                best = published.get(key)
                if best is None or (item.published_at or now) < (best.published_at or now):
                    published[key] = item
            elif item.status == DisclosureStatus.DRAFT:
                drafts.setdefault(key, []).append(item)
        elif item.status == DisclosureStatus.DRAFT and item.due_at is not None:
            state = state_of(published_at=None, due_at=item.due_at, warn_at=item.warn_at, now=now)
            entries.append(Entry(item.kind, None, item.due_at, item.warn_at, state, item=item))
    for kind, periods in expected_periods(now, months).items():
        for period in periods:
            warn_at, due_at = clock(kind, period.end, calendar)
            done = published.get((kind, period.key))
            if done is None and period.end >= today:
                state = State.UPCOMING
            else:
                state = state_of(
                    published_at=done.published_at if done else None, due_at=due_at, warn_at=warn_at, now=now
                )
            entries.append(
                Entry(
                    kind, period, due_at, warn_at, state, item=done, drafts=drafts.get((kind, period.key), [])
                )
            )
    far = timezone.make_aware(dt.datetime(9999, 1, 1))
    entries.sort(key=lambda e: (e.due_at or far, e.kind), reverse=True)
    return entries
