from django.urls import URLPattern, URLResolver, path

from shequ.sharing import views_requests as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/queue/", views.request_queue, name="request_queue"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
]
