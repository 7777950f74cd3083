"""Emergency pages: warnings (mounted under /emergency/ by urls.py). ``public/`` and a warning's
page (``warnings/<pk>/``, the link the SMS carries) are open without signing in."""

from django.urls import URLPattern, URLResolver, path

from shequ.emergency import views_warnings as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("warnings/", views.warning_list, name="warnings"),
    path("warnings/new/", views.warning_new, name="warning_new"),
    path("warnings/<int:pk>/", views.warning_detail, name="warning"),
    path("warnings/<int:pk>/issue/", views.warning_issue, name="warning_issue"),
    path("warnings/<int:pk>/update/", views.warning_update, name="warning_update"),
    path("warnings/<int:pk>/lift/", views.warning_lift, name="warning_lift"),
    path("warnings/<int:pk>/discard/", views.warning_discard, name="warning_discard"),
    path("public/", views.public_list, name="public"),
]
