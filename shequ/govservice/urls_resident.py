"""Routes of the resident pages (see urls.py): the catalog, applying, my applications, the rating
page of the SMS link and public tracking."""

from django.urls import URLPattern, URLResolver, path

from shequ.govservice import views_resident as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("", v.catalog, name="catalog"),
    path("items/<slug:code>/", v.item_detail, name="item"),
    path("items/<slug:code>/apply/", v.apply, name="apply"),
    path("mine/", v.mine, name="mine"),
    path("mine/<int:pk>/", v.mine_detail, name="mine_detail"),
    path("mine/<int:pk>/resubmit/", v.mine_resubmit, name="mine_resubmit"),
    path("mine/<int:pk>/withdraw/", v.mine_withdraw, name="mine_withdraw"),
    path("mine/<int:pk>/rate/", v.mine_rate, name="mine_rate"),
    path("rate/<str:token>/", v.rate_token, name="rate_token"),
    path("track/", v.track, name="track"),
]
