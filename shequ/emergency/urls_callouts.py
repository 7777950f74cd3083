"""Emergency pages: call-outs, their roll-calls and reports, and the answer page every call-out
SMS links to (``services.mobilization.ANSWER_PATH``; mounted under /emergency/ by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from shequ.emergency import views_callouts as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("callouts/", v.callout_list, name="callouts"),
    path("callouts/new/", v.callout_new, name="callout_new"),
    path("callouts/<int:pk>/", v.callout_detail, name="callout"),
    path("callouts/<int:pk>/map.geojson", v.callout_map, name="callout_map"),
    path("callouts/<int:pk>/answer/<int:rid>/", v.callout_record, name="callout_record"),
    path("callouts/<int:pk>/close/", v.callout_close, name="callout_close"),
    path("callouts/<int:pk>/report/", v.callout_report, name="callout_report"),
    path("callouts/<int:pk>/report.xlsx", v.callout_report_xlsx, name="callout_report_xlsx"),
    path("answer/<str:token>/", v.answer, name="answer"),
]
