"""The legal rules on counts alone, with the edges the law's counting words make: 过半数 is
strictly more than half (exactly half fails); 三分之二以上 and 四分之三以上 include the bound."""

from __future__ import annotations

import pytest

from shequ.participation.rules import (
    Tally,
    at_least_fraction,
    election_outcome,
    more_than_half,
    outcome,
    owners_outcome,
    poll_outcome,
)


@pytest.mark.parametrize(
    ("part", "whole", "expected"), [(5, 10, False), (6, 10, True), (3, 5, True), (2, 5, False), (0, 0, False)]
)
def test_more_than_half_is_strict(part: int, whole: int, expected: bool) -> None:
    assert more_than_half(part, whole) is expected


@pytest.mark.parametrize(
    ("part", "whole", "expected"), [(2, 3, True), (66, 100, False), (67, 100, True), (20, 30, True)]
)
def test_two_thirds_or_more_includes_the_bound(part: int, whole: int, expected: bool) -> None:
    assert at_least_fraction(part, whole, 2, 3) is expected


def test_an_election_where_exactly_half_voted_is_void() -> None:
    e = election_outcome(registered=100, cast=50, votes=[50, 40, 10], seats=1)
    assert not e.valid and e.reasons == ("turnout",) and e.empty_seats == 1
    e = election_outcome(registered=100, cast=51, votes=[50, 40, 10], seats=1)
    assert e.valid


def test_a_candidate_with_exactly_half_of_the_ballots_is_not_elected() -> None:
    e = election_outcome(registered=10, cast=8, votes=[4, 5, 3], seats=2)
    assert e.elected == (1,)  # 5 of 8 ballots; 4 of 8 is exactly half
    assert e.empty_seats == 1


def test_the_most_voted_take_the_seats() -> None:
    e = election_outcome(registered=10, cast=9, votes=[5, 8, 7, 6], seats=2)
    assert e.elected == (1, 2) and e.empty_seats == 0 and e.not_elected == (3, 0)


def test_a_tie_across_the_last_seat_elects_neither() -> None:
    e = election_outcome(registered=10, cast=9, votes=[8, 6, 6, 1], seats=2)
    assert e.elected == (0,) and e.ties == (1, 2) and e.empty_seats == 1


def test_a_by_election_needs_a_third_of_the_ballots() -> None:
    e = election_outcome(registered=10, cast=9, votes=[3, 2], seats=1, by_election=True)
    assert e.elected == (0,)  # 3 of 9 is exactly a third: 不少于三分之一 includes it
    e = election_outcome(registered=10, cast=9, votes=[2, 2], seats=1, by_election=True)
    assert e.elected == () and e.empty_seats == 1


def test_a_poll_needs_more_than_half_of_those_voting() -> None:
    t = Tally(electorate=10, cast=6, votes=(3, 3, 0))
    assert poll_outcome(t, matter="ordinary", quorum="none").passed == ()
    t = Tally(electorate=10, cast=6, votes=(4, 2, 0))
    assert poll_outcome(t, matter="ordinary", quorum="half").passed == (0,)


def test_a_poll_without_its_quorum_decides_nothing() -> None:
    t = Tally(electorate=10, cast=5, votes=(5, 0))
    d = poll_outcome(t, matter="ordinary", quorum="half")
    assert not d.quorum_met and d.reasons == ("quorum",)
    assert poll_outcome(
        Tally(electorate=9, cast=6, votes=(6, 0)), matter="ordinary", quorum="two_thirds"
    ).quorum_met


def test_a_registered_majority_counts_the_whole_electorate() -> None:
    t = Tally(electorate=10, cast=6, votes=(5, 1))
    assert poll_outcome(t, matter="registered", quorum="none").passed == ()
    t = Tally(electorate=10, cast=7, votes=(6, 1))
    assert poll_outcome(t, matter="registered", quorum="none").passed == (0,)


def owners(cast: int, cast_area: int, yes: int, yes_area: int) -> Tally:
    return Tally(
        electorate=30,
        cast=cast,
        votes=(yes, cast - yes),
        electorate_area=3000,
        cast_area=cast_area,
        votes_area=(yes_area, cast_area - yes_area),
    )


def test_owners_need_two_thirds_of_owners_and_of_area_to_take_part() -> None:
    assert owners_outcome(owners(20, 2000, 20, 2000), matter="ordinary").quorum_met  # exactly 2/3 of both
    d = owners_outcome(owners(19, 2500, 19, 2500), matter="ordinary")
    assert not d.quorum_met and d.reasons == ("owners",)
    d = owners_outcome(owners(25, 1999, 25, 1999), matter="ordinary")
    assert not d.quorum_met and d.reasons == ("area",)


def test_an_ordinary_matter_needs_more_than_half_of_both_counts() -> None:
    assert owners_outcome(owners(20, 2000, 11, 1001), matter="ordinary").passed == (0,)
    assert owners_outcome(owners(20, 2000, 10, 1500), matter="ordinary").passed == ()  # half the owners
    assert owners_outcome(owners(20, 2000, 15, 1000), matter="ordinary").passed == ()  # half the area


def test_a_special_matter_needs_three_quarters_of_both_counts() -> None:
    assert owners_outcome(owners(20, 2000, 15, 1500), matter="special").passed == (0,)  # exactly 3/4
    assert owners_outcome(owners(20, 2000, 14, 1900), matter="special").passed == ()
    assert owners_outcome(owners(20, 2000, 19, 1499), matter="special").passed == ()


def test_the_outcome_as_the_board_states_it() -> None:
    t = Tally(electorate=10, cast=8, votes=(5, 4, 3))
    assert outcome(kind="election", tally=t, matter="ordinary", quorum="none", seats=2) == {
        "valid": True,
        "elected": [0],
        "ties": [],
        "empty_seats": 1,
        "reasons": [],
    }
