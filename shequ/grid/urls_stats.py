"""Statistics pages of the grid app; part of the ``grid`` URL namespace through ``shequ/grid/urls.py``."""

from django.urls import URLPattern, path

from shequ.grid import views_stats

urlpatterns: list[URLPattern] = [
    path("stats/", views_stats.stats_page, name="stats"),
    path("stats/export/", views_stats.stats_export, name="stats_export"),
]
