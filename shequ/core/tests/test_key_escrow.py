"""Key escrow (shequ/core/escrow.py): shares below the threshold reveal nothing, at the threshold
they restore exactly the keys, and a drill recovers a database with keys restored from shares."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from Crypto.Protocol.SecretSharing import Shamir
from django.conf import settings
from django.db import connection

from shequ.core import escrow
from shequ.core.tests.test_keys_startup import CREATE, PHONES, READ, dev_env, run

BUNDLE: dict[str, Any] = {
    "field_keys": {"k1": "11" * 16, "k2": "22" * 16},
    "field_key_current": "k2",
    "index_key": "33" * 32,
    "audit_key": "44" * 32,
    "secret_key": "a secret key with spaces and 'quotes'",
}


def export(tmp_path: Path, shares: int = 5, threshold: int = 3) -> list[Path]:
    return escrow.export(BUNDLE, shares=shares, threshold=threshold, out=tmp_path / "shares")


def test_at_the_threshold_any_shares_restore_exactly_the_keys(tmp_path: Path) -> None:
    paths = export(tmp_path)
    assert len(paths) == 5
    for subset in itertools.combinations(paths, 3):
        assert escrow.recover(list(subset)) == BUNDLE
    assert escrow.recover(paths) == BUNDLE  # more than enough is fine too
    for path in paths:
        assert path.stat().st_mode & 0o777 == 0o600
        body = json.loads(path.read_text())
        assert (body["threshold"], body["shares"]) == (3, 5) and body["created_at"]
        assert body["key_fingerprints"] == escrow.bundle_fingerprints(BUNDLE)
    assert len({json.loads(p.read_text())["bundle_fingerprint"] for p in paths}) == 1


def test_below_the_threshold_shares_reveal_nothing(tmp_path: Path) -> None:
    paths = export(tmp_path)
    for path in paths:  # no key, raw or hex or base64, in any file
        text = path.read_text()
        for value in [*BUNDLE["field_keys"].values(), BUNDLE["index_key"], BUNDLE["audit_key"]]:
            assert value not in text
            assert base64.b64encode(bytes.fromhex(value)).decode() not in text
        assert BUNDLE["secret_key"] not in text
    for subset in itertools.combinations(paths, 2):
        with pytest.raises(escrow.EscrowError, match="needs 3 different shares of 5, got 2"):
            escrow.recover(list(subset))
        # Combining them anyway gives a wrong wrapping key: the bundle does not open.
        assert escrow._open([escrow.read_share(p) for p in subset]) is None
    # The same share twice is still one share.
    with pytest.raises(escrow.EscrowError, match="got 2"):
        escrow.recover([paths[0], paths[0], paths[1]])


def test_a_share_holds_a_shamir_share_of_a_random_wrapping_key(tmp_path: Path) -> None:
    """Two shares of a 2-of-2 set combine to the key that opens the bundle; each alone is uniform
    noise of the same size whatever the keys (the scheme's guarantee, not ours to re-prove)."""
    paths = export(tmp_path, shares=2, threshold=2)
    shares = [escrow.read_share(p) for p in paths]
    wrapping = Shamir.combine([(s.index, s.value) for s in shares])
    assert len(wrapping) == 16 and all(len(s.value) == 16 for s in shares)
    assert escrow._open(shares) is not None


def test_shares_of_different_sets_or_tampered_shares_are_refused(tmp_path: Path) -> None:
    first = export(tmp_path / "a")
    second = export(tmp_path / "b")
    with pytest.raises(escrow.EscrowError, match="belongs to another set of shares"):
        escrow.recover([first[0], first[1], second[2]])

    body = json.loads(first[2].read_text())
    value = bytearray(bytes.fromhex(body["value"]))
    value[0] ^= 1
    body["value"] = value.hex()
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(body))
    with pytest.raises(escrow.EscrowError, match="do not open the key bundle"):
        escrow.recover([first[0], first[1], tampered])
    # With one share to spare, the good ones open the bundle and the altered one is named.
    with pytest.raises(escrow.EscrowError, match=f"{tampered}: share 3 was altered"):
        escrow.recover([first[0], first[1], tampered, first[3]])

    body = json.loads(first[0].read_text())
    for path in first:  # lowering the threshold in every file does not help either
        edited = json.loads(path.read_text()) | {"threshold": 2}
        path.write_text(json.dumps(edited))
    with pytest.raises(escrow.EscrowError, match="do not open"):
        escrow.recover(first[:2])

    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(escrow.EscrowError, match="not a Shequ key share"):
        escrow.recover([tmp_path / "junk.json"])


def test_export_refuses_a_threshold_of_one(tmp_path: Path) -> None:
    with pytest.raises(escrow.EscrowError, match="single custodian"):
        export(tmp_path, shares=3, threshold=1)
    with pytest.raises(escrow.EscrowError):
        export(tmp_path, shares=2, threshold=3)


def test_print_env_lines_round_trip_through_a_shell(tmp_path: Path) -> None:
    script = "\n".join(f"export {line}" for line in escrow.env_lines(BUNDLE))
    script += '\nprintf "%s\\n" "$SHEQU_FIELD_KEYS" "$SHEQU_SECRET_KEY" "$SHEQU_INDEX_KEY"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    fields, secret, index = out.splitlines()
    assert json.loads(fields) == BUNDLE["field_keys"]
    assert secret == BUNDLE["secret_key"] and index == BUNDLE["index_key"]


@pytest.mark.django_db(transaction=True)
def test_drill_restores_a_database_with_keys_from_shares(tmp_path: Path) -> None:
    """The disaster drill of docs/operations.md: data and a backup exist, the machine is lost with
    its keys; on a new machine with an empty database the keys come back from 3 of 5 custodians'
    shares, ``shequ backup verify`` passes and ``shequ restore`` brings the data back readable."""
    var = tmp_path / "var"
    env = dev_env(var)
    assert run(env, code=CREATE).returncode == 0
    result = run(
        env, "keys", "export", "--shares", "5", "--threshold", "3", "--out", str(tmp_path / "shares")
    )
    assert result.returncode == 0, result.stderr
    shares = sorted((tmp_path / "shares").iterdir())
    fingerprints = run(env, "keys", "fingerprint").stdout
    assert "field key k1" in fingerprints and "(current)" in fingerprints
    (tmp_path / "backups").mkdir()
    backed_up = run(env, "backup", "--out", str(tmp_path / "backups"))
    assert backed_up.returncode == 0, backed_up.stderr
    (backup,) = [f for f in (tmp_path / "backups").iterdir() if not f.name.endswith(".json")]
    assert not any(value in backup.read_bytes() for value in _key_bytes(var))  # no keys in it

    # The machine is lost: a new one, with a new var folder and an empty database.
    shutil.rmtree(var)
    new_var = tmp_path / "new-var"
    new = dev_env(new_var) | {"SHEQU_DATABASE_URL": _empty_database(tmp_path)}
    try:
        refused_import = run(new, "keys", "import", str(shares[0]), str(shares[1]))
        assert refused_import.returncode == 1
        assert "needs 3 different shares of 5, got 2" in refused_import.stderr
        assert "Traceback" not in refused_import.stderr
        assert not (new_var / "keys" / "field_key_k1").exists()

        restored = run(new, "keys", "import", str(shares[0]), str(shares[2]), str(shares[4]))
        assert restored.returncode == 0, restored.stderr
        assert run(new, "keys", "fingerprint").stdout == fingerprints  # exactly the same keys
        verified = run(new, "backup", "verify", str(backup))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        back = run(new, "restore", str(backup), "--yes")
        assert back.returncode == 0, back.stdout + back.stderr
        assert run(new, "check-keys").returncode == 0
        assert run(new, code=READ).stdout.strip() == PHONES

        printed = run(new, "keys", "import", *map(str, shares[1:4]), "--print-env").stdout
        assert f"SHEQU_INDEX_KEY={(new_var / 'keys' / 'index_key').read_text()}" in printed.splitlines()
    finally:
        _drop_database(new["SHEQU_DATABASE_URL"])
    assert settings.FIELD_KEYS  # the test process's own keys are untouched


def _key_bytes(var: Path) -> list[bytes]:
    return [p.read_text().strip().encode() for p in (var / "keys").iterdir() if p.is_file()]


def _empty_database(tmp_path: Path) -> str:
    """A new machine's database: an empty SQLite file, or an empty PostgreSQL database."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'new-machine.sqlite3'}"
    import os

    name = f"shequ_drill_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    dsn = connection.settings_dict
    return f"postgres://{dsn['USER']}@{dsn['HOST'] or '127.0.0.1'}:{dsn['PORT'] or 5432}/{name}"


def _drop_database(url: str) -> None:
    if url.startswith("postgres"):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
