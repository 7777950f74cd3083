"""Every emergency page is in one of the app's scope matrices (the core matrix leaves
``emergency:`` to them): warnings, call-outs, risk and assistance, check-ins."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from shequ.emergency.tests import (
    test_assist_pages,
    test_callout_pages,
    test_checkins,
    test_warning_map,
    test_warning_pages,
)


def emergency_routes() -> set[str]:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "emergency":
            return {f"emergency:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
    raise AssertionError("the emergency URLs are not mounted")


def covered() -> set[str]:
    return (
        test_warning_pages.COVERED
        | test_callout_pages.COVERED
        | {f"emergency:{name}" for name in test_assist_pages.ROUTES}
        | test_warning_map.COVERED
        | test_checkins.COVERED
    )


def test_every_emergency_route_is_in_a_matrix() -> None:
    assert emergency_routes() - covered() == set(), "add the new pages to an emergency scope matrix"
    assert covered() - emergency_routes() == set(), "a matrix lists a page that does not exist"
