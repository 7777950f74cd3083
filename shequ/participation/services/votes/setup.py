"""Setting a vote up: create it, its options or candidates, its trustees and their key shares, and
open it (the manifest: what every ballot, proof and verifier is bound to)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.models import Region, RegionLevel, User
from shequ.core.permissions import Viewer
from shequ.core.text import bounded_text
from shequ.participation.crypto.ballots import digest
from shequ.participation.crypto.elgamal import ProofError, verify_key
from shequ.participation.crypto.group import GroupError, element, hex_element, mulmod
from shequ.participation.crypto.group import public_key as group_public_key
from shequ.participation.crypto.trustees import make_key_share
from shequ.participation.crypto.verifier import key_context
from shequ.participation.models import (
    Electorate,
    KeyMode,
    Matter,
    Option,
    OptionStatus,
    Quorum,
    ResidenceRule,
    Trustee,
    Vote,
    VoteKind,
    VoterSource,
    VoteStatus,
)
from shequ.participation.permissions import PartPerm
from shequ.participation.services.votes._common import (
    VoteError,
    announce,
    append,
    in_status,
    lock,
    lock_own_trustee,
    now,
    record,
    require,
)
from shequ.registry.electorates import building_ids_in, person_facts

ELECTORATES_OF: dict[str, set[str]] = {
    # Owners decide as owners' votes: Art. 278's participation and double majority apply.
    VoteKind.POLL: {Electorate.ADULTS, Electorate.HOUSEHOLDS},
    VoteKind.OWNERS: {Electorate.OWNERS},
    VoteKind.ELECTION: {Electorate.VOTERS},
    VoteKind.BY_ELECTION: {Electorate.VOTERS},
}
MAX_OPTIONS = 50  # a ballot of 50 options with its proofs stays under the page's request limit
MIN_TRUSTEES = 3  # an election's key is split between at least three committee members
ROLL_DAYS_BEFORE = 20  # the voter list is published at least 20 days before election day


def vote_create(
    *,
    actor: Viewer,
    region: Region,
    kind: str,
    title: str,
    cutoff_date: dt.date,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    description: str = "",
    electorate: str = "",
    matter: str = Matter.ORDINARY,
    quorum: str = Quorum.NONE,
    max_choices: int = 1,
    seats: int = 0,
    building_ids: Sequence[int] = (),
    election_day: dt.date | None = None,
    residence_rule: str = ResidenceRule.COMMUNITY,
    allow_proxy: bool = False,
    key_mode: str = "",
    request: HttpRequest | None = None,
) -> Vote:
    errors: dict[str, Any] = {}
    if kind not in VoteKind.values or kind == VoteKind.BY_ELECTION:
        raise VoteError({"kind": _("Choose a decision vote, an owners' vote or an election.")})
    is_election = kind == VoteKind.ELECTION
    electorate = electorate or (
        Electorate.VOTERS
        if is_election
        else Electorate.OWNERS
        if kind == VoteKind.OWNERS
        else Electorate.ADULTS
    )
    key_mode = key_mode or (KeyMode.TRUSTEES if is_election else KeyMode.PLATFORM)
    title = bounded_text(title, "title", 120, required=True, label=_("The title"))
    description = bounded_text(description, "description", 4000, multiline=True)
    if region.level not in (RegionLevel.COMMUNITY, RegionLevel.GRID):
        errors["region"] = _("A vote belongs to a community or one of its grids.")
    if electorate not in ELECTORATES_OF[kind]:
        errors["electorate"] = _("This electorate does not fit this kind of vote.")
    if matter not in Matter.values or (kind == VoteKind.OWNERS and matter == Matter.REGISTERED):
        errors["matter"] = _("Choose the majority the decision needs.")
    if quorum not in Quorum.values:
        errors["quorum"] = _("Choose a quorum.")
    if key_mode not in KeyMode.values or (is_election and key_mode != KeyMode.TRUSTEES):
        errors["key_mode"] = _("An election's key is held by trustees of the election committee.")
    if closes_at <= opens_at:
        errors["closes_at"] = _("Voting must close after it opens.")
    if cutoff_date > opens_at.date():
        errors["cutoff_date"] = _("The electorate's cut-off date cannot be after voting opens.")
    if is_election:
        if seats < 1:
            errors["seats"] = _("An election fills at least one seat.")
        if election_day is None:
            errors["election_day"] = _("An election needs its election day.")
        elif not opens_at.date() <= election_day <= closes_at.date():
            errors["election_day"] = _("Election day must fall within the voting period.")
        max_choices = seats
    elif not 1 <= max_choices <= 50:
        errors["max_choices"] = _("A ballot allows between 1 and 50 choices.")
    if residence_rule not in ResidenceRule.values:
        errors["residence_rule"] = _("Choose the residence rule.")
    buildings = _buildings_in(region, building_ids)
    if len(buildings) != len(set(building_ids)):
        errors["building_ids"] = _("Some buildings are not in this region.")
    if errors:
        raise VoteError(errors)
    vote = Vote(
        region=region,
        region_code=region.code,
        kind=kind,
        title=title,
        description=description,
        electorate=electorate,
        building_ids=sorted(buildings),
        cutoff_date=cutoff_date,
        matter=Matter.ORDINARY if is_election else matter,
        quorum=Quorum.NONE if kind != VoteKind.POLL else quorum,
        max_choices=max_choices,
        seats=seats if is_election else 0,
        opens_at=opens_at,
        closes_at=closes_at,
        election_day=election_day if is_election else None,
        residence_rule=residence_rule,
        term=term_of(election_day) if is_election and election_day else "",
        allow_proxy=allow_proxy and is_election,
        key_mode=key_mode,
        created_by=actor,  # type: ignore[misc]
    )
    require(actor, PartPerm.RUN_VOTES, vote, "vote_create", request)
    with transaction.atomic():
        vote.save()
        record(vote, "vote_create", actor=actor, request=request, detail={"kind": kind})
    return vote


def term_of(election_day: dt.date) -> str:
    """The term an election fills, named by its election day's year: committees are elected for
    five years in province-wide rounds (换届), so one person is on one community's list per year
    whatever each community would have typed ("2026", "2026年", "第十二届")."""
    return str(election_day.year)


def _buildings_in(region: Region, building_ids: Sequence[int]) -> set[int]:
    return building_ids_in(region.code, building_ids) if building_ids else set()


def option_add(
    *,
    actor: Viewer,
    vote: Vote,
    label: str = "",
    person_id: int | None = None,
    nominated_by: str = "",
    request: HttpRequest | None = None,
) -> Option:
    """An answer of a poll, or a nominated candidate of an election (a person on its roll)."""
    require(actor, PartPerm.RUN_VOTES, vote, "option_add", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Changing the ballot"))
        if vote.candidates_final_at is not None:
            raise VoteError(_("The candidate list is final."))
        nominated_by = bounded_text(nominated_by, "nominated_by", 100)
        if vote.is_election:
            voter = (
                vote.voters.filter(person_id=person_id, removed_at__isnull=True).first()
                if person_id
                else None
            )
            if voter is None or person_id is None:
                raise VoteError({"person_id": _("A candidate must be a voter on this election's list.")})
            if vote.options.filter(person_id=person_id).exclude(status=OptionStatus.WITHDRAWN).exists():
                raise VoteError({"person_id": _("This person is already a candidate.")})
            # Candidates stand by name: the list and the result are announced with full names.
            facts = person_facts(person_id, vote.region_code)
            label = facts.name if facts is not None else voter.label
            status = OptionStatus.NOMINATED
        else:
            label = bounded_text(label, "label", 100, required=True, label=_("The option"))
            if vote.options.filter(label=label).exists():
                raise VoteError({"label": _("This option is already on the ballot.")})
            status = OptionStatus.FINAL
            person_id = None
        if vote.options.exclude(status=OptionStatus.WITHDRAWN).count() >= MAX_OPTIONS:
            raise VoteError(_("A ballot has at most %(n)d options.") % {"n": MAX_OPTIONS})
        position = (vote.options.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        option = Option.objects.create(
            vote=vote,
            position=position,
            label=label,
            person_id=person_id,
            status=status,
            nominated_by=nominated_by,
        )
        record(
            vote,
            "option_add",
            actor=actor,
            request=request,
            object_type="participation.option",
            object_id=option.pk,
        )
    return option


def option_withdraw(*, actor: Viewer, option: Option, request: HttpRequest | None = None) -> None:
    vote = option.vote
    require(actor, PartPerm.RUN_VOTES, vote, "option_withdraw", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Changing the ballot"))
        if vote.candidates_final_at is not None:
            raise VoteError(_("The candidate list is final."))
        if vote.is_election:
            Option.objects.filter(pk=option.pk).update(status=OptionStatus.WITHDRAWN)
        else:
            option.delete()
        record(
            vote,
            "option_withdraw",
            actor=actor,
            request=request,
            object_type="participation.option",
            object_id=option.pk,
        )


def candidates_finalize(*, actor: Viewer, vote: Vote, request: HttpRequest | None = None) -> None:
    """Fix the candidate list: more candidates than seats (差额), numbered in the final order."""
    require(actor, PartPerm.RUN_VOTES, vote, "candidates_finalize", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Fixing the candidate list"))
        if not vote.is_election:
            raise VoteError(_("Only an election has a candidate list."))
        nominated = list(vote.options.filter(status=OptionStatus.NOMINATED).order_by("position"))
        if len(nominated) <= vote.seats:
            raise VoteError(
                _("An election needs more candidates than seats (差额): %(n)d candidates, %(seats)d seats.")
                % {"n": len(nominated), "seats": vote.seats}
            )
        vote.options.filter(status=OptionStatus.WITHDRAWN).delete()
        for n, option in enumerate(nominated, start=1):
            Option.objects.filter(pk=option.pk).update(position=1000 + n)
        for n, option in enumerate(nominated, start=1):
            Option.objects.filter(pk=option.pk).update(position=n, status=OptionStatus.FINAL)
        vote.candidates_final_at = now()
        vote.save(update_fields=["candidates_final_at"])
        record(
            vote, "candidates_finalize", actor=actor, request=request, detail={"candidates": len(nominated)}
        )


def trustee_add(*, actor: Viewer, vote: Vote, user: User, request: HttpRequest | None = None) -> Trustee:
    require(actor, PartPerm.RUN_VOTES, vote, "trustee_add", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Naming trustees"))
        if vote.key_mode != KeyMode.TRUSTEES:
            raise VoteError(_("The platform holds this vote's key: it has no trustees."))
        if vote.trustees.filter(user=user).exists():
            raise VoteError({"user": _("This person is already a trustee.")})
        if not user.is_active:
            raise VoteError({"user": _("This account is not active.")})
        position = (vote.trustees.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        trustee = Trustee.objects.create(vote=vote, user=user, position=position)
        announce(vote, "trustee_named", trustee_id=trustee.pk)
        record(
            vote,
            "trustee_add",
            actor=actor,
            request=request,
            object_type="participation.trustee",
            object_id=trustee.pk,
        )
    return trustee


def trustee_key_submit(
    *, actor: Viewer, trustee: Trustee, public_key: str, proof: Any, request: HttpRequest | None = None
) -> Trustee:
    """A trustee's phone made its key share: the public part and the proof that it knows the secret."""
    with transaction.atomic():
        vote, trustee = lock_own_trustee(actor, trustee, VoteStatus.DRAFT, _("Making a key share"))
        if trustee.keyed_at is not None:
            raise VoteError(_("Your key share is already made; it cannot be replaced."))
        try:
            public = group_public_key(public_key)
            verify_key(public, proof, key_context(str(vote.uid), trustee.position))
        except (GroupError, ProofError) as exc:
            raise VoteError(
                {"public_key": _("The key share does not verify: %(why)s") % {"why": exc}}
            ) from exc
        # The proof as verified, in its one spelling (it goes into the public manifest).
        clean = {"c": proof["c"], "v": proof["v"]}
        trustee.public_key, trustee.key_proof, trustee.keyed_at = hex_element(public), clean, now()
        trustee.save(update_fields=["public_key", "key_proof", "keyed_at"])
        record(
            vote,
            "trustee_key",
            actor=actor,
            request=request,
            object_type="participation.trustee",
            object_id=trustee.pk,
        )
    return trustee


def vote_open(*, actor: Viewer, vote: Vote, request: HttpRequest | None = None) -> Vote:
    """Check that everything is ready, fix the joint key and the manifest, and start the board."""
    require(actor, PartPerm.RUN_VOTES, vote, "vote_open", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Opening the vote"))
        problems = readiness(vote)
        if problems:
            raise VoteError(problems)
        trustees: list[dict[str, Any]] = []
        if vote.key_mode == KeyMode.PLATFORM:
            share = make_key_share(str(vote.uid), 0)
            vote.platform_secret = share.secret_hex
            trustees.append(
                {"position": 0, "name": "platform", "key": share.public_hex, "proof": share.proof}
            )
        for trustee in vote.trustees.order_by("position"):
            trustees.append(
                {
                    "position": trustee.position,
                    "name": f"trustee {trustee.position}",
                    "key": trustee.public_key,
                    "proof": trustee.key_proof,
                }
            )
        joint = 1
        for entry in trustees:
            joint = mulmod(joint, element(entry["key"]))
        options = list(
            vote.options.exclude(status=OptionStatus.WITHDRAWN)
            .order_by("position")
            .values_list("label", flat=True)
        )
        manifest = {
            "format": "shequ-vote/1",
            "vote": str(vote.uid),
            "title": vote.title,
            "region": vote.region_code,
            "kind": vote.kind,
            "matter": vote.matter,
            "quorum": vote.quorum,
            "seats": vote.seats,
            "options": options,
            "max_choices": vote.max_choices,
            "weighted": vote.kind == VoteKind.OWNERS or vote.electorate == Electorate.OWNERS,
            "opens_at": vote.opens_at.isoformat() if vote.opens_at else "",
            "closes_at": vote.closes_at.isoformat() if vote.closes_at else "",
            "trustees": trustees,
            "key": hex_element(joint),
        }
        vote.public_key = hex_element(joint)
        vote.manifest, vote.manifest_hash = manifest, digest(manifest)
        vote.credential_key = secrets.token_hex(32)
        vote.status = VoteStatus.OPEN
        vote.save(
            update_fields=[
                "platform_secret",
                "public_key",
                "manifest",
                "manifest_hash",
                "credential_key",
                "status",
            ]
        )
        append(vote, "manifest", manifest)
        announce(vote, "opened")
        record(
            vote,
            "vote_open",
            actor=actor,
            request=request,
            detail={"voters": vote.voters.filter(removed_at__isnull=True).count()},
        )
    return vote


def vote_schedule(
    *,
    actor: Viewer,
    vote: Vote,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    election_day: dt.date | None = None,
    request: HttpRequest | None = None,
) -> Vote:
    """Set when voting opens and closes (a by-election gets its own times)."""
    require(actor, PartPerm.RUN_VOTES, vote, "vote_schedule", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DRAFT, step=_("Changing the voting times"))
        if closes_at <= opens_at:
            raise VoteError({"closes_at": _("Voting must close after it opens.")})
        if vote.is_election:
            day = election_day or vote.election_day
            if day is None or not opens_at.date() <= day <= closes_at.date():
                raise VoteError({"election_day": _("Election day must fall within the voting period.")})
            if day != vote.election_day and vote.roll_published_at is not None:
                # Ages were counted for the published list's election day.
                raise VoteError({"election_day": _("The voter list is published for this election day.")})
            if day != vote.election_day:
                vote.voters.filter(source=VoterSource.REGISTRY).delete()  # ages change: compute again
            if vote.kind == VoteKind.ELECTION and term_of(day) != vote.term:  # (a by-election has none)
                try:
                    with transaction.atomic():
                        vote.voters.update(term=term_of(day))
                except IntegrityError:
                    raise VoteError(
                        {"election_day": _("Someone on this list is on another community's list that year.")}
                    ) from None
                vote.term = term_of(day)
            vote.election_day = day
        vote.opens_at, vote.closes_at = opens_at, closes_at
        vote.save(update_fields=["opens_at", "closes_at", "election_day", "term"])
        record(vote, "vote_schedule", actor=actor, request=request)
    return vote


def readiness(vote: Vote) -> dict[str, str]:
    """What still stops the vote from opening (empty: ready)."""
    problems: dict[str, str] = {}
    options = vote.options.exclude(status=OptionStatus.WITHDRAWN).count()
    if options < (2 if vote.is_election else 1):
        problems["options"] = _("The ballot has no options yet.")
    if not vote.voters.filter(removed_at__isnull=True).exists():
        problems["voters"] = _("The electorate is empty: compute the voter list first.")
    if vote.key_mode == KeyMode.TRUSTEES:
        trustees = list(vote.trustees.all())
        if len(trustees) < MIN_TRUSTEES:
            problems["trustees"] = _("Name at least %(n)d trustees.") % {"n": MIN_TRUSTEES}
        elif any(t.keyed_at is None for t in trustees):
            problems["trustees"] = _("Every trustee must make their key share on their phone first.")
    if vote.opens_at is None or vote.closes_at is None:
        problems["opens_at"] = _("Set when voting opens and closes.")
    elif vote.closes_at <= now():
        problems["closes_at"] = _("The voting period is over: set new times.")
    if vote.is_election:
        if vote.candidates_final_at is None:
            problems["candidates"] = _("Fix the candidate list first.")
        if vote.kind == VoteKind.ELECTION:
            if vote.roll_published_at is None:
                problems["roll"] = _("Publish the voter list first.")
            elif vote.objection_deadline and (vote.opens_at or now()) < vote.objection_deadline:
                problems["roll"] = _("Voting cannot open before the period for objections ends.")
            elif (
                vote.election_day
                and (vote.election_day - vote.roll_published_at.date()).days < ROLL_DAYS_BEFORE
            ):
                problems["roll"] = _(
                    "The voter list must be published at least %(n)d days before election day."
                ) % {"n": ROLL_DAYS_BEFORE}
            if vote.objections.filter(decided_at__isnull=True).exists():
                problems["objections"] = _("Decide every objection to the voter list first.")
    return problems
