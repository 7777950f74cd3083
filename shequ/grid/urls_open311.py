"""Open311 GeoReport v2, mounted at /open311/v2/ (shequ/grid/views_open311.py)."""

from django.urls import path, re_path

from shequ.grid import views_open311 as views

app_name = "open311"

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    path("", views.root, name="root"),
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/(?P<code>[A-Za-z0-9_.-]{1,60})" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<number>[0-9]{1,40})" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token_id>[A-Za-z0-9-]{1,64})" + FMT, views.token_detail, name="token"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not_found"),
]
