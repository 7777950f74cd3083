"""The grid worker's map: the GeoJSON holds the viewer's own grid's boundary, buildings (each
linking to its building page) and key places; a building pinned outside its grid is flagged and
listed; sibling grids and communities see nothing of each other."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.core.tests.shapes import IN_GRID_A, IN_GRID_C, load_test_shapes
from shequ.registry import services
from shequ.registry.models import Building
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_B, GRID_C, Registry

pytestmark = pytest.mark.django_db


def place(building: Building, lat_lng: tuple[float, float]) -> None:
    Building.objects.filter(pk=building.pk).update(
        latitude=Decimal(str(lat_lng[0])), longitude=Decimal(str(lat_lng[1]))
    )


@pytest.fixture
def mapped(reg: Registry) -> Registry:
    load_test_shapes()
    place(reg.buildings["a"], IN_GRID_A)
    place(reg.buildings["b"], IN_GRID_A)  # grid B's building pinned in grid A: outside its grid
    place(reg.buildings["c"], IN_GRID_C)
    services.key_place_create(
        actor=None, data={"name": "麓山市场", "kind": "market", "house": reg.houses["a"][0]}
    )
    return reg


def client_for(reg: Registry, persona: str) -> Client:
    client = Client()
    client.force_login(reg.world[persona])
    return client


def geojson(client: Client, query: str = "") -> dict[str, Any]:
    response = client.get(reverse("registry:map_data") + query)
    assert response.status_code == 200, response.status_code
    return json.loads(response.content)


def kinds(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f["properties"] for f in data["features"] if f["properties"]["kind"] == kind]


def test_grid_worker_map_holds_own_grid_buildings_and_places(mapped: Registry) -> None:
    data = geojson(client_for(mapped, "grid_a"))
    buildings = kinds(data, "building")
    assert [b["id"] for b in buildings] == [mapped.buildings["a"].pk]
    assert buildings[0]["url"] == f"/registry/buildings/{mapped.buildings['a'].pk}/"
    assert buildings[0]["houses"] == len(mapped.houses["a"]) and buildings[0]["outside"] is False
    assert [p["label"] for p in kinds(data, "place")] == ["麓山市场"]
    assert [r["code"] for r in kinds(data, "region")] == [GRID_A]
    page = client_for(mapped, "grid_a").get(reverse("registry:map")).content.decode()
    assert f'href="/registry/buildings/{mapped.buildings["a"].pk}/"' in page
    assert reverse("grid:map_data") + "?layer=tickets" in page.replace("&amp;", "&")


def test_a_building_outside_its_grid_is_flagged_and_listed(mapped: Registry) -> None:
    data = geojson(client_for(mapped, "grid_b"))
    (building,) = kinds(data, "building")
    assert building["id"] == mapped.buildings["b"].pk and building["outside"] is True
    page = client_for(mapped, "grid_b").get(reverse("registry:map")).content.decode()
    listed = page.split('id="outside-heading"')[1].split("</ul>")[0]
    assert f"/registry/buildings/{mapped.buildings['b'].pk}/" in listed
    assert "位置在网格范围外" in page


def test_community_and_street_see_their_subtree(mapped: Registry) -> None:
    head = geojson(client_for(mapped, "head_a"))
    assert {b["id"] for b in kinds(head, "building")} == {mapped.buildings["a"].pk, mapped.buildings["b"].pk}
    assert {r["code"] for r in kinds(head, "region")} == {COMMUNITY_A, GRID_A, GRID_B}
    street = geojson(client_for(mapped, "street"), f"?region={COMMUNITY_B}")
    assert {b["id"] for b in kinds(street, "building")} == {mapped.buildings["c"].pk}


@pytest.mark.parametrize(
    ("persona", "region"),
    [
        ("grid_a", GRID_B),
        ("grid_b", GRID_A),
        ("head_b", GRID_A),
        ("head_a", COMMUNITY_B),
        ("outsider", GRID_C),
        ("grid_a", "x1"),
    ],
)
def test_other_regions_are_404(mapped: Registry, persona: str, region: str) -> None:
    client = client_for(mapped, persona)
    for name in ("registry:map", "registry:map_data"):
        assert client.get(reverse(name) + f"?region={region}").status_code == 404, (name, persona, region)


def test_siblings_and_strangers_see_nothing_of_each_other(mapped: Registry) -> None:
    assert {b["id"] for b in kinds(geojson(client_for(mapped, "head_b")), "building")} == {
        mapped.buildings["c"].pk
    }
    assert not kinds(geojson(client_for(mapped, "outsider")), "building")
    for persona in ("resident", "nobody", "auditor"):
        assert client_for(mapped, persona).get(reverse("registry:map_data")).status_code == 403
