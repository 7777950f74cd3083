"""Duplicate suggestions at intake and hot topics, on real ticket rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from shequ.conftest import World
from shequ.grid import similarity
from shequ.grid.models import Category, Source, Status, Ticket

GRID_A = "430104002001001"
GRID_B = "430104002001002"
OTHER_COMMUNITY_GRID = "430104002003001"
# A point in 枇杷塘 and offsets: 0.001° of latitude is about 111 m.
LAT, LNG = Decimal("28.180000"), Decimal("112.940000")


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now()


def ticket(
    world: World,
    title: str,
    description: str = "",
    *,
    code: str,
    when: dt.datetime,
    grid: str = GRID_A,
    status: str = Status.SUBMITTED,
    lat_offset: float | None = 0.0,
    **extra: Any,
) -> Ticket:
    point: dict[str, Any] = {}
    if lat_offset is not None:
        point = {"latitude": LAT + Decimal(str(lat_offset)), "longitude": LNG}
    return Ticket.objects.create(
        source=Source.RESIDENT,
        title=title,
        description=description or title,
        category=Category.objects.get(code=code),
        region=world.regions[grid],
        region_code=grid,
        supervision_code=grid[:12],
        submitted_at=when,
        status=status,
        **point,
        **extra,
    )


def test_haversine_and_sub_regions() -> None:
    assert similarity.haversine_m(28.18, 112.94, 28.19, 112.94) == pytest.approx(1111.9, abs=1)
    assert similarity.haversine_m(28.18, 112.94, 28.18, 112.94) == 0
    assert similarity.sub_region(GRID_A, "430104002001") == GRID_A
    assert similarity.sub_region(GRID_A, "430104002") == "430104002001"
    assert similarity.sub_region("430104002001", "430104002001") == "430104002001"


@pytest.mark.django_db
def test_duplicates_are_open_recent_nearby_and_alike(
    world: World, now: dt.datetime, django_assert_num_queries: Any
) -> None:
    day = dt.timedelta(days=1)
    garbage = "environment.garbage"
    same = ticket(
        world,
        "北门垃圾三天没人清运",
        "小区北门的垃圾堆了三天没人清运，臭气熏天",
        code=garbage,
        when=now - 2 * day,
    )
    sibling = ticket(
        world,
        "北门污水井冒水",
        "北门的污水井一直冒水，很臭",
        code="environment.sewage",
        when=now - day,
        lat_offset=0.001,
    )
    unrelated_text = ticket(world, "绿化带的树要修剪", code="environment.greening", when=now - day)
    no_point_same_grid = ticket(
        world,
        "北门垃圾没人收",
        "北门垃圾站的垃圾没人收，臭",
        code=garbage,
        when=now - 3 * day,
        lat_offset=None,
    )
    # None of these may be suggested:
    ticket(world, "北门垃圾三天没人清运了", code=garbage, when=now - day, lat_offset=0.02)  # 2.2 km away
    ticket(world, "北门垃圾三天没人清运啊", code=garbage, when=now - day, status=Status.CLOSED)
    ticket(world, "北门垃圾三天没人清运呢", code=garbage, when=now - day, status=Status.MERGED)
    ticket(world, "北门垃圾三天没人清运哦", code=garbage, when=now - 20 * day)  # too old
    ticket(world, "北门垃圾三天没人清运吧", code=garbage, when=now + day)  # not yet submitted
    ticket(world, "北门垃圾三天没人清运", code="cityscape.parking", when=now - day)  # another main type
    ticket(world, "北门垃圾三天没人清运了吗", code="livelihood.water", when=now - day)  # another main type
    ticket(
        world, "北门垃圾没人收呀", code=garbage, when=now - day, lat_offset=None, grid=GRID_B
    )  # other grid
    ticket(world, "北门垃圾三天没人清运么", code=garbage, when=now - day, grid=OTHER_COMMUNITY_GRID)

    text = "小区北门垃圾没人清运，已经三天了"
    with django_assert_num_queries(2):  # the main type's category ids, then the candidate tickets
        found = similarity.find_duplicates(
            text, category=garbage, region_code=GRID_A, now=now, latitude=LAT, longitude=LNG
        )
    ids = [d.ticket_id for d in found]
    assert ids[0] == same.pk
    # Same main type and nearby, but nothing alike in the text: below the minimum score.
    assert set(ids) == {same.pk, no_point_same_grid.pk, sibling.pk}
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    assert all(0 < d.score <= 1 for d in found)
    by_id = {d.ticket_id: d for d in found}
    assert by_id[same.pk].distance_m == 0
    assert by_id[sibling.pk].distance_m == pytest.approx(111, abs=1)
    assert by_id[no_point_same_grid.pk].distance_m is None
    assert by_id[same.pk].score > by_id[sibling.pk].score
    assert unrelated_text.pk not in by_id

    # Excluding the ticket being filed, a category object, and a limit.
    again = similarity.find_duplicates(
        text,
        category=Category.objects.get(code=garbage),
        region_code=GRID_A,
        now=now,
        latitude=LAT,
        longitude=LNG,
        exclude_id=same.pk,
        limit=1,
    )
    assert [d.ticket_id for d in again] == [no_point_same_grid.pk]


def test_without_points_duplicates_match_the_building_else_the_grid() -> None:
    now = timezone.now()

    def row(pk: int, building: int | None, grid: str = GRID_A, lat: float | None = None) -> dict[str, Any]:
        return {
            "id": pk,
            "title": "电梯又坏了",
            "description": "3栋电梯又坏了，困了人",
            "category_id": 7,
            "category__code": "dispute.property_mgmt",
            "region_code": grid,
            "building_id": building,
            "latitude": lat,
            "longitude": None if lat is None else 112.94,
            "status": Status.SUBMITTED,
            "submitted_at": now,
        }

    rows = [
        row(1, building=10),
        row(2, building=11),  # another building of the same grid
        row(3, building=None),  # no building: the grid decides
        row(4, building=None, grid=GRID_B),
        row(5, building=None, lat=28.18),  # has a point, the report has none: the grid decides
    ]
    text = "3栋的电梯坏了"
    kwargs: dict[str, Any] = {"category_id": 7, "region_code": GRID_A}
    in_building = similarity.rank_duplicates(text, rows, building_id=10, **kwargs)
    assert sorted(d.ticket_id for d in in_building) == [1, 3, 5]
    in_grid = similarity.rank_duplicates(text, rows, **kwargs)
    assert sorted(d.ticket_id for d in in_grid) == [1, 2, 3, 5]
    # With a point, rows with a point are kept by distance.
    near = similarity.rank_duplicates(text, rows, latitude=28.1801, longitude=112.94, **kwargs)
    assert [(d.ticket_id, d.distance_m) for d in near if d.distance_m is not None] == [
        (5, pytest.approx(11.1, abs=0.2))
    ]
    # A sibling category's ticket scores a little lower than the same text in the same category.
    sibling = similarity.rank_duplicates(text, rows, category_id=8, region_code=GRID_A)
    assert [d.ticket_id for d in sibling] == [d.ticket_id for d in in_grid]
    assert [d.score for d in sibling] == [pytest.approx(d.score * 0.9, abs=1e-4) for d in in_grid]


@pytest.mark.django_db
def test_duplicates_of_an_empty_text_or_an_empty_area(world: World, now: dt.datetime) -> None:
    ticket(world, "停水了", code="livelihood.water", when=now - dt.timedelta(hours=3))
    assert similarity.find_duplicates("", category="livelihood.water", region_code=GRID_A, now=now) == []
    assert (
        similarity.find_duplicates("！！！", category="livelihood.water", region_code=GRID_A, now=now) == []
    )
    assert (
        similarity.find_duplicates("停水了", category="livelihood.water", region_code=GRID_B, now=now) == []
    )
    found = similarity.find_duplicates("又停水了", category="livelihood.water", region_code=GRID_A, now=now)
    assert len(found) == 1 and found[0].distance_m is None  # no point given: same grid


@pytest.mark.django_db
def test_hot_topics_find_rising_clusters_with_a_sub_region_breakdown(world: World, now: dt.datetime) -> None:
    day = dt.timedelta(days=1)
    parking, noise = "cityscape.parking", "environment.noise"
    bikes = [
        ("地铁口共享单车堆满了", "地铁站c口的共享单车堆成山，人都过不去", GRID_A, 1),
        ("共享单车堵住地铁出口", "地铁站出口全是共享单车，盲道也被占", GRID_A, 2),
        ("地铁站共享单车乱停", "地铁站c口共享单车乱停，堵住了出口", GRID_A, 3),
        ("共享单车堆在地铁口", "早上地铁口的共享单车堆满了，过不去", GRID_B, 4),
    ]
    for title, description, grid, age in bikes:
        ticket(world, title, description, code=parking, when=now - age * day, grid=grid)
    ticket(world, "地铁口共享单车太多", "地铁站口共享单车乱停乱放", code=parking, when=now - 9 * day)
    # A parking complaint unlike the others, and one outside the area or the fortnight.
    ticket(world, "小区消防通道停满了车", code=parking, when=now - day)
    ticket(world, "共享单车堆满地铁口", code=parking, when=now - day, grid=OTHER_COMMUNITY_GRID)
    ticket(world, "地铁口共享单车又堆满了", code=parking, when=now - 20 * day)
    # Noise: as many this week as last week, so not rising.
    for age in (1, 2, 3, 8, 9, 10):
        ticket(
            world,
            f"工地夜间施工噪音{age}",
            "晚上十一点工地还在打桩施工，吵得睡不着",
            code=noise,
            when=now - age * day,
        )
    # Garbage: three this week but about three different things.
    for title in ("垃圾桶满了没人收", "装修垃圾堆在楼下", "河边有人乱倒垃圾"):
        ticket(world, title, code="environment.garbage", when=now - day)

    topics = similarity.hot_topics("430104002001", now=now)
    assert len(topics) == 1
    topic = topics[0]
    assert topic.category_code == parking
    assert (topic.count, topic.previous, topic.growth) == (4, 1, 3)
    assert topic.growth_ratio == 4.0
    assert topic.title in {t for t, *_ in bikes}
    assert topic.regions == {GRID_A: 3, GRID_B: 1}
    assert len(topic.ticket_ids) == 4

    # The street level sees the same topic, counted by community (the other community's report
    # joins it: it is the same topic in the street).
    street = similarity.hot_topics("430104002", now=now)
    assert [(t.category_code, t.count, t.regions) for t in street] == [
        (parking, 5, {"430104002001": 4, "430104002003": 1})
    ]
    # A higher bar: nothing.
    assert similarity.hot_topics("430104002001", now=now, min_count=5) == []


def test_cluster_topics_is_a_pure_function_over_rows() -> None:
    now = timezone.now()

    def row(pk: int, title: str, age_days: float, code: str = "livelihood.water") -> dict[str, Any]:
        return {
            "id": pk,
            "title": title,
            "description": "",
            "category__code": code,
            "region_code": GRID_A,
            "submitted_at": now - dt.timedelta(days=age_days),
        }

    rows = [row(1, "枫林路停水了", 1), row(2, "枫林路又停水了", 2), row(3, "枫林路停水一整天", 3)]
    topics = similarity.cluster_topics(rows, region_code="430104002001", now=now)
    assert [(t.count, t.previous, t.ticket_ids) for t in topics] == [(3, 0, [1, 2, 3])]
    assert topics[0].growth_ratio is None
    assert similarity.cluster_topics([], region_code="430104002001", now=now) == []
