"""Event storage: monthly partitions on PostgreSQL, retention on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from shequ.iot import storage
from shequ.iot.ingest import Pipeline
from shequ.iot.models import DeviceEvent
from shequ.iot.tests.conftest import Site, message


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'iot_deviceevent'"
        )
        return {name for (name,) in cursor.fetchall()}


def test_retention_removes_old_events(site: Site, settings: object) -> None:
    gas = site.devices["gas-1"]
    now = timezone.now()
    Pipeline().process(
        [
            message(gas, "telemetry", "old", at=now - dt.timedelta(days=170), level=3.0),
            message(gas, "telemetry", "new", at=now - dt.timedelta(days=1), level=3.0),
        ]
    )
    assert DeviceEvent.objects.count() == 2
    # Later, the old one is past the 180-day retention (whole months go on PostgreSQL).
    storage.drop_expired(now + dt.timedelta(days=60))
    assert list(DeviceEvent.objects.values_list("msg_id", flat=True)) == ["new"]


def test_monthly_partitions_are_made_ahead_and_used(site: Site) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("partitions are a PostgreSQL feature; SQLite keeps one table")
    now = timezone.now()
    made = storage.ensure_partitions(now + dt.timedelta(days=62))  # two months on: new months appear
    assert made and all(name.startswith("iot_deviceevent_") for name in made)
    present = partitions()
    this_month = storage.partition_name(now.date().replace(day=1))
    assert this_month in present and "iot_deviceevent_default" in present
    gas = site.devices["gas-1"]
    Pipeline().process([message(gas, "telemetry", "p-1", level=1.0)])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {this_month}")
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM iot_deviceevent_default")
        assert cursor.fetchone() == (0,)
    # Running it again makes nothing; the retention drops whole months.
    assert storage.ensure_partitions(now + dt.timedelta(days=62)) == []
    assert storage.drop_expired(now + dt.timedelta(days=400)) > 0
    assert this_month not in partitions()
