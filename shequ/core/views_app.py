"""The installable app (PWA): its web app manifest, its service worker and the page shown offline.

The service worker (``core/sw.js``, a template so that it names the fingerprinted static files of
this release) keeps the shell and static files, a copy of each page that works offline (NavEntry
``offline``), and forms posted from those pages without a network, to send them once it is back.
"""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from shequ.core.components import offline_urls

# What the shell needs to draw any page offline; page scripts and vendor files are cached as used.
SHELL_FILES = ("core/shequ.css", "core/shequ.js", "core/icons.svg", "core/icon.svg", "core/icon-192.png")


@cache_control(max_age=86400, public=True)
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: installed, the platform opens like an app, in the user's language."""
    data = {
        "name": _("Shequ · Smart community platform"),
        "short_name": _("Shequ"),
        "description": _("Report problems, follow them, and get your community's notices."),
        "lang": request.LANGUAGE_CODE,
        "start_url": reverse("core:home") + "?source=app",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": "#b3261e",
        "icons": [
            {"src": static("core/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("core/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("core/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js at the site root (a worker controls only the paths under its own URL). Never cached
    by the browser's HTTP cache, so that a new release's worker is found at the next visit."""
    shell = [static(name) for name in SHELL_FILES]
    pages = offline_urls()
    offline = reverse("core:offline")
    # The cache names change with the files they hold: a release with new files drops the old ones.
    version = hashlib.sha256(json.dumps([shell, pages, offline]).encode()).hexdigest()[:12]
    config = {
        "version": version,
        "shell": shell,
        "pages": pages,
        "offline": offline,
        "static": static(""),
        "login": reverse("core:login"),
    }
    response = render(
        request,
        "core/sw.js",
        {"config": json.dumps(config, ensure_ascii=False)},
        content_type="text/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    """What the service worker shows for a page it has no copy of when there is no network, and
    after keeping a form to send later. It must render for anyone: it is cached at install."""
    return render(request, "core/offline.html")
