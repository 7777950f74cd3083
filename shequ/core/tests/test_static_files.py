"""Static files as the demo and production serve them (fingerprinted, pre-compressed, cached a year,
collected only when their sources changed), what is collected from node_modules, and HTML
compression only for requests our own pages made (BREACH)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import brotli
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.test import Client, override_settings

from shequ.conftest import World
from shequ.core import staticfiles

pytestmark = pytest.mark.django_db

STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]""")
REAL_STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "shequ.core.staticfiles.StaticStorage"}}
YEAR = "max-age=31536000, public, immutable"


def test_every_static_path_in_the_templates_is_found_and_only_used_packages_are_served() -> None:
    """With the manifest storage a path no finder knows is a 500 on the page that links it."""
    paths = {
        match
        for template in Path(settings.BASE_DIR, "shequ").rglob("templates/**/*.html")
        for match in STATIC_TAG.findall(template.read_text(encoding="utf-8"))
    }
    assert any(p.startswith("vendor/") for p in paths)
    missing = sorted(p for p in paths if finders.find(p) is None)
    assert missing == [], f"add them to STATIC_VENDOR_FILES or the app's static folder: {missing}"
    vendor = [path for path, _storage in staticfiles.VendorFinder().list(None)]
    assert "echarts/dist/echarts.min.js" in vendor
    assert len(vendor) < 20  # not node_modules' ~1,800 files
    assert finders.find("vendor/echarts/dist/echarts.js") is None  # in node_modules, not used
    assert Client().get("/static/vendor/echarts/dist/echarts.js").status_code == 404
    assert Client().get("/static/vendor/echarts/dist/echarts.min.js").status_code == 200


def _fetch(url: str, encoding: str = "") -> tuple[Any, bytes]:
    response = Client().get(url, HTTP_ACCEPT_ENCODING=encoding) if encoding else Client().get(url)
    return response, b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_collected_files_are_fingerprinted_compressed_and_cached_a_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything the finders list collects (CSS url()s and source maps resolve), each linked file
    has a fingerprinted name answered with a year's immutable cache and gzip when asked for, and a
    second start with unchanged sources collects nothing."""
    original = staticfiles.StaticStorage.create_compressor

    def gzip_only(self: Any, **kwargs: Any) -> Any:  # brotli on ~4 MB takes seconds: see below
        return original(self, **kwargs, use_brotli=False)

    monkeypatch.setattr(staticfiles.StaticStorage, "create_compressor", gzip_only)
    root = tmp_path / "static"
    with override_settings(STORAGES=REAL_STORAGES, STATIC_ROOT=root, WHITENOISE_USE_FINDERS=True):
        assert staticfiles.collected()
        assert staticfiles.collect_if_stale() is True
        assert staticfiles.collect_if_stale() is False  # unchanged sources: a quick start
        (tmp_path / "static.sources").write_text("another collection\n")
        assert staticfiles.collect_if_stale() is True

        assert Client().get("/sw.js").status_code == 200  # it names static("") and the shell's files
        css_url = Template("{% load static %}{% static 'core/shequ.css' %}").render(Context())
        assert re.fullmatch(r"/static/core/shequ\.[0-9a-f]{12}\.css", css_url), css_url
        source = (Path(settings.BASE_DIR) / "shequ/core/static/core/shequ.css").read_bytes()
        response, body = _fetch(css_url, "gzip, deflate, br")
        assert response.status_code == 200
        assert response["Cache-Control"] == YEAR
        assert response["Content-Encoding"] == "gzip"  # no brotli copy in this collection
        assert gzip.decompress(body) == source
        response, body = _fetch(css_url)
        assert "Content-Encoding" not in response and body == source
        # Plain names still answer (a page cached before a change), briefly cached, uncompressed.
        plain, _ = _fetch("/static/core/shequ.css", "gzip")
        assert plain.status_code == 200 and "immutable" not in plain["Cache-Control"]
        assert "Content-Encoding" not in plain

        charts = Template("{% load static %}{% static 'vendor/echarts/dist/echarts.min.js' %}").render(
            Context()
        )
        response, body = _fetch(charts, "gzip")
        assert response["Cache-Control"] == YEAR and response["Content-Encoding"] == "gzip"
        assert (
            len(body)
            < 400_000
            < 1_000_000
            < Path(str(finders.find("vendor/echarts/dist/echarts.min.js"))).stat().st_size
        )
        # Leaflet's CSS names its images by their fingerprinted names.
        leaflet_css = Template("{% load static %}{% static 'vendor/leaflet/dist/leaflet.css' %}").render(
            Context()
        )
        _, body = _fetch(leaflet_css)
        images = re.findall(rb"url\(['\"]?(images/[^)'\"]+)", body)
        assert images and all(re.search(rb"\.[0-9a-f]{12}\.png$", name) for name in images)


def test_brotli_copies_are_served_to_browsers_that_accept_them(tmp_path: Path) -> None:
    with override_settings(
        STORAGES=REAL_STORAGES,
        STATIC_ROOT=tmp_path / "static",
        WHITENOISE_USE_FINDERS=True,
        STATICFILES_FINDERS=["shequ.core.staticfiles.VendorFinder"],
        STATIC_VENDOR_FILES=["leaflet/dist/leaflet.css", "leaflet/dist/images/*.png"],
    ):
        assert staticfiles.collect_if_stale() is True
        url = Template("{% load static %}{% static 'vendor/leaflet/dist/leaflet.css' %}").render(Context())
        response, body = _fetch(url, "gzip, deflate, br, zstd")
        assert response["Content-Encoding"] == "br" and response["Cache-Control"] == YEAR
        assert b".leaflet-container" in brotli.decompress(body)


def test_tests_and_debug_link_plain_names_without_a_collection() -> None:
    assert not staticfiles.collected()  # the test settings (shequ/conftest.py)
    assert (
        Template("{% load static %}{% static 'core/shequ.css' %}").render(Context())
        == "/static/core/shequ.css"
    )
    with override_settings(STORAGES=REAL_STORAGES, DEBUG=True):
        assert not staticfiles.collected()  # SHEQU_DEBUG=1: straight from the sources
        assert staticfiles.collect_if_stale() is False


def _signed_in(world: World) -> Client:
    client = Client()
    client.force_login(world["resident"])
    return client


@pytest.mark.parametrize(
    ("fetch_site", "compressed"),
    [("same-origin", True), ("none", True), ("cross-site", False), ("same-site", False), (None, False)],
)
def test_pages_are_gzipped_only_for_requests_our_pages_or_the_person_made(
    world: World, fetch_site: str | None, compressed: bool
) -> None:
    """BREACH needs many requests made from the attacker's page: the browser marks them cross-site
    (Fetch Metadata), and they get the page uncompressed."""
    headers: dict[str, Any] = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
    if fetch_site:
        headers["HTTP_SEC_FETCH_SITE"] = fetch_site
    response = _signed_in(world).get("/", **headers)
    assert response.status_code == 200
    assert "Sec-Fetch-Site" in response["Vary"]
    if compressed:
        assert response["Content-Encoding"] == "gzip"
        assert b"</html>" in gzip.decompress(response.content)
    else:
        assert not response.has_header("Content-Encoding")
        assert b"</html>" in response.content


def test_downloads_that_are_already_compressed_are_not_gzipped_again() -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from shequ.core.middleware import SameOriginGZipMiddleware

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    request = RequestFactory().get("/x", HTTP_ACCEPT_ENCODING="gzip", HTTP_SEC_FETCH_SITE="same-origin")
    for content_type, compressed in ((xlsx, False), ("text/csv", True), ("application/json", True)):
        middleware = SameOriginGZipMiddleware(
            lambda r, c=content_type: HttpResponse(b"a,b\n" * 500, content_type=c)
        )
        response = middleware(request)
        assert isinstance(response, HttpResponse)
        assert response.has_header("Content-Encoding") is compressed, content_type


def test_a_process_started_without_a_collection_links_plain_names_and_is_warned(
    tmp_path: Path, world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another WSGI server, or a command, on an installation never collected: pages still render
    (plain names, served from the sources), and the log says what is lost."""
    monkeypatch.setattr(staticfiles.StaticStorage, "_warned", False)
    (tmp_path / "empty").mkdir()
    with override_settings(STORAGES=REAL_STORAGES, STATIC_ROOT=tmp_path / "empty"):
        assert Template("{% load static %}{% static 'core/shequ.css' %}").render(Context()) == (
            "/static/core/shequ.css"
        )
        assert _signed_in(world).get("/").status_code == 200
        assert Client().get("/static/core/shequ.css").status_code == 200
    assert [r.getMessage() for r in caplog.records if "not collected" in r.getMessage()]
