"""The grid's ticket lists — the community queue, the staff list, the department portal,
supervision, a resident's own reports, and the API's tickets, department queue and routing rules —
run as many queries with 3N tickets as with N: no query per row (``core/tests/queries.py``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import World
from shequ.core.tests.api_helpers import get, issue
from shequ.core.tests.queries import assert_flat_queries
from shequ.grid import services
from shequ.grid.models import Category, RoutingRule, Ticket
from shequ.grid.tests.conftest import GRID_A, GRID_B

N = 3
_serial = count(1)
CATEGORIES = ("security.public_order", "environment.garbage", "livelihood.power")
shown: list[str] = []


def _title() -> str:
    title = f"第{next(_serial)}号问题"
    shown.append(title)
    return title


def staff_tickets(world: World, k: int) -> list[Ticket]:
    """Tickets entered by staff in both grids of community A, in several categories."""
    made = []
    for i in range(k):
        made.append(
            services.ticket_submit(
                actor=world["worker_a"],
                source="staff",
                region=world.regions[GRID_A if i % 2 else GRID_B],
                title=_title(),
                description="楼下路灯不亮，晚上走路不安全，请尽快处理。",
                category=CATEGORIES[i % len(CATEGORIES)],
                contact_name="王阿姨",
                contact_phone="13912345678",
            )
        )
    return made


def resident_tickets(world: World, k: int) -> list[Ticket]:
    return [
        services.ticket_submit(
            actor=world["resident"],
            source="resident",
            region=world.regions[GRID_A],
            title=_title(),
            description="5栋2单元楼道的灯坏了好几天，晚上看不见。",
            contact_name="王阿姨",
            contact_phone="13912345678",
        )
        for _ in range(k)
    ]


def dispatched_tickets(world: World, k: int) -> None:
    for t in resident_tickets(world, k):
        t = services.ticket_accept(
            actor=world["worker_a"], ticket=t, category=CATEGORIES[t.pk % len(CATEGORIES)]
        )
        services.ticket_dispatch(actor=world["worker_a"], ticket=t, department=world.department)


def overdue_tickets(world: World, k: int) -> None:
    made = staff_tickets(world, k)
    Ticket.objects.filter(pk__in=[t.pk for t in made]).update(due_at=timezone.now() - dt.timedelta(hours=2))


def routing_rules(world: World, k: int) -> None:
    taken = set(RoutingRule.objects.values_list("category_id", "region_id"))
    region = world.regions["430104002001"]
    free = [
        c
        for c in Category.objects.filter(parent__isnull=False).order_by("code")
        if (c.pk, region.pk) not in taken
    ]
    for category in free[:k]:
        RoutingRule.objects.create(
            category=category, region=region, region_code=region.code, department=world.department
        )
        shown.append(category.code)


@pytest.mark.parametrize(
    ("persona", "path", "grow"),
    [
        ("worker_a", "/grid/", resident_tickets),
        ("worker_a", "/grid/tickets/", staff_tickets),
        ("head_a", "/grid/tickets/", dispatched_tickets),
        ("dept", "/grid/department/", dispatched_tickets),
        ("head_a", "/grid/supervision/", overdue_tickets),
        ("resident", "/grid/mine/", resident_tickets),
    ],
)
def test_ticket_list_pages(
    client: Client, world: World, persona: str, path: str, grow: Callable[[World, int], Any]
) -> None:
    grow(world, N)
    client.force_login(world[persona])

    def load() -> Any:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    assert_flat_queries(load, lambda: grow(world, 2 * N), label=f"{path} as {persona}")
    assert shown[-1] in load().content.decode(), f"{path} does not list the tickets"


@pytest.mark.parametrize(
    ("persona", "path", "grow"),
    [
        ("worker_a", "/grid/tickets", staff_tickets),
        ("resident", "/grid/tickets", resident_tickets),
        ("dept", "/grid/tickets", dispatched_tickets),
        ("dept", "/grid/department-queue", dispatched_tickets),
        ("worker_a", "/grid/routing-rules", routing_rules),
    ],
)
def test_grid_api_lists(
    client: Client, world: World, persona: str, path: str, grow: Callable[[World, int], Any]
) -> None:
    grow(world, N)
    raw = issue(world, persona)

    def load() -> Any:
        response = get(client, path, raw)
        assert response.status_code == 200, (path, response.content[:300])
        return response

    assert_flat_queries(load, lambda: grow(world, 2 * N), label=f"{path} as {persona}")
    assert shown[-1] in json.dumps(load().json(), ensure_ascii=False), f"{path} does not list the rows"
