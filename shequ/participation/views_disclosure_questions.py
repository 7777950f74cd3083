"""Staff and supervisors' pages of questions and challenges (询问, 质疑) and democratic supervision
(民主监督): the questions of the viewer's communities, answering one (``participation.disclose``),
and the supervision page (``participation.supervise``: the street and above, auditors) with each
community's open and overdue questions, overdue unanswered challenges and overdue disclosure.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region, User
from shequ.core.permissions import has_perm, scopes_for
from shequ.participation import selectors_disclosure as sel
from shequ.participation.forms_disclosure import AnswerForm, QuestionFilterForm, RegionForm
from shequ.participation.models import DisclosureQuestion
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import questions as question_services

FORBIDDEN = "participation/disclosure/forbidden.html"
staff_page = functools.partial(guards.page, template=FORBIDDEN)
STAFF = (P.VIEW, P.SUPERVISE)
LIST_MAX = 200


@staff_page(STAFF)
def question_list(request: HttpRequest) -> HttpResponse:
    form = QuestionFilterForm(request.GET or None)
    ok = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and ok else {}
    questions = list(
        sel.question_list(
            viewer=request.user,
            status=data.get("status", ""),
            kind=data.get("kind", ""),
            overdue=bool(data.get("overdue")),
        )[:LIST_MAX]
    )
    context = {"form": form, "questions": questions, "limited": len(questions) >= LIST_MAX}
    return render(request, "participation/disclosure/questions.html", context, status=200 if ok else 400)


def _question_page(
    request: HttpRequest, question: DisclosureQuestion, *, form: AnswerForm | None = None, status: int = 200
) -> HttpResponse:
    may_answer = question.is_open and has_perm(request.user, P.DISCLOSE, question.region_code)
    context = {
        "question": question,
        "item": question.item,
        "form": form or (AnswerForm() if may_answer else None),
    }
    response = render(request, "participation/disclosure/question.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@staff_page(STAFF, methods=("GET", "POST"))
def question_detail(request: HttpRequest, pk: int) -> HttpResponse:
    question = sel.get_question_for(request.user, pk)
    if request.method != "POST":
        return _question_page(request, question)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _question_page(request, question, form=form, status=400)
    user = request.user
    assert isinstance(user, User)
    try:
        question_services.question_answer(
            actor=user, question=question, answer=form.cleaned_data["answer"], request=request
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _question_page(request, question, form=form, status=400)
    messages.success(request, _("Answer sent: the resident is told, and it shows on the disclosure board."))
    return redirect("participation:disclosure_question", pk=question.pk)


@staff_page(P.SUPERVISE)
def supervision(request: HttpRequest) -> HttpResponse:
    form = RegionForm(request.GET or None)
    code = form.cleaned_data.get("region", "") if form.is_valid() else ""
    scopes = scopes_for(request.user, P.SUPERVISE)
    if code and not any(code.startswith(s) for s in scopes):
        raise Http404
    area = Region.objects.filter(code=code).first() if code else None
    if code and area is None:
        raise Http404
    rows = sel.supervision(viewer=request.user, region_code=code)
    context = {
        "area": area,
        "rows": rows,
        "attention": [r for r in rows if r.needs_attention],
        "challenges": sel.overdue_challenges(viewer=request.user, region_code=code),
        "totals": {
            "overdue_challenges": sum(r.overdue_challenges for r in rows),
            "overdue_questions": sum(r.overdue_questions for r in rows),
            "overdue_items": sum(r.overdue_items for r in rows),
        },
        "limited": len(rows) >= sel.SUPERVISION_MAX,
    }
    return render(request, "participation/disclosure/supervision.html", context)
