"""The legal rules that decide a vote, as pure functions over counts (no database): what the
tally means. Counting words follow Civil Code Art. 1259: 过半数 is strictly more than half (exactly
half is not enough); 以上 (two thirds, three quarters "or more") includes the number itself.
Integer arithmetic only: ``2 * a > b`` rather than ``a / b > 0.5``.

Elections (Organic Laws of Residents' and Villagers' Committees): valid when more than half of the
registered voters voted; a candidate is elected with more than half of the ballots cast, the seats
going to the most voted; a tie across the last seat elects neither; seats left empty go to a
by-election (另行选举) among the best placed of the others, where the most voted win with at least
one third of the ballots cast. Owners (Art. 278): owners holding two thirds or more of the area
and two thirds or more of the owners take part; an ordinary matter needs more than half of the
participating area and owners, a special one (items 6–8) three quarters or more of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# The values of ``models.Matter`` and ``models.Quorum``; plain strings so that the verifier, which
# anyone runs on a board without the platform's database, can import these rules.
SPECIAL, REGISTERED = "special", "registered"
QUORUM_NONE, QUORUM_HALF, QUORUM_TWO_THIRDS = "none", "half", "two_thirds"


def more_than_half(part: int, whole: int) -> bool:
    return 2 * part > whole


def at_least_fraction(part: int, whole: int, numerator: int, denominator: int) -> bool:
    """``part ≥ whole · numerator / denominator`` (以上: the bound itself is enough)."""
    return part * denominator >= whole * numerator


@dataclass(frozen=True)
class ElectionOutcome:
    valid: bool
    elected: tuple[int, ...]  # option indexes, most voted first
    not_elected: tuple[int, ...]
    empty_seats: int
    ties: tuple[int, ...] = ()  # tied across the last seat: neither elected
    reasons: tuple[str, ...] = field(default=())


def election_outcome(
    *, registered: int, cast: int, votes: Sequence[int], seats: int, by_election: bool = False
) -> ElectionOutcome:
    """``votes[i]``: ballots choosing candidate ``i``; ``cast``: ballots counted."""
    order = sorted(range(len(votes)), key=lambda i: (-votes[i], i))
    if not more_than_half(cast, registered):
        return ElectionOutcome(
            valid=False,
            elected=(),
            not_elected=tuple(order),
            empty_seats=seats,
            reasons=("turnout",),
        )
    if by_election:
        qualified = [i for i in order if at_least_fraction(votes[i], cast, 1, 3)]
    else:
        qualified = [i for i in order if more_than_half(votes[i], cast)]
    elected = qualified[:seats]
    ties: tuple[int, ...] = ()
    if len(qualified) > seats and seats and votes[qualified[seats]] == votes[elected[-1]]:
        # The last seat is tied: whoever shares the last seat's count is not elected now.
        tied_count = votes[elected[-1]]
        ties = tuple(i for i in qualified if votes[i] == tied_count)
        elected = [i for i in elected if votes[i] != tied_count]
    return ElectionOutcome(
        valid=True,
        elected=tuple(elected),
        not_elected=tuple(i for i in order if i not in elected),
        empty_seats=seats - len(elected),
        ties=ties,
    )


@dataclass(frozen=True)
class Tally:
    """Counts of one vote: ballots cast and per option (owners: headcount and area in 0.01 m²)."""

    electorate: int
    cast: int
    votes: tuple[int, ...]
    electorate_area: int = 0
    cast_area: int = 0
    votes_area: tuple[int, ...] = ()


@dataclass(frozen=True)
class DecisionOutcome:
    quorum_met: bool
    passed: tuple[int, ...]  # options that carried
    reasons: tuple[str, ...] = ()


def _carries(part: int, cast: int, electorate: int, matter: str) -> bool:
    if matter == SPECIAL:
        return at_least_fraction(part, cast, 3, 4)
    if matter == REGISTERED:
        return more_than_half(part, electorate)
    return more_than_half(part, cast)


def poll_outcome(tally: Tally, *, matter: str, quorum: str) -> DecisionOutcome:
    quorum_met = {
        QUORUM_NONE: tally.cast > 0,
        QUORUM_HALF: more_than_half(tally.cast, tally.electorate),
        QUORUM_TWO_THIRDS: at_least_fraction(tally.cast, tally.electorate, 2, 3),
    }[quorum]
    if not quorum_met:
        return DecisionOutcome(quorum_met=False, passed=(), reasons=("quorum",))
    passed = tuple(i for i, n in enumerate(tally.votes) if _carries(n, tally.cast, tally.electorate, matter))
    return DecisionOutcome(quorum_met=True, passed=passed)


def owners_outcome(tally: Tally, *, matter: str) -> DecisionOutcome:
    """Art. 278 on both counts: participation by two thirds or more of the owners and of the area,
    then the majority of the matter on the participating owners and area alike."""
    reasons = []
    if not at_least_fraction(tally.cast, tally.electorate, 2, 3):
        reasons.append("owners")
    if not at_least_fraction(tally.cast_area, tally.electorate_area, 2, 3):
        reasons.append("area")
    if reasons:
        return DecisionOutcome(quorum_met=False, passed=(), reasons=tuple(reasons))
    special = matter == SPECIAL

    def carries(part: int, whole: int) -> bool:
        return at_least_fraction(part, whole, 3, 4) if special else more_than_half(part, whole)

    passed = tuple(
        i
        for i in range(len(tally.votes))
        if carries(tally.votes[i], tally.cast) and carries(tally.votes_area[i], tally.cast_area)
    )
    return DecisionOutcome(quorum_met=True, passed=passed)


def outcome(*, kind: str, tally: Tally, matter: str, quorum: str, seats: int) -> dict[str, object]:
    """The decision as the board's tally entry states it (the verifier recomputes it the same way)."""
    if kind in ("election", "by_election"):
        e = election_outcome(
            registered=tally.electorate,
            cast=tally.cast,
            votes=tally.votes,
            seats=seats,
            by_election=kind == "by_election",
        )
        return {
            "valid": e.valid,
            "elected": list(e.elected),
            "ties": list(e.ties),
            "empty_seats": e.empty_seats,
            "reasons": list(e.reasons),
        }
    d = (
        owners_outcome(tally, matter=matter)
        if kind == "owners"
        else poll_outcome(tally, matter=matter, quorum=quorum)
    )
    return {"valid": d.quorum_met, "passed": list(d.passed), "reasons": list(d.reasons)}
