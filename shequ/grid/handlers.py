"""The grid app's event handlers and periodic jobs; imported by GridConfig.ready().

Notifications go through ``core.messaging.notify`` (inbox always; SMS for urgent dispatches). They
carry the ticket number, category and area, never the reporter's name or phone number.
"""

from __future__ import annotations

import datetime as dt

from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core.messaging import notify
from shequ.core.models import Channel, Department, User
from shequ.core.outbox import handles, periodic
from shequ.grid import services
from shequ.grid.events import TicketChanged, TicketDispatched, TicketEscalated, TicketWarned
from shequ.grid.models import Attachment, Clock, Follower, Status, Ticket
from shequ.grid.permissions import GridPerm as P

# Steps of the workflow the reporter and followers hear about.
_REPORTER_ACTIONS = {
    "accept",
    "dispatch",
    "respond",
    "resolve",
    "handle",
    "close_on_spot",
    "supervise_close",
    "merge",
}


def _link(ticket: Ticket) -> str:
    return reverse("grid:ticket", args=[ticket.pk])


def _label(ticket: Ticket) -> str:
    category = ticket.category.name_zh if ticket.category else _("uncategorised")
    return f"{ticket.number} {category} · {ticket.title}"


def _ticket(pk: int) -> Ticket | None:
    return Ticket.objects.select_related("category", "department").filter(pk=pk).first()


@handles(TicketDispatched)
def tell_department(event: TicketDispatched) -> None:
    ticket = _ticket(event.ticket_id)
    department = Department.objects.filter(pk=event.department_id).first()
    if ticket is None or department is None or ticket.department_id != department.pk:
        return  # re-dispatched elsewhere before the worker got here: the new dispatch tells its own
    staff = services.department_staff(department.pk)
    if not staff:
        return
    with translation.override("zh-hans"):
        due = timezone.localtime(ticket.due_at).strftime("%Y-%m-%d %H:%M") if ticket.due_at else ""
        notify(
            sender=None,
            recipients=staff,
            subject=(_("Urgent ticket: %(label)s") if event.urgent else _("New ticket: %(label)s"))
            % {"label": _label(ticket)},
            body=_("A ticket was dispatched to %(department)s. Accept it before %(due)s.")
            % {"department": department.name, "due": due},
            link=_link(ticket),
            channels=(Channel.INBOX, Channel.SMS) if event.urgent else (Channel.INBOX,),
            region_code=ticket.region_code,
            topic="grid.dispatch",
            topic_ref=str(event.dispatch_id),
        )


@handles(TicketChanged)
def tell_reporter(event: TicketChanged) -> None:
    if event.action not in _REPORTER_ACTIONS and not (
        event.action == "rate" and event.to_status == Status.REOPENED
    ):
        return
    ticket = _ticket(event.ticket_id)
    if ticket is None:
        return
    followers = set(Follower.objects.filter(ticket=ticket).values_list("user_id", flat=True))
    if event.action == "merge" and ticket.parent_id:
        followers |= set(
            Follower.objects.filter(ticket_id=ticket.parent_id).values_list("user_id", flat=True)
        )
    users = list(User.objects.filter(pk__in=followers - {event.actor_id}, is_active=True))
    with translation.override("zh-hans"):
        if event.action == "rate":
            # A bad review goes to the community's supervisors, not back to the resident.
            users = services.region_staff(ticket.supervision_code, P.SUPERVISE)
            subject = _("Low rating, ticket reopened: %(label)s") % {"label": _label(ticket)}
        else:
            subject = _("Your report %(label)s: %(status)s") % {
                "label": _label(ticket),
                "status": Status(ticket.status).label,
            }
        if not users:
            return
        notify(
            sender=None,
            recipients=users,
            subject=subject,
            body=_("Open the ticket to read its progress."),
            link=_link(ticket),
            region_code=ticket.region_code,
            topic="grid.progress",
            topic_ref=f"{ticket.pk}:{event.action}:{event.to_status}",
        )


def _assignees(ticket: Ticket) -> list[User]:
    if ticket.department_id and ticket.status in {
        Status.DISPATCHED,
        Status.DEPT_ACCEPTED,
        Status.IN_PROGRESS,
    }:
        return services.department_staff(ticket.department_id)
    return services.region_staff(services._community_code(ticket.region_code), P.HANDLE)


@handles(TicketWarned)
def remind_assignee(event: TicketWarned) -> None:
    ticket = _ticket(event.ticket_id)
    if ticket is None or ticket.clock != event.clock or ticket.due_at is None:
        return
    users = _assignees(ticket)
    if not users:
        return
    with translation.override("zh-hans"):
        what = _("response") if event.clock == Clock.RESPONSE else _("resolution")
        notify(
            sender=None,
            recipients=users,
            subject=_("Deadline near: %(label)s") % {"label": _label(ticket)},
            body=_("80%% of the %(what)s time has passed; it is due at %(due)s.")
            % {"what": what, "due": timezone.localtime(ticket.due_at).strftime("%Y-%m-%d %H:%M")},
            link=_link(ticket),
            region_code=ticket.region_code,
            topic="grid.warn",
            topic_ref=f"{ticket.pk}:{event.clock}",
        )


@handles(TicketEscalated)
def tell_supervisors(event: TicketEscalated) -> None:
    ticket = _ticket(event.ticket_id)
    if ticket is None:
        return
    users = services.region_staff(event.supervision_code, P.SUPERVISE) + _assignees(ticket)
    if not users:
        return
    with translation.override("zh-hans"):
        notify(
            sender=None,
            recipients=users,
            subject=_("Overdue, under supervision: %(label)s") % {"label": _label(ticket)},
            body=_("The ticket is overdue and is now supervised one level up (escalation %(n)d).")
            % {"n": event.escalations},
            link=_link(ticket),
            region_code=ticket.region_code,
            topic="grid.escalate",
            topic_ref=f"{ticket.pk}:{event.escalations}",
        )


@periodic("grid.deadlines", every=dt.timedelta(minutes=1))
def sweep_deadlines() -> None:
    """Reminders at 80 %, escalation of overdue tickets, closing of unrated verified ones."""
    services.warn_due()
    services.escalate_overdue()
    services.close_unrated()


@periodic("grid.orphan_photos", every=dt.timedelta(hours=6))
def sweep_orphan_photos() -> None:
    """Photo files whose ticket transaction rolled back (the file is written before commit)."""
    known = set(Attachment.objects.values_list("file", flat=True))
    cutoff = timezone.now() - dt.timedelta(hours=1)
    try:
        folders, _files = default_storage.listdir("grid")
    except FileNotFoundError:
        return
    for folder in folders:
        _sub, files = default_storage.listdir(f"grid/{folder}")
        for name in files:
            path = f"grid/{folder}/{name}"
            if path not in known and default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
