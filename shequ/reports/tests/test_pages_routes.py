"""Every reports page is in one of the app's scope matrices (the core matrix leaves ``reports:`` to
them): each test module of the app that tries pages with sibling-region users names them in its
``COVERED`` set (report pages, templates, ledgers)."""

from __future__ import annotations

import importlib
import pkgutil

from django.urls import URLPattern, URLResolver, get_resolver

import shequ.reports.tests


def reports_routes() -> set[str]:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "reports":
            return {f"reports:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
    raise AssertionError("the reports URLs are not mounted")


def covered() -> set[str]:
    names: set[str] = set()
    for info in pkgutil.iter_modules(shequ.reports.tests.__path__):
        if info.name.startswith("test_") and info.name != "test_pages_routes":
            module = importlib.import_module(f"shequ.reports.tests.{info.name}")
            names |= set(getattr(module, "COVERED", ()))
    return names


def test_every_reports_route_is_in_a_matrix() -> None:
    assert reports_routes() - covered() == set(), "add the new pages to a reports scope matrix"
    assert covered() - reports_routes() == set(), "a matrix lists a page that does not exist"
