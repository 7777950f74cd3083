"""Home-care pages (居家养老 S4): the plans of the viewer's area with how each week is going, a new
plan for an elderly or disabled resident found in the registry, and one plan with its meal and
visit records, the quick record form used at the door, ending the plan, and the grid worker's
recent visits to the person.

Who: ``govservice.care`` opens and records (community staff, grid workers, volunteers);
``govservice.handle`` starts and ends plans (community staff). Writes go through
``services.care`` (scope-checked and audited there)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.core.models import User
from shequ.core.permissions import Viewer, has_perm
from shequ.govservice import selectors
from shequ.govservice.forms_care import CarePlanForm, CareRecordForm, EndPlanForm, FindPersonForm
from shequ.govservice.models import CareOutcome, CarePlan, CareRecord, CareService
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import care
from shequ.registry import prefill
from shequ.registry import selectors as registry
from shequ.registry.models import IdType, Person

FORBIDDEN = "govservice/care/forbidden.html"
care_page = functools.partial(guards.page, template=FORBIDDEN)
WEEK = dt.timedelta(days=7)
LIST_LIMIT = 300
CANDIDATES = 20
VISITS_SHOWN = 5

# The facts shown when a plan is started (masked by ``prefill``), in this order.
FACT_LABELS = (
    (prefill.IDENTITY, "Identity"),
    (prefill.BIRTH, "Age"),
    (prefill.RESIDENCE, "Lives at"),
    (prefill.HOUSEHOLD, "Household"),
    (prefill.PHONE, "Mobile number"),
)


def _fact_rows(facts: prefill.Facts) -> list[tuple[str, str]]:
    labels = {
        "Identity": _("Identity"),
        "Age": _("Age"),
        "Lives at": _("Lives at"),
        "Household": _("Household"),
        "Mobile number": _("Mobile number"),
    }
    rows = [(labels[label], facts.get(key)) for key, label in FACT_LABELS if facts.get(key)]
    rows += [
        (_("Care tag"), value) for key, value in facts.values.items() if key.startswith(prefill.TAG_PREFIX)
    ]
    return rows


def service_labels(codes: list[str]) -> list[str]:
    labels = dict(CareService.choices)
    return [str(labels.get(code, code)) for code in codes]


def _served_q(prefix: str = "") -> Q:
    """A record that delivered the service (a knock nobody answered does not count)."""
    return ~Q(**{f"{prefix}outcome": CareOutcome.ABSENT})


def _with_week(plans: QuerySet[CarePlan], now: dt.datetime) -> QuerySet[CarePlan]:
    """Each plan with its services of the last 7 days, its last record's time and outcome."""
    last = CareRecord.objects.filter(plan=OuterRef("pk")).order_by("-at", "-pk")
    return plans.annotate(
        week=Count("records", filter=Q(records__at__gte=now - WEEK) & _served_q("records__")),
        week_concerns=Count(
            "records", filter=Q(records__at__gte=now - WEEK, records__outcome=CareOutcome.CONCERN)
        ),
        last_at=Max("records__at"),
        last_outcome=Subquery(last.values("outcome")[:1]),
    )


def _decorate(plan: CarePlan, viewer: Viewer) -> CarePlan:
    p = cast(Any, plan)
    p.service_names = service_labels(plan.services)
    p.behind = plan.active and p.week < plan.visits_per_week
    p.last_label = CareOutcome(p.last_outcome).label if p.last_outcome in CareOutcome.values else ""
    p.person_link = registry.can_view_people(viewer, plan.region_code)
    return plan


@care_page(P.CARE)
def plan_list(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    state = request.GET.get("state", "active")
    state = state if state in {"active", "ended"} else "active"
    now = timezone.now()
    plans = selectors.care_plan_list(viewer=viewer, active=state == "active").select_related("region")
    rows = [_decorate(p, viewer) for p in _with_week(plans, now)[:LIST_LIMIT]]
    context = {
        "plans": rows,
        "state": state,
        "behind": sum(1 for p in rows if getattr(p, "behind", False)),
        "can_start": has_perm(viewer, P.HANDLE),
        "limit": LIST_LIMIT,
    }
    return render(request, "govservice/care/list.html", context)


# --- A new plan ---------------------------------------------------------------------------------


def _candidates(viewer: Viewer, form: FindPersonForm) -> list[Person]:
    """Elderly and disabled people of the viewer's area without a plan, by ID number or name."""
    if not form.is_valid():
        return []
    id_number = form.cleaned_data["id_number"].strip().upper()
    name = form.cleaned_data["q"].strip()
    if id_number:
        found = registry.person_find_by_id(viewer=viewer, id_type=IdType.RESIDENT_ID, id_number=id_number)
        return [found] if found is not None else []
    people = registry.person_list(viewer=viewer).filter(registry.care_person_q())
    people = people.exclude(pk__in=CarePlan.objects.filter(active=True).values("person_id"))
    if name:
        people = people.filter(name__startswith=name)
    return list(people[:CANDIDATES])


def _person_rows(people: list[Person]) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [
        {
            "pk": p.pk,
            "name": p.name,
            "id": p.masked_id_number,
            "age": prefill.age_on(p.birth_date, today),
        }
        for p in people
    ]


@care_page(P.HANDLE, methods=("GET", "POST"))
def plan_new(request: HttpRequest) -> HttpResponse:
    viewer = cast(User, request.user)  # the page guard lets signed-in accounts only
    source = request.POST if request.method == "POST" else request.GET
    person: Person | None = None
    if source.get("person"):
        person = registry.get_person_for(viewer, source.get("person"))  # 404 outside the area
    if person is None:
        # The search is posted, so that an ID number never stands in an address (logs, history).
        find = FindPersonForm(request.POST if request.method == "POST" else None)
        searched = find.is_bound
        people = _candidates(viewer, find if searched else FindPersonForm({}))
        # Shown again empty: the typed ID number is not rendered back.
        shown = FindPersonForm(initial={"q": find.cleaned_data.get("q", "") if searched else ""})
        context = {"find": shown, "people": _person_rows(people), "searched": searched}
        return render(request, "govservice/care/new.html", context)
    facts = prefill.facts_of(person)
    form = CarePlanForm(request.POST if request.method == "POST" else None, initial={"person": person.pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = care.care_plan_start(
                actor=viewer,
                facts=facts,
                services=data["services"],
                visits_per_week=data["visits_per_week"],
                provider=data["provider"],
                note=data["note"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Home-care plan started for %(name)s.") % {"name": plan.person_name})
            return redirect("govservice:care_plan", pk=plan.pk)
    context = {
        "person": person,
        "facts": _fact_rows(facts),
        "eligible": care.eligible(facts),
        "age": facts.age,
        "form": form,
    }
    return render(request, "govservice/care/new.html", context, status=400 if form.is_bound else 200)


# --- One plan -----------------------------------------------------------------------------------


def _visits(viewer: Viewer, plan: CarePlan) -> list[Any] | None:
    """The person's (and their home's) recent grid visits, for who may see people there."""
    if not registry.can_view_people(viewer, plan.region_code):
        return None
    try:
        person = registry.get_person_for(viewer, plan.person_id)
    except Http404:
        return []
    visits = registry.visit_list(viewer=viewer).filter(
        Q(person=person) | Q(house_id=person.house_id) if person.house_id else Q(person=person)
    )
    return list(visits[:VISITS_SHOWN])


def _detail(
    request: HttpRequest,
    plan: CarePlan,
    *,
    status: int = 200,
    record_form: CareRecordForm | None = None,
    end_form: EndPlanForm | None = None,
) -> HttpResponse:
    viewer = request.user
    now = timezone.now()
    plan = _decorate(
        _with_week(CarePlan.objects.filter(pk=plan.pk), now).select_related("region").get(), viewer
    )
    context = {
        "plan": plan,
        "records": selectors.care_records(plan),
        "record_form": record_form or CareRecordForm(plan=plan),
        "end_form": end_form or EndPlanForm(),
        "can_end": plan.active and has_perm(viewer, P.HANDLE, plan.region_code),
        "visits": _visits(viewer, plan),
    }
    return render(request, "govservice/care/detail.html", context, status=status)


@care_page(P.CARE, methods=("GET", "POST"))
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.get_care_plan_for(request.user, pk)  # 404 outside the viewer's area
    if request.method == "GET":
        return _detail(request, plan)
    viewer = cast(User, request.user)
    if request.POST.get("action") == "end":
        guards.require(request, P.HANDLE, plan.region_code)
        end_form = EndPlanForm(request.POST)
        if end_form.is_valid():
            try:
                care.care_plan_end(
                    actor=viewer, plan=plan, reason=end_form.cleaned_data["reason"], request=request
                )
            except ValidationError as exc:
                apply_service_errors(end_form, exc)
            else:
                messages.success(request, _("The home-care plan has ended."))
                return redirect("govservice:care_plan", pk=plan.pk)
        return _detail(request, plan, status=400, end_form=end_form)
    record_form = CareRecordForm(request.POST, plan=plan)
    if record_form.is_valid():
        data = record_form.cleaned_data
        try:
            record = care.care_record_add(
                actor=viewer,
                plan=plan,
                service=data["service"],
                outcome=data["outcome"],
                note=data["note"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(record_form, exc)
        else:
            if record.outcome == CareOutcome.DONE:
                messages.success(request, _("Recorded. Thank you."))
            else:
                messages.warning(
                    request,
                    _("Recorded. The grid worker is told when something is wrong or nobody answers twice."),
                )
            return redirect("govservice:care_plan", pk=plan.pk)
    return _detail(request, plan, status=400, record_form=record_form)
