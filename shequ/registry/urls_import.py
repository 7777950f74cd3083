"""Routes of one part of the registry pages, included by ``shequ/registry/urls.py``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
