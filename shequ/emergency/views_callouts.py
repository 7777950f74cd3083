"""Call-out pages (一键动员): the list, a new call-out (form → preview of whom it reaches → send),
the live roll-call (htmx refreshes its counts every few seconds while the call-out is open, with a
map of grids by share answered), an answer recorded by staff for someone reached by phone, closing,
and the closing report (page and Excel). Plus the answer page every SMS links to: no account, the
token in the link names the one message and so the one person.

Thin: reads through ``selectors``/``report``, writes through ``services``; a ``PermissionDenied``
(audited by the service or the guard) is the 403 page; a ``ValidationError`` re-renders the form.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shequ.core import audit, excel, geo, guards, maps, messaging
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region
from shequ.core.permissions import has_perm, scopes_for
from shequ.emergency import report as closing
from shequ.emergency import selectors
from shequ.emergency.forms_callouts import AnswerForm, CalloutForm, StaffAnswerForm
from shequ.emergency.models import (
    Answer,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    Response,
    TargetKind,
    Warning,
    WarningStatus,
)
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.services import answers, mobilization
from shequ.emergency.services.mobilization import body_of, subject_of

FORBIDDEN = "emergency/callouts/forbidden.html"
REFRESH_SECONDS = 4
LIST_SIZE = 100
BANDS = 5
callout_page = functools.partial(guards.page, template=FORBIDDEN)


def ticket_url(ref: str) -> str:
    """The grid's ticket page of a help answer, when the grid app is installed."""
    if not ref.isdigit():
        return ""
    try:
        return reverse("grid:ticket", args=[int(ref)])
    except NoReverseMatch:
        return ""


# --- The list ------------------------------------------------------------------------------------


@callout_page(P.VIEW)
def callout_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in MobilizationStatus.values:
        status = ""
    qs = (
        selectors.mobilization_list(viewer=request.user, status=status)
        .filter(kind=MobilizationKind.CALL_OUT)
        .annotate(answered=Count("recipients", filter=~Q(recipients__answer=Answer.PENDING)))
    )
    callouts = list(qs[:LIST_SIZE])
    for c in callouts:
        c.status_words = closing.status_words(c)  # type: ignore[attr-defined]
    context = {
        "callouts": callouts,
        "status": status,
        "statuses": [("", _("All")), *closing.STATUS_WORDS.items()],
        "can_mobilize": has_perm(request.user, P.MOBILIZE),
    }
    return render(request, "emergency/callouts/list.html", context)


# --- A new call-out ------------------------------------------------------------------------------


def _warnings(request: HttpRequest) -> list[Warning]:
    return list(selectors.warning_list(viewer=request.user, status=WarningStatus.ISSUED)[:50])


def _initial(request: HttpRequest, warnings: list[Warning]) -> dict[str, Any]:
    """Defaults: the officer's own region for staff; with ``?warning=`` the warning, its
    assistance list, its drill flag and words."""
    scopes = sorted(scopes_for(request.user, P.MOBILIZE), key=len)
    initial: dict[str, Any] = {"response": Response.STATUS}
    if scopes:
        initial.update({"staff_region": scopes[0], "party_region": scopes[0], "volunteers_region": scopes[0]})
    raw = request.GET.get("warning", "")
    if raw:
        warning = selectors.warning_get_for(request.user, raw)  # 404 outside the scope
        if warning.status == WarningStatus.ISSUED and warning.pk in {w.pk for w in warnings}:
            initial.update(
                {
                    "warning": warning.pk,
                    "assistance": True,
                    "is_drill": warning.is_drill,
                    "title": warning.title[:60],
                    "body": warning.text[:400],
                }
            )
    return initial


def _preview(request: HttpRequest, form: CalloutForm) -> dict[str, Any] | None:
    """Whom the call-out will reach (the service's own resolution), or None with the form's errors.
    A target outside the officer's scope raises PermissionDenied (audited by the service)."""
    try:
        cleaned = mobilization.clean_targets(actor=request.user, raw=form.targets(), request=request)  # type: ignore[arg-type]
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None
    people = mobilization.addressees(cleaned, exclude_user=request.user)  # type: ignore[arg-type]
    if not people:
        form.add_error(None, _("Nobody the targets name can be reached (no account or mobile number)."))
        return None
    by_kind: dict[str, int] = {}
    for a in people:
        by_kind[a.target] = by_kind.get(a.target, 0) + 1
    data = form.cleaned_data
    draft = Mobilization(
        title=data["title"], body=data["body"], response=data["response"], is_drill=data["is_drill"]
    )
    return {
        "total": len(people),
        "accounts": sum(a.user is not None for a in people),
        "sms_only": sum(a.user is None for a in people),
        "by_kind": [(TargetKind(k).label, n) for k, n in by_kind.items()],
        "sms_subject": subject_of(draft),
        "sms_body": body_of(draft),
    }


@callout_page(P.MOBILIZE, methods=("GET", "POST"))
def callout_new(request: HttpRequest) -> HttpResponse:
    warnings = _warnings(request)
    if request.method == "GET":
        form = CalloutForm(initial=_initial(request, warnings), viewer=request.user, warnings=warnings)
        return render(request, "emergency/callouts/new.html", {"form": form})
    form = CalloutForm(request.POST, viewer=request.user, warnings=warnings)
    step = request.POST.get("step", "preview")
    if step == "edit":  # back from the preview: the form as filled
        return render(request, "emergency/callouts/new.html", {"form": form})
    if form.is_valid() and step == "send":
        # The officer saw the preview; the service resolves the targets once more as it sends.
        data = form.cleaned_data
        try:
            call = mobilization.mobilization_start(
                actor=request.user,  # type: ignore[arg-type]
                title=data["title"],
                body=data["body"],
                response=data["response"],
                targets=form.targets(),
                warning=data["warning_obj"],
                is_drill=data["is_drill"],
                resend_after_minutes=data["resend_after_minutes"],
                resends=data["resends"],
                escalate_after_minutes=data["escalate_after_minutes"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Call-out sent to %(n)d people. Answers appear here as they arrive.") % {"n": call.total},
            )
            return redirect("emergency:callout", pk=call.pk)
    elif form.is_valid():
        preview = _preview(request, form)
        if preview is not None:
            return render(request, "emergency/callouts/preview.html", {"form": form, "preview": preview})
    return render(request, "emergency/callouts/new.html", {"form": form}, status=400)


# --- The roll-call -------------------------------------------------------------------------------


def _rollcall_context(request: HttpRequest, call: Mobilization) -> dict[str, Any]:
    grid = request.GET.get("grid", "").strip()
    if grid and not grid.isdigit():
        grid = ""
    view = selectors.roll_call(mobilization=call, viewer=request.user, grid=grid)
    for r in view.help_needed:
        r.ticket_url = ticket_url(r.ticket_ref)  # type: ignore[attr-defined]
    auto = call.is_open and request.GET.get("auto") != "0"
    params = request.GET.copy()
    params["auto"] = "1" if not auto else "0"
    return {
        "call": call,
        "status_words": closing.status_words(call),
        "view": view,
        "grid": grid,
        "grid_name": next((g.name for g in view.grids if g.region_code == grid), grid),
        "auto": auto,
        "refresh_seconds": REFRESH_SECONDS,
        "toggle_url": "?" + params.urlencode(),
        "checked_at": timezone.now(),
        "counts": [(a, Answer(a).label, view.totals.get(a, 0)) for a in answers.allowed(call)],
        "can_record": call.is_open,
        "can_close": call.is_open and has_perm(request.user, P.MOBILIZE, call.region_code),
        "can_export": has_perm(request.user, P.MOBILIZE, call.region_code),
    }


@callout_page(P.VIEW)
def callout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.mobilization_get_for(request.user, pk)
    context = _rollcall_context(request, call)
    if request.headers.get("HX-Request"):
        return render(request, "emergency/callouts/_rollcall.html", context)
    query = "?" + request.GET.urlencode() if request.GET.get("grid") else ""
    context["map_config"] = {
        **maps.map_settings(),
        "sources": [{"url": reverse("emergency:callout_map", args=[call.pk]) + query}],
        "regionPopups": True,
        "text": {
            "open": _("Not answered: %s"),
            "open_region": _("Who has not answered"),
            "ready": _("The map is drawn."),
        },
    }
    return maps.allow_tiles(render(request, "emergency/callouts/rollcall.html", context))


@callout_page(P.VIEW)
def callout_map(request: HttpRequest, pk: int) -> HttpResponse:
    """The grids of the roll-call as GeoJSON: coloured by the share not yet answered, with the
    count of the silent (the page's table lists their names)."""
    call = selectors.mobilization_get_for(request.user, pk)
    grid = request.GET.get("grid", "").strip()
    view = selectors.roll_call(mobilization=call, viewer=request.user, grid=grid if grid.isdigit() else "")
    extra: dict[str, dict[str, Any]] = {}
    page = reverse("emergency:callout", args=[call.pk])
    for g in view.grids:
        silent_share = 100 - g.share if g.total else 0
        band = 0 if g.pending == 0 else min(BANDS - 1, 1 + silent_share * (BANDS - 1) // 101)
        words = {"a": g.answered, "t": g.total, "s": g.share}
        extra[g.region_code] = {
            "count": g.pending,
            "band": band,
            "share": g.share,
            "focus": g.region_code == grid,
            "state_label": _("%(a)d of %(t)d answered (%(s)d%%)") % words,
            # Who has not answered: the names are the page's list of the grid's silent people.
            "url": f"{page}?grid={g.region_code}#silent-{g.region_code}",
        }
    regions = Region.objects.filter(code__in=list(extra))
    return JsonResponse(
        geo.collection(maps.region_features(regions, extra)), content_type="application/geo+json"
    )


@callout_page(P.VIEW, methods=("GET", "POST"))
def callout_record(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """Staff record the answer of someone they reached by phone or at the door."""
    call = selectors.mobilization_get_for(request.user, pk)
    recipient = selectors.recipient_get(call, rid)
    guards.require(request, P.VIEW, recipient.region_code)
    allowed = answers.allowed(call)
    if request.method == "POST":
        form = StaffAnswerForm(request.POST, allowed=allowed)
        if form.is_valid() and form.cleaned_data["recipient"] != recipient.pk:
            form.add_error(None, _("The form was for another person: open their page again."))
        elif form.is_valid():
            try:
                answers.answer_by_staff(
                    actor=request.user,  # type: ignore[arg-type]
                    recipient=recipient,
                    answer=form.cleaned_data["answer"],
                    note=form.cleaned_data["note"],
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Answer of %(name)s recorded.") % {"name": recipient.name})
                return redirect("emergency:callout", pk=call.pk)
        status = 400
    else:
        form = StaffAnswerForm(initial={"recipient": recipient.pk}, allowed=allowed)
        status = 200
    context = {"call": call, "recipient": recipient, "form": form}
    return render(request, "emergency/callouts/record.html", context, status=status)


@callout_page(P.VIEW, methods=("POST",))
def callout_close(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.mobilization_get_for(request.user, pk)
    try:
        mobilization.mobilization_close(actor=request.user, mobilization=call, request=request)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Call-out closed. The closing report is ready."))
    return redirect("emergency:callout", pk=call.pk)


# --- The closing report --------------------------------------------------------------------------


@callout_page(P.VIEW)
def callout_report(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.mobilization_get_for(request.user, pk)
    data = closing.closing_report(mobilization=call, viewer=request.user)
    for r in data.help_needed:
        r.ticket_url = ticket_url(r.ticket_ref)  # type: ignore[attr-defined]
    context = {
        "call": call,
        "report": data,
        "timeline": data.timeline[: closing.TIMELINE_ON_PAGE],
        "timeline_cut": len(data.timeline) > closing.TIMELINE_ON_PAGE,
        "can_export": has_perm(request.user, P.MOBILIZE, call.region_code),
    }
    return render(request, "emergency/callouts/report.html", context)


@callout_page(P.MOBILIZE)
def callout_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    """The workbook: names and homes of the call-out's people, so ``emergency.mobilize`` in the
    call-out's region and an audit entry; no phone numbers."""
    call = selectors.mobilization_get_for(request.user, pk)
    guards.require(request, P.MOBILIZE, call.region_code)
    data = closing.closing_report(mobilization=call, viewer=request.user)
    now = timezone.now()
    body = closing.report_workbook(data, exported_by=request.user.name, now=now)  # type: ignore[union-attr]
    audit.record(
        "emergency.report_export",
        actor=request.user,
        request=request,
        region_code=call.region_code,
        object_type="emergency.mobilization",
        object_id=call.pk,
        fields=["name", "place", "location"],
        detail={"silent": len(data.silent), "help": len(data.help_needed), "steps": len(data.timeline)},
    )
    response = HttpResponse(body, content_type=excel.XLSX_CONTENT_TYPE)
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="callout-{call.pk}-{stamp}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


# --- The answer page (no account) ----------------------------------------------------------------


def emergency_calls() -> list[tuple[str, str]]:
    return [("110", _("Police")), ("119", _("Fire and rescue")), ("120", _("Ambulance"))]


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # The token must not leave in a Referer header; same-origin (not no-referrer, which makes the
    # form's Origin "null" and fails the CSRF check) keeps it on this site.
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    message = messaging.message_from_token(token)
    recipient = answers.recipient_for_message(message) if message is not None else None
    if recipient is None:
        missing: dict[str, Any] = {"calls": emergency_calls()}
        return _no_store(render(request, "emergency/callouts/answer_missing.html", missing, status=404))
    call = recipient.mobilization
    allowed = answers.allowed(call)
    status = 200
    if request.method == "POST" and call.is_open:
        form = AnswerForm(request.POST, allowed=allowed)
        if form.is_valid():
            try:
                answers.answer_on_page(
                    recipient=recipient,
                    answer=form.cleaned_data["answer"],
                    location=form.cleaned_data["location"],
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _no_store(redirect(request.path + "#answered"))
        status = 400
    else:
        form = AnswerForm(initial={"location": recipient.location}, allowed=allowed)
        if request.method == "POST":
            status = 409  # closed while the page was open
    buttons = [
        {"value": a, "label": Answer(a).label, "tone": "help" if a == Answer.HELP else "ok"} for a in allowed
    ]
    context = {
        "call": call,
        "recipient": recipient,
        "form": form,
        "buttons": buttons,
        "confirmation": answers.confirmation(call, recipient.answer) if recipient.answered else "",
        "asked_help": recipient.answer == Answer.HELP,
        "calls": emergency_calls(),
    }
    return _no_store(render(request, "emergency/callouts/answer.html", context, status=status))
