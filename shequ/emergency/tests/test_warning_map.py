"""Warnings in force on the grid worker's map (``emergency:map_data``, drawn by core/maps.js on
``registry:map``): the areas of the warnings covering the region, coloured by level, scoped."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.core import geo
from shequ.core.region_shapes import shape_set
from shequ.emergency.models import Level, WarningType
from shequ.emergency.services import warnings as services
from shequ.emergency.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_C, Registry

pytestmark = pytest.mark.django_db

ZONE = {"type": "Polygon", "coordinates": [[[112.9, 28.2], [112.91, 28.2], [112.91, 28.21], [112.9, 28.2]]]}
COVERED = {"emergency:map_data"}  # test_scope_of_the_warning_map
PERSONAS = ["grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "resident", "outsider", "nobody"]


def issue(town: Registry, actor: str, area: str, **extra: Any) -> Any:
    warning = services.warning_draft(
        actor=town.world[actor],
        kind=WarningType.RAINSTORM,
        level=Level.ORANGE,
        title=f"暴雨{area}",
        text="注意防范。",
        area_codes=[area],
        **extra,
    )
    return services.warning_issue(actor=town.world[actor], warning=warning)


def shapes() -> None:
    square = lambda x, y: geo.quad([(x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01)])  # noqa: E731
    shape_set(
        geometries={
            COMMUNITY_A: square(112.9, 28.2),
            GRID_A: square(112.9, 28.2),
            COMMUNITY_B: square(113.0, 28.2),
        }
    )


def features(client: Client, **query: str) -> list[dict[str, Any]]:
    response = client.get(reverse("emergency:map_data"), query)
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    return list(response.json()["features"])


def test_the_map_shows_the_warnings_covering_the_area_in_colour(town: Registry) -> None:
    shapes()
    mine = issue(town, "head_a", COMMUNITY_A, area_polygon=ZONE)
    issue(town, "head_b", COMMUNITY_B)
    client = Client()
    client.force_login(town.world["grid_a"])
    found = features(client, region=GRID_A)
    # The community's warning covers grid A: its outline where the map looks, and its zone.
    assert {f["properties"]["kind"] for f in found} == {"warning"}
    assert {f["properties"].get("code") for f in found} == {GRID_A, None}
    assert all(f["properties"]["color"] == "orange" and "橙色" in f["properties"]["label"] for f in found)
    assert any(f["properties"].get("zone") for f in found)
    assert all(f["properties"]["url"] == reverse("emergency:warning", args=[mine.pk]) for f in found)
    # The sibling community's warning is not on this map.
    assert not any("430104002003" in f["properties"]["label"] for f in found)
    # A region outside the viewer's scope is a 404.
    assert client.get(reverse("emergency:map_data"), {"region": GRID_C}).status_code == 404


@pytest.mark.parametrize("persona", PERSONAS)
def test_scope_of_the_warning_map(town: Registry, persona: str) -> None:
    shapes()
    issue(town, "head_a", COMMUNITY_A)
    client = Client()
    if persona != "nobody":
        client.force_login(town.world[persona])
    response = client.get(reverse("emergency:map_data"))
    if persona == "nobody":
        assert response.status_code == 302  # to the sign-in page
        return
    if persona == "resident":  # no emergency.view anywhere
        assert response.status_code == 403
        return
    assert response.status_code == 200
    sees = bool(response.json()["features"])
    assert sees == (persona in {"grid_a", "grid_b", "worker_a", "head_a", "street"})


def test_the_grid_workers_map_draws_the_warnings(town: Registry) -> None:
    client = Client()
    client.force_login(town.world["grid_a"])
    page = client.get(reverse("registry:map"))
    assert page.status_code == 200
    assert reverse("emergency:map_data") in page.content.decode()
    assert "生效中预警的范围" in page.content.decode()  # the legend, linking to the list in words
