"""Routes of this page area (see urls.py): home care (居家养老) plans and their records."""

from django.urls import URLPattern, URLResolver, path

from shequ.govservice import views_care

urlpatterns: list[URLPattern | URLResolver] = [
    path("care/", views_care.plan_list, name="care_plans"),
    path("care/new/", views_care.plan_new, name="care_plan_new"),
    path("care/<int:pk>/", views_care.plan_detail, name="care_plan"),
]
