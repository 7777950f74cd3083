"""The vote area's reactions and periodic job (imported by ParticipationConfig.ready())."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.urls import reverse

from shequ.core import outbox
from shequ.core.messaging import Notice, notify, thread_key
from shequ.core.models import User
from shequ.core.outbox import handles, periodic
from shequ.participation import notices_votes as notices
from shequ.participation.events_votes import VoteChanged
from shequ.participation.models import KeyMode, Trustee, Vote
from shequ.participation.services.votes import close_due, vacuum_vote_tables
from shequ.participation.services.votes.counting import OlderTransactionsRunning
from shequ.registry.electorates import accounts_of

THREAD_KIND = "participation.vote"


def _send(vote: Vote, users: list[User], notice: Notice, link: str) -> None:
    if not users:
        return
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=link,
        region_code=vote.region_code,
        topic="participation.vote",
        topic_ref=str(vote.pk),
        dedupe_key=outbox.current_event_id(),
        thread_key=thread_key(THREAD_KIND, vote.pk),
    )


def _voters(vote: Vote) -> list[User]:
    """Accounts of the people on the roll (and of every co-owner of an owners' line)."""
    people: set[int] = set()
    for person_id, co_owners in vote.voters.filter(removed_at__isnull=True).values_list(
        "person_id", "co_owner_ids"
    ):
        if person_id:
            people.add(person_id)
        people.update(int(p) for p in co_owners or [])
    return [user for users in accounts_of(people).values() for user in users]


@handles(VoteChanged)
def tell_about_vote(event: VoteChanged) -> None:
    vote = Vote.objects.filter(pk=event.vote_id).first()
    if vote is None:
        return
    public = reverse("participation:public_vote", args=[vote.uid])
    if event.action == "trustee_named":
        trustee = Trustee.objects.select_related("user").filter(pk=event.trustee_id or 0).first()
        if trustee is not None:
            link = reverse("participation:trustee_key", args=[trustee.pk])
            _send(vote, [trustee.user], notices.trustee_named(vote), link)
    elif event.action == "opened":
        _send(vote, _voters(vote), notices.opened(vote), reverse("participation:ballot", args=[vote.uid]))
    elif event.action == "closed" and vote.key_mode == KeyMode.TRUSTEES:
        for trustee in vote.trustees.select_related("user"):
            link = reverse("participation:trustee_count", args=[trustee.pk])
            _send(vote, [trustee.user], notices.count_needed(vote), link)
    elif event.action == "decided":
        _send(vote, _voters(vote), notices.decided(vote), public)


@handles(VoteChanged, external=True)
def forget_the_order_of_voting(event: VoteChanged) -> None:
    """Outside any transaction, after the closing commit: rewrite the votes' table so that the
    erased credential key is gone from its pages (``vacuum_vote_tables``; while an older
    transaction runs it raises, and the outbox tries again with backoff)."""
    if event.action == "closed":
        vote = Vote.objects.filter(pk=event.vote_id).first()
        if vote is not None:
            vacuum_vote_tables([vote])


@periodic("participation.forget_erased_keys", every=timedelta(hours=1))
def forget_erased_keys_job() -> None:
    """The same for every vote closed in the last week, in case the closing job's tries all met
    a long transaction (a backup's pg_dump): a week is longer than any of them runs."""
    with contextlib.suppress(OlderTransactionsRunning):  # else the next hour
        vacuum_vote_tables()


@periodic("participation.close_votes", every=timedelta(minutes=1))
def close_votes_job() -> None:
    """Close every vote whose closing time has passed (the box stops taking ballots at the time
    anyway; closing puts the totals on the board and calls the trustees)."""
    close_due()
