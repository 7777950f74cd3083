"""Routes of the 12345 hotline import pages; part of the ``grid`` URL namespace through
``shequ/grid/urls.py``."""

from django.urls import URLPattern, path

from shequ.grid import views_hotline as views

urlpatterns: list[URLPattern] = [
    path("hotline/", views.hotline_import, name="hotline_import"),
    path("hotline/<str:token>/", views.hotline_report, name="hotline_report"),
    path("hotline/<str:token>/problems.xlsx", views.hotline_errors, name="hotline_errors"),
    path("hotline/<str:token>/commit/", views.hotline_commit, name="hotline_commit"),
]
