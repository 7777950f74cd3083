"""Pages about people: the person page (masked numbers, audited reveal, tags, household, visits,
timeline), the search, and the forms that register, correct, move and tag people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards, personal
from shequ.core import validators as v
from shequ.core.permissions import Perm, has_perm
from shequ.registry import forms, selectors, services
from shequ.registry.addresses import region_names
from shequ.registry.models import Household, Person, PersonStatus, Sex
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.search import person_search
from shequ.registry.views import (
    MOVE_SEARCH_LIMIT,
    apply_errors,
    can,
    crumbs_for,
    get_move_target,
    get_tag_for,
    local_address,
    move_targets,
    posted,
    registry_page,
    with_local_addresses,
)

SEARCH_PAGE_SIZE = 30
VISITS_SHOWN = 20


def _viewer(request: HttpRequest) -> Any:
    return request.user


# --- The person page ----------------------------------------------------------------------------


def person_context(
    request: HttpRequest,
    person: Person,
    *,
    revealed: dict[str, str] | None = None,
    reveal_form: forms.RevealForm | None = None,
    quick_form: forms.PersonQuickForm | None = None,
) -> dict[str, Any]:
    viewer = _viewer(request)
    code = person.region_code
    household = selectors.household_of(viewer=viewer, person=person)
    members = list(selectors.household_member_list(viewer=viewer, household=household)) if household else []
    tags = selectors.person_tag_list(viewer=viewer, person=person, include_ended=True, request=request)
    active = person.status == PersonStatus.ACTIVE
    can_manage_tags = can(request, P.MANAGE_TAGS, code)
    can_verify = can(request, P.VERIFY_TAGS, code)
    tag_rows = [
        {
            "tag": tag,
            "can_end": tag.active and can_manage_tags,
            "can_verify": tag.active
            and can_verify
            and tag.verified_at is None
            and tag.added_by_id != getattr(viewer, "pk", None),
        }
        for tag in tags
    ]
    if quick_form is None:
        quick_form = forms.PersonQuickForm(initial={"residence_type": person.residence_type}, prefix="quick")
    house = person.house
    return {
        "person": person,
        "crumbs": crumbs_for(viewer, code, P.VIEW_PEOPLE),
        "crumb_building": house.building if house is not None else None,
        "crumb_house": house,
        "age": person.age(),
        "house": person.house,
        "household": household,
        "members": members,
        "tag_rows": tag_rows,
        "residences": list(selectors.residence_list(viewer=viewer, person=person, current=None)),
        "visits": list(selectors.visit_list(viewer=viewer, person=person)[:VISITS_SHOWN]),
        "timeline": selectors.person_timeline(viewer, person.pk, request),
        "revealed": revealed or {},
        "reveal_form": reveal_form,
        "quick_form": quick_form,
        "can_reveal": has_perm(viewer, Perm.REVEAL_PERSONAL_DATA, code),
        "can_edit": active and can(request, P.EDIT, code),
        "can_record_death": person.status != PersonStatus.DECEASED and can(request, P.EDIT, code),
        "can_tag": active and can_manage_tags,
        "can_visit": active and can(request, P.VISIT, code),
        "can_start_household": active and household is None and can(request, P.EDIT, code),
        "household_form": forms.HouseholdCreateForm(prefix="household"),
    }


@registry_page(P.VIEW_PEOPLE)
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    found = selectors.get_person_for(_viewer(request), person_id)
    return render(request, "registry/person.html", person_context(request, found))


@registry_page(P.VIEW_PEOPLE, methods=("POST",))
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    """Show the full ID or phone number once, for a reason; allowed or not, it is audited."""
    found = selectors.get_person_for(_viewer(request), person_id)
    form = forms.RevealForm(request.POST)
    revealed: dict[str, str] = {}
    if form.is_valid() and form.cleaned_data["field"] in ("id_number", "phone"):
        field = form.cleaned_data["field"]
        try:
            revealed[field] = personal.reveal(
                actor=request.user,
                obj=found,
                field=field,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
    context = person_context(request, found, revealed=revealed, reveal_form=form)
    return render(request, "registry/person.html", context, status=200 if revealed else 400)


# --- Search -------------------------------------------------------------------------------------


@registry_page(P.VIEW_PEOPLE)
def search(request: HttpRequest) -> HttpResponse:
    """One search box and filters (``search.person_search``: scoped, masked, restricted tags only
    with a grant and audited when they filter the list)."""
    viewer = _viewer(request)
    categories = selectors.tag_category_list(viewer=viewer)
    labels = {c.code: c.label for c in categories}
    form = forms.SearchForm(request.GET or None, categories=categories)
    results = None
    rows: list[dict[str, Any]] = []
    if request.GET and form.is_valid():
        data = form.cleaned_data
        try:
            results = person_search(
                viewer=viewer,
                q=data["q"],
                address=data["address"],
                tag=data["tag"],
                age_min=data["age_min"],
                age_max=data["age_max"],
                residence_type=data["residence_type"],
                sex=data["sex"],
                status=data["status"] or PersonStatus.ACTIVE,
                page=int(page) if (page := request.GET.get("page", "1")).isdigit() and len(page) < 6 else 0,
                page_size=SEARCH_PAGE_SIZE,
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc, {"region_code": "q"})
        else:
            names = region_names(hit.region_code for hit in results.items)
            rows = [
                {
                    "hit": hit,
                    "status": PersonStatus(hit.status).label,
                    "sex": Sex(hit.sex).label if hit.sex else "",
                    "address": local_address(hit.address, hit.region_code, names),
                    "tags": [labels.get(code, code) for code in hit.tags],
                }
                for hit in results.items
            ]
    context = {"form": form, "results": results, "rows": rows}
    return render(request, "registry/search.html", context, status=400 if form.errors else 200)


# --- Registering and moving people --------------------------------------------------------------


def _redirect_person(request: HttpRequest, person_id: int, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("registry:person", person_id=person_id)


@registry_page(P.EDIT, methods=("GET", "POST"))
def person_register(request: HttpRequest, house_id: int) -> HttpResponse:
    viewer = _viewer(request)
    house = selectors.get_house_for(viewer, house_id)
    guards.require(request, P.EDIT, house.region_code)
    households = list(selectors.household_list(viewer=viewer, house=house))
    form = forms.PersonRegisterForm(posted(request), households=households)
    offer_move_in = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        household = next((h for h in households if h.pk == data["household"]), None)
        try:
            registered = services.person_register(
                actor=viewer,
                data=form.person_data(),
                house=house,
                relation=data["relation"],
                since=data["since"],
                household=household,
                relation_to_head=data["relation_to_head"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            codes = [e.code for e in getattr(exc, "error_dict", {}).get("id_number", [])]
            offer_move_in = "moved_out" in codes
        else:
            return _redirect_person(
                request, registered.pk, _("%(name)s is registered.") % {"name": registered.name}
            )
    context = {"house": house, "form": form, "offer_move_in": offer_move_in}
    return render(request, "registry/person_register.html", context, status=400 if form.errors else 200)


@registry_page(P.EDIT, methods=("GET", "POST"))
def person_move_in(request: HttpRequest, house_id: int) -> HttpResponse:
    """Someone who moved out of the area earlier lives here again: their record continues."""
    viewer = _viewer(request)
    house = selectors.get_house_for(viewer, house_id)
    guards.require(request, P.EDIT, house.region_code)
    form = forms.MoveInForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        returning = selectors.person_for_move_in(
            viewer=viewer, id_type=data["id_type"], id_number=v.normalize_code(data["id_number"])
        )
        if returning is None:
            form.add_error("id_number", _("Nobody who moved out of the area has this ID number."))
        else:
            try:
                services.person_move_in(
                    actor=viewer,
                    person=returning,
                    house=house,
                    relation=data["relation"],
                    on=data["on"],
                    reason=data["reason"],
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return _redirect_person(request, returning.pk, _("The move in is recorded."))
    return render(
        request,
        "registry/person_move_in.html",
        {"house": house, "form": form},
        status=400 if form.errors else 200,
    )


def _initial(person: Person) -> dict[str, Any]:
    values = {f: getattr(person, f) for f in forms.PersonFieldsForm.PERSON_FIELDS}
    values["id_number"] = ""
    values["phone"] = ""
    if values["birth_date"]:
        values["birth_date"] = values["birth_date"].isoformat()
    return values


def _changed(form: forms.PersonFieldsForm, person: Person, fields: tuple[str, ...]) -> dict[str, Any]:
    """What the form changes: fields that differ from the person's values; an empty ID or phone
    number keeps the current one."""
    changes: dict[str, Any] = {}
    for field in fields:
        if field not in form.cleaned_data:
            continue
        new = form.cleaned_data[field]
        if field in ("id_number", "phone"):
            if new:
                changes[field] = new
            continue
        old = getattr(person, field)
        old_text = old.isoformat() if isinstance(old, dt.date) else str(old or "")
        if str(new or "") != old_text:
            changes[field] = new
    return changes


@registry_page(P.EDIT, methods=("GET", "POST"))
def person_correct(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_person_for(viewer, person_id)
    guards.require(request, P.EDIT, found.region_code)
    form = forms.PersonCorrectForm(posted(request), initial=_initial(found))
    if request.method == "POST" and form.is_valid():
        changes = _changed(form, found, forms.PersonFieldsForm.PERSON_FIELDS)
        try:
            services.person_correct(
                actor=viewer,
                person=found,
                changes=changes,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            found.refresh_from_db()
            apply_errors(form, exc)
        else:
            return _redirect_person(request, found.pk, _("The correction is saved."))
    return render(
        request,
        "registry/person_correct.html",
        {"person": found, "form": form},
        status=400 if form.errors else 200,
    )


@registry_page(P.EDIT, methods=("POST",))
def person_quick(request: HttpRequest, person_id: int) -> HttpResponse:
    """A grid worker's quick correction: a new phone number or residence type, reason in one tap."""
    viewer = _viewer(request)
    found = selectors.get_person_for(viewer, person_id)
    guards.require(request, P.EDIT, found.region_code)
    form = forms.PersonQuickForm(request.POST, prefix="quick")
    if form.is_valid():
        changes: dict[str, Any] = {}
        if form.cleaned_data["phone"]:
            changes["phone"] = form.cleaned_data["phone"]
        if form.cleaned_data["residence_type"] != found.residence_type:
            changes["residence_type"] = form.cleaned_data["residence_type"]
        try:
            services.person_correct(
                actor=viewer, person=found, changes=changes, reason=form.reason(), request=request
            )
        except ValidationError as exc:
            found.refresh_from_db()
            apply_errors(form, exc)
        else:
            return _redirect_person(request, found.pk, _("The correction is saved."))
    context = person_context(request, found, quick_form=form)
    return render(request, "registry/person.html", context, status=400)


@registry_page(P.EDIT, methods=("GET", "POST"))
def person_move(request: HttpRequest, person_id: int) -> HttpResponse:
    """Move to another house, in this grid or another community: find the house by its address."""
    viewer = _viewer(request)
    found = selectors.get_person_for(viewer, person_id)
    guards.require(request, P.EDIT, found.region_code)
    search = forms.HouseSearchForm(request.GET or None)
    candidates = move_targets(viewer, search.cleaned_data["q"]) if request.GET and search.is_valid() else []
    candidates = with_local_addresses(c for c in candidates if c.pk != found.house_id)
    form = forms.MoveForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = get_move_target(viewer, data["house"])
        candidates = candidates or with_local_addresses([target])
        old_house_id = found.house_id
        try:
            services.person_move(
                actor=viewer,
                person=found,
                house=target,
                relation=data["relation"] or None,
                on=data["on"],
                reason=data["reason"],
                request=request,
            )
        except ValidationError as exc:
            found.refresh_from_db()
            apply_errors(form, exc, {"date": "on"})
        else:
            messages.success(request, _("The move is recorded."))
            if can(request, P.VIEW_PEOPLE, target.region_code):
                return redirect("registry:person", person_id=found.pk)
            # Moved out of the worker's regions: they no longer see the person, but the old house.
            if old_house_id is not None:
                return redirect("registry:house", house_id=old_house_id)
            return redirect("registry:index")
    context = {
        "person": found,
        "search": search,
        "candidates": candidates,
        "more": len(candidates) >= MOVE_SEARCH_LIMIT - 1,
        "form": form,
    }
    return render(request, "registry/person_move.html", context, status=400 if form.errors else 200)


def _status_change(
    request: HttpRequest,
    person_id: int,
    form_class: type[forms.MoveOutForm] | type[forms.DeathForm],
    change: Callable[[Person, dict[str, Any]], object],
    *,
    title: str,
    done: str,
) -> HttpResponse:
    """A form that ends a person's life in the registry here (a move out, a death), on
    ``person_status.html``: ``change`` calls the service with the form's data."""
    found = selectors.get_person_for(_viewer(request), person_id)
    guards.require(request, P.EDIT, found.region_code)
    form = form_class(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            change(found, form.cleaned_data)
        except ValidationError as exc:
            found.refresh_from_db()
            apply_errors(form, exc, {"date": "on"})
        else:
            return _redirect_person(request, found.pk, done)
    context = {"person": found, "form": form, "title": title}
    return render(request, "registry/person_status.html", context, status=400 if form.errors else 200)


@registry_page(P.EDIT, methods=("GET", "POST"))
def person_move_out(request: HttpRequest, person_id: int) -> HttpResponse:
    def move_out(person: Person, data: dict[str, Any]) -> object:
        return services.person_move_out(
            actor=_viewer(request),
            person=person,
            on=data["on"],
            destination=data["destination"],
            reason=data["reason"],
            request=request,
        )

    return _status_change(
        request,
        person_id,
        forms.MoveOutForm,
        move_out,
        title=_("Record a move out of the area"),
        done=_("The move out is recorded."),
    )


@registry_page(P.EDIT, methods=("GET", "POST"))
def person_death(request: HttpRequest, person_id: int) -> HttpResponse:
    def record_death(person: Person, data: dict[str, Any]) -> object:
        return services.person_record_death(
            actor=_viewer(request), person=person, on=data["on"], reason=data["reason"], request=request
        )

    return _status_change(
        request,
        person_id,
        forms.DeathForm,
        record_death,
        title=_("Record a death"),
        done=_("The death is recorded."),
    )


# --- Households ---------------------------------------------------------------------------------


@registry_page(P.VIEW_PEOPLE)
def household(request: HttpRequest, household_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_household_for(viewer, household_id)
    context = {
        "household": found,
        "members": list(selectors.household_member_list(viewer=viewer, household=found)),
        "former": list(
            selectors.household_member_list(viewer=viewer, household=found, current=False).filter(
                end_date__isnull=False
            )
        ),
        "visits": list(selectors.visit_list(viewer=viewer, household=found)[:VISITS_SHOWN]),
        "timeline": selectors.household_timeline(viewer, found.pk, request),
        "can_visit": found.end_date is None and can(request, P.VISIT, found.region_code),
        "can_edit": found.end_date is None and can(request, P.EDIT, found.region_code),
    }
    return render(request, "registry/household.html", context)


@registry_page(P.EDIT, methods=("POST",))
def household_create(request: HttpRequest, person_id: int) -> HttpResponse:
    """Start a household headed by this person, at their home."""
    viewer = _viewer(request)
    head = selectors.get_person_for(viewer, person_id)
    guards.require(request, P.EDIT, head.region_code)
    form = forms.HouseholdCreateForm(request.POST, prefix="household")
    if form.is_valid():
        try:
            created: Household = services.household_create(
                actor=viewer,
                head=head,
                number=form.cleaned_data["number"],
                kind=form.cleaned_data["kind"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The household is created."))
            return redirect("registry:household", household_id=created.pk)
    context = person_context(request, head)
    context["household_form"] = form
    return render(request, "registry/person.html", context, status=400)


# --- Population tags ----------------------------------------------------------------------------


@registry_page(P.MANAGE_TAGS, methods=("GET", "POST"))
def tag_add(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.get_person_for(viewer, person_id)
    guards.require(request, P.MANAGE_TAGS, found.region_code)
    categories = selectors.tag_category_list(viewer=viewer, region_code=found.region_code)
    form = forms.TagAddForm(posted(request), categories=categories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.tag_add(
                actor=viewer,
                person=found,
                category=data["category"],
                source=data["source"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                subtype=data["subtype"],
                grade=data["grade"],
                note=data["note"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _redirect_person(request, found.pk, _("The tag is added."))
    return render(
        request, "registry/tag_add.html", {"person": found, "form": form}, status=400 if form.errors else 200
    )


@registry_page(P.MANAGE_TAGS, methods=("GET", "POST"))
def tag_end(request: HttpRequest, tag_id: int) -> HttpResponse:
    viewer = _viewer(request)
    tag = get_tag_for(viewer, tag_id)
    form = forms.TagEndForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.tag_end(
                actor=viewer,
                tag=tag,
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _redirect_person(request, tag.person_id, _("The tag is ended."))
    context = {"tag": tag, "person": tag.person, "form": form}
    return render(request, "registry/tag_end.html", context, status=400 if form.errors else 200)


@registry_page(P.VERIFY_TAGS, methods=("POST",))
def tag_verify(request: HttpRequest, tag_id: int) -> HttpResponse:
    viewer = _viewer(request)
    tag = get_tag_for(viewer, tag_id)
    try:
        services.tag_verify(actor=viewer, tag=tag, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("registry:person", person_id=tag.person_id)
    return _redirect_person(request, tag.person_id, _("The tag is verified."))
