"""Bytes a phone uploads for one 12-megapixel photo (4000×3000 JPEG), with the photo input's client
resizing (core/photos.js: longest edge 1600 px, JPEG 0.85) against the baseline measured in the
same run: the same form with JavaScript off, which posts the original file as the plain input does.

Debian's Chromium (Playwright) with a touch phone's viewport; the page is the real widget
(``grid.forms.photos_input()`` rendered by Django, its static files served from the tree), the form
post is caught before the network and its body length counted (multipart framing included). With
JavaScript the CPU is slowed ×4 (``Emulation.setCPUThrottlingRate``, the issue's phone profile) to
time the preparation on the phone, in the page, from the file's arrival (the input's change event)
to its thumbnail (Chromium's throttling slows the page's thread, not its image decoder threads,
so a real cheap phone may take longer). Upload seconds are the body at 50 kB/s (the issue's throttled
profile). "Stored" is what the server keeps after its own re-encoding (``_clean_photo``).

Two synthetic photos, since no camera photo ships with the repository: ``detailed`` (noise at eight
scales, like foliage or a brick wall: ~5 MB at JPEG 92) and ``smooth`` (a gradient with sensor
grain, like a wall or the sky: ~3.4 MB). Real photos fall between the two.

``.venv/bin/python bench/bench_photo_upload.py [rounds]`` (SHEQU_CHROMIUM=/usr/bin/chromium)
"""

from __future__ import annotations

import io
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")

import django

django.setup()

from django.utils import translation  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from shequ.browser import CHROMIUM_ARGS, PHONE, chromium_path  # noqa: E402
from shequ.grid.forms import photos_input  # noqa: E402
from shequ.grid.services._common import _clean_photo  # noqa: E402

ORIGIN = "http://bench.test"
STATIC = Path(__file__).resolve().parent.parent / "shequ" / "core" / "static" / "core"
UPLOAD_BYTES_PER_S = 50 * 1024
PREPARE_CLOCK = """() => {
  const input = document.querySelector('#photos');
  input.addEventListener('change', () => { window.benchStart = performance.now(); });
  new MutationObserver(() => {
    if (!window.benchDone && document.querySelector('.photo-grid img')) {
      window.benchDone = performance.now();
    }
  }).observe(document.body, {subtree: true, childList: true});
}"""


def detailed(size: tuple[int, int] = (4000, 3000)) -> bytes:
    def octaves() -> Image.Image:
        acc: Image.Image | None = None
        total = 0.0
        for shift, weight in [
            (7, 1.0),
            (6, 0.8),
            (5, 0.6),
            (4, 0.5),
            (3, 0.4),
            (2, 0.3),
            (1, 0.25),
            (0, 0.1),
        ]:
            layer = Image.effect_noise((max(2, size[0] >> shift), max(2, size[1] >> shift)), 100)
            layer = layer.resize(size, Image.Resampling.BICUBIC)
            acc = layer if acc is None else Image.blend(acc, layer, weight / (total + weight))
            total += weight
        assert acc is not None
        return acc

    image = ImageOps.autocontrast(Image.merge("RGB", (octaves(), octaves(), octaves())), cutoff=1)
    return jpeg(image)


def smooth(size: tuple[int, int] = (4000, 3000)) -> bytes:
    shade = Image.linear_gradient("L").resize(size)
    grain = Image.effect_noise(size, 60)
    image = Image.merge(
        "RGB", (Image.blend(shade, grain, 0.2), shade, Image.blend(shade.rotate(180), grain, 0.2))
    )
    return jpeg(image)


def jpeg(image: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (28.0, 13.0, 41.0), 3: "E", 4: (112.0, 56.0, 19.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def page_html() -> str:
    with translation.override("zh-hans"):
        widget = photos_input().render("photos", None, attrs={"id": "photos"})
    return (
        '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        f'<form method="post" action="/upload" enctype="multipart/form-data">{widget}'
        '<button type="submit">提交</button></form></body></html>'
    )


def run(
    browser: Any, photos: dict[str, bytes], *, script: bool, rounds: int, cpu: int = 1
) -> dict[str, dict[str, Any]]:
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, java_script_enabled=script, base_url=ORIGIN
    )
    page = context.new_page()
    page.set_default_timeout(120_000)
    html = page_html()
    bodies: list[int] = []

    def serve(route: Any) -> None:
        request = route.request
        path = request.url[len(ORIGIN) :].split("?")[0]
        if request.method == "POST":
            bodies.append(len(request.post_data_buffer or b""))
            route.fulfill(status=200, content_type="text/html", body="<p>ok</p>")
        elif path.startswith("/static/core/"):
            name = path.rsplit("/", 1)[1]
            kind = "text/css" if name.endswith(".css") else "text/javascript"
            route.fulfill(status=200, content_type=kind, body=(STATIC / name).read_bytes())
        else:
            route.fulfill(status=200, content_type="text/html", body=html)

    page.route(f"{ORIGIN}/**", serve)
    if cpu > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    results: dict[str, dict[str, Any]] = {}
    for name, data in photos.items():
        prepare: list[float] = []
        sent: list[int] = []
        chosen = b""
        for _ in range(rounds):
            page.goto("/")
            if script:  # timed in the page, from the file's arrival to its thumbnail
                page.evaluate(PREPARE_CLOCK)
            page.set_input_files(
                "#photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": data}]
            )
            if script:
                page.locator(".photo-grid img").wait_for()
                prepare.append(page.evaluate("() => (window.benchDone - window.benchStart) / 1000"))
                chosen = bytes(
                    page.evaluate(
                        "async () => Array.from(new Uint8Array("
                        "await document.querySelector('#photos').files[0].arrayBuffer()))"
                    )
                )
            else:
                chosen = data
            with page.expect_navigation():
                page.click("button[type=submit]")
            sent.append(bodies[-1])
        with Image.open(io.BytesIO(chosen)) as sent_image:
            pixels = sent_image.size
        results[name] = {
            "body": statistics.median(sent),
            "prepare": statistics.median(prepare) if prepare else 0.0,
            "pixels": pixels,
            "stored": len(_clean_photo(chosen).data),
        }
    context.close()
    return results


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    path = chromium_path()
    if path is None:
        sys.exit("Chromium not found: set SHEQU_CHROMIUM=/usr/bin/chromium")
    photos = {"detailed": detailed(), "smooth": smooth()}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        plain = run(browser, photos, script=False, rounds=rounds)
        fast = run(browser, photos, script=True, rounds=rounds)
        resized = run(browser, photos, script=True, rounds=rounds, cpu=4)
        browser.close()
    print(f"one 12-megapixel photo, median of {rounds} rounds; upload time at 50 kB/s")
    print(
        f"{'photo':9} {'original':>10} {'plain post':>11} {'resized post':>13} {'ratio':>6} "
        f"{'prep ×4 CPU':>11} {'upload plain':>12} {'upload resized':>14} "
        f"{'stored plain':>12} {'stored resized':>14}"
    )
    for name, data in photos.items():
        p, r = plain[name], resized[name]
        print(
            f"{name:9} {len(data):>10,} {p['body']:>11,.0f} {r['body']:>13,.0f} "
            f"{p['body'] / r['body']:>5.1f}× "
            f"{r['prepare']:>10.2f}s {p['body'] / UPLOAD_BYTES_PER_S:>11.1f}s "
            f"{r['body'] / UPLOAD_BYTES_PER_S:>13.1f}s {p['stored']:>12,} {r['stored']:>14,}"
        )
        print(
            f"          sent pixels: plain {p['pixels'][0]}×{p['pixels'][1]},"
            f" resized {r['pixels'][0]}×{r['pixels'][1]};"
            f" prep at full CPU {fast[name]['prepare']:.2f}s"
        )


if __name__ == "__main__":
    main()
