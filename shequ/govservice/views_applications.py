"""The staff's application pages: the list of the viewer's area (or their department's forwarded
ones), one application with every step of its timeline and the forms of the steps the viewer may
take now, and its uploaded materials (decrypted for those who see the application, audited).

Views are thin: reads through ``selectors`` (404 outside the viewer's scope), each POST one call to
``services.applications``; a ``ValidationError`` (also a step refused for the status) re-renders
the page with the message and changes nothing (400), a ``PermissionDenied`` (audited by the
service) is the 403 page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from shequ.core import audit, guards
from shequ.core.forms import apply_service_errors
from shequ.core.permissions import Viewer, has_perm
from shequ.govservice import forms_counter as forms
from shequ.govservice import materials as material_kinds
from shequ.govservice import selectors
from shequ.govservice.models import (
    Application,
    Channel,
    Consent,
    Delivery,
    Mode,
    Outcome,
    Status,
)
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import _common
from shequ.govservice.services import applications as services
from shequ.govservice.services._common import department_ids
from shequ.grid import deadlines

PAGE_SIZE = 50
FORBIDDEN = "govservice/staff/forbidden.html"


def is_staff(user: Viewer) -> bool:
    """Community staff (``govservice.view``) or a department's staff member."""
    return has_perm(user, P.VIEW) or bool(department_ids(user))


staff_page = functools.partial(guards.page, template=FORBIDDEN)


COLOUR_LABELS = {
    deadlines.Colour.GREEN: gettext_lazy("On time"),
    deadlines.Colour.YELLOW: gettext_lazy("Due soon"),
    deadlines.Colour.RED: gettext_lazy("Overdue"),
}


def with_colour(application: Application) -> Application:
    colour = (
        deadlines.colour(warn_at=application.warn_at, due_at=application.due_at)
        if application.is_open
        else ""
    )
    application.colour = colour  # type: ignore[attr-defined]
    application.colour_label = COLOUR_LABELS.get(colour, "")  # type: ignore[attr-defined]
    return application


# --- The list -------------------------------------------------------------------------------------


@staff_page(is_staff)
def application_list(request: HttpRequest) -> HttpResponse:
    from shequ.govservice.models import ServiceItem

    viewer = request.user
    items = list(ServiceItem.objects.order_by("domain", "sort_order", "code"))
    form = forms.ApplicationFilterForm(request.GET or None, items=items)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data["status"],
            "item": next((i for i in items if i.code == data["item"]), None),
            "channel": data["channel"],
            "overdue": data["overdue"],
            "number": data["number"].strip(),
        }
    apps = selectors.application_list(viewer=viewer, **filters)
    # A page without COUNT(*): one row more than shown says whether a next page exists.
    try:
        page = max(1, min(int(request.GET.get("page") or 1), 1000))
    except ValueError:
        page = 1
    rows = list(apps[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    context = {
        "form": form,
        "applications": [with_colour(a) for a in rows[:PAGE_SIZE]],
        "page": page,
        "has_next": has_next,
        "has_previous": page > 1,
        "can_take": has_perm(viewer, P.ASSIST),
    }
    return render(request, "govservice/staff/list.html", context, status=400 if form.errors else 200)


# --- One application ------------------------------------------------------------------------------

STEP_LABELS: dict[str, Any] = {
    "submit": pgettext_lazy("application step", "Submitted online"),
    "take": gettext_lazy("Taken by staff"),
    "accept": gettext_lazy("Accepted (受理)"),
    "return": gettext_lazy("Returned for missing materials (补正)"),
    "resubmit": gettext_lazy("Missing materials provided"),
    "reject": gettext_lazy("Not accepted"),
    "withdraw": gettext_lazy("Withdrawn by the applicant"),
    "forward": gettext_lazy("Forwarded to the department (转办)"),
    "decide": gettext_lazy("Decided"),
    "deliver": gettext_lazy("Result delivered, closed (办结)"),
    "close_on_receipt": gettext_lazy("Closed on receipt (即收即办)"),
    "rate": gettext_lazy("Rated by the applicant (好差评)"),
    "rectify": gettext_lazy("Rectification fed back (整改)"),
}
HOW_LABELS: dict[str, Any] = {
    services.REGISTRY: gettext_lazy("From the registry"),
    services.UPLOAD: gettext_lazy("Uploaded"),
    services.PAPER: gettext_lazy("Brought on paper"),
    services.MISSING: gettext_lazy("Missing"),
}


def _step_details(application: Application, params: dict[str, Any]) -> str:
    words = []
    if params.get("channel") in Channel.values:
        words.append(str(Channel(params["channel"]).label))
    if params.get("on_behalf"):
        words.append(_("on the resident's behalf"))
    if params.get("consent") in Consent.values:
        words.append(str(Consent(params["consent"]).label))
    if params.get("department"):
        words.append(str(params["department"]))
    if params.get("outcome") in Outcome.values:
        words.append(str(Outcome(params["outcome"]).label))
    if params.get("delivery") in Delivery.values:
        words.append(str(Delivery(params["delivery"]).label))
    codes = params.get("missing") or params.get("provided") or []
    if codes:
        names = {str(r["code"]): material_kinds.label(dict(r)) for r in application.materials}
        words.append("、".join(names.get(str(c), str(c)) for c in codes))
    if params.get("stars"):
        words.append(_("%(n)s of 5 stars") % {"n": params["stars"]})
    if params.get("filled"):
        words.append(_("%(n)s materials filled from the registry") % {"n": len(params["filled"])})
    return " · ".join(words)


def timeline(application: Application) -> list[dict[str, Any]]:
    """Every step, as staff read it: who, when, what, the note; those the applicant does not read
    are marked."""
    return [
        {
            "at": step.at,
            "who": step.actor_name or _("Platform"),
            "what": STEP_LABELS.get(step.action, step.action),
            "details": _step_details(application, step.params or {}),
            "note": step.note,
            "status": Status(step.to_status).label
            if step.to_status in Status.values and step.to_status != step.from_status
            else "",
            "internal": not step.public,
        }
        for step in selectors.steps_for(application, public_only=False)
    ]


def materials_of(application: Application) -> list[dict[str, Any]]:
    files: dict[str, list[Any]] = {}
    for f in selectors.files_of(application):
        files.setdefault(f.material, []).append(f)
    return [
        {
            **row,
            "label": material_kinds.label(dict(row)),
            "how_label": HOW_LABELS.get(row["how"], row["how"]),
            "files": files.get(str(row["code"]), []),
            "asked": row["code"] in (application.missing or []),
        }
        for row in application.materials
    ]


def answers_of(application: Application) -> list[tuple[str, str]]:
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    labels = {
        str(f["name"]): str((f.get("label_zh") if zh else f.get("label")) or f.get("label_zh") or f["name"])
        for f in application.item.form
    }
    return [(labels.get(k, k), str(v)) for k, v in (application.answers or {}).items()]


@dataclass(frozen=True)
class Step:
    key: str
    title: Any
    button: Any
    done: Any
    perform: Callable[[Viewer, Application, forms.StepForm, HttpRequest], Application]
    files: bool = False
    secondary: bool = False


def _rows_missing(application: Application) -> list[dict[str, Any]]:
    return [r for r in application.materials if r["code"] in (application.missing or [])]


def _form(key: str, application: Application, data: Any = None, files: Any = None) -> forms.StepForm:
    kwargs: dict[str, Any] = {"prefix": key}
    if key == "return":
        return forms.ReturnForm(data, rows=application.materials, **kwargs)
    if key == "resubmit":
        return forms.ResubmitForm(data, files, rows=_rows_missing(application), **kwargs)
    if key == "reject":
        return forms.RejectForm(data, **kwargs)
    if key == "forward":
        return forms.ForwardForm(data, departments=services.departments_for(application), **kwargs)
    if key == "decide":
        return forms.DecideForm(data, mode=application.item.mode, **kwargs)
    if key == "deliver":
        return forms.DeliverForm(data, **kwargs)
    if key == "close_on_receipt":
        return forms.CloseForm(data, **kwargs)
    return forms.AcceptForm(data, **kwargs)


def _d(form: forms.StepForm, name: str) -> Any:
    return form.cleaned_data.get(name, "")


STEPS: dict[str, Step] = {
    s.key: s
    for s in (
        Step(
            "accept",
            gettext_lazy("Accept (受理)"),
            gettext_lazy("Accept: the materials are complete"),
            gettext_lazy("Accepted: the promised time limit runs."),
            lambda v, a, f, r: services.application_accept(actor=v, application=a, request=r),
        ),
        Step(
            "close_on_receipt",
            gettext_lazy("Close on receipt (即收即办)"),
            gettext_lazy("Handled and handed over now"),
            gettext_lazy("Closed on receipt: the applicant takes the result now."),
            lambda v, a, f, r: services.application_close_on_receipt(
                actor=v, application=a, note=_d(f, "note"), request=r
            ),
        ),
        Step(
            "forward",
            gettext_lazy("Forward to the department (转办)"),
            gettext_lazy("Forward"),
            gettext_lazy("Forwarded to the department."),
            lambda v, a, f, r: services.application_forward(
                actor=v,
                application=a,
                department=f.chosen(),  # type: ignore[attr-defined]
                note=_d(f, "note"),
                request=r,
            ),
        ),
        Step(
            "decide",
            gettext_lazy("Decide"),
            gettext_lazy("Record the decision"),
            gettext_lazy("The decision is recorded."),
            lambda v, a, f, r: services.application_decide(
                actor=v, application=a, outcome=_d(f, "outcome"), note=_d(f, "note"), request=r
            ),
        ),
        Step(
            "deliver",
            gettext_lazy("Deliver the result and close (办结)"),
            gettext_lazy("Delivered: close"),
            gettext_lazy("Delivered and closed; the applicant is asked to rate it."),
            lambda v, a, f, r: services.application_deliver(
                actor=v, application=a, delivery=_d(f, "delivery"), note=_d(f, "note"), request=r
            ),
        ),
        Step(
            "resubmit",
            gettext_lazy("Receive the missing materials"),
            gettext_lazy("Received: accept"),
            gettext_lazy("The missing materials are in: accepted."),
            lambda v, a, f, r: services.application_resubmit(
                actor=v,
                application=a,
                files=f.uploads(),  # type: ignore[attr-defined]
                paper=list(_d(f, "paper") or []),
                request=r,
            ),
            files=True,
        ),
        Step(
            "return",
            gettext_lazy("Return for missing materials (补正)"),
            gettext_lazy("Return with this list"),
            gettext_lazy("Returned: the applicant is told exactly what is missing."),
            lambda v, a, f, r: services.application_return(
                actor=v, application=a, missing=list(_d(f, "missing") or []), note=_d(f, "note"), request=r
            ),
            secondary=True,
        ),
        Step(
            "reject",
            gettext_lazy("Do not accept (不予受理)"),
            gettext_lazy("Do not accept"),
            gettext_lazy("Not accepted; the applicant is told why."),
            lambda v, a, f, r: services.application_reject(
                actor=v, application=a, reason=_d(f, "reason"), request=r
            ),
            secondary=True,
        ),
    )
}


def allowed_steps(viewer: Viewer, application: Application) -> dict[str, bool]:
    """The steps the viewer may take now (the services decide again when they are taken)."""
    handle = selectors.can_handle(viewer, application)
    dept = selectors.can_decide_as_department(viewer, application)
    status, mode = application.status, application.item.mode
    return {
        "accept": handle and status == Status.SUBMITTED,
        "close_on_receipt": handle
        and application.item.instant
        and status in {Status.SUBMITTED, Status.ACCEPTED},
        "forward": handle and status == Status.ACCEPTED and mode in services.FORWARD_MODES,
        "decide": (handle and status == Status.ACCEPTED and mode in services.COMMUNITY_MODES)
        or (dept and status == Status.FORWARDED),
        "deliver": (handle or dept) and status == Status.DECIDED,
        "resubmit": handle and status == Status.RETURNED,
        "return": (handle and status in {Status.SUBMITTED, Status.ACCEPTED})
        or (dept and status == Status.FORWARDED),
        "reject": handle and status in {Status.SUBMITTED, Status.RETURNED},
    }


def detail_context(
    request: HttpRequest,
    application: Application,
    *,
    failed: str = "",
    failed_form: forms.StepForm | None = None,
) -> dict[str, Any]:
    viewer = request.user
    allowed = allowed_steps(viewer, application)
    steps = []
    for key, step in STEPS.items():
        if not allowed[key]:
            continue
        form = failed_form if key == failed and failed_form is not None else _form(key, application)
        steps.append({"step": step, "form": form, "open": key == failed})
    with_colour(application)
    return {
        "application": application,
        "item": application.item,
        "materials": materials_of(application),
        "answers": answers_of(application),
        "timeline": timeline(application),
        "steps": steps,
        "failed_step": STEPS.get(failed),
        "failed_errors": [],
        "receipt": request.GET.get("receipt") == "1",
        "is_consult": application.item.mode == Mode.CONSULT,
        "promised_days": application.item.promised_days,
    }


@staff_page(is_staff)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.get_application_for(request.user, pk)
    return render(request, "govservice/staff/detail.html", detail_context(request, application))


@staff_page(is_staff, methods=("POST",))
def application_act(request: HttpRequest, pk: int) -> HttpResponse:
    """POST one step (``action``); exactly one service call."""
    viewer = request.user
    application = selectors.get_application_for(viewer, pk)
    key = request.POST.get("action", "")
    if key not in STEPS:
        return _failed(request, application, "", None, [_("Choose a step to take.")])
    step = STEPS[key]
    allowed = allowed_steps(viewer, application)[key]
    form = _form(key, application, request.POST, request.FILES)
    if not form.is_valid():
        if allowed:
            return _failed(request, application, key, form, [])
        if not (
            selectors.can_handle(viewer, application)
            or selectors.can_decide_as_department(viewer, application)
        ):
            _common.refuse(viewer, application, key, "may not handle this application", request=request)
        message = _("This step cannot be taken now: the application is %(status)s.") % {
            "status": Status(application.status).label
        }
        return _failed(request, application, key, None, [message])
    if key == "forward" and isinstance(form, forms.ForwardForm) and form.chosen() is None:
        form.add_error("department", _("Choose a department that serves this community."))
        return _failed(request, application, key, form, [])
    try:
        step.perform(viewer, application, form, request)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        application = selectors.get_application_for(viewer, pk)
        return _failed(request, application, key, form, [str(e) for e in form.non_field_errors()])
    messages.success(request, str(step.done))
    return redirect("govservice:application", pk=application.pk)


def _failed(
    request: HttpRequest,
    application: Application,
    key: str,
    form: forms.StepForm | None,
    errors: list[str],
) -> HttpResponse:
    """The page again (400), nothing changed: the step's form open with its errors, or, for a step
    not offered now (its status changed), the reason at the top."""
    context = detail_context(request, application, failed=key, failed_form=form)
    shown = any(s["step"].key == key for s in context["steps"])
    if form is None or not shown:
        fallback = [e for errs in form.errors.values() for e in errs] if form is not None else []
        context["failed_errors"] = list(errors) or fallback
    return render(request, "govservice/staff/detail.html", context, status=400)


# --- Material files -------------------------------------------------------------------------------


@staff_page(is_staff)
def application_file(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """An uploaded material, decrypted, for those who see the application; every opening is audited."""
    application = selectors.get_application_for(request.user, pk)
    row = selectors.files_of(application).filter(token=token).first()
    if row is None:
        raise Http404
    try:
        data = services.open_file(row)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    audit.record(
        "govservice.material_read",
        actor=request.user,
        request=request,
        region_code=application.region_code,
        object_type="govservice.application",
        object_id=application.pk,
        detail={"material": row.material, "file": row.pk},
    )
    ext = ".pdf" if row.content_type == "application/pdf" else "." + row.content_type.rsplit("/", 1)[-1]
    response = HttpResponse(data, content_type=row.content_type)
    response["Content-Disposition"] = f'inline; filename="{application.number}-{row.material}-{row.pk}{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def application_url(application: Application) -> str:
    return reverse("govservice:application", args=[application.pk])
