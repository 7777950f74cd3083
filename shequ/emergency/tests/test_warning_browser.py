"""A warning in a real browser on a phone (390×844, zh-Hans, no tile server): the community head
drafts a warning with a zone drawn on the map (Leaflet-Geoman), issues it after seeing how many
people it reaches, and a resident without an account opens the public pages from the SMS link.
Every page fits the phone and axe-core finds no serious or critical violation, in the normal and the
elderly mode. Screenshots: var/screenshots/emergency-warning-*.png."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shequ.browser import PHONE, axe_violations, screenshot, toggle_elderly
from shequ.core import geo
from shequ.core.tests.shapes import IN_GRID_A, IN_GRID_B, load_test_shapes
from shequ.emergency.models import Level, Warning, WarningStatus
from shequ.emergency.tests.conftest import GRID_A, GRID_B, Registry
from shequ.registry.models import Building
from shequ.registry.tests.test_browser_registry import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], name
    screenshot(page, f"emergency-warning-{name}")
    assert axe_violations(page) == [], (name, axe_violations(page))


def draw_zone_in_grid_a(page: Any) -> None:
    """Tap the four corners of a square inside grid A's boundary (the southern grid on the map),
    then the first corner again to close it."""
    page.wait_for_selector("#draw-map path.map-region.level-grid")
    page.click("[data-zone-draw]")
    assert "点击" in page.locator("#zone-status").inner_text()
    page.wait_for_timeout(300)  # the map scrolls into view
    boxes = [p.bounding_box() for p in page.locator("#draw-map path.map-region.level-grid").all()]
    south = max(boxes, key=lambda b: b["y"])
    x0, y0, w, h = south["x"], south["y"], south["width"], south["height"]
    corners = [(x0 + w * fx, y0 + h * fy) for fx, fy in [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)]]
    for x, y in [*corners, corners[0]]:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.wait_for_function("() => document.getElementById('id_area_polygon').value.includes('Polygon')")


def test_draft_draw_issue_and_see_it_public_on_a_phone(
    phone_page: Any, browser: Any, live_server: Any, town: Registry, settings: Any
) -> None:
    settings.GRID_MAP_TILES = ""
    load_test_shapes()
    # 张三 and 赵六 live in building a (grid A), 李四 in building b (grid B).
    for key, (lat, lng) in {"a": IN_GRID_A, "b": IN_GRID_B}.items():
        Building.objects.filter(pk=town.buildings[key].pk).update(
            latitude=Decimal(str(lat)), longitude=Decimal(str(lng))
        )
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, "head_a")

    # The draft form: a bad post first (no type, no area), then the real one with a zone.
    page.goto("/emergency/warnings/new/")
    page.wait_for_selector("#draw-map path.map-region")
    check(page, "new")
    page.click("form.warning-form button[type=submit]")
    summary = page.locator(".error-summary")
    assert "请选择预警类型" in summary.inner_text() and "请选择预警覆盖的区域" in summary.inner_text()
    assert Warning.objects.count() == 0
    errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
    page.select_option("#id_kind", "rainstorm")
    page.check(f"input[name=level][value='{Level.RED}']")
    page.fill("#id_title", "暴雨红色预警：一网格低洼处立即转移")
    page.fill(
        "#id_text", "特大暴雨已开始。一网格沿河低洼楼栋住户请立即转移到社区服务中心，老人由网格员上门协助。"
    )
    page.check(f"input[name=area_codes][value='{GRID_A}']")
    page.check(f"input[name=area_codes][value='{GRID_B}']")
    draw_zone_in_grid_a(page)
    assert page.locator("[data-zone-clear]").is_visible()
    assert "范围已画好" in page.locator("#zone-status").inner_text()
    screenshot(page, "emergency-warning-new-drawn")
    page.click("form.warning-form button[type=submit]")
    page.wait_for_url("**/emergency/warnings/*/")
    warning = Warning.objects.get()
    assert warning.status == WarningStatus.DRAFT and warning.area_codes == [GRID_A, GRID_B]
    zone = warning.area_polygon
    assert zone is not None and zone["type"] == "Polygon"
    assert geo.contains(zone, IN_GRID_A[1], IN_GRID_A[0]) and not geo.contains(
        zone, IN_GRID_B[1], IN_GRID_B[0]
    )
    assert "草稿已保存" in page.locator(".flash").inner_text()
    page.wait_for_selector("#area-map path.map-zone")
    check(page, "draft")

    # Issuing: the page says how many it reaches (the zone leaves 李四 out), then it is in force.
    page.click("text=发布预警…")
    page.wait_for_url("**/issue/")
    reach = page.locator(".reach").inner_text()
    check(page, "issue")
    page.click("text=立即发布")
    page.wait_for_url(f"**/emergency/warnings/{warning.pk}/")
    warning.refresh_from_db()
    assert warning.status == WarningStatus.ISSUED and warning.recipients > 0
    assert f"发送给 {warning.recipients} 人" in reach
    assert "预警已发布" in page.locator(".flash").inner_text()
    assert page.locator(f"a[href='/emergency/callouts/new/?warning={warning.pk}']").count() == 1
    page.click("#step-update summary")
    page.wait_for_selector("#area-map path.map-zone")
    check(page, "issued")
    page.goto("/emergency/warnings/")
    assert "红色预警（Ⅰ级）" in page.locator(".warning-list").inner_text()
    check(page, "list")
    toggle_elderly(page)
    check(page, "list-elderly")
    page.goto(f"/emergency/warnings/{warning.pk}/")
    page.wait_for_selector("#area-map path.map-zone")
    check(page, "issued-elderly")

    # A resident opens the SMS link without an account, then the list of warnings in force.
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url)
    public = context.new_page()
    public.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        for mode in ("", "-elderly"):
            public.goto(f"/emergency/warnings/{warning.pk}/")
            banner = public.locator(".warning-banner").inner_text()
            assert "红色预警（Ⅰ级）" in banner and "暴雨洪涝" in banner
            assert public.locator("a[href='tel:119']").count() == 1
            assert "时间线" not in public.content()
            public.wait_for_selector("#area-map path.map-zone")
            check(public, f"public-detail{mode}")
            public.goto("/emergency/public/")
            assert "一网格低洼处立即转移" in public.locator(".public-list").inner_text()
            check(public, f"public{mode}")
            if not mode:
                toggle_elderly(public)
    finally:
        context.close()
    assert errors == []


def test_a_drill_and_a_lifted_warning_on_the_public_pages(
    phone_page: Any, town: Registry, settings: Any
) -> None:
    from shequ.emergency.services import warnings as services

    settings.GRID_MAP_TILES = ""
    head = town.world["head_a"]
    drill = services.warning_draft(
        actor=head,
        kind="fire",
        level=Level.YELLOW,
        title="消防疏散演练",
        text="今天上午10点进行消防疏散演练，听到警报请沿楼梯有序撤离到小区广场。",
        area_codes=[GRID_A],
        is_drill=True,
    )
    services.warning_issue(actor=head, warning=drill)
    lifted = services.warning_draft(
        actor=head,
        kind="heat",
        level=Level.ORANGE,
        title="高温橙色预警",
        text="午后气温将达39℃，请减少外出，老人儿童注意防暑。",
        area_codes=[GRID_A],
        area_polygon={
            "type": "Polygon",
            "coordinates": [[[112.91, 28.11], [112.94, 28.11], [112.94, 28.14], [112.91, 28.11]]],
        },
    )
    services.warning_issue(actor=head, warning=lifted)
    services.warning_lift(actor=head, warning=lifted, reason="气温已回落到35℃以下。")
    page = phone_page
    page.goto("/emergency/public/")
    cards = page.locator(".public-list").inner_text()
    assert "【演练】" in cards and "消防疏散演练" in cards and "高温橙色预警" not in cards
    check(page, "public-drill")
    page.goto(f"/emergency/warnings/{lifted.pk}/")
    assert "已解除" in page.locator(".warning-banner").inner_text()
    assert "气温已回落到35℃以下" in page.locator(".lifted-note").inner_text()
    check(page, "public-lifted")
