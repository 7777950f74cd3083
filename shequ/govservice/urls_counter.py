"""Staff pages (see urls.py): the applications of the viewer's area and each one with its steps and
materials, the counter and home visits (帮办代办), the catalog editor."""

from django.urls import URLPattern, URLResolver, path

from shequ.govservice import views_applications, views_catalog, views_counter

urlpatterns: list[URLPattern | URLResolver] = [
    path("applications/", views_applications.application_list, name="applications"),
    path("applications/<int:pk>/", views_applications.application_detail, name="application"),
    path("applications/<int:pk>/act/", views_applications.application_act, name="application_act"),
    path(
        "applications/<int:pk>/files/<str:token>/",
        views_applications.application_file,
        name="application_file",
    ),
    path("counter/", views_counter.counter, name="counter"),
    path("counter/<slug:code>/", views_counter.counter_take, name="counter_take"),
    path("catalog/", views_catalog.catalog_admin, name="catalog_admin"),
    path("catalog/new/", views_catalog.item_new, name="item_new"),
    path("catalog/<slug:code>/edit/", views_catalog.item_edit, name="item_edit"),
]
