"""Participation pages, mounted at /participation/: consultations (议事协商) with their public
pages, disclosure (居务公开) and supervision, polls, owners' votes and committee elections with
their ballots, trustees' pages, public results and bulletin boards."""

from django.urls import URLPattern, URLResolver

from shequ.participation import urls_consult, urls_disclosure, urls_votes

app_name = "participation"

urlpatterns: list[URLPattern | URLResolver] = [
    *urls_consult.urlpatterns,
    *urls_disclosure.urlpatterns,
    *urls_votes.urlpatterns,
]
