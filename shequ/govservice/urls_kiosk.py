"""Routes of the self-service terminal (see urls.py and views_kiosk.py)."""

from django.urls import URLPattern, URLResolver, path

from shequ.govservice import views_kiosk as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("kiosk/open/", v.kiosk_open, name="kiosk_open"),
    path("kiosk/", v.kiosk, name="kiosk"),
    path("kiosk/signin/", v.kiosk_signin, name="kiosk_signin"),
    path("kiosk/verify/", v.kiosk_verify, name="kiosk_verify"),
    path("kiosk/signout/", v.kiosk_signout, name="kiosk_signout"),
    path("kiosk/items/<slug:code>/", v.kiosk_apply, name="kiosk_apply"),
    path("kiosk/receipt/<int:pk>/", v.kiosk_receipt, name="kiosk_receipt"),
]
