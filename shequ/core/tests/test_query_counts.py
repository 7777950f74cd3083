"""Core's lists (audit log, inbox, accounts; the API's regions, messages and audit log) run as many
queries with 3N rows as with N: no query per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from shequ.conftest import PASSWORD, World
from shequ.core import accounts, audit
from shequ.core.models import Message, Region, RegionKind, RegionLevel, Role
from shequ.core.tests.api_helpers import get, issue
from shequ.core.tests.queries import assert_flat_queries

N = 3
COMMUNITY_A = "430104002001"
SENDERS = ("head_a", "worker_a", "street", "grid_a", "grid_b", "head_b")


def page_load(client: Client, path: str) -> Callable[[], Any]:
    def load() -> Any:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return load


def api_load(client: Client, path: str, raw: str) -> Callable[[], Any]:
    def load() -> Any:
        response = get(client, path, raw)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        return response

    return load


def add_audit_entries(world: World, count: int) -> None:
    people = [world[p] for p in SENDERS]
    for i in range(count):
        actor = people[i % len(people)]
        audit.record("test.list", actor=actor, region_code=COMMUNITY_A, object_type="page", object_id=i)


def add_messages(world: World, count: int) -> None:
    for i in range(count):
        Message.objects.create(
            recipient=world["head_a"],
            sender=world[SENDERS[i % len(SENDERS)]],
            region_code=COMMUNITY_A,
            subject=f"通知 {i}",
            body="明天停水",
            # Half of them in threads, so the rows' object states are looked up too.
            thread_key=f"grid.ticket:{i}" if i % 2 else "",
        )


def add_accounts(world: World, count: int, start: int) -> None:
    for i in range(start, start + count):
        user = accounts.user_create(
            actor=None,
            username=f"worker{i}",
            display_name=f"worker{i}",
            password=PASSWORD,
            phone=f"1390000{i:04d}",
        )
        accounts.membership_grant(
            actor=None, user=user, role=Role.GRID_WORKER, region=world.regions["430104002001001"]
        )


def add_grids(world: World, count: int, start: int) -> None:
    community = world.regions[COMMUNITY_A]
    for i in range(start, start + count):
        Region.objects.create(
            code=f"{COMMUNITY_A}{i:03d}",
            name=f"第{i}网格",
            level=RegionLevel.GRID,
            kind=RegionKind.GRID,
            parent=community,
        )


def test_audit_log_page(client: Client, world: World) -> None:
    add_audit_entries(world, N)
    client.force_login(world["auditor"])
    assert_flat_queries(
        page_load(client, "/admin/audit/"), lambda: add_audit_entries(world, 2 * N), label="audit page"
    )


def test_inbox_page(client: Client, world: World) -> None:
    add_messages(world, N)
    client.force_login(world["head_a"])
    assert_flat_queries(page_load(client, "/inbox/"), lambda: add_messages(world, 2 * N), label="inbox")


def test_accounts_page(client: Client, world: World) -> None:
    add_accounts(world, N, 100)
    client.force_login(world["sysadmin"])
    assert_flat_queries(
        page_load(client, "/admin/accounts/"), lambda: add_accounts(world, 2 * N, 200), label="accounts"
    )


def test_memberships_page(client: Client, world: World) -> None:
    add_accounts(world, N, 100)
    client.force_login(world["secadmin"])
    assert_flat_queries(
        page_load(client, "/admin/memberships/"), lambda: add_accounts(world, 2 * N, 200), label="memberships"
    )


@pytest.mark.parametrize(
    ("path", "persona", "grow"),
    [
        ("/audit", "auditor", lambda world: add_audit_entries(world, 2 * N)),
        ("/messages", "head_a", lambda world: add_messages(world, 2 * N)),
        (f"/regions?parent={COMMUNITY_A}", "head_a", lambda world: add_grids(world, 2 * N, 100)),
    ],
)
def test_api_lists(
    client: Client, world: World, path: str, persona: str, grow: Callable[[World], None]
) -> None:
    add_audit_entries(world, N)
    add_messages(world, N)
    add_grids(world, N, 50)
    raw = issue(world, persona)
    assert_flat_queries(api_load(client, path, raw), lambda: grow(world), label=path)


def test_the_helper_catches_a_query_per_row(world: World) -> None:
    add_messages(world, N)

    def per_row() -> list[str]:
        return [m.sender.username for m in Message.objects.all() if m.sender is not None]  # a query per row

    def joined() -> list[str]:
        return [m.sender.username for m in Message.objects.select_related("sender") if m.sender is not None]

    with pytest.raises(AssertionError, match="N\\+1"):
        assert_flat_queries(per_row, lambda: add_messages(world, 2 * N))
    assert assert_flat_queries(joined, lambda: add_messages(world, 2 * N)) == 1
