"""Every IoT page is in one of the app's scope matrices (the core matrix leaves ``iot:`` to them)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from shequ.iot.tests import test_access_scope_matrix, test_console_scope_matrix


def iot_routes() -> set[str]:
    resolver = get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "iot":
            return {f"iot:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
    raise AssertionError("the iot URLs are not mounted")


def test_every_iot_route_is_in_a_matrix() -> None:
    covered = test_console_scope_matrix.COVERED | test_access_scope_matrix.COVERED
    assert iot_routes() - covered == set(), "add the new pages to an IoT scope matrix"
    assert covered - iot_routes() == set(), "a matrix lists a page that does not exist"
