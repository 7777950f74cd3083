"""Other apps' layers on the grid map (``Component.map_layers``): the IoT devices and open alerts,
toggleable, listed on the page, and region-scoped like the tickets (grid imports no IoT page)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core.tests.shapes import IN_GRID_A, IN_GRID_B, IN_GRID_C, load_test_shapes
from shequ.grid.tests.conftest import GRID_A, GRID_B
from shequ.iot import services as iot
from shequ.iot.ingest import Pipeline
from shequ.iot.models import Alert, Device, DeviceKind, RuleKind, Severity
from shequ.iot.tests.conftest import message

pytestmark = pytest.mark.django_db
GRID_C = "430104002003001"


@pytest.fixture
def sensed(world: World) -> dict[str, Device]:
    load_test_shapes()
    devices = {}
    for key, grid, (lat, lng) in (
        ("a", GRID_A, IN_GRID_A),
        ("b", GRID_B, IN_GRID_B),
        ("c", GRID_C, IN_GRID_C),
    ):
        devices[key], _token = iot.device_register(
            actor=None,
            region=world.regions[grid],
            code=f"smoke-{key}",
            name=f"{key}网格烟感",
            kind=DeviceKind.SMOKE,
            vendor="海湾",
            serial=f"SN-{key}",
            latitude=f"{lat:.6f}",
            longitude=f"{lng:.6f}",
        )
    devices["quiet"], _token = iot.device_register(
        actor=None,
        region=world.regions[GRID_A],
        code="env-a",
        name="a网格环境监测",
        kind=DeviceKind.ENVIRONMENT,
        vendor="海湾",
        serial="SN-env",
        latitude=f"{IN_GRID_A[0]:.6f}",
        longitude=f"{IN_GRID_A[1] + 0.001:.6f}",
    )
    for community in ("430104002001", "430104002003"):
        iot.rule_create(
            actor=None,
            region=world.regions[community],
            name="烟感报警",
            kind=RuleKind.EVENT,
            device_kind=DeviceKind.SMOKE,
            params={"types": ["alarm"]},
            severity=Severity.CRITICAL,
        )
    Pipeline().process([message(devices[k], "event", f"x-{k}", type="alarm") for k in ("a", "b", "c")])
    assert Alert.objects.count() == 3
    return devices


def login(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def layer(client: Client, key: str, region: str = "") -> dict[int, dict[str, Any]]:
    query = {"layer": key, **({"region": region} if region else {})}
    response = client.get(reverse("grid:map_data"), query)
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    return {f["properties"]["id"]: f["properties"] for f in json.loads(response.content)["features"]}


def test_a_grid_worker_sees_their_grids_devices_and_alerts_not_a_siblings(
    world: World, sensed: dict[str, Device]
) -> None:
    client = login(world, "grid_a")
    devices = layer(client, "iot.devices")
    assert set(devices) == {sensed["a"].pk, sensed["quiet"].pk}
    assert devices[sensed["a"].pk]["state"] == "alert" and devices[sensed["a"].pk]["kind"] == "device"
    assert devices[sensed["quiet"].pk]["state_label"] == "离线"
    alerts = layer(client, "iot.alerts")
    mine = Alert.objects.get(device=sensed["a"])
    assert set(alerts) == {mine.pk}
    assert alerts[mine.pk]["url"] == reverse("iot:alert", args=[mine.pk])
    assert alerts[mine.pk]["state"] == "critical" and "紧急" in alerts[mine.pk]["state_label"]
    # Grid B's worker sees grid B's only.
    assert set(layer(login(world, "grid_b"), "iot.devices")) == {sensed["b"].pk}
    # The page: toggles, legends and the marks listed (the map's accessible version).
    page = client.get(reverse("grid:map")).content.decode()
    assert 'data-map-layer="iot.devices"' in page and 'data-map-layer="iot.alerts"' in page
    assert "a网格烟感" in page and "b网格烟感" not in page and "c网格烟感" not in page
    config = json.loads(page.split('id="map-config" type="application/json">')[1].split("</script>")[0])
    assert {s.get("layer") for s in config["sources"]} >= {"iot.devices", "iot.alerts"}


def test_a_layer_of_another_area_or_an_unknown_layer_is_404(world: World, sensed: dict[str, Device]) -> None:
    client = login(world, "grid_a")
    for query in ({"layer": "iot.devices", "region": GRID_B}, {"layer": "iot.alerts", "region": GRID_C}):
        assert client.get(reverse("grid:map_data"), query).status_code == 404
    assert client.get(reverse("grid:map_data"), {"layer": "iot.nothing"}).status_code == 404
    # The community head sees both grids' devices, the sibling community's head only theirs.
    assert set(layer(login(world, "head_a"), "iot.devices")) == {
        sensed["a"].pk,
        sensed["b"].pk,
        sensed["quiet"].pk,
    }
    assert set(layer(login(world, "head_b"), "iot.alerts")) == {Alert.objects.get(device=sensed["c"]).pk}
