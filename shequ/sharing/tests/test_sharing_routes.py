"""Every sharing page is in one of the app's scope matrices (the core matrix leaves ``sharing:`` to
them): the route-test modules name what they cover in their ``MATRIX`` (or ``COVERED``) — the
catalog, clients, grants and access log; data requests and subscriptions; residents' rights."""

from __future__ import annotations

from types import ModuleType

from django.urls import URLPattern, URLResolver, get_resolver

from shequ.sharing.tests import test_access_routes, test_rights_routes, test_subscriptions_routes

ROUTE_MODULES: tuple[ModuleType, ...] = (test_access_routes, test_subscriptions_routes, test_rights_routes)


def sharing_routes() -> set[str]:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "sharing":
            return {f"sharing:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
    raise AssertionError("the sharing URLs are not mounted")


def covered() -> set[str]:
    names: set[str] = set()
    for module in ROUTE_MODULES:
        names |= set(getattr(module, "MATRIX", {})) | set(getattr(module, "COVERED", ()))
    return names


def test_every_sharing_route_is_in_a_matrix() -> None:
    routes = sharing_routes()
    assert len(routes) > 20  # the app's pages are mounted, not an empty namespace
    assert routes - covered() == set(), "add the new pages to a sharing scope matrix"
    assert covered() - routes == set(), "a matrix lists a page that does not exist"
