"""Reports pages, mounted at /reports/: report instances to fill, review and export with their
drill-downs, templates, and every app's ledgers in one place."""

from django.urls import URLPattern, URLResolver

from shequ.reports import urls_ledgers, urls_reports

app_name = "reports"

urlpatterns: list[URLPattern | URLResolver] = [
    *urls_reports.urlpatterns,
    *urls_ledgers.urlpatterns,
]
