"""Signed checkpoints and their witness (issue 7): every way of tampering with the audit log is
found and named by ``shequ audit verify`` without a hand-kept anchor; inclusion proofs; the
auditors' daily copy; a sealer killed mid-batch seals every entry exactly once."""

from __future__ import annotations

import json
import signal
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings

from shequ.conftest import World
from shequ.core import audit, dbtriggers, merkle
from shequ.core.models import AuditCheckpoint, AuditEntry, Message
from shequ.core.tests.fakes import start_worker


def write(n: int, action: str = "test.action") -> None:
    for i in range(n):
        audit.record(action, object_type="thing", object_id=i, reason=f"reason {i}")
    audit.seal_all()


def logged(n: int) -> AuditCheckpoint:
    """``n`` more sealed entries and a checkpoint covering them."""
    write(n)
    row = audit.checkpoint(force=True)
    assert row is not None
    return row


def raw(sql: str, params: list[str | int] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def problems() -> list[str]:
    return audit.verify().problems


def witness_lines() -> list[dict[str, object]]:
    return [json.loads(line) for line in audit.witness_path().read_text().splitlines()]


def rewrite_and_recompute(seq: int, reason: str) -> None:
    """What an attacker with the database and this code can do: change an entry and recompute
    every later hash with ``chain_hash`` so that the chain is consistent again."""
    dbtriggers.drop(connection)
    prev = AuditEntry.objects.get(seq=seq).prev_hash or audit.GENESIS
    for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        if entry.seq == seq:
            entry.reason = reason
        entry.prev_hash = prev
        entry.hash = prev = audit.chain_hash(prev, entry)
        raw(
            "UPDATE core_auditentry SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.reason, entry.prev_hash, entry.hash, entry.pk],
        )


@pytest.mark.django_db
def test_a_checkpoint_is_signed_witnessed_and_printed() -> None:
    row = logged(5)
    assert (row.seq, row.head_hash) == audit.head()
    cp = audit.Checkpoint.of(row)
    assert audit.signature_ok(cp) and cp.key_id == audit.key_id()
    assert witness_lines() == [json.loads(cp.to_json())]
    assert audit.witness_path().stat().st_mode & 0o777 == 0o600
    assert audit.witness_path().parent.stat().st_mode & 0o777 == 0o700
    out = StringIO()
    call_command("audit", "checkpoint", stdout=out)
    assert f"entries 5\nhead {row.head_hash}\nroot {row.root}" in out.getvalue()
    # Nothing new: no second checkpoint; grown but too soon: none either; forced or due: one.
    assert audit.checkpoint(force=True) is None
    write(2)
    assert audit.checkpoint() is None
    with override_settings(AUDIT_CHECKPOINT_SECONDS=0):
        assert audit.checkpoint() is not None
    assert [line["seq"] for line in witness_lines()] == [5, 7]
    result = audit.verify()
    assert result.ok and (result.checkpoints, result.witnessed_seq) == (2, 7), result.problems


@pytest.mark.django_db
def test_the_checkpoints_root_is_rfc6962s_merkle_root_of_the_entries() -> None:
    row = logged(3)
    row2 = logged(4)  # the second extends the first's frontier without reading old entries
    hashes = [
        bytes.fromhex(h or "") for h in AuditEntry.objects.order_by("seq").values_list("hash", flat=True)
    ]

    def mth(leaves: list[bytes]) -> bytes:  # RFC 6962 §2.1, written out recursively
        if len(leaves) == 1:
            return merkle.leaf_hash(leaves[0])
        k = 1 << ((len(leaves) - 1).bit_length() - 1)
        return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))

    assert row.root == mth(hashes[:3]).hex() and row2.root == mth(hashes).hex()


@pytest.mark.django_db
def test_changed_entry_is_named() -> None:
    logged(5)
    dbtriggers.drop(connection)
    raw("UPDATE core_auditentry SET reason = 'nothing happened' WHERE seq = 3")
    assert problems() == ["entry 3: content was changed after it was written"]


@pytest.mark.django_db
def test_deleted_middle_entry_is_named() -> None:
    logged(5)
    dbtriggers.drop(connection)
    raw("DELETE FROM core_auditentry WHERE seq = 2")
    found = problems()
    assert "entries 2..2 are missing (deleted)" in found
    assert "entry 3: previous hash does not match the chain" in found


@pytest.mark.django_db
def test_deleted_newest_entries_are_named_without_an_anchor() -> None:
    logged(5)
    dbtriggers.drop(connection)
    raw("DELETE FROM core_auditentry WHERE seq >= 4")
    found = problems()
    assert any(
        p.startswith("the chain ends at entry 3 but checkpoint 5 (witness file")
        and p.endswith("(truncation)")
        for p in found
    ), found
    assert any(
        p.startswith("the chain ends at entry 3 but checkpoint 5 (checkpoint 5 in the database)")
        for p in found
    )
    with pytest.raises(CommandError, match="audit chain broken"):
        call_command("audit", "verify", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_rewrite_and_recompute_is_named() -> None:
    logged(6)
    rewrite_and_recompute(2, "nothing happened")
    assert audit.verify(anchor=None).problems[0].startswith("entry 6: differs from witness file")
    found = problems()
    assert all("was rewritten" in p for p in found) and len(found) == 2, found  # witness and database


@pytest.mark.django_db
def test_rewrite_and_recompute_with_the_checkpoints_deleted_is_named_by_the_witness() -> None:
    logged(4)
    logged(2)
    rewrite_and_recompute(1, "nothing happened")
    raw("DELETE FROM core_auditcheckpoint")
    found = problems()
    assert any("checkpoint 4 is missing from the database (deleted)" in p for p in found)
    assert any(p.startswith("entry 4: differs from witness file") for p in found)
    assert any(p.startswith("entry 6: differs from witness file") for p in found)


@pytest.mark.django_db
def test_a_forged_database_checkpoint_is_named() -> None:
    logged(4)
    rewrite_and_recompute(1, "nothing happened")
    dbtriggers.drop(connection)
    new_head = AuditEntry.objects.get(seq=4).hash or ""
    raw("UPDATE core_auditcheckpoint SET head_hash = %s", [new_head])  # the signature needs the key
    found = problems()
    assert (
        "checkpoint 4 in the database: the signature does not match (the checkpoint was edited or forged)"
        in found
    )


@pytest.mark.django_db
def test_an_edited_witness_file_is_named() -> None:
    logged(3)
    logged(2)
    path = audit.witness_path()
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace('"seq":3', '"seq":2')
    path.write_text("\n".join([*lines, "garbage"]) + "\n")
    found = problems()
    assert (
        f"witness file {path} line 1: the signature does not match (the checkpoint was edited or forged)"
        in found
    )
    assert f"witness file {path} line 3: not a checkpoint (the file was edited)" in found


@pytest.mark.django_db
def test_a_removed_witness_file_is_named() -> None:
    logged(3)
    audit.witness_path().unlink()
    assert problems() == [
        f"no witness file at {audit.witness_path()} although the database holds 1 checkpoints:"
        " the witness was removed, or SHEQU_AUDIT_WITNESS_DIR points elsewhere"
    ]


@pytest.mark.django_db
def test_a_checkpoint_signed_with_another_key_is_named() -> None:
    logged(3)
    with override_settings(AUDIT_CHECKPOINT_KEY="ab" * 32):
        found = problems()
    assert any("which is not configured; cannot be checked" in p for p in found), found


@pytest.mark.django_db
def test_no_checkpoint_is_signed_over_a_rewritten_chain() -> None:
    logged(3)
    write(2)
    rewrite_and_recompute(2, "nothing happened")
    with pytest.raises(audit.CheckpointRefused, match="the chain was rewritten"):
        audit.checkpoint(force=True)
    with pytest.raises(CommandError, match="no checkpoint signed"):
        call_command("audit", "checkpoint", "--new", stdout=StringIO())
    assert AuditCheckpoint.objects.count() == 1 and len(witness_lines()) == 1


@pytest.mark.django_db
def test_sealing_changes_no_content_and_seals_once() -> None:
    entry = audit.record("t.one")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(
            seq=1, prev_hash="0" * 64, hash="1" * 64, reason="edited"
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="edited before the seal")
    audit.seal_all()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(seq=2, hash="2" * 64)
    row = audit.checkpoint(force=True)
    assert row is not None
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=row.pk).update(head_hash="0" * 64)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=row.pk).delete()
    assert audit.verify().ok


@pytest.mark.django_db
def test_inclusion_proofs() -> None:
    logged(11)  # an odd size, so the tree is not perfect
    for seq in range(1, 12):
        proof = audit.inclusion_proof(seq)
        assert proof.checkpoint.seq == 11 and proof.verify()
        assert len(proof.path) <= 4
    forged = audit.InclusionProof(
        3, "00" * 32, audit.inclusion_proof(3).checkpoint, audit.inclusion_proof(3).path
    )
    assert not forged.verify()
    out = StringIO()
    call_command("audit", "prove", "7", stdout=out)
    assert "is leaf 6 of the 11 entries" in out.getvalue() and "inclusion proof verified" in out.getvalue()
    write(1)
    with pytest.raises(CommandError, match="no checkpoint covers entry 12 yet"):
        call_command("audit", "prove", "12", stdout=StringIO())


@pytest.mark.django_db
def test_the_auditors_get_the_newest_checkpoint(world: World) -> None:
    assert audit.send_checkpoint_to_auditors() == 0  # nothing to send yet
    row = logged(3)
    assert audit.send_checkpoint_to_auditors() == 1
    message = Message.objects.get(topic="audit.checkpoint")
    assert message.recipient == world["auditor"]
    assert row.head_hash in message.body and row.signature in message.body
    assert message.subject == f"审计日志检查点：{row.seq} 条记录"


@pytest.mark.django_db(transaction=True)
def test_a_sealer_killed_mid_batch_seals_every_entry_exactly_once(tmp_path: Path) -> None:
    with transaction.atomic():
        for i in range(2500):
            audit.record("t.bulk", object_id=i)
    signal_file = tmp_path / "inside-seal"
    log = tmp_path / "sealer.log"
    from shequ.core.tests.fakes import worker_env

    env = worker_env(SHEQU_AUDIT_PROBE_SIGNAL=str(signal_file))
    victim = start_worker("--import", "shequ.core.tests.audit_probe", log=log, env=env)
    try:
        deadline = time.monotonic() + 120
        while not signal_file.exists():
            assert victim.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
    finally:
        if victim.poll() is None:
            victim.kill()
    # Killed with 1,000 rows of its batch updated and nothing committed: nothing is sealed.
    assert AuditEntry.objects.filter(seq__isnull=False).count() == 0
    # A new worker seals them all, once each, in one chain.
    survivor = start_worker("--drain", log=tmp_path / "second.log")
    assert survivor.wait(timeout=120) == 0, (tmp_path / "second.log").read_text()
    assert sorted(s or 0 for s in AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 2501))
    assert audit.verify().ok


@pytest.mark.django_db
def test_the_audit_page_shows_the_newest_checkpoint(world: World, client: Client) -> None:
    client.force_login(world["auditor"])
    assert "最新签名检查点" not in client.get("/admin/audit/").content.decode()
    row = logged(2)
    page = client.get("/admin/audit/").content.decode()
    snippet = page[page.find("最新签名检查点") - 40 : page.find("最新签名检查点") + 400]
    assert f"最新签名检查点：{row.seq} 条记录" in page and row.head_hash[:16] in page, snippet
