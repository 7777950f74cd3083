"""Every participation page is in one of the app's scope matrices (the core matrix leaves
``participation:`` to them): consultations, disclosure and votes, each with sibling-region users."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from shequ.participation.tests import test_consult_pages, test_disclosure_pages, test_vote_pages


def participation_routes() -> set[str]:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "participation":
            return {f"participation:{q.name}" for q in p.url_patterns if isinstance(q, URLPattern) and q.name}
    raise AssertionError("the participation URLs are not mounted")


def test_every_participation_route_is_in_a_matrix() -> None:
    covered = test_consult_pages.COVERED | test_disclosure_pages.COVERED | test_vote_pages.COVERED
    assert participation_routes() - covered == set(), "add the new pages to a participation scope matrix"
    assert covered - participation_routes() == set(), "a matrix lists a page that does not exist"
