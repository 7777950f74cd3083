"""What the database itself could tell about who cast which ballot (PostgreSQL's row stamps), the
board's append-only triggers, and the published verifier run as a command on an exported board."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from shequ.core import outbox
from shequ.core.models import OutboxStatus, OutboxTask
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


def raw_pages(table: str) -> list[bytes]:
    """Every page of ``table`` byte for byte, free space included (where a VACUUM leaves the
    bytes of the row versions it removed)."""
    pages = rows(f"SELECT pg_relation_size('{table}') / current_setting('block_size')::int", [])[0][0]
    return [bytes(rows(f"SELECT get_raw_page('{table}', %s)", [n])[0][0]) for n in range(pages)]


@pytest.mark.postgres
@pytest.mark.alone
@pytest.mark.django_db(transaction=True)
def test_no_row_stamp_and_no_page_byte_joins_a_voter_to_a_ballot(votes: Votes) -> None:
    """PostgreSQL stamps every row version with the id of the transaction that wrote it (``xmin``,
    a number that only grows) and keeps removed versions' bytes in the page until overwritten. No
    roll line is written while the vote is open (who has voted is read from the ballots), closing
    marks the lines all at once, and the closing job rewrites the votes' table so that the erased
    credential key — with which the board's credentials would name their voters — is in no page."""
    if connection.vendor != "postgresql":
        pytest.skip("xmin and pages are PostgreSQL's (CI runs this test on PostgreSQL)")
    try:
        with transaction.atomic():
            rows("CREATE EXTENSION IF NOT EXISTS pageinspect", [])
    except DatabaseError:
        if os.environ.get("CI"):
            raise
        pytest.skip("pageinspect needs a superuser (CI's database has one)")
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    before = {x for (x,) in rows(f"SELECT xmin::text FROM {ROLL} WHERE vote_id = %s", [vote.pk])}
    voted = cast_in_reverse_roll_order(votes, vote, 4)
    ballots = {x for (x,) in rows(f"SELECT xmin::text FROM {BALLOTS} WHERE vote_id = %s", [vote.pk])}
    assert len(ballots) == 4
    # While the vote is open the roll is not written at all, yet who has voted is known.
    assert {x for (x,) in rows(f"SELECT xmin::text FROM {ROLL} WHERE vote_id = %s", [vote.pk])} == before
    assert svc.voted_lines(vote, voted) == {line.pk for line in voted} and svc.voted_count(vote) == 4
    stored_key = rows("SELECT credential_key FROM participation_vote WHERE id = %s", [vote.pk])[0][0]
    assert stored_key

    vote = votes.close(vote)
    assert set(vote.voters.filter(voted=True).values_list("pk", flat=True)) == {line.pk for line in voted}
    assert xmin_joins(vote) == []
    # The marks share one transaction, the closing one: nothing orders them in time.
    marks = {x for (x,) in rows(f"SELECT xmin::text FROM {ROLL} WHERE vote_id = %s AND voted", [vote.pk])}
    assert len(marks) == 1 and not marks & ballots
    # The closing job, outside any transaction. It rewrites the votes' table once no transaction
    # begun before the closing is left anywhere in the cluster (CI runs other tests beside this
    # one, in their own transactions): until then it refuses, and the outbox tries again.
    from shequ.participation.services.votes.counting import key_versions_removable

    deadline = time.monotonic() + 120
    while not key_versions_removable([vote]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert key_versions_removable([vote]), "a transaction older than the closing ran for two minutes"
    outbox.run_pending()
    assert (
        not OutboxTask.objects.filter(handler__endswith="forget_the_order_of_voting")
        .exclude(status=OutboxStatus.DONE)
        .exists()
    )
    # No version of a roll line, live or removed, carries a transaction id from the voting period.
    stamps = set()
    for page in raw_pages(ROLL):
        lower, upper = struct.unpack_from("<HH", page, 12)
        stamps |= {struct.unpack_from("<I", page, at)[0] for at in range(upper, len(page) - 4, 4)}
        stamps |= {struct.unpack_from("<I", page, at)[0] for at in range(lower, upper - 4)}
    assert not {int(x) for x in ballots} & stamps
    # The erased credential key is in no page of the votes' table.
    assert rows("SELECT credential_key FROM participation_vote WHERE id = %s", [vote.pk])[0][0] == ""
    assert not any(stored_key.encode() in page for page in raw_pages("participation_vote"))
    assert verify(board_export(vote)).ok
    with pytest.raises(DatabaseError, match="append-only"):
        rows(f"TRUNCATE {BOARD} CASCADE", [])


@pytest.mark.postgres
@pytest.mark.alone
@pytest.mark.django_db(transaction=True)
def test_the_key_is_not_vacuumed_away_while_an_older_transaction_runs(votes: Votes) -> None:
    """VACUUM FULL keeps a version that a transaction begun before the closing could still see: a
    long pg_dump would leave the erased key in the new files. The closing job refuses until that
    transaction ends (the outbox tries again), then rewrites the table."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's transaction horizon (CI runs this test on PostgreSQL)")
    import psycopg

    from shequ.participation.services.votes.counting import OlderTransactionsRunning, key_versions_removable

    settings_dict = connection.settings_dict
    older = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
    )
    try:
        older.execute("SELECT txid_current()")  # a transaction with an id, begun before the closing
        vote = votes.close(svc.vote_open(actor=votes["head_a"], vote=votes.poll()))
        assert not key_versions_removable([vote])
        with pytest.raises(OlderTransactionsRunning):
            svc.vacuum_vote_tables([vote])
    finally:
        older.rollback()
        older.close()
    deadline = time.monotonic() + 60
    while not key_versions_removable([vote]) and time.monotonic() < deadline:
        time.sleep(0.5)
    svc.vacuum_vote_tables([vote])


def test_the_roll_is_marked_at_closing_from_the_counted_ballots(votes: Votes) -> None:
    """While the vote is open nobody's line is marked; closing marks those with a counted ballot
    (by proxy where the line entrusted someone), so the roll's count of voters matches the board's
    count of ballots, which the verifier checks."""
    vote = svc.vote_open(actor=votes["head_a"], vote=votes.poll())
    lines = cast_in_reverse_roll_order(votes, vote, 3)
    assert not vote.voters.filter(voted=True).exists()
    assert svc.voted_count(vote) == 3
    vote = votes.close(vote)
    assert set(vote.voters.filter(voted=True).values_list("pk", flat=True)) == {line.pk for line in lines}
    assert not vote.voters.filter(by_proxy=True).exists()
    report = verify(board_export(vote))
    assert report.ok, report.problems
    assert report.counted == 3


def test_a_proxy_cannot_be_recorded_for_a_voter_whose_ballot_is_in(votes: Votes) -> None:
    """The roll is not marked while the vote is open: the entrustment's check reads the ballots,
    so a holder's ballot can never replace one the voter cast themselves."""
    vote = votes.poll()
    vote.allow_proxy = True
    vote.save(update_fields=["allow_proxy"])
    vote = svc.vote_open(actor=votes["head_a"], vote=vote)
    a, b = list(vote.voters.filter(removed_at__isnull=True, person__isnull=False).order_by("pk")[:2])
    svc.ballot_cast(voter=a, ballot=votes.ballot(vote, a, [1, 0, 0]))
    with pytest.raises(svc.VoteError, match="already voted"):
        svc.proxy_record(actor=votes["head_a"], voter=a, holder=b, relation="neighbour", document="W-1")


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
    # Writing a row again as it is stays possible.
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
