"""The photo input on a phone (390×844, zh-CN; core/photos.js): photos chosen through the button
show as thumbnails with remove buttons and a count, are shrunk on the phone to the longest edge
PHOTO_EDGE before the ordinary form post, and the server stores exactly those that were kept.
Axe-clean with thumbnails in the normal and the elderly mode. Screenshots:
var/screenshots/grid-photos-*.png."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, cast

import pytest
from PIL import Image

from shequ.browser import PHONE, SCREENSHOTS, axe_violations, screenshot, toggle_elderly
from shequ.conftest import World
from shequ.core.forms import PHOTO_EDGE
from shequ.grid import services
from shequ.grid.models import Attachment, Source, Ticket
from shequ.grid.tests.conftest import GRID_A, png
from shequ.grid.tests.test_ticket_life_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_model"),
]


def camera_jpeg(name: str, colour: tuple[int, int, int]) -> dict[str, Any]:
    """A 12-megapixel phone photo (4000×3000) with a GPS position in its EXIF."""
    shade = Image.linear_gradient("L").resize((4000, 3000))
    grain = Image.effect_noise(shade.size, 60)  # the sensor's grain: ~3 MB like a phone's JPEG
    red = Image.blend(shade.point(lambda v: (v + colour[0]) % 256), grain, 0.2)
    blue = Image.blend(Image.new("L", shade.size, colour[2]), grain, 0.2)
    image = Image.merge("RGB", (red, shade, blue))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (28.0, 13.0, 41.0), 3: "E", 4: (112.0, 56.0, 19.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return {"name": name, "mimeType": "image/jpeg", "buffer": out.getvalue()}


def thumbnails(page: Any) -> Any:
    return page.locator(".photo-grid img")


def on_screen(page: Any, name: str) -> None:
    """The phone's screen around the thumbnails (the full-page shot draws the fixed tab bar mid-page)."""
    page.evaluate("() => document.querySelector('.photo-picker').closest('.field').scrollIntoView()")
    page.evaluate("() => window.scrollBy(0, -24)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-screen.png"))


def fits_the_phone(page: Any) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def choose(page: Any, files: list[dict[str, Any]]) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="拍照或选择照片").click()
    assert chooser.value.is_multiple()
    before = thumbnails(page).count()
    chooser.value.set_files(files)
    thumbnails(page).nth(before + len(files) - 1).wait_for()


@pytest.fixture
def touch_phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """A phone with a touch screen (pointer: coarse): the camera button is offered."""
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", base_url=live_server.url, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_two_big_photos_one_removed_one_sent_shrunk(touch_phone: Any, world: World) -> None:
    page = touch_phone
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    originals = [camera_jpeg("IMG_0001.jpg", (0, 0, 40)), camera_jpeg("IMG_0002.jpg", (90, 0, 200))]
    assert all(len(f["buffer"]) > 2_000_000 for f in originals)
    sign_in(page, "resident")
    page.goto("/grid/report/")

    toggle_elderly(page)  # the switch reloads the page
    assert page.evaluate("() => document.documentElement.classList.contains('elderly')")
    choose(page, originals)
    page.locator(".photo-grid").scroll_into_view_if_needed()
    screenshot(page, "grid-photos-report-elderly")
    on_screen(page, "grid-photos-report-elderly")
    fits_the_phone(page)
    assert axe_violations(page, ("minor", "moderate", "serious", "critical")) == []
    toggle_elderly(page)
    assert not page.evaluate("() => document.documentElement.classList.contains('elderly')")

    page.fill("#id_description", "楼道里的灯坏了，晚上很黑。")
    page.fill("#id_address", "3栋2单元")
    # The camera button opens the camera directly (capture), one photo at a time.
    camera = page.locator(".photo-picker input[capture=environment]")
    assert camera.count() == 1 and camera.get_attribute("name") is None  # never posted itself
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="直接拍照").click()
    assert not chooser.value.is_multiple()
    chooser.value.set_files([originals[0]])
    thumbnails(page).first.wait_for()
    choose(page, originals[1:])
    assert thumbnails(page).count() == 2
    assert page.locator(".photo-count").inner_text() == "已选 2/9 张"
    assert thumbnails(page).nth(0).get_attribute("alt") == "第 1 张照片"
    # The form's own input now carries the shrunk photos: JPEGs of a few hundred kB.
    sent = page.evaluate("() => [...document.querySelector('#photos').files].map(f => [f.type, f.size])")
    assert [t for t, _ in sent] == ["image/jpeg", "image/jpeg"], sent
    assert all(size < len(f["buffer"]) / 3 for (_, size), f in zip(sent, originals, strict=True)), sent
    page.locator(".photo-grid").scroll_into_view_if_needed()
    screenshot(page, "grid-photos-report-two")
    on_screen(page, "grid-photos-report-two")
    fits_the_phone(page)
    assert axe_violations(page, ("minor", "moderate", "serious", "critical")) == []

    page.get_by_role("button", name="删除第 1 张照片").click()
    assert thumbnails(page).count() == 1
    assert page.locator(".photo-count").inner_text() == "已选 1/9 张"
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "删除第 1 张照片"  # the keyboard stays in the grid, on the photo that moved up
    assert page.evaluate("() => document.querySelector('#photos').files.length") == 1
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    ticket = Ticket.objects.get()
    assert page.url.endswith(f"/grid/report/{ticket.pk}/done/")
    stored = Attachment.objects.get(ticket=ticket)  # exactly the one photo that was kept
    with Image.open(stored.file) as photo:
        assert max(photo.size) <= PHOTO_EDGE and photo.size == (1600, 1200), photo.size
        _, _, blue = cast(tuple[int, int, int], photo.getpixel((800, 600)))
        assert blue > 150  # the second photo (the bluer one) was kept
        assert not photo.getexif()
    assert stored.size < 600_000, stored.size
    assert problems == []


def test_the_ticket_page_takes_photos_the_same_way_and_says_the_limit(phone_page: Any, world: World) -> None:
    """The add-photos step of a ticket uses the same input: ten at once keep nine and say so."""
    ticket = services.ticket_submit(
        actor=world["resident"],
        source=Source.RESIDENT,
        region=world.regions[GRID_A],
        title="路灯不亮",
        description="3栋旁边的路灯坏了。",
    )
    page = phone_page
    sign_in(page, "resident")
    page.goto(f"/grid/tickets/{ticket.pk}/")
    page.locator("#step-add_photos summary").click()
    step = page.locator("#step-add_photos")
    small = [
        {"name": f"{i}.png", "mimeType": "image/png", "buffer": png("green", (64, 48))} for i in range(10)
    ]
    with page.expect_file_chooser() as chooser:
        step.get_by_role("button", name="拍照或选择照片").click()
    chooser.value.set_files(small)
    step.locator(".photo-grid img").nth(8).wait_for()
    assert step.locator(".photo-grid img").count() == 9
    assert step.locator(".photo-count").inner_text() == "已选 9/9 张"
    assert "最多 9 张照片：您选的照片中有 1 张没有加入。" in step.locator(".photo-message").inner_text()
    assert step.get_by_role("button", name="拍照或选择照片").is_disabled()
    step.locator(".photo-grid").scroll_into_view_if_needed()
    screenshot(page, "grid-photos-ticket-step")
    fits_the_phone(page)
    assert axe_violations(page) == []
    with page.expect_navigation():
        step.locator("button[type=submit]").click()
    assert Attachment.objects.filter(ticket=ticket).count() == 9
    # Small photos are sent as they are (no re-encoding on the phone); the server re-encodes them.
    assert all(a.content_type == "image/png" for a in Attachment.objects.filter(ticket=ticket))
    assert page.locator(".timeline .photos.small img").count() == 9  # thumbnails on the timeline too


def test_without_javascript_the_plain_input_sends_the_photos(
    browser: Any, live_server: Any, world: World
) -> None:
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", base_url=live_server.url, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in(page, "resident")
    page.goto("/grid/report/")
    assert page.locator("#photos").is_visible() and page.locator(".photo-tools").count() == 0
    page.fill("#id_description", "楼道里的灯坏了，晚上很黑。")
    page.fill("#id_address", "3栋2单元")
    page.set_input_files("#photos", files=[camera_jpeg("IMG_0003.jpg", (0, 0, 40))])
    with page.expect_navigation():
        page.click("main form.report-form button[type=submit]")
    stored = Attachment.objects.get()
    with Image.open(stored.file) as photo:  # sent whole; the server keeps the pixels, not the GPS
        assert photo.size == (4000, 3000) and not photo.getexif()
    context.close()
