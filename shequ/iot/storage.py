"""Where device events are kept: monthly partitions on PostgreSQL, a plain table on SQLite.

``store(rows)`` writes a batch at most once per (device, message id, time): on PostgreSQL the rows
are COPYed (binary) into the table; a batch holding a row stored before (COPY cannot skip duplicates) is
COPYed into a temporary table instead and moved with ``INSERT … ON CONFLICT DO NOTHING``;
elsewhere ``bulk_create(ignore_conflicts=True)``. It answers which rows
were new, so rules run once per event even when a message is delivered twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from shequ.iot.models import DeviceEvent

TABLE = DeviceEvent._meta.db_table
COLUMNS = (
    "device_id",
    "region_code",
    "channel",
    "type",
    "msg_id",
    "occurred_at",
    "received_at",
    "value",
    "house_id",
    "person_id",
    "subject_ref",
    "subject_masked",
    "data",
)
# The columns' types, for binary COPY (migration 0002): the client sends numbers and times as
# they are, and the server parses no text.
TYPES = (
    "int8",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "timestamptz",
    "timestamptz",
    "float8",
    "int8",
    "int8",
    "varchar",
    "varchar",
    "jsonb",
)
# One encoder for every row's data (json.dumps with options builds a new encoder per call).
encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _as_is(text: str) -> str:
    return text


# Months made ahead of time, so the default partition stays empty in normal running.
MONTHS_AHEAD = 2


@dataclass
class EventRow:
    device_id: int
    region_code: str
    channel: str
    type: str
    msg_id: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    value: float | None = None
    house_id: int | None = None
    person_id: int | None = None
    subject_ref: str = ""
    subject_masked: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, dt.datetime]:
        return (self.device_id, self.msg_id, self.occurred_at)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def retention() -> dt.timedelta:
    return dt.timedelta(days=settings.IOT_RETENTION_DAYS)


def store(rows: Sequence[EventRow]) -> list[EventRow]:
    """Write ``rows`` (inside the caller's transaction) and return those that were not stored before."""
    if not rows:
        return []
    # One message twice in the same batch (a redelivery that overtook the first): keep the first.
    unique: dict[tuple[int, str, dt.datetime], EventRow] = {}
    for row in rows:
        unique.setdefault((row.device_id, row.msg_id, row.occurred_at), row)
    batch = list(unique.values())
    if is_postgres():
        return _copy_direct(batch)
    keys = _bulk_insert(batch)
    return [row for row in batch if row.key in keys]


def _values(r: EventRow) -> tuple[Any, ...]:
    return (
        r.device_id,
        r.region_code,
        r.channel,
        r.type,
        r.msg_id,
        r.occurred_at,
        r.received_at,
        r.value,
        r.house_id,
        r.person_id,
        r.subject_ref,
        r.subject_masked,
        # Encoded here once; Jsonb's own dumper would store a str as a JSON string, not an object.
        Jsonb(encode_json(r.data), dumps=_as_is),
    )


def _copy_direct(rows: list[EventRow]) -> list[EventRow]:
    """COPY straight into the events table, all rows new, as nearly always; if one was stored
    before (a redelivery), the unique constraint refuses the COPY, its savepoint undoes it, and the
    staging path sorts new from old. A third less database time than staging every batch."""
    try:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(TYPES)
            for r in rows:
                copy.write_row(_values(r))
        return rows
    except psycopg.errors.UniqueViolation:
        return _copy_insert(rows)


def _copy_insert(rows: list[EventRow]) -> list[EventRow]:
    cols = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        # A staging table per connection, emptied at each commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS iot_stage ON COMMIT DELETE ROWS "  # noqa: S608 (our own table names)
            f"AS SELECT {cols} FROM {TABLE} WITH NO DATA"
        )
        cursor.execute("TRUNCATE iot_stage")
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        with raw.copy(f"COPY iot_stage ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(TYPES)
            for r in rows:
                copy.write_row(_values(r))
        insert = f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM iot_stage ON CONFLICT DO NOTHING "  # noqa: S608 (our own table names)
        by_message = {(r.device_id, r.msg_id) for r in rows}
        if len(by_message) == len(rows):
            # (device, message id) names one row of the batch: reading back a timestamp per row
            # (and hashing it) is spared.
            cursor.execute(insert + "RETURNING device_id, msg_id")
            new = set(cursor.fetchall())
            return [r for r in rows if (r.device_id, r.msg_id) in new]
        cursor.execute(insert + "RETURNING device_id, msg_id, occurred_at")
        keys = {(int(d), str(m), o) for d, m, o in cursor.fetchall()}
        return [r for r in rows if r.key in keys]


def _bulk_insert(rows: list[EventRow]) -> set[tuple[int, str, dt.datetime]]:
    # SQLite: find what exists first (bulk_create with ignore_conflicts does not say what it skipped).
    devices = {r.device_id for r in rows}
    low = min(r.occurred_at for r in rows)
    high = max(r.occurred_at for r in rows)
    existing = set(
        DeviceEvent.objects.filter(device_id__in=devices, occurred_at__gte=low, occurred_at__lte=high)
        .filter(msg_id__in={r.msg_id for r in rows})
        .values_list("device_id", "msg_id", "occurred_at")
    )
    new = [r for r in rows if r.key not in existing]
    DeviceEvent.objects.bulk_create(
        [DeviceEvent(**{c: getattr(r, c) for c in COLUMNS}) for r in new], ignore_conflicts=True
    )
    return {r.key for r in new}


# --- Partitions and retention -------------------------------------------------------------------


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_{month:%Y%m}"


def ensure_partitions(now: dt.datetime | None = None) -> list[str]:
    """Make the monthly partitions from the retention horizon to ``MONTHS_AHEAD`` months ahead
    (PostgreSQL; nothing elsewhere). Answers the partitions created."""
    if not is_postgres():
        return []
    now = now or timezone.now()
    month = _month_start((now - retention()).date())
    last = _month_start(now.date())
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    made = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        present = {name for (name,) in cursor.fetchall()}
        while month <= last:
            name = partition_name(month)
            if name not in present:
                upper = _next_month(month)
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
                    f"FOR VALUES FROM ('{month.isoformat()} 00:00+00') TO ('{upper.isoformat()} 00:00+00')"
                )
                made.append(name)
            month = _next_month(month)
    return made


def drop_expired(now: dt.datetime | None = None) -> int:
    """Remove events older than the retention: whole monthly partitions on PostgreSQL (instant, no
    vacuum debt), rows in chunks elsewhere. Answers partitions dropped or rows deleted."""
    now = now or timezone.now()
    horizon = now - retention()
    if not is_postgres():
        deleted = 0
        while True:
            ids = list(
                DeviceEvent.objects.filter(occurred_at__lt=horizon).values_list("id", flat=True)[:5000]
            )
            if not ids:
                return deleted
            with transaction.atomic():
                deleted += DeviceEvent.objects.filter(id__in=ids).delete()[0]
    dropped = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        for (name,) in cursor.fetchall():
            stamp = name.rsplit("_", 1)[-1]
            if not stamp.isdigit() or len(stamp) != 6:
                continue  # the default partition
            month = dt.date(int(stamp[:4]), int(stamp[4:]), 1)
            upper = dt.datetime.combine(_next_month(month), dt.time(), tzinfo=dt.UTC)
            if upper <= horizon:
                cursor.execute(f"DROP TABLE {name}")
                dropped += 1
        # Stray rows of the default partition past the horizon (clock-skewed devices).
        cursor.execute(f"DELETE FROM {TABLE}_default WHERE occurred_at < %s", [horizon])  # noqa: S608 (our own table names)
    return dropped
