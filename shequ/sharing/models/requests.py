"""Data requests (供需对接): a department asks for a resource of the catalog; the data's owner
(数源单位, ``sharing.own`` over the requested regions) and a security administrator
(``sharing.grant``) each approve or refuse; the second approval creates the grant in its own
transaction (``Grant`` of ``models/access.py``, linked back here)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.models import Department
from shequ.sharing.models.access import CODE_LENGTH, Grant

__all__ = ["DataRequest", "Decision", "RequestStatus"]


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for decisions")
    APPROVED = "approved", _("Approved: grant created")
    REFUSED = "refused", _("Refused")


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approved")
    REFUSE = "refuse", _("Refused")


class DataRequest(models.Model):
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The department account the grant will be for (its system's API tokens use it).
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resource = models.CharField(_("resource"), max_length=60)  # a DataResource key
    fields = models.JSONField(_("fields"), default=list)
    unmasked = models.JSONField(_("unmasked fields"), default=list)
    region_codes = models.JSONField(_("regions"), default=list)
    row_filters = models.JSONField(_("row filters"), default=dict)
    purpose = models.CharField(_("purpose"), max_length=300)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    duration_days = models.PositiveIntegerField(_("for how many days"))
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    # The smallest region holding every requested region: deciders' queues are scoped by it.
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    owner_decision = models.CharField(max_length=8, choices=Decision.choices, blank=True)
    owner_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner_at = models.DateTimeField(null=True, blank=True)
    owner_reason = models.CharField(max_length=300, blank=True)
    security_decision = models.CharField(max_length=8, choices=Decision.choices, blank=True)
    security_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    security_at = models.DateTimeField(null=True, blank=True)
    security_reason = models.CharField(max_length=300, blank=True)
    grant = models.OneToOneField(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="data_request"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["status", "region_code"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.resource}"
