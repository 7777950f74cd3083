"""Ledgers generated into files (台账生成): one run per request or scheduled period, and the
schedules that make them each month or quarter. The rows come from the ledger's declaration in its
app's manifest (``Ledger``); a run keeps the workbook sealed (``core.sealed_files``)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.models import Region

__all__ = ["Frequency", "LedgerRun", "LedgerSchedule", "RunStatus"]

CODE_LENGTH = 15


class Frequency(models.TextChoices):
    MONTHLY = "monthly", pgettext_lazy("ledger schedule", "Monthly")
    QUARTERLY = "quarterly", pgettext_lazy("ledger schedule", "Quarterly")


class LedgerSchedule(models.Model):
    """Generate ``ledger_key`` for ``region`` after each month or quarter, on ``day`` of the next
    month, for ``owner`` (who may see it) and tell them it is ready."""

    ledger_key = models.CharField(_("ledger"), max_length=64)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    day = models.PositiveSmallIntegerField(_("day of the month"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(_("next run"), db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["ledger_key", "region_code", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["owner", "ledger_key", "region_code", "frequency"],
                condition=Q(active=True),
                name="reports_ledger_schedule_once",
            ),
            models.CheckConstraint(condition=Q(day__gte=1, day__lte=28), name="reports_ledger_schedule_day"),
        ]


class RunStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("ledger run", "Being generated")
    DONE = "done", pgettext_lazy("ledger run", "Ready")
    FAILED = "failed", pgettext_lazy("ledger run", "Failed")


def _run_path(instance: LedgerRun, filename: str) -> str:
    return f"reports/ledgers/{instance.region_code}/{instance.token}.bin"


class LedgerRun(models.Model):
    """One generated workbook: the ledger, area and filters it was made with, by whom (a person's
    request, or a schedule for one period), its rows and its sealed file — or why it failed."""

    ledger_key = models.CharField(_("ledger"), max_length=64)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    filters = models.JSONField(default=dict)  # dates as ISO strings
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    schedule = models.ForeignKey(
        LedgerSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    token = models.CharField(max_length=32, blank=True)
    file = models.FileField(upload_to=_run_path, max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(default=0)
    key_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            # The scheduler's idempotence: one run per schedule and period, however often it looks.
            models.UniqueConstraint(
                fields=["schedule", "period_start"],
                condition=Q(schedule__isnull=False),
                name="reports_ledger_run_once_per_period",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["region_code", "ledger_key"], name="reports_ledger_run_area")
        ]
