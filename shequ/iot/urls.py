"""IoT pages, mounted at /iot/. The staff console (devices, alerts, rules, dead letters, house
activity) and access control (credentials, visitor passes, the guard's gate check, feeds) keep
their own route lists."""

from django.urls import URLPattern, URLResolver

from shequ.iot import urls_access, urls_console

app_name = "iot"

urlpatterns: list[URLPattern | URLResolver] = [*urls_console.urlpatterns, *urls_access.urlpatterns]
