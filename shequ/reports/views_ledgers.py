"""Ledger pages for every app's ledgers: the index grouped by app with live counts, one ledger with
filters and a paginated table, its Excel export, generation on demand, schedules, and the list of
generated files with their download.

Who sees what: a ledger needs its view permission somewhere; a restricted ledger does not exist for
users without its grant (404 everywhere, no card, no count). Exports need the ledger's export
permission over the whole area (masked as pages show); full ID and phone numbers also need its
reveal permission and ``core.reveal_personal_data`` there, and a written reason (audited as a
reveal). The page tells each user which of these they may do. Every export is capped,
watermarked and audited (``reports.ledger_export``); generated files are downloaded by those who
may export them, each download audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.components import LEDGER_AS_OF, LEDGER_END, LEDGER_REGION, LEDGER_START, Ledger
from shequ.core.excel import XLSX_CONTENT_TYPE
from shequ.core.forms import apply_service_errors
from shequ.core.guards import page
from shequ.core.models import AuditResult, User
from shequ.reports import selectors_ledgers as S
from shequ.reports import services_ledgers as services
from shequ.reports.forms_ledgers import ExportForm, LedgerFilterForm, RegionForm, ScheduleForm
from shequ.reports.ledger_workbook import ledger_day, region_title
from shequ.reports.models import LedgerRun

PAGE_SIZE = 50
RUNS_SHOWN = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # the page guard signed them in
    return user


def _any_ledger(user: Any) -> bool:
    return bool(S.ledgers_by_app(user))


def _deny(request: HttpRequest, *, key: str, why: str) -> None:
    audit.record(
        "access.denied",
        request=request,
        object_type=services.OBJECT,
        object_id=key,
        result=AuditResult.DENIED,
        detail={"why": why},
    )


def _ledger(request: HttpRequest, key: str) -> Ledger:
    """The ledger, 404 for unknown ones and restricted ones the user may not know of; an
    audited 403 for a user without the ledger's view permission."""
    ledger = S.ledger_lookup(request.user, key)
    if ledger is None:
        raise Http404
    if not ledger.is_visible_to(request.user):
        _deny(request, key=key, why=f"needs {ledger.perm}")
        raise PermissionDenied
    return ledger


def _filter_data(request: HttpRequest, source: Any, ledger: Ledger) -> Any:
    """The submitted filters, with the region the user works in and the day (today) or, for a
    period ledger, this month so far filled in (shown in the date fields, carried into exports)."""
    data = source.copy()
    today = timezone.localdate()
    if LEDGER_REGION in ledger.filters and LEDGER_REGION not in data:
        data[LEDGER_REGION] = S.default_region(request, S.view_perms(ledger))
    if LEDGER_AS_OF in ledger.filters and LEDGER_AS_OF not in data:
        data[LEDGER_AS_OF] = today.isoformat()
    if ledger.periodic and LEDGER_START not in data and LEDGER_END not in data:
        data[LEDGER_START], data[LEDGER_END] = today.replace(day=1).isoformat(), today.isoformat()
    return data


def _render(
    request: HttpRequest,
    ledger: Ledger,
    form: LedgerFilterForm,
    *,
    export_form: ExportForm | None = None,
    export_error: str = "",
    schedule_form: ScheduleForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "ledger": ledger,
        "form": form,
        "export_form": export_form or ExportForm(),
        "export_error": export_error,
        "schedule_form": schedule_form or ScheduleForm(None, viewer=user, perms=S.view_perms(ledger)),
        "shown": False,
        "page": None,
        "table": [],
    }
    if form.is_valid():
        filters = form.filters()
        codes = S.area_codes(user, ledger, filters)
        rows = ledger.query(user, filters)
        found = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        objects = list(found.object_list)
        if ledger.record_view is not None:
            ledger.record_view(user, objects, request, f"ledger:{ledger.key}")
        context.update(
            shown=True,
            page=found,
            table=S.table(ledger, objects, filters, found.start_index()),
            total=found.paginator.count,
            area=region_title(codes),
            as_of=ledger_day(filters),
            start=filters.get(LEDGER_START),
            params=form.params(),
            can_export=S.can_export(user, ledger, codes),
            can_reveal=S.can_reveal(user, ledger, codes),
            export_max=services.export_max_rows(),
            runs=S.run_list(viewer=user, ledger_key=ledger.key)[:5],
        )
    elif status == 200:
        status = 400
    return render(request, "reports/ledgers/ledger.html", context, status=status)


# --- Views --------------------------------------------------------------------------------------


@page(_any_ledger)
def ledger_index(request: HttpRequest) -> HttpResponse:
    user = request.user
    groups = S.ledgers_by_app(user)
    perms = sorted({p for g in groups for ledger in g.ledgers for p in S.view_perms(ledger)})
    data = request.GET.copy()
    if LEDGER_REGION not in data:
        data[LEDGER_REGION] = S.default_region(request, perms)
    form = RegionForm(data, viewer=user, perms=perms)
    status = 200
    region = ""
    if form.is_valid():
        region = form.cleaned_data[LEDGER_REGION]
    else:
        status = 400
    today = timezone.localdate()
    shown = []
    for group in groups:
        cards = []
        for ledger in group.ledgers:
            filters: dict[str, Any] = {LEDGER_REGION: region, LEDGER_AS_OF: today}
            if ledger.periodic:
                filters.update({LEDGER_START: today.replace(day=1), LEDGER_END: today})
            cards.append({"ledger": ledger, "count": ledger.query(user, filters).count()})
        shown.append({"app": group, "cards": cards})
    codes = [region] if region else S.top_scopes(user, perms)
    context = {
        "form": form,
        "groups": shown,
        "area": region_title(codes),
        "as_of": today,
        "month_start": today.replace(day=1),
        "region": region,
    }
    return render(request, "reports/ledgers/index.html", context, status=status)


@page()
def ledger(request: HttpRequest, key: str) -> HttpResponse:
    found = _ledger(request, key)
    form = LedgerFilterForm(_filter_data(request, request.GET, found), ledger=found, viewer=request.user)
    return _render(request, found, form)


@page(methods=("POST",))
def ledger_export(request: HttpRequest, key: str) -> HttpResponse:
    found = _ledger(request, key)
    user = request.user
    form = LedgerFilterForm(_filter_data(request, request.POST, found), ledger=found, viewer=user)
    export_form = ExportForm(request.POST)
    if not form.is_valid() or not export_form.is_valid():
        return _render(request, found, form, export_form=export_form, status=400)
    try:
        book = services.ledger_export(
            actor=user,
            ledger=found,
            filters=form.filters(),
            full=export_form.cleaned_data["full"],
            reason=export_form.cleaned_data["reason"],
            request=request,
        )
    except services.TooManyRows as exc:
        return _render(
            request, found, form, export_form=export_form, export_error=exc.messages[0], status=400
        )
    response = HttpResponse(book.content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = book.disposition()
    return response


@page(methods=("POST",))
def ledger_generate(request: HttpRequest, key: str) -> HttpResponse:
    """Generate the ledger with the page's filters in the worker; the user is told when it is ready."""
    found = _ledger(request, key)
    user = _user(request)
    form = LedgerFilterForm(_filter_data(request, request.POST, found), ledger=found, viewer=user)
    if not form.is_valid():
        return _render(request, found, form, status=400)
    try:
        run = services.ledger_run_request(actor=user, ledger=found, filters=form.filters(), request=request)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _render(request, found, form, export_error=" ".join(exc.messages), status=400)
    messages.success(request, _("The ledger is being generated; you will get a message when it is ready."))
    return redirect("reports:ledger_run", pk=run.pk)


@page(methods=("POST",))
def ledger_schedule(request: HttpRequest, key: str) -> HttpResponse:
    found = _ledger(request, key)
    user = _user(request)
    schedule_form = ScheduleForm(request.POST, viewer=user, perms=S.view_perms(found))
    if schedule_form.is_valid():
        try:
            services.ledger_schedule_create(
                actor=user,
                ledger=found,
                region_code=schedule_form.cleaned_data[LEDGER_REGION],
                frequency=schedule_form.cleaned_data["frequency"],
                day=schedule_form.cleaned_data["day"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(schedule_form, exc)
        else:
            messages.success(request, _("Scheduled. Each file is listed under Generated ledgers."))
            return redirect("reports:ledger_runs")
    form = LedgerFilterForm(_filter_data(request, request.GET, found), ledger=found, viewer=user)
    return _render(request, found, form, schedule_form=schedule_form, status=400)


@page(_any_ledger)
def ledger_runs(request: HttpRequest) -> HttpResponse:
    user = request.user
    titles = {key: ledger.title for key, ledger in S.all_ledgers().items()}
    runs = [
        {
            "run": run,
            "title": titles.get(run.ledger_key, run.ledger_key),
            "period": services.period_label(run),
        }
        for run in S.run_list(viewer=user)[:RUNS_SHOWN]
    ]
    schedules = [
        {"schedule": s, "title": titles.get(s.ledger_key, s.ledger_key)} for s in S.schedule_list(viewer=user)
    ]
    return render(request, "reports/ledgers/runs.html", {"runs": runs, "schedules": schedules})


@page()
def ledger_run(request: HttpRequest, pk: int) -> HttpResponse:
    run: LedgerRun = S.run_get_for(request.user, pk)
    ledger = S.all_ledgers().get(run.ledger_key)
    context = {
        "run": run,
        "ledger": ledger,
        "title": ledger.title if ledger else run.ledger_key,
        "period": services.period_label(run),
        "area": region_title([run.region_code]),
        "can_download": ledger is not None and S.can_export(request.user, ledger, [run.region_code]),
    }
    return render(request, "reports/ledgers/run.html", context)


@page()
def ledger_run_download(request: HttpRequest, pk: int) -> HttpResponse:
    run = S.run_get_for(request.user, pk)
    try:
        book = services.ledger_run_open(actor=request.user, run=run, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("reports:ledger_run", pk=run.pk)
    response = HttpResponse(book.content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = book.disposition()
    return response


@page(methods=("POST",))
def ledger_schedule_stop(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = S.schedule_get_for(request.user, pk)
    services.ledger_schedule_stop(actor=_user(request), schedule=schedule, request=request)
    messages.success(request, _("The schedule is stopped."))
    return redirect("reports:ledger_runs")
