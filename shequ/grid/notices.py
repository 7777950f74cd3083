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
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core.messaging import ThreadState
from shequ.core.models import Department
from shequ.grid.models import Clock, Dispatch, Status, Ticket

THREAD_KIND = "grid.ticket"


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str
    fields: dict[str, str]  # every value put into the texts


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


FINISHED = frozenset({Status.CLOSED, Status.MERGED})


def thread_states(ids: Sequence[str]) -> dict[str, ThreadState]:
    """For the inbox: what became of each ticket a thread is about (see messaging.thread_states)."""
    pks = [int(i) for i in ids if i.isdigit()]
    out: dict[str, ThreadState] = {}
    for pk, status in Ticket.objects.filter(pk__in=pks).values_list("pk", "status"):
        # The status word the ticket pages use (closed: 已关闭; 已办结 is "resolved", not yet closed).
        out[str(pk)] = ThreadState(finished=status in FINISHED, label=str(Status(status).label))
    return out
