"""The statistics against hand-made data: applications of a street's two communities and of another
street, in and out of the period, closed on time and late, open and overdue, by every channel and on
a resident's behalf; ratings given in the period (one of an application submitted before it);
rectifications done, open and overdue. Then the figures by item, unit and region, the query count
(constant whatever the number of groups), the period choices, and the public report's rule of five."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shequ.govservice import stats
from shequ.govservice.models import (
    Application,
    Channel,
    Consent,
    Evaluation,
    Rectification,
    RectStatus,
    Status,
)
from shequ.govservice.tests.conftest import COMMUNITY_A, COMMUNITY_B, Gov

pytestmark = pytest.mark.django_db

STREET = "430104002"
OTHER = "430104003001"
TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
NOV = stats.Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def at(day: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, 9, 0, tzinfo=TZ)


def app(
    gov: Gov, code: str, item: str, channel: str, status: str, submitted: dt.datetime, **extra: Any
) -> Application:
    it = gov.item(item)
    return Application.objects.create(
        item=it,
        item_version=it.version,
        region=gov.world.regions[code],
        region_code=code,
        channel=channel,
        applicant_name="某某",
        applicant_phone="13800001111",
        status=status,
        submitted_at=submitted,
        **extra,
    )


def rate(
    a: Application, stars: int, when: dt.datetime, rect: str = "", due: dt.datetime | None = None
) -> Evaluation:
    e = Evaluation.objects.create(
        application=a,
        item=a.item,
        region_code=a.region_code,
        department=a.department,
        stars=stars,
        channel=a.channel,
        at=when,
    )
    Application.objects.filter(pk=a.pk).update(rating=stars)
    if rect:
        Rectification.objects.create(
            evaluation=e,
            region=a.region,
            region_code=a.region_code,
            department=a.department,
            supervisor_code=a.region_code[:9],
            status=rect,
            opened_at=when,
            due_at=due or when + dt.timedelta(days=21),
        )
    return e


@pytest.fixture
def data(gov: Gov) -> Gov:
    R, E = "residence_certificate", "elderly_allowance"
    a1 = app(gov, COMMUNITY_A, R, Channel.COUNTER, Status.CLOSED, at(3))
    a2 = app(gov, COMMUNITY_A, R, Channel.ONLINE, Status.CLOSED, at(4), overdue_at=at(6))
    a3 = app(
        gov,
        COMMUNITY_A,
        E,
        Channel.HOME,
        Status.CLOSED,
        at(5),
        department=gov.civil,
        on_behalf=True,
        helper=gov["grid_a"],
        consent=Consent.SIGNED,
    )
    app(gov, COMMUNITY_A, E, Channel.ONLINE, Status.FORWARDED, at(20), department=gov.civil, due_at=at(28))
    app(gov, COMMUNITY_B, R, Channel.KIOSK, Status.SUBMITTED, at(30), due_at=at(3, 12))
    a6 = app(gov, OTHER, R, Channel.COUNTER, Status.CLOSED, at(6))
    a7 = app(gov, COMMUNITY_A, R, Channel.COUNTER, Status.CLOSED, at(20, 10))  # October
    rate(a1, 5, at(10))
    rate(a2, 2, at(10), rect=RectStatus.DONE)
    rate(a3, 4, at(12))
    rate(a6, 1, at(12), rect=RectStatus.OPEN)
    rate(a7, 1, at(2), rect=RectStatus.OPEN, due=at(25))  # rated in the period, overdue now
    return gov


def by_key(rows: list[stats.Row]) -> dict[str, stats.Row]:
    return {r.key: r for r in rows}


def test_street_figures(data: Gov) -> None:
    report = stats.report(region_code=STREET, period=NOV, now=NOW)
    t = report.total
    assert (t.applications, t.closed, t.on_time, t.open, t.overdue, t.on_behalf) == (5, 3, 2, 2, 1, 1)
    assert t.channels == {"counter": 1, "online": 2, "home": 1, "kiosk": 1}
    assert (t.rated, t.good, t.bad) == (4, 2, 2)
    assert (t.rect_opened, t.rect_done, t.rect_open, t.rect_overdue) == (2, 1, 1, 1)
    assert (
        t.on_time_percent == "66.7%" and t.satisfaction_percent == "50.0%" and t.on_behalf_percent == "20.0%"
    )
    assert report.area == "岳麓街道"

    regions = by_key(report.regions)
    assert set(regions) == {COMMUNITY_A, COMMUNITY_B}
    a, b = regions[COMMUNITY_A], regions[COMMUNITY_B]
    assert (a.label, a.applications, a.closed, a.on_time, a.overdue, a.rated, a.bad, a.rect_done) == (
        "枇杷塘社区",
        4,
        3,
        2,
        1,
        4,
        2,
        1,
    )
    assert (b.label, b.applications, b.open, b.overdue, b.rated) == ("泽盛社区", 1, 1, 0, 0)

    units = by_key(report.units)
    civil, community = units[f"d{data.civil.pk}"], units[f"c{COMMUNITY_A}"]
    assert (civil.label, civil.applications, civil.rated, civil.good, civil.overdue) == (
        "岳麓区民政局",
        2,
        1,
        1,
        1,
    )
    assert (community.label, community.applications, community.rated, community.bad) == (
        "枇杷塘社区",
        2,
        3,
        2,
    )
    assert (community.rect_opened, community.rect_done, community.rect_overdue) == (2, 1, 1)
    assert units[f"c{COMMUNITY_B}"].applications == 1

    items = by_key(report.items)
    r, e = items[str(data.item("residence_certificate").pk)], items[str(data.item("elderly_allowance").pk)]
    assert (r.label, r.applications, r.rated, r.bad) == ("居住证明", 3, 3, 2)
    assert (e.applications, e.rated, e.good, e.on_behalf) == (2, 1, 1, 1)


def test_community_and_county_and_other_street(data: Gov) -> None:
    community = stats.report(region_code=COMMUNITY_A, period=NOV, now=NOW)
    assert community.total.applications == 4 and community.regions == []
    county = stats.report(region_code="430104", period=NOV, now=NOW)
    streets = by_key(county.regions)
    assert streets[STREET].applications == 5 and streets["430104003"].applications == 1
    assert streets["430104003"].rect_open == 1 and county.total.rated == 5
    other = stats.report(region_code="430104003", period=NOV, now=NOW)
    assert other.total.applications == 1 and COMMUNITY_A not in {r.key for r in other.regions}
    october = stats.report(
        region_code=STREET, period=stats.Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)), now=NOW
    )
    assert october.total.applications == 1 and october.total.rated == 0


def test_query_count_is_constant(data: Gov) -> None:
    with CaptureQueriesContext(connection) as small:
        stats.report(region_code=STREET, period=NOV, now=NOW)
    # Many more groups (every community of the tree, both items, rated): the same queries.
    for code in (COMMUNITY_B, OTHER, "430104002001001"):
        a = app(data, code, "elderly_allowance", Channel.ONLINE, Status.CLOSED, at(15))
        rate(a, 3, at(16))
    with CaptureQueriesContext(connection) as large:
        stats.report(region_code="430104", period=NOV, now=NOW)

    def reads(captured: CaptureQueriesContext) -> list[str]:  # the work memory setting aside
        return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET ")]

    assert len(reads(small)) == len(reads(large)) <= 7


def test_period_choices() -> None:
    today = dt.date(2026, 12, 7)
    assert stats.period_of(stats.MONTH, today=today) == stats.Period(dt.date(2026, 12, 1), today)
    assert stats.period_of(stats.LAST_30, today=today) == stats.Period(dt.date(2026, 11, 8), today)
    assert stats.period_of(stats.YEAR, today=today) == stats.Period(dt.date(2026, 1, 1), today)
    custom = stats.period_of(stats.CUSTOM, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), today=today)
    assert custom.days == 31
    low, high = custom.bounds
    assert high - low == dt.timedelta(days=31)
    with pytest.raises(ValueError):
        stats.Period(dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_public_report_shows_groups_of_five_or_more(gov: Gov) -> None:
    now = timezone.now()
    recent = now - dt.timedelta(days=30)
    for i in range(6):
        a = app(gov, COMMUNITY_A, "residence_certificate", Channel.COUNTER, Status.CLOSED, recent)
        rate(a, 1 if i == 0 else 5, recent, rect=RectStatus.DONE if i == 0 else "")
    for _i in range(3):
        a = app(gov, COMMUNITY_B, "residence_certificate", Channel.ONLINE, Status.CLOSED, recent)
        rate(a, 2, recent, rect=RectStatus.OPEN)
    old = now - dt.timedelta(days=400)
    rate(app(gov, COMMUNITY_A, "elderly_allowance", Channel.ONLINE, Status.CLOSED, old), 1, old)

    assert stats.public_area() == "430104"
    report = stats.public_report(region_code="430104")
    assert (report.total.rated, report.total.good, report.total.bad, report.total.rect_done) == (9, 5, 4, 1)
    assert [r.label for r in report.items] == ["居住证明"]  # the old rating of the other item is out
    assert [(r.key, r.rated) for r in report.regions] == [(STREET, 9)]
    assert [(r.label, r.rated, r.satisfaction_percent, r.put_right_percent) for r in report.communities] == [
        ("枇杷塘社区", 6, "83.3%", "100.0%")
    ]
    assert report.hidden == 1  # 泽盛社区: three ratings

    page = Client().get("/govservice/public/satisfaction/").content.decode()
    assert "枇杷塘社区" in page and "83.3%" in page and "泽盛社区" not in page
    street = Client().get("/govservice/public/satisfaction/", {"region": STREET}).content.decode()
    assert "枇杷塘社区" in street and "泽盛社区" not in street
    tiny = stats.public_report(region_code=COMMUNITY_B)
    assert tiny.total.rated == 0 and tiny.items == []  # fewer than five in all: nothing shown


def test_stats_page_numbers(data: Gov, client: Client) -> None:
    client.force_login(data["street"])
    page = client.get("/govservice/stats/", {"period": "custom", "start": "2026-11-01", "end": "2026-11-30"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "66.7%" in text and "50.0%" in text and "岳麓区民政局" in text and "泽盛社区" in text
    assert "石门楼社区" not in text  # the other street's community
