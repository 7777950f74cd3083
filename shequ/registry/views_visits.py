"""The grid worker's pages (on a phone): my grid, my care list, follow-ups, recording a visit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.models import Region
from shequ.core.permissions import Viewer, codes_q, scopes_for
from shequ.registry import forms, selectors, services
from shequ.registry.models import PersonTag, Sensitivity, TagGroup, Visit
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.views import (
    apply_errors,
    buildings_with_counts,
    page_of,
    posted,
    registry_page,
    with_local_addresses,
)

CARE_PAGE_SIZE = 30
BUILDINGS_SHOWN = 50
OVERDUE_SHOWN = 5
UPCOMING_DAYS = 14


def _viewer(request: HttpRequest) -> Any:
    return request.user


def care_list(viewer: Viewer, codes: list[str]) -> Any:
    """People of care populations living in ``codes`` (the viewer's visiting regions), those
    visited longest ago first, with their care tags (normal sensitivity only) and last visit."""
    today = timezone.localdate()
    last_visit = Visit.objects.filter(person=OuterRef("pk")).order_by("-visited_at").values("visited_at")[:1]
    care_tags = PersonTag.objects.filter(
        active=True, category__group=TagGroup.CARE, category__sensitivity=Sensitivity.NORMAL
    ).select_related("category")
    return (
        selectors.person_list(viewer=viewer)
        .filter(codes_q(codes))
        .filter(selectors.care_person_q(today))
        .annotate(last_visit=Subquery(last_visit))
        .prefetch_related(Prefetch("tags", queryset=care_tags, to_attr="care_tags"))
        .order_by(F("last_visit").asc(nulls_first=True), "name_pinyin", "pk")
    )


@registry_page(P.VISIT)
def my_grid(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    codes = scopes_for(viewer, P.VISIT)
    buildings = buildings_with_counts(selectors.building_list(viewer=viewer).filter(codes_q(codes)))
    care = Paginator(care_list(viewer, codes), CARE_PAGE_SIZE).get_page(request.GET.get("page"))
    overdue, overdue_count = selectors.overdue_follow_ups_head(viewer=viewer, limit=OVERDUE_SHOWN)
    context = {
        "regions": list(Region.objects.filter(code__in=codes)),
        "buildings": with_local_addresses(buildings[: BUILDINGS_SHOWN + 1]),
        "buildings_shown": BUILDINGS_SHOWN,
        "care": care,
        "overdue": overdue,
        "overdue_count": overdue_count,
        "search_form": forms.SearchForm(),
    }
    return render(request, "registry/my_grid.html", context)


@registry_page(P.VISIT)
def follow_ups(request: HttpRequest) -> HttpResponse:
    """Overdue follow-ups of care residents (the home page's item), then those due soon."""
    viewer = _viewer(request)
    today = timezone.localdate()
    upcoming = (
        selectors.visit_list(viewer=viewer)
        .filter(codes_q(scopes_for(viewer, P.VISIT)))
        .filter(
            follow_up_done_at__isnull=True,
            follow_up_date__gte=today,
            follow_up_date__lte=today + timedelta(days=UPCOMING_DAYS),
        )
        .order_by("follow_up_date", "pk")
    )
    context = {
        "overdue": page_of(request, selectors.overdue_follow_ups(viewer=viewer, today=today)),
        "upcoming": list(upcoming[:50]),
        "upcoming_days": UPCOMING_DAYS,
        "today": today,
    }
    return render(request, "registry/follow_ups.html", context)


def _target(request: HttpRequest) -> dict[str, Any]:
    """Whom the visit is to (``?person=``, ``?household=`` or ``?house=``), in the viewer's scope."""
    viewer = _viewer(request)
    if request.GET.get("person"):
        return {"person": selectors.get_person_for(viewer, request.GET["person"])}
    if request.GET.get("household"):
        return {"household": selectors.get_household_for(viewer, request.GET["household"])}
    if request.GET.get("house"):
        return {"house": selectors.get_house_for(viewer, request.GET["house"])}
    raise Http404


@registry_page(P.VISIT, methods=("GET", "POST"))
def visit_record(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    target = _target(request)
    subject = next(iter(target.values()))
    guards.require(request, P.VISIT, subject.region_code)
    earlier = None
    if request.GET.get("follows_up"):
        earlier = selectors.get_visit_for(viewer, request.GET["follows_up"])
    initial = {"purpose": "follow_up"} if earlier else {}
    form = forms.VisitForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.visit_record(
                actor=viewer,
                visited_at=data["visited_at"],
                purpose=data["purpose"],
                notes=data["notes"],
                findings=data["findings"],
                follow_up_date=data["follow_up_date"],
                follows_up=earlier,
                request=request,
                **target,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The visit is recorded."))
            kind, obj = next(iter(target.items()))
            return redirect(f"registry:{kind}", **{f"{kind}_id": obj.pk})
    context = {"form": form, "subject": subject, "kind": next(iter(target)), "earlier": earlier}
    return render(request, "registry/visit_record.html", context, status=400 if form.errors else 200)


@registry_page(P.VISIT, methods=("POST",))
def follow_up_done(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Mark a follow-up done without a new visit (e.g. settled by phone)."""
    viewer = _viewer(request)
    visit = selectors.get_visit_for(viewer, visit_id)
    try:
        services.visit_follow_up_done(actor=viewer, visit=visit, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The follow-up is marked done."))
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("registry:follow_ups")
