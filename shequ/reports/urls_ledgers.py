"""Ledger pages (台账) of every app: the index, one ledger, its export, generation and schedules,
and the generated files."""

from django.urls import URLPattern, URLResolver, path

from shequ.reports import views_ledgers

urlpatterns: list[URLPattern | URLResolver] = [
    path("ledgers/", views_ledgers.ledger_index, name="ledgers"),
    path("ledgers/<slug:key>/", views_ledgers.ledger, name="ledger"),
    path("ledgers/<slug:key>/export/", views_ledgers.ledger_export, name="ledger_export"),
    path("ledgers/<slug:key>/generate/", views_ledgers.ledger_generate, name="ledger_generate"),
    path("ledgers/<slug:key>/schedule/", views_ledgers.ledger_schedule, name="ledger_schedule"),
    path("ledger-runs/", views_ledgers.ledger_runs, name="ledger_runs"),
    path("ledger-runs/<int:pk>/", views_ledgers.ledger_run, name="ledger_run"),
    path("ledger-runs/<int:pk>/file/", views_ledgers.ledger_run_download, name="ledger_run_download"),
    path("ledger-schedules/<int:pk>/stop/", views_ledgers.ledger_schedule_stop, name="ledger_schedule_stop"),
]
