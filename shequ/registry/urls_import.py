"""Routes of the import and export pages, included by ``shequ/registry/urls.py``."""

from django.urls import URLPattern, path

from shequ.registry import views_import as views

urlpatterns: list[URLPattern] = [
    path("import/", views.import_start, name="import"),
    path("import/<int:pk>/", views.import_report, name="import_report"),
    path("import/<int:pk>/problems.xlsx", views.import_errors, name="import_errors"),
    path("import/<int:pk>/commit/", views.import_commit, name="import_commit"),
    path("import/<int:pk>/done/", views.import_result, name="import_result"),
    path("import/template/<slug:kind>.xlsx", views.import_template, name="import_template"),
    path("export/people/", views.export_people, name="export_people"),
    path("export/houses/", views.export_houses, name="export_houses"),
    path("export/organizations/", views.export_organizations, name="export_organizations"),
]
