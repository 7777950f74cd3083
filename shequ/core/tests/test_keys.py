"""Keys that cannot be silently replaced (shequ/core/keys.py): canaries recorded on first use, the
check that the configured keys open the stored data, and rotate_keys with a missing key."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from shequ.core import accounts, crypto, keys
from shequ.core.models import KeyCanary, KeyKind, User

OTHER = "3c" * 16


@pytest.fixture(autouse=True)
def _fresh_proofs() -> Iterator[None]:
    """Each test proves its keys anew (the proofs are cached per process)."""
    crypto.forget_proven_keys()
    yield
    crypto.forget_proven_keys()


def make_users(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        accounts.user_create(
            actor=None, username=f"k{i}", display_name="", password=None, phone=f"1390000{i:04d}"
        )


def stored_phones() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT username, phone FROM core_user WHERE phone <> ''")
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_first_use_of_a_key_records_its_canaries() -> None:
    assert not KeyCanary.objects.exists()
    make_users(3)
    current = settings.FIELD_KEY_CURRENT
    field = KeyCanary.objects.get(kind=KeyKind.FIELD)  # one canary, not one per value sealed
    assert field.key_id == current and field.fingerprint == keys.field_fingerprint(current)
    assert crypto.decrypt(field.canary, f"core.keycanary:{current}") == keys.CANARY_TEXT
    index = KeyCanary.objects.get(kind=KeyKind.INDEX)
    assert index.canary == crypto.raw_blind_index(keys.INDEX_CANARY_VALUE, keys.INDEX_CANARY_PURPOSE)
    with pytest.raises(ValueError, match="append-only"):
        field.save()
    with pytest.raises(ValueError, match="append-only"):
        field.delete()
    report = keys.check_keys()
    assert report.ok and not report.recorded


@pytest.mark.django_db
def test_a_reused_key_id_writes_nothing() -> None:
    make_users(1)
    before = stored_phones()
    current = settings.FIELD_KEY_CURRENT
    with override_settings(FIELD_KEYS={current: OTHER}, FIELD_KEY_CURRENT=current):
        with (
            pytest.raises(keys.KeyCheckError, match=f"the key configured as {current} .*reused key id"),
            transaction.atomic(),
        ):
            make_users(1, start=1)
        with pytest.raises(keys.KeyCheckError, match="reused key id"):
            keys.check_keys()
    assert stored_phones() == before


@pytest.mark.django_db
def test_check_names_a_missing_key() -> None:
    make_users(2)
    old = settings.FIELD_KEY_CURRENT
    with (
        override_settings(FIELD_KEYS={"k9": OTHER}, FIELD_KEY_CURRENT="k9"),
        pytest.raises(keys.KeyCheckError) as caught,
    ):
        keys.check_keys()
    message = str(caught.value)
    assert f"field key {old} is not configured" in message and "shequ keys import" in message
    assert "core.User.phone" in message


@pytest.mark.django_db
def test_check_refuses_two_ids_for_one_key() -> None:
    make_users(1)
    current = settings.FIELD_KEY_CURRENT
    same = {**settings.FIELD_KEYS, "k7": settings.FIELD_KEYS[current]}
    with override_settings(FIELD_KEYS=same), pytest.raises(keys.KeyCheckError, match="are the same key"):
        keys.check_keys()


@pytest.mark.django_db
def test_check_refuses_a_changed_index_key() -> None:
    make_users(1)
    with override_settings(INDEX_KEY="ef" * 32):
        with pytest.raises(keys.KeyCheckError, match="not the key that built the stored blind indexes"):
            keys.check_keys()
        assert keys.check_keys(index=False).ok  # what rotate_keys --reindex runs with


@pytest.mark.django_db
def test_a_database_from_before_the_canaries_is_proven_on_its_data() -> None:
    make_users(3)
    KeyCanary.objects.all().delete()  # as made before this change
    current = settings.FIELD_KEY_CURRENT
    # A wrong key under the same id is caught on the stored values themselves …
    with (
        override_settings(FIELD_KEYS={current: OTHER}),
        pytest.raises(keys.KeyCheckError, match="reused key id"),
    ):
        keys.check_keys()
    with override_settings(INDEX_KEY="ef" * 32), pytest.raises(keys.KeyCheckError, match="blind indexes"):
        keys.check_keys()
    assert not KeyCanary.objects.exists()  # a failed check records nothing
    # … and the right keys are proven and their canaries recorded.
    report = keys.check_keys()
    assert set(report.recorded) == {f"field key {current}", "index key"}
    assert KeyCanary.objects.filter(kind=KeyKind.FIELD, key_id=current).count() == 1
    status = next(s for s in report.keys if s.name == f"field key {current}")
    assert status.sampled == 2 and not status.problem  # the oldest and the newest phone


@pytest.mark.django_db
def test_the_check_reads_the_same_few_rows_however_large_the_tables() -> None:
    make_users(2)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            keys.inspect_keys()
        return [q["sql"] for q in ctx.captured_queries]

    small = queries()
    make_users(30, start=2)
    large = queries()
    assert len(small) == len(large)
    # Every read of a table holding personal data is one row, by primary key order.
    reads = [sql for sql in large if 'FROM "core_user"' in sql]
    assert reads and all("LIMIT 1" in sql for sql in reads), reads


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_rotate_keys_with_a_missing_key_names_it_and_changes_nothing() -> None:
    make_users(3)
    old = settings.FIELD_KEY_CURRENT
    before = stored_phones()
    with (
        override_settings(FIELD_KEYS={"rot2": OTHER}, FIELD_KEY_CURRENT="rot2"),
        pytest.raises(CommandError) as caught,
    ):
        rotate()
    message = str(caught.value)
    assert message.startswith("nothing was rotated")
    assert f"field key {old} is not configured" in message
    assert (
        f"3 value(s) in core.User.phone are encrypted with field key {old}, which is not configured"
        in message
    )
    assert stored_phones() == before


@pytest.mark.django_db
def test_rotate_keys_records_the_new_keys_canaries() -> None:
    make_users(2)
    keys_now = {**settings.FIELD_KEYS, "rot2": OTHER}
    with override_settings(FIELD_KEYS=keys_now, FIELD_KEY_CURRENT="rot2"):
        rotate()
        assert KeyCanary.objects.filter(kind=KeyKind.FIELD, key_id="rot2").count() == 1
        assert keys.check_keys().ok
    first = KeyCanary.objects.filter(kind=KeyKind.INDEX).latest("id")
    with override_settings(INDEX_KEY="ef" * 32, FIELD_KEYS=keys_now, FIELD_KEY_CURRENT="rot2"):
        rotate("--reindex")
        newest = KeyCanary.objects.filter(kind=KeyKind.INDEX).latest("id")
        assert newest.pk != first.pk and newest.fingerprint == keys.index_fingerprint()
        assert keys.check_keys().ok  # the new index key now holds
        assert User.objects.get(phone_index=crypto.blind_index("13900000001", "phone")).username == "k1"
    with (
        override_settings(FIELD_KEYS=keys_now, FIELD_KEY_CURRENT="rot2"),
        pytest.raises(keys.KeyCheckError, match="blind indexes"),
    ):
        keys.check_keys()  # and the old one no longer does
