"""The ingester's database side without a broker: a batch the database refuses for a reason other
than an outage is written message by message, and the message that fails alone is dead-lettered,
so it cannot come back for ever and hold up the stream behind it."""

from __future__ import annotations

import pytest
from django.db import DataError

from shequ.iot.ingest import Pipeline, Prepared, Result
from shequ.iot.models import DeadLetter, DeviceEvent
from shequ.iot.mqtt import Ingester, Settings
from shequ.iot.tests.conftest import Site, message, run_async

pytestmark = pytest.mark.django_db(transaction=True)


class Poisoned(Pipeline):
    """The database refuses any batch holding the message ``poison`` (as PostgreSQL refused a NUL
    in text before the pipeline knew to keep it out)."""

    def commit(self, prepared: Prepared) -> Result:
        if any(row.msg_id == "poison" for row in prepared.rows):
            raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return super().commit(prepared)


def test_a_batch_the_database_refuses_is_written_message_by_message(site: Site) -> None:
    async def make() -> Ingester:
        return Ingester(Settings(), Poisoned())

    ingester = run_async(make())
    gas = site.devices["gas-1"]
    batch = [message(gas, "telemetry", f"g-{n}", level=3.0) for n in range(5)]
    batch.insert(2, message(gas, "telemetry", "poison", level=3.0))
    result = ingester._write(batch, ingester.pipeline.prepare(batch))
    ingester.db.shutdown()
    ingester.prep.shutdown()
    assert (result.stored, result.dead["internal"]) == (5, 1)
    assert result.outcomes == ["", "", "internal", "", "", ""]
    assert DeviceEvent.objects.filter(device=gas).count() == 5
    letter = DeadLetter.objects.get()
    assert letter.reason == "internal" and "NUL" in letter.detail and "poison" in letter.payload
