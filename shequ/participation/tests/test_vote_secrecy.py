"""What the database itself could tell about who cast which ballot (PostgreSQL's row stamps), the
board's append-only triggers, and the published verifier run as a command on an exported board."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from shequ.core import outbox
from shequ.participation.crypto.verifier import verify
from shequ.participation.models import BoardEntry, Vote, Voter
from shequ.participation.selectors_votes import board_export
from shequ.participation.services import votes as svc
from shequ.participation.tests.fixtures_votes import Votes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

REPO = Path(__file__).resolve().parents[3]
ROLL, BALLOTS, BOARD = "participation_voter", "participation_castballot", "participation_boardentry"


def rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def cast_in_reverse_roll_order(votes: Votes, vote: Vote, n: int) -> list[Voter]:
    """``n`` roll lines vote, the last line first: the order of voting is not the roll's."""
    lines = list(vote.voters.filter(removed_at__isnull=True).order_by("-pk")[:n])
    for i, line in enumerate(lines):
        selections = [0, 0, 0]
        selections[i % 3] = 1
        svc.ballot_cast(voter=line, ballot=votes.ballot(vote, line, selections))
    return lines


def xmin_joins(vote: Vote) -> list[tuple[Any, ...]]:
    return rows(
        f"SELECT v.id, b.tracker FROM {ROLL} v JOIN {BALLOTS} b ON v.xmin = b.xmin WHERE v.vote_id = %s "
        f"UNION ALL SELECT v.id, e.hash FROM {ROLL} v JOIN {BOARD} e ON v.xmin = e.xmin "
        "WHERE v.vote_id = %s AND e.kind = 'ballot'",
        [vote.pk, vote.pk],
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_after_closing_no_row_stamp_or_row_order_joins_a_voter_to_a_ballot(votes: Votes) -> None:
    """PostgreSQL stamps every row with the id of the transaction that wrote it (``xmin``, a
    number that only grows) and keeps it at a place (``ctid``). The roll's mark is written apart
    from the ballot; closing rewrites every roll line and ballot of the vote in its own transaction
    (the lines in the roll's order) and the closing job vacuums the old row versions away."""
    if connection.vendor != "postgresql":
        pytest.skip("xmin and ctid are PostgreSQL's (CI runs this test on PostgreSQL)")
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    voted = cast_in_reverse_roll_order(votes, vote, 4)
    # While the vote is open, a mark and its ballot are written by different transactions …
    assert xmin_joins(vote) == []
    written = {
        x
        for (x,) in rows(
            f"SELECT xmin::text FROM {ROLL} WHERE vote_id = %s AND voted "
            f"UNION SELECT xmin::text FROM {BALLOTS} WHERE vote_id = %s",
            [vote.pk, vote.pk],
        )
    }
    assert len(written) == 8  # … one per mark and one per ballot, in the order of voting

    vote = votes.close(vote)
    assert vote.voters.filter(voted=True).count() == len(voted)
    # Joined on xmin, every line of the roll — voted or not — meets every ballot alike.
    met: dict[int, set[str]] = {pk: set() for pk in vote.voters.values_list("pk", flat=True)}
    for pk, ballot in xmin_joins(vote):
        met[pk].add(ballot)
    assert len({frozenset(ballots) for ballots in met.values()}) == 1
    # Every roll line, ballot and board entry of the vote now carries the closing transaction's id:
    # nothing orders the marks in time.
    stamps = rows(
        f"SELECT DISTINCT xmin::text FROM {ROLL} WHERE vote_id = %s "
        f"UNION SELECT DISTINCT xmin::text FROM {BALLOTS} WHERE vote_id = %s "
        f"UNION SELECT DISTINCT xmin::text FROM {BOARD} WHERE vote_id = %s",
        [vote.pk, vote.pk, vote.pk],
    )
    assert len(stamps) == 1 and stamps[0][0] not in written
    # The lines lie in the roll's order, not in the order their marks were written.
    by_place = [pk for (pk,) in rows(f"SELECT id FROM {ROLL} WHERE vote_id = %s ORDER BY ctid", [vote.pk])]
    assert by_place == sorted(by_place)
    assert verify(board_export(vote)).ok
    with pytest.raises(DatabaseError, match="append-only"):
        rows(f"TRUNCATE {BOARD} CASCADE", [])  # (here: no deferred check is pending)

    # The closing job (an outbox handler, outside any transaction) vacuums: no row version left in
    # the roll's pages still carries a transaction id from while the vote was open.
    outbox.run_pending()
    try:
        with transaction.atomic():
            rows("CREATE EXTENSION IF NOT EXISTS pageinspect", [])
    except DatabaseError:
        pytest.skip("pageinspect needs a superuser (CI's database has one)")
    pages = rows(f"SELECT pg_relation_size('{ROLL}') / current_setting('block_size')::int", [])[0][0]
    left = rows(
        "SELECT t_xmin::text FROM generate_series(0, %s - 1) AS n, "
        f"LATERAL heap_page_items(get_raw_page('{ROLL}', n::int)) WHERE t_xmin IS NOT NULL",
        [pages],
    )
    assert pages and left
    assert not {x for (x,) in left} & written


def test_a_mark_lost_between_the_ballot_and_the_roll_is_restored_at_closing(votes: Votes) -> None:
    """The mark is written after its ballot commits: if the process dies in between, closing sets
    the mark from the counted ballots (while the credential key still exists), so the roll's count
    of voters matches the board's count of ballots, which the verifier checks."""
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    lines = cast_in_reverse_roll_order(votes, vote, 3)
    Voter.objects.filter(pk=lines[0].pk).update(voted=False, voted_on=None)
    never = vote.voters.exclude(pk__in=[line.pk for line in lines]).first()
    assert never is not None
    Voter.objects.filter(pk=never.pk).update(voted=True)  # a mark with no ballot behind it
    vote = votes.close(vote)
    assert set(vote.voters.filter(voted=True).values_list("pk", flat=True)) == {line.pk for line in lines}
    assert Voter.objects.get(pk=lines[0].pk).voted_on is not None
    report = verify(board_export(vote))
    assert report.ok, report.problems
    assert report.counted == 3


def test_the_board_refuses_changes_and_deletions(votes: Votes) -> None:
    """The board is append-only in the database, like the audit log: an UPDATE that changes an
    entry and a DELETE are refused by triggers (TRUNCATE too: see the PostgreSQL test above)."""
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    votes.cast(vote, votes.adults[0], [1, 0, 0])
    entry = BoardEntry.objects.get(vote=vote, kind="ballot")
    statements: list[tuple[str, list[Any]]] = [
        (f"UPDATE {BOARD} SET payload = %s WHERE id = %s", ["{}", entry.pk]),
        (f"UPDATE {BOARD} SET seq = seq + 100 WHERE id = %s", [entry.pk]),
        (f"DELETE FROM {BOARD} WHERE id = %s", [entry.pk]),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql, params)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        BoardEntry.objects.filter(vote=vote, kind="manifest").delete()  # the ORM's way
    fresh = BoardEntry.objects.get(pk=entry.pk)
    assert (fresh.seq, fresh.payload, fresh.hash) == (entry.seq, entry.payload, entry.hash)
    # Writing a row again as it is stays possible (closing does it to restamp the vote's rows).
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {BOARD} SET id = id WHERE vote_id = %s", [vote.pk])
    assert verify(board_export(votes.close(vote))).ok


def test_staff_see_who_voted_line_by_line_only_after_closing(votes: Votes) -> None:
    """While ballots arrive, the staff's voter list shows how many have voted, not who: polled
    beside the public board, a new mark would point at the newest ballot."""
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    voted = cast_in_reverse_roll_order(votes, vote, 2)
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(votes["head_a"])
    url = reverse("participation:vote_roll", args=[vote.pk])
    page = staff.get(url).content.decode()
    assert "2 people on the list have voted so far." in page
    assert "by proxy" not in page and ">yes<" not in page
    assert '<th scope="col">Voted</th>' not in page
    votes.close(vote)
    page = staff.get(url).content.decode()
    assert '<th scope="col">Voted</th>' in page
    assert page.count(">yes<") == len(voted)
    assert "voted so far" not in page


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A command as anyone would run it: a fresh process outside the test's settings."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "HOME": str(cwd),
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("SHEQU_")})
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_the_published_verifier_commands_check_an_exported_board(votes: Votes, tmp_path: Path) -> None:
    """``shequ verify-board`` and ``python -m shequ.participation.crypto.verifier`` (which needs no
    database) on a board saved as the public page offers it: exit 0 and VERIFIED with a voter's
    tracker, exit 1 and "missing" with a tracker that is not on the board."""
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    mine = votes.cast(vote, votes.adults[0], [1, 0, 0])
    votes.cast(vote, votes.adults[1], [0, 1, 0])
    vote = votes.close(vote)
    board = tmp_path / "board.json"
    board.write_text(json.dumps(board_export(vote)))
    bogus = "0" * 64
    shequ = str(Path(sys.executable).with_name("shequ"))
    module = [sys.executable, "-m", "shequ.participation.crypto.verifier", str(board)]
    for command in ([shequ, "verify-board", str(board)], module):
        good = run([*command, "--tracker", mine.tracker], tmp_path)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "VERIFIED" in good.stdout and "NOT VERIFIED" not in good.stdout + good.stderr
        bad = run([*command, "--tracker", mine.tracker, "--tracker", bogus], tmp_path)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "missing" in bad.stdout + bad.stderr
        assert "NOT VERIFIED" in bad.stdout + bad.stderr
