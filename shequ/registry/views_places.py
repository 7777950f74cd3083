"""Pages about places: buildings (with their compact house grid), houses, organizations and key
places, and the forms that create and change them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards, personal
from shequ.core.models import Region
from shequ.core.permissions import Perm, has_perm
from shequ.registry import forms, selectors, services
from shequ.registry.models import House, HouseUse, KeyPlaceKind, Organization, Person, PersonStatus
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.views import (
    apply_errors,
    can,
    count_subquery,
    crumbs_for,
    edit_regions,
    page_of,
    posted,
    region_in_scope,
    registry_page,
    without_people,
)

SHOWN = 20


def _viewer(request: HttpRequest) -> Any:
    return request.user


def _number_key(house: House) -> tuple[int, str]:
    return (len(house.number), house.number)


def house_grid(houses: Sequence[House]) -> list[dict[str, Any]]:
    """Houses grouped by unit, then by floor from the top down: the building at a glance."""
    by_unit: dict[Any, list[House]] = defaultdict(list)
    for house in houses:
        by_unit[house.unit].append(house)
    groups = []
    units = sorted((u for u in by_unit if u is not None), key=lambda u: (len(u.number), u.number))
    for unit in [*units, None] if None in by_unit else units:
        floors: dict[int | None, list[House]] = defaultdict(list)
        for house in by_unit[unit]:
            floors[house.floor].append(house)
        rows = [
            {"floor": floor, "houses": sorted(floors[floor], key=_number_key)}
            for floor in sorted((f for f in floors if f is not None), reverse=True)
        ]
        if None in floors:
            rows.append({"floor": None, "houses": sorted(floors[None], key=_number_key)})
        groups.append({"unit": unit, "rows": rows, "count": len(by_unit[unit])})
    return groups


USE_ORDER = [HouseUse.OWNER_OCCUPIED, HouseUse.RENTED, HouseUse.VACANT, HouseUse.BUSINESS]


@registry_page(P.VIEW_PLACES)
def building(request: HttpRequest, building_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_building_for(viewer, building_id)
    houses = list(
        selectors.house_list(viewer=viewer, building=found).annotate(
            residents=count_subquery(Person.objects.filter(status=PersonStatus.ACTIVE), "house")
        )
    )
    uses = {use: 0 for use in USE_ORDER}
    for house in houses:
        uses[HouseUse(house.use)] = uses.get(HouseUse(house.use), 0) + 1
    code = found.region_code
    context = {
        "building": found,
        "grid": house_grid(houses),
        "house_count": len(houses),
        "resident_count": sum(h.residents for h in houses),
        "legend": [{"use": use, "label": use.label, "count": uses[use]} for use in USE_ORDER],
        "units": list(selectors.unit_list(viewer=viewer, building=found)),
        "organizations": list(selectors.organization_list(viewer=viewer).filter(building=found)[:SHOWN]),
        "key_places": list(selectors.key_place_list(viewer=viewer).filter(building=found)[:SHOWN]),
        "timeline": selectors.timeline_for(
            viewer=viewer, object_type="building", object_id=found.pk, request=request
        ),
        "region": Region.objects.filter(code=code).first(),
        "crumbs": crumbs_for(viewer, code),
        "sees_people": can(request, P.VIEW_PEOPLE, code),
        "can_edit": can(request, P.EDIT, code),
    }
    return render(request, "registry/building.html", context)


def house_context(
    request: HttpRequest, house: House, *, use_form: forms.HouseUseForm | None = None
) -> dict[str, Any]:
    viewer = _viewer(request)
    code = house.region_code
    sees_people = can(request, P.VIEW_PEOPLE, code)
    timeline = selectors.house_timeline(viewer, house.pk, request)
    context: dict[str, Any] = {
        "house": house,
        "crumbs": crumbs_for(viewer, code),
        "crumb_building": house.building,
        "sees_people": sees_people,
        "organizations": list(selectors.organization_list(viewer=viewer).filter(house=house)[:SHOWN]),
        "key_places": list(selectors.key_place_list(viewer=viewer).filter(house=house)[:SHOWN]),
        "timeline": timeline if sees_people else without_people(viewer, timeline),
        "can_edit": can(request, P.EDIT, code),
        "can_visit": can(request, P.VISIT, code),
        "use_form": use_form or forms.HouseUseForm(initial={"use": house.use}, prefix="use"),
    }
    if sees_people:
        context.update(
            residents=list(selectors.residence_list(viewer=viewer, house=house, current=True)),
            former=list(selectors.residence_list(viewer=viewer, house=house, current=False)[:SHOWN]),
            households=list(selectors.household_list(viewer=viewer, house=house)),
            visits=list(selectors.visit_list(viewer=viewer, house=house)[:SHOWN]),
        )
    return context


@registry_page(P.VIEW_PLACES)
def house(request: HttpRequest, house_id: int) -> HttpResponse:
    found = selectors.get_house_for(_viewer(request), house_id)
    return render(request, "registry/house.html", house_context(request, found))


@registry_page(P.EDIT, methods=("POST",))
def house_use(request: HttpRequest, house_id: int) -> HttpResponse:
    """The quick correction of a house's use (rented, vacant …), reason in one tap."""
    viewer = _viewer(request)
    found = selectors.get_house_for(viewer, house_id)
    guards.require(request, P.EDIT, found.region_code)
    form = forms.HouseUseForm(request.POST, prefix="use")
    if form.is_valid():
        try:
            services.house_update(
                actor=viewer,
                house=found,
                changes={"use": form.cleaned_data["use"]},
                reason=form.reason(),
                request=request,
            )
        except ValidationError as exc:
            found.refresh_from_db()
            apply_errors(form, exc)
        else:
            messages.success(request, _("The use of the house is changed."))
            return redirect("registry:house", house_id=found.pk)
    return render(request, "registry/house.html", house_context(request, found, use_form=form), status=400)


HOUSE_EDIT_FIELDS = ("floor", "number", "area", "use", "property_type")


@registry_page(P.EDIT, methods=("GET", "POST"))
def house_edit(request: HttpRequest, house_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_house_for(viewer, house_id)
    guards.require(request, P.EDIT, found.region_code)
    initial = {f: getattr(found, f) for f in HOUSE_EDIT_FIELDS}
    form = forms.HouseEditForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {
            f: form.cleaned_data[f]
            for f in HOUSE_EDIT_FIELDS
            if form.cleaned_data[f] not in ("", None)
            and str(form.cleaned_data[f]) != str(initial[f] if initial[f] is not None else "")
        }
        try:
            services.house_update(
                actor=viewer,
                house=found,
                changes=changes,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            found.refresh_from_db()
            apply_errors(form, exc)
        else:
            messages.success(request, _("The house is changed."))
            return redirect("registry:house", house_id=found.pk)
    return render(
        request,
        "registry/house_edit.html",
        {"house": found, "form": form},
        status=400 if form.errors else 200,
    )


# --- Creating buildings, units and houses -------------------------------------------------------


@registry_page(P.EDIT, methods=("GET", "POST"))
def building_create(request: HttpRequest, code: str) -> HttpResponse:
    viewer = _viewer(request)
    region = region_in_scope(viewer, code, P.EDIT)
    roads = selectors.road_list(viewer=viewer, region_code=code)
    form = forms.BuildingForm(posted(request), roads=roads)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.building_create(
                actor=viewer, region=region, data=form.building_data(), request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The building is registered."))
            return redirect("registry:building", building_id=created.pk)
    return render(
        request,
        "registry/building_create.html",
        {"region": region, "form": form},
        status=400 if form.errors else 200,
    )


@registry_page(P.EDIT, methods=("GET", "POST"))
def unit_create(request: HttpRequest, building_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_building_for(viewer, building_id)
    guards.require(request, P.EDIT, found.region_code)
    form = forms.UnitForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_create(
                actor=viewer, building=found, number=form.cleaned_data["number"], request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The unit is added."))
            return redirect("registry:building", building_id=found.pk)
    context = {"building": found, "form": form, "title": _("New unit")}
    return render(request, "registry/place_form.html", context, status=400 if form.errors else 200)


@registry_page(P.EDIT, methods=("GET", "POST"))
def house_create(request: HttpRequest, building_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_building_for(viewer, building_id)
    guards.require(request, P.EDIT, found.region_code)
    units = selectors.unit_list(viewer=viewer, building=found)
    initial: dict[str, Any] = {}
    unit_id = request.GET.get("unit", "")
    if unit_id.isdigit():
        initial["unit"] = units.filter(pk=int(unit_id)).first()
    form = forms.HouseForm(posted(request), units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.house_create(
                actor=viewer, building=found, data=form.cleaned_data, request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The house is added."))
            return redirect("registry:house", house_id=created.pk)
    context = {"building": found, "form": form, "title": _("New house")}
    return render(request, "registry/place_form.html", context, status=400 if form.errors else 200)


# --- Organizations and key places ---------------------------------------------------------------


@registry_page(P.VIEW_PLACES)
def organization_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    query = " ".join(request.GET.get("q", "").split())[:100]
    qs = selectors.organization_list(viewer=viewer)
    if query:
        qs = qs.filter(name__contains=query)
    context = {"page": page_of(request, qs), "query": query, "can_add": bool(edit_regions(viewer).exists())}
    return render(request, "registry/organization_list.html", context)


def organization_context(request: HttpRequest, org: Organization, **extra: Any) -> dict[str, Any]:
    viewer = _viewer(request)
    return {
        "org": org,
        "key_places": list(
            selectors.key_place_list(viewer=viewer, active=None).filter(organization=org)[:SHOWN]
        ),
        "timeline": selectors.organization_timeline(viewer, org.pk, request),
        "can_reveal": bool(org.contact_phone)
        and has_perm(viewer, Perm.REVEAL_PERSONAL_DATA, org.region_code),
        "revealed": {},
        "reveal_form": None,
        **extra,
    }


@registry_page(P.VIEW_PLACES)
def organization(request: HttpRequest, organization_id: int) -> HttpResponse:
    found = selectors.get_organization_for(_viewer(request), organization_id)
    return render(request, "registry/organization.html", organization_context(request, found))


@registry_page(P.VIEW_PLACES, methods=("POST",))
def organization_reveal(request: HttpRequest, organization_id: int) -> HttpResponse:
    found = selectors.get_organization_for(_viewer(request), organization_id)
    form = forms.RevealForm(request.POST)
    revealed: dict[str, str] = {}
    if form.is_valid() and form.cleaned_data["field"] == "contact_phone":
        try:
            revealed["contact_phone"] = personal.reveal(
                actor=request.user,
                obj=found,
                field="contact_phone",
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
    context = organization_context(request, found, revealed=revealed, reveal_form=form)
    return render(request, "registry/organization.html", context, status=200 if revealed else 400)


def _site(request: HttpRequest) -> tuple[House | None, Organization | None]:
    """The house (``?house=``) or organization (``?organization=``) a new entry is created at."""
    viewer = _viewer(request)
    house = org = None
    house_id = request.GET.get("house", "")
    if house_id:
        house = selectors.get_house_for(viewer, house_id)
        guards.require(request, P.EDIT, house.region_code)
    org_id = request.GET.get("organization", "")
    if org_id:
        org = selectors.get_organization_for(viewer, org_id)
        guards.require(request, P.EDIT, org.region_code)
    return house, org


@registry_page(P.EDIT, methods=("GET", "POST"))
def organization_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    house, _org = _site(request)
    form = forms.OrganizationForm(posted(request), regions=edit_regions(viewer))
    if house is not None:
        del form.fields["region"], form.fields["address"]
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in forms.OrganizationForm.FIELDS if f in form.cleaned_data}
        if house is not None:
            data["house"] = house
        try:
            created = services.organization_create(
                actor=viewer, data=data, region=form.cleaned_data.get("region"), request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The organization is registered."))
            return redirect("registry:organization", organization_id=created.pk)
    context = {"form": form, "house": house, "title": _("New organization")}
    return render(request, "registry/place_form.html", context, status=400 if form.errors else 200)


@registry_page(P.VIEW_PLACES)
def key_place_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    kind = request.GET.get("kind", "")
    kind = kind if kind in KeyPlaceKind.values else ""
    qs = selectors.key_place_list(viewer=viewer, kind=kind or None)
    context = {
        "page": page_of(request, qs),
        "kind": kind,
        "kinds": KeyPlaceKind.choices,
        "can_add": bool(edit_regions(viewer).exists()),
    }
    return render(request, "registry/key_place_list.html", context)


@registry_page(P.VIEW_PLACES)
def key_place(request: HttpRequest, key_place_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_key_place_for(viewer, key_place_id)
    context = {
        "place": found,
        "timeline": selectors.timeline_for(
            viewer=viewer, object_type="key_place", object_id=found.pk, request=request
        ),
    }
    return render(request, "registry/key_place.html", context)


@registry_page(P.EDIT, methods=("GET", "POST"))
def key_place_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    house, org = _site(request)
    form = forms.KeyPlaceForm(posted(request), regions=edit_regions(viewer))
    if house is not None or org is not None:
        del form.fields["region"], form.fields["address"]
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = {
            f: form.cleaned_data[f] for f in forms.KeyPlaceForm.FIELDS if f in form.cleaned_data
        }
        if house is not None:
            data["house"] = house
        if org is not None:
            data["organization"] = org
        try:
            created = services.key_place_create(
                actor=viewer, data=data, region=form.cleaned_data.get("region"), request=request
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The key place is registered."))
            return redirect("registry:key_place", key_place_id=created.pk)
    context = {"form": form, "house": house, "organization": org, "title": _("New key place")}
    return render(request, "registry/place_form.html", context, status=400 if form.errors else 200)
