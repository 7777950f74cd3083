"""The electorate: computed from the registry at the cut-off date, published for objections
(elections), corrected by decided objections and accepted requests, and written proxies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.permissions import Viewer
from shequ.core.text import bounded_text
from shequ.participation.models import (
    Electorate,
    Objection,
    ObjectionKind,
    Proxy,
    ResidenceRule,
    Vote,
    Voter,
    VoterSource,
    VoteStatus,
)
from shequ.participation.permissions import PartPerm
from shequ.participation.services.votes._common import VoteError, in_status, lock, now, record, require
from shequ.participation.services.votes.casting import voted_lines
from shequ.registry import electorates
from shequ.registry.electorates import Member
from shequ.registry.prefill import age_on

OBJECTION_DAYS = 5  # objections within five days of the list's publication
DECIDE_DAYS = 3  # … decided within three days
MAX_PROXIES = 3  # one person accepts at most three written entrustments
ADULT = 18


@dataclass(frozen=True)
class RollSummary:
    voters: int
    area: Decimal
    elsewhere: int  # already on another community's roll of the same term: left out


def members_for(vote: Vote) -> list[Member]:
    """Who the registry says belongs to the vote's electorate at its cut-off date."""
    code, on, buildings = vote.region_code, vote.cutoff_date, vote.building_ids
    if vote.electorate == Electorate.OWNERS:
        return electorates.owners_in(code, on=on, building_ids=buildings)
    if vote.electorate == Electorate.HOUSEHOLDS:
        return electorates.household_heads_in(code, on=on, building_ids=buildings)
    age_on = vote.election_day if vote.electorate == Electorate.VOTERS else on
    adults = electorates.adults_living_in(code, on=on, age_on=age_on, building_ids=buildings)
    if vote.electorate == Electorate.VOTERS and vote.residence_rule == ResidenceRule.VILLAGE:
        # Villagers registered elsewhere join only on request, accepted by the villagers' meeting.
        adults = [m for m in adults if m.hukou_local]
    return adults


def roll_compute(*, actor: Viewer, vote: Vote, request: HttpRequest | None = None) -> RollSummary:
    """(Re)compute the roll from the registry; lines added by hand or after objections stay."""
    require(actor, PartPerm.RUN_VOTES, vote, "roll_compute", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Computing the electorate"))
        if vote.roll_published_at is not None:
            raise VoteError(_("The voter list is published: correct it through objections."))
        members = members_for(vote)
        vote.voters.filter(source=VoterSource.REGISTRY).delete()
        kept = set(vote.voters.values_list("person_id", flat=True))
        elsewhere: set[int] = set()
        if vote.term:
            elsewhere = set(
                Voter.objects.filter(
                    term=vote.term,
                    removed_at__isnull=True,
                    person_id__in=[m.person_id for m in members if m.person_id],
                )
                .exclude(vote=vote)
                .values_list("person_id", flat=True)
            )
        rows = [
            Voter(
                vote=vote,
                person_id=m.person_id,
                label=m.label,
                house_ids=list(m.house_ids),
                co_owner_ids=list(m.co_owner_ids),
                area=m.area,
                term=vote.term,
            )
            for m in members
            if m.person_id not in kept and m.person_id not in elsewhere
        ]
        Voter.objects.bulk_create(rows, batch_size=1000)
        summary = RollSummary(
            voters=len(rows) + len(kept),
            area=sum((r.area for r in rows), Decimal(0)),
            elsewhere=len(elsewhere),
        )
        record(
            vote,
            "roll_compute",
            actor=actor,
            request=request,
            detail={"voters": summary.voters, "elsewhere": summary.elsewhere},
        )
    return summary


def roll_publish(*, actor: Viewer, vote: Vote, request: HttpRequest | None = None) -> Vote:
    """Publish the voter list: objections may be filed for five days."""
    require(actor, PartPerm.RUN_VOTES, vote, "roll_publish", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Publishing the voter list"))
        if not vote.is_election:
            raise VoteError(_("Only an election publishes its voter list for objections."))
        if vote.roll_published_at is not None:
            raise VoteError(_("The voter list is already published."))
        if not vote.voters.filter(removed_at__isnull=True).exists():
            raise VoteError(_("The voter list is empty: compute it first."))
        at = now()
        vote.roll_published_at, vote.objection_deadline = at, at + dt.timedelta(days=OBJECTION_DAYS)
        vote.save(update_fields=["roll_published_at", "objection_deadline"])
        record(vote, "roll_publish", actor=actor, request=request)
    return vote


def voter_add(
    *,
    actor: Viewer,
    vote: Vote,
    person_id: int,
    note: str,
    source: str = VoterSource.ADDED,
    request: HttpRequest | None = None,
) -> Voter:
    """Add a person on request (e.g. registered elsewhere, living here a year or more, accepted by
    the meeting) or after an upheld objection; the note says why."""
    require(actor, PartPerm.RUN_VOTES, vote, "voter_add", request)
    note = bounded_text(note, "note", 200, required=True, label=_("The reason"))
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Adding a voter"))
        return _add(vote, person_id, note, source, actor=actor, request=request)


def _add(
    vote: Vote, person_id: int, note: str, source: str, *, actor: Viewer, request: HttpRequest | None
) -> Voter:
    facts = electorates.person_facts(person_id, vote.region_code)
    if facts is None:
        raise VoteError({"person_id": _("This person is not in the registry of this community.")})
    day = vote.election_day or vote.cutoff_date
    if facts.birth_date is None or (age_on(facts.birth_date, day) or 0) < ADULT:
        raise VoteError({"person_id": _("A voter must be 18 or older on election day.")})
    existing = vote.voters.filter(person_id=person_id).first()
    if existing is not None and existing.removed_at is None:
        raise VoteError({"person_id": _("This person is already on the list.")})
    try:
        with transaction.atomic():
            if existing is not None:
                existing.removed_at, existing.removed_reason, existing.note, existing.source = (
                    None,
                    "",
                    note,
                    source,
                )
                existing.save(update_fields=["removed_at", "removed_reason", "note", "source"])
                voter = existing
            else:
                voter = Voter.objects.create(
                    vote=vote,
                    person_id=person_id,
                    label=facts.label,
                    note=note,
                    source=source,
                    term=vote.term,
                )
    except IntegrityError:
        raise VoteError(
            {"person_id": _("This person is already on another community's list for this term.")}
        ) from None
    record(
        vote,
        "voter_add",
        actor=actor,
        request=request,
        object_type="participation.voter",
        object_id=voter.pk,
        reason=note,
    )
    return voter


def voter_remove(*, actor: Viewer, voter: Voter, reason: str, request: HttpRequest | None = None) -> None:
    vote = voter.vote
    require(actor, PartPerm.RUN_VOTES, vote, "voter_remove", request)
    reason = bounded_text(reason, "reason", 200, required=True, label=_("The reason"))
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Removing a voter"))
        _remove(vote, voter, reason, actor=actor, request=request)


def _remove(vote: Vote, voter: Voter, reason: str, *, actor: Viewer, request: HttpRequest | None) -> None:
    if (
        voter.person_id
        and vote.options.filter(person_id=voter.person_id).exclude(status="withdrawn").exists()
    ):
        raise VoteError(_("This voter is a candidate: withdraw the candidacy first."))
    Voter.objects.filter(pk=voter.pk).update(removed_at=now(), removed_reason=reason)
    record(
        vote,
        "voter_remove",
        actor=actor,
        request=request,
        object_type="participation.voter",
        object_id=voter.pk,
        reason=reason,
    )


def objection_file(
    *, actor: Viewer, vote: Vote, person_id: int, kind: str, reason: str, request: HttpRequest | None = None
) -> Objection:
    """Anyone with an account in the community may object to the published list within the period."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("sign in to object")
    reason = bounded_text(reason, "reason", 1000, required=True, label=_("The reason"), multiline=True)
    if kind not in ObjectionKind.values:
        raise VoteError({"kind": _("Say whether the person should or should not be on the list.")})
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Objecting to the voter list"))
        if vote.roll_published_at is None or vote.objection_deadline is None:
            raise VoteError(_("The voter list is not published yet."))
        if now() > vote.objection_deadline:
            raise VoteError(_("The period for objections has ended."))
        on_list = vote.voters.filter(person_id=person_id, removed_at__isnull=True).exists()
        if kind == ObjectionKind.NOT_ELIGIBLE and not on_list:
            raise VoteError({"person_id": _("This person is not on the list.")})
        if kind == ObjectionKind.LEFT_OUT and on_list:
            raise VoteError({"person_id": _("This person is already on the list.")})
        if vote.objections.filter(person_id=person_id, kind=kind, decided_at__isnull=True).exists():
            raise VoteError(
                {"person_id": _("The same objection about this person is already waiting for a decision.")}
            )
        objection = Objection.objects.create(
            vote=vote,
            kind=kind,
            person_id=person_id,
            reason=reason,
            filed_by=actor,  # type: ignore[misc]
        )
        record(
            vote,
            "objection_file",
            actor=actor,
            request=request,
            object_type="participation.objection",
            object_id=objection.pk,
        )
    return objection


# Naming someone else confirms to the objector that the person lives here: each lookup is audited
# (found or not, without the ID number), and an account gets a few a day, across all votes.
OBJECTION_LOOKUPS_PER_DAY = 5


def objection_person(
    vote: Vote, *, actor: Viewer, name: str, id_number: str, request: HttpRequest | None = None
) -> int:
    """Whom an objection names when the objector says someone else is left off the list (the
    Organic Law lets anyone object about the list, not only about themselves): a person in the
    registry of the vote's community, found by name and ID number."""
    from shequ.core.models import AuditEntry

    user = actor if isinstance(actor, User) else None
    limit = _("You have named %(n)d people in the last 24 hours: ask the community's staff to look further.")
    if user is None:
        raise VoteError({"id_number": limit % {"n": 0}})
    with transaction.atomic():
        # The account's row orders its lookups: parallel requests cannot all pass the count.
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        tried = AuditEntry.objects.filter(
            action="participation.objection_lookup",
            actor_id=user.pk,
            at__gte=now() - dt.timedelta(days=1),
        ).count()
        if tried >= OBJECTION_LOOKUPS_PER_DAY:
            raise VoteError({"id_number": limit % {"n": OBJECTION_LOOKUPS_PER_DAY}})
        person_id = electorates.person_named_in(vote.region_code, name=name, id_number=id_number)
        record(
            vote, "objection_lookup", actor=actor, request=request, detail={"found": person_id is not None}
        )
    if person_id is None:
        raise VoteError(
            {"id_number": _("No person with this name and ID number is in the registry of this community.")}
        )
    return person_id


def objection_decide(
    *, actor: Viewer, objection: Objection, upheld: bool, answer: str, request: HttpRequest | None = None
) -> Objection:
    """Decide an objection (within three days); an upheld one changes the list at once."""
    vote = objection.vote
    require(actor, PartPerm.RUN_VOTES, vote, "objection_decide", request)
    answer = bounded_text(answer, "answer", 1000, required=True, label=_("The decision"), multiline=True)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Deciding an objection"))
        objection = Objection.objects.select_for_update().get(pk=objection.pk)
        if objection.decided_at is not None:
            raise VoteError(_("This objection is already decided."))
        on_list = vote.voters.filter(person_id=objection.person_id, removed_at__isnull=True).exists()
        if upheld and objection.kind == ObjectionKind.LEFT_OUT and not on_list:
            _add(vote, objection.person_id, answer[:200], VoterSource.OBJECTION, actor=actor, request=request)
        elif upheld:
            voter = vote.voters.filter(person_id=objection.person_id, removed_at__isnull=True).first()
            if voter is not None:  # already off the list (an earlier objection, a removal): nothing to do
                _remove(vote, voter, answer[:200], actor=actor, request=request)
        objection.upheld, objection.answer, objection.decided_at = upheld, answer, now()
        objection.save(update_fields=["upheld", "answer", "decided_at"])
        record(
            vote,
            "objection_decide",
            actor=actor,
            request=request,
            object_type="participation.objection",
            object_id=objection.pk,
            detail={"upheld": upheld},
        )
    return objection


def proxy_record(
    *,
    actor: Viewer,
    voter: Voter,
    holder: Voter,
    relation: str,
    document: str,
    request: HttpRequest | None = None,
) -> Proxy:
    """Record a written entrustment: the holder votes for the voter (at most three per holder)."""
    vote = voter.vote
    require(actor, PartPerm.RUN_VOTES, vote, "proxy_record", request)
    relation = bounded_text(relation, "relation", 30, required=True, label=_("The relation"))
    document = bounded_text(document, "document", 100, required=True, label=_("The written entrustment"))
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, VoteStatus.OPEN, step=_("Recording a proxy"))
        if not vote.allow_proxy:
            raise VoteError(_("This vote's rules do not allow proxies."))
        voter, holder = Voter.objects.get(pk=voter.pk), Voter.objects.get(pk=holder.pk)
        if voter.vote_id != vote.pk or holder.vote_id != vote.pk or voter.removed_at or holder.removed_at:
            raise VoteError(_("Both must be on this vote's list."))
        if voter.person_id is None or holder.person_id is None:
            raise VoteError(
                _("The developer's line is cast by its representative: record the representative's account.")
            )
        if voter.pk == holder.pk:
            raise VoteError(_("A voter cannot hold their own proxy."))
        if voted_lines(vote, [voter]):  # a counted ballot (the roll is marked only at closing)
            raise VoteError(_("This voter has already voted."))
        if Proxy.objects.filter(voter=voter).exists():
            raise VoteError(_("This voter has already entrusted someone."))
        if Proxy.objects.filter(voter=holder).exists():
            raise VoteError(_("The holder has entrusted their own vote to someone else."))
        if Proxy.objects.filter(holder=holder).count() >= MAX_PROXIES:
            raise VoteError(_("One person accepts at most %(n)d entrustments.") % {"n": MAX_PROXIES})
        return _proxy_create(
            vote,
            "proxy_record",
            actor,
            request,
            voter=voter,
            holder=holder,
            relation=relation,
            document=document,
        )


def _proxy_create(
    vote: Vote, action: str, actor: Viewer, request: HttpRequest | None, **fields: Any
) -> Proxy:
    """Write an entrustment and its audit entry (the caller holds the vote's lock and checked it)."""
    proxy = Proxy.objects.create(vote=vote, recorded_by=actor, **fields)  # type: ignore[misc]
    detail = {"voter": proxy.voter_id}
    if proxy.holder_account_id:
        detail["account"] = proxy.holder_account_id
    record(
        vote,
        action,
        actor=actor,
        request=request,
        object_type="participation.proxy",
        object_id=proxy.pk,
        detail=detail,
    )
    return proxy


DEVELOPER = "developer"  # Proxy.relation of the developer's representative


def representative_record(
    *,
    actor: Viewer,
    voter: Voter,
    account: User,
    document: str,
    request: HttpRequest | None = None,
) -> Proxy:
    """Record who casts the developer's line of an owners' vote (its unsold or undelivered houses,
    ``person`` empty): the account of the developer's authorized representative, with the written
    authorization. The developer is a company and only ever votes through a representative, so this
    does not depend on the vote allowing proxies; the line stays one owner's voice with all its
    area (Civil Code Art. 278, and the Supreme People's Court's interpretation on building
    ownership, Art. 9: the developer's unsold parts count as one owner)."""
    vote = voter.vote
    require(actor, PartPerm.RUN_VOTES, vote, "representative_record", request)
    document = bounded_text(document, "document", 100, required=True, label=_("The written authorization"))
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, VoteStatus.OPEN, step=_("Recording the developer's representative"))
        if vote.electorate != Electorate.OWNERS:
            raise VoteError(_("Only an owners' vote has a developer's line."))
        voter = Voter.objects.get(pk=voter.pk)
        if voter.vote_id != vote.pk or voter.removed_at is not None or voter.person_id is not None:
            raise VoteError(_("Choose the developer's line (the unsold houses) of this vote."))
        if not account.is_active:
            raise VoteError({"username": _("No active account has this name.")})
        if voted_lines(vote, [voter]):
            raise VoteError(_("This line has already voted."))
        if Proxy.objects.filter(voter=voter).exists():
            raise VoteError(_("The developer's representative is already recorded."))
        return _proxy_create(
            vote,
            "representative_record",
            actor,
            request,
            voter=voter,
            holder_account=account,
            relation=DEVELOPER,
            document=document,
        )
