"""Ledger pages (台账): the index, one ledger, its Excel export."""

from django.urls import URLPattern, path

from shequ.registry import views_ledgers

urlpatterns: list[URLPattern] = [
    path("ledgers/", views_ledgers.ledger_index, name="ledgers"),
    path("ledgers/<slug:key>/", views_ledgers.ledger, name="ledger"),
    path("ledgers/<slug:key>/export/", views_ledgers.ledger_export, name="ledger_export"),
]
