"""The grid app's event handlers and periodic jobs; imported by GridConfig.ready().

Notifications go through ``core.messaging.notify`` (inbox always; SMS for urgent dispatches), one
per person per event, threaded per ticket; their texts are in ``grid.notices``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import duty, outbox
from shequ.core.events import MessageAcknowledged
from shequ.core.messaging import Contact, notify, register_contacts, thread_key
from shequ.core.models import LEVEL_CODE_LENGTH, Channel, Department, Region, RegionLevel, User
from shequ.core.outbox import handles, periodic
from shequ.emergency.events import CheckInFollowUp, HelpRequested
from shequ.emergency.services import answers as emergency_answers
from shequ.govservice.events import CareConcern
from shequ.grid import notices, services
from shequ.grid.events import (
    TicketChanged,
    TicketDispatched,
    TicketEscalated,
    TicketWarned,
    UrgentAlertAcknowledged,
    UrgentAlertRaised,
)
from shequ.grid.models import (
    OPEN_STATUSES,
    AlertLevel,
    AlertState,
    Attachment,
    Dispatch,
    Follower,
    Source,
    Status,
    Ticket,
    Urgency,
    UrgentAlert,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services import _common
from shequ.iot import services as iot_services
from shequ.iot.events import AlertRaised as IotAlertRaised
from shequ.iot.models import Severity
from shequ.registry.selectors import building_by_pk, house_by_pk, key_place_by_pk

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


def _send(ticket: Ticket, users: list[User], notice: notices.Notice, **kwargs: Any) -> None:
    """One notice per person per event: keyed by the outbox event id, so a retried task or a second
    handler of the same event sends nothing twice; threaded per ticket in the inbox."""
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=_link(ticket),
        region_code=ticket.region_code,
        dedupe_key=outbox.current_event_id(),
        thread_key=thread_key(notices.THREAD_KIND, ticket.pk),
        **kwargs,
    )


def _ticket(pk: int) -> Ticket | None:
    return Ticket.objects.select_related("category", "department").filter(pk=pk).first()


@handles(TicketDispatched)
def tell_department(event: TicketDispatched) -> None:
    ticket = _ticket(event.ticket_id)
    department = Department.objects.filter(pk=event.department_id).first()
    dispatch = Dispatch.objects.filter(pk=event.dispatch_id).first()
    if ticket is None or department is None or dispatch is None or ticket.department_id != department.pk:
        return  # re-dispatched elsewhere before the worker got here: the new dispatch tells its own
    if ticket.status != Status.DISPATCHED:
        return  # accepted, returned or finished before the worker got here: nothing left to sign for
    staff = services.department_staff(department.pk)
    if not staff:
        return
    with translation.override("zh-hans"):
        _send(
            ticket,
            staff,
            notices.dispatched(ticket, department, dispatch, urgent=event.urgent),
            channels=(Channel.INBOX, Channel.SMS) if event.urgent else (Channel.INBOX,),
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
            notice = notices.low_rating(ticket)
        else:
            # The status this step set, not the ticket's status when the worker runs: a worker
            # that catches up on several steps would otherwise say "closed" for each of them.
            notice = notices.progress(ticket, event.to_status)
        if not users:
            return
        _send(
            ticket,
            users,
            notice,
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
        _send(
            ticket,
            users,
            notices.deadline_near(ticket, event.clock, ticket.due_at),
            topic="grid.warn",
            topic_ref=f"{ticket.pk}:{event.clock}",
        )


@handles(TicketEscalated)
def tell_supervisors(event: TicketEscalated) -> None:
    ticket = _ticket(event.ticket_id)
    if ticket is None or ticket.status not in OPEN_STATUSES:
        return  # finished before the worker got here: nobody needs to chase it
    users = services.region_staff(event.supervision_code, P.SUPERVISE) + _assignees(ticket)
    if not users:
        return
    with translation.override("zh-hans"):
        _send(
            ticket,
            users,
            notices.escalated(ticket, event.escalations),
            topic="grid.escalate",
            topic_ref=f"{ticket.pk}:{event.escalations}",
        )


URGENT_TOPIC = "grid.urgent"
# Home care's concerns (``govservice.care_concern``) go to the grid under 关爱帮扶.
CARE_CATEGORY = "special.care"


def _street_code(community_code: str) -> str:
    return community_code[: LEVEL_CODE_LENGTH[RegionLevel.STREET]]


def _reach(alert: UrgentAlert, level: int, at: dt.datetime) -> tuple[int, list[User], str]:
    """Whom an alert's level reaches now, and why them. A level with nobody to reach passes to the
    next at once: an alert never waits ten minutes on an empty roster."""
    community = alert.community_code
    if level <= AlertLevel.ON_DUTY:
        answer = duty.duty_now(region_code=community, at=at)
        if answer.users:
            return AlertLevel.ON_DUTY, list(answer.users), answer.why
    if level <= AlertLevel.COMMUNITY_HEAD:
        heads = services.region_staff(community, P.SUPERVISE)
        if heads:
            return AlertLevel.COMMUNITY_HEAD, heads, "community_head"
    street = _street_code(community)
    answer = duty.duty_now(region_code=street, at=at)
    users = list({u.pk: u for u in [*answer.users, *services.region_staff(street, P.SUPERVISE)]}.values())
    return AlertLevel.STREET, users, "street"


@handles(UrgentAlertRaised)
def alert_people(event: UrgentAlertRaised) -> None:
    """SMS and in-app, asking for an acknowledgement, to whomever the alert's level reaches; at the
    first level the resident who reported it is told what to do now."""
    alert = (
        UrgentAlert.objects.select_related("ticket__category", "ticket__region", "ticket__house")
        .filter(pk=event.alert_id)
        .first()
    )
    if alert is None or alert.state != AlertState.OPEN:
        return  # acknowledged or cleared before the worker got here
    ticket = alert.ticket
    now = _common._now()  # the grid's clock (the deadline engine's; tests set it)
    level, users, why = _reach(alert, event.level, now)
    skipped = level > event.level  # the asked level had nobody to reach
    if level > alert.level:
        # Nobody at the asked level: the alert stands at the level that was reached.
        alert.level = level
        alert.ack_due_at = now + services.urgent_ack_window() if level < AlertLevel.STREET else None
        alert.save(update_fields=["level", "ack_due_at"])
    minutes = int(services.urgent_ack_window().total_seconds() // 60)
    waited = int((now - alert.raised_at).total_seconds() // 60)
    with translation.override("zh-hans"):
        if users:
            _send(
                ticket,
                users,
                notices.urgent_alert(ticket, alert, level, minutes=minutes, waited=waited, skipped=skipped),
                channels=(Channel.INBOX, Channel.SMS),
                requires_ack=True,
                topic=URGENT_TOPIC,
                topic_ref=str(alert.pk),
            )
        services.alert_reached(alert_id=alert.pk, level=level, users=users, why=why, at=now)
        if event.level == AlertLevel.ON_DUTY and alert.life_safety:
            _tell_reporter_to_call(ticket, alert, level=level, reached=bool(users), minutes=minutes)


def _tell_reporter_to_call(
    ticket: Ticket, alert: UrgentAlert, *, level: int, reached: bool, minutes: int
) -> None:
    """The reporter of a life-safety report hears whom to call now, in the inbox (with the call box,
    ``views_urgent.reporter_panel``) and by SMS, where the numbers can be tapped: a resident by their
    account's phone; someone without an account (a 12345 caller, a walk-in entered by staff) by the
    contact phone on the ticket, if one was given."""
    notice = notices.urgent_reporter(ticket, alert, minutes=minutes, level=level, reached=reached)
    reporter = _resident_reporter(ticket)
    common: dict[str, Any] = {
        "sender": None,
        "subject": notice.subject,
        "body": notice.body,
        "region_code": ticket.region_code,
        "dedupe_key": f"{outbox.current_event_id()}:reporter",
        "channels": (Channel.INBOX, Channel.SMS),
        "topic": REPORTER_TOPIC,
        "topic_ref": str(alert.pk),
    }
    if reporter is not None:
        notify(
            recipients=[reporter],
            link=reverse("grid:report_done", args=[ticket.pk]),
            thread_key=thread_key(notices.THREAD_KIND, ticket.pk),
            **common,
        )
    elif ticket.contact_phone_index:  # a number exists (the blind index tells without decrypting)
        notify(recipients=[], contacts=[Contact(ref=f"{CONTACT_KIND}:{ticket.pk}")], **common)


REPORTER_TOPIC = "grid.urgent_reporter"
# A ticket's reporter without an account, reached by SMS at the ticket's contact phone.
CONTACT_KIND = "grid.ticket"


def contact_phones(ids: Sequence[str]) -> dict[str, str]:
    """The contact phone of each ticket (``messaging.register_contacts``), read when the SMS is sent."""
    found = Ticket.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()])
    return {str(t.pk): t.contact_phone for t in found if t.contact_phone}


def _resident_reporter(ticket: Ticket) -> User | None:
    if ticket.reporter_user_id is None:
        return None
    return User.objects.filter(pk=ticket.reporter_user_id, is_active=True).first()


@handles(MessageAcknowledged)
def acknowledged_in_inbox(event: MessageAcknowledged) -> None:
    """The "Acknowledge" button of an alert's message acknowledges the alert."""
    if event.topic != URGENT_TOPIC or not event.topic_ref.isdigit():
        return
    alert = UrgentAlert.objects.select_related("ticket").filter(pk=int(event.topic_ref)).first()
    if event.recipient_id is None:
        return
    user = User.objects.filter(pk=event.recipient_id, is_active=True).first()
    if alert is None or user is None:
        return
    services.alert_acknowledge(actor=user, alert=alert, via="inbox")


@handles(UrgentAlertAcknowledged)
def tell_acknowledged(event: UrgentAlertAcknowledged) -> None:
    """The others reached stop worrying; the resident hears that someone is on it."""
    alert = (
        UrgentAlert.objects.select_related("ticket__category", "acknowledged_by")
        .filter(pk=event.alert_id)
        .first()
    )
    if alert is None or alert.acknowledged_by is None:
        return
    ticket = alert.ticket
    by = alert.acknowledged_by.name
    reached = {pk for step in alert.reached for pk in step.get("users", [])} - {alert.acknowledged_by_id}
    others = list(User.objects.filter(pk__in=reached, is_active=True))
    reporter = _resident_reporter(ticket)
    with translation.override("zh-hans"):
        if others:
            _send(
                ticket,
                others,
                notices.urgent_acknowledged(ticket, by=by, for_reporter=False),
                topic="grid.urgent_ack",
                topic_ref=str(alert.pk),
            )
        if reporter is not None:
            notify(
                sender=None,
                recipients=[reporter],
                subject=(n := notices.urgent_acknowledged(ticket, by=by, for_reporter=True)).subject,
                body=n.body,
                link=reverse("grid:ticket", args=[ticket.pk]),
                region_code=ticket.region_code,
                dedupe_key=f"{outbox.current_event_id()}:reporter",
                thread_key=thread_key(notices.THREAD_KIND, ticket.pk),
                topic="grid.urgent_ack",
                topic_ref=str(alert.pk),
            )


@periodic("grid.urgent", every=dt.timedelta(seconds=15))
def sweep_urgent() -> None:
    """Unacknowledged urgent alerts climb a level: checked often, an alert of ten minutes must not
    wait for the minute's deadline sweep."""
    services.escalate_unacknowledged()


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


@handles(IotAlertRaised)
def ticket_from_iot_alert(event: IotAlertRaised) -> None:
    """An IoT alert whose rule asks for one (a smoke or gas alarm, an SOS, a welfare check …)
    becomes a sensor ticket of the device's grid, for its grid worker. Major and critical alerts are
    urgent, so the on-duty chain of ``services.urgent`` starts at once. Idempotent: the alert's id
    is the ticket's external reference."""
    if not event.ticket_category:
        return
    ref = f"iot-{event.alert_id}"
    ticket = Ticket.objects.filter(source=Source.SENSOR, external_ref=ref).first()
    if ticket is None:
        region = Region.objects.get(code=event.region_code)
        try:
            category = services.clean_category(event.ticket_category)
        except ValidationError:
            category = None  # a rule naming a retired category still makes its ticket
        house = house_by_pk(event.house_id) if event.house_id else None
        # The alert's places lie in its community (``iot.services.device_register`` checked them).
        building = building_by_pk(event.building_id) if event.building_id else None
        key_place = key_place_by_pk(event.key_place_id) if event.key_place_id else None
        urgent = event.severity >= Severity.MAJOR
        with translation.override("zh-hans"):
            description = _("Raised by the IoT platform: %(title)s. %(detail)s") % {
                "title": event.title,
                "detail": event.detail,
            }
            if event.device_code:
                description += " " + _("Device: %(code)s.") % {"code": event.device_code}
        ticket = services.ticket_submit(
            actor=None,
            source=Source.SENSOR,
            region=region,
            title=event.title[:100],
            description=description,
            category=category,
            urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
            latitude=event.latitude,
            longitude=event.longitude,
            address=event.address,
            house=house,
            building=building,
            key_place=key_place,
            external_ref=ref,
        )
    iot_services.alert_link_ticket(alert_id=event.alert_id, ticket_id=ticket.pk)


@handles(HelpRequested)
def ticket_from_help_request(event: HelpRequested) -> None:
    """A person called out answered "need help": an urgent ticket for their grid (a drill's is
    marked as such and not urgent, so the on-duty chain is not woken for it). Idempotent: the
    recipient's id is the ticket's external reference."""
    ref = f"emergency-{event.recipient_id}"
    ticket = Ticket.objects.filter(source=Source.EMERGENCY, external_ref=ref).first()
    if ticket is None:
        region = Region.objects.filter(code=event.region_code).first()
        if region is None:
            return
        try:
            category = services.clean_category("incident")
        except ValidationError:
            category = None
        with translation.override("zh-hans"):
            drill = _("[Drill]") if event.is_drill else ""
            title = drill + _("%(name)s needs help (%(title)s)") % {
                "name": event.person_name,
                "title": event.title,
            }
            description = _(
                "Answered “need help” to the call-out “%(title)s”. Home: %(place)s. "
                "Where now: %(location)s. %(note)s"
            ) % {
                "title": event.title,
                "place": event.place or "-",
                "location": event.location or "-",
                "note": event.note,
            }
        ticket = services.ticket_submit(
            actor=None,
            source=Source.EMERGENCY,
            region=region,
            title=title[:100],
            description=description.strip(),
            category=category,
            urgency=Urgency.NORMAL if event.is_drill else Urgency.URGENT,
            address=event.place,
            external_ref=ref,
            # A drill's "need help" is practice, whatever its words ("一楼进水了"): no detector.
            detect=not event.is_drill,
        )
    emergency_answers.recipient_link_ticket(recipient_id=event.recipient_id, ticket_ref=str(ticket.pk))


@handles(CheckInFollowUp)
def ticket_from_checkin(event: CheckInFollowUp) -> None:
    """A check-in round left people of a grid silent or unwell: one task for its grid worker."""
    ref = f"checkin-{event.mobilization_id}-{event.region_code}"
    if Ticket.objects.filter(source=Source.EMERGENCY, external_ref=ref).exists():
        return
    region = Region.objects.filter(code=event.region_code).first()
    if region is None:
        return
    with translation.override("zh-hans"):
        drill = _("[Drill]") if event.is_drill else ""
        description = _(
            "%(missing)d people did not answer today's check-in and %(abnormal)d reported something "
            "wrong. Open the check-in's roll-call for their names, then reach each of them."
        ) % {"missing": event.missing, "abnormal": event.abnormal}
    services.ticket_submit(
        actor=None,
        source=Source.EMERGENCY,
        region=region,
        title=(drill + event.title)[:100],
        description=description,
        external_ref=ref,
    )


@handles(CareConcern)
def ticket_from_care_concern(event: CareConcern) -> None:
    """A home-care meal or visit found something wrong, or nobody answered twice: a task for the
    person's grid (category 关爱帮扶, a staff entry: the care worker is staff or a volunteer).
    Idempotent: the care record's id is the ticket's external reference."""
    ref = f"care-{event.record_id}"
    if Ticket.objects.filter(source=Source.STAFF, external_ref=ref).exists():
        return
    region = Region.objects.filter(code=event.region_code).first()
    if region is None:
        return
    try:
        category = services.clean_category(CARE_CATEGORY)
    except ValidationError:
        category = None  # a catalog without it still gets the task
    with translation.override("zh-hans"):
        description = _(
            "From home care (居家养老): %(note)s. Please visit %(name)s, see how they are and record "
            "the visit."
        ) % {"note": event.note.rstrip("。.！!；; "), "name": event.person_name}
    services.ticket_submit(
        actor=None,
        source=Source.STAFF,
        region=region,
        title=event.title[:100],
        description=description,
        category=category,
        external_ref=ref,
    )


register_contacts(CONTACT_KIND, contact_phones)
