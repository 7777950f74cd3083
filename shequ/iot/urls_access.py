"""Access-control pages: residents' credentials, visitor passes, the guard's gate check, feeds."""

from django.urls import URLPattern, path

from shequ.iot import views_access as views
from shequ.iot import views_access_feeds as feed_views
from shequ.iot import views_access_import as import_views

urlpatterns: list[URLPattern] = [
    path("passes/", views.passes, name="passes"),
    path("passes/<int:pk>/", views.pass_detail, name="pass_detail"),
    path("passes/<int:pk>/revoke/", views.pass_revoke, name="pass_revoke"),
    path("gate/", views.gate_check, name="gate_check"),
    path("access/people/<int:person_id>/credentials/", views.person_credentials, name="person_credentials"),
    path("access/houses/<int:house_id>/credentials/", views.house_credentials, name="house_credentials"),
    path("access/credentials/<int:pk>/revoke/", views.credential_revoke, name="credential_revoke"),
    path("access/plates/", views.plates, name="plates"),
    path("feeds/", feed_views.feed_list, name="feeds"),
    path("feeds/new/", feed_views.feed_new, name="feed_new"),
    path("feeds/<int:pk>/", feed_views.feed_detail, name="feed_detail"),
    path("feeds/<int:pk>/revoke/", feed_views.feed_revoke, name="feed_revoke"),
]
urlpatterns += [
    path("devices/import/", import_views.device_import, name="device_import"),
    path("devices/import/template.xlsx", import_views.device_import_template, name="device_import_template"),
    path("devices/import/<str:token>/", import_views.device_import_report, name="device_import_report"),
    path(
        "devices/import/<str:token>/problems.xlsx",
        import_views.device_import_errors,
        name="device_import_errors",
    ),
    path(
        "devices/import/<str:token>/commit/", import_views.device_import_commit, name="device_import_commit"
    ),
]
