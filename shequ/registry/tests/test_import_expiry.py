"""Uploads kept between an import's dry run and its commit expire: the worker's periodic job
drops their files (ID and phone numbers) when their time is up and deletes the uploads that were
never imported a week later; imported ones stay as the record of the import."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import ScheduledJob
from shequ.registry.handlers import EXPIRED_UPLOADS_KEPT
from shequ.registry.models import ImportBatch, ImportKind, ImportStatus
from shequ.registry.tests.conftest import GRID_A, Registry

pytestmark = pytest.mark.django_db

JOB = "registry.expire_import_uploads"


def upload(reg: Registry, *, expires_at: datetime, status: str = ImportStatus.CHECKED) -> ImportBatch:
    batch = ImportBatch(
        kind=ImportKind.PEOPLE,
        region=reg.region(GRID_A),
        region_code=GRID_A,
        created_by=reg.world["grid_a"],
        expires_at=expires_at,
        filename="people.xlsx",
        status=status,
        report={"kind": "people"},
    )
    batch.content = "" if status == ImportStatus.COMMITTED else "eJwLycgsVgCiRIWS1OISAB3gBJU="
    batch.save()
    return batch


def test_the_worker_drops_expired_files_and_deletes_old_uploads_never_imported(reg: Registry) -> None:
    now = timezone.now()
    fresh = upload(reg, expires_at=now + timedelta(hours=2))
    just_expired = upload(reg, expires_at=now - timedelta(minutes=1))
    long_expired = upload(reg, expires_at=now - EXPIRED_UPLOADS_KEPT - timedelta(minutes=1))
    imported = upload(
        reg, expires_at=now - EXPIRED_UPLOADS_KEPT - timedelta(days=1), status=ImportStatus.COMMITTED
    )

    assert JOB in {job.name for job in outbox.periodic_jobs()}
    assert JOB in outbox.run_due_periodic()  # what `shequ worker` runs on each turn

    fresh.refresh_from_db()
    assert fresh.content and fresh.status == ImportStatus.CHECKED
    just_expired.refresh_from_db()
    assert just_expired.content == "" and just_expired.status == ImportStatus.EXPIRED
    raw = ImportBatch.objects.filter(pk=just_expired.pk).values_list("content", flat=True).get()
    assert raw == ""  # the encrypted file is gone from the database, not only hidden
    assert not ImportBatch.objects.filter(pk=long_expired.pk).exists()
    assert ImportBatch.objects.filter(pk=imported.pk, status=ImportStatus.COMMITTED).exists()

    # Once per period: the next turn of the worker leaves it alone.
    assert JOB not in outbox.run_due_periodic()
    assert ScheduledJob.objects.get(name=JOB).next_run_at > now
