"""Sharing pages, mounted at /sharing/: the public resource catalog, department clients and grants
with the access log, data requests (供需对接), webhook subscriptions, and residents' rights."""

from django.urls import URLPattern, URLResolver

from shequ.sharing import urls_access, urls_requests, urls_rights, urls_subscriptions

app_name = "sharing"

urlpatterns: list[URLPattern | URLResolver] = [
    *urls_access.urlpatterns,
    *urls_requests.urlpatterns,
    *urls_subscriptions.urlpatterns,
    *urls_rights.urlpatterns,
]
