"""The grid API (mounted at /api/v1/grid/): tickets (list, detail with timeline, report), every
workflow step as ``POST /grid/tickets/{id}/{step}``, sensor alerts, the category tree and category
suggestions, the department's queue and routing rules.

Reads go through ``selectors`` (404 for a ticket outside what the caller may see, exactly like a
missing one); writes through ``services``, which check the caller's right (403, audited) and the
ticket's state (400 ``illegal_transition`` with the reason). The step paths are the names of
``allowed_steps`` in a ticket's detail, so a client shows exactly the steps it may take.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from shequ.core import guards
from shequ.core.api import Pagination
from shequ.core.apiauth import TokenAuth, api_auth, register_scope
from shequ.core.apierrors import ApiError, ErrorOut
from shequ.core.models import LEVEL_CODE_LENGTH, Department, Region, User
from shequ.core.permissions import has_perm, scopes_for
from shequ.core.schemas import MAX_DB_ID
from shequ.grid import selectors, services, views_urgent
from shequ.grid.files import photo_response
from shequ.grid.models import (
    INTERNAL_ACTIONS,
    Category,
    RoutingRule,
    Source,
    Ticket,
    parse_number,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.schemas import (
    AcceptIn,
    AckIn,
    CategoryIn,
    CategoryTreeOut,
    CommentIn,
    DecideExtensionIn,
    DepartmentQueueFilters,
    DispatchIn,
    ExtensionIn,
    MergeIn,
    NoteIn,
    RateIn,
    ReasonIn,
    ReplyIn,
    ResultIn,
    RoutingRuleFilters,
    RoutingRuleIn,
    RoutingRuleOut,
    SensorAlertIn,
    SuggestIn,
    SuggestOut,
    SuperviseIn,
    TicketDetailOut,
    TicketFiltersIn,
    TicketIn,
    TicketOut,
    VerifyIn,
)

logger = logging.getLogger("shequ.grid")

GRID_READ = register_scope(
    "grid:read",
    "Read the tickets the owner may see (phone numbers masked), categories, suggestions, the "
    "department queue and routing rules.",
)
GRID_WRITE = register_scope(
    "grid:write", "Report tickets, take the workflow steps the owner's roles allow, set routing rules."
)
GRID_SENSOR = register_scope(
    "grid_sensor:write", "Report sensor alerts as tickets in the owner's regions (POST /grid/sensor-alerts)."
)

router = Router(tags=["grid"])
READ = api_auth(GRID_READ)
WRITE = api_auth(GRID_WRITE)

# Anyone with one of these takes part in tickets: residents report, staff view, departments handle.
TICKET_PERMS = (P.REPORT, P.PATROL, P.VIEW, P.DEPARTMENT)
TicketIdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="Ticket id.")]
PhotoIdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="Photo id.")]
PHOTO_MEDIA_TYPES = sorted(content_type for content_type, _ext in services.PHOTO_TYPES.values())
T = TypeVar("T")


def _viewer(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _require(request: HttpRequest, perms: Iterable[str], message: str | None = None) -> User:
    """The caller, who must hold one of ``perms`` somewhere (else an audited 403)."""
    message = message or _("Your role gives no access to grid tickets.")
    return guards.require_api(request, tuple(perms), message)


def _step(action: Callable[..., T], **kwargs: Any) -> T:
    """Run a service; an illegal step becomes a 400 ``illegal_transition`` with its reason."""
    try:
        return action(**kwargs)
    except services.TransitionError as exc:
        raise ApiError(400, "illegal_transition", " ".join(exc.messages)) from exc


def _detail(viewer: User, ticket: Ticket) -> Ticket:
    """The ticket with what the caller may see of it, for ``TicketDetailOut``."""
    ticket = (
        Ticket.objects.select_related("category", "department", "region", "suggested_category")
        .filter(pk=ticket.pk)
        .get()
    )
    staff = selectors.is_staff_viewer(viewer, ticket)
    steps = list(selectors.timeline(ticket))
    if not staff:
        # Residents see what was done and by which role or department, not names, internal notes,
        # nor what staff wrote for each other (models.REPORTER_NOTE_ACTIONS).
        steps = [s for s in steps if s.action not in INTERNAL_ACTIONS]
        for s in steps:
            s.actor_name = ""
            if not s.reporter_reads_comment:
                s.comment = ""
    ticket.visible_timeline = steps  # type: ignore[attr-defined]
    ticket.show_contact = staff or ticket.reporter_user_id == viewer.pk  # type: ignore[attr-defined]
    ticket.allowed_steps = [name for name, ok in selectors.can(viewer, ticket).items() if ok]  # type: ignore[attr-defined]
    ticket.pending_extension = (  # type: ignore[attr-defined]
        selectors.pending_extension(ticket) if staff else None
    )
    ticket.urgent_view = views_urgent.summary(selectors.urgent_alert(ticket), staff=staff)  # type: ignore[attr-defined]
    return ticket


def _ticket(request: HttpRequest, ticket_id: int) -> tuple[User, Ticket]:
    viewer = _require(request, TICKET_PERMS)
    return viewer, selectors.get_ticket_for(viewer, ticket_id)


def _department(code: str | None) -> Department | None:
    if code is None:
        return None
    department = Department.objects.filter(code=code).first()
    if department is None:
        raise ValidationError({"department": _("There is no such department.")})
    return department


def _region(code: str) -> Region:
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404
    return region


# --- Tickets ------------------------------------------------------------------------------------


@router.get("/tickets", response=list[TicketOut], auth=READ)
@paginate(Pagination)
def ticket_list(request: HttpRequest, filters: Query[TicketFiltersIn]) -> QuerySet[Ticket]:
    """The tickets the caller may see, newest first: region staff their regions' tickets,
    department staff those ever dispatched to their department, residents their own and the ones
    they follow."""
    viewer = _require(request, TICKET_PERMS)
    wanted = selectors.TicketFilters(
        status=filters.status or "",
        category=filters.category or "",
        source=filters.source or "",
        colour=filters.colour or "",
        region=filters.region or "",
        q=filters.q.strip(),
        open_only=filters.open_only,
    )
    return selectors.ticket_list(viewer, wanted)


@router.get("/tickets/{ticket_id}", response=TicketDetailOut, auth=READ)
def ticket_detail(request: HttpRequest, ticket_id: TicketIdPath) -> Ticket:
    """One ticket with its timeline and the steps the caller may take. Contact details (phone
    masked) and staff names only for staff of the ticket and its reporter. 404 outside scope."""
    viewer, ticket = _ticket(request, ticket_id)
    return _detail(viewer, ticket)


@router.post("/tickets", response={201: TicketDetailOut}, auth=WRITE)
def ticket_create(request: HttpRequest, payload: TicketIn) -> Status[Ticket]:
    """Report a problem: residents for themselves, staff for someone who walked in or phoned, or
    from a patrol. Without a category the community chooses one when it accepts the ticket."""
    viewer = _require(request, (P.REPORT, P.PATROL), _("Your role may not report tickets."))
    region = _region(payload.region_code)
    source = payload.source or (Source.STAFF if has_perm(viewer, P.VIEW, region.code) else Source.RESIDENT)
    house = None
    if payload.house_id is not None:
        from shequ.registry import selectors as registry

        house = registry.get_house_for(viewer, payload.house_id)
    ticket = services.ticket_submit(
        actor=viewer,
        source=source,
        region=region,
        title=payload.title,
        description=payload.description,
        category=payload.category,
        urgency=payload.urgency,
        anonymous=payload.anonymous,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        latitude=payload.latitude,
        longitude=payload.longitude,
        address=payload.address,
        house=house,
        request=request,
    )
    services.record_suggestion(ticket)
    return Status(201, _detail(viewer, ticket))


@router.post(
    "/sensor-alerts",
    response={200: TicketDetailOut, 201: TicketDetailOut, 409: ErrorOut},
    auth=[TokenAuth(GRID_SENSOR)],
)
def sensor_alert(request: HttpRequest, payload: SensorAlertIn) -> Status[Any]:
    """A sensor platform reports an alert (gas, smoke, water …) as a ticket of the device's grid.
    Only with a token holding `grid_sensor:write`, whose owner reports or views tickets in that
    region. Sending the same `alert_id` again answers 200 with the ticket made the first time;
    409 when that id was used in a region the token may not report in."""
    viewer = _viewer(request)
    region = _region(payload.region_code)
    guards.require_api(
        request,
        (P.REPORT, P.VIEW),
        _("This token's owner may not report tickets in this region."),
        region_code=region.code,
    )

    def earlier() -> Status[Any] | None:
        found = Ticket.objects.filter(source=Source.SENSOR, external_ref=payload.alert_id).first()
        if found is None:
            return None
        if not any(has_perm(viewer, perm, found.region_code) for perm in (P.REPORT, P.VIEW)):
            raise ApiError(409, "duplicate_alert", _("This alert id was already reported elsewhere."))
        return Status(200, _detail(viewer, found))

    repeated = earlier()
    if repeated is not None:
        return repeated
    try:
        ticket = services.ticket_submit(
            actor=None,
            source=Source.SENSOR,
            region=region,
            title=payload.title,
            description=payload.description,
            category=payload.category,
            urgency=payload.urgency,
            latitude=payload.latitude,
            longitude=payload.longitude,
            address=payload.address,
            external_ref=payload.alert_id,
            request=request,
        )
    except ValidationError as exc:
        # Two deliveries of one alert at the same moment: the second finds the first's ticket.
        repeated = earlier() if "external_ref" in getattr(exc, "error_dict", {}) else None
        if repeated is None:
            raise
        return repeated
    services.record_suggestion(ticket)
    return Status(201, _detail(viewer, ticket))


# --- Workflow steps -----------------------------------------------------------------------------
# One operation per step; each answers with the ticket as it is afterwards, 400 `illegal_transition`
# when the ticket's state does not allow the step, 403 (audited) without the right.


def _take(request: HttpRequest, ticket_id: int, action: Callable[..., Any], **fields: Any) -> Ticket:
    """One workflow step on a ticket the caller can see (else 404): the service with the caller as
    actor, an illegal step as a 400, and the ticket as it stands afterwards."""
    viewer, ticket = _ticket(request, ticket_id)
    _step(action, actor=viewer, ticket=ticket, request=request, **fields)
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/accept", response=TicketDetailOut, auth=WRITE)
def ticket_accept(request: HttpRequest, ticket_id: TicketIdPath, payload: AcceptIn) -> Ticket:
    """The community takes a submitted ticket on, confirming or correcting its category."""
    return _take(
        request,
        ticket_id,
        services.ticket_accept,
        category=payload.category,
        urgency=payload.urgency,
        comment=payload.comment,
        clear_reason=payload.clear_reason,
    )


@router.post("/tickets/{ticket_id}/recategorize", response=TicketDetailOut, auth=WRITE)
def ticket_recategorize(request: HttpRequest, ticket_id: TicketIdPath, payload: CategoryIn) -> Ticket:
    """Correct the category of an open ticket (community)."""
    return _take(request, ticket_id, services.ticket_recategorize, category=payload.category)


@router.post("/tickets/{ticket_id}/close_on_spot", response=TicketDetailOut, auth=WRITE)
def ticket_close_on_spot(request: HttpRequest, ticket_id: TicketIdPath, payload: ResultIn) -> Ticket:
    """Close a submitted or accepted ticket settled on the spot (grid worker or community)."""
    return _take(request, ticket_id, services.ticket_close_on_spot, result=payload.result)


@router.post("/tickets/{ticket_id}/dispatch", response=TicketDetailOut, auth=WRITE)
def ticket_dispatch(request: HttpRequest, ticket_id: TicketIdPath, payload: DispatchIn) -> Ticket:
    """Push an accepted ticket to a department (default: the routing rule's)."""
    viewer, ticket = _ticket(request, ticket_id)  # the scope check before the department lookup
    department = _department(payload.department)
    _step(
        services.ticket_dispatch,
        actor=viewer,
        ticket=ticket,
        department=department,
        comment=payload.comment,
        request=request,
    )
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/handle", response=TicketDetailOut, auth=WRITE)
def ticket_handle(request: HttpRequest, ticket_id: TicketIdPath, payload: ResultIn) -> Ticket:
    """The community resolves an accepted ticket itself."""
    return _take(request, ticket_id, services.ticket_handle, result=payload.result)


@router.post("/tickets/{ticket_id}/merge", response=TicketDetailOut, auth=WRITE)
def ticket_merge(request: HttpRequest, ticket_id: TicketIdPath, payload: MergeIn) -> Ticket:
    """Merge a duplicate into another open ticket of the same community."""
    viewer, ticket = _ticket(request, ticket_id)
    target = payload.into_id if payload.into_id is not None else None
    if target is None and payload.into_number is not None:
        target = parse_number(payload.into_number)
    if target is None:
        raise ValidationError({"into_id": _("Give the ticket to merge into (its id or number).")})
    into = selectors.get_ticket_for(viewer, target)
    _step(services.ticket_merge, actor=viewer, ticket=ticket, into=into, request=request)
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/dept_accept", response=TicketDetailOut, auth=WRITE)
def ticket_dept_accept(request: HttpRequest, ticket_id: TicketIdPath, payload: CommentIn) -> Ticket:
    """The department accepts a ticket dispatched to it."""
    return _take(request, ticket_id, services.ticket_department_accept, comment=payload.comment)


@router.post("/tickets/{ticket_id}/respond", response=TicketDetailOut, auth=WRITE)
def ticket_respond(request: HttpRequest, ticket_id: TicketIdPath, payload: ReplyIn) -> Ticket:
    """The department answers the reporter; the ticket is in progress from now on."""
    return _take(request, ticket_id, services.ticket_respond, comment=payload.comment)


@router.post("/tickets/{ticket_id}/resolve", response=TicketDetailOut, auth=WRITE)
def ticket_resolve(request: HttpRequest, ticket_id: TicketIdPath, payload: ResultIn) -> Ticket:
    """The department reports the problem resolved, with the result."""
    return _take(request, ticket_id, services.ticket_resolve, result=payload.result)


@router.post("/tickets/{ticket_id}/dept_return", response=TicketDetailOut, auth=WRITE)
def ticket_dept_return(request: HttpRequest, ticket_id: TicketIdPath, payload: ReasonIn) -> Ticket:
    """The department returns a ticket that is not its matter, with the reason."""
    return _take(request, ticket_id, services.ticket_department_return, reason=payload.reason)


@router.post("/tickets/{ticket_id}/request_extension", response=TicketDetailOut, auth=WRITE)
def ticket_request_extension(request: HttpRequest, ticket_id: TicketIdPath, payload: ExtensionIn) -> Ticket:
    """The department asks for more working days (one request at a time)."""
    return _take(request, ticket_id, services.extension_request, days=payload.days, reason=payload.reason)


def _urgent_alert(ticket: Ticket) -> Any:
    alert = selectors.urgent_alert(ticket)
    if alert is None:
        raise ApiError(400, "illegal_transition", _("This ticket has no urgent alert."))
    return alert


@router.post("/tickets/{ticket_id}/urgent_ack", response=TicketDetailOut, auth=WRITE)
def ticket_urgent_ack(request: HttpRequest, ticket_id: TicketIdPath, payload: AckIn) -> Ticket:
    """Acknowledge an urgent ticket's alert ("I am on it"): it stops climbing to the community head
    and the street. For those it reached and the region's grid staff; idempotent."""
    viewer, ticket = _ticket(request, ticket_id)
    _step(services.alert_acknowledge, actor=viewer, alert=_urgent_alert(ticket), via="api", request=request)
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/urgent_clear", response=TicketDetailOut, auth=WRITE)
def ticket_urgent_clear(request: HttpRequest, ticket_id: TicketIdPath, payload: ReasonIn) -> Ticket:
    """Clear an urgent alert as a false alarm, with the reason (audited): the ticket goes back to the
    normal deadline. Community staff and supervisors."""
    viewer, ticket = _ticket(request, ticket_id)
    _step(
        services.alert_clear,
        actor=viewer,
        alert=_urgent_alert(ticket),
        reason=payload.reason,
        request=request,
    )
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/decide_extension", response=TicketDetailOut, auth=WRITE)
def ticket_decide_extension(
    request: HttpRequest, ticket_id: TicketIdPath, payload: DecideExtensionIn
) -> Ticket:
    """The supervising level approves or refuses the waiting extension request."""
    viewer, ticket = _ticket(request, ticket_id)
    extension = selectors.pending_extension(ticket)
    if extension is None:
        raise ApiError(400, "illegal_transition", _("No extension request is waiting for a decision."))
    extension.ticket = ticket
    _step(
        services.extension_decide,
        actor=viewer,
        extension=extension,
        approve=payload.approve,
        comment=payload.comment,
        request=request,
    )
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/verify", response=TicketDetailOut, auth=WRITE)
def ticket_verify(request: HttpRequest, ticket_id: TicketIdPath, payload: VerifyIn) -> Ticket:
    """The grid worker checks a resolved ticket on site: passed, or back with what is still wrong."""
    return _take(request, ticket_id, services.ticket_verify, passed=payload.passed, comment=payload.comment)


@router.post("/tickets/{ticket_id}/rate", response=TicketDetailOut, auth=WRITE)
def ticket_rate(request: HttpRequest, ticket_id: TicketIdPath, payload: RateIn) -> Ticket:
    """The reporter rates the result 1–5; 1 or 2 stars reopen it for supervision."""
    return _take(request, ticket_id, services.ticket_rate, rating=payload.rating, comment=payload.comment)


@router.post("/tickets/{ticket_id}/supervise", response=TicketDetailOut, auth=WRITE)
def ticket_supervise(request: HttpRequest, ticket_id: TicketIdPath, payload: SuperviseIn) -> Ticket:
    """A supervisor decides a reopened ticket: dispatch again, return to the community, or close."""
    viewer, ticket = _ticket(request, ticket_id)  # the scope check before the department lookup
    department = _department(payload.department)
    _step(
        services.ticket_supervise,
        actor=viewer,
        ticket=ticket,
        decision=payload.decision,
        comment=payload.comment,
        department=department,
        request=request,
    )
    return _detail(viewer, ticket)


@router.post("/tickets/{ticket_id}/comment", response=TicketDetailOut, auth=WRITE)
def ticket_comment(request: HttpRequest, ticket_id: TicketIdPath, payload: NoteIn) -> Ticket:
    """A note on the timeline for staff (residents do not see notes)."""
    return _take(request, ticket_id, services.ticket_comment, text=payload.text)


@router.post("/tickets/{ticket_id}/add_photos", response=TicketDetailOut, auth=WRITE)
def ticket_add_photos(
    request: HttpRequest,
    ticket_id: TicketIdPath,
    photos: File[list[UploadedFile]],
    comment: Form[str] = "",
) -> Ticket:
    """More photos for an open ticket, as ``multipart/form-data`` (field ``photos``, up to nine
    JPEG, PNG or WebP files of 8 MB; optional ``comment``): the reporter's, the region staff's or
    the handling department's. Stored without their EXIF data (location, device)."""
    return _take(request, ticket_id, services.ticket_add_photos, photos=photos, comment=comment)


@router.get(
    "/tickets/{ticket_id}/photos/{photo_id}",
    auth=READ,
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "The image (JPEG, PNG or WebP), not cacheable.",
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_MEDIA_TYPES},
            }
        }
    },
)
def ticket_photo(request: HttpRequest, ticket_id: TicketIdPath, photo_id: PhotoIdPath) -> FileResponse:
    """One photo of a ticket the caller sees (404 otherwise); ids are in the timeline's ``photo_ids``."""
    viewer = _require(request, TICKET_PERMS)
    return photo_response(*selectors.get_photo_for(viewer, ticket_id, photo_id))


# --- Categories, queues, routing ---------------------------------------------------------------


@router.get("/categories", response=list[CategoryTreeOut], auth=READ)
def category_tree(request: HttpRequest) -> list[Category]:
    """The active category tree: main types with their leaf categories and deadlines."""
    _require(request, TICKET_PERMS)
    roots = []
    for root, children in selectors.category_tree():
        root.visible_children = children  # type: ignore[attr-defined]
        roots.append(root)
    return roots


@router.post("/suggest", response=SuggestOut, auth=READ)
def suggest(request: HttpRequest, payload: SuggestIn) -> dict[str, Any]:
    """The categories the classifier proposes for a problem's text, best first. `available` is
    false (and the list empty) when no trained classifier is installed."""
    _require(request, TICKET_PERMS)
    found = services.classifier_suggestions(payload.text, k=payload.k)
    return {
        "available": found is not None,
        "suggestions": [
            {"category": c.code, "name_zh": c.name_zh, "confidence": confidence}
            for c, confidence in (found or [])
        ],
    }


@router.get("/department-queue", response=list[TicketOut], auth=READ)
@paginate(Pagination)
def department_queue(request: HttpRequest, filters: Query[DepartmentQueueFilters]) -> QuerySet[Ticket]:
    """The caller's department's tickets waiting for it, most urgent deadline first."""
    viewer = _require(request, (P.DEPARTMENT,), _("Only department staff have a department queue."))
    return selectors.department_queue(viewer, include_done=filters.include_done)


def _rules_for(viewer: User) -> QuerySet[RoutingRule]:
    """Rules set inside the caller's regions and the rules above them that apply there."""
    codes = set(scopes_for(viewer, P.VIEW)) | set(scopes_for(viewer, P.ROUTING))
    q = Q(pk__in=[])
    for code in codes:
        above = [code[:n] for n in sorted(set(LEVEL_CODE_LENGTH.values())) if n < len(code)]
        q |= Q(region_code__startswith=code) | Q(region_code__in=above)
    return RoutingRule.objects.filter(q).select_related("category", "department")


@router.get("/routing-rules", response=list[RoutingRuleOut], auth=READ)
@paginate(Pagination)
def routing_rule_list(request: HttpRequest, filters: Query[RoutingRuleFilters]) -> QuerySet[RoutingRule]:
    """Routing rules (category × region → department) that apply in the caller's regions."""
    viewer = _require(request, (P.VIEW, P.ROUTING))
    rules = _rules_for(viewer)
    if filters.region:
        code = filters.region
        above = [code[:n] for n in sorted(set(LEVEL_CODE_LENGTH.values())) if n <= len(code)]
        rules = rules.filter(Q(region_code__startswith=code) | Q(region_code__in=above))
    if filters.category:
        rules = rules.filter(Q(category__code=filters.category) | Q(category__parent__code=filters.category))
    return rules.order_by("region_code", "category__sort_order", "category__code", "pk")


@router.post("/routing-rules", response=RoutingRuleOut, auth=WRITE)
def routing_rule_set(request: HttpRequest, payload: RoutingRuleIn) -> RoutingRule:
    """Set the department for a category in a region (replacing that region's rule for the
    category). Needs the routing right in the region."""
    viewer = _require(request, (P.ROUTING,), _("Your role may not change routing rules."))
    category = Category.objects.filter(code=payload.category).first()
    if category is None:
        raise ValidationError({"category": _("There is no such category.")})
    department = _department(payload.department)
    assert department is not None
    rule = services.routing_rule_set(
        actor=viewer,
        category=category,
        region=_region(payload.region_code),
        department=department,
        auto_dispatch=payload.auto_dispatch,
        request=request,
    )
    return RoutingRule.objects.select_related("category", "department").get(pk=rule.pk)


@router.delete("/routing-rules/{rule_id}", response={204: None}, auth=WRITE)
def routing_rule_delete(
    request: HttpRequest, rule_id: int = Path(..., ge=1, le=MAX_DB_ID, description="Rule id.")
) -> Status[None]:
    """Delete a routing rule (404 for rules that do not apply in the caller's regions)."""
    viewer = _require(request, (P.ROUTING,), _("Your role may not change routing rules."))
    rule = _rules_for(viewer).filter(pk=rule_id).first()
    if rule is None:
        raise Http404
    services.routing_rule_delete(actor=viewer, rule=rule, request=request)
    return Status(204, None)
