"""Routes of this page area (see urls.py): disclosure (居务公开) for staff, the expected-items
schedule, questions and challenges, supervision (民主监督), the public board and the residents' pages."""

from django.urls import URLPattern, URLResolver, path

from shequ.participation import views_disclosure as staff
from shequ.participation import views_disclosure_public as public
from shequ.participation import views_disclosure_questions as questions

urlpatterns: list[URLPattern | URLResolver] = [
    path("disclosure/", staff.item_list, name="disclosure_items"),
    path("disclosure/new/", staff.item_new, name="disclosure_new"),
    path("disclosure/schedule/", staff.schedule, name="disclosure_schedule"),
    path("disclosure/<int:pk>/", staff.item_detail, name="disclosure_item"),
    path("disclosure/<int:pk>/edit/", staff.item_edit, name="disclosure_edit"),
    path("disclosure/<int:pk>/list/", staff.item_list_rows, name="disclosure_list"),
    path("disclosure/<int:pk>/publish/", staff.item_publish, name="disclosure_publish"),
    path("disclosure/<int:pk>/withdraw/", staff.item_withdraw, name="disclosure_withdraw"),
    path("disclosure/<int:pk>/delete/", staff.item_delete, name="disclosure_delete"),
    path("disclosure/files/<slug:token>/", staff.item_file, name="disclosure_file"),
    path("disclosure/questions/", questions.question_list, name="disclosure_questions"),
    path("disclosure/questions/<int:pk>/", questions.question_detail, name="disclosure_question"),
    path("disclosure/supervision/", questions.supervision, name="disclosure_supervision"),
    path("disclosure/mine/", public.mine, name="disclosure_mine"),
    # The public board (公开栏): no sign-in.
    path("disclosure/board/<str:code>/", public.board, name="disclosure_board"),
    path("disclosure/board/<str:code>/<int:pk>/", public.board_item, name="disclosure_board_item"),
    path("disclosure/board/<str:code>/<int:pk>/ask/", public.ask, name="disclosure_ask"),
    path("disclosure/public-files/<slug:token>/", public.public_file, name="disclosure_public_file"),
]
