from django.urls import path

from shequ.core import views, views_admin, views_app, views_auth, views_duty, views_inbox

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("me/", views.me, name="me"),
    # The installable app: manifest, service worker (at the root, to control every page), offline page.
    path("manifest.webmanifest", views_app.manifest, name="manifest"),
    path("sw.js", views_app.service_worker, name="service_worker"),
    path("offline/", views_app.offline, name="offline"),
    path("regions/", views.regions, name="regions"),
    path("regions/<str:code>/", views.regions, name="region"),
    path("region/pick/", views.pick_region, name="pick_region"),
    path("region/lookup/", views.region_lookup, name="region_lookup"),
    path("elderly/", views.toggle_elderly, name="toggle_elderly"),
    # Authentication and account security.
    path("login/", views_auth.login_view, name="login"),
    path("logout/", views_auth.logout_view, name="logout"),
    path("login/second-factor/", views_auth.second_factor, name="second_factor"),
    path("account/security/", views_auth.security, name="security"),
    path("account/password/", views_auth.password_change, name="password_change"),
    path("account/totp/", views_auth.totp_setup, name="totp_setup"),
    # Inbox.
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:message_id>/", views_inbox.message_detail, name="message"),
    path("inbox/<int:message_id>/ack/", views_inbox.acknowledge, name="message_ack"),
    # The on-duty roster (值班表) of a community or street.
    path("duty/", views_duty.duty_index, name="duty"),
    path("duty/<str:code>/", views_duty.duty_roster, name="duty_roster"),
    # Administration (三权分立).
    path("admin/accounts/", views_admin.accounts, name="accounts"),
    path("admin/memberships/", views_admin.memberships, name="memberships"),
    path("admin/audit/", views_admin.audit_log, name="audit"),
]
