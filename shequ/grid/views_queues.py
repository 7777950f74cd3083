"""The work lists of the grid: the community queue, the region's ticket list, the department
portal (with bulk accept and bulk return), the supervision page, and the staff entry form."""

from __future__ import annotations

from typing import Any, cast

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import selectors as core_selectors
from shequ.core.forms import PlatformForm
from shequ.core.models import Region, User
from shequ.core.permissions import Viewer, has_perm, scopes_for
from shequ.grid import forms, selectors, services
from shequ.grid.models import DEPARTMENT_STATUSES, Status, Ticket
from shequ.grid.permissions import GridPerm as P
from shequ.grid.views import apply_errors, grid_page, page_of, posted, with_colours


def is_department(user: Viewer) -> bool:
    return bool(selectors.department_ids(user))


def can_enter(user: Viewer) -> bool:
    """Staff who may enter a ticket for someone (or from a patrol): region staff with the right."""
    return has_perm(user, P.VIEW) and (has_perm(user, P.REPORT) or has_perm(user, P.PATROL))


def _region_choices(viewer: Viewer, perm: str) -> list[tuple[str, str]]:
    """The areas one level below the viewer's own, for the area filter (bounded: children only)."""
    return [(r.code, r.name) for r in core_selectors.child_regions(scopes_for(viewer, perm), limit=300)]


def _status_choices(statuses: Any) -> list[tuple[str, Any]]:
    return [(s.value, s.label) for s in Status if s in statuses]


def _filtered(request: HttpRequest, base: QuerySet[Ticket], *, statuses: Any, perm: str) -> tuple[Any, Any]:
    form = forms.FilterForm(
        request.GET or None, statuses=_status_choices(statuses), regions=_region_choices(request.user, perm)
    )
    filters = form.filters() if form.is_bound else selectors.TicketFilters()
    return form, selectors.ticket_list(request.user, filters, base=base)


def _tally(base: QuerySet[Ticket], statuses: Any) -> list[dict[str, Any]]:
    counts = selectors.status_counts(base)
    return [
        {"status": s.value, "label": s.label, "count": counts.get(s.value, 0)}
        for s in Status
        if s in statuses
    ]


@grid_page((P.HANDLE, P.VERIFY, P.PATROL))
def queue(request: HttpRequest) -> HttpResponse:
    base = selectors.community_queue(request.user)
    form, tickets = _filtered(request, base, statuses=selectors.COMMUNITY_QUEUE_STATUSES, perm=P.HANDLE)
    page = page_of(request, tickets)
    return render(
        request,
        "grid/queue.html",
        {
            "form": form,
            "page": page,
            "tickets": with_colours(page),
            "tally": _tally(base, selectors.COMMUNITY_QUEUE_STATUSES),
            "can_enter": can_enter(request.user),
            # On the plain queue only: a filtered list shows what was asked for.
            "alerts": [] if any(request.GET.values()) else list(selectors.open_alerts(request.user)[:20]),
        },
    )


@grid_page(P.VIEW)
def ticket_list(request: HttpRequest) -> HttpResponse:
    """Every ticket of the viewer's region, newest first (region staff; residents have My reports)."""
    base = selectors.region_tickets(request.user)
    form, tickets = _filtered(request, base, statuses=list(Status), perm=P.VIEW)
    page = page_of(request, tickets)
    return render(
        request,
        "grid/list.html",
        {"form": form, "page": page, "tickets": with_colours(page), "can_enter": can_enter(request.user)},
    )


# --- The department portal ----------------------------------------------------------------------


class BulkForm(PlatformForm):
    ACCEPT, RETURN = "accept", "return"
    tickets = django_forms.TypedMultipleChoiceField(coerce=int, label=gettext_lazy("Tickets"))
    action = django_forms.ChoiceField(choices=[(ACCEPT, ACCEPT), (RETURN, RETURN)])
    reason = forms.text_area(
        gettext_lazy("Reason for returning"),
        services.COMMENT_MAX,
        required=False,
        rows=2,
        help_text=gettext_lazy("Needed to return tickets: why they are not for your department."),
    )

    def __init__(self, *args: Any, choices: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        forms.choice_field(self, "tickets").choices = [(pk, str(pk)) for pk in choices]
        self.fields["tickets"].error_messages["required"] = _("Choose at least one ticket.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == self.RETURN and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the tickets are returned."))
        return data


def _department_page(request: HttpRequest, bulk: BulkForm | None = None, status: int = 200) -> HttpResponse:
    viewer = request.user
    base = selectors.department_queue(viewer)
    form, tickets = _filtered(request, base, statuses=DEPARTMENT_STATUSES, perm=P.DEPARTMENT)
    page = page_of(request, tickets)
    return render(
        request,
        "grid/department.html",
        {
            "form": form,
            "page": page,
            "tickets": with_colours(page),
            "tally": _tally(base, DEPARTMENT_STATUSES),
            "bulk": bulk or BulkForm(choices=[]),
            "chosen": set(bulk.cleaned_data.get("tickets", []))
            if bulk is not None and hasattr(bulk, "cleaned_data")
            else set(),
            "departments": selectors.department_names(viewer),
        },
        status=status,
    )


@grid_page(is_department)
def department(request: HttpRequest) -> HttpResponse:
    return _department_page(request)


@grid_page(is_department, methods=("POST",))
def department_bulk(request: HttpRequest) -> HttpResponse:
    """Accept or return the chosen tickets: one service call (one transaction) per ticket, and a
    line per ticket that could not be done, with the reason."""
    viewer = cast(User, request.user)
    queue_ids = list(selectors.department_queue(viewer).values_list("pk", flat=True))
    form = BulkForm(request.POST, choices=queue_ids)
    if not form.is_valid():
        return _department_page(request, form, status=400)
    done: list[Ticket] = []
    failed: list[tuple[str, str]] = []
    for pk in form.cleaned_data["tickets"]:
        try:
            found = selectors.get_ticket_for(viewer, pk)
        except Http404:
            failed.append((str(pk), _("not found")))
            continue
        try:
            if form.cleaned_data["action"] == BulkForm.ACCEPT:
                services.ticket_department_accept(actor=viewer, ticket=found, request=request)
            else:
                services.ticket_department_return(
                    actor=viewer, ticket=found, reason=form.cleaned_data["reason"], request=request
                )
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            failed.append((found.number, text))
        else:
            done.append(found)
    if done:
        if form.cleaned_data["action"] == BulkForm.ACCEPT:
            message = _("Accepted: %(numbers)s.")
        else:
            message = _("Returned to the community: %(numbers)s.")
        messages.success(request, message % {"numbers": ", ".join(t.number for t in done)})
    for number, why in failed:
        messages.error(
            request, _("Ticket %(number)s was not changed: %(why)s") % {"number": number, "why": why}
        )
    return redirect("grid:department")


# --- Supervision --------------------------------------------------------------------------------


@grid_page(P.SUPERVISE)
def supervision(request: HttpRequest) -> HttpResponse:
    """Escalated, overdue and reopened tickets at the viewer's levels, and requests for more time."""
    viewer = request.user
    page = page_of(request, selectors.supervision_list(viewer))
    extensions = list(selectors.pending_extensions(viewer)[:100])
    decide = [
        {
            "ext": ext,
            "form": forms.DecisionForm(
                ticket=ext.ticket, prefix="decide_extension", auto_id=f"id_ext{ext.pk}_%s"
            ),
            "url": reverse("grid:ticket_decide_extension", args=[ext.ticket_id]),
        }
        for ext in extensions
    ]
    reopened = sum(1 for t in page if t.status == Status.REOPENED)
    return render(
        request,
        "grid/supervision.html",
        {"page": page, "tickets": with_colours(page), "extensions": decide, "reopened": reopened},
    )


# --- Staff entry --------------------------------------------------------------------------------


def _house(viewer: Viewer, pk: int | None, region: Region) -> Any:
    if pk is None:
        return None
    from shequ.registry import selectors as registry

    try:
        house = registry.get_house_for(viewer, pk)
    except Http404:
        house = None
    if house is None or not house.region_code.startswith(region.code[:12]):
        raise ValidationError({"house": _("No house with this number in the chosen area.")})
    return house


@grid_page(can_enter, methods=("GET", "POST"))
def new(request: HttpRequest) -> HttpResponse:
    """A ticket entered by staff: a walk-in, a phone call, or the grid worker's own patrol."""
    viewer = cast(User, request.user)
    regions = forms.report_regions(viewer)
    form = forms.NewTicketForm(posted(request), request.FILES or None, regions=regions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = selectors.sent_from_form(viewer, data["client_key"])
        if sent is not None:  # the earlier post of this form went through
            return redirect("grid:ticket", pk=sent.pk)
        try:
            house = _house(viewer, data.get("house"), data["region"])
            created = services.ticket_submit(
                actor=viewer,
                source=data["source"],
                region=data["region"],
                title=data["title"],
                description=data["description"],
                category=data.get("category") or None,
                urgency=data["urgency"],
                contact_name=data.get("contact_name", ""),
                contact_phone=data.get("contact_phone", ""),
                address=data.get("address", ""),
                house=house,
                photos=data.get("photos", []),
                external_ref=selectors.app_ref(data["client_key"]),
                request=request,
            )
        except ValidationError as exc:
            sent = selectors.sent_from_form(viewer, data["client_key"])
            if sent is not None:  # the same form, posted at the same moment
                return redirect("grid:ticket", pk=sent.pk)
            apply_errors(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s is entered.") % {"number": created.number})
            return redirect("grid:ticket", pk=created.pk)
    status = 400 if form.errors else 200
    return render(request, "grid/new.html", {"form": form}, status=status)


# --- Hot topics ---------------------------------------------------------------------------------


@grid_page(P.VIEW)
def hot_topics(request: HttpRequest) -> HttpResponse:
    """Clusters of similar tickets rising in an area this week (智能分拨: hot topics). The area
    defaults to the viewer's own; a child area may be picked from the list."""
    from shequ.grid import similarity

    viewer = request.user
    codes = scopes_for(viewer, P.VIEW)
    choices = _region_choices(viewer, P.VIEW)
    wanted = request.GET.get("region", "")
    if wanted and not any(wanted.startswith(code) for code in codes):
        raise Http404
    region = wanted or codes[0]
    topics = similarity.hot_topics(region, now=timezone.now(), tickets=selectors.hot_topic_tickets(viewer))
    names = core_selectors.region_names(c for t in topics for c in t.regions)
    categories = selectors.category_names()
    rows = [
        {
            "topic": t,
            "category": categories.get(t.category_code, t.category_code),
            "regions": sorted(((names.get(c, c), n) for c, n in t.regions.items()), key=lambda p: -p[1]),
            "first": t.ticket_ids[0] if t.ticket_ids else None,
        }
        for t in topics
    ]
    area = core_selectors.region_get_for(viewer, region)
    return render(
        request,
        "grid/hot_topics.html",
        {"rows": rows, "choices": choices, "region": region, "area": area},
    )
