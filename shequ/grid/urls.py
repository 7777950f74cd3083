"""Grid pages, mounted at /grid/. Resident pages keep their own route list (urls_resident.py)."""

from django.urls import URLPattern, path

from shequ.grid import urls_hotline, urls_resident, urls_stats, views, views_catalog, views_maps, views_queues

app_name = "grid"

urlpatterns: list[URLPattern] = [
    # Work lists.
    path("", views_queues.queue, name="queue"),
    path("tickets/", views_queues.ticket_list, name="list"),
    path("tickets/new/", views_queues.new, name="new"),
    path("department/", views_queues.department, name="department"),
    path("department/bulk/", views_queues.department_bulk, name="department_bulk"),
    path("supervision/", views_queues.supervision, name="supervision"),
    path("hot-topics/", views_queues.hot_topics, name="hot_topics"),
    # Maps: tickets by deadline state (a community), open tickets by grid (a street).
    path("map/", views_maps.map_page, name="map"),
    path("map/data.geojson", views_maps.map_data, name="map_data"),
    # One ticket, its photos and one POST URL per workflow step (grid:ticket_<step>).
    path("tickets/<int:pk>/", views.ticket, name="ticket"),
    path("tickets/<int:pk>/photos/<int:photo_id>/", views.photo, name="photo"),
    path("tickets/<int:pk>/reveal/", views.ticket_reveal, name="ticket_reveal"),
    *[
        path(f"tickets/<int:pk>/{key.replace('_', '-')}/", view, name=f"ticket_{key}")
        for key, view in views.step_views.items()
    ],
    # Settings: the category tree, routing rules, the holiday calendar.
    path("categories/", views_catalog.categories, name="categories"),
    path("categories/new/", views_catalog.category_new, name="category_new"),
    path("categories/<int:pk>/edit/", views_catalog.category_edit, name="category_edit"),
    path("routing/", views_catalog.routing, name="routing"),
    path("routing/delete/", views_catalog.routing_delete, name="routing_delete"),
    path("holidays/", views_catalog.holidays, name="holidays"),
    path("holidays/delete/", views_catalog.holiday_delete, name="holiday_delete"),
    *urls_hotline.urlpatterns,
    *urls_resident.urlpatterns,
    *urls_stats.urlpatterns,
]
