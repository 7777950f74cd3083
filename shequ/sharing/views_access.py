"""Pages of department access: clients and their tokens, grants (list, new, detail, revoke) for the
security administrator (``sharing.grant``), and the access log for auditors and the regions
concerned (``sharing.access_log``). Thin: parse, call a selector or a service, render."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import ApiToken
from shequ.core.selectors import region_names
from shequ.sharing import selectors_access as selectors
from shequ.sharing.forms_access import (
    GRANT_ERROR_FIELDS,
    ClientCreateForm,
    GrantForm,
    LogFilterForm,
    ResourceChoiceForm,
    RevokeForm,
    TokenIssueForm,
    start_of,
)
from shequ.sharing.models import Grant
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services import access as grants
from shequ.sharing.services import clients

FORBIDDEN = "sharing/access/forbidden.html"
access_page = functools.partial(guards.page, template=FORBIDDEN)
PAGE_SIZE = 50


def _labels(resource_keys: Any) -> dict[str, str]:
    catalog = {r.key: str(r.title) for r in selectors.resources()}
    return {key: catalog.get(key, key) for key in resource_keys}


# --- clients -----------------------------------------------------------------------------------------


@access_page(P.GRANT)
def client_list(request: HttpRequest) -> HttpResponse:
    found = list(selectors.department_list(viewer=request.user))
    tokens = selectors.client_tokens(found)
    departments = [{"department": d, "tokens": tokens[d.pk]} for d in found if d.pk in tokens]
    return render(request, "sharing/access/clients.html", {"departments": departments, "now": timezone.now()})


def _shown_once(request: HttpRequest, token: ApiToken, raw: str) -> HttpResponse:
    response = render(request, "sharing/access/token_once.html", {"token": token, "raw": raw})
    response["Cache-Control"] = "no-store"
    return response


@access_page(P.GRANT, methods=("GET", "POST"))
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientCreateForm(request.POST or None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _user, token, raw = clients.client_create(
                actor=request.user,
                department=data["department"],
                username=data["username"],
                display_name=data["display_name"],
                token_name=data["token_name"],
                expires_at=start_of(data["ends_on"]),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, {"expires_at": "ends_on", "region": "department"})
        else:
            return _shown_once(request, token, raw)
    status = 400 if request.method == "POST" else 200
    return render(request, "sharing/access/client_new.html", {"form": form}, status=status)


def _client_token(request: HttpRequest, pk: Any) -> tuple[ApiToken, Any]:
    token = ApiToken.objects.select_related("user").filter(pk=pk).first()
    department = selectors.department_of_client(token.user) if token else None
    if (
        token is None
        or department is None
        or department not in selectors.department_list(viewer=request.user)
    ):
        raise Http404
    return token, department


@access_page(P.GRANT, methods=("GET", "POST"))
def token_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Another token for the account of token ``pk`` (a key rotation)."""
    old, department = _client_token(request, pk)
    form = TokenIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = clients.client_token_issue(
                actor=request.user,
                department=department,
                client=old.user,
                token_name=form.cleaned_data["token_name"],
                expires_at=start_of(form.cleaned_data["ends_on"]),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, {"expires_at": "ends_on"})
        else:
            return _shown_once(request, token, raw)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "sharing/access/token_new.html",
        {"form": form, "client": old.user, "department": department},
        status=status,
    )


@access_page(P.GRANT, methods=("GET", "POST"))
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token, department = _client_token(request, pk)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            clients.client_token_revoke(
                actor=request.user,
                department=department,
                token=token,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The token is revoked; calls with it are refused from now on."))
            return redirect("sharing:clients")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "sharing/access/token_revoke.html",
        {"form": form, "token": token, "department": department},
        status=status,
    )


# --- grants ------------------------------------------------------------------------------------------


@access_page(P.GRANT)
def grant_list(request: HttpRequest) -> HttpResponse:
    active_only = request.GET.get("active") == "1"
    page = Paginator(selectors.grant_list(viewer=request.user, active_only=active_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    titles = _labels({g.resource for g in page})
    rows = [(g, titles[g.resource], g.is_active()) for g in page]
    return render(
        request, "sharing/access/grants.html", {"page": page, "rows": rows, "active_only": active_only}
    )


@access_page(P.GRANT, methods=("GET", "POST"))
def grant_new(request: HttpRequest) -> HttpResponse:
    catalog = selectors.resources()
    key = request.POST.get("resource") or request.GET.get("resource") or ""
    try:
        resource = selectors.resource_for(key)
    except selectors.UnknownResource:
        chooser = ResourceChoiceForm(request.GET if key else None, resources=catalog)
        if key:
            chooser.is_valid()
        return render(
            request, "sharing/access/grant_choose.html", {"form": chooser}, status=400 if key else 200
        )
    choices = selectors.client_choices(request.user)
    form = GrantForm(request.POST or None, viewer=request.user, resource=resource, clients=choices)
    if request.method == "POST" and form.is_valid():
        client = next(user for user, _name in choices if user.pk == form.cleaned_data["client"])
        department = selectors.department_of_client(client)
        if department is None:
            raise Http404
        try:
            grant = grants.grant_create(
                actor=request.user,
                department=department,
                client=client,
                resource=resource.key,
                request=request,
                **form.terms(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, GRANT_ERROR_FIELDS)
        else:
            messages.success(request, _("The grant is in force."))
            return redirect("sharing:grant_detail", pk=grant.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "sharing/access/grant_new.html",
        {"form": form, "resource": resource, "has_clients": bool(choices)},
        status=status,
    )


def _grant_context(request: HttpRequest, grant: Grant, form: RevokeForm) -> dict[str, Any]:
    resource = selectors.resources_all_map().get(grant.resource)
    fields = {f.key: f for f in resource.fields} if resource else {}
    dims = {d.key: d for d in resource.dimensions} if resource else {}
    filters = []
    for key, value in grant.row_filters.items():
        dim = dims.get(key)
        labels = dict((str(v), label) for v, label in dim.values()) if dim else {}
        filters.append((dim.label if dim else key, labels.get(value, value)))
    names = region_names(grant.region_codes)
    return {
        "grant": grant,
        "resource": resource,
        "title": str(resource.title) if resource else grant.resource,
        "fields": [(fields[k].title if k in fields else k, k in grant.unmasked) for k in grant.fields],
        "regions": [(code, names.get(code, code)) for code in grant.region_codes],
        "filters": filters,
        "active": grant.is_active(),
        "calls": list(grant.calls.order_by("-at", "-id")[:20]),
        "form": form,
    }


@access_page(P.GRANT)
def grant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.get_grant_for(request.user, pk)
    return render(request, "sharing/access/grant_detail.html", _grant_context(request, grant, RevokeForm()))


@access_page(P.GRANT, methods=("POST",))
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.get_grant_for(request.user, pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            grants.grant_revoke(
                actor=request.user, grant=grant, reason=form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The grant is revoked; its next call is refused."))
            return redirect("sharing:grant_detail", pk=grant.pk)
    return render(
        request, "sharing/access/grant_detail.html", _grant_context(request, grant, form), status=400
    )


# --- the access log ----------------------------------------------------------------------------------


@access_page(P.ACCESS_LOG)
def access_log(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(
        request.GET or None,
        departments=selectors.log_departments(request.user),
        resources=selectors.resources(),
    )
    filters = selectors.LogFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.LogFilters(
            department=data.get("department"), resource=data.get("resource") or "", start=data.get("start"),
            end=data.get("end"),
        )  # fmt: skip
    calls = selectors.call_log(viewer=request.user, filters=filters)
    page = Paginator(calls, PAGE_SIZE).get_page(request.GET.get("page"))
    titles = _labels({c.resource for c in page})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "sharing/access/log.html",
        {
            "form": form,
            "page": page,
            "rows": [(c, titles[c.resource]) for c in page],
            "query": query.urlencode(),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@access_page(P.ACCESS_LOG)
def access_log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.get_call_for(request.user, pk)
    regions = selectors.call_regions(call, request.user)
    names = region_names([r.region_code for r in regions])
    resource = selectors.resources_all_map().get(call.resource)
    titles = {f.key: f.title for f in resource.fields} if resource else {}
    return render(
        request,
        "sharing/access/log_detail.html",
        {
            "call": call,
            "title": str(resource.title) if resource else call.resource,
            "fields": [(titles.get(k, k), k in call.unmasked) for k in call.fields],
            "regions": [(r, names.get(r.region_code, r.region_code)) for r in regions],
            "rows_here": sum(r.rows for r in regions),
        },
    )
