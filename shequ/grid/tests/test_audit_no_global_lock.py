"""Issue 7: an audited write in one region never waits for an open transaction of another region.

The old audit log took one PostgreSQL advisory lock from a transaction's first audited statement
to its COMMIT, so every write and audited read of the province queued behind the slowest. Here a
community's transaction submits and accepts a ticket (audited) and stays open, while a sibling
street's officer submits and settles a ticket with ``lock_timeout`` set: it must commit while the
first is still open. PostgreSQL only (SQLite has one write lock per database by design).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from shequ.conftest import World
from shequ.core import audit
from shequ.core.models import AuditEntry
from shequ.grid import services
from shequ.grid.models import Source

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_open_audited_transaction_does_not_block_another_regions_audited_write(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with SHEQU_DATABASE_URL=postgres://…")
    inside = threading.Event()
    other_committed = threading.Event()
    errors: list[BaseException] = []

    def community_a() -> None:
        try:
            with transaction.atomic():
                ticket = services.ticket_submit(
                    actor=world["worker_a"],
                    source=Source.STAFF,
                    region=world.regions["430104002001001"],
                    title="楼道堆物",
                    description="3栋2单元楼道堆满纸箱，影响通行。",
                    category="environment.garbage",
                )
                services.ticket_accept(actor=world["worker_a"], ticket=ticket)
                inside.set()
                # Stay open, holding whatever the audited steps took, until the other region is done.
                assert other_committed.wait(timeout=30), "the other region's write never committed"
        except BaseException as exc:
            errors.append(exc)
        finally:
            inside.set()
            connection.close()

    thread = threading.Thread(target=community_a)
    thread.start()
    try:
        assert inside.wait(timeout=30)
        assert not errors, errors
        with transaction.atomic():
            with connection.cursor() as cursor:  # waiting on any lock for 3 s is a failure
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            ticket = services.ticket_submit(
                actor=world["outsider"],
                source=Source.STAFF,
                region=world.regions["430104003001"],
                title="路灯不亮",
                description="石门楼社区东门路灯坏了一周。",
                category="environment.garbage",
            )
            services.ticket_close_on_spot(
                actor=world["outsider"], ticket=ticket, result="已联系物业更换灯泡。"
            )
        # Committed while the community's transaction is still open; the sealer chains what is
        # committed and leaves the open transaction's entries for later.
        assert audit.seal_all() >= 2
        assert (
            AuditEntry.objects.filter(action__startswith="grid.", region_code__startswith="430104003").count()
            >= 2
        )
        assert not AuditEntry.objects.filter(
            action__startswith="grid.", region_code__startswith="430104002"
        ).exists()
    finally:
        other_committed.set()
        thread.join(timeout=60)
    assert not errors, errors
    audit.seal_all()
    mine = AuditEntry.objects.filter(action__startswith="grid.", region_code__startswith="430104002001")
    assert mine.count() >= 2 and not mine.filter(seq__isnull=True).exists()
    assert audit.verify().ok
