"""Ticket maps: the community's points by deadline state, the street's heat map by grid, the
tickets layer of the registry's map, what each persona's GeoJSON holds (siblings see nothing of
each other), the points outside their grid, the statistics choropleth and the report page's map
with no tile server."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core.tests.shapes import COMMUNITY_B, IN_GRID_A, IN_GRID_B, IN_GRID_C, STREET, load_test_shapes
from shequ.grid import services
from shequ.grid.models import Ticket
from shequ.grid.tests.conftest import GRID_A, GRID_B, new_ticket

pytestmark = pytest.mark.django_db
GRID_C = "430104002003001"


def point(lat_lng: tuple[float, float]) -> dict[str, Any]:
    return {"latitude": f"{lat_lng[0]:.6f}", "longitude": f"{lat_lng[1]:.6f}"}


@pytest.fixture
def mapped(world: World) -> dict[str, Ticket]:
    load_test_shapes()
    inside = new_ticket(world, grid=GRID_A, title="一网格路灯坏了", **point(IN_GRID_A))
    # Filed for grid A, pinned in grid B: a wrong pin, to be listed as outside its grid.
    stray = new_ticket(world, grid=GRID_A, title="一网格井盖松动", **point(IN_GRID_B))
    overdue = new_ticket(world, grid=GRID_B, title="二网格垃圾满了", **point(IN_GRID_B))
    Ticket.objects.filter(pk=overdue.pk).update(
        due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), warn_at=dt.datetime(2019, 12, 30, tzinfo=dt.UTC)
    )
    sibling = new_ticket(world, grid=GRID_C, title="泽盛社区噪音", **point(IN_GRID_C))
    no_point = new_ticket(world, grid=GRID_A, title="一网格没有位置")
    return {"inside": inside, "stray": stray, "overdue": overdue, "sibling": sibling, "no_point": no_point}


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def geojson(client: Client, query: str = "") -> dict[str, Any]:
    response = client.get(reverse("grid:map_data") + query)
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    return json.loads(response.content)


def tickets_in(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        f["properties"]["id"]: f["properties"]
        for f in data["features"]
        if f["properties"]["kind"] == "ticket"
    }


def regions_in(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f["properties"]["code"]: f["properties"]
        for f in data["features"]
        if f["properties"]["kind"] == "region"
    }


def test_grid_worker_sees_own_tickets_by_deadline_state_and_the_stray_one_flagged(
    world: World, mapped: dict[str, Ticket]
) -> None:
    data = geojson(client_for(world, "grid_a"))
    tickets = tickets_in(data)
    assert set(tickets) == {
        mapped["inside"].pk,
        mapped["stray"].pk,
    }  # not grid B's, not C's, none without point
    assert tickets[mapped["inside"].pk]["outside"] is False
    assert tickets[mapped["stray"].pk]["outside"] is True
    assert (
        tickets[mapped["inside"].pk]["state"] == "green"
        and tickets[mapped["inside"].pk]["state_label"] == "正常"
    )
    assert tickets[mapped["inside"].pk]["url"] == f"/grid/tickets/{mapped['inside'].pk}/"
    assert set(regions_in(data)) == {GRID_A}
    page = client_for(world, "grid_a").get(reverse("grid:map")).content.decode()
    outside_list = page.split('id="outside-heading"')[1].split("</ul>")[0]
    assert "一网格井盖松动" in outside_list and "一网格路灯坏了" not in outside_list
    assert "位置在网格范围外" in page
    assert "1 件工单没有位置" in page or "没有位置" in page


def test_community_map_colours_by_deadline_and_counts_the_legend(
    world: World, mapped: dict[str, Ticket]
) -> None:
    data = geojson(client_for(world, "head_a"))
    tickets = tickets_in(data)
    assert set(tickets) == {mapped["inside"].pk, mapped["stray"].pk, mapped["overdue"].pk}
    assert (
        tickets[mapped["overdue"].pk]["state"] == "red"
        and tickets[mapped["overdue"].pk]["state_label"] == "已超期"
    )
    assert tickets[mapped["overdue"].pk]["outside"] is False
    page = client_for(world, "head_a").get(reverse("grid:map")).content.decode()
    assert "已超期 (1)" in page and "正常 (2)" in page and "已完成 (0)" in page


def test_done_tickets_of_the_last_30_days_are_shown_as_done(world: World, mapped: dict[str, Ticket]) -> None:
    ticket = services.ticket_close_on_spot(actor=world["grid_a"], ticket=mapped["inside"], result="已修好")
    assert ticket.status == "closed"
    props = tickets_in(geojson(client_for(world, "grid_a")))[ticket.pk]
    assert props["state"] == "done" and props["state_label"] == "已完成"
    # The registry's layer: open tickets only.
    assert ticket.pk not in tickets_in(geojson(client_for(world, "grid_a"), "?layer=tickets"))


def test_street_heat_map_counts_open_tickets_per_grid(world: World, mapped: dict[str, Ticket]) -> None:
    client = client_for(world, "street")
    data = geojson(client)
    regions = regions_in(data)
    assert not tickets_in(data)  # a street sees areas, not every point
    assert regions[GRID_A]["count"] == 3 and regions[GRID_B]["count"] == 1 and regions[GRID_C]["count"] == 1
    assert regions[GRID_B]["overdue"] == 1
    # Bands of one ticket each (the most here is 3): the legend says so.
    assert (regions[GRID_A]["band"], regions[GRID_B]["band"], regions[GRID_C]["band"]) == (3, 1, 1)
    page = client.get(reverse("grid:map")).content.decode()
    table = page.split('<table class="data">')[1].split("</table>")[0]
    assert f'href="?region={GRID_A}"' in table and '<td class="num">3</td>' in table
    listed = page.split('id="outside-heading"')[1].split("</ul>")[0]
    assert "一网格井盖松动" in listed and "一网格路灯坏了" not in listed
    # The street asks for one grid: its points.
    assert set(tickets_in(geojson(client, f"?region={GRID_C}"))) == {mapped["sibling"].pk}


@pytest.mark.parametrize(
    ("persona", "region"),
    [
        ("grid_b", GRID_A),
        ("head_b", GRID_A),
        ("head_a", COMMUNITY_B),
        ("grid_a", STREET),
        ("outsider", GRID_A),
        ("head_a", "4301x"),
    ],
)
def test_regions_outside_the_scope_are_404(
    world: World, mapped: dict[str, Ticket], persona: str, region: str
) -> None:
    client = client_for(world, persona)
    for name in ("grid:map", "grid:map_data"):
        assert client.get(reverse(name) + f"?region={region}").status_code == 404, (name, persona, region)


def test_siblings_see_nothing_of_each_other(world: World, mapped: dict[str, Ticket]) -> None:
    # grid B's: the overdue one (the stray ticket is pinned in grid B but filed for grid A).
    assert set(tickets_in(geojson(client_for(world, "grid_b")))) == {mapped["overdue"].pk}
    assert set(tickets_in(geojson(client_for(world, "head_b")))) == {mapped["sibling"].pk}
    assert set(regions_in(geojson(client_for(world, "head_b")))) == {COMMUNITY_B, GRID_C}
    assert not tickets_in(geojson(client_for(world, "outsider")))
    for persona in ("resident", "dept", "nobody"):
        assert client_for(world, persona).get(reverse("grid:map_data")).status_code == 403


def test_report_page_draws_the_area_without_a_tile_server(
    world: World, mapped: dict[str, Ticket], settings: Any
) -> None:
    settings.GRID_MAP_TILES = ""
    response = client_for(world, "resident").get(reverse("grid:report"))
    page = response.content.decode()
    assert 'id="report-map"' in page and "core/maps.js" in page and 'data-tiles=""' in page
    data = json.loads(page.split('id="report-map-data" type="application/json">')[1].split("</script>")[0])
    assert {f["properties"].get("code") for f in data["features"] if f["properties"]["kind"] == "region"} == {
        GRID_A
    }


def test_stats_page_carries_a_choropleth_of_the_child_regions(
    world: World, mapped: dict[str, Ticket]
) -> None:
    page = client_for(world, "street").get(reverse("grid:stats")).content.decode()
    charts = json.loads(page.split('id="stats-charts" type="application/json">')[1].split("</script>")[0])
    shaded = charts["regionmap"]
    assert {d["name"]: d["value"] for d in shaded["data"]} == {"430104002001": 4, COMMUNITY_B: 1}
    assert {f["properties"]["name"] for f in shaded["geojson"]["features"]} == {"430104002001", COMMUNITY_B}
    assert 'data-chart="regionmap"' in page
