"""Resident pages of the government services (phone first, elderly mode): the catalog, an item, the
online application with the materials the registry fills, my applications with their progress,
sending missing materials, withdrawing and rating (好差评); the rating page opened from the SMS
link, and public tracking by number and mobile number.

Views stay thin: forms parse, ``services`` validate and write (a ``ValidationError`` lands on the
form and nothing is saved), ``selectors`` read within the viewer's scope.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Sequence
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_http_methods

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.messaging import message_from_token
from shequ.core.models import Region, User
from shequ.core.permissions import Viewer
from shequ.govservice import materials as material_kinds
from shequ.govservice import selectors
from shequ.govservice.forms_resident import (
    MATERIAL_ACCEPT,
    ApplyForm,
    RateForm,
    TrackForm,
    WithdrawForm,
    uploads,
)
from shequ.govservice.handlers import RATE_TOPIC
from shequ.govservice.models import (
    Application,
    Channel,
    Domain,
    Evaluation,
    Mode,
    Rectification,
    ServiceItem,
    Status,
)
from shequ.govservice.services import applications as apps
from shequ.govservice.services import evaluations
from shequ.grid.views_resident import registered_self, report_regions
from shequ.registry import prefill

FORBIDDEN = "govservice/resident/forbidden.html"
resident_page = functools.partial(guards.page, template=FORBIDDEN)

TRACK_LIMIT = 10  # lookups per session …
TRACK_WINDOW = 600  # … in ten minutes
TRACK_SESSION_KEY = "govservice_track"
WITHDRAWABLE = frozenset({Status.SUBMITTED, Status.RETURNED, Status.ACCEPTED})

# The words a resident reads (their own context: the same English words mean other things elsewhere).
STATUS_WORDS = {
    Status.SUBMITTED: pgettext_lazy("application status", "Submitted, waiting to be accepted"),
    Status.RETURNED: pgettext_lazy("application status", "Returned: materials missing"),
    Status.ACCEPTED: pgettext_lazy("application status", "Accepted, being handled"),
    Status.FORWARDED: pgettext_lazy("application status", "With the department"),
    Status.DECIDED: pgettext_lazy("application status", "Decided, result on its way"),
    Status.CLOSED: pgettext_lazy("application status", "Done"),
    Status.REJECTED: pgettext_lazy("application status", "Not accepted"),
    Status.WITHDRAWN: pgettext_lazy("application status", "Withdrawn"),
}
DOMAIN_WORDS = {
    Domain.ELDERLY: pgettext_lazy("service domain", "Elderly care"),
    Domain.DISABILITY: pgettext_lazy("service domain", "Disability"),
    Domain.ASSISTANCE: pgettext_lazy("service domain", "Social assistance"),
    Domain.EMPLOYMENT: pgettext_lazy("service domain", "Employment"),
    Domain.INSURANCE: pgettext_lazy("service domain", "Social insurance"),
    Domain.HEALTH: pgettext_lazy("service domain", "Health and family"),
    Domain.EDUCATION: pgettext_lazy("service domain", "Education"),
    Domain.HUKOU: pgettext_lazy("service domain", "Household registration"),
    Domain.CIVIL: pgettext_lazy("service domain", "Civil affairs"),
    Domain.VETERANS: pgettext_lazy("service domain", "Veterans"),
    Domain.CERTIFICATES: pgettext_lazy("service domain", "Community certificates"),
}
DOMAIN_ORDER = {code: i for i, code in enumerate(Domain.values)}


def status_words(application: Application) -> str:
    return str(STATUS_WORDS.get(Status(application.status), application.status))


def present(application: Application) -> Application:
    """The application with its status in the resident's words and its badge tone."""
    application.status_words = status_words(application)  # type: ignore[attr-defined]
    application.tone = STATUS_TONE.get(Status(application.status), "")  # type: ignore[attr-defined]
    return application


STATUS_TONE = {
    Status.SUBMITTED: "",
    Status.RETURNED: "warn",
    Status.ACCEPTED: "",
    Status.FORWARDED: "",
    Status.DECIDED: "ok",
    Status.CLOSED: "ok",
    Status.REJECTED: "bad",
    Status.WITHDRAWN: "",
}


# --- Who the resident is in the registry ----------------------------------------------------------


def resident_self(user: Viewer) -> tuple[Any, Region | None]:
    """The registry person the account belongs to and the resident region holding their home, or
    (None, None): such an account applies at the community counter."""
    if not getattr(user, "is_authenticated", False):
        return None, None
    regions = report_regions(user)
    if not regions:
        return None, None
    person = registered_self(user, regions)
    if person is None or person.house is None:
        return None, None
    code = person.house.region_code
    region = max((r for r in regions if code.startswith(r.code)), key=lambda r: len(r.code))
    return person, region


def _is_resident(user: Viewer) -> bool:
    return bool(getattr(user, "is_authenticated", False) and report_regions(user))


# --- Presenting items and materials ------------------------------------------------------------------


def material_rows(item: ServiceItem, facts: prefill.Facts | None) -> list[dict[str, Any]]:
    """The item's materials, each with its name, whether the registry fills it (for this person
    when known) and the masked value it fills."""
    rows = apps.plan_materials(item, facts)
    for row in rows:
        row["label"] = material_kinds.label(row)
        row["from_registry"] = row["how"] == apps.REGISTRY if facts is not None else bool(row["source"])
    return rows


def _filled_count(item: ServiceItem, facts: prefill.Facts) -> tuple[int, int]:
    rows = apps.plan_materials(item, facts)
    return sum(1 for r in rows if r["how"] == apps.REGISTRY), len(rows)


def _mode_note(item: ServiceItem) -> str:
    notes = {
        Mode.CONSULT: _("The community answers your questions; the department handles the matter."),
        Mode.ENTRUSTED: _("The community accepts your application and passes it to the department."),
        Mode.AUTHORIZED: _("The community handles and decides it itself."),
        Mode.ASSISTED: _("Community staff can apply for you, also at your home (帮办代办)."),
    }
    return str(notes.get(Mode(item.mode), ""))


def catalog(request: HttpRequest) -> HttpResponse:
    """The catalog: public (what a community does for residents is no secret)."""
    q = request.GET.get("q", "").strip()[:30]
    domain = request.GET.get("domain", "")
    domain = domain if domain in Domain.values else ""
    items = list(selectors.item_list(q=q, domain=domain))
    person, _region = resident_self(request.user)
    facts = prefill.facts_of(person) if person is not None else None
    for item in items:
        if facts is not None:
            item.filled, item.total = _filled_count(item, facts)  # type: ignore[attr-defined]
    items.sort(key=lambda i: (DOMAIN_ORDER.get(i.domain, 99), i.sort_order, i.code))
    groups = [
        {"domain": DOMAIN_WORDS.get(Domain(code), code), "code": code, "items": list(rows)}
        for code, rows in itertools.groupby(items, key=lambda i: i.domain)
    ]
    context = {
        "groups": groups,
        "q": q,
        "domain": domain,
        "domains": [(code, DOMAIN_WORDS[Domain(code)]) for code in Domain.values],
        "count": len(items),
        "linked": person is not None,
        "can_apply": _is_resident(request.user),
    }
    return render(request, "govservice/resident/catalog.html", context)


def item_detail(request: HttpRequest, code: str) -> HttpResponse:
    item = selectors.get_item(code)
    person, _region = resident_self(request.user)
    facts = prefill.facts_of(person) if person is not None else None
    rows = material_rows(item, facts)
    context = {
        "item": item,
        "domain_words": DOMAIN_WORDS.get(Domain(item.domain), item.domain),
        "materials": rows,
        "mode_note": _mode_note(item),
        "linked": person is not None,
        "can_apply": item.online and _is_resident(request.user),
        "filled": sum(1 for r in rows if r["from_registry"]),
    }
    return render(request, "govservice/resident/item.html", context)


# --- Applying online ---------------------------------------------------------------------------------


def _apply_page(
    request: HttpRequest,
    item: ServiceItem,
    facts: prefill.Facts,
    form: ApplyForm,
    *,
    status: int = 200,
    extra_errors: Sequence[str] = (),
) -> HttpResponse:
    rows = material_rows(item, facts)
    context = {
        "item": item,
        "form": form,
        "materials": rows,
        "filled": [r for r in rows if r["how"] == apps.REGISTRY],
        "to_upload": [r for r in rows if r["how"] != apps.REGISTRY],
        "accept": MATERIAL_ACCEPT,
        "extra_errors": list(extra_errors),
        "applicant_name": facts.name,
    }
    return render(request, "govservice/resident/apply.html", context, status=status)


@resident_page(None, methods=("GET", "POST"))
def apply(request: HttpRequest, code: str) -> HttpResponse:
    item = selectors.get_item(code)
    person, region = resident_self(request.user)
    if person is None or region is None or not item.online:
        return render(
            request,
            "govservice/resident/apply_counter.html",
            {"item": item, "linked": person is not None},
            status=200,
        )
    facts = prefill.facts_of(person)
    form = ApplyForm(request.POST if request.method == "POST" else None, item=item)
    if request.method != "POST":
        return _apply_page(request, item, facts, form)
    if not form.is_valid():
        return _apply_page(request, item, facts, form, status=400)
    codes = [str(m["code"]) for m in item.materials]
    try:
        application = apps.application_submit(
            actor=request.user,
            item=item,
            channel=Channel.ONLINE,
            region=region,
            applicant=apps.Applicant(facts=facts, user=cast(User, request.user)),
            answers=form.answers(),
            files=uploads(request, codes),
            request=request,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _apply_page(request, item, facts, form, status=400)
    messages.success(
        request,
        _(
            "Application %(number)s was sent. The community checks it within one working day; you "
            "will get an SMS when it is accepted, and can follow every step on this page."
        )
        % {"number": application.number},
    )
    return redirect("govservice:mine_detail", pk=application.pk)


# --- My applications -------------------------------------------------------------------------------


@resident_page(None)
def mine(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.my_applications(user=request.user)[:100])
    for a in rows:
        present(a)
        a.to_rate = a.status in evaluations.RATED_STATUSES and a.rating is None  # type: ignore[attr-defined]
    person, _region = resident_self(request.user)
    return render(
        request, "govservice/resident/mine.html", {"applications": rows, "linked": person is not None}
    )


def progress(application: Application) -> list[dict[str, Any]]:
    """The flow's stages (提交 → 受理 → 转部门 → 决定 → 办结) with the ones reached; items the
    community decides itself have no 转部门."""
    stages: list[tuple[str, str, Any]] = [
        ("submitted", pgettext("progress", "Submitted"), application.submitted_at),
        ("accepted", pgettext("progress", "Accepted"), application.accepted_at),
    ]
    if application.item.mode in apps.FORWARD_MODES:
        stages.append(("forwarded", pgettext("progress", "To the department"), application.forwarded_at))
    stages.append(("decided", pgettext("progress", "Decided"), application.decided_at))
    if application.status not in {Status.REJECTED, Status.WITHDRAWN}:
        # Finished without a decision: their closing is not the flow's 办结.
        stages.append(("closed", pgettext("progress", "Done"), application.closed_at))
    rows = [{"key": key, "label": label, "at": at, "done": at is not None} for key, label, at in stages]
    last = max((i for i, r in enumerate(rows) if r["done"]), default=0)
    for i, r in enumerate(rows):
        r["current"] = i == last and application.is_open
    return rows


def timeline(application: Application) -> list[dict[str, Any]]:
    """The public steps, each with what happened in words (and the department or decision)."""
    from shequ.govservice.component import audit_labels
    from shequ.govservice.models import Outcome

    labels = audit_labels()
    rows = []
    for step in selectors.steps_for(application, public_only=True):
        label = str(labels.get(f"govservice.{step.action}", step.action))
        if step.action == "forward" and step.params.get("department"):
            label = f"{label}: {step.params['department']}"
        elif step.action == "decide" and step.params.get("outcome") in Outcome.values:
            label = f"{label}: {Outcome(step.params['outcome']).label}"
        rows.append({"at": step.at, "label": label, "note": step.note})
    return rows


def _evaluation(application: Application) -> Evaluation | None:
    try:
        return application.evaluation
    except ObjectDoesNotExist:
        return None


def _rectification(evaluation: Evaluation | None) -> Rectification | None:
    if evaluation is None:
        return None
    try:
        return evaluation.rectification
    except ObjectDoesNotExist:
        return None


def rating_context(application: Application) -> dict[str, Any]:
    evaluation = _evaluation(application)
    reasons = evaluations.REASONS
    return {
        "evaluation": evaluation,
        "evaluation_reasons": [str(reasons.get(r, r)) for r in (evaluation.reasons if evaluation else [])],
        "rectification": _rectification(evaluation),
        "can_rate": evaluation is None and application.status in evaluations.RATED_STATUSES,
        "good_codes": list(evaluations.GOOD_REASONS),
        "bad_codes": list(evaluations.BAD_REASONS),
    }


def _materials_done(application: Application) -> list[dict[str, Any]]:
    how_words = {
        apps.REGISTRY: pgettext("material provided", "Filled from the registry"),
        apps.UPLOAD: pgettext("material provided", "Uploaded"),
        apps.PAPER: pgettext("material provided", "Brought on paper"),
        apps.MISSING: pgettext("material provided", "Missing"),
    }
    counts: dict[str, int] = {}
    for f in selectors.files_of(application):
        counts[f.material] = counts.get(f.material, 0) + 1
    rows = []
    for m in application.materials:
        rows.append(
            {
                "label": material_kinds.label(m),
                "how": m.get("how", ""),
                "how_label": how_words.get(m.get("how", ""), ""),
                "value": m.get("value", ""),
                "files": counts.get(m["code"], 0),
                "required": m.get("required", True),
                "code": m["code"],
            }
        )
    return rows


def _detail(
    request: HttpRequest, application: Application, *, status: int = 200, **extra: Any
) -> HttpResponse:
    missing = [m for m in application.materials if m["code"] in (application.missing or [])]
    context = {
        "application": present(application),
        "progress": progress(application),
        "steps": timeline(application),
        "materials": _materials_done(application),
        "missing": [{"code": m["code"], "label": material_kinds.label(m)} for m in missing],
        "accept": MATERIAL_ACCEPT,
        "can_withdraw": application.status in WITHDRAWABLE,
        "withdraw_form": extra.pop("withdraw_form", None) or WithdrawForm(),
        "rate_form": extra.pop("rate_form", None) or RateForm(),
        "rate_action": reverse("govservice:mine_rate", args=[application.pk]),
        **rating_context(application),
        **extra,
    }
    # A refused step whose form the page no longer shows (already withdrawn, already rated): its
    # errors go to the top of the page.
    failed: list[str] = []
    for shown, form in (
        (context["can_withdraw"], context["withdraw_form"]),
        (context["can_rate"], context["rate_form"]),
    ):
        if not shown and form.errors:
            failed += [str(e) for errors in form.errors.values() for e in errors]
    context["failed"] = failed
    return render(request, "govservice/resident/detail.html", context, status=status)


@resident_page(None)
def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.get_my_application(request.user, pk))


@resident_page(None, methods=("POST",))
def mine_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.get_my_application(request.user, pk)
    try:
        apps.application_resubmit(
            actor=request.user,
            application=application,
            files=uploads(request, list(application.missing or [])),
            request=request,
        )
    except ValidationError as exc:
        return _detail(request, application, status=400, resubmit_errors=exc.messages)
    messages.success(request, _("The missing materials were sent: the community checks them again."))
    return redirect("govservice:mine_detail", pk=application.pk)


@resident_page(None, methods=("POST",))
def mine_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.get_my_application(request.user, pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            apps.application_withdraw(
                actor=request.user,
                application=application,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The application was withdrawn."))
            return redirect("govservice:mine_detail", pk=application.pk)
    return _detail(request, application, status=400, withdraw_form=form)


def _rate(
    request: HttpRequest, application: Application, form: RateForm, *, actor: Viewer | None, by_token: bool
) -> Evaluation | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return evaluations.evaluation_submit(
            actor=actor,
            application=application,
            stars=data["stars"],
            reasons=data["reasons"],
            comment=data["comment"],
            channel=application.channel if by_token else Channel.ONLINE,
            by_token=by_token,
            request=request,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None


def _rated_message(request: HttpRequest, evaluation: Evaluation) -> None:
    if evaluations.is_bad(evaluation.stars):
        messages.success(
            request,
            _(
                "Thank you for your rating. A rectification was opened: the responsible unit looks into "
                "it and tells you what was put right within 15 working days."
            ),
        )
    else:
        messages.success(request, _("Thank you for your rating."))


@resident_page(None, methods=("POST",))
def mine_rate(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.get_my_application(request.user, pk)
    form = RateForm(request.POST)
    evaluation = _rate(request, application, form, actor=request.user, by_token=False)
    if evaluation is None:
        return _detail(request, application, status=400, rate_form=form)
    _rated_message(request, evaluation)
    return redirect("govservice:mine_detail", pk=application.pk)


# --- The rating page of the SMS link -----------------------------------------------------------------


def _application_of_token(token: str) -> Application:
    """The application the SMS link was sent for; 404 for a forged, altered or other token."""
    message = message_from_token(token)
    if message is None or message.topic != RATE_TOPIC or not message.topic_ref.isdigit():
        raise Http404
    # The signed token is the proof (as the tracking page's number and phone): no viewer scope.
    application = (
        Application.objects.select_related("item", "region").filter(pk=int(message.topic_ref)).first()
    )
    if application is None:
        raise Http404
    return application


@require_http_methods(["GET", "POST"])
def rate_token(request: HttpRequest, token: str) -> HttpResponse:
    application = _application_of_token(token)
    form = RateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        evaluation = _rate(request, application, form, actor=None, by_token=True)
        if evaluation is not None:
            _rated_message(request, evaluation)
            return redirect("govservice:rate_token", token=token)
        status = 400
    context = {
        "application": present(application),
        "rate_form": form,
        "rate_action": reverse("govservice:rate_token", args=[token]),
        **rating_context(application),
    }
    return render(request, "govservice/resident/rate_token.html", context, status=status)


# --- Public tracking -----------------------------------------------------------------------------------


def _track_allowed(request: HttpRequest) -> bool:
    now = time.time()
    recent = [t for t in request.session.get(TRACK_SESSION_KEY, []) if now - float(t) < TRACK_WINDOW]
    if len(recent) >= TRACK_LIMIT:
        request.session[TRACK_SESSION_KEY] = recent
        return False
    request.session[TRACK_SESSION_KEY] = [*recent, now]
    return True


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST":
        if not _track_allowed(request):
            context["limited"] = True
            status = 429
        elif form.is_valid():
            application = selectors.find_for_tracking(form.cleaned_data["number"], form.cleaned_data["phone"])
            if application is None:
                context["not_found"] = True
                status = 404
            else:
                # The number stays in the box, the mobile number does not (a shared device).
                context["form"] = TrackForm(initial={"number": form.cleaned_data["number"]})
                context.update(
                    application=present(application),
                    progress=progress(application),
                    steps=timeline(application),
                )
        else:
            status = 400
    return render(request, "govservice/resident/track.html", context, status=status)
