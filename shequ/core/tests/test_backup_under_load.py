"""A backup taken under concurrent writes restores to the same verified state (issue 8).

Two writer processes keep creating accounts — each one transaction of two rows that belong together,
the user with its SM4-encrypted phone and its audit entry — while a worker seals the audit log and
signs checkpoints into the witness, and ``shequ backup`` runs. The copy passes ``shequ backup
verify``; ``shequ restore`` brings back exactly the manifest's rows, every account with its audit
entry and no entry without its account; ``shequ audit verify`` names the restore, not a truncation.
Real processes, the real database (SQLite here, PostgreSQL in the second CI run).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Max

from shequ.core import audit
from shequ.core.backup import manifest as mf
from shequ.core.models import AuditCheckpoint, AuditEntry, User
from shequ.core.tests.fakes import start_worker, worker_env

WRITERS = ("alpha", "beta")
WAIT_SECONDS = 300  # a guard against a hung process, not a measurement


def shequ(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shequ.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )


def wait_for(
    condition: Callable[[], bool], what: str, logs: list[tuple[subprocess.Popen[bytes], Path]]
) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        for process, log in logs:
            assert process.poll() is None, f"{log.name} ended early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def newest_checkpoint() -> int:
    return AuditCheckpoint.objects.aggregate(seq=Max("seq"))["seq"] or 0


def back_up_under_load_and_restore(tmp_path: Path) -> None:
    env = worker_env(SHEQU_AUDIT_SEAL_SECONDS="0.05", SHEQU_AUDIT_CHECKPOINT_SECONDS="0.3")
    stop = tmp_path / "stop"
    file = tmp_path / f"under-load.{'sqlite3' if connection.vendor == 'sqlite' else 'pgdump'}"
    logs: list[tuple[subprocess.Popen[bytes], Path]] = []
    worker = start_worker(log=tmp_path / "worker.log", env=env)
    logs.append((worker, tmp_path / "worker.log"))
    for name in WRITERS:
        log = tmp_path / f"{name}.log"
        with log.open("ab") as out:
            writer = subprocess.Popen(
                [sys.executable, "-m", "shequ.core.tests.backup_writer", name, str(stop)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        logs.append((writer, log))
    try:
        wait_for(lambda: User.objects.count() >= 40 and newest_checkpoint() > 0, "the first writes", logs)
        before = User.objects.count()
        made = shequ("backup", "--out", str(file), env=env)
        assert made.returncode == 0, made.stderr
        after = User.objects.count()
        manifest = mf.Manifest.load(mf.manifest_path(file))
        # The copy was taken between the two counts, and the backup never held the writers up.
        assert before <= manifest.counts["core_user"] <= after and before < after
        wait_for(
            lambda: User.objects.count() >= after + 40 and newest_checkpoint() > manifest.audit["head_seq"],
            "writes and a checkpoint beyond the copy",
            logs,
        )
    finally:
        stop.touch()
        for process, _log in logs[1:]:
            process.wait(timeout=WAIT_SECONDS)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=WAIT_SECONDS)
    for process, log in logs:
        assert process.returncode == 0, log.read_text()
    assert User.objects.count() > manifest.counts["core_user"]

    verified = shequ("backup", "verify", str(file), env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "backup verified: all" in verified.stdout and "entries beyond this copy" in verified.stdout

    # SQLite: into a new database file, as on a new machine. (In place, the restore refuses while any
    # process has the file open, and this test process may hold connections of other threads.)
    target = tmp_path / "restored.sqlite3"
    if connection.vendor == "sqlite":
        env = env | {"SHEQU_DATABASE_URL": f"sqlite:///{target}"}
    connection.close()
    restored = shequ("restore", str(file), "--yes", env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    with database_file(target if connection.vendor == "sqlite" else None):
        check_restored(manifest, env)


@contextmanager
def database_file(path: Path | None) -> Iterator[None]:
    """Point this process's connection at another SQLite file for a while (None: stay)."""
    connection.close()
    if path is None:
        yield
        return
    kept = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = kept


def check_restored(manifest: mf.Manifest, env: dict[str, str]) -> None:
    # Exactly the manifest's rows (plus the restore's own audit entry).
    with connection.cursor() as cursor:
        counts = mf.facts(cursor, connection.vendor)["counts"]
    expected = dict(manifest.counts, core_auditentry=manifest.counts["core_auditentry"] + 1)
    assert counts == expected
    # Every transaction wholly in or wholly out: each account has its audit entry and vice versa,
    # and each phone opens with the configured key in its own row.
    users = {str(u.pk): (u.username, u.phone) for u in User.objects.all()}
    entries = set(AuditEntry.objects.filter(action="user.create").values_list("object_id", flat=True))
    assert set(users) == entries and len(users) == manifest.counts["core_user"]
    for username, phone in users.values():
        prefix, number = username.rsplit("-", 1)
        assert phone == f"13{sum(map(ord, prefix)) % 10}{int(number):08d}"

    checked = shequ("audit", "verify", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "superseded by the restore, not tampering" in checked.stdout
    assert audit.verify().restores == 1


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_backup_under_load_restores_to_the_same_verified_state(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite run")
    back_up_under_load_and_restore(tmp_path)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_postgres_backup_under_load_restores_to_the_same_verified_state(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set SHEQU_DATABASE_URL)")
    back_up_under_load_and_restore(tmp_path)
