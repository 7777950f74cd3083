"""Tables of the disclosure area (居务/村务公开, 民主监督; see models/__init__.py).

- ``DisclosureItem``: one thing a community makes public: finances (monthly), ordinary affairs
  (quarterly), a major matter or a subsidy list (at once: within a few working days of the
  decision). It is written as a draft, published (then fixed: a correction is a new item) or
  withdrawn with a reason. ``due_at`` is when it had to be public (``services.disclosure_rules``).
- ``DisclosureFile``: an attachment (a photo or PDF of the ledger, the meeting record), sealed with
  SM4-GCM like the government services' materials.
- ``DisclosureListRow``: a row of a disclosed list (低保 or subsidy recipients). Only the masked
  name and ID number are stored (张*明, 430104********1234): the full values are read, checked and
  dropped at entry; phone numbers are never taken.
- ``DisclosureQuestion``: a resident's question (询问) or challenge (质疑) of a published item,
  possibly of one row; the community answers by a deadline (working days), supervisors see the
  overdue ones.
- ``DisclosureReminder``: that the periodic job told a community's staff a period's item is due
  soon or overdue (once per community, kind, period and stage).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.models import Region

__all__ = [
    "DisclosureFile",
    "DisclosureItem",
    "DisclosureKind",
    "DisclosureListRow",
    "DisclosureQuestion",
    "DisclosureReminder",
    "DisclosureStatus",
    "QuestionKind",
    "QuestionStatus",
    "ReminderStage",
]

CODE_LENGTH = 15


class DisclosureKind(models.TextChoices):
    FINANCE = "finance", pgettext_lazy("disclosure kind", "Finances")
    AFFAIRS = "affairs", pgettext_lazy("disclosure kind", "Ordinary affairs")
    MAJOR = "major", pgettext_lazy("disclosure kind", "Major matter")
    SUBSIDY = "subsidy", pgettext_lazy("disclosure kind", "Subsidies and assistance")
    POLICY = "policy", pgettext_lazy("disclosure kind", "Policies")


class DisclosureStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("disclosure status", "Draft")
    PUBLISHED = "published", pgettext_lazy("disclosure status", "Published")
    WITHDRAWN = "withdrawn", pgettext_lazy("disclosure status", "Withdrawn")


class DisclosureItem(models.Model):
    """One disclosure. ``period_key`` names the period a periodic kind covers (``2026-03`` for a
    month, ``2026Q1`` for a quarter) and is empty for the others, which carry ``decided_on``."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DisclosureKind.choices)
    period_key = models.CharField(_("period"), max_length=7, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    decided_on = models.DateField(_("decision date"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("content"))
    status = models.CharField(max_length=10, choices=DisclosureStatus.choices, default=DisclosureStatus.DRAFT)
    due_at = models.DateTimeField(_("to be public by"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)  # when the overdue notice went out
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdraw_reason = models.CharField(_("reason for withdrawing"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("disclosure item")
        verbose_name_plural = _("disclosure items")
        ordering: ClassVar = ["-published_at", "-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(kind__in=["finance", "affairs"]) | ~Q(period_key=""),
                name="participation_disclosure_period",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | ~Q(withdraw_reason=""),
                name="participation_disclosure_withdraw_reason",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["region_code", "status", "-published_at"], name="part_discl_region_idx"),
            models.Index(fields=["kind", "period_key", "status"], name="part_discl_period_idx"),
            # The deadline job's "draft past its due date, not yet told".
            models.Index(
                fields=["due_at"],
                condition=Q(status="draft", overdue_at__isnull=True, due_at__isnull=False),
                name="part_discl_overdue_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == DisclosureStatus.PUBLISHED

    @property
    def published_late(self) -> bool:
        return bool(self.published_at and self.due_at and self.published_at > self.due_at)


def _file_path(instance: DisclosureFile, filename: str) -> str:
    return f"participation/disclosure/{instance.item_id}/{instance.token}.bin"


class DisclosureFile(models.Model):
    """An attachment: an image re-encoded without EXIF, or a PDF, sealed under the item and token."""

    item = models.ForeignKey(DisclosureItem, on_delete=models.CASCADE, related_name="files")
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=_file_path, max_length=200)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    key_id = models.CharField(max_length=40)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["pk"]


class DisclosureListRow(models.Model):
    """A row of a disclosed list, masked at entry: nothing here identifies a person beyond what the
    notice board on the wall shows."""

    item = models.ForeignKey(DisclosureItem, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # 1, 2, … as listed
    name_masked = models.CharField(_("name"), max_length=50)
    id_masked = models.CharField(_("ID number"), max_length=18)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        ordering: ClassVar = ["item", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "number"], name="participation_disclosure_row_number"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="participation_disclosure_row_amount"),
        ]


class QuestionKind(models.TextChoices):
    QUESTION = "question", pgettext_lazy("disclosure question", "Question (询问)")
    CHALLENGE = "challenge", pgettext_lazy("disclosure question", "Challenge (质疑)")


class QuestionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("disclosure question", "Waiting for the answer")
    ANSWERED = "answered", pgettext_lazy("disclosure question", "Answered")


class DisclosureQuestion(models.Model):
    """A resident's question or challenge of a published item. ``asker_masked`` (张*明) is what
    the public board shows; the account stays for the notice of the answer."""

    item = models.ForeignKey(DisclosureItem, on_delete=models.PROTECT, related_name="questions")
    row = models.ForeignKey(
        DisclosureListRow, null=True, blank=True, on_delete=models.SET_NULL, related_name="questions"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    asker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asker_person_id = models.PositiveBigIntegerField(null=True, blank=True)  # registry person (no FK)
    asker_masked = models.CharField(max_length=50)
    body = models.TextField(_("question"))
    status = models.CharField(max_length=10, choices=QuestionStatus.choices, default=QuestionStatus.OPEN)
    asked_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(_("to be answered by"))
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-asked_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status="open") | (~Q(answer="") & Q(answered_at__isnull=False)),
                name="participation_disclosure_answered",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["region_code", "status", "due_at"], name="part_discl_q_region_idx"),
            models.Index(fields=["asker", "-asked_at"], name="part_discl_q_asker_idx"),
            models.Index(fields=["status", "warn_at"], name="part_discl_q_warn_idx"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status == QuestionStatus.OPEN

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class ReminderStage(models.TextChoices):
    SOON = "soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")


class DisclosureReminder(models.Model):
    region_code = models.CharField(max_length=CODE_LENGTH)
    kind = models.CharField(max_length=10, choices=DisclosureKind.choices)
    period_key = models.CharField(max_length=7)
    stage = models.CharField(max_length=8, choices=ReminderStage.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["region_code", "kind", "period_key", "stage"],
                name="participation_disclosure_reminder",
            )
        ]
