"""Grid pages, mounted at /grid/. Resident pages keep their own route list (urls_resident.py)."""

from django.urls import URLPattern, path

from shequ.grid import urls_resident, urls_stats, views

app_name = "grid"

urlpatterns: list[URLPattern] = [
    path("tickets/<int:pk>/", views.ticket, name="ticket"),
    *urls_resident.urlpatterns,
    *urls_stats.urlpatterns,
]
