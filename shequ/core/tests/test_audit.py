"""The audit log (security requirement 12): append-only in the database, sealed into an SM3 hash
chain after commit, and ``shequ audit verify`` finds a changed or deleted row. Checkpoints, the
witness and the sealer are in test_audit_checkpoints.py; the no-lock guarantee on PostgreSQL in
test_audit_concurrency.py."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings

from shequ.core import audit, dbtriggers
from shequ.core.models import AuditEntry, AuditResult


def write(n: int = 3) -> list[AuditEntry]:
    """``n`` entries, sealed into the chain (as the worker's sealer does within a second)."""
    ids = [
        audit.record("test.action", object_type="thing", object_id=i, reason=f"reason {i}").pk
        for i in range(n)
    ]
    audit.seal_all()
    return list(AuditEntry.objects.filter(pk__in=ids).order_by("seq"))


def verify_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("audit", "verify", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def raw(sql: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_entries_form_a_chain_that_verifies() -> None:
    entries = write(4)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    result = audit.verify()
    assert result.ok and result.checked == 4 and result.head_hash == entries[-1].hash
    out, _ = verify_command()
    assert "audit chain intact: 4 entries" in out


@pytest.mark.django_db
def test_the_database_refuses_update_and_delete() -> None:
    entry = write(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="covered up")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("UPDATE core_auditentry SET reason = %s WHERE id = %s", ["covered up", entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).reason == "reason 0"


@pytest.mark.django_db
def test_postgresql_refuses_update_delete_and_truncate_by_trigger() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with SHEQU_DATABASE_URL=postgres://…")
    entry = write(1)[0]
    for sql in (
        "UPDATE core_auditentry SET reason = 'x'",
        "DELETE FROM core_auditentry",
        "TRUNCATE core_auditentry",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(sql, [])
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_auditentry'::regclass")
        names = {row[0] for row in cursor.fetchall()}
    assert {"core_auditentry_no_update", "core_auditentry_no_delete", "core_auditentry_no_truncate"} <= names
    assert AuditEntry.objects.get(pk=entry.pk).reason == "reason 0"


@pytest.mark.django_db
def test_verify_finds_a_changed_row() -> None:
    write(5)
    # An attacker with database access lifts the trigger (rolled back with the test's transaction).
    dbtriggers.drop(connection)
    raw("UPDATE core_auditentry SET reason = %s WHERE seq = %s", ["nothing happened", 3])
    result = audit.verify()
    assert result.problems == ["entry 3: content was changed after it was written"]
    with pytest.raises(CommandError, match="audit chain broken"):
        verify_command()


@pytest.mark.django_db
def test_verify_finds_a_row_changed_together_with_its_hash() -> None:
    entries = write(5)
    dbtriggers.drop(connection)
    forged = AuditEntry.objects.get(seq=2)
    forged.reason = "nothing happened"
    forged.hash = audit.chain_hash(forged.prev_hash or "", forged)  # recomputed to hide the change …
    raw("UPDATE core_auditentry SET reason = %s, hash = %s WHERE seq = 2", [forged.reason, forged.hash])
    assert forged.hash != entries[1].hash
    # … but the next entry still names the original hash.
    assert audit.verify().problems == ["entry 3: previous hash does not match the chain"]


@pytest.mark.django_db
def test_verify_finds_a_deleted_row() -> None:
    write(5)
    dbtriggers.drop(connection)
    raw("DELETE FROM core_auditentry WHERE seq = %s", [2])
    problems = audit.verify().problems
    assert "entries 2..2 are missing (deleted)" in problems
    assert "entry 3: previous hash does not match the chain" in problems
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=out, stderr=err)
    assert "missing (deleted)" in err.getvalue()


@pytest.mark.django_db
def test_deleting_the_newest_rows_is_caught_by_an_anchor_kept_elsewhere() -> None:
    write(4)
    out = StringIO()
    call_command("audit", "head", stdout=out)
    anchor = out.getvalue().strip()
    seq, digest = audit.head()
    assert anchor == f"{seq}:{digest}" and seq == 4
    verify_command("--anchor", anchor)  # intact
    dbtriggers.drop(connection)
    raw("DELETE FROM core_auditentry WHERE seq >= %s", [3])
    assert audit.verify().ok  # the chain alone cannot see a cut-off tail …
    problems = audit.verify(anchor=(seq, digest)).problems
    assert problems == [  # … the anchor can
        "the chain ends at entry 2 but the anchor kept outside the database covers 4:"
        " the newest entries were deleted (truncation)"
    ]
    with pytest.raises(CommandError):
        verify_command("--anchor", anchor)
    with pytest.raises(CommandError, match="--anchor must look like"):
        verify_command("--anchor", "four:abc")


@pytest.mark.django_db
def test_awkward_values_hash_the_same_after_a_database_round_trip() -> None:
    factory = RequestFactory()
    ipv6 = factory.get("/", REMOTE_ADDR="2001:0DB8:0000:0000:0000:0000:0000:0001")
    mapped = factory.get("/", REMOTE_ADDR="::ffff:192.0.2.1")
    junk = factory.get("/", REMOTE_ADDR="unknown")
    for request in (ipv6, mapped, junk):
        request.user = None  # type: ignore[assignment]
    audit.record("t.ipv6", request=ipv6)
    audit.record("t.mapped", request=mapped)
    audit.record("t.junk", request=junk)
    audit.record(
        "t.values",
        object_id="x" * 200,  # longer than the column: trimmed identically on both databases
        reason="nul\x00byte and 中文",
        fields=["phone"],
        detail={
            "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            "id": uuid.UUID(int=1),
            "n": 1.5,
            "nested": {"b": 1, "a": [1, "二"]},
        },
    )
    audit.seal_all()
    assert list(AuditEntry.objects.order_by("seq").values_list("ip", flat=True)) == [
        "2001:db8::1",
        "::ffff:192.0.2.1",
        None,
        None,
    ]
    stored = AuditEntry.objects.get(action="t.values")
    assert len(stored.object_id) == 64 and stored.reason == "nulbyte and 中文"
    result = audit.verify()
    assert result.ok, result.problems


@pytest.mark.django_db
def test_timestamps_verify_whatever_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    whole_second = datetime(2026, 3, 1, 12, 0, 0, 0, tzinfo=UTC)  # microsecond 0 must still print .000000
    monkeypatch.setattr(audit.timezone, "now", lambda: whole_second)
    audit.record("t.whole_second")
    monkeypatch.undo()
    with override_settings(TIME_ZONE="America/New_York"):
        audit.record("t.new_york")
        audit.seal_all()
        assert audit.verify().ok
    with override_settings(TIME_ZONE="Asia/Shanghai"):
        assert audit.verify().ok
    assert AuditEntry.objects.get(action="t.whole_second").at == whole_second
    assert audit._canonical_time(whole_second) == "2026-03-01T12:00:00.000000"


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        audit._canonical_time(datetime(2026, 1, 1))


@pytest.mark.django_db
def test_an_entry_rolls_back_with_its_change() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("t.rolled_back")
        raise RuntimeError("the change failed")
    audit.record("t.after")
    audit.seal_all()
    entry = AuditEntry.objects.get()  # the rolled-back entry left no row …
    assert entry.seq == 1 and entry.prev_hash == audit.GENESIS  # … no gap, no dangling link
    assert audit.verify().ok


@pytest.mark.django_db
def test_unknown_result_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit result"):
        audit.record("t.bad", result="maybe")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_keep_one_unbroken_chain() -> None:
    """Writers and two sealers in separate connections (threads): every entry is sealed exactly
    once, in one unbroken chain, whoever seals it."""
    errors: list[BaseException] = []
    start = threading.Barrier(6)
    writing = [True]

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with transaction.atomic():
                    audit.record("t.concurrent", object_id=f"{n}-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            start.wait()
            while writing[0]:
                audit.seal(limit=7)
                time.sleep(0.005)  # like the worker's sealer, not a busy loop (SQLite's lock is not fair)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for t in writers + sealers:
        t.start()
    for t in writers:
        t.join()
    writing[0] = False
    for t in sealers:
        t.join()
    assert errors == []
    audit.seal_all()
    assert sorted(s or 0 for s in AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 41))
    result = audit.verify()
    assert result.ok and result.checked == 40 and result.unsealed == 0, result.problems


@pytest.mark.django_db
def test_a_bulk_write_is_audited_once_per_batch() -> None:
    with (
        transaction.atomic(),
        audit.batch("t.import", object_type="thing", detail={"file": "a.xlsx"}, size=3) as b,
    ):
        for i in range(7):
            audit.record("t.row", object_id=i, region_code=f"43010400200{1 + i % 2}")
        audit.record("t.row", object_id="x", result=AuditResult.DENIED)  # refusals stay one by one
    parts = list(AuditEntry.objects.filter(action="t.import").order_by("id"))
    assert [p.detail["objects"] for p in parts] == [
        ["0", "1", "2"],
        ["3", "4", "5"],
        ["6"],
    ] and b.written == 3
    assert parts[0].detail["actions"] == {"t.row": 3} and parts[0].detail["file"] == "a.xlsx"
    assert parts[0].region_code == "430104002"  # the smallest region holding the batch's rows
    assert parts[2].region_code == "430104002001"
    assert AuditEntry.objects.filter(action="t.row").count() == 1  # only the refusal
    with pytest.raises(RuntimeError), transaction.atomic(), audit.batch("t.failed"):
        audit.record("t.row", object_id=1)
        raise RuntimeError("the import failed")
    assert not AuditEntry.objects.filter(action="t.failed").exists()
    audit.record("t.after")  # outside a batch: written as usual
    assert AuditEntry.objects.filter(action="t.after").exists()
