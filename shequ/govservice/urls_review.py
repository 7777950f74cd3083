"""Routes of this page area (see urls.py): 好差评 rectifications, statistics, public satisfaction."""

from django.urls import URLPattern, URLResolver, path

from shequ.govservice import views_review, views_stats

urlpatterns: list[URLPattern | URLResolver] = [
    path("rectifications/", views_review.rectification_list, name="rectifications"),
    path("rectifications/<int:pk>/", views_review.rectification_detail, name="rectification"),
    path("stats/", views_stats.stats_page, name="stats"),
    path("public/satisfaction/", views_review.public_satisfaction, name="public_satisfaction"),
]
