"""The commit: check again and write every valid row in one transaction, or nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.bulk import paused_gc
from shequ.core.models import AuditResult, Region
from shequ.core.outbox import emit
from shequ.core.spreadsheets import Report
from shequ.registry import events
from shequ.registry.imports.dry_run import check
from shequ.registry.imports.writers import WRITERS
from shequ.registry.models import (
    ImportBatch,
    ImportStatus,
)


@dataclass
class CommitResult:
    """``status``: committed; nothing (no valid row); changed (the file no longer checks the same
    as when the user confirmed it: nothing written); refused (the database refused a row: nothing
    written); invalid (the file itself is unusable)."""

    status: str
    report: Report
    created: dict[str, int] = field(default_factory=dict)
    message: str = ""


def _refusal_message(exc: IntegrityError) -> str:
    text = str(exc)
    if "registry_person_unique_id_number" in text or "id_number_index" in text:
        return _(
            "Someone registered one of these people while the import ran; nothing was imported. "
            "Check the file again."
        )
    if "uscc" in text:
        return _(
            "Someone registered one of these organizations while the import ran; nothing was imported. "
            "Check the file again."
        )
    return _(
        "The database refused one of the rows (it conflicts with data saved meanwhile); nothing was "
        "imported. Check the file again."
    )


def commit(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any = None,
    sheet: str | None = None,
    expect: tuple[int, str] | None = None,
    batch: ImportBatch | None = None,
    request: HttpRequest | None = None,
    today: dt.date | None = None,
    workers: int = 1,
) -> CommitResult:
    """Check the file again and write every valid row in one transaction, or nothing. ``expect``
    (valid row count, digest) is what the user confirmed: a file that now checks differently (a
    person registered meanwhile, a house removed) is not written."""
    with paused_gc():
        return _commit(
            content=content,
            filename=filename,
            kind=kind,
            region=region,
            actor=actor,
            sheet=sheet,
            expect=expect,
            batch=batch,
            request=request,
            today=today,
            workers=workers,
        )


def _commit(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any,
    sheet: str | None,
    expect: tuple[int, str] | None,
    batch: ImportBatch | None,
    request: HttpRequest | None,
    today: dt.date | None,
    workers: int,
) -> CommitResult:
    plan = check(
        content=content,
        filename=filename,
        kind=kind,
        region=region,
        actor=actor,
        sheet=sheet,
        today=today,
        workers=workers,
    )
    report = plan.report
    if not report.ok:
        return CommitResult("invalid", report, message=report.file_problems[0].reason)
    if expect is not None and (report.valid_count, report.valid_digest) != tuple(expect):
        return CommitResult(
            "changed",
            report,
            message=_(
                "The file no longer checks the same as when you confirmed it (data changed meanwhile); "
                "nothing was imported. Review the new report."
            ),
        )
    if not plan.rows:
        return CommitResult("nothing", report, message=_("No row can be imported."))
    batch_id = batch.pk if batch is not None else None
    detail = {
        "kind": kind,
        "file": report.filename,
        "rows": report.data_rows,
        "skipped_rows": len(report.error_rows),
        "problems": len(report.problems),
    }
    try:
        with transaction.atomic():
            created, ranges = WRITERS[kind](plan, actor=actor, batch_id=batch_id, workers=workers)
            audit.record(
                "registry.import",
                actor=actor,
                request=request,
                region_code=region.code,
                object_type="registry.importbatch",
                object_id=batch_id or "",
                fields=sorted({c["field"] for c in report.columns if c["field"]}),
                detail={**detail, "created": created},
            )
            emit(
                events.RegistryImported(
                    actor_id=getattr(actor, "pk", None),
                    kind=kind,
                    region_code=region.code,
                    batch_id=batch_id,
                    created=created,
                    id_ranges=ranges,
                )
            )
            if batch is not None:
                batch.status = ImportStatus.COMMITTED
                batch.committed_at = timezone.now()
                # The file stays (encrypted) until it expires, for the download of the rows to correct.
                batch.report = report.to_json()
                batch.result = {"created": created}
                batch.save(update_fields=["status", "committed_at", "report", "result"])
    except IntegrityError as exc:
        audit.record(
            "registry.import",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="registry.importbatch",
            object_id=batch_id or "",
            result=AuditResult.FAILURE,
            detail={**detail, "why": "integrity"},
        )
        return CommitResult("refused", report, message=_refusal_message(exc))
    return CommitResult("committed", report, created=created)
