"""Emergency pages: assist (mounted under /emergency/ by urls.py)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
