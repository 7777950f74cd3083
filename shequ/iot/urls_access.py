"""Access-control pages: residents' credentials, visitor passes, the guard's gate check, feeds."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
