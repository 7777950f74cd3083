"""Routes of the consultations (议事协商, see urls.py): public pages (no sign-in), residents' pages,
staff pages and the moderation queue."""

from django.urls import URLPattern, URLResolver, path

from shequ.participation import views_consult as v
from shequ.participation import views_consult_staff as s

urlpatterns: list[URLPattern | URLResolver] = [
    # Public
    path("consult/public/<str:code>/", v.public_list, name="consult_public_list"),
    path("consult/public/topics/<int:pk>/", v.public_topic, name="consult_public_topic"),
    path("consult/public/topics/<int:pk>/files/<str:token>/", v.public_file, name="consult_public_file"),
    # Residents
    path("consult/", v.home, name="consult_home"),
    path("consult/propose/", v.propose, name="consult_propose"),
    path("consult/topics/<int:pk>/", v.topic_page, name="consult_topic"),
    path("consult/topics/<int:pk>/comment/", v.comment, name="consult_comment"),
    path("consult/topics/<int:pk>/proposals/", v.proposal_add, name="consult_proposal_add"),
    path("consult/topics/<int:pk>/feedback/", v.feedback, name="consult_feedback"),
    path("consult/proposals/<int:pk>/support/", v.support, name="consult_support"),
    path("consult/comments/<int:pk>/report/", v.report, name="consult_report"),
    path("consult/comments/<int:pk>/appeal/", v.appeal, name="consult_appeal"),
    # Staff
    path("consult/staff/", s.topic_list, name="consult_staff_list"),
    path("consult/staff/new/", s.topic_new, name="consult_staff_new"),
    path("consult/staff/topics/<int:pk>/", s.topic_detail, name="consult_staff_topic"),
    path("consult/staff/topics/<int:pk>/act/", s.topic_act, name="consult_staff_act"),
    path("consult/staff/topics/<int:pk>/files/<str:token>/", s.staff_file, name="consult_staff_file"),
    path("consult/moderation/", s.moderation, name="consult_moderation"),
    path("consult/moderation/comments/<int:pk>/", s.moderate, name="consult_moderate"),
]
