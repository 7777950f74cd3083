"""The app shell in a real browser, for each role: the phone's bottom tabs (首页, the role's own two,
消息, 我的) with icons and the unread count, the home's service grid, 我的 with the full menu, a
desktop layout that uses the screen's width, and the elderly mode at 200 % zoom with every tab still
reachable. No page scrolls sideways; axe-core finds no serious or critical violation.
Screenshots: var/screenshots/shell-*.png (each role's home, normal and elderly)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from shequ.browser import PHONE, axe_violations, screenshot
from shequ.conftest import World
from shequ.core import accounts, messaging
from shequ.core.components import nav_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = {
    "resident": ["首页", "报事", "进度", "消息", "我的"],
    "grid_a": ["首页", "任务", "走访", "消息", "我的"],
    "worker_a": ["首页", "任务", "走访", "消息", "我的"],
    "street": ["首页", "任务", "人员", "消息", "我的"],
    "dept": ["首页", "工单", "人员", "消息", "我的"],
    "auditor": ["首页", "审计", "报表", "消息", "我的"],  # auditors read the reports too
}


@pytest.fixture
def signed_in(browser: Any, live_server: Any) -> Iterator[Any]:
    """open(user, viewport, scale) → a page of a new context with the user's session."""
    contexts: list[Any] = []

    def open_as(user: Any, viewport: dict[str, int] = PHONE, scale: float = 1) -> Any:
        client = Client()
        client.force_login(user)
        context = browser.new_context(
            viewport=viewport, device_scale_factor=scale, locale="zh-CN", base_url=live_server.url
        )
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30000)
        return page

    yield open_as
    for context in contexts:
        context.close()


def fits(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.clientWidth")
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > w + 0.5)
            .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
            .slice(0, 6)""",
        width,
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, (page.url, wide)


def tab_labels(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("nav.tabbar .tab-label").all_inner_texts()]


def all_tabs_reachable(page: Any) -> None:
    """Every tab is on the screen's width, big enough to tap, and not covered by another."""
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('nav.tabbar a')].map((a) => {
            a.scrollIntoView();
            const r = a.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return {left: r.left, right: r.right, height: r.height, width: r.width, mine: a.contains(hit)};
        })"""
    )
    width = page.evaluate("() => document.documentElement.clientWidth")
    for box in boxes:
        assert box["left"] >= 0 and box["right"] <= width + 0.5, box
        assert box["height"] >= 44 and box["width"] >= 44 and box["mine"], box


def test_each_role_has_its_tabs_and_its_services(world: World, signed_in: Any) -> None:
    messaging.notify(
        sender=None, recipients=[world["resident"]], subject="停水通知", body="明天 9:00–12:00 停水。"
    )
    for persona, labels in ROLES.items():
        page = signed_in(world[persona])
        page.goto("/")
        assert tab_labels(page) == labels, persona
        assert page.locator("nav.tabbar a[aria-current=page] .tab-label").inner_text() == "首页"
        assert page.locator("ul.tiles a.tile").count() >= 2, persona
        all_tabs_reachable(page)
        fits(page)
        screenshot(page, f"shell-home-{persona}")
        assert axe_violations(page) == [], persona
    # The resident's unread notice is counted on the 消息 tab, with words for screen readers.
    page = signed_in(world["resident"])
    page.goto("/")
    badge = page.locator("nav.tabbar a[href='/inbox/'] .badge")
    assert badge.inner_text().replace("条未读", "").strip() == "1"


def test_me_lists_every_page_of_the_role(world: World, signed_in: Any) -> None:
    for persona in ("street", "worker_a", "secadmin"):
        page = signed_in(world[persona])
        page.goto("/me/")
        links = set(
            page.locator("main .menu-list a").evaluate_all("(as) => as.map((a) => a.getAttribute('href'))")
        )
        assert {entry["url"] for entry in nav_for(world[persona])} <= links, persona
        assert page.locator("main form[data-signout] button").count() == 1
        fits(page)
        screenshot(page, f"shell-me-{persona}")
        assert axe_violations(page) == [], persona


def test_the_desktop_uses_the_width(world: World, signed_in: Any) -> None:
    page = signed_in(world["auditor"], viewport={"width": 1440, "height": 900})
    page.goto("/admin/audit/")
    assert page.locator("nav.tabbar").is_hidden() and page.locator("nav.sidenav").is_visible()
    main = page.locator("main").bounding_box()
    assert main is not None and main["width"] > 1100  # was a 960 px column
    assert page.locator("nav.sidenav a[aria-current=page]").count() == 1
    screenshot(page, "shell-desktop-audit")
    assert axe_violations(page) == []


@pytest.mark.parametrize("elderly", [False, True], ids=["normal", "elderly"])
def test_200_percent_zoom_keeps_every_tab(world: World, signed_in: Any, elderly: bool) -> None:
    """200 % zoom on a 390 px phone is a 195 CSS px wide page (device scale 2)."""
    for persona in ("resident", "grid_a"):
        accounts.user_set_elderly_mode(user=world[persona], enabled=elderly)
        page = signed_in(world[persona], viewport={"width": 195, "height": 422}, scale=2)
        for path in ("/", "/me/", "/inbox/"):
            page.goto(path)
            assert len(tab_labels(page)) == len(ROLES[persona]), (persona, path)
            all_tabs_reachable(page)
            fits(page)
            assert axe_violations(page) == [], (persona, path)
        page.goto("/")
        screenshot(page, f"shell-zoom200-{'elderly' if elderly else 'normal'}-{persona}")


def test_the_platform_is_installable(world: World, signed_in: Any) -> None:
    """Chromium's own check: a manifest with name and icons, and a service worker that answers."""
    page = signed_in(world["resident"])
    page.goto("/")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and '"display": "standalone"' in manifest["data"]
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # A test browser's context is incognito, where nothing installs; every other check must pass.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
