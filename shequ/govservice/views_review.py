"""好差评 pages: the rectifications a unit must answer and those its supervisors review, one
rectification with its feedback and review forms, and the public satisfaction page.

* the list (``govservice.rectify`` or ``govservice.supervise``): the viewer's own to do (their
  community, their department), those waiting for their review, the rest of their area, with the
  deadline in colour, shape and words and the round;
* one rectification (404 outside the viewer's area): the rating in words, the application's number,
  item and unit (no ID or phone number), the unit's feedback form
  (``evaluations.rectification_feedback``) and the supervisor's review form
  (``evaluations.rectification_review``), and its history;
* the public satisfaction page (no sign-in): the last 12 months by item and by area, only groups
  with at least 5 ratings.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region
from shequ.govservice import selectors, stats
from shequ.govservice.forms_review import (
    ACCEPT,
    FeedbackForm,
    PublicAreaForm,
    RectificationFilterForm,
    ReviewForm,
)
from shequ.govservice.models import Rectification, RectStatus, Stars
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import evaluations
from shequ.govservice.services._common import community_code
from shequ.grid import deadlines

FORBIDDEN = "govservice/review/forbidden.html"
review_page = functools.partial(guards.page, template=FORBIDDEN)
LIST_MAX = 200


def colour_label(colour: str) -> str:
    return {
        deadlines.Colour.GREEN: _("Within the deadline"),
        deadlines.Colour.YELLOW: _("Deadline near"),
        deadlines.Colour.RED: _("Overdue"),
    }.get(colour, "")


def _decorate(rect: Rectification, viewer: Any, now: Any) -> Rectification:
    """What the pages show of a rectification: its deadline state, the unit, what the viewer may do."""
    colour = (
        deadlines.colour(warn_at=rect.warn_at, due_at=rect.due_at, now=now)
        if rect.status == RectStatus.OPEN
        else ""
    )
    extra = {
        "colour": colour,
        "colour_label": colour_label(colour),
        "may_rectify": rect.status == RectStatus.OPEN and evaluations.can_rectify(viewer, rect),
        "may_review": rect.status == RectStatus.FED_BACK and evaluations.can_review(viewer, rect),
        "stars_label": Stars(rect.evaluation.stars).label,
    }
    for key, value in extra.items():
        setattr(rect, key, value)
    return rect


def _unit_names(rects: list[Rectification]) -> dict[str, str]:
    codes = {community_code(r.region_code) for r in rects if r.department_id is None}
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name"))


def _unit(rect: Rectification, names: dict[str, str]) -> str:
    if rect.department is not None:
        return rect.department.name
    code = community_code(rect.region_code)
    return names.get(code, code)


@review_page((P.RECTIFY, P.SUPERVISE))
def rectification_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = RectificationFilterForm(request.GET or None)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    rects = list(selectors.rectification_list(viewer=viewer, status=status)[:LIST_MAX])
    now = timezone.now()
    names = _unit_names(rects)
    for rect in rects:
        _decorate(rect, viewer, now)
        rect.unit = _unit(rect, names)  # type: ignore[attr-defined]
    to_do = [r for r in rects if r.may_rectify]  # type: ignore[attr-defined]
    to_review = [r for r in rects if r.may_review]  # type: ignore[attr-defined]
    others = [r for r in rects if r not in to_do and r not in to_review]
    context = {
        "form": form,
        "to_do": to_do,
        "to_review": to_review,
        "others": others,
        "limited": len(rects) >= LIST_MAX,
        "status": status,
    }
    return render(
        request,
        "govservice/review/list.html",
        context,
        status=200 if form.is_valid() or not request.GET else 400,
    )


def _history(rect: Rectification) -> list[dict[str, Any]]:
    """The rating, each round's feedback and the review as it stands."""
    application = rect.evaluation.application
    rows: list[dict[str, Any]] = []
    for step in selectors.steps_for(application, public_only=False).filter(action__in=["rate", "rectify"]):
        if step.action == "rate":
            rows.append({"at": step.at, "what": _("Rated by the applicant"), "who": "", "note": step.note})
        else:
            round_ = (step.params or {}).get("round", 1)
            rows.append(
                {
                    "at": step.at,
                    "what": _("Feedback of round %(n)s") % {"n": round_},
                    "who": step.actor_name,
                    "note": step.note,
                }
            )
    if rect.reviewed_by_id is not None and rect.status != RectStatus.FED_BACK:
        accepted = rect.status == RectStatus.DONE
        rows.append(
            {
                "at": rect.closed_at if accepted else None,
                "what": _("Accepted by the review") if accepted else _("Sent back by the review"),
                "who": getattr(rect.reviewed_by, "name", ""),
                "note": rect.review_note,
            }
        )
    return rows


def _detail(
    request: HttpRequest,
    rect: Rectification,
    *,
    feedback_form: FeedbackForm | None = None,
    review_form: ReviewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    viewer = request.user
    _decorate(rect, viewer, timezone.now())
    evaluation = rect.evaluation
    application = evaluation.application
    rect.unit = _unit(rect, _unit_names([rect]))  # type: ignore[attr-defined]
    context = {
        "rect": rect,
        "evaluation": evaluation,
        "application": application,
        "reasons": [str(evaluations.REASONS.get(r, r)) for r in evaluation.reasons],
        "stars": range(1, 6),
        "feedback_form": feedback_form or (FeedbackForm() if rect.may_rectify else None),  # type: ignore[attr-defined]
        "review_form": review_form or (ReviewForm() if rect.may_review else None),  # type: ignore[attr-defined]
        "history": _history(rect),
    }
    response = render(request, "govservice/review/detail.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@review_page((P.RECTIFY, P.SUPERVISE), methods=("GET", "POST"))
def rectification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request.user
    rect = selectors.get_rectification_for(viewer, pk)
    if request.method != "POST":
        return _detail(request, rect)
    action = request.POST.get("action", "")
    if action == "feedback":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            try:
                evaluations.rectification_feedback(
                    actor=viewer,
                    rect=rect,
                    finding=form.cleaned_data["finding"],
                    measures=form.cleaned_data["measures"],
                    feedback=form.cleaned_data["feedback"],
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Feedback sent: the applicant is told, the review comes next."))
                return redirect("govservice:rectification", pk=rect.pk)
        return _detail(request, rect, feedback_form=form, status=400)
    if action == "review":
        review = ReviewForm(request.POST)
        if review.is_valid():
            accepted = review.cleaned_data["decision"] == ACCEPT
            try:
                evaluations.rectification_review(
                    actor=viewer,
                    rect=rect,
                    accepted=accepted,
                    note=review.cleaned_data.get("note", ""),
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(review, exc)
            else:
                messages.success(
                    request,
                    _("Rectification closed.")
                    if accepted
                    else _("Sent back to the unit with 5 more working days."),
                )
                return redirect("govservice:rectification", pk=rect.pk)
        return _detail(request, rect, review_form=review, status=400)
    messages.error(request, _("Choose what to do: send the feedback or review it."))
    return _detail(request, rect, status=400)


# --- The public satisfaction page ---------------------------------------------------------------


@require_GET
def public_satisfaction(request: HttpRequest) -> HttpResponse:
    """No sign-in: aggregate figures only, groups of fewer than 5 ratings left out."""
    form = PublicAreaForm(request.GET)
    if not form.is_valid():
        raise Http404
    code = form.cleaned_data["region"] or stats.public_area()
    if code and not Region.objects.filter(code=code).exists():
        raise Http404
    report = stats.public_report(region_code=code)
    for row in report.regions:
        if len(row.key) < stats.COMMUNITY_LENGTH:
            row.link = "?" + urlencode({"region": row.key})
    up = ""
    if form.cleaned_data["region"]:
        parent = Region.objects.filter(code=code).values_list("parent__code", flat=True).first()
        up = "?" + urlencode({"region": parent}) if parent else "?"
    context = {"report": report, "minimum": stats.PUBLIC_MIN_RATINGS, "up": up}
    return render(request, "govservice/review/public.html", context)
