"""The government-service app's reactions and periodic jobs (imported by GovserviceConfig.ready()).

Notices go through ``core.messaging.notify``, one per person per event (keyed by the outbox event
id), threaded per application; their texts are in ``govservice.notices``. An applicant with an
account reads them in the inbox and by SMS; one without (the counter, the kiosk) gets the SMS with a
link that opens their rating page without signing in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.urls import reverse
from django.utils import translation

from shequ.core import outbox
from shequ.core.messaging import Contact, Notice, notify, register_contacts, thread_key
from shequ.core.models import Channel, User
from shequ.core.outbox import handles, periodic
from shequ.core.selectors import department_staff, region_staff
from shequ.govservice import notices
from shequ.govservice.events import ApplicationChanged, ApplicationWarned, RectificationChanged
from shequ.govservice.models import Application, Rectification, Status
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import _common as c
from shequ.govservice.services import jobs

CONTACT_KIND = "govservice.applicant"


def applicant_phones(ids: Sequence[str]) -> dict[str, str]:
    """Application id → the applicant's number: the one given with the application, else the
    registry's (messaging asks at send time)."""
    from shequ.registry.outreach import person_phones

    apps = list(Application.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]))
    registry = person_phones([str(a.person_id) for a in apps if a.person_id and not a.applicant_phone])
    out: dict[str, str] = {}
    for a in apps:
        phone = a.applicant_phone or registry.get(str(a.person_id), "")
        if phone:
            out[str(a.pk)] = phone
    return out


register_contacts(CONTACT_KIND, applicant_phones)


def _application(pk: int) -> Application | None:
    return Application.objects.select_related("item", "department", "region").filter(pk=pk).first()


def _staff_link(application: Application) -> str:
    return reverse("govservice:application", args=[application.pk])


def _send(
    application: Application,
    users: list[User],
    notice: Notice,
    *,
    topic: str,
    link: str = "",
    channels: Sequence[str] = (Channel.INBOX,),
    contacts: Sequence[Contact] = (),
) -> None:
    if not users and not contacts:
        return
    notify(
        sender=None,
        recipients=users,
        contacts=contacts,
        subject=notice.subject,
        body=notice.body,
        link=link or _staff_link(application),
        channels=channels,
        region_code=application.region_code,
        topic=topic,
        topic_ref=str(application.pk),
        dedupe_key=outbox.current_event_id(),
        thread_key=thread_key(notices.THREAD_KIND, application.pk),
    )


def tell_applicant(application: Application, notice: Notice, *, ask_rating: bool = False) -> None:
    """The applicant: inbox and SMS to their account, else an SMS to the number on record (with
    the rating link when the application is finished)."""
    if application.applicant_user_id is not None:
        user = User.objects.filter(pk=application.applicant_user_id, is_active=True).first()
        if user is not None:
            _send(
                application,
                [user],
                notice,
                topic="govservice.progress",
                link=reverse("govservice:mine_detail", args=[application.pk]),
                channels=(Channel.INBOX, Channel.SMS),
            )
            return
    link = reverse("govservice:rate_token", args=["TOKEN"]).replace("TOKEN", "{token}") if ask_rating else ""
    _send(
        application,
        [],
        notice,
        topic=notices.RATE_TOPIC if ask_rating else "govservice.progress",
        link=link or reverse("govservice:track"),
        channels=(Channel.SMS,),
        contacts=[Contact(ref=f"{CONTACT_KIND}:{application.pk}", name=application.applicant_name)],
    )


def counter_staff(application: Application) -> list[User]:
    return region_staff(c.community_code(application.region_code), P.HANDLE)


@handles(ApplicationChanged)
def tell_about_step(event: ApplicationChanged) -> None:
    application = _application(event.application_id)
    if application is None:
        return
    note = ""
    if event.action == "return":
        step = application.steps.filter(action="return").order_by("-at", "-pk").first()
        note = step.note if step else ""
    with translation.override("zh-hans"):
        action, status = event.action, event.to_status
        if action in {"submit", "resubmit"} and status == Status.SUBMITTED:
            tell_applicant(application, notices.received(application, event.due_at))
            _send(
                application,
                counter_staff(application),
                notices.new_application(application, event.due_at),
                topic="govservice.new",
            )
        elif action in {"take", "accept", "resubmit"} and status == Status.ACCEPTED:
            tell_applicant(application, notices.accepted(application, event.due_at))
        elif action == "return":
            tell_applicant(application, notices.returned(application, note))
        elif action == "forward" and application.department_id:
            tell_applicant(application, notices.forwarded(application, event.due_at))
            _send(
                application,
                department_staff(application.department_id),
                notices.to_department(application, event.due_at),
                topic="govservice.forwarded",
            )
        elif action == "decide":
            tell_applicant(application, notices.decided(application))
        elif action in {"deliver", "close_on_receipt"}:
            tell_applicant(application, notices.closed(application), ask_rating=True)
        elif action == "reject":
            tell_applicant(application, notices.rejected(application), ask_rating=True)
        elif action == "rectify":
            rect = (
                Rectification.objects.filter(evaluation__application=application)
                .select_related("evaluation__application__item")
                .first()
            )
            if rect is not None:
                tell_applicant(application, notices.feedback(rect))


def handlers_of(application: Application) -> list[User]:
    if application.status == Status.FORWARDED and application.department_id:
        return department_staff(application.department_id)
    return counter_staff(application)


@handles(ApplicationWarned)
def remind_handler(event: ApplicationWarned) -> None:
    application = _application(event.application_id)
    if application is None or not application.is_open:
        return
    users = handlers_of(application)
    if event.overdue:
        users += region_staff(c.parent_code(c.community_code(application.region_code)), P.SUPERVISE)
    with translation.override("zh-hans"):
        _send(
            application,
            users,
            notices.deadline(application, overdue=event.overdue),
            topic="govservice.deadline",
        )


@handles(RectificationChanged)
def tell_about_rectification(event: RectificationChanged) -> None:
    rect = (
        Rectification.objects.select_related(
            "evaluation", "evaluation__application__item", "evaluation__application__region"
        )
        .filter(pk=event.rectification_id)
        .first()
    )
    if rect is None:
        return
    application = rect.evaluation.application
    if event.action == "fed_back":
        users = region_staff(rect.supervisor_code, P.SUPERVISE)
    elif rect.department_id is not None:
        users = department_staff(rect.department_id)
    else:
        users = counter_staff(application)
    with translation.override("zh-hans"):
        _send(
            application,
            users,
            notices.rectification(rect, event.action),
            topic="govservice.rectification",
            link=reverse("govservice:rectification", args=[rect.pk]),
        )


@periodic("govservice.deadlines", every=timedelta(minutes=5))
def deadlines_job() -> None:
    jobs.warn_applications()
    jobs.warn_rectifications()
