"""Personal data at rest (security requirements 10 and 11): SM4-GCM field encryption with the key
id in the ciphertext and row-bound associated data, an HMAC-SM3 blind index with its own key, the
start-up self-test, and the ORM paths that must not leak or store plaintext."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import serializers
from django.core.exceptions import FieldError
from django.db import connection, transaction
from django.test import override_settings

from shequ.core import accounts, crypto, keys
from shequ.core.fields import Sealed
from shequ.core.models import User

PHONE = "13912345678"
ROOT = Path(__file__).resolve().parents[3]


def make_user(username: str = "zhang", phone: str = PHONE) -> User:
    return accounts.user_create(
        actor=None, username=username, display_name="张三", password=None, phone=phone
    )


def all_stored_text() -> list[tuple[str, str]]:
    """Every value of every column of every table, as text, read with a raw cursor."""
    found: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.append((f"{table}.{column}", str(value)))
    return found


@pytest.mark.django_db
def test_raw_database_holds_no_plaintext_phone() -> None:
    user = make_user()
    user.refresh_from_db()
    assert user.phone == PHONE  # the ORM gives plaintext back …
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_index FROM core_user WHERE id = %s", [user.pk])
        stored, index = cursor.fetchone()
    # … the column holds ciphertext with the key id, and the index is an HMAC, not the number.
    assert stored.startswith(f"sm4gcm:{settings.FIELD_KEY_CURRENT}:")
    assert PHONE not in stored and PHONE not in index and len(index) == 64
    leaks = [(where, value) for where, value in all_stored_text() if PHONE in value or "12345678" in value]
    assert leaks == []


@pytest.mark.django_db
def test_ciphertext_is_bound_to_its_row() -> None:
    victim, thief = make_user("victim"), make_user("thief", "13700000000")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM core_user WHERE id = %s", [victim.pk])
        stolen = cursor.fetchone()[0]
        cursor.execute("UPDATE core_user SET phone = %s WHERE id = %s", [stolen, thief.pk])
    thief = User.objects.get(pk=thief.pk)
    with pytest.raises(crypto.CryptoError):
        _ = thief.phone
    # The same ciphertext still opens in its own row.
    assert User.objects.get(pk=victim.pk).phone == PHONE


def test_ciphertext_is_bound_to_its_column_and_detects_tampering() -> None:
    sealed = crypto.encrypt(PHONE, "core.user.phone:1")
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(sealed, "core.user.totp_secret:1")
    prefix, key_id, blob = sealed.split(":", 2)
    flipped = blob[:-2] + ("A" if blob[-2] != "A" else "B") + blob[-1]
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(f"{prefix}:{key_id}:{flipped}", "core.user.phone:1")
    for junk in ("", "sm4gcm", "sm4gcm:k1:%%%", "aes:k1:AAAA", "sm4gcm:k1:" + "A" * 8):
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(junk, "core.user.phone:1")
    with pytest.raises(crypto.CryptoError):
        crypto.key_id_of("not a ciphertext")


def test_encryption_is_randomized() -> None:
    assert crypto.encrypt(PHONE, "a") != crypto.encrypt(PHONE, "a")


@pytest.mark.django_db
def test_blind_index_finds_a_user_by_phone_in_any_typed_form() -> None:
    user = make_user()
    for typed in (PHONE, "139 1234 5678", "１３９１２３４５６７８", "139-1234-5678", "\u3000139 1234\t5678 "):
        found = User.objects.get(phone_index=crypto.blind_index(typed, "phone"))
        assert found.pk == user.pk
    assert not User.objects.filter(phone_index=crypto.blind_index("13912345679", "phone")).exists()
    # The purpose separates index domains: the same digits as an ID number index differently.
    assert crypto.blind_index(PHONE, "id_number") != crypto.blind_index(PHONE, "phone")


@pytest.mark.django_db
def test_index_key_is_separate_from_field_keys() -> None:
    user = make_user()
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_index FROM core_user WHERE id = %s", [user.pk])
        stored, index = cursor.fetchone()
    with override_settings(INDEX_KEY="ab" * 32):
        assert crypto.raw_blind_index(PHONE, "phone") != index  # a new index key: a new index …
        again = User.objects.get(pk=user.pk)
        assert again.phone == PHONE  # … while the ciphertext still opens with the field key
        # … but searching or writing under it is refused: it would quietly find nothing (keys.py).
        with pytest.raises(keys.KeyCheckError, match="not the key that built the stored blind indexes"):
            crypto.blind_index(PHONE, "phone")
        with pytest.raises(keys.KeyCheckError), transaction.atomic():
            again.save()
    assert crypto.blind_index(PHONE, "phone") == index
    again = User.objects.get(pk=user.pk)
    _ = again.phone
    again.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM core_user WHERE id = %s", [user.pk])
        assert cursor.fetchone()[0] == stored  # unchanged value: not re-encrypted


def test_self_test_passes_with_sm3_and_sm4() -> None:
    crypto.self_test()


def test_self_test_refuses_without_sm4(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SM4 is not supported by this OpenSSL")

    monkeypatch.setattr(crypto.algorithms, "SM4", missing)
    with pytest.raises(RuntimeError, match="self-test failed"):
        crypto.self_test()


def test_self_test_refuses_without_sm3(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SM3 is not supported by this OpenSSL")

    monkeypatch.setattr(crypto.hashes, "SM3", missing)
    with pytest.raises(RuntimeError, match="self-test failed"):
        crypto.self_test()


def test_self_test_refuses_an_index_key_equal_to_a_field_key() -> None:
    key = next(iter(settings.FIELD_KEYS.values()))
    with override_settings(INDEX_KEY=key), pytest.raises(RuntimeError, match="INDEX_KEY must differ"):
        crypto.self_test()
    with override_settings(FIELD_KEYS={**settings.FIELD_KEYS, "bad": "00"}), pytest.raises(RuntimeError):
        crypto.self_test()


def _start_django(prelude: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = prelude + "\nimport django\ndjango.setup()\nprint('started')\n"
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "shequ.settings", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_application_refuses_to_start_without_sm4() -> None:
    ok = _start_django("")
    assert ok.returncode == 0 and "started" in ok.stdout, ok.stderr
    broken = _start_django(
        "from cryptography.hazmat.primitives.ciphers import algorithms\n"
        "def _missing(*a, **k):\n    raise RuntimeError('no SM4 in this OpenSSL')\n"
        "algorithms.SM4 = _missing\n"
    )
    assert broken.returncode != 0 and "started" not in broken.stdout
    assert "SM3/SM4 self-test failed" in broken.stderr


# --- ORM paths ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_plaintext_queries_are_refused() -> None:
    make_user()
    with pytest.raises(TypeError, match="blind index"):
        list(User.objects.filter(phone=PHONE))
    with pytest.raises(TypeError):
        list(User.objects.filter(phone__in=[PHONE]))
    for lookup in ("contains", "icontains", "startswith", "endswith", "iexact", "regex", "gt"):
        with pytest.raises(FieldError):
            list(User.objects.filter(**{f"phone__{lookup}": "139"}))
    # Comparisons that do not involve plaintext stay possible.
    assert User.objects.filter(username="zhang").exclude(phone="").count() == 1


@pytest.mark.django_db
def test_update_and_bulk_update_with_plaintext_are_refused() -> None:
    # Both mark the surrounding transaction for rollback; a savepoint keeps the test's one usable.
    user = make_user()
    with pytest.raises(TypeError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(phone="13700000000")
    user.phone = "13700000000"
    with pytest.raises(TypeError), transaction.atomic():
        User.objects.bulk_update([user], ["phone"])
    assert User.objects.get(pk=user.pk).phone == PHONE  # nothing was written


@pytest.mark.django_db
def test_bulk_create_encrypts_and_indexes() -> None:
    User.objects.bulk_create([User(username=f"bulk{i}", phone=f"1370000000{i}") for i in range(3)])
    stored = dict(User.objects.filter(username__startswith="bulk").values_list("username", "phone"))
    assert all(crypto.is_ciphertext(v) for v in stored.values())
    assert User.objects.get(phone_index=crypto.blind_index("13700000002", "phone")).username == "bulk2"


@pytest.mark.django_db
def test_values_return_ciphertext_not_plaintext() -> None:
    make_user()
    (value,) = User.objects.filter(username="zhang").values_list("phone", flat=True)
    assert isinstance(value, Sealed) and crypto.is_ciphertext(value) and PHONE not in value
    assert User.objects.filter(username="zhang").values("phone")[0]["phone"] == value


@pytest.mark.django_db
def test_refresh_from_db_and_deferred_loading() -> None:
    user = make_user()
    other = User.objects.get(pk=user.pk)
    other.phone = "13700000000"
    other.save()
    assert user.phone == PHONE
    user.refresh_from_db()
    assert user.phone == "13700000000"
    # A deferred encrypted field is loaded and decrypted on first access, not silently empty.
    deferred = User.objects.only("username").get(pk=user.pk)
    assert deferred.phone == "13700000000"
    deferred.display_name = "changed"
    deferred.save()  # saves the loaded fields only; the phone survives
    assert User.objects.get(pk=user.pk).phone == "13700000000"


@pytest.mark.django_db
def test_changing_the_phone_with_update_fields_keeps_the_index_in_step() -> None:
    user = make_user()
    user.phone = "13700000000"
    user.save(update_fields=["phone"])
    assert User.objects.get(phone_index=crypto.blind_index("13700000000", "phone")).pk == user.pk
    assert not User.objects.filter(phone_index=crypto.blind_index(PHONE, "phone")).exists()


@pytest.mark.django_db
def test_unchanged_value_is_not_reencrypted_and_clearing_clears_the_index() -> None:
    user = make_user()
    first = User.objects.filter(pk=user.pk).values_list("phone", flat=True).get()
    loaded = User.objects.get(pk=user.pk)
    assert loaded.phone == PHONE
    loaded.save()
    assert User.objects.filter(pk=user.pk).values_list("phone", flat=True).get() == first
    loaded.phone = ""
    loaded.save()
    assert User.objects.filter(pk=user.pk).values_list("phone", "phone_index").get() == ("", "")


@pytest.mark.django_db  # the first encryption under a key id records its canary
def test_keys_are_not_cached_across_settings_changes() -> None:
    sealed = crypto.encrypt(PHONE, "x", key_id="t1") if "t1" in settings.FIELD_KEYS else None
    assert sealed is None  # no such key in the normal settings
    with override_settings(FIELD_KEYS={"t1": "11" * 16}, FIELD_KEY_CURRENT="t1"):
        sealed = crypto.encrypt(PHONE, "x")
    with (
        override_settings(FIELD_KEYS={"t1": "22" * 16}, FIELD_KEY_CURRENT="t1"),
        pytest.raises(crypto.CryptoError),
    ):
        crypto.decrypt(sealed, "x")  # same id, other key: must not use a stale cached key
    with pytest.raises(crypto.CryptoError, match="unknown field key"):
        crypto.decrypt(sealed, "x")


@pytest.mark.django_db
def test_serialized_dumps_hold_ciphertext_and_restore_through_save() -> None:
    user = make_user()
    user.refresh_from_db()
    _ = user.phone  # decrypted in memory: the dump must still hold the stored ciphertext
    dumped = serializers.serialize("json", User.objects.filter(pk=user.pk))
    assert PHONE not in dumped and "sm4gcm:" in dumped
    # A raw load (what ``loaddata`` does) cannot re-bind values: it is refused, not stored in plaintext.
    with pytest.raises(TypeError), transaction.atomic():
        for restored in serializers.deserialize("json", dumped):
            restored.save()
    User.objects.filter(pk=user.pk).delete()
    for restored in serializers.deserialize("json", dumped):
        restored.object.save()  # a normal save keeps the ciphertext, bound to the same uid
    again = User.objects.get(pk=user.pk)
    assert again.phone == PHONE
    assert User.objects.get(phone_index=crypto.blind_index(PHONE, "phone")).pk == user.pk
    # A value set in memory and never saved is sealed for the dump as well.
    unsaved = User(username="unsaved", phone=PHONE)
    sealed = User._meta.get_field("phone").value_to_string(unsaved)
    assert crypto.is_ciphertext(sealed) and crypto.decrypt(sealed, f"core.user.phone:{unsaved.uid}") == PHONE
