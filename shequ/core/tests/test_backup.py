"""``shequ backup``, ``shequ restore`` and ``shequ backup verify`` (issue 8): private files, a
manifest that describes the copy without holding a key, refusals that change nothing, a verify
that fails clearly on an altered audit chain, and a restore that ``shequ audit verify`` tells
apart from a truncation. Runs on the configured database (SQLite, or PostgreSQL in CI's second run).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from shequ.core import accounts, audit, dbtriggers
from shequ.core import backup as backups
from shequ.core.backup import manifest as mf
from shequ.core.models import AuditCheckpoint, AuditEntry, User
from shequ.core.tests.fakes import worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def add_users(prefix: str, n: int) -> None:
    for i in range(n):
        accounts.user_create(
            actor=None, username=f"{prefix}{i}", display_name=prefix, password=None, phone=f"139{i:08d}"
        )


def checkpointed() -> int:
    """Seal what is written and sign a checkpoint (witnessed); returns the head."""
    audit.seal_all()
    audit.checkpoint(force=True)
    return audit.head()[0]


def take(tmp_path: Path, name: str = "b") -> tuple[Path, mf.Manifest]:
    ext = backups.EXTENSIONS[connection.vendor]
    return backups.create(tmp_path / f"{name}.{ext}")


def witness_text() -> str:
    path = audit.witness_path()
    return path.read_text() if path.exists() else ""


def verify_report(file: Path) -> tuple[bool, str]:
    out = StringIO()
    ok = backups.verify(file, out)
    return ok, out.getvalue()


def test_a_backup_is_private_and_its_manifest_describes_the_copy_without_keys(tmp_path: Path) -> None:
    add_users("a", 3)
    head = checkpointed()
    with override_settings(VAR_DIR=tmp_path / "var"):
        out = StringIO()
        call_command("backup", stdout=out)
    folder = tmp_path / "var" / "backups"
    files = sorted(folder.iterdir())
    assert [f.name.endswith(mf.SUFFIX) for f in files] == [False, True], files
    file, manifest_file = files
    assert str(file) in out.getvalue()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    manifest = mf.Manifest.load(manifest_file)
    assert manifest.engine == connection.vendor and manifest.file == file.name
    assert manifest.sha256 == mf.sha256_of(file) and manifest.size == file.stat().st_size
    with connection.cursor() as cursor:
        assert manifest.counts == mf.facts(cursor, connection.vendor)["counts"]
    assert manifest.counts["core_user"] == 3
    assert (manifest.audit["head_seq"], manifest.audit["head_hash"]) == audit.head()
    assert manifest.audit["head_seq"] == head == 3
    assert manifest.migrations["core"].startswith("00")
    assert set(manifest.keys["field_keys"]) == set(settings.FIELD_KEYS)
    assert manifest.keys["audit_key"] == audit.key_id()
    text, data = manifest_file.read_text(), file.read_bytes()
    for secret in [*settings.FIELD_KEYS.values(), settings.INDEX_KEY, settings.AUDIT_CHECKPOINT_KEY]:
        assert secret not in text and secret.encode() not in data and bytes.fromhex(secret) not in data
    assert "13900000000" not in text and b"13900000000" not in data


def test_a_backup_refuses_the_key_folder_and_never_overwrites(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with override_settings(KEY_DIR=keys), pytest.raises(CommandError, match="key folder"):
        call_command("backup", "--out", str(keys / "nested" / "b.bak"))
    assert not keys.exists()
    keys.mkdir()
    with override_settings(KEY_DIR=keys), pytest.raises(CommandError, match="key folder"):
        call_command("backup", "--out", str(keys))
    assert list(keys.iterdir()) == []
    file, _manifest = take(tmp_path)
    before = file.read_bytes()
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "--out", str(file))
    assert file.read_bytes() == before
    # A folder gets the default name.
    folder = tmp_path / "nightly"
    folder.mkdir()
    call_command("backup", "--out", str(folder), stdout=StringIO())
    assert len([f for f in folder.iterdir() if f.name.startswith("shequ-")]) == 2


def test_restore_without_yes_says_what_it_would_replace_and_changes_nothing(tmp_path: Path) -> None:
    add_users("a", 2)
    checkpointed()
    file, _manifest = take(tmp_path)
    add_users("later", 1)
    witness = witness_text()
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(file))
    message = str(refused.value)
    assert "replaces everything" in message and "--yes" in message and str(file) in message
    assert "Nothing was changed" in message
    assert User.objects.filter(username="later0").exists()
    assert witness_text() == witness


def test_restore_and_verify_refuse_a_damaged_backup_and_change_nothing(tmp_path: Path) -> None:
    add_users("a", 2)
    checkpointed()
    file, manifest = take(tmp_path)
    add_users("later", 1)
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    witness = witness_text()
    with pytest.raises(CommandError, match=f"does not match its manifest: SHA-256 .* says {manifest.sha256}"):
        call_command("restore", str(file), "--yes")
    with pytest.raises(CommandError, match="does not match its manifest"):
        call_command("backup", "verify", str(file))
    assert User.objects.filter(username="later0").exists()
    assert witness_text() == witness
    mf.manifest_path(file).unlink()
    with pytest.raises(CommandError, match="no manifest at"):
        call_command("restore", str(file), "--yes")


def test_verify_passes_a_good_backup_and_counts_the_newer_witness(tmp_path: Path) -> None:
    add_users("a", 3)
    checkpointed()
    file, _manifest = take(tmp_path)
    add_users("later", 2)
    checkpointed()
    ok, report = verify_report(file)
    assert ok, report
    for check in ("row counts", "migrations", "audit chain", "keys", "decrypt sample", "grid"):
        assert f"PASS  {check}" in report, report
    assert "the witness holds 2 entries beyond this copy (up to entry 5)" in report, report
    assert "backup verified: all" in report
    assert "13900000000" not in report


def test_verify_fails_clearly_on_a_backup_whose_audit_chain_was_altered(tmp_path: Path) -> None:
    add_users("a", 3)
    checkpointed()
    dbtriggers.drop(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET reason = %s WHERE seq = 2", ["edited"])
    dbtriggers.install(connection)
    file, _manifest = take(tmp_path)
    ok, report = verify_report(file)
    assert not ok
    assert "FAIL  audit chain" in report and "entry 2: content was changed after it was written" in report
    assert "checks failed: audit chain" in report, report
    with pytest.raises(CommandError, match="backup NOT verified"):
        call_command("backup", "verify", str(file), stdout=StringIO())


def test_verify_fails_when_the_manifest_counts_differ(tmp_path: Path) -> None:
    add_users("a", 2)
    file, manifest = take(tmp_path)
    manifest.counts["core_user"] = 5  # the manifest is not covered by the file's SHA-256
    mf.write_private(mf.manifest_path(file), manifest.to_json())
    ok, report = verify_report(file)
    assert not ok and "FAIL  row counts" in report and "core_user: 2 rows, the manifest says 5" in report


def test_verify_of_a_sqlite_file_altered_below_its_manifest(tmp_path: Path) -> None:
    """Someone edits the copy itself and writes a matching SHA-256: the chain still gives it away."""
    if connection.vendor != "sqlite":
        pytest.skip("edits a SQLite backup file")
    add_users("a", 3)
    checkpointed()
    file, manifest = take(tmp_path)
    con = sqlite3.connect(file)
    con.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
    con.execute("UPDATE core_auditentry SET actor_name = 'someone else' WHERE seq = 1")
    con.commit()
    con.close()
    manifest.sha256 = mf.sha256_of(file)
    mf.write_private(mf.manifest_path(file), manifest.to_json())
    ok, report = verify_report(file)
    assert not ok and "entry 1: content was changed after it was written" in report, report


def test_restore_brings_the_backup_back_and_audit_verify_names_the_restore(tmp_path: Path) -> None:
    add_users("a", 3)
    restored_head = checkpointed()
    file, manifest = take(tmp_path)
    add_users("later", 4)
    newest = checkpointed()
    assert newest > restored_head
    out = StringIO()
    call_command("restore", str(file), "--yes", stdout=out)
    assert f"audit log up to entry {restored_head}" in out.getvalue()
    assert sorted(User.objects.values_list("username", flat=True)) == ["a0", "a1", "a2"]
    assert User.objects.get(username="a1").phone == "13900000001"
    # The restore is in the witness (signed) and in the audit log itself.
    record = json.loads(witness_text().splitlines()[-1])
    assert (record["type"], record["seq"], record["backup"]) == ("restore", restored_head, manifest.sha256)
    entry = AuditEntry.objects.get(action="backup.restore", seq__isnull=True)
    assert entry.detail["sha256"] == manifest.sha256 and entry.detail["seq"] == restored_head
    verified = StringIO()
    call_command("audit", "verify", stdout=verified)
    report = verified.getvalue()
    assert f"to entry {restored_head}; 1 earlier witnessed checkpoint(s) up to entry {newest}" in report
    assert "superseded by the restore, not tampering" in report and "audit chain intact" in report
    # Life goes on: new entries and checkpoints after the restore verify too.
    add_users("after", 2)
    checkpointed()
    result = audit.verify()
    assert result.ok and result.restores == 1, result.problems
    assert result.witnessed_seq == audit.head()[0]


def test_a_backup_taken_between_a_seal_and_its_checkpoint_restores_to_a_verified_log(tmp_path: Path) -> None:
    """The sealer commits a seal and its checkpoint apart: a copy taken in between holds entries
    up to N without checkpoint N, which the witness receives a moment later. The restore puts the
    witnessed checkpoint back (signed, and matching the restored chain), so ``audit verify`` passes
    instead of reporting a deleted checkpoint."""
    add_users("a", 3)
    checkpointed()
    add_users("b", 2)
    audit.seal_all()  # sealed, not yet checkpointed: the window
    sealed = audit.head()[0]
    file, _manifest = take(tmp_path)
    audit.checkpoint(force=True)  # the sealer's checkpoint, after the copy
    add_users("later", 2)
    checkpointed()
    call_command("restore", str(file), "--yes", stdout=StringIO())
    assert audit.head()[0] == sealed
    entry = AuditEntry.objects.get(action="backup.restore", seq__isnull=True)
    assert entry.detail["checkpoints_reinstated"] == [sealed]
    result = audit.verify()
    assert result.ok, result.problems
    # The reinstated checkpoint's frontier is right: the next checkpoint extends it.
    add_users("after", 2)
    checkpointed()
    assert audit.verify().ok


def test_checkpoints_deleted_from_a_copy_are_not_reinstated(tmp_path: Path) -> None:
    """Only the checkpoint at the copy's head, signed after the copy was taken, is put back: the
    copy's own checkpoints deleted from it (the newest, one in the middle) mean the copy was
    changed, and ``audit verify`` still says so after the restore."""
    add_users("a", 3)
    first = checkpointed()
    add_users("b", 2)
    last = checkpointed()
    dbtriggers.drop(connection)
    AuditCheckpoint.objects.filter(seq__in=[first, last]).delete()
    dbtriggers.install(connection)
    changed_copy, _m = take(tmp_path, "changed")
    call_command("restore", str(changed_copy), "--yes", stdout=StringIO())
    entry = AuditEntry.objects.get(action="backup.restore", seq__isnull=True)
    assert entry.detail["checkpoints_reinstated"] == []
    problems = audit.verify().problems
    for seq in (first, last):
        assert any(f"checkpoint {seq} is missing from the database (deleted)" in p for p in problems), (
            problems
        )


def test_a_restore_without_its_witness_record_is_still_a_truncation(tmp_path: Path) -> None:
    """The same database state as a restore, reached by the engine's own tool (or by an attacker
    deleting the newest entries): no signed restore record, so ``audit verify`` reports tampering."""
    add_users("a", 3)
    checkpointed()
    file, _manifest = take(tmp_path)
    add_users("later", 4)
    newest = checkpointed()
    connection.close()
    if connection.vendor == "sqlite":
        backups.engines.sqlite_restore(file, Path(str(connection.settings_dict["NAME"])))
    else:
        backups.engines.pg_restore(file)
    connection.close()
    with pytest.raises(CommandError, match="audit chain broken"):
        call_command("audit", "verify", stdout=StringIO(), stderr=StringIO())
    problems = audit.verify().problems
    assert any(f"covers {newest}: the newest entries were deleted (truncation)" in p for p in problems)
    assert any(f"checkpoint {newest} is missing from the database (deleted)" in p for p in problems)


def test_a_forged_restore_record_does_not_excuse_a_truncation(tmp_path: Path) -> None:
    add_users("a", 3)
    kept = checkpointed()
    file, _manifest = take(tmp_path)
    add_users("later", 2)
    checkpointed()
    call_command("restore", str(file), "--yes", stdout=StringIO())
    lines = audit.witness_path().read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["seq"] = kept - 1  # claims the chain was restored to an earlier entry
    audit.witness_path().write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    problems = audit.verify().problems
    assert any("restore record's signature does not match" in p for p in problems), problems
    assert any("the newest entries were deleted (truncation)" in p for p in problems), problems


def test_verify_names_the_key_ids_it_is_missing(tmp_path: Path) -> None:
    """Verified where only another key is configured: the ciphertext under the backup's key is
    counted by key id, and the keys check says which key of the backup is not configured."""
    add_users("a", 3)
    file, _manifest = take(tmp_path)
    other = {"k9": "00112233445566778899aabbccddeeff"}
    env = worker_env(SHEQU_FIELD_KEYS=json.dumps(other), SHEQU_FIELD_KEY_CURRENT="k9")
    done = subprocess.run(
        [sys.executable, "-m", "shequ.cli", "backup", "verify", str(file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    current = settings.FIELD_KEY_CURRENT
    assert f"core.User.phone: 3 values under key {current}, which is not configured" in output, output
    assert f"field key {current} was configured at backup time and is not now" in output
    assert "13900000000" not in output


def test_restore_refuses_a_backup_of_the_other_engine(tmp_path: Path) -> None:
    file, manifest = take(tmp_path)
    manifest.engine = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    mf.write_private(mf.manifest_path(file), manifest.to_json())
    with pytest.raises(CommandError, match=f"is a {manifest.engine} backup and the configured database"):
        call_command("restore", str(file), "--yes")


@pytest.mark.django_db(transaction=False)
def test_pg_tools_are_found_and_checked_against_the_server_version() -> None:
    with pytest.raises(backups.BackupError, match="pg_nothing was not found on PATH"):
        backups.engines.pg_tool("pg_nothing", 15)
    if backups.engines.shutil.which("pg_dump") is None:
        pytest.skip("no pg_dump here")
    path, line = backups.engines.pg_tool("pg_dump", 1)
    assert "PostgreSQL" in line and Path(path).name == "pg_dump"
    with pytest.raises(backups.BackupError, match="older than the PostgreSQL 999 server: install"):
        backups.engines.pg_tool("pg_dump", 999)


def test_a_sqlite_restore_refuses_while_another_process_holds_the_database(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite: PostgreSQL's own locks order a restore after running transactions")
    add_users("a", 1)
    file, _manifest = take(tmp_path)
    add_users("later", 1)
    db = str(connection.settings_dict["NAME"])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sqlite3, sys; c = sqlite3.connect({db!r}); c.execute('SELECT 1');"
            " print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(
            CommandError, match=f"is open in process\\(es\\) {holder.pid}: stop the web server"
        ):
            call_command("restore", str(file), "--yes")
        assert User.objects.filter(username="later0").exists()
    finally:
        holder.communicate("")
    call_command("restore", str(file), "--yes", stdout=StringIO())
    assert not User.objects.filter(username="later0").exists()
