"""Residents' requests under PIPL (个人信息权利请求): a copy of their data, a correction, a deletion.

A request belongs to the resident's account and to their registry person (``person_id``: no FK, the
registry is another app), and to the community that keeps their record (``region_code``), whose
staff (``sharing.rights``) answer it by ``due_at`` (working days, ``SHEQU_PIPL_DAYS``). Values the
resident gives (a corrected ID or mobile number) and the files (a proof, the copy) are encrypted.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.fields import EncryptedModel, EncryptedTextField
from shequ.core.models import Region

__all__ = [
    "DeletionGround",
    "RightsFile",
    "RightsFileKind",
    "RightsKind",
    "RightsRequest",
    "RightsStatus",
]

CODE_LENGTH = 15


class RightsKind(models.TextChoices):
    COPY = "copy", _("Copy of my data")
    CORRECTION = "correction", _("Correction")
    DELETION = "deletion", _("Deletion")


class RightsStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class DeletionGround(models.TextChoices):
    """Why data a resident asked to delete is kept (PIPL Art. 47 and the laws that oblige keeping)."""

    HUKOU = "hukou", _("Household registration: kept under the Household Registration Regulations")
    BASE_DATA = (
        "base_data",
        _("Population base data the government must keep for its duties (PIPL Art. 13(3))"),
    )
    RETENTION = "retention", _("The retention period set by law has not ended (PIPL Art. 47)")
    RECORDS = "records", _("Records of public services and complaints kept under the archives rules")
    OTHER = "other", _("Another legal ground (explained below)")


class RightsRequest(EncryptedModel):
    kind = models.CharField(_("kind"), max_length=12, choices=RightsKind.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=RightsStatus.choices, default=RightsStatus.OPEN
    )
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    person_id = models.BigIntegerField(db_index=True)  # the registry person (another app: no FK)
    person_masked = models.CharField(max_length=50)  # 王*明, for the staff's queue
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")  # the community
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    # Correction: which item (a registry person field, or "other") and the right value.
    item = models.CharField(_("item"), max_length=30, blank=True)
    value = EncryptedTextField(_("right value"))
    # What the resident wrote: the details of a correction, what to delete and why, or a note.
    detail = models.TextField(_("details"), blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    warn_at = models.DateTimeField()
    due_at = models.DateTimeField(db_index=True)
    warned_at = models.DateTimeField(null=True, blank=True)  # staff reminded before the deadline
    overdue_at = models.DateTimeField(null=True, blank=True)  # escalated to the street
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answer = models.TextField(_("answer"), blank=True)  # the reason of a refusal, or what was done
    ground = models.CharField(_("legal ground"), max_length=12, choices=DeletionGround.choices, blank=True)
    applied_fields = models.JSONField(default=list, blank=True)  # registry fields a correction changed

    class Meta:
        ordering: ClassVar = ["due_at", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "due_at"], name="sharing_rights_open_idx"),
            models.Index(fields=["requester", "-submitted_at"], name="sharing_rights_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == RightsStatus.OPEN

    @property
    def is_overdue(self) -> bool:
        return self.is_open and timezone.now() > self.due_at


class RightsFileKind(models.TextChoices):
    PROOF = "proof", _("Proof")
    COPY = "copy", _("Copy of the data")


def _file_path(instance: RightsFile, filename: str) -> str:
    return f"sharing/rights/{instance.request_id}/{instance.token}.bin"


class RightsFile(models.Model):
    """A sealed file of a request (SM4-GCM bound to the request, the kind and a random token): the
    resident's proof of a correction, or the copy of their data the platform generated."""

    request = models.ForeignKey(RightsRequest, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=8, choices=RightsFileKind.choices)
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=_file_path, max_length=200)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    key_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["pk"]
