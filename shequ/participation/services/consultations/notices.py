"""The texts of the consultation notices, one function per kind, in the active language. Each
returns a ``core.messaging.Notice`` with the values put into it (a test renders each kind)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from shequ.core.messaging import Notice
from shequ.participation.models import AppealOutcome, Comment, CommentAppeal, Topic

THREAD_KIND = "participation.topic"


def _clause(note: str) -> str:
    return note.strip().rstrip("。.！!；; ")


def proposed(topic: Topic) -> Notice:
    fields = {"title": topic.title}
    return Notice(
        subject=_("A resident proposed a consultation topic: %(title)s") % fields,
        body=_("Accept it to collect opinions, or decline it with a reason the proposer reads."),
        fields=fields,
    )


def accepted(topic: Topic) -> Notice:
    fields = {"title": topic.title}
    return Notice(
        subject=_("Your topic was accepted: %(title)s") % fields,
        body=_("Residents can now give their opinions and proposals on it."),
        fields=fields,
    )


def declined(topic: Topic) -> Notice:
    fields = {"title": topic.title, "reason": _clause(topic.decline_reason)}
    return Notice(
        subject=_("Your topic was not accepted: %(title)s") % fields,
        body=_("The community's reason: %(reason)s.") % fields,
        fields=fields,
    )


def decided(topic: Topic) -> Notice:
    fields = {"title": topic.title, "decision": _clause(topic.decision)[:200]}
    return Notice(
        subject=_("The consultation decided: %(title)s") % fields,
        body=_("Decision: %(decision)s.") % fields,
        fields=fields,
    )


def hidden_for_author(comment: Comment, *, auto: bool) -> Notice:
    fields = {"title": comment.topic.title, "reason": _clause(comment.hidden_reason) or "-"}
    body = (
        _("Several residents reported it; a moderator will look at it. You may appeal once.")
        if auto
        else _("A moderator hid it. Reason: %(reason)s. You may appeal once.") % fields
    )
    return Notice(subject=_("Your comment on “%(title)s” was hidden") % fields, body=body, fields=fields)


def restored_for_author(comment: Comment) -> Notice:
    fields = {"title": comment.topic.title}
    return Notice(
        subject=_("Your comment on “%(title)s” is shown again") % fields,
        body=_("A moderator looked at it and restored it."),
        fields=fields,
    )


def for_moderators(comment: Comment, *, appeal: bool) -> Notice:
    fields = {"title": comment.topic.title}
    subject = (
        _("An appeal against a hidden comment waits for a decision: %(title)s")
        if appeal
        else _("A comment was hidden after reports and waits for review: %(title)s")
    )
    return Notice(subject=subject % fields, body=_("Open the moderation queue."), fields=fields)


def appeal_decided(appeal: CommentAppeal) -> Notice:
    fields = {"title": appeal.comment.topic.title, "reason": _clause(appeal.reason) or "-"}
    if appeal.outcome == AppealOutcome.RESTORED:
        return Notice(
            subject=_("Your appeal was accepted: %(title)s") % fields,
            body=_("Your comment is shown again."),
            fields=fields,
        )
    return Notice(
        subject=_("Your appeal was not accepted: %(title)s") % fields,
        body=_("Your comment stays hidden. Reason: %(reason)s.") % fields,
        fields=fields,
    )
