"""The registry's periodic jobs; imported by RegistryConfig.ready()."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from shequ.core.outbox import periodic
from shequ.registry.models import ImportBatch, ImportStatus

log = logging.getLogger(__name__)

# An upload that was never imported stays listed (as expired, without its file) this long after
# it expired, so that its uploader sees why it can no longer be committed; then it goes.
EXPIRED_UPLOADS_KEPT = timedelta(days=7)


@periodic("registry.expire_import_uploads", every=timedelta(hours=1))
def expire_import_uploads() -> None:
    """Drop the files of uploads past their time (they hold ID and phone numbers) and delete the
    uploads that were never imported a while later. Imported ones stay: their report and result
    are the record of what the import wrote (their file went at the commit)."""
    from shequ.registry import imports  # heavy (Excel readers): loaded when the job runs

    now = timezone.now()
    dropped = imports.purge_expired_batches(now)
    deleted, _by_model = (
        ImportBatch.objects.exclude(status=ImportStatus.COMMITTED)
        .filter(expires_at__lte=now - EXPIRED_UPLOADS_KEPT)
        .delete()
    )
    if dropped or deleted:
        log.info("import uploads: %d files dropped, %d uploads deleted", dropped, deleted)
