"""Emergency pages, mounted at /emergency/: warnings (and the public page of those in force),
call-outs with their roll-calls and the answer page their links open, risk and the
evacuation-assistance list, daily check-ins."""

from django.urls import URLPattern, URLResolver

from shequ.emergency import urls_assist, urls_callouts, urls_checkins, urls_warnings

app_name = "emergency"

urlpatterns: list[URLPattern | URLResolver] = [
    *urls_warnings.urlpatterns,
    *urls_callouts.urlpatterns,
    *urls_assist.urlpatterns,
    *urls_checkins.urlpatterns,
]
