"""Uploads kept between the dry run and the commit."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import AuditResult, Region
from shequ.core.permissions import has_perm
from shequ.core.spreadsheets import Report
from shequ.registry.imports._common import BATCH_TTL
from shequ.registry.imports.committing import CommitResult, commit
from shequ.registry.imports.dry_run import check, check_region
from shequ.registry.models import (
    ImportBatch,
    ImportStatus,
)
from shequ.registry.permissions import RegistryPerm as P

# --- Uploads kept between the dry run and the commit ---------------------------------------------


def _pack(content: bytes) -> str:
    import zlib

    return base64.b64encode(zlib.compress(content, 6)).decode()


def _unpack(text: str) -> bytes:
    import zlib

    return zlib.decompress(base64.b64decode(text))


def purge_expired_batches(now: dt.datetime | None = None) -> int:
    """Drop the files of expired uploads (their reports stay); uploads never committed are marked
    expired."""
    now = now or timezone.now()
    stale = list(ImportBatch.objects.filter(expires_at__lte=now).exclude(content="").only("pk", "status"))
    for batch in stale:
        batch.content = ""
        if batch.status == ImportStatus.CHECKED:
            batch.status = ImportStatus.EXPIRED
        batch.save(update_fields=["content", "status"])
    return len(stale)


def batch_create(
    *,
    actor: Any,
    kind: str,
    region: Region,
    filename: str,
    content: bytes,
    sheet: str | None = None,
    request: HttpRequest | None = None,
) -> ImportBatch:
    """Check an upload (the dry run) and keep it, encrypted, with its report for the commit.
    Registry data is not touched; the check is audited (it tells whether ID numbers are known)."""
    try:
        check_region(actor=actor, region=region, kind=kind)
    except PermissionDenied:
        audit.record(
            "registry.import_check",
            actor=actor,
            request=request,
            region_code=region.code,
            result=AuditResult.DENIED,
            detail={"kind": kind, "why": "no import right in this region"},
        )
        raise
    purge_expired_batches()
    plan = check(content=content, filename=filename, kind=kind, region=region, actor=actor, sheet=sheet)
    report = plan.report
    with transaction.atomic():
        batch = ImportBatch(
            kind=kind,
            region=region,
            region_code=region.code,
            created_by=actor,
            expires_at=timezone.now() + BATCH_TTL,
            filename=filename[:200],
            options={"sheet": sheet} if sheet else {},
            report=report.to_json(),
        )
        # Kept for the commit and for the workbook of rows to correct.
        batch.content = _pack(content) if report.ok else ""
        batch.save()
        audit.record(
            "registry.import_check",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="registry.importbatch",
            object_id=batch.pk,
            detail={
                "kind": kind,
                "file": batch.filename,
                "rows": report.data_rows,
                "valid": report.valid_count,
                "problems": len(report.problems),
            },
        )
    return batch


def batch_report(batch: ImportBatch) -> Report:
    return Report.from_json(batch.report)


def batch_for(viewer: Any, pk: Any) -> ImportBatch:
    """An upload of ``viewer``'s own, in a region where they still may import; 404 otherwise."""
    from django.http import Http404

    try:
        batch = ImportBatch.objects.select_related("region").get(pk=int(pk), created_by=viewer)
    except (ImportBatch.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc
    if not has_perm(viewer, P.IMPORT, batch.region_code):
        raise Http404
    return batch


def batch_commit(
    *, actor: Any, batch: ImportBatch, expect_count: int, request: HttpRequest | None = None
) -> CommitResult:
    """Import the valid rows of a checked upload: the user confirmed ``expect_count`` rows."""
    report = batch_report(batch)
    if batch.status != ImportStatus.CHECKED or not batch.content or batch.expires_at <= timezone.now():
        message = (
            _("This file was imported already.")
            if batch.status == ImportStatus.COMMITTED
            else _("This upload has expired: upload the file again.")
        )
        return CommitResult("invalid", report, message=message)
    if expect_count != report.valid_count:
        return CommitResult("changed", report, message=_("Confirm the number of rows shown on the report."))
    with transaction.atomic():
        # One commit per upload, even when the button is pressed twice.
        locked = (
            ImportBatch.objects.select_for_update().filter(pk=batch.pk, status=ImportStatus.CHECKED).first()
        )
        if locked is None:
            return CommitResult("invalid", report, message=_("This file was imported already."))
        result = commit(
            content=_unpack(batch.content),
            filename=batch.filename,
            kind=batch.kind,
            region=batch.region,
            actor=actor,
            sheet=(batch.options or {}).get("sheet"),
            expect=(report.valid_count, report.valid_digest),
            batch=locked,
            request=request,
        )
        if result.status == "changed":
            locked.report = result.report.to_json()
            locked.save(update_fields=["report"])
    batch.refresh_from_db()
    return result


def batch_file(batch: ImportBatch) -> bytes:
    return _unpack(batch.content) if batch.content else b""
