"""Due dates and the expected-items schedule: a month's finances are due 7 working days after the
month's last day (counting from the next day, weekends and the calendar's holidays skipped, 调休
Saturdays worked), a quarter's affairs 10, a major matter 5 after its decision; the settings change
them; a period is published on time, late, due soon, overdue or still running; questions are answered
within 5 working days."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shequ.grid.deadlines import Calendar
from shequ.grid.models import Holiday
from shequ.participation.models import DisclosureItem, DisclosureKind, DisclosureStatus
from shequ.participation.services.disclosure import rules
from shequ.participation.tests.fixtures_disclosure import Disc
from shequ.registry.tests.conftest import COMMUNITY_A

K = DisclosureKind


def local(y: int, m: int, d: int, h: int = 23, mi: int = 59, s: int = 59) -> dt.datetime:
    return timezone.make_aware(dt.datetime(y, m, d, h, mi, s))


def test_periods_and_keys() -> None:
    assert rules.month_of(dt.date(2026, 2, 14)) == rules.Period(
        dt.date(2026, 2, 1), dt.date(2026, 2, 28), "2026-02"
    )
    assert rules.month_of(dt.date(2028, 2, 3)).end == dt.date(2028, 2, 29)  # leap year
    assert rules.month_of(dt.date(2026, 12, 31)).end == dt.date(2026, 12, 31)
    assert rules.quarter_of(dt.date(2026, 11, 5)) == rules.Period(
        dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026Q4"
    )
    assert rules.parse_period(K.FINANCE, "2026-03").end == dt.date(2026, 3, 31)
    assert rules.parse_period(K.AFFAIRS, "2026q1").key == "2026Q1"
    for kind, key in (
        (K.FINANCE, "2026Q1"),
        (K.FINANCE, "2026-13"),
        (K.AFFAIRS, "2026-03"),
        (K.AFFAIRS, "2026Q5"),
        (K.MAJOR, "2026-03"),
    ):
        with pytest.raises(ValidationError):
            rules.parse_period(kind, key)
    assert [p.key for p in rules.periods_between(K.AFFAIRS, dt.date(2025, 12, 1), dt.date(2026, 4, 1))] == [
        "2025Q4",
        "2026Q1",
        "2026Q2",
    ]


def test_month_end_due_dates_skip_weekends() -> None:
    calendar = Calendar()
    # January 2026 ends on a Saturday: counting starts on Sunday 1 February; 7 working days → Tue 10 Feb.
    warn, due = rules.clock(K.FINANCE, dt.date(2026, 1, 31), calendar)
    assert due == local(2026, 2, 10)
    assert local(2026, 2, 1, 0, 0, 0) < warn < due
    # A quarter ending on Wednesday 30 September: 10 working days → Wed 14 October.
    assert rules.clock(K.AFFAIRS, dt.date(2026, 9, 30), calendar)[1] == local(2026, 10, 14)
    # A major matter decided on a Friday: 5 working days → the next Friday.
    assert rules.clock(K.MAJOR, dt.date(2026, 11, 20), calendar)[1] == local(2026, 11, 27)


@pytest.mark.django_db
def test_holidays_and_exchanged_working_days_come_from_the_calendar() -> None:
    # National Day week: 1–7 October off, Saturday 10 October worked (调休) — set here whatever the
    # seeded calendar says.
    Holiday.objects.filter(date__range=(dt.date(2026, 9, 1), dt.date(2026, 10, 31))).delete()
    for day in range(1, 8):
        Holiday.objects.create(date=dt.date(2026, 10, day), name="国庆节")
    Holiday.objects.create(date=dt.date(2026, 10, 10), name="国庆调休", is_workday=True)
    calendar = Calendar.load()
    # September's finances: 8 (Thu), 9 (Fri), 10 (Sat, worked), 12–15 → Thursday 15 October.
    assert rules.clock(K.FINANCE, dt.date(2026, 9, 30), calendar)[1] == local(2026, 10, 15)
    # The third quarter's affairs: 10 working days → Tuesday 20 October.
    assert rules.clock(K.AFFAIRS, dt.date(2026, 9, 30), calendar)[1] == local(2026, 10, 20)


def test_settings_change_the_working_days(settings: pytest.FixtureRequest) -> None:
    settings.DISCLOSURE_DUE_WORKING_DAYS = {"finance": 3}  # type: ignore[attr-defined]
    settings.DISCLOSURE_ANSWER_WORKING_DAYS = 2  # type: ignore[attr-defined]
    calendar = Calendar()
    assert rules.clock(K.FINANCE, dt.date(2026, 1, 31), calendar)[1] == local(2026, 2, 4)
    assert rules.clock(K.AFFAIRS, dt.date(2026, 9, 30), calendar)[1] == local(2026, 10, 14)  # default kept
    # Asked on Friday afternoon: Monday and Tuesday.
    assert rules.answer_clock(local(2026, 11, 20, 15, 0, 0), calendar)[1] == local(2026, 11, 24)


def test_question_deadline_default_is_five_working_days() -> None:
    warn, due = rules.answer_clock(local(2026, 11, 20, 15, 0, 0), Calendar())
    assert due == local(2026, 11, 27)
    assert warn == local(2026, 11, 20, 15, 0, 0) + (due - local(2026, 11, 20, 15, 0, 0)) * 0.8


def _item(region_code: str, kind: str, key: str, published_at: dt.datetime | None) -> DisclosureItem:
    return DisclosureItem(
        region_code=region_code,
        kind=kind,
        period_key=key,
        status=DisclosureStatus.PUBLISHED if published_at else DisclosureStatus.DRAFT,
        published_at=published_at,
        title=key,
    )


def test_schedule_states() -> None:
    now = local(2026, 12, 8, 10, 0, 0)  # Tuesday
    calendar = Calendar()
    items = [
        _item(COMMUNITY_A, K.FINANCE, "2026-10", local(2026, 11, 5, 9)),  # due 10 Nov: on time
        _item(COMMUNITY_A, K.FINANCE, "2026-09", local(2026, 10, 20, 9)),  # due 12 Oct (no calendar): late
        _item(COMMUNITY_A, K.FINANCE, "2026-11", None),  # only a draft
        _item("430104002003", K.FINANCE, "2026-08", local(2026, 9, 1, 9)),  # another community's
        _item(COMMUNITY_A, K.AFFAIRS, "2026Q3", local(2026, 10, 9, 9)),
    ]
    entries = rules.schedule(COMMUNITY_A, items, now=now, calendar=calendar, months=12)
    by = {(e.kind, e.period.key): e for e in entries if e.period}
    assert by[(K.FINANCE, "2026-10")].state == rules.State.PUBLISHED
    assert by[(K.FINANCE, "2026-09")].state == rules.State.LATE
    # November's finances are due Wednesday 9 December: past 80 % of the time on Tuesday the 8th.
    november = by[(K.FINANCE, "2026-11")]
    assert november.due_at == local(2026, 12, 9) and november.state == rules.State.SOON and november.drafts
    assert by[(K.FINANCE, "2026-08")].state == rules.State.OVERDUE  # B's item does not count for A
    assert by[(K.FINANCE, "2026-12")].state == rules.State.UPCOMING
    assert by[(K.AFFAIRS, "2026Q3")].state == rules.State.PUBLISHED
    assert by[(K.AFFAIRS, "2026Q4")].state == rules.State.UPCOMING
    assert by[(K.FINANCE, "2026-01")].state == rules.State.OVERDUE
    assert (K.FINANCE, "2025-12") not in by  # twelve months
    assert len([e for e in entries if e.kind == K.FINANCE]) == 12
    # Newest due first.
    dues = [e.due_at for e in entries if e.due_at is not None]
    assert dues == sorted(dues, reverse=True)
    # At 9 December's end it is still "soon"; a second later, overdue.
    assert (
        rules.state_of(
            published_at=None, due_at=november.due_at, warn_at=november.warn_at, now=local(2026, 12, 9)
        )
        == rules.State.SOON
    )
    assert (
        rules.state_of(
            published_at=None,
            due_at=november.due_at,
            warn_at=november.warn_at,
            now=local(2026, 12, 10, 0, 0, 0),
        )
        == rules.State.OVERDUE
    )


@pytest.mark.django_db
def test_items_get_their_clock_and_decided_drafts_join_the_schedule(disc: Disc) -> None:
    finance = disc.item(kind=K.FINANCE, period_key="2026-10", title="十月财务", publish=False)
    assert finance.due_at == local(2026, 11, 10)  # 31 Oct is a Saturday: 2–6, 9, 10 November
    major = disc.item(kind=K.MAJOR, title="道路修缮", decided_on=dt.date(2026, 11, 20), publish=False)
    assert major.due_at == local(2026, 11, 27)
    policy = disc.item(kind=K.POLICY, title="医保政策", decided_on=dt.date(2026, 11, 20), publish=False)
    assert policy.due_at == local(2026, 12, 4)
    with pytest.raises(ValidationError):
        disc.item(
            kind=K.MAJOR, title="未来", decided_on=timezone.localdate() + dt.timedelta(days=3), publish=False
        )
    with pytest.raises(ValidationError):
        disc.item(kind=K.FINANCE, period_key="2099-01", publish=False)
    from shequ.participation import selectors_disclosure as sel

    entries = sel.community_schedule(disc.world.regions[COMMUNITY_A], now=local(2026, 12, 7, 10, 0, 0))
    majors = [e for e in entries if e.item is not None and e.item.pk == major.pk]
    assert majors and majors[0].state == rules.State.OVERDUE
    october = next(e for e in entries if e.period and e.period.key == "2026-10" and e.kind == K.FINANCE)
    assert october.state == rules.State.OVERDUE and october.drafts == [finance]
