"""The texts of the government-service notices, one function per kind, in the active language.

Each returns a ``Notice`` with the values it put into the texts (a test renders every kind with real
data and fails when a value came out empty). Texts carry the application number and the item, the
deadline or the list of what is missing, never an ID or a phone number.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.messaging import Notice
from shequ.govservice import materials as material_kinds
from shequ.govservice.models import Application, Delivery, Outcome, Rectification

THREAD_KIND = "govservice.application"
# The topic of the last notice to an applicant without an account: its link opens the rating page.
RATE_TOPIC = "govservice.rate"


def _when(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "-"


def _day(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d") if at else "-"


def _clause(note: str) -> str:
    """A note put inside a sentence: without its own closing stop (no "。。")."""
    return note.strip().rstrip("。.！!；; ")


def label(application: Application) -> str:
    return f"{application.number} {application.item.name_zh}"


def received(application: Application, due: dt.datetime | None) -> Notice:
    fields = {"label": label(application), "due": _when(due)}
    return Notice(
        subject=_("Application received: %(label)s") % fields,
        body=_("The community will check your materials and accept or return it by %(due)s.") % fields,
        fields=fields,
    )


def accepted(application: Application, due: dt.datetime | None) -> Notice:
    fields = {"label": label(application), "due": _day(due)}
    body = (
        _("It will be handled by %(due)s. You can follow it on your phone.")
        if due
        else _("You can follow it on your phone.")
    )
    return Notice(subject=_("Application accepted: %(label)s") % fields, body=body % fields, fields=fields)


def returned(application: Application, note: str) -> Notice:
    names = "、".join(
        material_kinds.label(m) for m in application.materials if m["code"] in application.missing
    )
    fields = {"label": label(application), "missing": names, "note": _clause(note) or _("no further note")}
    return Notice(
        subject=_("Materials missing: %(label)s") % fields,
        body=_(
            "Please add: %(missing)s. Note from the community: %(note)s. "
            "Send them online or bring them to the counter."
        )
        % fields,
        fields=fields,
    )


def forwarded(application: Application, due: dt.datetime | None) -> Notice:
    dept = application.department.name if application.department else "-"
    fields = {"label": label(application), "department": dept, "due": _day(due)}
    body = (
        _("The community passed your application to %(department)s, which decides it by %(due)s.")
        if due
        else _("The community passed your application to %(department)s, which decides it.")
    )
    return Notice(
        subject=_("Passed to %(department)s: %(label)s") % fields, body=body % fields, fields=fields
    )


def decided(application: Application) -> Notice:
    fields = {
        "label": label(application),
        "outcome": str(Outcome(application.outcome).label),
        "note": _clause(application.outcome_note) or _("no further note"),
    }
    body = (
        _("Answer: %(note)s.")
        if application.outcome == Outcome.ANSWERED
        else _("%(note)s. The community will tell you how the result reaches you.")
    )
    return Notice(subject=_("Decision on %(label)s: %(outcome)s") % fields, body=body % fields, fields=fields)


def closed(application: Application) -> Notice:
    fields = {
        "label": label(application),
        "outcome": str(Outcome(application.outcome).label) if application.outcome else "-",
        "delivery": str(Delivery(application.delivery).label) if application.delivery else "-",
    }
    return Notice(
        subject=_("Done: %(label)s (%(outcome)s)") % fields,
        body=_("Result: %(delivery)s. Please rate how it was handled (1 to 5 stars): it helps us do better.")
        % fields,
        fields=fields,
    )


def rejected(application: Application) -> Notice:
    fields = {"label": label(application), "reason": _clause(application.outcome_note) or "-"}
    return Notice(
        subject=_("Application not accepted: %(label)s") % fields,
        body=_("Reason: %(reason)s. You may rate how you were treated.") % fields,
        fields=fields,
    )


def new_application(application: Application, due: dt.datetime | None) -> Notice:
    fields = {
        "label": label(application),
        "channel": str(application.get_channel_display()),
        "due": _when(due),
    }
    return Notice(
        subject=_("New application (%(channel)s): %(label)s") % fields,
        body=_("Check the materials and accept or return it by %(due)s.") % fields,
        fields=fields,
    )


def to_department(application: Application, due: dt.datetime | None) -> Notice:
    fields = {"label": label(application), "community": application.region.name, "due": _day(due)}
    body = (
        _("Decide it by %(due)s, or return it for missing materials.")
        if due
        else _("Decide it, or return it for missing materials.")
    )
    return Notice(
        subject=_("Application from %(community)s: %(label)s") % fields, body=body % fields, fields=fields
    )


def deadline(application: Application, *, overdue: bool) -> Notice:
    fields = {"label": label(application), "due": _when(application.due_at)}
    if overdue:
        return Notice(
            subject=_("Overdue: %(label)s") % fields,
            body=_("The time limit passed at %(due)s. Handle it now and tell the applicant.") % fields,
            fields=fields,
        )
    return Notice(
        subject=_("Deadline near: %(label)s") % fields,
        body=_("It must be handled by %(due)s.") % fields,
        fields=fields,
    )


def rectification(rect: Rectification, action: str) -> Notice:
    application = rect.evaluation.application
    fields = {
        "label": label(application),
        "stars": str(rect.evaluation.stars),
        "due": _day(rect.due_at),
        "note": _clause(rect.review_note or rect.feedback or rect.evaluation.comment) or "-",
    }
    texts = {
        "open": (
            _("Bad rating to rectify: %(label)s (%(stars)s stars)"),
            _("Find out what happened, put it right and write to the applicant by %(due)s."),
        ),
        "warn": (_("Rectification due soon: %(label)s"), _("It must be fed back by %(due)s.")),
        "fed_back": (_("Rectification to review: %(label)s"), _("The unit fed back: %(note)s")),
        "sent_back": (
            _("Rectification sent back: %(label)s"),
            _("Still wrong: %(note)s. New deadline %(due)s."),
        ),
        "closed": (_("Rectification closed: %(label)s"), _("The review accepted the rectification.")),
    }
    subject, body = texts[action]
    return Notice(subject=subject % fields, body=body % fields, fields=fields)


def feedback(rect: Rectification) -> Notice:
    application = rect.evaluation.application
    fields = {"label": label(application), "feedback": rect.feedback}
    return Notice(
        subject=_("About your rating of %(label)s") % fields,
        body=_("We looked into it: %(feedback)s") % fields,
        fields=fields,
    )
