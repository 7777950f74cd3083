"""Deadline maths across weekends, public holidays and the weekend days worked in exchange (调休).

Dates are of the 2026 calendar seeded by the migration (shequ/grid/catalog.py); the expected
deadlines are worked out by hand on a wall calendar, not by the code under test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shequ.grid import deadlines
from shequ.grid.deadlines import Calendar, Colour
from shequ.grid.models import Holiday

CST = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


def end_of(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 23, 59, 59, tzinfo=CST)


@pytest.fixture
def calendar(db: None) -> Calendar:
    return Calendar.load()


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # An ordinary week: counting starts the next day.
        (at(2026, 11, 23), 3, end_of(2026, 11, 26)),  # Mon → Thu
        # Over a weekend: Fri + 3 → Wed.
        (at(2026, 11, 27, 15), 3, end_of(2026, 12, 2)),
        # Received on a Saturday: Mon is the first working day.
        (at(2026, 11, 28), 1, end_of(2026, 11, 30)),
        # Late on Friday night: still Friday's date, Monday is day one.
        (at(2026, 11, 27, 23, 50), 1, end_of(2026, 11, 30)),
        # National Day: 1–7 Oct off (1, 2, 5, 6, 7 are weekdays), 10 Oct (Sat) worked in exchange.
        (at(2026, 9, 30), 1, end_of(2026, 10, 8)),
        (at(2026, 9, 30), 3, end_of(2026, 10, 10)),
        (at(2026, 9, 30), 4, end_of(2026, 10, 12)),
        # Sunday 20 Sep 2026 is worked in exchange for the Mid-Autumn/National Day break.
        (at(2026, 9, 18), 1, end_of(2026, 9, 20)),
        # Spring Festival: Sat 14 Feb worked; 16–20 and 23 Feb off; back on Tue 24 Feb.
        (at(2026, 2, 13), 1, end_of(2026, 2, 14)),
        (at(2026, 2, 13), 2, end_of(2026, 2, 24)),
        (at(2026, 2, 13), 5, end_of(2026, 2, 27)),
        # Sat 28 Feb worked too.
        (at(2026, 2, 13), 6, end_of(2026, 2, 28)),
        # Labour Day: 1, 4, 5 May off; Sat 9 May worked.
        (at(2026, 4, 30), 3, end_of(2026, 5, 8)),
        (at(2026, 4, 30), 4, end_of(2026, 5, 9)),
    ],
)
def test_working_days(calendar: Calendar, start: dt.datetime, days: int, due: dt.datetime) -> None:
    assert calendar.add_working_days(start, days) == due


def test_start_given_in_utc_counts_from_the_local_date(calendar: Calendar) -> None:
    # 17:00 UTC on Friday is 01:00 on Saturday in Changsha: Monday is still day one.
    start = dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.UTC)
    assert calendar.add_working_days(start, 1) == end_of(2026, 11, 30)


@pytest.mark.django_db
def test_the_calendar_is_editable() -> None:
    start = at(2026, 12, 30)  # Wednesday
    assert Calendar.load().add_working_days(start, 1) == end_of(2026, 12, 31)
    Holiday.objects.create(date=dt.date(2026, 12, 31), name="假日")
    assert Calendar.load().add_working_days(start, 1) == end_of(2027, 1, 1)
    Holiday.objects.create(date=dt.date(2027, 1, 1), name="元旦")
    Holiday.objects.create(date=dt.date(2027, 1, 2), name="调休", is_workday=True)
    assert Calendar.load().add_working_days(start, 1) == end_of(2027, 1, 2)


def test_a_calendar_without_working_days_is_an_error() -> None:
    every_day = {dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(800)}
    with pytest.raises(ValueError, match="no working days"):
        Calendar(days_off=frozenset(every_day)).add_working_days(at(2026, 1, 1), 1)
    with pytest.raises(ValueError):
        Calendar().add_working_days(at(2026, 1, 1), 0)


def test_working_days_between() -> None:
    cal = Calendar.from_rows([(dt.date(2026, 10, 1), False), (dt.date(2026, 10, 10), True)])
    # 29, 30 Sep; 2 Oct; 5–9 Oct; Sat 10 Oct worked (1 Oct off, weekends not counted).
    assert cal.working_days_between(dt.date(2026, 9, 28), dt.date(2026, 10, 11)) == 9


def test_hours_run_around_the_clock() -> None:
    assert deadlines.add_hours(at(2026, 11, 27, 22), 4) == at(2026, 11, 28, 2)
    assert deadlines.add_hours(at(2026, 9, 30, 23), 2) == at(2026, 10, 1, 1)
    with pytest.raises(ValueError):
        deadlines.add_hours(at(2026, 1, 1), 0)


def test_warning_point_and_colours() -> None:
    start, due = at(2026, 11, 23, 0), at(2026, 11, 23, 10)
    warn = deadlines.warn_point(start, due)
    assert warn == at(2026, 11, 23, 8)
    assert deadlines.colour(warn_at=warn, due_at=due, now=at(2026, 11, 23, 7, 59)) == Colour.GREEN
    assert deadlines.colour(warn_at=warn, due_at=due, now=at(2026, 11, 23, 8)) == Colour.YELLOW
    assert deadlines.colour(warn_at=warn, due_at=due, now=due) == Colour.YELLOW
    assert deadlines.colour(warn_at=warn, due_at=due, now=due + dt.timedelta(seconds=1)) == Colour.RED
    assert deadlines.colour(warn_at=None, due_at=None) == Colour.NONE
