"""The texts of the vote notices, one function per kind, in the active language. They name the
vote and the time; never a choice, never anyone's name."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.messaging import Notice
from shequ.participation.models import Vote


def _when(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "-"


def trustee_named(vote: Vote) -> Notice:
    fields = {"title": vote.title}
    return Notice(
        subject=_("You are a trustee of %(title)s") % fields,
        body=_(
            "Make your share of the key on your own phone and save the backup file. Without every "
            "trustee's share the ballots cannot be counted."
        ),
        fields=fields,
    )


def opened(vote: Vote) -> Notice:
    fields = {"title": vote.title, "until": _when(vote.closes_at)}
    return Notice(
        subject=_("Voting is open: %(title)s") % fields,
        body=_("You are on the list. Vote on your phone until %(until)s; your ballot is secret.") % fields,
        fields=fields,
    )


def count_needed(vote: Vote) -> Notice:
    fields = {"title": vote.title}
    return Notice(
        subject=_("Voting has closed: give your share of the count for %(title)s") % fields,
        body=_("Open the page on the phone that holds your key share, or have your backup file at hand."),
        fields=fields,
    )


def decided(vote: Vote) -> Notice:
    fields = {"title": vote.title}
    return Notice(
        subject=_("Result announced: %(title)s") % fields,
        body=_("The result and the public board are on the vote's page; you can check your ballot there."),
        fields=fields,
    )
