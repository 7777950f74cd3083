from django.urls import URLPattern, URLResolver, path

from shequ.sharing import views_subscriptions as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("subscriptions/", views.subscription_list, name="subscriptions"),
    path("subscriptions/new/", views.subscription_new, name="subscription_new"),
    path("subscriptions/dead/", views.dead_letters, name="dead_letters"),
    path(
        "subscriptions/dead/<int:pk>/<str:action>/",
        views.dead_letter_action,
        name="dead_letter_action",
    ),
    path("subscriptions/<int:pk>/", views.subscription_detail, name="subscription_detail"),
    path(
        "subscriptions/<int:pk>/<str:action>/",
        views.subscription_action,
        name="subscription_action",
    ),
]
