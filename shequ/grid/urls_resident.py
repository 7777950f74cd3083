"""Resident pages of the grid app (report a problem, my reports, the public list); part of the
``grid`` URL namespace through ``shequ/grid/urls.py``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
