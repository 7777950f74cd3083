"""Writes about ledgers (台账): an export from the page, a generated run (on demand or by a
schedule, made in the worker), the download of its file, and schedules.

Every one checks the actor's permission over the whole area, writes its audit entry in the same
transaction, and refuses bad input with a clear error before writing anything.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.components import LEDGER_AS_OF, LEDGER_END, LEDGER_REGION, LEDGER_START, Ledger
from shequ.core.excel import XLSX_CONTENT_TYPE
from shequ.core.messaging import notify
from shequ.core.models import AuditResult, Region, User
from shequ.core.outbox import DomainEvent, emit, register_event
from shequ.core.permissions import Viewer
from shequ.core.sealed_files import open_sealed, seal_content
from shequ.reports import selectors_ledgers as S
from shequ.reports.ledger_workbook import ledger_day, ledger_workbook, region_title
from shequ.reports.models import Frequency, LedgerRun, LedgerSchedule, RunStatus

log = logging.getLogger(__name__)

EXPORT_MAX_ROWS = 20_000
OBJECT = "reports.ledger"
RUN_HOUR = 2  # scheduled runs start at 02:00 Beijing time, away from office hours


def _require_export(actor: Any, ledger: Ledger, region_code: str, *, action: str, request: Any) -> None:
    """Return when ``actor`` may export ``ledger`` in the region; else audit the refusal and raise."""
    if S.can_export(actor, ledger, [region_code]):
        return
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=region_code,
        object_type=OBJECT,
        object_id=ledger.key,
        result=AuditResult.DENIED,
        detail={"why": f"no {S.export_perm(ledger)} in this region"},
    )
    raise PermissionDenied(_("You may not export this ledger."))


def export_max_rows() -> int:
    return int(getattr(settings, "LEDGER_EXPORT_MAX_ROWS", EXPORT_MAX_ROWS))


class TooManyRows(ValidationError):
    """The export would exceed the cap; the page says so and suggests narrowing it."""


@dataclass(frozen=True)
class Workbook:
    content: bytes
    filename: str  # ASCII
    title: str  # the Chinese file name

    def disposition(self) -> str:
        return f"attachment; filename=\"{self.filename}\"; filename*=UTF-8''{quote(self.title)}"


def _plain(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Filters as JSON (dates as ISO strings), for audit details and stored runs."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items()}


def _parsed(ledger: Ledger, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored run's filters back as values the ledger's query takes."""
    values = dict(stored)
    for name in (LEDGER_AS_OF, LEDGER_START, LEDGER_END):
        if isinstance(values.get(name), str):
            values[name] = date.fromisoformat(values[name])
    return values


def _build(
    ledger: Ledger,
    *,
    objects: list[Any],
    filters: Mapping[str, Any],
    area: str,
    exporter: str,
    unit: str,
    full: bool,
    at: datetime,
) -> Workbook:
    content = ledger_workbook(
        ledger=ledger,
        rows=objects,
        filters=filters,
        area=area,
        unit=unit,
        exporter=exporter,
        full=full,
        exported_at=at,
    )
    day = ledger_day(filters).strftime("%Y%m%d")
    return Workbook(content, f"ledger-{ledger.key}-{day}.xlsx", f"{area}{ledger.title}-{day}.xlsx")


# --- Export from the page -----------------------------------------------------------------------


def ledger_export(
    *,
    actor: Viewer,
    ledger: Ledger,
    filters: dict[str, Any],
    full: bool,
    reason: str,
    request: HttpRequest | None = None,
) -> Workbook:
    """The ledger's rows in the actor's scope as a workbook: masked unless ``full`` (which needs the
    ledger's reveal permission, the platform's and a reason, and is audited as a reveal); capped,
    watermarked and audited as ``reports.ledger_export``. Refusals are audited too."""
    codes = S.area_codes(actor, ledger, filters)
    area_code = S.single_area(codes)
    shown = _plain(filters)
    if not S.can_export(actor, ledger, codes):
        audit.record(
            "reports.ledger_export",
            actor=actor,
            request=request,
            region_code=area_code,
            object_type=OBJECT,
            object_id=ledger.key,
            result=AuditResult.DENIED,
            detail={"why": "no export permission"},
        )
        raise PermissionDenied(_("You may not export this ledger."))
    fields = list(ledger.reveal_fields) if full else []
    if full and not S.can_reveal(actor, ledger, codes):
        audit.record(
            "personal.reveal",
            actor=actor,
            request=request,
            region_code=area_code,
            object_type=OBJECT,
            object_id=ledger.key,
            fields=list(ledger.reveal_fields),
            reason=reason,
            result=AuditResult.DENIED,
            detail={"why": "no reveal permission in this region"},
        )
        raise PermissionDenied(_("You may not see full ID and phone numbers here."))
    rows = ledger.query(actor, filters)
    total = rows.count()
    limit = export_max_rows()
    if total > limit:
        audit.record(
            "reports.ledger_export",
            actor=actor,
            request=request,
            region_code=area_code,
            object_type=OBJECT,
            object_id=ledger.key,
            result=AuditResult.DENIED,
            detail={"why": "too many rows", "rows": total, "limit": limit, "filters": shown},
        )
        raise TooManyRows(
            _(
                "This ledger has %(n)d rows; an export holds at most %(max)d. Choose a smaller region "
                "or narrow the filters."
            )
            % {"n": total, "max": limit},
            code="too_many_rows",
        )
    objects = list(rows)
    book = _build(
        ledger,
        objects=objects,
        filters=filters,
        area=region_title(codes),
        exporter=S.person_name(actor),
        unit=S.unit_of(actor),
        full=full,
        at=timezone.now(),
    )
    with transaction.atomic():
        if ledger.record_view is not None:
            ledger.record_view(actor, objects, request, f"ledger_export:{ledger.key}")
        if full:
            audit.record(
                "personal.reveal",
                actor=actor,
                request=request,
                region_code=area_code,
                object_type=OBJECT,
                object_id=ledger.key,
                fields=fields,
                reason=reason,
                detail={"rows": len(objects), "context": "ledger export"},
            )
        audit.record(
            "reports.ledger_export",
            actor=actor,
            request=request,
            region_code=area_code,
            object_type=OBJECT,
            object_id=ledger.key,
            fields=fields,
            reason=reason,
            detail={"ledger": ledger.key, "filters": shown, "rows": len(objects), "full": full},
        )
    return book


# --- Generated runs -----------------------------------------------------------------------------


@register_event
class LedgerRunRequested(DomainEvent):
    name = "reports.ledger_run_requested"
    run_id: int


def _region_for_run(actor: Viewer, ledger: Ledger, filters: Mapping[str, Any]) -> Region:
    codes = S.area_codes(actor, ledger, dict(filters))
    if len(codes) != 1:
        raise ValidationError({LEDGER_REGION: _("Choose one region to generate the ledger for.")})
    region = Region.objects.filter(code=codes[0]).first()
    if region is None:
        raise ValidationError({LEDGER_REGION: _("There is no region with this code.")})
    return region


def _check_region(actor: Viewer, ledger: Ledger, code: str) -> None:
    """The service's own scope check: the form checked it too, a direct call must not skip it."""
    S.clean_region_code(actor, S.view_perms(ledger), code)


def ledger_run_request(
    *, actor: User, ledger: Ledger, filters: dict[str, Any], request: HttpRequest | None = None
) -> LedgerRun:
    """Queue the generation of the ledger with these (validated) filters; the worker makes the file
    and tells the actor. Needs the ledger's export permission over the region."""
    if not ledger.is_visible_to(actor):
        raise PermissionDenied(_("You may not see this ledger."))
    if filters.get(LEDGER_REGION):
        _check_region(actor, ledger, filters[LEDGER_REGION])
    region = _region_for_run(actor, ledger, filters)
    _require_export(actor, ledger, region.code, action="reports.ledger_run", request=request)
    stored = _plain({**filters, LEDGER_REGION: region.code})
    with transaction.atomic():
        run = LedgerRun.objects.create(
            ledger_key=ledger.key,
            region=region,
            region_code=region.code,
            filters=stored,
            requested_by=actor,
            period_start=filters.get(LEDGER_START),
            period_end=ledger_day(filters),
        )
        audit.record(
            "reports.ledger_run",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="reports.ledger_run",
            object_id=run.pk,
            detail={"ledger": ledger.key, "filters": stored},
        )
        emit(LedgerRunRequested(run_id=run.pk))
    return run


def period_label(run: LedgerRun) -> str:
    """How a run names its period: "2026年11月", "2026年第4季度", or its day."""
    start, end = run.period_start, run.period_end
    if run.schedule_id is not None and start is not None and end is not None:
        if run.schedule is not None and run.schedule.frequency == Frequency.QUARTERLY:
            return _("Q%(quarter)d %(year)d") % {"quarter": (start.month - 1) // 3 + 1, "year": start.year}
        return date_format(start, "YEAR_MONTH_FORMAT")  # 2026年11月, November 2026
    if start is not None and end is not None:
        return f"{start.isoformat()}—{end.isoformat()}"
    return end.isoformat() if end is not None else ""


def _run_aad(run: LedgerRun, token: str) -> bytes:
    return f"reports.ledger_run:{run.pk}:{run.ledger_key}:{run.region_code}:{token}".encode()


def _fail(run: LedgerRun, message: str) -> None:
    run.status = RunStatus.FAILED
    run.error = message[:300]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def ledger_run_generate(*, run_id: int) -> LedgerRun | None:
    """Make a queued run's workbook (the worker's task; idempotent: a run made already, or failed,
    is left as it is). The rows are those the requester sees now, masked."""
    with transaction.atomic():
        run = (
            LedgerRun.objects.select_for_update(of=("self",))
            .select_related("requested_by", "schedule")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != RunStatus.QUEUED:
            return run
        owner = run.requested_by
        ledger = S.all_ledgers().get(run.ledger_key)
        if ledger is None:
            _fail(run, _("This ledger no longer exists."))
            return run
        if not ledger.is_visible_to(owner) or not S.can_export(owner, ledger, [run.region_code]):
            _fail(run, _("You may no longer export this ledger for this region."))
            return run
        filters = _parsed(ledger, run.filters)
        rows = ledger.query(owner, filters)
        total = rows.count()
        if total > export_max_rows():
            _fail(
                run,
                _("This ledger has %(n)d rows; an export holds at most %(max)d. Choose a smaller region.")
                % {"n": total, "max": export_max_rows()},
            )
            return run
        objects = list(rows)
        now = timezone.now()
        book = _build(
            ledger,
            objects=objects,
            filters=filters,
            area=region_title([run.region_code]),
            exporter=S.person_name(owner),
            unit=S.unit_of(owner),
            full=False,
            at=now,
        )
        if ledger.record_view is not None:
            ledger.record_view(owner, objects, None, f"ledger_run:{run.pk}")
        sealed = seal_content(
            book.content,
            aad=lambda token: _run_aad(run, token),
            content_type=XLSX_CONTENT_TYPE,
            filename=book.title,
        )
        run.token = sealed.token
        run.key_id = sealed.key_id
        run.size = sealed.size
        run.filename = sealed.filename
        run.file.save(f"{sealed.token}.bin", sealed.content, save=False)
        run.rows = len(objects)
        run.status = RunStatus.DONE
        run.finished_at = now
        run.save()
        audit.record(
            "reports.ledger_generated",
            actor=owner,
            region_code=run.region_code,
            object_type="reports.ledger_run",
            object_id=run.pk,
            detail={"ledger": ledger.key, "rows": run.rows, "schedule": run.schedule_id},
        )
        subject = _("“%(title)s” for %(period)s is ready to download") % {
            "title": ledger.title,
            "period": period_label(run),
        }
        body = _("%(area)s: %(n)d rows. The file carries your name and is recorded in the audit log.") % {
            "area": region_title([run.region_code]),
            "n": run.rows,
        }
        notify(
            sender=None,
            recipients=[owner],
            subject=subject,
            body=body,
            link=reverse("reports:ledger_run", args=[run.pk]),
            region_code=run.region_code,
            topic="reports.ledger_run",
            topic_ref=str(run.pk),
            dedupe_key=f"reports.ledger_run:{run.pk}",
        )
    return run


def ledger_run_open(*, actor: Viewer, run: LedgerRun, request: HttpRequest | None = None) -> Workbook:
    """A generated file for download: the run must be in the actor's area (the selector), the
    ledger visible to them and exportable there; audited as ``reports.ledger_download``."""
    ledger = S.all_ledgers().get(run.ledger_key)
    if run.status != RunStatus.DONE or ledger is None:
        raise ValidationError(_("This ledger has no file to download."), code="no_file")
    if not ledger.is_visible_to(actor) or not S.can_export(actor, ledger, [run.region_code]):
        audit.record(
            "reports.ledger_download",
            actor=actor,
            request=request,
            region_code=run.region_code,
            object_type="reports.ledger_run",
            object_id=run.pk,
            result=AuditResult.DENIED,
            detail={"why": "no export permission"},
        )
        raise PermissionDenied(_("You may not export this ledger."))
    content = open_sealed(run.file, run.key_id, _run_aad(run, run.token))
    audit.record(
        "reports.ledger_download",
        actor=actor,
        request=request,
        region_code=run.region_code,
        object_type="reports.ledger_run",
        object_id=run.pk,
        detail={"ledger": run.ledger_key, "rows": run.rows},
    )
    day = (run.period_end or timezone.localdate()).strftime("%Y%m%d")
    return Workbook(content, f"ledger-{run.ledger_key}-{day}.xlsx", run.filename)


# --- Schedules ----------------------------------------------------------------------------------


def _months_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(RUN_HOUR)))


def first_run(frequency: str, day: int, now: datetime) -> datetime:
    """The first time a new schedule runs: ``day`` of the next month (of the next quarter's first
    month when quarterly) at 02:00 that is still to come."""
    today = timezone.localtime(now).date()
    month = today.replace(day=1)
    for ahead in range(0, 13):
        candidate = _months_after(month, ahead).replace(day=day)
        if frequency == Frequency.QUARTERLY and candidate.month % 3 != 1:
            continue
        if _at(candidate) > now:
            return _at(candidate)
    raise AssertionError("a run within a year")


def period_before(frequency: str, run_day: date) -> tuple[date, date]:
    """The month (or quarter) that ended before ``run_day``."""
    length = 3 if frequency == Frequency.QUARTERLY else 1
    first_of_month = run_day.replace(day=1)
    if frequency == Frequency.QUARTERLY:
        first_of_month = first_of_month.replace(month=(first_of_month.month - 1) // 3 * 3 + 1)
    start = _months_after(first_of_month, -length)
    last = _months_after(start, length - 1)
    end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    return start, end


def ledger_schedule_create(
    *,
    actor: User,
    ledger: Ledger,
    region_code: str,
    frequency: str,
    day: int,
    request: HttpRequest | None = None,
) -> LedgerSchedule:
    """Generate the ledger for one region after each month or quarter, for the actor."""
    if not ledger.is_visible_to(actor):
        raise PermissionDenied(_("You may not see this ledger."))
    if frequency not in Frequency.values:
        raise ValidationError({"frequency": _("Choose monthly or quarterly.")})
    if not 1 <= int(day) <= 28:
        raise ValidationError({"day": _("Choose a day between 1 and 28.")})
    if region_code:
        _check_region(actor, ledger, region_code)
    region = _region_for_run(actor, ledger, {LEDGER_REGION: region_code})
    _require_export(actor, ledger, region.code, action="reports.ledger_schedule", request=request)
    try:
        with transaction.atomic():
            schedule = LedgerSchedule.objects.create(
                ledger_key=ledger.key,
                region=region,
                region_code=region.code,
                frequency=frequency,
                day=int(day),
                owner=actor,
                next_run_at=first_run(frequency, int(day), timezone.now()),
            )
            audit.record(
                "reports.ledger_schedule",
                actor=actor,
                request=request,
                region_code=region.code,
                object_type="reports.ledger_schedule",
                object_id=schedule.pk,
                detail={"ledger": ledger.key, "frequency": frequency, "day": int(day)},
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("You already have this schedule for this ledger and region."), code="duplicate"
        ) from exc
    return schedule


def ledger_schedule_stop(
    *, actor: User, schedule: LedgerSchedule, request: HttpRequest | None = None
) -> LedgerSchedule:
    """Stop a schedule: its owner, or whoever may export the ledger for its region."""
    ledger = S.all_ledgers().get(schedule.ledger_key)
    allowed = schedule.owner_id == actor.pk or (
        ledger is not None and S.can_export(actor, ledger, [schedule.region_code])
    )
    if not allowed:
        audit.record(
            "reports.ledger_schedule_stop",
            actor=actor,
            request=request,
            region_code=schedule.region_code,
            object_type="reports.ledger_schedule",
            object_id=schedule.pk,
            result=AuditResult.DENIED,
            detail={"why": "not the owner and no export permission"},
        )
        raise PermissionDenied(_("You may not stop this schedule."))
    with transaction.atomic():
        updated = LedgerSchedule.objects.filter(pk=schedule.pk, active=True).update(
            active=False, stopped_at=timezone.now()
        )
        if updated:
            audit.record(
                "reports.ledger_schedule_stop",
                actor=actor,
                request=request,
                region_code=schedule.region_code,
                object_type="reports.ledger_schedule",
                object_id=schedule.pk,
                detail={"ledger": schedule.ledger_key},
            )
    schedule.refresh_from_db()
    return schedule


def _schedule_filters(ledger: Ledger, schedule: LedgerSchedule, start: date, end: date) -> dict[str, Any]:
    filters: dict[str, Any] = {LEDGER_REGION: schedule.region_code}
    if LEDGER_START in ledger.filters:
        filters.update({LEDGER_START: start, LEDGER_END: end})
    else:
        filters[LEDGER_AS_OF] = end
    return filters


def schedules_run_due(*, now: datetime | None = None) -> list[LedgerRun]:
    """Queue a run for every active schedule whose time has come, for the period that ended before
    it, and move the schedule on. Idempotent: a period's run is made once (unique per schedule and
    period), and a schedule is claimed with a conditional UPDATE so two workers never both take it."""
    moment = now or timezone.now()
    made: list[LedgerRun] = []
    ledgers = S.all_ledgers()
    due = LedgerSchedule.objects.filter(active=True, next_run_at__lte=moment).order_by("next_run_at", "pk")
    for schedule in due.select_related("owner"):
        run_day = timezone.localtime(schedule.next_run_at).date()
        start, end = period_before(schedule.frequency, run_day)
        step = 3 if schedule.frequency == Frequency.QUARTERLY else 1
        following = _at(_months_after(run_day.replace(day=1), step).replace(day=schedule.day))
        with transaction.atomic():
            claimed = LedgerSchedule.objects.filter(
                pk=schedule.pk, active=True, next_run_at=schedule.next_run_at
            ).update(next_run_at=following)
            if not claimed:
                continue
            ledger = ledgers.get(schedule.ledger_key)
            if ledger is None:
                log.warning("schedule %s: ledger %s is no longer declared", schedule.pk, schedule.ledger_key)
                continue
            run, created = LedgerRun.objects.get_or_create(
                schedule=schedule,
                period_start=start,
                defaults={
                    "ledger_key": schedule.ledger_key,
                    "region_id": schedule.region_id,
                    "region_code": schedule.region_code,
                    "filters": _plain(_schedule_filters(ledger, schedule, start, end)),
                    "requested_by": schedule.owner,
                    "period_end": end,
                },
            )
            if created:
                emit(LedgerRunRequested(run_id=run.pk))
                made.append(run)
    return made
