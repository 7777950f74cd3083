"""Editing a household from its page: add a person found by search, remove a member, change the
head, correct a member's relation to the head. Every change goes through the registry services
(region-scoped, validated, audited); this page only parses input and shows the forms again with
their errors when a service refuses."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.registry import forms, selectors, services
from shequ.registry.models import Household, HouseholdMember, Person
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.search import person_search
from shequ.registry.views import apply_errors, registry_page

SEARCH_LIMIT = 10
OPS = ("add", "remove", "relation", "head")


def _prefix(op: str, person_id: int) -> str:
    # One form per member and per search hit: the prefix keeps their field ids unique.
    return f"{op}{person_id}"


def _members(viewer: Any, household: Household) -> list[HouseholdMember]:
    return list(selectors.household_member_list(viewer=viewer, household=household))


def _head_form(
    household: Household, members: list[HouseholdMember], data: Any = None
) -> forms.HouseholdHeadForm:
    others = [(m.person_id, m.person.name) for m in members if m.person_id != household.head_id]
    return forms.HouseholdHeadForm(data, members=others, prefix="head")


def _context(
    request: HttpRequest, household: Household, *, failed: tuple[str, int, Form] | None = None
) -> dict[str, Any]:
    viewer = request.user
    members = _members(viewer, household)
    failed_op, failed_id, failed_form = failed or ("", 0, None)

    def form_for(op: str, person_id: int, cls: Any, **initial: Any) -> Form:
        if failed_op == op and failed_id == person_id and failed_form is not None:
            return failed_form
        form: Form = cls(prefix=_prefix(op, person_id), initial=initial)
        return form

    rows = [
        {
            "member": m,
            "is_head": m.person_id == household.head_id,
            "relation_form": form_for(
                "relation", m.person_id, forms.HouseholdRelationForm, relation_to_head=m.relation_to_head
            ),
            "remove_form": form_for("remove", m.person_id, forms.HouseholdMemberRemoveForm),
            # The head leaves last; a refused attempt still shows its form with the reason why.
            "can_remove": m.person_id != household.head_id
            or len(members) == 1
            or (failed_op == "remove" and failed_id == m.person_id),
        }
        for m in members
    ]
    search = forms.HouseholdMemberSearchForm(request.GET if "q" in request.GET else None)
    hits: list[dict[str, Any]] = []
    search_error = ""
    if search.is_bound and search.is_valid():
        try:
            found = person_search(viewer=viewer, q=search.cleaned_data["q"], page_size=SEARCH_LIMIT)
        except ValidationError as exc:
            search_error = " ".join(exc.messages)
        else:
            member_ids = {m.person_id for m in members}
            households = selectors.current_households_of(
                viewer=viewer, person_ids=[h.id for h in found.items]
            )
            hits = [
                {
                    "hit": hit,
                    "pid": hit.id,
                    "address": hit.address,
                    "member": hit.id in member_ids,
                    "elsewhere": households.get(hit.id),
                    "form": form_for("add", hit.id, forms.HouseholdMemberAddForm),
                }
                for hit in found.items
            ]
    if failed_op == "add" and failed_form is not None and not any(h["hit"].id == failed_id for h in hits):
        person = Person.objects.filter(pk=failed_id).only("name").first()
        hits.insert(
            0,
            {
                "hit": person,
                "pid": failed_id,
                "address": "",
                "member": False,
                "elsewhere": None,
                "form": failed_form,
            },
        )
    head_form = (
        failed_form if failed_op == "head" and failed_form is not None else _head_form(household, members)
    )
    return {
        "household": household,
        "rows": rows,
        "search": search,
        "search_error": search_error,
        "hits": hits,
        "head_form": head_form,
        "can_change_head": len(members) > 1,
        # Shown at the top too: the failed form may be folded away or not offered (the head).
        "failed_errors": [e for errors in failed_form.errors.values() for e in errors] if failed_form else [],
        "failed_op": failed_op,
        "failed_id": failed_id,
    }


def _editable(request: HttpRequest, household_id: int) -> Household:
    household = selectors.get_household_for(request.user, household_id)  # 404 outside the scope
    guards.require(request, P.EDIT, household.region_code)
    if household.end_date is not None:
        raise Http404  # a closed household is history: nothing to edit
    return household


@registry_page(P.EDIT, methods=("GET", "POST"))
def household_edit(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _editable(request, household_id)
    if request.method == "GET":
        return render(request, "registry/household_edit.html", _context(request, household))
    op = request.POST.get("op", "")
    try:
        person_id = int(request.POST.get("person", ""))
    except ValueError:
        person_id = 0
    if op not in OPS or (op != "head" and person_id <= 0):
        messages.error(request, _("Unknown change: nothing was changed."))
        return render(request, "registry/household_edit.html", _context(request, household), status=400)
    viewer = request.user
    form: Form
    if op == "head":
        form = _head_form(household, _members(viewer, household), request.POST)
    else:
        cls = {
            "add": forms.HouseholdMemberAddForm,
            "remove": forms.HouseholdMemberRemoveForm,
            "relation": forms.HouseholdRelationForm,
        }[op]
        form = cls(request.POST, prefix=_prefix(op, person_id))
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = _apply(request, household, op, person_id, data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, done)
            if op == "remove" and Household.objects.filter(pk=household.pk, end_date__isnull=False).exists():
                return redirect("registry:household", household_id=household.pk)
            return redirect("registry:household_edit", household_id=household.pk)
    if op == "head":
        person_id = 0
    context = _context(request, household, failed=(op, person_id, form))
    return render(request, "registry/household_edit.html", context, status=400)


def _apply(request: HttpRequest, household: Household, op: str, person_id: int, data: dict[str, Any]) -> str:
    """Run one change through its service; the success message, or ValidationError."""
    viewer: Any = request.user
    if op == "head":
        person_id = data["person"]
    person = selectors.get_person_for(viewer, person_id)  # 404 for people outside the scope
    if op == "add":
        services.household_add_member(
            actor=viewer,
            household=household,
            person=person,
            relation_to_head=data["relation_to_head"],
            since=data["since"] or None,
            request=request,
        )
        return _("%(name)s joined the household.") % {"name": person.name}
    if op == "remove":
        services.household_remove_member(
            actor=viewer, household=household, person=person, reason=data["reason"], request=request
        )
        return _("%(name)s left the household.") % {"name": person.name}
    if op == "relation":
        services.household_set_relation(
            actor=viewer,
            household=household,
            person=person,
            relation_to_head=data["relation_to_head"],
            request=request,
        )
        return _("%(name)s's relation to the head is changed.") % {"name": person.name}
    services.household_set_head(
        actor=viewer,
        household=household,
        person=person,
        former_head_relation=data["former_head_relation"],
        reason=data["reason"],
        request=request,
    )
    return _("%(name)s is now the head of the household.") % {"name": person.name}
