"""Duplicate suggestions at intake (on the ticket page) and the hot-topics page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shequ.conftest import World
from shequ.grid.models import Status, Ticket
from shequ.grid.tests.conftest import COMMUNITY_B, GRID_A, GRID_B, new_ticket

pytestmark = pytest.mark.django_db

GARBAGE = [
    ("垃圾站好几天没清运", "3栋旁边的垃圾站好几天没清运了，臭气熏天，苍蝇很多。"),
    ("垃圾站没人清运", "3栋垃圾站的垃圾堆满了，好几天没人来清运，味道很大。"),
    ("垃圾堆满了没清运", "小区3栋门口垃圾站垃圾满了没人清运，天热臭得很。"),
    ("垃圾清运不及时", "垃圾站垃圾几天没清运，3栋居民都反映臭。"),
]


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def test_the_ticket_page_suggests_duplicates_and_merges(world: World) -> None:
    first = new_ticket(
        world,
        actor=world["grid_a"],
        source="patrol",
        code="environment.garbage",
        title=GARBAGE[0][0],
        description=GARBAGE[0][1],
        latitude="28.182310",
        longitude="112.944120",
    )
    other = new_ticket(
        world,
        actor=world["grid_a"],
        source="patrol",
        code="safety.fire",
        title="楼道堆放杂物",
        description="5栋楼道堆满纸箱，堵住消防通道。",
    )
    second = new_ticket(
        world,
        actor=world["grid_b"],
        grid=GRID_B,
        source="patrol",
        code="environment.garbage",
        title=GARBAGE[1][0],
        description=GARBAGE[1][1],
        latitude="28.182650",  # about 40 m away, across the grid boundary
        longitude="112.944300",
    )
    client = signed_in(world, "worker_a")
    page = client.get(reverse("grid:ticket", args=[second.pk])).content.decode()
    assert "可能是同一问题" in page
    assert first.number in page and other.number not in page
    response = client.post(reverse("grid:ticket_merge", args=[second.pk]), {"merge-into": first.number})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.parent_id == first.pk
    # Grid workers do not merge: no suggestions for them; the sibling community's head sees nothing.
    assert (
        "可能是同一问题"
        not in signed_in(world, "grid_a").get(reverse("grid:ticket", args=[first.pk])).content.decode()
    )


def test_no_suggestion_from_another_community(world: World) -> None:
    new_ticket(
        world,
        actor=world["head_b"],
        grid=COMMUNITY_B,
        code="environment.garbage",
        title=GARBAGE[0][0],
        description=GARBAGE[0][1],
    )
    mine = new_ticket(
        world,
        actor=world["grid_a"],
        source="patrol",
        code="environment.garbage",
        title=GARBAGE[1][0],
        description=GARBAGE[1][1],
    )
    page = signed_in(world, "worker_a").get(reverse("grid:ticket", args=[mine.pk])).content.decode()
    assert "可能是同一问题" not in page


def test_hot_topics_show_what_rises_in_the_viewers_area(world: World) -> None:
    now = timezone.now()
    for i, (title, text) in enumerate(GARBAGE):
        new_ticket(
            world,
            actor=world["grid_a"],
            source="patrol",
            code="environment.garbage",
            title=title,
            description=text,
            submitted_at=now - dt.timedelta(hours=i + 1),
        )
    new_ticket(
        world,
        actor=world["grid_a"],
        source="patrol",
        code="environment.garbage",
        title="垃圾站没清运",
        description="垃圾站垃圾没清运",
        submitted_at=now - dt.timedelta(days=9),
    )
    page = signed_in(world, "worker_a").get(reverse("grid:hot_topics")).content.decode()
    assert "垃圾" in page and "本周 4 件" in page
    assert "本周没有上升的问题" in signed_in(world, "head_b").get(reverse("grid:hot_topics")).content.decode()
    # An area outside the viewer's scope is not found; a child area is.
    assert signed_in(world, "head_b").get(reverse("grid:hot_topics") + f"?region={GRID_A}").status_code == 404
    assert signed_in(world, "street").get(reverse("grid:hot_topics") + f"?region={GRID_A}").status_code == 200
    assert Ticket.objects.count() == 5
