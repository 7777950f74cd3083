from django.urls import include, path

from shequ.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("", include("shequ.core.urls")),
]
