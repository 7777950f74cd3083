"""Residents' requests: the deadline job and the notices (imported by the app's ``ready()``).

The periodic job tells the community's staff (``sharing.rights``) once when a request passes 80 % of
its time and once when it is overdue; an overdue one also reaches the street's staff (escalation).
The handler turns every ``RightsRequestChanged`` into notices through ``core.messaging.notify``, in
Chinese, one per person per event (keyed by the outbox event id): staff hear of new and late
requests, the resident hears of the answer (inbox and SMS). No notice carries a value the resident
asked to correct, only the item's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import outbox
from shequ.core.messaging import Notice, notify, thread_key
from shequ.core.models import LEVEL_CODE_LENGTH, Channel, RegionLevel, User
from shequ.core.outbox import emit, handles, periodic
from shequ.core.selectors import region_staff
from shequ.sharing.models import DeletionGround, RightsKind, RightsRequest, RightsStatus
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.services.rights import RightsRequestChanged, item_label

THREAD = "sharing.rights"
TOPIC = "sharing.rights"
STREET_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.STREET]
ANSWER_EXCERPT = 200


# --- The job ----------------------------------------------------------------------------------------


def remind(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Open requests past their warning point, then past their deadline (once each)."""
    now = now or timezone.now()
    sent = 0
    open_ = RightsRequest.objects.filter(status=RightsStatus.OPEN)
    near = open_.filter(warn_at__lte=now, due_at__gt=now, warned_at__isnull=True).values_list("pk", flat=True)
    late = open_.filter(due_at__lte=now, overdue_at__isnull=True).values_list("pk", flat=True)
    for overdue, ids in ((False, list(near[:limit])), (True, list(late[:limit]))):
        for pk in ids:
            with transaction.atomic():
                rights_request = RightsRequest.objects.select_for_update().get(pk=pk)
                if rights_request.status != RightsStatus.OPEN:
                    continue
                if overdue:
                    if rights_request.overdue_at is not None:
                        continue
                    rights_request.overdue_at = now
                    rights_request.warned_at = rights_request.warned_at or now
                elif rights_request.warned_at is not None:
                    continue
                else:
                    rights_request.warned_at = now
                rights_request.save(update_fields=["warned_at", "overdue_at"])
                emit(
                    RightsRequestChanged(
                        actor_id=None,
                        request_id=rights_request.pk,
                        region_code=rights_request.region_code,
                        action="overdue" if overdue else "warn",
                    )
                )
                sent += 1
    return sent


@periodic("sharing.rights_deadlines", every=timedelta(minutes=30))
def rights_deadline_job() -> None:
    remind()


# --- The notices --------------------------------------------------------------------------------------


def _day(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d") if at else ""


def _kind(rights_request: RightsRequest) -> str:
    return str(RightsKind(rights_request.kind).label)


def _excerpt(text: str) -> str:
    text = text.strip().rstrip("。.！!；; ")
    return text if len(text) <= ANSWER_EXCERPT else text[:ANSWER_EXCERPT] + "…"


def submitted(rights_request: RightsRequest) -> Notice:
    fields = {
        "kind": _kind(rights_request),
        "who": rights_request.person_masked,
        "due": _day(rights_request.due_at),
    }
    return Notice(
        subject=_("New personal information request: %(kind)s") % fields,
        body=_("Resident %(who)s asked for a %(kind)s of their personal information. Answer by %(due)s.")
        % fields,
        fields=fields,
    )


def deadline(rights_request: RightsRequest, *, overdue: bool) -> Notice:
    fields = {
        "kind": _kind(rights_request),
        "who": rights_request.person_masked,
        "due": _day(rights_request.due_at),
    }
    if overdue:
        return Notice(
            subject=_("Personal information request overdue: %(kind)s") % fields,
            body=_(
                "Resident %(who)s's request (%(kind)s) had to be answered by %(due)s and has not been. "
                "Answer it now; the street sees it as overdue."
            )
            % fields,
            fields=fields,
        )
    return Notice(
        subject=_("Personal information request due soon: %(kind)s") % fields,
        body=_("Resident %(who)s's request (%(kind)s) must be answered by %(due)s.") % fields,
        fields=fields,
    )


def answered(rights_request: RightsRequest) -> Notice:
    fields = {
        "kind": _kind(rights_request),
        "day": _day(rights_request.submitted_at),
        "answer": _excerpt(rights_request.answer),
    }
    if rights_request.kind == RightsKind.COPY:
        fields["page"] = str(_("My personal information"))
        return Notice(
            subject=_("The copy of your personal information is ready"),
            body=_(
                "Your request of %(day)s for a copy of your personal information has been answered. "
                "Download it on the page “%(page)s”."
            )
            % fields,
            fields=fields,
        )
    if rights_request.status == RightsStatus.REFUSED:
        fields["ground"] = str(DeletionGround(rights_request.ground).label) if rights_request.ground else ""
        body = (
            _(
                "The community did not carry out your request of %(day)s. "
                "Legal ground: %(ground)s. Reason: %(answer)s."
            )
            if fields["ground"]
            else _("The community did not carry out your request of %(day)s. Reason: %(answer)s.")
        )
        return Notice(
            subject=_("Your request was refused: %(kind)s") % fields, body=body % fields, fields=fields
        )
    if rights_request.applied_fields:
        fields["item"] = item_label(rights_request.item)
        return Notice(
            subject=_("Your personal information was corrected"),
            body=_(
                "The %(item)s you asked to correct has been corrected in the record. "
                "The community says: %(answer)s."
            )
            % fields,
            fields=fields,
        )
    return Notice(
        subject=_("Your request was carried out: %(kind)s") % fields,
        body=_("Your request of %(day)s has been carried out. The community says: %(answer)s.") % fields,
        fields=fields,
    )


def _send(
    users: Sequence[User], notice: Notice, rights_request: RightsRequest, link: str, *, sms: bool
) -> None:
    if not users:
        return
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=link,
        channels=(Channel.INBOX, Channel.SMS) if sms else (Channel.INBOX,),
        region_code=rights_request.region_code,
        topic=TOPIC,
        topic_ref=str(rights_request.pk),
        dedupe_key=outbox.current_event_id(),
        thread_key=thread_key(THREAD, rights_request.pk),
    )


@handles(RightsRequestChanged)
def tell_about_request(event: RightsRequestChanged) -> None:
    rights_request = RightsRequest.objects.select_related("requester").filter(pk=event.request_id).first()
    if rights_request is None:
        return
    staff_link = reverse("sharing:rights_staff_detail", args=[rights_request.pk])
    staff = region_staff(rights_request.region_code, P.RIGHTS)
    with translation.override("zh-hans"):
        if event.action == "submit":
            _send(staff, submitted(rights_request), rights_request, staff_link, sms=False)
        elif event.action in {"warn", "overdue"} and rights_request.is_open:
            users = list(staff)
            if event.action == "overdue":
                users += region_staff(rights_request.region_code[:STREET_LENGTH], P.RIGHTS)
            notice = deadline(rights_request, overdue=event.action == "overdue")
            _send(users, notice, rights_request, staff_link, sms=False)
        elif event.action in {"copy", "correct", "done", "refuse"} and rights_request.requester.is_active:
            link = reverse("sharing:rights_mine_detail", args=[rights_request.pk])
            _send([rights_request.requester], answered(rights_request), rights_request, link, sms=True)
