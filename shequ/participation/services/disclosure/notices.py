"""The texts of the disclosure notices, one function per kind, in the active language. Each returns
a ``Notice`` with the values it put into the texts. No notice carries a name or ID number of a list:
only the item's title, the period, the deadline and the answer."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.messaging import Notice
from shequ.participation.models import DisclosureItem, DisclosureKind, DisclosureQuestion, QuestionKind
from shequ.participation.services.disclosure import rules

THREAD_ITEM = "participation.disclosure"
THREAD_QUESTION = "participation.disclosure_question"
ANSWER_EXCERPT = 200


def _day(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d") if at else "-"


def _clause(text: str) -> str:
    return text.strip().rstrip("。.！!；; ")


def _what(kind: str, period_key: str, title: str) -> str:
    kind_label = str(DisclosureKind(kind).label)
    if period_key and kind in rules.PERIODIC:
        return _("%(kind)s for %(period)s") % {
            "kind": kind_label,
            "period": rules.parse_period(kind, period_key).label,
        }
    return f"{kind_label}“{title}”"


def due(
    *, community: str, kind: str, period_key: str, title: str, due_at: dt.datetime, overdue: bool
) -> Notice:
    fields = {"community": community, "what": _what(kind, period_key, title), "due": _day(due_at)}
    if overdue:
        return Notice(
            subject=_("Disclosure overdue: %(what)s") % fields,
            body=_(
                "%(community)s had to publish the %(what)s by %(due)s and has not. Publish it now; "
                "the street sees it as overdue."
            )
            % fields,
            fields=fields,
        )
    return Notice(
        subject=_("Disclosure due soon: %(what)s") % fields,
        body=_("%(community)s must publish the %(what)s by %(due)s.") % fields,
        fields=fields,
    )


def _kind_word(question: DisclosureQuestion) -> str:
    if question.kind == QuestionKind.CHALLENGE:
        return pgettext("disclosure notice", "challenge")
    return pgettext("disclosure notice", "question")


def asked(question: DisclosureQuestion) -> Notice:
    item: DisclosureItem = question.item
    fields = {"kind": _kind_word(question), "title": item.title, "due": _day(question.due_at)}
    if question.row is not None:
        fields["row"] = str(question.row.number)
        body = _("A resident raised a %(kind)s about row %(row)s of “%(title)s”. Answer it by %(due)s.")
    else:
        body = _("A resident raised a %(kind)s about “%(title)s”. Answer it by %(due)s.")
    return Notice(
        subject=_("New %(kind)s on the disclosure board: %(title)s") % fields,
        body=body % fields,
        fields=fields,
    )


def answered(question: DisclosureQuestion) -> Notice:
    answer = _clause(question.answer)
    if len(answer) > ANSWER_EXCERPT:
        answer = answer[:ANSWER_EXCERPT] + "…"
    fields = {"kind": _kind_word(question), "title": question.item.title, "answer": answer}
    return Notice(
        subject=_("Your %(kind)s about “%(title)s” was answered") % fields,
        body=_("The community answered: %(answer)s.") % fields,
        fields=fields,
    )


def question_deadline(question: DisclosureQuestion, *, overdue: bool) -> Notice:
    fields = {
        "kind": _kind_word(question),
        "title": question.item.title,
        "due": _day(question.due_at),
        "community": question.region.name,
    }
    if overdue:
        return Notice(
            subject=_("Unanswered %(kind)s overdue: %(title)s") % fields,
            body=_("A resident's %(kind)s to %(community)s had to be answered by %(due)s. Answer it now.")
            % fields,
            fields=fields,
        )
    return Notice(
        subject=_("%(kind)s to answer soon: %(title)s") % fields,
        body=_("Answer the resident by %(due)s.") % fields,
        fields=fields,
    )
