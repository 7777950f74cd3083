"""Deadline maths: working days with the editable holiday calendar, and hours around the clock.

A deadline of N working days follows the rule of Chinese administrative time limits: counting
starts the day after the ticket reaches its handler (受理次日起算), only working days count, and
the deadline is the end of the Nth working day (local time). A working day is a Monday to Friday
that is not a holiday, or a weekend day worked in exchange (调休). Hours run around the clock:
urgent matters and response deadlines do not wait for Monday.

The 80 % warning point is taken on the wall-clock span from start to deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from shequ.grid.models import Holiday

WARN_FRACTION = 0.8


@dataclass(frozen=True)
class Calendar:
    """The exceptions to the Monday-to-Friday rule, loaded once per operation."""

    days_off: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[dt.date, bool]]) -> Calendar:
        off: set[dt.date] = set()
        work: set[dt.date] = set()
        for day, is_workday in rows:
            (work if is_workday else off).add(day)
        return cls(frozenset(off), frozenset(work))

    @classmethod
    def load(cls) -> Calendar:
        return cls.from_rows(Holiday.objects.values_list("date", "is_workday"))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The end of the ``days``-th working day after ``start``'s local date."""
        if days < 1:
            raise ValueError("a deadline needs at least one working day")
        local = timezone.localtime(start)
        day = local.date()
        counted = 0
        # A year of holidays cannot hold more than a few dozen days off in a row; the bound only
        # guards against a calendar that marks every day as a holiday.
        for _ in range(days * 7 + 400):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=local.tzinfo)
                    return timezone.localtime(end)
        raise ValueError("the holiday calendar leaves no working days")

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def add_hours(start: dt.datetime, hours: int) -> dt.datetime:
    if hours < 1:
        raise ValueError("a deadline needs at least one hour")
    return start + dt.timedelta(hours=hours)


def warn_point(start: dt.datetime, due: dt.datetime) -> dt.datetime:
    """When 80 % of the time from ``start`` to ``due`` has passed."""
    return start + (due - start) * WARN_FRACTION


class Colour:
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NONE = ""


def colour(*, warn_at: dt.datetime | None, due_at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if due_at is None:
        return Colour.NONE
    now = now or timezone.now()
    if now > due_at:
        return Colour.RED
    if warn_at is not None and now >= warn_at:
        return Colour.YELLOW
    return Colour.GREEN
