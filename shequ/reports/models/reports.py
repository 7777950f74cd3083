"""Tables of the reports area (统一报表; see models/__init__.py).

- ``ReportTemplate``: one version of a report's definition (rows, columns, manual fields, see
  ``shequ.reports.definitions``). A change is a new version; one version per key is active and
  instances keep the exact version they were filled with.
- ``ReportInstance``: a region's report for one period. A community's numbers are computed from
  the apps' statistics; a street's (and every level above) are the sums of its children's latest
  submitted snapshots. Plus the region's own manual fields.
- ``ReportSnapshot``: what was submitted, frozen (each submission a new revision); only its
  outcome (approved / returned with a reason) is written later.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.models import Region, RegionLevel

__all__ = [
    "InstanceStatus",
    "Periodicity",
    "ReportInstance",
    "ReportSnapshot",
    "ReportTemplate",
    "SnapshotOutcome",
    "period_of",
]

CODE_LENGTH = 15


class Periodicity(models.TextChoices):
    MONTHLY = "monthly", pgettext_lazy("report periodicity", "Monthly")
    QUARTERLY = "quarterly", pgettext_lazy("report periodicity", "Quarterly")
    YEARLY = "yearly", pgettext_lazy("report periodicity", "Yearly")


class InstanceStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("report status", "To submit")
    SUBMITTED = "submitted", pgettext_lazy("report status", "Submitted")
    RETURNED = "returned", pgettext_lazy("report status", "Returned")
    APPROVED = "approved", pgettext_lazy("report status", "Approved")


class SnapshotOutcome(models.TextChoices):
    NONE = "", pgettext_lazy("report outcome", "Awaiting review")
    APPROVED = "approved", pgettext_lazy("report outcome", "Approved")
    RETURNED = "returned", pgettext_lazy("report outcome", "Returned")


def period_of(periodicity: str, day: date) -> tuple[date, date]:
    """The period (first and last day, both included) of ``periodicity`` holding ``day``."""
    if periodicity == Periodicity.MONTHLY:
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
    elif periodicity == Periodicity.QUARTERLY:
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        following = (start + timedelta(days=93)).replace(day=1)
    elif periodicity == Periodicity.YEARLY:
        start = day.replace(month=1, day=1)
        following = start.replace(year=start.year + 1)
    else:
        raise ValueError(f"unknown periodicity {periodicity!r}")
    return start, following - timedelta(days=1)


class ReportTemplate(models.Model):
    key = models.SlugField(_("key"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    title = models.CharField(_("title"), max_length=120)
    number = models.CharField(_("form number"), max_length=60, blank=True)
    periodicity = models.CharField(_("periodicity"), max_length=10, choices=Periodicity.choices)
    fill_level = models.CharField(
        _("filled by"), max_length=10, choices=RegionLevel.choices, default=RegionLevel.COMMUNITY
    )
    receive_level = models.CharField(
        _("received by"), max_length=10, choices=RegionLevel.choices, default=RegionLevel.COUNTY
    )
    definition = models.JSONField(_("definition"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(_("what changed"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")
        ordering: ClassVar = ["key", "-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["key", "version"], name="reports_template_key_version"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(active=True), name="reports_template_one_active"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="reports_template_version_min"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    def period_of(self, day: date) -> tuple[date, date]:
        return period_of(self.periodicity, day)


class ReportInstance(models.Model):
    template = models.ForeignKey(ReportTemplate, on_delete=models.PROTECT, related_name="instances")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    level = models.CharField(max_length=10, choices=RegionLevel.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=InstanceStatus.choices, default=InstanceStatus.DRAFT
    )
    values = models.JSONField(default=dict)  # {"row:column": number or None}
    manual = models.JSONField(default=dict)  # {row key: value}
    filled_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    return_reason = models.CharField(_("reason for returning"), max_length=500, blank=True)
    revision = models.PositiveIntegerField(default=0)  # submissions so far

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering: ClassVar = ["-period_start", "template__key", "region_code"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["template", "region_code", "period_start"], name="reports_instance_unique"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="reports_instance_period"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["region_code", "status"], name="reports_inst_region_idx"),
            models.Index(fields=["template", "period_start", "status"], name="reports_inst_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template.title} {self.region_code} {self.period_start:%Y-%m}"

    @property
    def editable(self) -> bool:
        return self.status in (InstanceStatus.DRAFT, InstanceStatus.RETURNED)


class ReportSnapshot(models.Model):
    instance = models.ForeignKey(ReportInstance, on_delete=models.CASCADE, related_name="snapshots")
    revision = models.PositiveIntegerField()
    values = models.JSONField(default=dict)
    manual = models.JSONField(default=dict)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=SnapshotOutcome.choices, blank=True, default="")
    outcome_reason = models.CharField(max_length=500, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("submitted report")
        verbose_name_plural = _("submitted reports")
        ordering: ClassVar = ["instance", "-revision"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["instance", "revision"], name="reports_snapshot_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} r{self.revision}"
