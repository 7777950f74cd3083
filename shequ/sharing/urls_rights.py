"""Residents' rights under PIPL: the resident's pages (我的个人信息) and the community's queue."""

from django.urls import URLPattern, URLResolver, path

from shequ.sharing import views_rights, views_rights_staff

urlpatterns: list[URLPattern | URLResolver] = [
    path("rights/", views_rights.mine, name="rights_mine"),
    path("rights/new/<str:kind>/", views_rights.request_new, name="rights_new"),
    path("rights/<int:pk>/", views_rights.mine_detail, name="rights_mine_detail"),
    path("rights/<int:pk>/copy/", views_rights.copy_download, name="rights_copy"),
    path("rights/staff/", views_rights_staff.queue, name="rights_staff"),
    path("rights/staff/<int:pk>/", views_rights_staff.detail, name="rights_staff_detail"),
    path("rights/staff/<int:pk>/proof/", views_rights_staff.proof, name="rights_staff_proof"),
]
