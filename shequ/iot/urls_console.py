"""Staff console pages: devices and their map, alerts, rules, dead letters, house activity."""

from django.urls import URLPattern, path

from shequ.iot import views_alerts, views_console, views_rules

urlpatterns: list[URLPattern] = [
    path("devices/", views_console.device_list, name="devices"),
    path("devices/new/", views_console.device_new, name="device_new"),
    path("devices/<int:pk>/", views_console.device_detail, name="device"),
    path("devices/<int:pk>/token/", views_console.device_token, name="device_token"),
    path("devices/<int:pk>/retire/", views_console.device_retire, name="device_retire"),
    path("map/", views_console.map_page, name="map"),
    path("map/data/", views_console.map_data, name="map_data"),
    path("alerts/", views_alerts.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views_alerts.alert_detail, name="alert"),
    path("alerts/<int:pk>/ack/", views_alerts.alert_ack, name="alert_ack"),
    path("alerts/<int:pk>/clear/", views_alerts.alert_clear, name="alert_clear"),
    path("alerts/<int:pk>/ticket/", views_alerts.alert_ticket, name="alert_ticket"),
    path("houses/<int:pk>/", views_alerts.house_activity, name="house"),
    path("rules/", views_rules.rule_list, name="rules"),
    path("rules/new/", views_rules.rule_new, name="rule_new"),
    path("rules/<int:pk>/switch/", views_rules.rule_toggle, name="rule_toggle"),
    path("dead-letters/", views_rules.dead_letters, name="dead_letters"),
]
