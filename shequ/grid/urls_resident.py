"""Resident pages of the grid app (report a problem, my reports, the public list); part of the
``grid`` URL namespace through ``shequ/grid/urls.py``."""

from django.urls import URLPattern, path

from shequ.grid import views_resident as views

urlpatterns: list[URLPattern] = [
    path("report/", views.report, name="report"),
    path("report/suggest/", views.suggest, name="suggest"),
    path("report/<int:pk>/done/", views.report_done, name="report_done"),
    path("mine/", views.my_tickets, name="my_tickets"),
    path("tickets/<int:pk>/rate/", views.ticket_rate, name="ticket_rate"),
    path("public/", views.public, name="public"),
]
