"""Every government-service page is in one of the app's scope matrices (the core matrix leaves
``govservice:`` to them): the staff's application pages, the counter and the catalog editor (here),
the resident's pages and tracking, the kiosk, 好差评 and statistics, home care."""

from __future__ import annotations

import importlib

from django.urls import URLPattern, URLResolver, get_resolver

from shequ.govservice.tests import test_application_pages, test_catalog_pages, test_counter_pages

# The matrices of the other page areas; each module has a ``COVERED`` set of route names.
OTHER_MATRICES = (
    "shequ.govservice.tests.test_resident_pages",
    "shequ.govservice.tests.test_kiosk_pages",
    "shequ.govservice.tests.test_review_pages",
    "shequ.govservice.tests.test_care_pages",
)


def govservice_routes() -> set[str]:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "govservice":
            return {f"govservice:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
    raise AssertionError("the govservice URLs are not mounted")


def covered() -> set[str]:
    names = test_application_pages.COVERED | test_counter_pages.COVERED | test_catalog_pages.COVERED
    for module in OTHER_MATRICES:
        names |= set(importlib.import_module(module).COVERED)
    return names


def test_every_govservice_route_is_in_a_matrix() -> None:
    assert govservice_routes() - covered() == set(), "add the new pages to a govservice scope matrix"
    assert covered() - govservice_routes() == set(), "a matrix lists a page that does not exist"
