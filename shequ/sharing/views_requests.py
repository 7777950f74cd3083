"""Pages of data requests (供需对接): the department's list, the request form (choose a resource,
then its terms), the deciders' queue, and one request with its decisions and the decide form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import guards
from shequ.core.components import resources_all
from shequ.core.forms import apply_service_errors
from shequ.core.models import Region
from shequ.sharing import selectors_requests as selectors
from shequ.sharing.forms_requests import SENSITIVITY_WORDS, DataRequestForm, DecideForm, ResourceChoiceForm
from shequ.sharing.models import DataRequest, RequestStatus
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services import requests as services

FORBIDDEN = "sharing/requests/forbidden.html"
SHOWN = 100
STEP_LABELS = {
    services.OWNER: gettext_lazy("Data owner"),
    services.SECURITY: gettext_lazy("Security administrator"),
}


@guards.page(P.REQUEST, template=FORBIDDEN)
def request_list(request: HttpRequest) -> HttpResponse:
    rows = _with_titles(selectors.department_requests(viewer=request.user)[:SHOWN])
    return render(request, "sharing/requests/list.html", {"rows": rows})


@guards.page((P.OWN, P.GRANT), template=FORBIDDEN)
def request_queue(request: HttpRequest) -> HttpResponse:
    sections = []
    for step in (services.OWNER, services.SECURITY):
        if guards.allows(request.user, services.STEP_PERMS[step]):
            rows = _with_titles(selectors.queue(viewer=request.user, step=step)[:SHOWN])
            sections.append({"label": STEP_LABELS[step], "rows": rows})
    return render(request, "sharing/requests/queue.html", {"sections": sections})


def _with_titles(rows: Any) -> list[tuple[DataRequest, str]]:
    """Each request with its resource's title (the catalog's words, not its key)."""
    titles = {key: str(res.title) for key, res in resources_all().items()}
    return [(r, titles.get(r.resource, r.resource)) for r in rows]


@guards.page(P.REQUEST, methods=("GET", "POST"), template=FORBIDDEN)
def request_new(request: HttpRequest) -> HttpResponse:
    departments = services.request_departments(request.user)
    if not departments:
        return guards.forbidden(request, _("Only a department's staff may ask for data."), template=FORBIDDEN)
    department = departments[0]
    catalog = resources_all()
    key = request.POST.get("resource") or request.GET.get("resource") or ""
    resource = catalog.get(key)
    if resource is None:
        chooser = ResourceChoiceForm(request.GET if key else None, resources=catalog)
        return render(
            request,
            "sharing/requests/choose.html",
            {"form": chooser, "department": department},
            status=400 if key else 200,
        )
    accounts = services.department_accounts(department)
    posted = request.method == "POST"
    form = DataRequestForm(
        request.POST if posted else None,
        viewer=request.user,
        resource=resource,
        accounts=accounts,
        initial={"resource": resource.key, "client": request.user.pk},
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.request_create(
                actor=request.user,
                department=department,
                resource=resource.key,
                fields=data["field_keys"],
                unmasked=data.get("unmasked", []),
                region_codes=[r.code for r in data["regions"]],
                row_filters=form.filters(),
                purpose=data["purpose"],
                legal_basis=data["legal_basis"],
                duration_days=data["duration_days"],
                client=data["client"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(
                form, exc, {"fields": "field_keys", "region_codes": "regions", "row_filters": "field_keys"}
            )
        else:
            messages.success(request, _("Your request was filed. You get a notice at each decision."))
            return redirect("sharing:request_detail", pk=created.pk)
    return render(
        request,
        "sharing/requests/new.html",
        {"form": form, "resource": resource, "department": department},
        status=400 if form.errors else 200,
    )


def _decide_steps(request: HttpRequest, req: DataRequest) -> list[tuple[str, Any]]:
    """The steps the viewer could decide now (none for their own request or a decided step)."""
    if req.status != RequestStatus.PENDING or request.user.pk in (req.requester_id, req.client_id):
        return []
    steps = []
    for step in selectors.decider_steps(request.user, req):
        decided = req.owner_decision if step == services.OWNER else req.security_decision
        other_by = req.security_by_id if step == services.OWNER else req.owner_by_id
        if not decided and other_by != request.user.pk:
            steps.append((step, STEP_LABELS[step]))
    return steps


def region_names(codes: list[str]) -> list[str]:
    """Each region by its name and code, in the order given (codes of unknown regions as they are)."""
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [f"{names[c]}（{c}）" if c in names else c for c in codes]


def _fields_shown(req: DataRequest) -> list[dict[str, Any]]:
    res = resources_all().get(req.resource)
    if res is None:
        return [{"title": k, "sensitivity": "", "clear": k in req.unmasked} for k in req.fields]
    return [
        {
            "title": f.title,
            "sensitivity": SENSITIVITY_WORDS.get(f.sensitivity, f.sensitivity),
            "clear": f.key in req.unmasked,
        }
        for f in res.fields
        if f.key in req.fields
    ]


def _filters_shown(req: DataRequest) -> list[str]:
    res = resources_all().get(req.resource)
    dims = {d.key: d for d in res.dimensions} if res else {}
    shown = []
    for key, value in req.row_filters.items():
        dim = dims.get(key)
        labels = {str(v): str(label) for v, label in dim.values()} if dim else {}
        shown.append(f"{dim.label if dim else key}：{labels.get(value, value)}")
    return shown


@guards.page((P.REQUEST, P.OWN, P.GRANT), methods=("GET", "POST"), template=FORBIDDEN)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = selectors.get_request_for(request.user, pk)
    steps = _decide_steps(request, req)
    posted = request.method == "POST"
    form = DecideForm(request.POST if posted else None, steps=steps) if steps else None
    if posted:
        if form is None:
            return guards.denied(
                request,
                (P.OWN, P.GRANT),
                region_code=req.region_code,
                message=_("You may not decide this request."),
                template=FORBIDDEN,
            )
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.request_decide(
                    actor=request.user,
                    data_request=req,
                    step=data["step"],
                    approve=data["decision"] == "approve",
                    reason=data["reason"],
                    request=request,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc, {"decision": "decision"})
            else:
                messages.success(request, _("Your decision was recorded."))
                return redirect("sharing:request_detail", pk=req.pk)
    res = resources_all().get(req.resource)
    return render(
        request,
        "sharing/requests/detail.html",
        {
            "req": req,
            "resource_title": res.title if res else req.resource,
            "fields_shown": _fields_shown(req),
            "filters_shown": _filters_shown(req),
            "regions_shown": region_names(req.region_codes),
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )
