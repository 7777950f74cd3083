from django.urls import URLPattern, URLResolver, path

from shequ.sharing import views_access as views
from shequ.sharing import views_catalog as catalog

urlpatterns: list[URLPattern | URLResolver] = [
    path("catalog/", catalog.catalog, name="catalog"),
    path("catalog/<slug:key>/", catalog.catalog_resource, name="catalog_resource"),
    path("clients/", views.client_list, name="clients"),
    path("clients/new/", views.client_new, name="client_new"),
    path("tokens/<int:pk>/new/", views.token_new, name="token_new"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("grants/", views.grant_list, name="grants"),
    path("grants/new/", views.grant_new, name="grant_new"),
    path("grants/<int:pk>/", views.grant_detail, name="grant_detail"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("log/", views.access_log, name="access_log"),
    path("log/<int:pk>/", views.access_log_detail, name="access_log_detail"),
]
