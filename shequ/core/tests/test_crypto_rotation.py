"""Key rotation: ``shequ rotate_keys`` moves every encrypted value to the current key, in batches,
idempotently, after which the old key can be removed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from shequ.core import accounts, crypto, keys
from shequ.core.models import User

NEW_KEY = "rot2"
NEW_KEY_HEX = "5a" * 16


def stored(column: str = "phone") -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT username, {column} FROM core_user WHERE {column} <> ''")
        return dict(cursor.fetchall())


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_rotate_keys_reencrypts_everything_under_the_current_key() -> None:
    old_key = settings.FIELD_KEY_CURRENT
    for i in range(7):
        accounts.user_create(
            actor=None, username=f"u{i}", display_name="", password=None, phone=f"1390000000{i}"
        )
    secret_holder = User.objects.get(username="u0")
    secret_holder.totp_secret = "JBSWY3DPEHPK3PXP"
    secret_holder.save()
    before = stored()
    assert {crypto.key_id_of(v) for v in before.values()} == {old_key}

    keys = {**settings.FIELD_KEYS, NEW_KEY: NEW_KEY_HEX}
    with override_settings(FIELD_KEYS=keys, FIELD_KEY_CURRENT=NEW_KEY):
        dry = rotate("--dry-run")
        assert "core.User.phone: 7 rotated" in dry and "would rotate 8 value(s)" in dry
        assert stored() == before  # a dry run changes nothing

        out = rotate("--batch-size", "3")  # several batches
        assert "core.User.phone: 7 rotated, 0 already under rot2" in out
        assert "core.User.totp_secret: 1 rotated" in out
        after = stored()
        assert {crypto.key_id_of(v) for v in after.values()} == {NEW_KEY}
        assert all(after[u] != before[u] for u in before)
        assert all(crypto.key_id_of(v) == NEW_KEY for v in stored("totp_secret").values())

        again = rotate()  # idempotent
        assert "core.User.phone: 0 rotated, 7 already under rot2" in again
        assert "rotated 0 value(s)" in again
        assert stored() == after

    # The old key can now go: every value opens with the new key alone, and the index still works.
    with override_settings(FIELD_KEYS={NEW_KEY: NEW_KEY_HEX}, FIELD_KEY_CURRENT=NEW_KEY):
        assert sorted(u.phone for u in User.objects.all()) == [f"1390000000{i}" for i in range(7)]
        assert User.objects.get(phone_index=crypto.blind_index("13900000003", "phone")).username == "u3"
        assert User.objects.get(username="u0").totp_secret == "JBSWY3DPEHPK3PXP"


@pytest.mark.django_db
def test_values_written_after_switching_the_key_use_the_new_key() -> None:
    keys = {**settings.FIELD_KEYS, NEW_KEY: NEW_KEY_HEX}
    with override_settings(FIELD_KEYS=keys, FIELD_KEY_CURRENT=NEW_KEY):
        accounts.user_create(
            actor=None, username="fresh", display_name="", password=None, phone="13900000009"
        )
    assert crypto.key_id_of(stored()["fresh"]) == NEW_KEY


@pytest.mark.django_db
def test_reindex_rebuilds_blind_indexes_after_an_index_key_change() -> None:
    accounts.user_create(actor=None, username="ix", display_name="", password=None, phone="13900000001")
    with override_settings(INDEX_KEY="cd" * 32):
        # A changed index key is refused (it would quietly find nothing) until the indexes are rebuilt.
        with pytest.raises(keys.KeyCheckError, match="rotate_keys --reindex"):
            crypto.blind_index("13900000001", "phone")
        with pytest.raises(CommandError, match="not the key that built the stored blind indexes"):
            rotate()
        out = rotate("--reindex")
        assert "core.User.phone: 0 rotated, 1 already under" in out and "1 reindexed" in out
        assert User.objects.get(phone_index=crypto.blind_index("13900000001", "phone")).username == "ix"


@pytest.mark.django_db
def test_rotate_keys_refuses_an_unusable_current_key() -> None:
    with override_settings(FIELD_KEY_CURRENT="missing"), pytest.raises(CommandError, match="not usable"):
        rotate()
