"""Staff pages of the consultations: the topic list, opening a topic, a topic with the steps of
its present stage (accept or decline a resident's proposal, call the meeting, record minutes and
attachments, the decision, carrying it out with progress updates, feedback, closing), its files
(each opening audited), and the moderators' queue of reported, hidden and appealed comments."""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import audit, guards
from shequ.core.forms import PlatformForm, apply_service_errors
from shequ.core.permissions import has_perm
from shequ.participation import selectors_consult as selectors
from shequ.participation.forms_consult import (
    STEP_FORMS,
    AppealDecisionForm,
    ModerateForm,
    TopicFilterForm,
    TopicForm,
)
from shequ.participation.models import CommentStatus, ReportReason, Topic
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services import consultations as services
from shequ.participation.views_consult import file_response, present_topic, topic_parts

FORBIDDEN = "participation/consult/forbidden.html"
staff_page = functools.partial(guards.page, template=FORBIDDEN)

STEP_TITLES: dict[str, Any] = {
    "accept": gettext_lazy("Accept the topic: start collecting opinions"),
    "decline": gettext_lazy("Decline the topic"),
    "proposal": gettext_lazy("Add a proposal (方案)"),
    "meeting": gettext_lazy("Call the consultation meeting"),
    "minutes": gettext_lazy("Record participants, minutes and attachments"),
    "decide": gettext_lazy("Record the decision (协商结果)"),
    "implement": gettext_lazy("Start carrying out the decision (落实)"),
    "progress": gettext_lazy("Add a progress update"),
    "feedback_open": gettext_lazy("Ask residents for feedback (反馈评价)"),
    "close": gettext_lazy("Close the topic"),
}
DONE: dict[str, Any] = {
    "accept": gettext_lazy("Topic accepted: opinions are collected now."),
    "decline": gettext_lazy("Topic declined: the proposer is told the reason."),
    "proposal": gettext_lazy("Proposal added."),
    "meeting": gettext_lazy("Meeting called."),
    "minutes": gettext_lazy("Minutes recorded."),
    "decide": gettext_lazy("Decision recorded."),
    "implement": gettext_lazy("Carrying out started."),
    "progress": gettext_lazy("Progress update added."),
    "feedback_open": gettext_lazy("Residents can now give their feedback."),
    "close": gettext_lazy("Topic closed."),
}
SECONDARY = frozenset({"decline", "proposal", "minutes", "progress"})


@staff_page(P.VIEW)
def topic_list(request: HttpRequest) -> HttpResponse:
    form = TopicFilterForm(request.GET)
    stage, q = ("", "")
    if form.is_valid():
        stage, q = form.cleaned_data["stage"], form.cleaned_data["q"].strip()
    topics = [present_topic(t) for t in selectors.topic_list(viewer=request.user, stage=stage, q=q)[:200]]
    context = {
        "topics": topics,
        "form": form,
        "can_open": has_perm(request.user, P.CONSULT),
        "can_moderate": has_perm(request.user, P.MODERATE),
    }
    return render(request, "participation/consult/staff_list.html", context)


@staff_page(P.CONSULT, methods=("GET", "POST"))
def topic_new(request: HttpRequest) -> HttpResponse:
    form = TopicForm(request.POST if request.method == "POST" else None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            topic = services.topic_open(
                actor=request.user,
                region=form.chosen_region(),
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                buildings=form.chosen_buildings(),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Topic opened: residents in its scope can give their opinions now."))
            return redirect("participation:consult_staff_topic", pk=topic.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "participation/consult/staff_new.html", {"form": form}, status=status)


def _steps(
    topic: Topic, request: HttpRequest, failed: str = "", failed_form: PlatformForm | None = None
) -> list[dict[str, Any]]:
    if not has_perm(request.user, P.CONSULT, topic.region_code):
        return []
    rows = []
    for key, form_class in STEP_FORMS.get(topic.stage, []):
        form = failed_form if key == failed and failed_form is not None else form_class(auto_id=f"{key}_%s")
        rows.append(
            {
                "key": key,
                "title": STEP_TITLES[key],
                "form": form,
                "open": key == failed,
                "secondary": key in SECONDARY,
                "files": any(name in form.fields for name in ("attachments", "photos")),
            }
        )
    return rows


def _detail(
    request: HttpRequest,
    topic: Topic,
    *,
    status: int = 200,
    failed: str = "",
    form: PlatformForm | None = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    context = topic_parts(topic, public=False, staff=True)
    context.update(
        step_forms=_steps(topic, request, failed, form),
        failed_title=STEP_TITLES.get(failed, ""),
        errors=errors or [],
        can_moderate=selectors.can_moderate(request.user, topic),
        public_url=reverse("participation:consult_public_topic", args=[topic.pk]),
    )
    return render(request, "participation/consult/staff_topic.html", context, status=status)


@staff_page(P.VIEW)
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.get_topic_for(request.user, pk))


def _run(action: str, request: HttpRequest, topic: Topic, data: dict[str, Any]) -> None:
    actor = request.user
    common: dict[str, Any] = {"actor": actor, "topic": topic, "request": request}
    if action == "accept":
        services.topic_accept(note=data["note"], **common)
    elif action == "decline":
        services.topic_decline(reason=data["reason"], **common)
    elif action == "proposal":
        services.proposal_add(title=data["title"], body=data["body"], **common)
    elif action == "meeting":
        services.meeting_schedule(
            at=data["meeting_at"], place=data["meeting_place"], link=data["meeting_link"], **common
        )
    elif action == "minutes":
        services.meeting_record(
            participants=data["participants"],
            participant_count=data["participant_count"],
            minutes=data["minutes"],
            files=data["attachments"],
            files_public=data["files_public"],
            **common,
        )
    elif action == "decide":
        services.topic_decide(
            decision=data["decision"],
            votes_for=data["votes_for"],
            votes_against=data["votes_against"],
            votes_abstain=data["votes_abstain"],
            **common,
        )
    elif action == "implement":
        services.implementation_start(note=data["note"], **common)
    elif action == "progress":
        services.progress_add(on=data["on"], text=data["text"], photos=data["photos"], **common)
    elif action == "feedback_open":
        services.feedback_open(**common)
    elif action == "close":
        services.topic_close(note=data["note"], **common)


@staff_page(P.CONSULT, methods=("POST",))
def topic_act(request: HttpRequest, pk: int) -> HttpResponse:
    topic = selectors.get_topic_for(request.user, pk)
    guards.require(request, P.CONSULT, topic.region_code)
    action = request.POST.get("action", "")
    forms_by_key = {key: cls for stage_forms in STEP_FORMS.values() for key, cls in stage_forms}
    form_class = forms_by_key.get(action)
    if form_class is None:
        return _detail(request, topic, status=400, errors=[_("Choose one of the steps on the page.")])
    form = form_class(request.POST, request.FILES, auto_id=f"{action}_%s")
    if form.is_valid():
        try:
            _run(action, request, topic, form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, str(DONE[action]))
            return redirect("participation:consult_staff_topic", pk=topic.pk)
    topic.refresh_from_db()
    if action not in {key for key, _cls in STEP_FORMS.get(topic.stage, [])}:
        # The step belongs to another stage: say so at the top (its form is not on the page).
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return _detail(request, topic, status=400, failed=action, errors=errors)
    return _detail(request, topic, status=400, failed=action, form=form)


@staff_page(P.VIEW)
def staff_file(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    topic = selectors.get_topic_for(request.user, pk)
    row = selectors.get_file(topic, token, public_only=False)
    audit.record(
        "participation.consult_file_read",
        actor=request.user,
        request=request,
        region_code=topic.region_code,
        object_type="participation.topic",
        object_id=topic.pk,
        detail={"file": row.pk, "kind": row.kind},
    )
    return file_response(row, f"topic-{topic.pk}")


# --- Moderation ---------------------------------------------------------------------------------


def _queue(
    request: HttpRequest, *, status: int = 200, failed: int | None = None, form: PlatformForm | None = None
) -> HttpResponse:
    rows = selectors.moderation_queue(viewer=request.user)
    reasons = dict(ReportReason.choices)
    for comment in rows:
        reports = list(comment.reports.all())  # prefetched by the queue
        counts = Counter(str(reasons.get(r.reason, r.reason)) for r in reports)
        comment.report_rows = reports  # type: ignore[attr-defined]
        comment.reason_counts = sorted(counts.items())  # type: ignore[attr-defined]
        comment.pending_appeal = comment.appealed  # type: ignore[attr-defined]
        comment.failed_form = form if failed == comment.pk else None  # type: ignore[attr-defined]
    context = {
        "queue": rows,
        "recent": selectors.moderated_recently(viewer=request.user),
        "hide_form": ModerateForm(),
        "appeal_form": AppealDecisionForm(),
    }
    return render(request, "participation/consult/moderation.html", context, status=status)


@staff_page(P.MODERATE)
def moderation(request: HttpRequest) -> HttpResponse:
    return _queue(request)


@staff_page(P.MODERATE, methods=("POST",))
def moderate(request: HttpRequest, pk: int) -> HttpResponse:
    comment = selectors.get_comment_for_moderator(request.user, pk)
    action = request.POST.get("action", "")
    form: PlatformForm
    if action == "appeal":
        form = AppealDecisionForm(request.POST)
    elif action in ("hide", "restore"):
        form = ModerateForm(request.POST)
    else:
        raise Http404
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "hide":
                services.comment_hide(
                    actor=request.user, comment=comment, reason=data["reason"], request=request
                )
            elif action == "restore":
                services.comment_restore(
                    actor=request.user, comment=comment, reason=data["reason"], request=request
                )
            else:
                services.appeal_decide(
                    actor=request.user,
                    comment=comment,
                    restore=data["decision"] == "restore",
                    reason=data["reason"],
                    request=request,
                )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            comment.refresh_from_db()
            messages.success(
                request,
                _("The comment is hidden.")
                if comment.status != CommentStatus.VISIBLE
                else _("The comment is shown again."),
            )
            return redirect("participation:consult_moderation")
    return _queue(request, status=400, failed=comment.pk, form=form)
