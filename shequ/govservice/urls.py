"""Government-service pages, mounted at /govservice/: the catalog and applying (residents), the
applicant's own pages and public tracking, the counter and home visits (帮办代办), the kiosk, the
staff's application pages, 好差评 rectifications, statistics and the public satisfaction page,
home care, the catalog editor."""

from django.urls import URLPattern, URLResolver

from shequ.govservice import urls_care, urls_counter, urls_kiosk, urls_resident, urls_review

app_name = "govservice"

urlpatterns: list[URLPattern | URLResolver] = [
    *urls_resident.urlpatterns,
    *urls_counter.urlpatterns,
    *urls_kiosk.urlpatterns,
    *urls_review.urlpatterns,
    *urls_care.urlpatterns,
]
