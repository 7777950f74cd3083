"""The grid's settings pages: the category tree with its deadlines (read by all region staff,
changed by the province's catalog administrators), the routing rules of a region, and the
holiday calendar the working-day deadlines count on."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.permissions import has_perm, scope_q, scopes_for
from shequ.grid import catalog_services, forms, services
from shequ.grid.models import Category, Holiday, RoutingRule
from shequ.grid.permissions import GridPerm as P
from shequ.grid.views import apply_errors, grid_page, posted

# --- Categories ---------------------------------------------------------------------------------


@grid_page((P.VIEW, P.CATALOG))
def categories(request: HttpRequest) -> HttpResponse:
    editor = has_perm(request.user, P.CATALOG)
    cats = list(Category.objects.select_related("parent").order_by("sort_order", "code"))
    if not editor:
        cats = [c for c in cats if c.is_active]
    roots = [c for c in cats if c.parent_id is None]
    tree = [(root, [c for c in cats if c.parent_id == root.pk]) for root in roots]
    return render(request, "grid/categories.html", {"tree": tree, "editor": editor})


@grid_page(P.CATALOG, methods=("GET", "POST"))
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk)
    initial = {f: getattr(category, f) for f in forms.CategoryEditForm.FIELDS}
    form = forms.CategoryEditForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in forms.CategoryEditForm.FIELDS}
        try:
            catalog_services.category_update(
                actor=request.user, category=category, changes=changes, request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The category %(name)s is saved.") % {"name": category.name_zh})
            return redirect("grid:categories")
    return render(
        request,
        "grid/category_edit.html",
        {"category": category, "form": form},
        status=400 if form.errors else 200,
    )


@grid_page(P.CATALOG, methods=("GET", "POST"))
def category_new(request: HttpRequest) -> HttpResponse:
    """Add a main type or a category under one (the tree is the province's, grid.catalog)."""
    head = forms.CategoryNewForm(posted(request))
    defaults = {
        "response_hours": 24,
        "resolution_days": 10,
        "urgent_response_hours": 1,
        "urgent_resolution_hours": 4,
    }
    form = forms.CategoryEditForm(posted(request), initial={**defaults, "is_active": True})
    if request.method == "POST" and head.is_valid() and form.is_valid():
        parent = Category.objects.filter(pk=head.cleaned_data["parent"] or 0).first()
        values = {f: form.cleaned_data[f] for f in forms.CategoryEditForm.FIELDS if f != "is_active"}
        try:
            created = catalog_services.category_create(
                actor=request.user,
                parent=parent,
                code=head.cleaned_data["code"],
                values=values,
                request=request,
            )
        except ValidationError as exc:
            apply_errors(head if {"code", "parent"} & set(getattr(exc, "error_dict", {})) else form, exc)
        else:
            messages.success(request, _("The category %(name)s is added.") % {"name": created.name_zh})
            return redirect("grid:categories")
    return render(
        request,
        "grid/category_new.html",
        {"head": head, "form": form},
        status=400 if (head.errors or form.errors) else 200,
    )


# --- Routing rules ------------------------------------------------------------------------------


def _routing_page(request: HttpRequest, form: Form | None = None, status: int = 200) -> HttpResponse:
    viewer = request.user
    rules = (
        RoutingRule.objects.filter(scope_q(viewer, P.ROUTING))
        .select_related("category", "category__parent", "department", "region")
        .order_by("region_code", "category__sort_order", "category__code")
    )
    if form is None:
        form = forms.RoutingRuleForm(viewer=viewer, scopes=scopes_for(viewer, P.ROUTING))
    return render(request, "grid/routing.html", {"rules": rules, "form": form}, status=status)


@grid_page(P.ROUTING, methods=("GET", "POST"))
def routing(request: HttpRequest) -> HttpResponse:
    """The rules of the viewer's region; a POST adds a rule (or changes the one for the same
    category and area)."""
    if request.method == "GET":
        return _routing_page(request)
    viewer = cast(User, request.user)
    form = forms.RoutingRuleForm(request.POST, viewer=viewer, scopes=scopes_for(viewer, P.ROUTING))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.routing_rule_set(
                actor=viewer,
                category=data["category"],
                region=data["region"],
                department=data["department"],
                auto_dispatch=data["auto_dispatch"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The routing rule is saved."))
            return redirect("grid:routing")
    return _routing_page(request, form, status=400)


@grid_page(P.ROUTING, methods=("POST",))
def routing_delete(request: HttpRequest) -> HttpResponse:
    form = forms.RoutingDeleteForm(request.POST)
    rule = None
    if form.is_valid():
        rule = RoutingRule.objects.filter(
            scope_q(request.user, P.ROUTING), pk=form.cleaned_data["rule"]
        ).first()
    if rule is None:
        messages.error(request, _("There is no such rule in your area."))
        return _routing_page(request, status=400)
    services.routing_rule_delete(actor=cast(User, request.user), rule=rule, request=request)
    messages.success(request, _("The routing rule is deleted."))
    return redirect("grid:routing")


# --- The holiday calendar -----------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
    except ValueError:
        year = today.year
    return year if 2000 <= year <= 2100 else today.year


def _holiday_page(request: HttpRequest, form: Form | None = None, status: int = 200) -> HttpResponse:
    year = _year(request)
    days = Holiday.objects.filter(date__year=year).order_by("date")
    return render(
        request,
        "grid/holidays.html",
        {
            "year": year,
            "days": days,
            "years": [year - 1, year, year + 1],
            "editor": has_perm(request.user, P.CATALOG),
            "form": form or forms.HolidayForm(),
        },
        status=status,
    )


@grid_page((P.VIEW, P.CATALOG), methods=("GET", "POST"))
def holidays(request: HttpRequest) -> HttpResponse:
    """The calendar of a year; a POST (catalog administrators) adds or changes a day."""
    if request.method == "GET":
        return _holiday_page(request)
    form = forms.HolidayForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            catalog_services.holiday_set(
                actor=request.user,
                date=data["date"],
                name=data["name"],
                is_workday=data["is_workday"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(day)s is in the calendar.") % {"day": data["date"].isoformat()})
            return redirect(f"{reverse('grid:holidays')}?year={data['date'].year}")
    else:
        catalog_services.require_catalog(request.user, "grid.holiday_set", "grid.holiday", "", request)
    return _holiday_page(request, form, status=400)


@grid_page((P.VIEW, P.CATALOG), methods=("POST",))
def holiday_delete(request: HttpRequest) -> HttpResponse:
    form = forms.HolidayDeleteForm(request.POST)
    if not form.is_valid():
        catalog_services.require_catalog(request.user, "grid.holiday_remove", "grid.holiday", "", request)
        messages.error(request, _("Choose the day to remove."))
        return _holiday_page(request, status=400)
    day = form.cleaned_data["date"]
    try:
        catalog_services.holiday_remove(actor=request.user, date=day, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _holiday_page(request, status=400)
    messages.success(request, _("%(day)s is removed from the calendar.") % {"day": day.isoformat()})
    return redirect(f"{reverse('grid:holidays')}?year={day.year}")
