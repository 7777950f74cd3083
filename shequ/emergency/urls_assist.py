"""Emergency pages: risk and the evacuation-assistance list (mounted under /emergency/ by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from shequ.emergency import views_assist

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk/", views_assist.risk_page, name="risk"),
    path("risk/draft/", views_assist.risk_draft, name="risk_draft"),
    path("assistance/", views_assist.assistance_page, name="assistance"),
    path("warnings/<int:pk>/assistance/", views_assist.warning_assistance, name="warning_assistance"),
    path("assistance/people/<int:person_id>/helpers/", views_assist.person_helpers, name="helpers"),
    path(
        "assistance/people/<int:person_id>/helpers/<int:link_id>/remove/",
        views_assist.helper_remove,
        name="helper_remove",
    ),
]
