"""Registry pages, mounted at /registry/. Import and ledger pages keep their own route lists."""

from django.urls import URLPattern, path

from shequ.registry import (
    urls_import,
    urls_ledgers,
    views,
    views_households,
    views_maps,
    views_people,
    views_places,
    views_visits,
)

app_name = "registry"

urlpatterns: list[URLPattern] = [
    # The region tree: region → building → house → people.
    path("", views.index, name="index"),
    path("regions/<str:code>/", views.region, name="region"),
    path("regions/<str:code>/buildings/new/", views_places.building_create, name="building_create"),
    path("buildings/<int:building_id>/", views_places.building, name="building"),
    path("buildings/<int:building_id>/units/new/", views_places.unit_create, name="unit_create"),
    path("buildings/<int:building_id>/houses/new/", views_places.house_create, name="house_create"),
    path("houses/<int:house_id>/", views_places.house, name="house"),
    path("houses/<int:house_id>/edit/", views_places.house_edit, name="house_edit"),
    path("houses/<int:house_id>/use/", views_places.house_use, name="house_use"),
    path("houses/<int:house_id>/register/", views_people.person_register, name="person_register"),
    path("houses/<int:house_id>/move-in/", views_people.person_move_in, name="person_move_in"),
    # People and households.
    path("people/", views_people.search, name="search"),
    path("people/<int:person_id>/", views_people.person, name="person"),
    path("people/<int:person_id>/reveal/", views_people.person_reveal, name="person_reveal"),
    path("people/<int:person_id>/correct/", views_people.person_correct, name="person_correct"),
    path("people/<int:person_id>/quick/", views_people.person_quick, name="person_quick"),
    path("people/<int:person_id>/move/", views_people.person_move, name="person_move"),
    path("people/<int:person_id>/move-out/", views_people.person_move_out, name="person_move_out"),
    path("people/<int:person_id>/death/", views_people.person_death, name="person_death"),
    path("people/<int:person_id>/household/", views_people.household_create, name="household_create"),
    path("people/<int:person_id>/tags/new/", views_people.tag_add, name="tag_add"),
    path("tags/<int:tag_id>/end/", views_people.tag_end, name="tag_end"),
    path("tags/<int:tag_id>/verify/", views_people.tag_verify, name="tag_verify"),
    path("households/<int:household_id>/", views_people.household, name="household"),
    path("households/<int:household_id>/edit/", views_households.household_edit, name="household_edit"),
    # Organizations and key places.
    path("organizations/", views_places.organization_list, name="organization_list"),
    path("organizations/new/", views_places.organization_create, name="organization_create"),
    path("organizations/<int:organization_id>/", views_places.organization, name="organization"),
    path(
        "organizations/<int:organization_id>/reveal/",
        views_places.organization_reveal,
        name="organization_reveal",
    ),
    path("key-places/", views_places.key_place_list, name="key_place_list"),
    path("key-places/new/", views_places.key_place_create, name="key_place_create"),
    path("key-places/<int:key_place_id>/", views_places.key_place, name="key_place"),
    # The grid worker's day.
    path("my-grid/", views_visits.my_grid, name="my_grid"),
    path("map/", views_maps.map_page, name="map"),
    path("map/data.geojson", views_maps.map_data, name="map_data"),
    path("follow-ups/", views_visits.follow_ups, name="follow_ups"),
    path("visits/new/", views_visits.visit_record, name="visit_record"),
    path("visits/<int:visit_id>/follow-up-done/", views_visits.follow_up_done, name="follow_up_done"),
    *urls_import.urlpatterns,
    *urls_ledgers.urlpatterns,
]
