"""Accessibility fixes of issue 9 in a real browser: a refused form puts focus on its error summary and
one Tab and Enter reach the field; the focus ring stands out at >= 3:1 on the page and on the red
top bar; at 200 % zoom (a 390 px phone is 195 CSS px wide) no page scrolls sideways, in the normal
and the elderly mode; each table's scroll region has a name of its own (axe: landmark-unique)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shequ.browser import axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD, World
from shequ.grid.tests.test_stats_browser import tickets

__all__ = ["tickets"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_model"),
]

ZOOM_200 = {"width": 195, "height": 422}  # a 390×844 phone at 200 %


def sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    page.wait_for_url("**/")


def active(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement; return {tag: e.tagName, id: e.id,
            summary: e.hasAttribute('data-error-summary'), href: e.getAttribute('href') || '',
            text: e.innerText || ''}; }"""
        )
    )


def test_a_refused_report_focuses_the_error_summary_and_one_tab_reaches_the_field(
    phone_page: Any, world: World
) -> None:
    page = phone_page
    sign_in(page, "resident")
    page.goto("/grid/report/")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")  # nothing typed
    focused = active(page)
    assert focused["summary"], focused
    assert "尚未提交" in focused["text"] and "遇到了什么问题" in focused["text"]
    page.keyboard.press("Tab")
    link = active(page)
    assert link["tag"] == "A" and link["href"] == "#id_description", link
    page.keyboard.press("Enter")
    assert active(page)["id"] == "id_description"
    described = page.get_attribute("#id_description", "aria-describedby") or ""
    assert "id_description_error" in described.split()
    assert page.locator("#id_description_error").inner_text().strip()
    screenshot(page, "a11y-refused-report")
    assert axe_violations(page) == []


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _colours(css: str) -> list[tuple[int, ...]]:
    return [tuple(int(x) for x in m) for m in re.findall(r"rgba?\((\d+), (\d+), (\d+)", css)]


def _ring(page: Any) -> dict[str, Any]:
    """The focused element's two rings and the colour behind it (the nearest opaque background)."""
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
            let p = e.parentElement, bg = 'rgb(255, 255, 255)';
            for (; p; p = p.parentElement) { const c = getComputedStyle(p).backgroundColor;
              if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; } }
            return {outline: s.outlineColor, width: s.outlineWidth, style: s.outlineStyle,
                    shadow: s.boxShadow, behind: bg, cls: e.className}; }"""
        )
    )


def _tab_to(page: Any, selector: str) -> None:
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => document.activeElement.matches(sel)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("elderly", [False, True])
def test_the_focus_ring_stands_out_on_the_page_and_on_the_red_bar(
    phone_page: Any, world: World, elderly: bool
) -> None:
    page = phone_page
    sign_in(page, "resident")
    if elderly:
        toggle_elderly(page)
    page.goto("/grid/report/")
    for selector in (".topbar button, .topbar a", "main a"):
        if selector == "main a":  # past a dozen tabs and fields: focus it directly, still by keyboard
            page.keyboard.press("Tab")
            page.focus("main a")
        else:
            _tab_to(page, selector)
        ring = _ring(page)
        assert ring["style"] == "solid" and float(ring["width"].rstrip("px")) >= 2, ring
        outline, shadow, behind = (
            _colours(ring["outline"])[0],
            _colours(ring["shadow"])[0],
            _colours(ring["behind"])[0],
        )
        assert contrast(outline, shadow) >= 9, ring  # WCAG technique C40: two rings far apart
        assert max(contrast(outline, behind), contrast(shadow, behind)) >= 3, ring
    # The ring of before this issue (#f2a900) on the light page: what the test is there to refuse.
    assert contrast((0xF2, 0xA9, 0x00), (0xF6, 0xF7, 0xF9)) < 3


def _no_sideways_scroll(page: Any, name: str) -> None:
    sizes = page.evaluate(
        """() => { const s = document.scrollingElement; const w = s.clientWidth;
        return {scroll: s.scrollWidth, client: w, wide: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap'))
          .map((e) => e.tagName + '.' + e.className).slice(0, 5)}; }"""
    )
    assert sizes["scroll"] <= sizes["client"], (name, sizes)


@pytest.mark.parametrize("username", ["resident", "grid_a", "head_a"])
def test_at_200_percent_zoom_no_page_scrolls_sideways_in_either_mode(
    browser: Any, live_server: Any, world: World, username: str
) -> None:
    context = browser.new_context(
        viewport=ZOOM_200, device_scale_factor=2, locale="zh-CN", base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in(page, username)
        paths = {"resident": ["/", "/grid/report/", "/grid/mine/"], "grid_a": ["/", "/grid/"]}.get(
            username, ["/", "/registry/ledgers/"]
        )
        for mode in ("normal", "elderly"):
            if mode == "elderly":
                page.goto("/")
                toggle_elderly(page)
            for path in paths:
                page.goto(path)
                _no_sideways_scroll(page, f"{username} {mode} {path}")
            screenshot(page, f"a11y-zoom200-{username}-{mode}")
    finally:
        context.close()


def test_table_regions_have_names_of_their_own(phone_page: Any, world: World, tickets: None) -> None:
    page = phone_page
    sign_in(page, "head_a")
    page.goto("/grid/stats/")
    names = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap[role=region]')].map((e) =>
            (e.getAttribute('aria-labelledby') || '').split(' ').map((id) => {
              const r = document.getElementById(id);
              return r === e ? e.getAttribute('aria-label') : r.textContent.trim(); }).join(' '))"""
    )
    assert names and all(name.endswith("表格") for name in names), names
    moderate = axe_violations(page, impacts=("moderate", "serious", "critical"))
    assert [v for v in moderate if v["id"] == "landmark-unique"] == []
