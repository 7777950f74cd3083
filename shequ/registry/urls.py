"""Registry pages, mounted at /registry/. Import and ledger pages keep their own route lists."""

from django.urls import URLPattern

from shequ.registry import urls_import, urls_ledgers

app_name = "registry"

urlpatterns: list[URLPattern] = [
    *urls_import.urlpatterns,
    *urls_ledgers.urlpatterns,
]
