from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

from shequ.api import api
from shequ.core import views_health

urlpatterns: list[URLPattern | URLResolver] = [
    # Probes and metrics for load balancers and monitoring (answered by core.middleware.ProbeMiddleware).
    path("healthz", views_health.healthz, name="healthz"),
    path("readyz", views_health.readyz, name="readyz"),
    path("metrics", views_health.metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("registry/", include("shequ.registry.urls")),
    path("grid/", include("shequ.grid.urls")),
    path("iot/", include("shequ.iot.urls")),
    path("emergency/", include("shequ.emergency.urls")),
    path("govservice/", include("shequ.govservice.urls")),
    path("participation/", include("shequ.participation.urls")),
    path("reports/", include("shequ.reports.urls")),
    path("sharing/", include("shequ.sharing.urls")),
    path("open311/v2/", include("shequ.grid.urls_open311")),
    path("", include("shequ.core.urls")),
]
if settings.OIDC_ENABLED:  # unified identity login (shequ/core/oidc.py)
    urlpatterns.insert(0, path("oidc/", include("shequ.core.oidc")))

# The platform's own error answers (pages, JSON API and Open311 alike): shequ/core/views_errors.py.
handler400 = "shequ.core.views_errors.bad_request"
handler403 = "shequ.core.views_errors.permission_denied"
handler404 = "shequ.core.views_errors.page_not_found"
handler500 = "shequ.core.views_errors.server_error"
