"""Start-up refuses, with a message that says which key and what to do, when the configured keys
do not open the stored data: in ``shequ serve``, ``shequ worker``, the WSGI entry and ``shequ
check-keys`` (real subprocesses on the test database, SQLite or PostgreSQL). Development keys: a
fresh database creates its keys; a key file deleted after data exists is never recreated."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from shequ.core.models import KeyCanary
from shequ.core.tests.fakes import worker_env

REPO = Path(settings.BASE_DIR)
pytestmark = pytest.mark.django_db(transaction=True)

OTHER = "3c" * 16
CREATE = (
    "import django\ndjango.setup()\nfrom shequ.core import accounts\n"
    "for i in range(3):\n"
    "    accounts.user_create(actor=None, username=f'd{i}', display_name='', password=None,"
    " phone=f'1390000000{i}')\n"
)
READ = (
    "import django\ndjango.setup()\nfrom shequ.core.models import User\n"
    "print(sorted(u.phone for u in User.objects.filter(username__startswith='d')))\n"
)
PHONES = str([f"1390000000{i}" for i in range(3)])


def run(env: dict[str, str], *args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "shequ.cli", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def refused(result: subprocess.CompletedProcess[str], *phrases: str) -> str:
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    for phrase in phrases:
        assert phrase in out, out
    return out


def assert_every_entry_refuses(env: dict[str, str], *phrases: str) -> None:
    refused(run(env, "check-keys"), *phrases)
    refused(run(env, "worker", "--once"), "Shequ refuses to start", *phrases)
    refused(run(env, "serve", "--port", "0"), "Shequ refuses to start", *phrases)
    refused(run(env, code="import shequ.wsgi"), "Shequ refuses to start", *phrases)


@pytest.fixture
def with_data() -> dict[str, str]:
    """Three people's phones written by a subprocess with the test process's keys."""
    env = worker_env()
    result = run(env, code=CREATE)
    assert result.returncode == 0, result.stderr
    return env


def test_check_keys_passes_and_says_what_it_checked(with_data: dict[str, str]) -> None:
    result = run(with_data, "check-keys")
    assert result.returncode == 0, result.stdout + result.stderr
    current = settings.FIELD_KEY_CURRENT
    assert f"field key {current}" in result.stdout and "1 canary" in result.stdout
    assert "index key" in result.stdout and "audit key" in result.stdout
    assert "PROBLEM" not in result.stdout and "keys OK" in result.stdout
    for value in (settings.FIELD_KEYS[current], settings.INDEX_KEY):
        assert value not in result.stdout + result.stderr  # fingerprints, never keys
    assert run(with_data, "worker", "--once").returncode == 0


def test_start_up_refuses_a_missing_key(with_data: dict[str, str]) -> None:
    env = with_data | {"SHEQU_FIELD_KEYS": json.dumps({"k9": OTHER}), "SHEQU_FIELD_KEY_CURRENT": "k9"}
    current = settings.FIELD_KEY_CURRENT
    assert_every_entry_refuses(env, f"field key {current} is not configured", "shequ keys import")


def test_start_up_refuses_a_wrong_key_under_the_same_id(with_data: dict[str, str]) -> None:
    current = settings.FIELD_KEY_CURRENT
    env = with_data | {"SHEQU_FIELD_KEYS": json.dumps({**settings.FIELD_KEYS, current: OTHER})}
    assert_every_entry_refuses(
        env,
        f"the key configured as {current}",
        "is not the key that encrypted the stored data (reused key id)",
    )


def test_start_up_refuses_one_key_under_two_ids(with_data: dict[str, str]) -> None:
    current = settings.FIELD_KEY_CURRENT
    keys = {**settings.FIELD_KEYS, "k8": settings.FIELD_KEYS[current]}
    env = with_data | {"SHEQU_FIELD_KEYS": json.dumps(keys)}
    refused(run(env, "check-keys"), "are the same key", "a key id names exactly one key")


def test_start_up_refuses_a_changed_index_key(with_data: dict[str, str]) -> None:
    env = with_data | {"SHEQU_INDEX_KEY": "ef" * 32}
    assert_every_entry_refuses(
        env, "the index key (SHEQU_INDEX_KEY", "is not the key that built the stored blind indexes"
    )


# Development keys ---------------------------------------------------------------------------------


def dev_env(var_dir: Path) -> dict[str, str]:
    """The test database with development keys of its own in ``var_dir/keys``."""
    env = worker_env(SHEQU_VAR_DIR=str(var_dir))
    for name in (
        "SHEQU_FIELD_KEYS",
        "SHEQU_FIELD_KEY_CURRENT",
        "SHEQU_INDEX_KEY",
        "SHEQU_AUDIT_KEY",
        "SHEQU_SECRET_KEY",
    ):
        env.pop(name)
    env.pop("SHEQU_KEY_DIR", None)
    return env


def test_a_fresh_database_starts_and_creates_its_keys(tmp_path: Path) -> None:
    env = dev_env(tmp_path)
    result = run(env, "check-keys")
    assert result.returncode == 0, result.stdout + result.stderr
    key_dir = tmp_path / "keys"
    assert "wrote new key" in result.stdout
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    for name in ("field_key_k1", "index_key", "audit_key", "secret_key"):
        assert stat.S_IMODE((key_dir / name).stat().st_mode) == 0o600, name
    written = (key_dir / "field_key_k1").read_text()
    assert run(env, code=CREATE).returncode == 0
    assert run(env, code=READ).stdout.strip() == PHONES
    assert (key_dir / "field_key_k1").read_text() == written  # kept, not replaced
    assert run(env, "worker", "--once").returncode == 0


def test_first_data_written_without_a_start_up_check_writes_its_keys_first(tmp_path: Path) -> None:
    """A script (or ``shequ demo``) that seals data before anything checked the keys writes the new
    key file before the first value, so the data never outlives its key."""
    env = dev_env(tmp_path)
    assert run(env, code=CREATE).returncode == 0
    assert (tmp_path / "keys" / "field_key_k1").exists()
    assert run(env, code=READ).stdout.strip() == PHONES
    assert KeyCanary.objects.filter(key_id="k1").count() == 1


def test_a_deleted_dev_key_file_is_not_recreated(tmp_path: Path) -> None:
    env = dev_env(tmp_path)
    assert run(env, code=CREATE).returncode == 0
    key_file = tmp_path / "keys" / "field_key_k1"
    original = key_file.read_text()
    key_file.unlink()

    assert_every_entry_refuses(
        env,
        f"{key_file} is missing but the database holds data encrypted with field key k1",
        "put the original file back",
        "none was created",
    )
    # Writing new data is refused too, and nothing is written under a fresh key.
    result = run(env, code=CREATE.replace("'d{i}'", "'e{i}'"))
    assert result.returncode != 0 and "is missing but the database holds data" in result.stderr
    assert not key_file.exists()

    key_file.write_text(original)  # the original put back: everything reads again
    os.chmod(key_file, 0o600)
    assert run(env, "check-keys").returncode == 0
    assert run(env, code=READ).stdout.strip() == PHONES


def test_a_deleted_index_key_file_is_not_recreated(tmp_path: Path) -> None:
    env = dev_env(tmp_path)
    assert run(env, code=CREATE).returncode == 0
    (tmp_path / "keys" / "index_key").unlink()
    refused(run(env, "check-keys"), "index_key is missing but the database holds blind indexes")
    assert not (tmp_path / "keys" / "index_key").exists()


def test_keys_beside_the_database_move_to_the_key_folder_once(tmp_path: Path) -> None:
    env = dev_env(tmp_path)
    assert run(env, code=CREATE).returncode == 0
    key_dir = tmp_path / "keys"
    for path in key_dir.iterdir():  # as an older version kept them: in var/ itself
        path.rename(tmp_path / path.name)
    key_dir.rmdir()
    assert run(env, "check-keys").returncode == 0
    assert (key_dir / "field_key_k1").exists() and not (tmp_path / "field_key_k1").exists()
    assert run(env, code=READ).stdout.strip() == PHONES
