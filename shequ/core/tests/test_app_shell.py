"""The app shell without a browser: the installable app's files (the same for everyone, no personal
data), the service worker's list of offline pages, the 我的 page, and what the manifests give each
role (tabs and tiles are counted and checked per role in shequ/grid/tests/test_pages_staff.py and
in the browser in test_shell_browser.py)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core.components import NavEntry, Tile, components, offline_urls, tabs_for, tiles_for

pytestmark = pytest.mark.django_db


def test_the_manifest_names_the_app_in_chinese_with_its_icons(client: Client) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["short_name"] == "社区" and data["display"] == "standalone" and data["lang"] == "zh-hans"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes and any(i.get("purpose") == "maskable" for i in data["icons"])
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon


def test_the_service_worker_is_at_the_root_never_cached_and_knows_the_offline_pages(
    client: Client, world: World
) -> None:
    for user in (None, world["resident"]):
        if user is not None:
            client.force_login(user)
        response = client.get("/sw.js")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
        # Never kept by the HTTP cache (signed-in answers are all no-store, core/middleware.py).
        assert response["Cache-Control"] in {"no-cache", "no-store"}
        body = response.content.decode()
        config = json.loads(body.split("const CONFIG = ", 1)[1].split(";\n", 1)[0])
        assert config["pages"] == sorted([reverse("grid:new"), reverse("grid:report")]) == offline_urls()
        assert config["offline"] == "/offline/" and "/static/core/shequ.css" in " ".join(config["shell"])
        assert "resident" not in body and "曾" not in body  # nothing about the user
    # Each shell file it caches at install exists (a missing one would make the install fail).
    for path in config["shell"]:
        assert Client().get(path).status_code == 200, path


def test_the_offline_page_opens_for_anyone(client: Client, world: World) -> None:
    assert "没有网络" in client.get("/offline/").content.decode()
    client.force_login(world["resident"])
    page = client.get("/offline/").content.decode()
    assert "报事已保存在这台手机上" in page and 'class="tabbar"' in page


def test_me_lists_the_role_s_pages_and_settings(client: Client, world: World) -> None:
    client.force_login(world["grid_a"])
    page = client.get("/me/").content.decode()
    for url in (reverse("grid:queue"), reverse("registry:my_grid"), reverse("core:security")):
        assert f'href="{url}"' in page, url
    assert "/admin/audit/" not in page and "data-signout" in page and "长者模式" in page


def test_tabs_and_tiles_come_only_from_pages_the_user_may_open(world: World) -> None:
    """Every tab and tile is a manifest entry the user's roles or permissions allow (no page of
    another role leaks into a home), and every manifest tile names an icon of the sprite."""
    from django.conf import settings

    sprite = (settings.BASE_DIR / "shequ/core/static/core/icons.svg").read_text()
    for comp in components():
        items: list[NavEntry | Tile] = [*comp.nav, *comp.tiles]
        for item in items:
            icon = item.icon or "dot"
            assert f'id="i-{icon}"' in sprite, (comp.name, item.label, icon)
    for persona in ("resident", "grid_a", "dept", "auditor", "nobody"):
        allowed = {
            reverse(e.url_name)
            for comp in components()
            for e in comp.nav
            if isinstance(e, NavEntry) and e.allows(world[persona], _roles(world, persona))
        }
        for tab in tabs_for(world[persona])[1:-2]:
            assert tab["url"] in allowed, (persona, tab)
        tiles = [t.url.split("?")[0] for t in tiles_for(world[persona])]
        assert "/admin/audit/" not in tiles or persona == "auditor", persona
    assert [t.url for t in tiles_for(world["nobody"])] == [reverse("core:inbox")]


def _roles(world: World, persona: str) -> set[str]:
    from shequ.core.permissions import roles_of

    return set(roles_of(world[persona]))


def test_a_tile_without_its_page_is_left_out() -> None:
    """An app may name a page another app adds later: no link to a 404 on anyone's home."""
    from shequ.core.components import _url

    assert _url("nowhere:map") is None
    assert Tile("x", "nowhere:map", "map").url_name == "nowhere:map"
