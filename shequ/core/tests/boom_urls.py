"""The site's URLs plus one page that fails, to see the 500 page (test_error_pages.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from shequ import urls as site

handler400 = site.handler400
handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals 13800001234")


urlpatterns: list[URLPattern | URLResolver] = [path("boom/", boom), *site.urlpatterns]
