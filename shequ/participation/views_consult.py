"""Consultation pages for the public and for residents (phone first, elderly mode).

Public (no sign-in): a community's topics and each topic with every stage — opinions, meeting,
decision, implementation, feedback — names masked (张*), hidden comments as "此留言已被隐藏".
Residents: the topics of their community, proposing a topic, and on a topic commenting, proposing,
supporting, giving feedback, reporting a comment and appealing against the hiding of their own.
Views stay thin: forms parse, services decide (a refusal for a home outside the topic's scope is a
403 page that says whose topic it is), selectors read within the viewer's scope.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region, RegionLevel
from shequ.core.personal import mask_name
from shequ.participation import selectors_consult as selectors
from shequ.participation.forms_consult import (
    YES,
    AppealForm,
    CommentForm,
    FeedbackForm,
    ProposalForm,
    ProposeForm,
    ReportForm,
)
from shequ.participation.models import Comment, CommentStatus, Stage, Topic, TopicFile
from shequ.participation.services import consultations as services
from shequ.participation.services.consultations import _common as c
from shequ.participation.services.consultations import files as topic_files
from shequ.participation.services.consultations import opinions

FORBIDDEN = "participation/consult/forbidden.html"
resident_page = functools.partial(guards.page, template=FORBIDDEN)

# The flow as residents read it (议题 → 征集意见 → 协商会议 → 协商结果 → 落实 → 反馈评价 → 办结).
FLOW: list[tuple[str, Any]] = [
    (Stage.COLLECTING, pgettext_lazy("consultation flow", "Opinions")),
    (Stage.MEETING, pgettext_lazy("consultation flow", "Meeting")),
    (Stage.DECIDED, pgettext_lazy("consultation flow", "Decision")),
    (Stage.IMPLEMENTING, pgettext_lazy("consultation flow", "Carrying out")),
    (Stage.FEEDBACK, pgettext_lazy("consultation flow", "Feedback")),
    (Stage.CLOSED, pgettext_lazy("consultation flow", "Closed")),
]
FLOW_ORDER = {stage: i for i, (stage, _label) in enumerate(FLOW)}
STAGE_TONE = {Stage.PROPOSED: "warn", Stage.DECLINED: "bad", Stage.CLOSED: "ok", Stage.FEEDBACK: "ok"}


# --- Presenting a topic -----------------------------------------------------------------------------


def progress(topic: Topic, steps: list[Any]) -> list[dict[str, Any]]:
    """The flow's stages with the day each was reached."""
    reached: dict[str, Any] = {}
    for step in steps:
        if step.to_stage and step.to_stage != step.from_stage:
            reached.setdefault(step.to_stage, step.at)
    current = FLOW_ORDER.get(topic.stage, -1)
    rows = []
    for i, (stage, label) in enumerate(FLOW):
        rows.append(
            {
                "key": stage,
                "label": label,
                "at": reached.get(stage),
                "done": i <= current,
                "current": i == current and topic.stage != Stage.CLOSED,
            }
        )
    return rows


def timeline(steps: list[Any], *, staff: bool) -> list[dict[str, Any]]:
    from shequ.participation.component import audit_labels

    labels = audit_labels()
    rows = []
    for step in steps:
        rows.append(
            {
                "at": step.at,
                "label": str(labels.get(f"participation.consult_{step.action}", step.action)),
                "stage": Stage(step.to_stage).label if step.to_stage in Stage.values else "",
                "note": step.note,
                "who": step.actor_name if staff else "",
            }
        )
    return rows


def present_topic(topic: Topic) -> Topic:
    topic.stage_label = Stage(topic.stage).label  # type: ignore[attr-defined]
    topic.tone = STAGE_TONE.get(Stage(topic.stage), "")  # type: ignore[attr-defined]
    topic.scope = c.scope_words(topic)  # type: ignore[attr-defined]
    topic.proposer_masked = mask_name(topic.proposer_name) if topic.proposed_by_resident else ""  # type: ignore[attr-defined]
    return topic


def topic_parts(
    topic: Topic,
    *,
    public: bool,
    staff: bool = False,
    person_id: int | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """Everything a topic page shows. ``public``: names masked and hidden comments without text
    (the author still reads their own: ``user_id``); staff read names in full."""
    steps = selectors.steps_of(topic, public_only=not staff)
    proposals = selectors.proposals_of(topic, person_id=person_id)
    for p in proposals:
        p.shown_name = p.author_name if staff or p.by_staff else mask_name(p.author_name)  # type: ignore[attr-defined]
    comments = selectors.comments_of(topic)
    for comment in comments:
        own = user_id is not None and comment.user_id == user_id
        comment.shown_name = comment.author_name if staff else mask_name(comment.author_name)  # type: ignore[attr-defined]
        comment.show_text = not comment.is_hidden or staff or own  # type: ignore[attr-defined]
        comment.own = own  # type: ignore[attr-defined]
        appeal = getattr(comment, "appeal", None) if comment.is_hidden else None
        comment.can_appeal = own and comment.is_hidden and appeal is None  # type: ignore[attr-defined]
        comment.appeal_row = appeal  # type: ignore[attr-defined]
    progress_rows = selectors.progress_of(topic)
    feedback = selectors.feedback_of(topic)
    for f in feedback.rows:
        f.shown_name = f.author_name if staff else mask_name(f.author_name)  # type: ignore[attr-defined]
    files = selectors.files_of(topic, public_only=not staff)
    return {
        "topic": present_topic(topic),
        "progress": progress(topic, steps),
        "steps": timeline(steps, staff=staff),
        "proposals": proposals,
        "comments": comments,
        "updates": progress_rows,
        "feedback": feedback,
        "meeting_files": [f for f in files if f.progress_id is None],
        "buildings": [str(b) for b in topic.buildings.all()],
        "file_route": "participation:consult_staff_file" if staff else "participation:consult_public_file",
        "public_files": {f.pk for f in files if f.public},
    }


def file_response(row: TopicFile, name: str) -> HttpResponse:
    try:
        data = topic_files.open_file(row)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    ext = ".pdf" if row.content_type == "application/pdf" else "." + row.content_type.rsplit("/", 1)[-1]
    response = HttpResponse(data, content_type=row.content_type)
    response["Content-Disposition"] = f'inline; filename="{name}-{row.pk}{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Public pages -----------------------------------------------------------------------------------


@require_GET
def public_list(request: HttpRequest, code: str) -> HttpResponse:
    community = Region.objects.filter(code=code, level=RegionLevel.COMMUNITY).first()
    if community is None:
        raise Http404
    topics = [present_topic(t) for t in selectors.public_topic_list(community_code=community.code)[:200]]
    return render(
        request, "participation/consult/public_list.html", {"community": community, "topics": topics}
    )


@require_GET
def public_topic(request: HttpRequest, pk: int) -> HttpResponse:
    topic = selectors.get_public_topic(pk)
    context = topic_parts(topic, public=True)
    context["community_code"] = topic.region_code[: c.COMMUNITY_LENGTH]
    return render(request, "participation/consult/public_topic.html", context)


@require_GET
def public_file(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    topic = selectors.get_public_topic(pk)
    return file_response(selectors.get_file(topic, token, public_only=True), f"topic-{topic.pk}")


# --- Residents ----------------------------------------------------------------------------------------


@resident_page(None)
def home(request: HttpRequest) -> HttpResponse:
    topics = [present_topic(t) for t in selectors.resident_topic_list(user=request.user)[:100]]
    resident = c.resident_of(request.user)
    communities = selectors.resident_communities(request.user)
    context = {
        "open_topics": [t for t in topics if t.stage not in (Stage.PROPOSED, Stage.DECLINED, Stage.CLOSED)],
        "closed_topics": [t for t in topics if t.stage == Stage.CLOSED],
        "my_proposals": [
            t for t in topics if t.proposed_by_resident and t.proposer_user_id == request.user.pk
        ],
        "linked": resident is not None,
        "is_resident": bool(communities),
        "community_code": communities[0] if communities else "",
    }
    return render(request, "participation/consult/resident_list.html", context)


@resident_page(None, methods=("GET", "POST"))
def propose(request: HttpRequest) -> HttpResponse:
    form = ProposeForm(request.POST if request.method == "POST" else None)
    linked = c.resident_of(request.user) is not None
    if request.method == "POST" and form.is_valid():
        try:
            topic = services.topic_propose(
                actor=request.user,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your topic was sent. The community decides whether to take it up; you will be told."),
            )
            return redirect("participation:consult_topic", pk=topic.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "participation/consult/propose.html", {"form": form, "linked": linked}, status=status
    )


def _resident_topic(request: HttpRequest, topic: Topic, *, status: int = 200, **forms: Any) -> HttpResponse:
    resident = c.resident_of(request.user)
    in_scope = resident is not None and c.in_scope(resident.person, topic)
    context = topic_parts(
        topic, public=True, person_id=resident.person.pk if resident else None, user_id=request.user.pk
    )
    feedback_given = selectors.feedback_by(topic, resident.person.pk) if resident is not None else None
    context.update(
        linked=resident is not None,
        in_scope=in_scope,
        can_comment=in_scope and topic.stage in opinions.COMMENT_STAGES,
        can_propose=in_scope and topic.stage in opinions.PROPOSAL_STAGES,
        can_support=in_scope and topic.stage in opinions.SUPPORT_STAGES,
        can_feedback=in_scope and topic.stage in opinions.FEEDBACK_STAGES and feedback_given is None,
        feedback_given=feedback_given,
        comment_form=forms.get("comment_form") or CommentForm(),
        proposal_form=forms.get("proposal_form") or ProposalForm(),
        feedback_form=forms.get("feedback_form") or FeedbackForm(),
        errors=forms.get("errors") or [],
        community_code=topic.region_code[: c.COMMUNITY_LENGTH],
    )
    return render(request, "participation/consult/resident_topic.html", context, status=status)


@resident_page(None)
def topic_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _resident_topic(request, selectors.get_topic_for_resident(request.user, pk))


@resident_page(None, methods=("POST",))
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    topic = selectors.get_topic_for_resident(request.user, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            made = services.comment_add(
                actor=request.user, topic=topic, body=form.cleaned_data["body"], request=request
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Your comment was posted."))
            return redirect(reverse("participation:consult_topic", args=[topic.pk]) + f"#comment-{made.pk}")
    return _resident_topic(request, topic, status=400, comment_form=form)


@resident_page(None, methods=("POST",))
def proposal_add(request: HttpRequest, pk: int) -> HttpResponse:
    topic = selectors.get_topic_for_resident(request.user, pk)
    form = ProposalForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_add(
                actor=request.user,
                topic=topic,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Your proposal was added."))
            return redirect(reverse("participation:consult_topic", args=[topic.pk]) + "#proposals")
    return _resident_topic(request, topic, status=400, proposal_form=form)


@resident_page(None, methods=("POST",))
def support(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.get_proposal_for_resident(request.user, pk)
    withdraw = request.POST.get("action") == "withdraw"
    try:
        if withdraw:
            services.proposal_unsupport(actor=request.user, proposal=proposal, request=request)
        else:
            services.proposal_support(actor=request.user, proposal=proposal, request=request)
    except ValidationError as exc:
        return _resident_topic(request, proposal.topic, status=400, errors=exc.messages)
    messages.success(
        request, _("Your support was withdrawn.") if withdraw else _("You support this proposal.")
    )
    return redirect(
        reverse("participation:consult_topic", args=[proposal.topic_id]) + f"#proposal-{proposal.pk}"
    )


@resident_page(None, methods=("POST",))
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    topic = selectors.get_topic_for_resident(request.user, pk)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.feedback_give(
                actor=request.user,
                topic=topic,
                satisfied=form.cleaned_data["satisfied"] == YES,
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Thank you for your feedback."))
            return redirect(reverse("participation:consult_topic", args=[topic.pk]) + "#feedback")
    return _resident_topic(request, topic, status=400, feedback_form=form)


def _comment_page(
    request: HttpRequest, comment: Comment, template: str, form: Any, status: int = 200
) -> HttpResponse:
    context = {
        "comment": comment,
        "topic": present_topic(comment.topic),
        "form": form,
        "shown_name": mask_name(comment.author_name),
    }
    return render(request, template, context, status=status)


@resident_page(None, methods=("GET", "POST"))
def report(request: HttpRequest, pk: int) -> HttpResponse:
    comment_row = selectors.get_comment_for_resident(request.user, pk)
    if comment_row.status != CommentStatus.VISIBLE:
        raise Http404  # nothing to read, nothing to report
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_report(
                actor=request.user,
                comment=comment_row,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, _("Thank you: the report was recorded. A moderator looks at reported comments.")
            )
            return redirect("participation:consult_topic", pk=comment_row.topic_id)
    status = 400 if request.method == "POST" else 200
    return _comment_page(request, comment_row, "participation/consult/report.html", form, status)


@resident_page(None, methods=("GET", "POST"))
def appeal(request: HttpRequest, pk: int) -> HttpResponse:
    comment_row = selectors.get_comment_for_resident(request.user, pk)
    if comment_row.user_id != request.user.pk:
        raise Http404  # only the author's own comments have an appeal page
    form = AppealForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_appeal(
                actor=request.user, comment=comment_row, text=form.cleaned_data["text"], request=request
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Your appeal was sent. A moderator decides; you will be told."))
            return redirect(
                reverse("participation:consult_topic", args=[comment_row.topic_id])
                + f"#comment-{comment_row.pk}"
            )
    status = 400 if request.method == "POST" else 200
    return _comment_page(request, comment_row, "participation/consult/appeal.html", form, status)
