"""The grid app's scope matrix (DESIGN.md rule 2, security requirement 8): every grid page tried by
every persona on three tickets —

* ``a``: grid A of community A, reported by the resident, dispatched to the police (``dept``);
* ``a2``: grid B of community A (grid_b's), not dispatched;
* ``b``: the sibling community B, entered by its head, not dispatched.

Who sees which ticket is written out by hand below from the personas' roles and regions
(shequ/conftest.py PERSONAS) and the rules of shequ/grid/selectors.py — not computed by the code
under test. Pages about one ticket answer 404 to those who may not see it. Action forms are posted
empty: a persona who may not act gets 403 or 404, one who may gets 400 — and nothing changes
either way. Pages without an object list who may open them. A grid route missing from these tables
fails ``test_every_grid_route_is_in_the_matrix``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from shequ.conftest import PERSONAS, World
from shequ.grid import services
from shequ.grid.models import Ticket, TicketAction
from shequ.grid.tests.conftest import COMMUNITY_B, GRID_A, GRID_B

# Who sees each ticket (written by hand).
SEES: dict[str, set[str]] = {
    "a": {"grid_a", "worker_a", "head_a", "street", "dept", "resident"},
    "a2": {"grid_b", "worker_a", "head_a", "street"},
    "b": {"head_b", "street"},
}

# Pages about one ticket, reached with its primary key (GET).
TICKET_PAGES: set[str] = {"grid:ticket", "grid:report_done"}
# Action forms about one ticket (POST, tried with an empty form).
# (grid:ticket_rate: staff who see the ticket get 403 — only its reporter rates.)
TICKET_POSTS: set[str] = {
    "grid:ticket_rate",
    # The staff steps (shequ/grid/views.py STEPS) and the audited reveal of the reporter's phone.
    "grid:ticket_accept",
    "grid:ticket_dispatch",
    "grid:ticket_handle",
    "grid:ticket_close_on_spot",
    "grid:ticket_merge",
    "grid:ticket_recategorize",
    "grid:ticket_dept_accept",
    "grid:ticket_respond",
    "grid:ticket_resolve",
    "grid:ticket_dept_return",
    "grid:ticket_request_extension",
    "grid:ticket_decide_extension",
    "grid:ticket_verify",
    "grid:ticket_supervise",
    "grid:ticket_comment",
    "grid:ticket_add_photos",
    "grid:ticket_urgent_ack",
    "grid:ticket_urgent_clear",
    "grid:ticket_reveal",
}
# Pages without an object → the personas who may open them (others: 403; anonymous: login).
# Who may report: the roles holding grid.report in their own grid or community.
# Posts that answer an empty form with an empty result instead of a 400.
EMPTY_POST_OK = {"grid:suggest"}
REPORTERS = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "outsider", "resident"}
# Region staff (grid.view): everyone with a staff role in a region, not departments or residents.
REGION_STAFF = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}
# Who supervises: community heads and the street officer.
SUPERVISORS = {"head_a", "head_b", "street", "outsider"}
# Who may import 12345 hotline files: the holders of grid.import (community staff, the street).
IMPORTERS = {"worker_a", "head_a", "head_b", "street", "outsider"}
LIST_PAGES: dict[str, set[str]] = {
    # The community queue: who accepts, checks or closes on the spot (all region staff here).
    "grid:queue": REGION_STAFF,
    "grid:list": REGION_STAFF,
    "grid:hot_topics": REGION_STAFF,
    # Maps (shequ/grid/tests/test_maps.py: what each persona's GeoJSON holds, other regions 404).
    "grid:map": REGION_STAFF,
    "grid:map_data": REGION_STAFF,
    # Staff entry: region staff who may report or patrol (not the street officer).
    "grid:new": REGION_STAFF - {"street"},
    "grid:department": {"dept"},
    "grid:supervision": SUPERVISORS,
    "grid:categories": REGION_STAFF,
    # The tree is the province's (grid.catalog): no persona here may add to it.
    "grid:category_new": set(),
    "grid:routing": {"street"},
    "grid:holidays": REGION_STAFF,
    "grid:report": {"resident"},
    "grid:my_tickets": set(PERSONAS),  # everyone's own (possibly empty) list
    "grid:hotline_import": IMPORTERS,
    # Statistics: holders of grid.stats; department staff see their own department's figures.
    "grid:stats": {"head_a", "head_b", "street", "outsider", "dept"},
}
# Pages that send some personas elsewhere: staff who open the resident's report form are sent
# to the staff entry page, where the ticket's source says who entered it.
LIST_REDIRECTS: dict[str, tuple[set[str], str]] = {
    "grid:report": (REPORTERS - {"resident"}, "grid:new"),
}
# Pages without an object reached with a POST (tried with an empty form) → who may use them.
LIST_POSTS: dict[str, set[str]] = {
    "grid:report": {"resident"},
    "grid:suggest": REPORTERS,
    "grid:hotline_import": IMPORTERS,
    "grid:new": REGION_STAFF - {"street"},
    "grid:department_bulk": {"dept"},
    "grid:routing": {"street"},
    "grid:routing_delete": {"street"},
    # The calendar is the province's (grid.catalog): no persona here may change it.
    "grid:holidays": set(),
    "grid:holiday_delete": set(),
    "grid:category_new": set(),
}
# Pages anyone may open, signed in or not.
PUBLIC_PAGES: set[str] = {"grid:public"}
# Routes with objects of their own (photos, import batches, …), tested in the named module.
ELSEWHERE: dict[str, str] = {
    # A 12345 upload is its uploader's alone: 404 to anyone else.
    "grid:hotline_report": "test_hotline_pages.py",
    "grid:hotline_errors": "test_hotline_pages.py",
    "grid:hotline_commit": "test_hotline_pages.py",
    "grid:photo": "test_pages_staff.py",  # a photo of a ticket: 404 to a sibling community's staff
    "grid:category_edit": "test_catalog_pages.py",  # the province's catalog (no persona here)
    "grid:stats_export": "test_stats_pages.py",  # a POST of filters: scope, audit, contents
}

assert set().union(*SEES.values()) <= set(PERSONAS)


def grid_routes() -> set[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name and namespace == "grid:":
                found.add(namespace + p.name)

    walk(get_resolver().url_patterns, "")
    return found


def test_every_grid_route_is_in_the_matrix() -> None:
    covered = TICKET_PAGES | TICKET_POSTS | set(LIST_PAGES) | set(LIST_POSTS) | PUBLIC_PAGES | set(ELSEWHERE)
    assert grid_routes() - covered == set(), "add the new grid pages to the scope matrix"
    assert covered - grid_routes() == set(), "the matrix names routes that do not exist"


@pytest.fixture
def tickets(world: World) -> dict[str, Ticket]:
    a = services.ticket_submit(
        actor=world["resident"],
        source="resident",
        region=world.regions[GRID_A],
        title="楼道灯坏了",
        description="5栋2单元楼道的灯坏了好几天，晚上看不见。",
    )
    a = services.ticket_accept(actor=world["worker_a"], ticket=a, category="security.public_order")
    a = services.ticket_dispatch(actor=world["worker_a"], ticket=a, department=world.department)
    a2 = services.ticket_submit(
        actor=world["grid_b"],
        source="patrol",
        region=world.regions[GRID_B],
        title="垃圾没清运",
        description="二网格垃圾站两天没人清运。",
        category="environment.garbage",
    )
    b = services.ticket_submit(
        actor=world["head_b"],
        source="staff",
        region=world.regions[COMMUNITY_B],
        title="噪音扰民",
        description="夜间施工噪音很大。",
        category="environment.noise",
    )
    return {"a": a, "a2": a2, "b": b}


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def _state(ticket: Ticket) -> tuple[str, int]:
    ticket.refresh_from_db()
    return ticket.status, TicketAction.objects.filter(ticket=ticket).count()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_ticket_pages_follow_who_sees_the_ticket(
    world: World, tickets: dict[str, Ticket], persona: str
) -> None:
    client = signed_in(world, persona)
    for name in sorted(TICKET_PAGES):
        for key, ticket in tickets.items():
            status = client.get(reverse(name, args=[ticket.pk])).status_code
            expected = 200 if persona in SEES[key] else 404
            assert status == expected, (name, key, persona, status)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_refused_or_invalid_actions_change_nothing(
    world: World, tickets: dict[str, Ticket], persona: str
) -> None:
    client = signed_in(world, persona)
    for name in sorted(TICKET_POSTS):
        for key, ticket in tickets.items():
            before = _state(ticket)
            status = client.post(reverse(name, args=[ticket.pk]), {}).status_code
            if persona not in SEES[key]:
                assert status == 404, (name, key, persona, status)
            else:
                assert status in {400, 403}, (name, key, persona, status)
            assert _state(ticket) == before, (name, key, persona)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_pages_without_an_object(world: World, tickets: dict[str, Ticket], persona: str) -> None:
    client = signed_in(world, persona)
    for name, allowed in sorted(LIST_PAGES.items()):
        response = client.get(reverse(name))
        sent, target = LIST_REDIRECTS.get(name, (set(), ""))
        if persona in sent:
            assert response.status_code == 302 and response["Location"] == reverse(target), (name, persona)
            continue
        assert response.status_code == (200 if persona in allowed else 403), (
            name,
            persona,
            response.status_code,
        )
    for name in sorted(PUBLIC_PAGES):
        assert client.get(reverse(name)).status_code == 200, (name, persona)
    for name, allowed in sorted(LIST_POSTS.items()):
        counts = Ticket.objects.count(), TicketAction.objects.count()
        status = client.post(reverse(name), {}).status_code
        sent, _target = LIST_REDIRECTS.get(name, (set(), ""))
        # An empty suggestion box is no error: an empty list of chips (200), never a change.
        empty_ok = 200 if name in EMPTY_POST_OK else 400
        expected = 302 if persona in sent else empty_ok if persona in allowed else 403
        assert status == expected, (name, persona, status)
        assert (Ticket.objects.count(), TicketAction.objects.count()) == counts, (name, persona)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(tickets: dict[str, Ticket]) -> None:
    client = Client()
    ticket = tickets["a"]
    for name in sorted(TICKET_PAGES | TICKET_POSTS):
        response = client.get(reverse(name, args=[ticket.pk]))
        assert response.status_code == 302 and "/login" in response["Location"], name
    for name in sorted(set(LIST_PAGES) | set(LIST_POSTS)):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login" in response["Location"], name
    for name in sorted(PUBLIC_PAGES):
        assert client.get(reverse(name)).status_code == 200, name
