"""Emergency pages: daily check-ins (mounted under /emergency/ by urls.py)."""

from django.urls import URLPattern, URLResolver, path

from shequ.emergency import views_checkins

urlpatterns: list[URLPattern | URLResolver] = [
    path("checkins/", views_checkins.campaign_list, name="checkins"),
    path("checkins/new/", views_checkins.campaign_new, name="checkin_new"),
    path("checkins/<int:pk>/", views_checkins.campaign_detail, name="checkin"),
    path("checkins/<int:pk>/stop/", views_checkins.campaign_stop, name="checkin_stop"),
]
