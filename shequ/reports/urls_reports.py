"""Routes of the report pages (see urls.py): the index, one report with its refresh, submission,
history, snapshots, Excel form and drill-down; reviewing the regions below; the templates."""

from django.urls import URLPattern, URLResolver, path

from shequ.reports import views_reports, views_review, views_templates

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views_reports.index, name="index"),
    path("<int:pk>/", views_reports.instance_detail, name="instance"),
    path("<int:pk>/refresh/", views_reports.instance_refresh, name="refresh"),
    path("<int:pk>/submit/", views_reports.instance_submit, name="submit"),
    path("<int:pk>/history/", views_reports.history, name="history"),
    path("<int:pk>/history/<int:revision>/", views_reports.snapshot_detail, name="snapshot"),
    path("<int:pk>/export/", views_reports.export, name="export"),
    path("<int:pk>/cell/<str:cell>/", views_review.drilldown, name="cell"),
    path("<int:pk>/review/", views_review.review, name="review"),
    path("<int:pk>/approve/", views_review.approve, name="approve"),
    path("<int:pk>/return/", views_review.return_, name="return"),
    path("templates/", views_templates.templates, name="templates"),
    path("templates/publish/", views_templates.template_publish, name="template_publish"),
    path("templates/<slug:key>/v<int:version>/", views_templates.template_detail, name="template"),
]
