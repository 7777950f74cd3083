"""Closing and counting: the box multiplies the counted ballots into one encrypted total per
option, the trustees' phones decrypt only those totals (each with a proof), and the decision is
computed under the vote's legal rules and announced on the board. Nothing here ever decrypts a
single ballot.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.permissions import Viewer
from shequ.participation import rules
from shequ.participation.crypto.ballots import canonical
from shequ.participation.crypto.elgamal import Ciphertext, ProofError, combine, verify_partial
from shequ.participation.crypto.group import GroupError, element, exponent
from shequ.participation.crypto.trustees import count_shares
from shequ.participation.crypto.verifier import aggregate, decrypt_context
from shequ.participation.models import (
    BoardEntry,
    CastBallot,
    KeyMode,
    Option,
    OptionStatus,
    Proxy,
    Trustee,
    Vote,
    VoteKind,
    Voter,
    VoteStatus,
)
from shequ.participation.permissions import PartPerm
from shequ.participation.services.votes._common import (
    VoteError,
    announce,
    append,
    centi,
    in_status,
    lock,
    lock_own_trustee,
    now,
    record,
    require,
)
from shequ.participation.services.votes.casting import voted_lines

log = logging.getLogger(__name__)


def vote_close(*, actor: Viewer | None, vote: Vote, request: HttpRequest | None = None) -> Vote:
    """Close the box at its closing time (the worker's job does it; staff may press it after the
    time). The totals go on the board; the credential key is erased."""
    if actor is not None:
        require(actor, PartPerm.RUN_VOTES, vote, "vote_close", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.OPEN, step=_("Closing the vote"))
        if vote.closes_at is None or now() < vote.closes_at:
            raise VoteError(_("The vote closes at its announced time, not before."))
        _settle_roll(vote)
        counted = _counted(vote)
        weighted = bool(vote.manifest.get("weighted"))
        totals, areas = aggregate(counted, len(vote.manifest["options"]), weighted)
        roll = vote.voters.filter(removed_at__isnull=True)
        payload: dict[str, Any] = {
            "electorate": roll.count(),
            "electorate_area": centi(roll.aggregate(s=Sum("area"))["s"]) if weighted else 0,
            "voted": roll.filter(voted=True).count(),
            "totals": [t.to_json() for t in totals],
            "totals_area": [t.to_json() for t in areas],
        }
        append(vote, "close", payload)
        announce(vote, "closed")
        vote.status, vote.credential_key = VoteStatus.CLOSED, ""
        vote.save(update_fields=["status", "credential_key"])
        record(vote, "vote_close", actor=actor, request=request, detail={"counted": len(counted)})
        if vote.key_mode == KeyMode.PLATFORM:
            secret = exponent(vote.platform_secret)
            partial = {
                "position": 0,
                "shares": count_shares(secret, vote.manifest_hash, 0, totals),
                "shares_area": count_shares(secret, vote.manifest_hash, 0, areas, "shares_area"),
            }
            vote.platform_secret = ""
            vote.save(update_fields=["platform_secret"])
            _finish(vote, [partial])
    return vote


def _settle_roll(vote: Vote) -> None:
    """Inside the closing transaction, while the credential key still exists: mark the roll lines
    that voted, all at once, from the counted ballots. No line is written while the vote is open:
    on PostgreSQL a row written as its voter votes would carry a transaction id next to their
    ballot's, and the old versions stay in the table's pages even after a VACUUM. Written here, the
    marks share the closing transaction and say nothing of when or in which order anyone voted.
    A line with a written entrustment (or the developer's representative) was voted by proxy."""
    lines = list(vote.voters.filter(removed_at__isnull=True).only("pk", "vote_id", "voted"))
    voted = voted_lines(vote, lines)
    entrusted = set(Proxy.objects.filter(vote=vote).values_list("voter_id", flat=True))
    if voted:
        Voter.objects.filter(pk__in=sorted(voted & entrusted)).update(voted=True, by_proxy=True)
        Voter.objects.filter(pk__in=sorted(voted - entrusted)).update(voted=True, by_proxy=False)


# The vote's row held the credential key while it was open: the closing UPDATE leaves that version
# dead in the table's pages, where a plain VACUUM would not overwrite it. VACUUM FULL rewrites the
# table into new files (one row per vote: milliseconds under its lock) — but it must keep a dead
# version that a transaction begun before the closing could still see (PostgreSQL's horizon, which
# a long pg_dump or report anywhere in the cluster holds back). So it runs only once no such
# transaction is left (``key_versions_removable``), else later: the closing job retries and an
# hourly job repeats it for a week.
VACUUMED = (Vote,)
FORGET_FOR = dt.timedelta(days=7)


def key_versions_removable(votes: Sequence[Vote]) -> bool:
    """Whether no transaction still running (in any database of the cluster, a prepared one or a
    replication slot) began before the newest write of these votes' rows (their closing or later):
    then VACUUM FULL drops the versions that held their credential keys. PostgreSQL only."""
    if not votes:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(age(xmin)) FROM {connection.ops.quote_name(Vote._meta.db_table)} "  # noqa: S608
            "WHERE id = ANY(%s)",
            [[v.pk for v in votes]],
        )
        since = cursor.fetchone()[0]
        cursor.execute(
            "SELECT greatest("
            " (SELECT max(greatest(age(backend_xid), age(backend_xmin))) FROM pg_stat_activity"
            "  WHERE pid <> pg_backend_pid()),"
            " (SELECT max(age(transaction)) FROM pg_prepared_xacts),"
            " (SELECT max(greatest(age(xmin), age(catalog_xmin))) FROM pg_replication_slots))"
        )
        oldest = cursor.fetchone()[0]
    return since is None or oldest is None or oldest < since


class OlderTransactionsRunning(Exception):
    """A transaction begun before a vote closed still runs: the key's old version cannot go yet."""


def vacuum_vote_tables(votes: Sequence[Vote] | None = None) -> None:
    """Outside any transaction (PostgreSQL): rewrite the votes' table so that no page still holds
    an erased credential key. ``votes``: those just closed (default: every vote closed within
    ``FORGET_FOR``); raises ``OlderTransactionsRunning`` while their old versions must be kept.
    What WAL archives and backups kept is docs/security.md's to explain."""
    if connection.vendor != "postgresql":
        return
    if connection.in_atomic_block:  # a test's transaction; the worker runs this outside any
        log.warning("participation: VACUUM of the votes' table skipped inside a transaction")
        return
    if votes is None:
        votes = list(
            Vote.objects.filter(
                status__in=(VoteStatus.CLOSED, VoteStatus.DECIDED), closes_at__gte=now() - FORGET_FOR
            )
        )
        if not votes:
            return
    if not key_versions_removable(votes):
        raise OlderTransactionsRunning(
            "a transaction begun before the vote closed is still running; the erased credential key's"
            " old version is removed once it ends"
        )
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in VACUUMED)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (FULL, FREEZE) {tables}")


def _counted(vote: Vote) -> list[tuple[list[Ciphertext], int]]:
    """The counted ballots' ciphertexts and weights, read back from the board."""
    entries = BoardEntry.objects.filter(
        pk__in=CastBallot.objects.filter(vote=vote, current=True).values("entry_id")
    ).values_list("payload", flat=True)
    out = []
    for text in entries.iterator(chunk_size=2000):
        payload = json.loads(text)
        cts = [Ciphertext.from_checked_json(c) for c in payload["ballot"]["choices"]]
        out.append((cts, int(payload["weight"])))
    return out


def close_entry(vote: Vote) -> dict[str, Any]:
    text = BoardEntry.objects.filter(vote=vote, kind="close").values_list("payload", flat=True).get()
    data: dict[str, Any] = json.loads(text)
    return data


def trustee_decrypt_submit(
    *, actor: Viewer, trustee: Trustee, shares: Any, shares_area: Any = (), request: HttpRequest | None = None
) -> Trustee:
    """A trustee's phone decrypted the totals on the board; each share's proof is checked here."""
    with transaction.atomic():
        vote, trustee = lock_own_trustee(actor, trustee, VoteStatus.CLOSED, _("Giving a share of the count"))
        if trustee.decrypted_at is not None:
            raise VoteError(_("Your share of the count is already given."))
        close = close_entry(vote)
        public = element(trustee.public_key)
        for part, given in (("shares", shares), ("shares_area", shares_area)):
            totals = [Ciphertext.from_json(t) for t in close["totals" if part == "shares" else "totals_area"]]
            if not isinstance(given, list | tuple) or len(given) != len(totals):
                raise VoteError(_("The share of the count does not match the totals on the board."))
            for i, (total, partial) in enumerate(zip(totals, given, strict=True)):
                try:
                    verify_partial(
                        public, total, partial, decrypt_context(vote.manifest_hash, trustee.position, part, i)
                    )
                except (ProofError, GroupError) as exc:
                    raise VoteError(
                        _("The share of the count does not verify: %(why)s") % {"why": exc}
                    ) from exc
        trustee.partial = [{"shares": list(shares), "shares_area": list(shares_area)}]
        trustee.decrypted_at = now()
        trustee.save(update_fields=["partial", "decrypted_at"])
        record(
            vote,
            "trustee_decrypt",
            actor=actor,
            request=request,
            object_type="participation.trustee",
            object_id=trustee.pk,
        )
        trustees = list(vote.trustees.order_by("position"))
        if all(t.decrypted_at is not None for t in trustees):
            _finish(
                vote,
                [
                    {
                        "position": t.position,
                        "shares": t.partial[0]["shares"],
                        "shares_area": t.partial[0]["shares_area"],
                    }
                    for t in trustees
                ],
            )
    return trustee


def _finish(vote: Vote, partials: list[dict[str, Any]]) -> None:
    """All shares are in: combine them, decide under the rules, announce on the board."""
    close = close_entry(vote)
    counted = CastBallot.objects.filter(vote=vote, current=True)
    cast = counted.count()
    counts = _combine(close["totals"], partials, "shares", cast)
    weighted = bool(vote.manifest.get("weighted"))
    # CastBallot.weight is the payload's weight in m² (casting writes both): no second pass over the board.
    cast_area = centi(counted.aggregate(s=Sum("weight"))["s"]) if weighted else 0
    counts_area = _combine(close["totals_area"], partials, "shares_area", cast_area) if weighted else []
    tally = rules.Tally(
        electorate=close["electorate"],
        cast=cast,
        votes=tuple(counts),
        electorate_area=close["electorate_area"],
        cast_area=cast_area,
        votes_area=tuple(counts_area),
    )
    outcome = rules.outcome(
        kind=vote.kind, tally=tally, matter=vote.matter, quorum=vote.quorum, seats=vote.seats
    )
    payload = {
        "totals": close["totals"],
        "totals_area": close["totals_area"],
        "partials": partials,
        "cast": cast,
        "cast_area": cast_area,
        "counts": counts,
        "counts_area": counts_area,
        "outcome": outcome,
    }
    entry = append(vote, "tally", payload)
    vote.result = {
        **payload,
        "partials": len(partials),
        "board_head": entry.hash,
        "electorate": close["electorate"],
        "electorate_area": close["electorate_area"],
        "voted": close["voted"],
    }
    vote.status, vote.announced_at = VoteStatus.DECIDED, now()
    vote.save(update_fields=["result", "status", "announced_at"])
    if vote.term and not outcome.get("valid", True):
        # A void election holds no one for the term: the community may hold it again.
        vote.voters.update(term="")
    announce(vote, "decided")
    record(vote, "vote_decided", actor=None, detail={"outcome": canonical(outcome)[:500]})


def _combine(totals_json: list[Any], partials: list[dict[str, Any]], part: str, bound: int) -> list[int]:
    counts = []
    for i, t in enumerate(totals_json):
        total = Ciphertext.from_json(t)
        shares = [element(p[part][i]["d"]) for p in partials]
        counts.append(combine(total, shares, bound))
    return counts


def by_election_create(*, actor: Viewer, vote: Vote, request: HttpRequest | None = None) -> Vote:
    """Seats left empty by a valid election go to a by-election (另行选举) on the same roll: the
    best placed of those not elected stand, one more than the seats (差额); the most voted win with
    at least a third of the ballots cast. The trustees make new key shares."""
    require(actor, PartPerm.RUN_VOTES, vote, "by_election_create", request)
    with transaction.atomic():
        vote = lock(vote)
        in_status(vote, VoteStatus.DECIDED, step=_("Calling a by-election"))
        outcome = vote.result.get("outcome", {})
        if vote.kind != VoteKind.ELECTION or not outcome.get("valid") or not outcome.get("empty_seats"):
            raise VoteError(_("A by-election follows a valid election that left seats empty."))
        if vote.by_elections.exists():
            raise VoteError(_("The by-election is already called."))
        seats = int(outcome["empty_seats"])
        counts = vote.result["counts"]
        options = list(vote.options.order_by("position"))
        elected = set(outcome["elected"])
        ranked = sorted((i for i in range(len(options)) if i not in elected), key=lambda i: (-counts[i], i))
        standing = ranked[: seats + 1]
        if len(standing) <= seats:
            raise VoteError(_("Too few candidates remain for a by-election with more candidates than seats."))
        child = Vote.objects.create(
            region=vote.region,
            region_code=vote.region_code,
            kind=VoteKind.BY_ELECTION,
            title=_("%(title)s — by-election") % {"title": vote.title},
            description=vote.description,
            electorate=vote.electorate,
            building_ids=vote.building_ids,
            cutoff_date=vote.cutoff_date,
            max_choices=seats,
            seats=seats,
            election_day=vote.election_day,
            residence_rule=vote.residence_rule,
            roll_published_at=vote.roll_published_at,
            objection_deadline=vote.objection_deadline,
            candidates_final_at=now(),
            allow_proxy=vote.allow_proxy,
            parent=vote,
            key_mode=KeyMode.TRUSTEES,
            created_by=actor,  # type: ignore[misc]
        )
        Option.objects.bulk_create(
            Option(
                vote=child,
                position=n,
                label=options[i].label,
                person_id=options[i].person_id,
                status=OptionStatus.FINAL,
            )
            for n, i in enumerate(standing, start=1)
        )
        lines = {}
        for v in vote.voters.filter(removed_at__isnull=True).order_by("pk"):
            lines[v.pk] = Voter.objects.create(
                vote=child,
                person_id=v.person_id,
                label=v.label,
                house_ids=v.house_ids,
                area=v.area,
                source=v.source,
                note=v.note,
            )
        for p in vote.proxies.all():
            Proxy.objects.create(
                vote=child,
                voter=lines[p.voter_id],
                holder=lines[p.holder_id] if p.holder_id else None,
                holder_account=p.holder_account,
                relation=p.relation,
                document=p.document,
                recorded_by=p.recorded_by,
            )
        for t in vote.trustees.order_by("position"):
            Trustee.objects.create(vote=child, user=t.user, position=t.position)
        record(
            child,
            "by_election_create",
            actor=actor,
            request=request,
            detail={"parent": vote.pk, "seats": seats},
        )
    return child


def close_due(*, limit: int = 50) -> int:
    """The worker's job: close every open vote whose time has come."""
    closed = 0
    due = Vote.objects.filter(status=VoteStatus.OPEN, closes_at__lte=now()).order_by("closes_at")
    for vote in due[:limit]:
        try:
            vote_close(actor=None, vote=vote)
            closed += 1
        except Exception:
            # One vote that cannot close must not keep every vote behind it open.
            log.exception("vote %s could not be closed", vote.pk)
    return closed
