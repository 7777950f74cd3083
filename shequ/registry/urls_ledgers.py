"""The registry's old ledger addresses: the ledgers of every app live on the reports app's pages
now; bookmarks and old links answer a permanent redirect there (with their filters)."""

from django.urls import URLPattern, path
from django.views.generic import RedirectView

urlpatterns: list[URLPattern] = [
    path(
        "ledgers/",
        RedirectView.as_view(pattern_name="reports:ledgers", permanent=True, query_string=True),
        name="ledgers",
    ),
    path(
        "ledgers/<slug:key>/",
        RedirectView.as_view(pattern_name="reports:ledger", permanent=True, query_string=True),
        name="ledger",
    ),
]
