"""Grid pages for staff and departments: the ticket page (it also serves its reporter), its photos
and one POST view per workflow step; plus the helpers the other page modules share
(``views_queues``, ``views_catalog``).

Views are thin: tickets are read through ``selectors`` (404 outside the viewer's scope), steps are
taken through ``services``; a ``TransitionError`` or ``ValidationError`` re-renders the page with
the step's form and the message (400), a ``PermissionDenied`` (audited by the service) is the 403
page. A step the viewer may not take now is still sent to the service, so that the refusal is the
service's own (audited, with its reason) rather than a guess made here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from shequ.core import audit, guards, personal
from shequ.core.forms import apply_service_errors
from shequ.core.models import LEVEL_CODE_LENGTH, AuditResult, RegionLevel, Role
from shequ.core.permissions import Perm, Viewer, has_perm
from shequ.grid import deadlines, forms, selectors, services, views_urgent
from shequ.grid.files import photo_response
from shequ.grid.models import INTERNAL_ACTIONS, REPORTER_NOTE_ACTIONS, Category, Ticket, TicketAction
from shequ.grid.permissions import GridPerm as P
from shequ.registry import selectors as registry_selectors

PAGE_SIZE = 30
View = Callable[..., Any]


# --- Shared helpers -----------------------------------------------------------------------------


FORBIDDEN = "grid/forbidden.html"
# The core page guard with the grid's 403 page: ``@grid_page(perms or a check, methods=...)``.
grid_page = functools.partial(guards.page, template=FORBIDDEN)


def apply_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form fields it names (others on the form itself)."""
    apply_service_errors(form, exc)


def page_of(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def posted(request: HttpRequest) -> Any:
    """The submitted data of a POST (also when empty, so that an empty form is invalid), or None."""
    return request.POST if request.method == "POST" else None


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


COLOUR_LABELS = {
    deadlines.Colour.GREEN: gettext_lazy("On time"),
    deadlines.Colour.YELLOW: gettext_lazy("Due soon"),
    deadlines.Colour.RED: gettext_lazy("Overdue"),
}


def with_colours(tickets: Iterable[Ticket]) -> list[Ticket]:
    """Tickets with ``colour`` and ``colour_label`` set for the lists (text, not colour alone)."""
    items = list(tickets)
    for t in items:
        t.colour = selectors.colour(t)  # type: ignore[attr-defined]
        t.colour_label = COLOUR_LABELS.get(t.colour, "")  # type: ignore[attr-defined]
    return items


# --- The timeline as people read it -----------------------------------------------------------

ACTION_LABELS: dict[str, Any] = {
    "submit": pgettext_lazy("ticket action", "Reported"),
    "accept": gettext_lazy("Accepted by the community"),
    "recategorize": gettext_lazy("Category changed"),
    "close_on_spot": gettext_lazy("Settled on the spot and closed"),
    "dispatch": gettext_lazy("Dispatched to a department"),
    "handle": gettext_lazy("Resolved by the community"),
    "merge": gettext_lazy("Merged into another ticket"),
    "merged_in": gettext_lazy("A duplicate was merged into this ticket"),
    "dept_accept": gettext_lazy("Accepted by the department"),
    "respond": gettext_lazy("Reply from the department"),
    "resolve": gettext_lazy("Resolved by the department"),
    "dept_return": gettext_lazy("Returned by the department"),
    "request_extension": gettext_lazy("More time requested"),
    "approve_extension": gettext_lazy("More time approved"),
    "reject_extension": gettext_lazy("More time refused"),
    "verify": gettext_lazy("Checked on site: done"),
    "verify_failed": gettext_lazy("Checked on site: not done yet"),
    "rate": gettext_lazy("Rated by the reporter"),
    "supervise_redispatch": gettext_lazy("Supervisor: dispatched again"),
    "supervise_return": gettext_lazy("Supervisor: back to the community"),
    "supervise_close": gettext_lazy("Supervisor: closed"),
    "comment": gettext_lazy("Internal note"),
    "add_photos": gettext_lazy("Photos added"),
    "escalate": gettext_lazy("Overdue: raised for supervision"),
    "close_unrated": gettext_lazy("Closed: not rated in time"),
    "urgent_raised": gettext_lazy("Urgent: the person on duty is alerted"),
    "urgent_ack": gettext_lazy("Urgent alert acknowledged"),
    "urgent_clear": gettext_lazy("Urgent alert cleared as a false alarm"),
}
# The text fields of the steps' forms, which say under the field who will read them.
NOTE_FIELDS = ("comment", "result", "reason")


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else ""


def _details(step: TicketAction) -> str:
    """The step's parameters in words: department, numbers, days, stars."""
    p = step.params or {}
    if step.action == "dispatch" and p.get("department"):
        return str(p["department"]) + (_(" (by routing rule)") if p.get("automatic") else "")
    if step.action == "merge" and p.get("into"):
        return _("into %(number)s") % {"number": p["into"]}
    if step.action == "merged_in" and p.get("from"):
        return _("ticket %(number)s") % {"number": p["from"]}
    if step.action == "recategorize":  # the categories' names, not their codes
        old, new = str(p.get("from") or ""), str(p.get("to") or "")
        names = dict(Category.objects.filter(code__in=[old, new]).values_list("code", "name_zh"))
        return f"{names.get(old, old) or '—'} → {names.get(new, new) or '—'}"
    if step.action in {"request_extension", "approve_extension", "reject_extension"} and p.get("days"):
        return _("%(days)s working days") % {"days": p["days"]}
    if step.action == "rate" and p.get("rating"):
        return _("%(n)s of 5 stars") % {"n": p["rating"]}
    if step.action == "escalate" and p.get("to"):
        return _("to level %(code)s") % {"code": p["to"]}
    return ""


def timeline_for(viewer: Viewer, ticket: Ticket, *, staff: bool) -> list[dict[str, Any]]:
    """The steps as the viewer may read them: staff see names and every note (those the reporter
    does not read are marked ``internal``); the reporter sees roles and departments (never a staff
    member's name) and only the notes meant for them."""
    rows = []
    for step in selectors.timeline(ticket):
        if not staff and step.action in INTERNAL_ACTIONS:
            continue
        dept = step.department.name if step.department else ""
        role = _role_label(step.actor_role)
        if step.actor_id is None:
            who = _("Platform")
        elif staff:
            who = " · ".join(x for x in (step.actor_name, dept or role) if x)
        elif step.actor_id == getattr(viewer, "pk", None):
            who = _("You")
        else:
            who = dept or role or _("Staff")
        rows.append(
            {
                "at": step.at,
                "who": who,
                "what": ACTION_LABELS.get(step.action, step.action),
                "details": _details(step),
                "comment": step.comment if staff or step.reporter_reads_comment else "",
                "status": step.to_status if step.to_status != step.from_status else "",
                "photos": list(step.attachments.all()),
                "internal": step.action in INTERNAL_ACTIONS
                or bool(step.comment and not step.reporter_reads_comment),
            }
        )
    return rows


# --- Steps --------------------------------------------------------------------------------------


Perform = Callable[[Any, Ticket, dict[str, Any], HttpRequest], Any]


@dataclass(frozen=True)
class Step:
    key: str  # the key of selectors.can() and the URL name (grid:ticket_<key>)
    title: Any
    form: type[forms.TicketForm]
    perform: Perform
    done: Any  # the message after it worked
    submit: Any = None  # the button's label (None: "Save")
    # Decision forms: (value, label, secondary) buttons instead of one submit button.
    buttons: tuple[tuple[str, Any, bool], ...] = field(default=())
    files: bool = False


def _department(data: dict[str, Any]) -> Any:
    return data.get("department") or None


def _ticket_by_number(viewer: Viewer, number: str) -> Ticket:
    from shequ.grid.models import parse_number

    pk = parse_number(number or "")
    found = selectors.tickets_for(viewer).filter(pk=pk).first() if pk is not None else None
    if found is None or found.number != (number or "").strip():
        raise ValidationError({"into": _("No ticket with this number in your area.")})
    return found


def _merge_target(viewer: Viewer, ticket: Ticket, data: dict[str, Any], request: HttpRequest) -> Ticket:
    try:
        return _ticket_by_number(viewer, data.get("into", ""))
    except ValidationError:
        refuse_unless(request, P.HANDLE, ticket, "merge")
        raise


def refuse_unless(request: HttpRequest, perm: str, ticket: Ticket, action: str) -> None:
    """An audited refusal for a step whose service cannot be reached (nothing to act on)."""
    if has_perm(request.user, perm, ticket.region_code):
        return
    audit.record(
        f"grid.{action}",
        request=request,
        region_code=ticket.region_code,
        object_type="grid.ticket",
        object_id=ticket.pk,
        result=AuditResult.DENIED,
        detail={"why": f"no {perm} in this region"},
    )
    raise PermissionDenied(_("You may not do this with this ticket."))


def _alert(ticket: Ticket, request: HttpRequest) -> Any:
    alert = selectors.urgent_alert(ticket)
    if alert is None:
        refuse_unless(request, P.VIEW, ticket, "urgent_ack")
        raise services.TransitionError(_("This ticket has no urgent alert."), code="illegal_transition")
    return alert


def _pending_extension(ticket: Ticket, request: HttpRequest) -> Any:
    ext = selectors.pending_extension(ticket)
    if ext is None:
        refuse_unless(request, P.SUPERVISE, ticket, "decide_extension")
        raise services.TransitionError(
            _("No request for more time is waiting for a decision."), code="illegal_transition"
        )
    return ext


STEPS: dict[str, Step] = {
    s.key: s
    for s in (
        Step(
            "accept",
            gettext_lazy("Accept"),
            forms.AcceptForm,
            lambda v, t, d, r: services.ticket_accept(
                actor=v,
                ticket=t,
                category=d.get("category"),
                urgency=d.get("urgency"),
                comment=d.get("comment", ""),
                clear_reason=d.get("clear_reason", ""),
                request=r,
            ),
            gettext_lazy("The ticket is accepted."),
            gettext_lazy("Accept"),
        ),
        Step(
            "dispatch",
            gettext_lazy("Dispatch to a department"),
            forms.DispatchForm,
            lambda v, t, d, r: services.ticket_dispatch(
                actor=v, ticket=t, department=_department(d), comment=d.get("comment", ""), request=r
            ),
            gettext_lazy("The ticket is dispatched."),
            gettext_lazy("Dispatch"),
        ),
        Step(
            "handle",
            gettext_lazy("Resolve in the community"),
            forms.ResultForm,
            lambda v, t, d, r: services.ticket_handle(
                actor=v, ticket=t, result=d.get("result", ""), photos=d.get("photos", []), request=r
            ),
            gettext_lazy("The ticket is resolved; it now waits for the check on site."),
            gettext_lazy("Mark resolved"),
            files=True,
        ),
        Step(
            "close_on_spot",
            gettext_lazy("Settle on the spot and close"),
            forms.ResultForm,
            lambda v, t, d, r: services.ticket_close_on_spot(
                actor=v, ticket=t, result=d.get("result", ""), photos=d.get("photos", []), request=r
            ),
            gettext_lazy("The ticket is closed."),
            gettext_lazy("Close"),
            files=True,
        ),
        Step(
            "merge",
            gettext_lazy("Merge a duplicate"),
            forms.MergeForm,
            lambda v, t, d, r: services.ticket_merge(
                actor=v, ticket=t, into=_merge_target(v, t, d, r), request=r
            ),
            gettext_lazy("The ticket is merged; its reporter follows the other ticket now."),
            gettext_lazy("Merge"),
        ),
        Step(
            "recategorize",
            gettext_lazy("Change the category"),
            forms.RecategorizeForm,
            lambda v, t, d, r: services.ticket_recategorize(
                actor=v, ticket=t, category=d.get("category"), request=r
            ),
            gettext_lazy("The category is changed."),
        ),
        Step(
            "dept_accept",
            gettext_lazy("Accept for the department"),
            forms.ConfirmForm,
            lambda v, t, d, r: services.ticket_department_accept(
                actor=v, ticket=t, comment=d.get("comment", ""), request=r
            ),
            gettext_lazy("The ticket is accepted by your department."),
            gettext_lazy("Accept"),
        ),
        Step(
            "respond",
            gettext_lazy("Reply to the reporter"),
            forms.RequiredCommentForm,
            lambda v, t, d, r: services.ticket_respond(
                actor=v, ticket=t, comment=d.get("comment", ""), request=r
            ),
            gettext_lazy("The reply is recorded."),
            gettext_lazy("Send the reply"),
        ),
        Step(
            "resolve",
            gettext_lazy("Resolve"),
            forms.ResultForm,
            lambda v, t, d, r: services.ticket_resolve(
                actor=v, ticket=t, result=d.get("result", ""), photos=d.get("photos", []), request=r
            ),
            gettext_lazy("The ticket is resolved; the community checks it on site."),
            gettext_lazy("Mark resolved"),
            files=True,
        ),
        Step(
            "dept_return",
            gettext_lazy("Return: not for our department"),
            forms.ReasonForm,
            lambda v, t, d, r: services.ticket_department_return(
                actor=v, ticket=t, reason=d.get("reason", ""), request=r
            ),
            gettext_lazy("The ticket is returned to the community."),
            gettext_lazy("Return the ticket"),
        ),
        Step(
            "request_extension",
            gettext_lazy("Ask for more time"),
            forms.ExtensionRequestForm,
            lambda v, t, d, r: services.extension_request(
                actor=v, ticket=t, days=d.get("days"), reason=d.get("reason", ""), request=r
            ),
            gettext_lazy("The request for more time is sent to the supervisor."),
            gettext_lazy("Send the request"),
        ),
        Step(
            "decide_extension",
            gettext_lazy("Decide the request for more time"),
            forms.DecisionForm,
            lambda v, t, d, r: services.extension_decide(
                actor=v,
                extension=_pending_extension(t, r),
                approve=d.get("decision") == forms.DecisionForm.YES,
                comment=d.get("comment", ""),
                request=r,
            ),
            gettext_lazy("The request for more time is decided."),
            buttons=(("yes", gettext_lazy("Approve"), False), ("no", gettext_lazy("Refuse"), True)),
        ),
        Step(
            "verify",
            gettext_lazy("Check on site"),
            forms.DecisionForm,
            lambda v, t, d, r: services.ticket_verify(
                actor=v,
                ticket=t,
                passed=d.get("decision") == forms.DecisionForm.YES,
                comment=d.get("comment", ""),
                request=r,
            ),
            gettext_lazy("The check on site is recorded."),
            buttons=(
                ("yes", gettext_lazy("Done: confirm"), False),
                ("no", gettext_lazy("Not done: send back"), True),
            ),
        ),
        Step(
            "supervise",
            gettext_lazy("Decide as supervisor"),
            forms.SuperviseForm,
            lambda v, t, d, r: services.ticket_supervise(
                actor=v,
                ticket=t,
                decision=d.get("decision", ""),
                comment=d.get("comment", ""),
                department=_department(d),
                request=r,
            ),
            gettext_lazy("The decision is recorded."),
            gettext_lazy("Decide"),
        ),
        Step(
            "add_photos",
            gettext_lazy("Add photos"),
            forms.PhotosForm,
            lambda v, t, d, r: services.ticket_add_photos(
                actor=v, ticket=t, photos=d.get("photos", []), comment=d.get("comment", ""), request=r
            ),
            gettext_lazy("The photos are added."),
            gettext_lazy("Add the photos"),
            files=True,
        ),
        Step(
            "urgent_ack",
            gettext_lazy("Acknowledge the urgent alert"),
            forms.ConfirmForm,
            lambda v, t, d, r: services.alert_acknowledge(actor=v, alert=_alert(t, r), request=r),
            gettext_lazy("Acknowledged: the reporter and the others alerted are told you are on it."),
            gettext_lazy("I am on it"),
        ),
        Step(
            "urgent_clear",
            gettext_lazy("Clear a false alarm"),
            forms.ReasonForm,
            lambda v, t, d, r: services.alert_clear(
                actor=v, alert=_alert(t, r), reason=d.get("reason", ""), request=r
            ),
            gettext_lazy("The alarm is cleared; the ticket is back in the normal queue."),
            gettext_lazy("Clear the alarm"),
        ),
        Step(
            "comment",
            gettext_lazy("Internal note"),
            forms.RequiredCommentForm,
            lambda v, t, d, r: services.ticket_comment(
                actor=v, ticket=t, text=d.get("comment", ""), request=r
            ),
            gettext_lazy("The note is added."),
            gettext_lazy("Add the note"),
        ),
    )
}


def _form_for(step: Step, ticket: Ticket, data: Any = None, files: Any = None) -> forms.TicketForm:
    kwargs: dict[str, Any] = {"ticket": ticket, "prefix": step.key}
    if step.key == "dispatch":
        kwargs["default"] = services.default_department(ticket.category, ticket.region_code)
    form = step.form(data, files, **kwargs)
    if step.key == "comment":
        form.fields["comment"].label = _("Note (staff only)")
    # Staff know as they write whether the reporter will read it (step keys are action names).
    audience = (
        _("The reporter reads this on their ticket page.")
        if step.key in REPORTER_NOTE_ACTIONS
        else _("Staff only: the reporter does not see this.")
    )
    for name in NOTE_FIELDS:
        if name in form.fields:
            field = form.fields[name]
            field.help_text = f"{field.help_text} {audience}".strip() if field.help_text else audience
    return form


# --- The ticket page ----------------------------------------------------------------------------


def _rate_template() -> str:
    """The resident pages' rating form, when that part is installed."""
    try:
        get_template("grid/resident/_rate_form.html")
    except TemplateDoesNotExist:
        return ""
    return "grid/resident/_rate_form.html"


def _place_links(viewer: Viewer, ticket: Ticket) -> list[dict[str, Any]]:
    links = []
    for obj, name, label in (
        (ticket.house, "registry:house", _("House")),
        (ticket.building, "registry:building", _("Building")),
        (ticket.key_place, "registry:key_place", _("Key place")),
    ):
        if obj is None:
            continue
        url = (
            reverse(name, args=[obj.pk])
            if registry_selectors.can_view_places(viewer, obj.region_code)
            else ""
        )
        links.append({"label": label, "text": str(obj), "url": url})
    return links


def _possible_duplicates(ticket: Ticket, visible: Any) -> list[dict[str, Any]]:
    """At intake: open, recent, nearby tickets of the same category (or main type) with similar
    text, which the community may merge this one into (智能分拨: duplicate suggestions)."""
    from shequ.grid import similarity

    category = ticket.category or ticket.suggested_category
    if category is None:
        return []
    found = similarity.find_duplicates(
        f"{ticket.title} {ticket.description}",
        category=category,
        region_code=ticket.region_code[: LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]],
        now=timezone.now(),
        latitude=ticket.latitude,
        longitude=ticket.longitude,
        building_id=ticket.building_id,
        exclude_id=ticket.pk,
        tickets=visible,
    )
    numbers = {t.pk: t.number for t in visible.filter(pk__in=[d.ticket_id for d in found])}
    return [
        {"dup": d, "number": numbers.get(d.ticket_id, ""), "percent": round(d.score * 100)}
        for d in found
        if d.ticket_id in numbers
    ]


def ticket_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    failed: str = "",
    failed_form: forms.TicketForm | None = None,
    revealed: dict[str, str] | None = None,
    reveal_form: Form | None = None,
) -> dict[str, Any]:
    viewer = request.user
    staff = selectors.is_staff_viewer(viewer, ticket)
    allowed = selectors.can(viewer, ticket)
    steps: list[dict[str, Any]] = []
    for key, step in STEPS.items():
        if not allowed.get(key) and key != failed:
            continue
        form = failed_form if key == failed and failed_form is not None else _form_for(step, ticket)
        steps.append(
            {
                "step": step,
                "form": form,
                "url": reverse(f"grid:ticket_{key}", args=[ticket.pk]),
                "open": key == failed,
                "shown": bool(allowed.get(key)),
            }
        )
    visible = selectors.tickets_for(viewer)
    colour = selectors.colour(ticket)
    alert = selectors.urgent_alert(ticket)
    alert_keys = {"urgent_ack", "urgent_clear"}
    context: dict[str, Any] = {
        "ticket": ticket,
        "staff": staff,
        "can": allowed,
        "steps": [s for s in steps if s["shown"] and s["step"].key not in alert_keys],
        "alert": alert if staff else None,
        "alert_steps": [s for s in steps if s["step"].key in alert_keys],
        "alert_reasons": views_urgent.reasons(alert) if alert is not None and staff else [],
        "alert_reached": views_urgent.reached(alert) if alert is not None and staff else [],
        "ack_after": round((alert.acknowledged_at - alert.raised_at).total_seconds() / 60)
        if alert is not None and alert.acknowledged_at
        else None,
        "call": views_urgent.call_now(alert) if not staff else None,
        "ack_minutes": int(services.urgent_ack_window().total_seconds() // 60),
        "failed": failed,
        "failed_errors": failed_form.non_field_errors() if failed_form is not None else [],
        "failed_step": STEPS.get(failed),
        "colour": colour,
        "colour_label": COLOUR_LABELS.get(colour, ""),
        "timeline": timeline_for(viewer, ticket, staff=staff),
        "photos": list(ticket.attachments.all()),
        "places": _place_links(viewer, ticket),
        "parent": visible.filter(pk=ticket.parent_id).first() if ticket.parent_id else None,
        "merged": list(visible.filter(parent=ticket).order_by("submitted_at")),
        "rate_template": _rate_template() if allowed.get("rate") else "",
        "duplicates": _possible_duplicates(ticket, visible) if allowed.get("merge") else [],
    }
    if staff:
        context.update(
            dispatches=list(ticket.dispatches.select_related("department").order_by("dispatched_at")),
            extensions=list(
                ticket.extensions.select_related("dispatch__department").order_by("requested_at")
            ),
            reporter_url=(
                reverse("registry:person", args=[ticket.reporter_person_id])
                if ticket.reporter_person_id
                and ticket.reporter_person is not None
                and registry_selectors.can_view_people(viewer, ticket.reporter_person.region_code)
                else ""
            ),
            can_reveal=bool(ticket.contact_phone)
            and has_perm(viewer, Perm.REVEAL_PERSONAL_DATA, ticket.region_code),
            revealed=revealed or {},
            reveal_form=reveal_form,
        )
    return context


@grid_page()
def ticket(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.get_ticket_for(request.user, pk)
    return render(request, "grid/ticket.html", ticket_context(request, found))


@grid_page()
def photo(request: HttpRequest, pk: int, photo_id: int) -> FileResponse:
    """A photo of a ticket, for those who see the ticket; never cached, never a public URL."""
    return photo_response(*selectors.get_photo_for(request.user, pk, photo_id))


def _act(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    viewer = request.user
    found = selectors.get_ticket_for(viewer, pk)
    step = STEPS[key]
    allowed = selectors.can(viewer, found).get(key, False)
    form = _form_for(step, found, request.POST, request.FILES)
    valid = form.is_valid()
    if valid or not allowed:
        # Not allowed now: the service refuses with its own (audited) reason, whatever the input.
        try:
            step.perform(viewer, found, dict(getattr(form, "cleaned_data", {})), request)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, str(step.done))
            return redirect(safe_next(request, reverse("grid:ticket", args=[found.pk])))
        found = selectors.get_ticket_for(viewer, pk)
    return render(
        request,
        "grid/ticket.html",
        ticket_context(request, found, failed=key, failed_form=form),
        status=400,
    )


def _step_view(key: str) -> View:
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return _act(request, pk, key)

    view.__name__ = f"ticket_{key}"
    view.__doc__ = f"POST: the {key} step of a ticket."
    return grid_page(methods=("POST",))(view)


step_views: dict[str, View] = {key: _step_view(key) for key in STEPS}


@grid_page(methods=("POST",))
def ticket_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The reporter's full phone number for staff allowed to see it, with a reason (audited)."""
    from django import forms as django_forms

    viewer = request.user
    found = selectors.get_ticket_for(viewer, pk)
    if not selectors.is_staff_viewer(viewer, found):
        raise PermissionDenied(_("You may not see this value."))
    form = django_forms.Form(request.POST)
    form.fields["field"] = django_forms.CharField()
    form.fields["reason"] = django_forms.CharField(required=False)
    form.is_valid()
    try:
        value = personal.reveal(
            actor=viewer,
            obj=found,
            field="contact_phone",
            reason=form.cleaned_data.get("reason", ""),
            request=request,
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return render(
            request, "grid/ticket.html", ticket_context(request, found, reveal_form=form), status=400
        )
    return render(
        request, "grid/ticket.html", ticket_context(request, found, revealed={"contact_phone": value})
    )
