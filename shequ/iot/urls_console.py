"""Staff console pages: devices and their map, alerts, rules, dead letters, house activity."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
