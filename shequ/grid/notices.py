"""The texts of the grid app's notices, one function per kind, in the active language.

Each returns a :class:`Notice` with the values it put into the texts, so that a test can render
every kind with real data and fail when a value came out empty ("请在 前签收"). Values describe the
event, not the ticket as it is when the worker gets round to it: a step's notice names the status
that step set, and a dispatch's deadline is the dispatch's own. Texts carry the ticket number,
category and title, never the reporter's name or phone number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core.messaging import Notice, ThreadState
from shequ.core.models import Department
from shequ.grid.models import AlertLevel, Clock, Dispatch, Status, Ticket, UrgentAlert

THREAD_KIND = "grid.ticket"


def _when(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def label(ticket: Ticket) -> str:
    """Number, category and title, the category in the reader's language."""
    if ticket.category is None:
        category = _("uncategorised")
    elif (translation.get_language() or "").startswith("zh"):
        category = ticket.category.name_zh
    else:
        category = ticket.category.name or ticket.category.name_zh
    return f"{ticket.number} {category} · {ticket.title}"


def dispatched(ticket: Ticket, department: Department, dispatch: Dispatch, *, urgent: bool) -> Notice:
    fields = {"label": label(ticket), "department": department.name, "due": _when(dispatch.response_due_at)}
    subject = _("Urgent ticket: %(label)s") if urgent else _("New ticket: %(label)s")
    return Notice(
        subject=subject % fields,
        body=_("A ticket was dispatched to %(department)s. Accept it before %(due)s.") % fields,
        fields=fields,
    )


def progress(ticket: Ticket, to_status: str) -> Notice:
    fields = {"label": label(ticket), "status": str(Status(to_status).label)}
    return Notice(
        subject=_("Your report %(label)s: %(status)s") % fields,
        body=_("Open the ticket to read its progress."),
        fields=fields,
    )


def low_rating(ticket: Ticket) -> Notice:
    fields = {"label": label(ticket)}
    return Notice(
        subject=_("Low rating, ticket reopened: %(label)s") % fields,
        body=_("Open the ticket to read its progress."),
        fields=fields,
    )


def deadline_near(ticket: Ticket, clock: str, due_at: dt.datetime) -> Notice:
    what = _("response") if clock == Clock.RESPONSE else _("resolution")
    fields = {"label": label(ticket), "what": what, "due": _when(due_at)}
    return Notice(
        subject=_("Deadline near: %(label)s") % fields,
        body=_("80%% of the %(what)s time has passed; it is due at %(due)s.") % fields,
        fields=fields,
    )


def escalated(ticket: Ticket, escalations: int) -> Notice:
    fields = {"label": label(ticket), "n": str(escalations)}
    return Notice(
        subject=_("Overdue, under supervision: %(label)s") % fields,
        body=_("The ticket is overdue and is now supervised one level up (escalation %(n)d).")
        % {"n": escalations},
        fields=fields,
    )


def _place(ticket: Ticket) -> str:
    """Where to go: the address given, else the registered house, else the grid."""
    house = str(ticket.house) if ticket.house_id and ticket.house is not None else ""
    return ticket.address or house or (ticket.region.name if ticket.region_id else "") or ticket.region_code


def _danger(alert: UrgentAlert) -> str:
    return alert.kind_label if alert.life_safety and alert.kind_label else _("urgent")


def urgent_alert(
    ticket: Ticket, alert: UrgentAlert, level: int, *, minutes: int, waited: int, skipped: bool = False
) -> Notice:
    """To the person a level reaches: what, where, why them, and that it climbs if nobody
    acknowledges it. ``skipped``: the levels below had nobody to reach (an empty roster), rather
    than nobody who acknowledged in time."""
    fields = {"label": label(ticket), "danger": _danger(alert), "place": _place(ticket)}
    if level == AlertLevel.ON_DUTY:
        fields["minutes"] = str(minutes)
        body = _(
            'Reported at %(place)s. Act now and press "Acknowledge" so the reporter knows someone is '
            "coming; if nobody acknowledges within %(minutes)s minutes it goes to the community head."
        )
    elif level == AlertLevel.COMMUNITY_HEAD and skipped:
        fields["minutes"] = str(minutes)
        body = _(
            "Reported at %(place)s. Nobody is on duty at the community now, so it comes to you. Act now "
            'and press "Acknowledge"; if nobody does within %(minutes)s minutes it goes to the street.'
        )
    elif level == AlertLevel.COMMUNITY_HEAD:
        fields.update(minutes=str(minutes), waited=str(waited))
        body = _(
            "Reported at %(place)s. Nobody on duty acknowledged it within %(waited)s minutes. Act now and "
            'press "Acknowledge"; if nobody does within %(minutes)s minutes it goes to the street.'
        )
    elif skipped:
        body = _(
            "Reported at %(place)s. Nobody at the community could be reached (no one on duty, no "
            'community head), so it comes to the street. Act now and press "Acknowledge".'
        )
    else:
        fields["waited"] = str(waited)
        body = _(
            "Reported at %(place)s. Neither the person on duty nor the community head acknowledged it "
            'within %(waited)s minutes. Act now and press "Acknowledge".'
        )
    # The SMS can be answered: grid.replies reads a "1" from a person the alert reached.
    body = body % fields + " " + _("Or reply 1 to this SMS to acknowledge.")
    return Notice(subject=_("URGENT (%(danger)s): %(label)s") % fields, body=body, fields=fields)


def urgent_reporter(
    ticket: Ticket, alert: UrgentAlert, *, minutes: int, level: int = AlertLevel.ON_DUTY, reached: bool = True
) -> Notice:
    """To the person whose report reads as a danger to life: the three numbers to call now (the
    kind's first), what to do, and what the community is doing, in words true for whom the alert
    reached: ``level`` is the level it stands at, ``reached`` whether anyone was alerted at all."""
    from shequ.grid.lifesafety import KINDS
    from shequ.grid.views_urgent import call_order

    kind = KINDS.get(alert.kind) or KINDS["other"]
    fields = {
        "label": label(ticket),
        "call": " / ".join(call_order(kind)),
        "advice": str(kind.advice),
    }
    if reached and level < AlertLevel.STREET:
        fields["minutes"] = str(minutes)
    if not reached:
        doing = _(
            "Your report is at the top of the community's urgent list, but nobody could be alerted at "
            "this moment: do not wait for the community, call %(call)s now."
        )
    elif level == AlertLevel.ON_DUTY:
        doing = _(
            "The community has received it and is dealing with it: staff were alerted by SMS and in the "
            "app. If nobody acknowledges within %(minutes)s minutes, the community head and then the "
            "street are alerted."
        )
    elif level == AlertLevel.COMMUNITY_HEAD:
        doing = _(
            "The community has received it and is dealing with it: the community head was alerted by SMS "
            "and in the app. If nobody acknowledges within %(minutes)s minutes, the street is alerted."
        )
    else:
        doing = _(
            "The street office has received it and is dealing with it: its staff were alerted by SMS and "
            "in the app."
        )
    body = _("Your report %(label)s may involve a danger to life. %(advice)s %(doing)s") % {
        **fields,
        "doing": doing % fields,
    }
    return Notice(subject=_("If anyone is in danger, call %(call)s now") % fields, body=body, fields=fields)


def urgent_acknowledged(ticket: Ticket, *, by: str, for_reporter: bool) -> Notice:
    if for_reporter:  # staff names stay with staff
        fields = {"label": label(ticket)}
        return Notice(
            subject=_("The community is on it: %(label)s") % fields,
            body=_("The person on duty acknowledged your urgent report and is acting on it."),
            fields=fields,
        )
    fields = {"label": label(ticket), "by": by}
    return Notice(
        subject=_("Acknowledged by %(by)s: %(label)s") % fields,
        body=_("%(by)s has acknowledged the urgent ticket and is acting on it.") % fields,
        fields=fields,
    )


FINISHED = frozenset({Status.CLOSED, Status.MERGED})


def thread_states(ids: Sequence[str]) -> dict[str, ThreadState]:
    """For the inbox: what became of each ticket a thread is about (see messaging.thread_states)."""
    pks = [int(i) for i in ids if i.isdigit()]
    out: dict[str, ThreadState] = {}
    for pk, status in Ticket.objects.filter(pk__in=pks).values_list("pk", "status"):
        # The status word the ticket pages use (closed: 已关闭; 已办结 is "resolved", not yet closed).
        out[str(pk)] = ThreadState(finished=status in FINISHED, label=str(Status(status).label))
    return out
