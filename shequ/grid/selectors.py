"""Reads of tickets, each scoped to who is asking.

Who sees a ticket:

* region staff holding ``grid.view`` — tickets whose ``region_code`` lies in their scope (a grid
  worker their grid, a community its community, officers their street, county or city);
* department staff — tickets ever dispatched to their department, wherever they lie, and nothing
  else (a department that returned a ticket still sees what it did with it);
* a resident — the tickets they reported or follow (merged duplicates), never anyone else's.

``get_ticket_for`` answers 404 for anything else, so the existence of a ticket is not revealed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shequ.core.models import Role
from shequ.core.permissions import (
    ROLE_PERMISSIONS,
    Viewer,
    active_memberships,
    has_perm,
    roles_of,
    scope_q,
    scopes_for,
)
from shequ.grid import deadlines
from shequ.grid.models import (
    DEPARTMENT_STATUSES,
    EXTENSION_STATUSES,
    OPEN_STATUSES,
    AlertState,
    Attachment,
    Category,
    Dispatch,
    Extension,
    ExtensionStatus,
    Follower,
    Status,
    Ticket,
    TicketAction,
    UrgentAlert,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.permissions import can_acknowledge


def department_ids(viewer: Viewer) -> set[int]:
    return {
        m.department_id
        for m in active_memberships(viewer)
        if m.department_id is not None and P.DEPARTMENT in ROLE_PERMISSIONS.get(m.role, frozenset())
    }


def visibility_q(viewer: Viewer) -> Q:
    """The filter of every ticket ``viewer`` may see (matches nothing for strangers)."""
    q = Q(pk__in=[])
    if scopes_for(viewer, P.VIEW):
        q |= scope_q(viewer, P.VIEW)
    departments = department_ids(viewer)
    if departments:
        q |= Q(pk__in=Dispatch.objects.filter(department_id__in=departments).values("ticket_id"))
    if viewer.pk is not None:  # a signed-in account
        # The few tickets followed as a list, not a subquery: every branch of the OR is then an
        # index scan, and an area's count no longer reads every open ticket to test the subquery.
        followed = list(Follower.objects.filter(user_id=viewer.pk).values_list("ticket_id", flat=True))
        q |= Q(reporter_user_id=viewer.pk) | Q(pk__in=followed)
    return q


def tickets_for(viewer: Viewer) -> QuerySet[Ticket]:
    return Ticket.objects.filter(visibility_q(viewer)).select_related("category", "department", "region")


def get_ticket_for(viewer: Viewer, pk: Any) -> Ticket:
    try:
        key = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    ticket = tickets_for(viewer).filter(pk=key).first()
    if ticket is None:
        raise Http404
    return ticket


def get_photo_for(viewer: Viewer, ticket_pk: Any, photo_id: Any) -> tuple[Ticket, Attachment]:
    """A photo of a ticket ``viewer`` sees, with the ticket; 404 otherwise."""
    found = get_ticket_for(viewer, ticket_pk)
    try:
        key = int(photo_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    att = Attachment.objects.filter(ticket=found, pk=key).first()
    if att is None:
        raise Http404
    return found, att


def is_staff_viewer(viewer: Viewer, ticket: Ticket) -> bool:
    """Staff see names, contacts and internal notes; residents see roles and departments only."""
    return (
        has_perm(viewer, P.VIEW, ticket.region_code)
        or (ticket.department_id is not None and ticket.department_id in department_ids(viewer))
        or Dispatch.objects.filter(ticket=ticket, department_id__in=department_ids(viewer)).exists()
    )


def pending_extension(ticket: Ticket) -> Extension | None:
    """The request for more time waiting for a decision: only the current department's, and only
    while it works on the ticket (a request left from an earlier push, or of a ticket resolved since,
    is moot)."""
    if ticket.status not in EXTENSION_STATUSES:
        return None
    return (
        Extension.objects.filter(ticket=ticket, status=ExtensionStatus.PENDING, dispatch__is_current=True)
        .order_by("pk")
        .first()
    )


def can(viewer: Viewer, ticket: Ticket) -> dict[str, bool]:
    """Which steps ``viewer`` may take on ``ticket`` now (the pages show only these buttons)."""
    code = ticket.region_code
    status = ticket.status
    handle = has_perm(viewer, P.HANDLE, code)
    dept = ticket.department_id is not None and ticket.department_id in department_ids(viewer)
    reporter = getattr(viewer, "pk", None) is not None and ticket.reporter_user_id == viewer.pk
    waiting = pending_extension(ticket) is not None
    alert = urgent_alert(ticket)
    alert_open = alert is not None and alert.state == AlertState.OPEN
    supervise = has_perm(viewer, P.SUPERVISE, code)
    return {
        # Whoever the alert reached, or region staff who can act on the spot.
        "urgent_ack": alert_open and can_acknowledge(viewer, alert),  # type: ignore[arg-type]
        "urgent_clear": alert is not None and alert.state != AlertState.CLEARED and (handle or supervise),
        "accept": handle and status == Status.SUBMITTED,
        "close_on_spot": (handle or has_perm(viewer, P.PATROL, code))
        and status in {Status.SUBMITTED, Status.ACCEPTED},
        "dispatch": handle and status == Status.ACCEPTED,
        "handle": handle and status == Status.ACCEPTED,
        "merge": handle and status in {Status.SUBMITTED, Status.ACCEPTED},
        "recategorize": handle and status in OPEN_STATUSES and status != Status.MERGED,
        "dept_accept": dept and status == Status.DISPATCHED,
        "respond": dept and status in {Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        "resolve": dept and status in {Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        "dept_return": dept and status in {Status.DISPATCHED, Status.DEPT_ACCEPTED, Status.IN_PROGRESS},
        "request_extension": dept and status in EXTENSION_STATUSES and not waiting,
        "verify": has_perm(viewer, P.VERIFY, code) and status == Status.RESOLVED,
        "rate": reporter and status in {Status.RESOLVED, Status.VERIFIED},
        "supervise": supervise and status == Status.REOPENED,
        "decide_extension": supervise and waiting,
        # Internal notes: region staff, and the department that has the ticket now.
        "comment": has_perm(viewer, P.VIEW, code) or dept,
        # More photos: the same people and the reporter, while the ticket is open.
        "add_photos": (reporter or has_perm(viewer, P.VIEW, code) or dept) and status in OPEN_STATUSES,
    }


def urgent_alert_by_pk(pk: int) -> UrgentAlert | None:
    """An alert named by a message the viewer already holds (its ``topic_ref``)."""
    return UrgentAlert.objects.filter(pk=pk).first()


def urgent_alert(ticket: Ticket) -> UrgentAlert | None:
    """The ticket's urgent alert, if it came in urgent (cached on the ticket by the ORM)."""
    try:
        return ticket.alert
    except UrgentAlert.DoesNotExist:
        return None


def timeline(ticket: Ticket) -> QuerySet[TicketAction]:
    return ticket.actions.select_related("department").prefetch_related("attachments")


def colour(ticket: Ticket, now: dt.datetime | None = None) -> str:
    if ticket.status not in OPEN_STATUSES:
        return deadlines.Colour.NONE
    return deadlines.colour(warn_at=ticket.warn_at, due_at=ticket.due_at, now=now)


def colour_q(name: str, now: dt.datetime | None = None) -> Q:
    """The filter of open tickets in a colour state (uses the status/due and status/warn indexes)."""
    now = now or timezone.now()
    open_q = Q(status__in=OPEN_STATUSES)
    if name == deadlines.Colour.RED:
        return open_q & Q(due_at__lt=now)
    if name == deadlines.Colour.YELLOW:
        return open_q & Q(warn_at__lte=now, due_at__gte=now)
    if name == deadlines.Colour.GREEN:
        return open_q & (Q(warn_at__gt=now) | Q(due_at__isnull=True))
    return Q()


@dataclass(frozen=True)
class TicketFilters:
    status: str = ""
    category: str = ""  # a code: a leaf, or a main type with its leaves
    source: str = ""
    colour: str = ""
    region: str = ""  # a region code prefix inside the viewer's scope
    q: str = ""  # title text or ticket number
    open_only: bool = False


def ticket_list(
    viewer: Viewer,
    filters: TicketFilters | None = None,
    *,
    base: QuerySet[Ticket] | None = None,
) -> QuerySet[Ticket]:
    f = filters or TicketFilters()
    qs = base if base is not None else tickets_for(viewer)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.open_only:
        qs = qs.filter(status__in=OPEN_STATUSES).exclude(status=Status.MERGED)
    if f.category:
        qs = qs.filter(Q(category__code=f.category) | Q(category__parent__code=f.category))
    if f.source:
        qs = qs.filter(source=f.source)
    if f.colour:
        qs = qs.filter(colour_q(f.colour))
    if f.region:
        qs = qs.filter(region_code__startswith=f.region)
    if f.q:
        from shequ.grid.models import parse_number

        pk = parse_number(f.q)
        qs = qs.filter(pk=pk) if pk is not None else qs.filter(title__icontains=f.q)
    return qs


# What waits for the community: new, accepted but not dispatched, resolved and to be checked
# (a department's work is DEPARTMENT_STATUSES: pushed, accepted, in progress).
COMMUNITY_QUEUE_STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.RESOLVED)
_LIST_RELATED = ("category", "category__parent", "region", "department")


def department_queue(viewer: Viewer, *, include_done: bool = False) -> QuerySet[Ticket]:
    """The department's work, most urgent deadline first."""
    departments = department_ids(viewer)
    qs = Ticket.objects.filter(department_id__in=departments).select_related(
        "category", "region", "department"
    )
    if not include_done:
        qs = qs.filter(status__in=DEPARTMENT_STATUSES)
    return qs.order_by("due_at", "pk")


def department_names(viewer: Viewer) -> list[str]:
    """The names of the departments the viewer works for (the portal's heading), sorted."""
    ids = department_ids(viewer)
    return sorted(
        {m.department.name for m in active_memberships(viewer) if m.department_id in ids and m.department}
    )


def region_tickets(viewer: Viewer) -> QuerySet[Ticket]:
    """Every ticket of the viewer's regions (region staff), newest first; unlike ``tickets_for``
    without the department's and the resident's own, so the region index does the work."""
    return (
        Ticket.objects.filter(scope_q(viewer, P.VIEW))
        .select_related(*_LIST_RELATED)
        .order_by("-submitted_at", "-pk")
    )


def community_queue(viewer: Viewer) -> QuerySet[Ticket]:
    """What waits for the community: new tickets, accepted ones not yet dispatched, resolved ones
    to verify, most urgent first. Grid workers see their grid's too: they close small matters on
    the spot (patrol) and check resolved ones (verify), though they do not accept or dispatch."""
    q = scope_q(viewer, P.HANDLE) | scope_q(viewer, P.VERIFY) | scope_q(viewer, P.PATROL)
    return (
        Ticket.objects.filter(q, status__in=COMMUNITY_QUEUE_STATUSES)
        .select_related(*_LIST_RELATED)
        .order_by("due_at", "pk")
    )


def supervision_list(viewer: Viewer) -> QuerySet[Ticket]:
    """Open tickets of the viewer's area that need a supervisor: escalated, overdue or reopened
    after a low rating; most escalated first, then most overdue."""
    codes = scopes_for(viewer, P.SUPERVISE)
    if not codes:
        return Ticket.objects.none()
    q = Q()
    for code in codes:
        q |= Q(region_code__startswith=code)
    return (
        Ticket.objects.filter(q, status__in=OPEN_STATUSES)
        .filter(Q(escalations__gt=0) | Q(status=Status.REOPENED) | Q(due_at__lt=timezone.now()))
        .select_related("category", "region", "department")
        .order_by("-escalations", "due_at", "pk")
    )


def pending_extensions(viewer: Viewer) -> QuerySet[Extension]:
    """Requests for more time in the viewer's supervision area, oldest first."""
    codes = scopes_for(viewer, P.SUPERVISE)
    if not codes:
        return Extension.objects.none()
    q = Q()
    for code in codes:
        q |= Q(ticket__region_code__startswith=code)
    return (
        Extension.objects.filter(
            q,
            status=ExtensionStatus.PENDING,
            ticket__status__in=EXTENSION_STATUSES,
            dispatch__is_current=True,
        )
        .select_related("ticket", "ticket__category", "ticket__region", "dispatch__department")
        .order_by("requested_at", "pk")
    )


def app_ref(client_key: uuid.UUID | None) -> str:
    """The external reference of a ticket entered on one of our forms: the form's client key."""
    return f"app:{client_key}" if client_key else ""


def sent_from_form(viewer: Viewer, client_key: uuid.UUID | None) -> Ticket | None:
    """The ticket the viewer already made from this form (same client key), if any: the same form
    posted twice (a double tap, or the app resending what it kept offline) makes one ticket."""
    if not client_key or viewer.pk is None:
        return None
    return Ticket.objects.filter(external_ref=app_ref(client_key), created_by_id=viewer.pk).first()


def my_tickets(viewer: Viewer) -> QuerySet[Ticket]:
    """A resident's own reports and the tickets they follow."""
    if viewer.pk is None:  # not signed in
        return Ticket.objects.none()
    return (
        Ticket.objects.filter(
            Q(reporter_user_id=viewer.pk)
            | Q(pk__in=Follower.objects.filter(user_id=viewer.pk).values("ticket_id"))
        )
        .select_related("category")
        .order_by("-submitted_at", "-pk")
    )


def public_resolved(region_code: str, *, days: int = 90) -> QuerySet[Ticket]:
    """Resolved matters of an area, for the public page (which shows no personal data)."""
    since = timezone.now() - dt.timedelta(days=days)
    return (
        Ticket.objects.filter(
            region_code__startswith=region_code,
            status__in=[Status.RESOLVED, Status.VERIFIED, Status.CLOSED],
            resolved_at__gte=since,
        )
        .select_related("category", "department", "region")
        .order_by("-resolved_at", "-pk")
    )


def category_tree() -> list[tuple[Category, list[Category]]]:
    cats = list(Category.objects.filter(is_active=True).order_by("sort_order", "code"))
    roots = [c for c in cats if c.parent_id is None]
    return [(root, [c for c in cats if c.parent_id == root.pk]) for root in roots]


def leaf_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True, parent__isnull=False).select_related("parent")


def open_alerts(viewer: Viewer) -> QuerySet[UrgentAlert]:
    """Urgent alerts nobody has acknowledged yet, in the viewer's regions, oldest first."""
    return (
        UrgentAlert.objects.filter(
            scope_q(viewer, P.VIEW, field="ticket__region_code"), state=AlertState.OPEN
        )
        .select_related("ticket", "ticket__region")
        .order_by("raised_at", "pk")
    )


def home_counts(viewer: Viewer) -> dict[str, int]:
    """What waits for the viewer, for the home page."""
    counts: dict[str, int] = {}
    if scopes_for(viewer, P.HANDLE) or scopes_for(viewer, P.VERIFY) or scopes_for(viewer, P.PATROL):
        queue = community_queue(viewer)
        counts["community"] = queue.count()
        counts["overdue"] = ticket_list(viewer, TicketFilters(colour="red"), base=queue).count()
    if Role.RESIDENT in roles_of(viewer):
        counts["mine_open"] = my_tickets(viewer).filter(status__in=OPEN_STATUSES).count()
    if department_ids(viewer):
        counts["department"] = department_queue(viewer).count()
    if scopes_for(viewer, P.SUPERVISE):
        counts["supervision"] = supervision_list(viewer).count()
    if scopes_for(viewer, P.VIEW):
        counts["urgent_open"] = open_alerts(viewer).count()
    if scopes_for(viewer, P.VERIFY):
        counts["verify"] = Ticket.objects.filter(scope_q(viewer, P.VERIFY), status=Status.RESOLVED).count()
    return counts


def hot_topic_tickets(viewer: Viewer) -> QuerySet[Ticket]:
    """The tickets the hot-topic clusters are drawn from: the viewer's regions'."""
    return Ticket.objects.filter(scope_q(viewer, P.VIEW))


def category_names() -> dict[str, str]:
    """Category code → Chinese name, for labels."""
    return dict(Category.objects.values_list("code", "name_zh"))


def status_counts(qs: QuerySet[Ticket]) -> dict[str, int]:
    # Without its ordering: a queue ordered by deadline would be grouped by deadline too (all 1s).
    return dict(qs.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


# Main types whose tickets tell of danger (安全隐患, 突发事件): the emergency risk model counts them.
SAFETY_ROOTS = ("safety", "incident")


def safety_ticket_counts(
    *, region_codes: list[str], since: dt.datetime, roots: tuple[str, ...] = SAFETY_ROOTS
) -> list[tuple[str, str, int]]:
    """(region code, category code, tickets) of the tickets under ``region_codes`` submitted since
    ``since`` in the categories under ``roots`` (or a root itself), duplicates merged into others left out. A
    platform read for the emergency risk model: the caller checks access (counts, no person)."""
    if not region_codes:
        return []
    area = Q(pk__in=[])
    for code in region_codes:
        area |= Q(region_code__startswith=code)
    in_roots = Q(category__code__in=roots) | Q(category__parent__code__in=roots)
    rows = (
        Ticket.objects.filter(area, in_roots, submitted_at__gte=since)
        .exclude(status=Status.MERGED)
        .values("region_code", "category__code")
        .annotate(n=Count("pk"))
        .order_by("region_code", "category__code")
        .values_list("region_code", "category__code", "n")
    )
    return [(code, category, n) for code, category, n in rows]
