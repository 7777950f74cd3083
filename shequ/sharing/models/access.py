"""Department access to shared data (精准化授权): grants on the catalog's resources, and the access
log of every call made under them.

A department's system calls the API with a core API token of a department account (``ApiToken``:
hashed, scoped, expiring); a ``Grant`` says what that account may read of one resource: which
fields (and which of them unmasked), which regions, which rows (filters over the resource's
dimensions), until when and how fast. Every call is one ``SharingCall`` (who, which grant, what,
how many rows) with the people it returned (``SharedSubject``) and the communities it touched
(``SharedRegion``), written in one batch per call — never one audit entry per row.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.models import Department

__all__ = ["CallOutcome", "Grant", "SharedRegion", "SharedSubject", "SharingCall"]

CODE_LENGTH = 15


class Grant(models.Model):
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    # The department account whose API tokens use the grant (its system's account).
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resource = models.CharField(_("resource"), max_length=60)  # a DataResource key
    purpose = models.CharField(_("purpose"), max_length=300)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    fields = models.JSONField(_("fields"), default=list)  # field keys returned
    unmasked = models.JSONField(_("unmasked fields"), default=list)  # subset of fields shown in clear
    region_codes = models.JSONField(_("regions"), default=list)  # region code prefixes
    row_filters = models.JSONField(_("row filters"), default=dict)  # {dimension key: value}
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    rate_per_minute = models.PositiveIntegerField(_("calls per minute"), default=60)
    # Null: granted by the platform (a data request's approval, whose deciders its own rows name).
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The data request (供需对接) whose approval created the grant, if any.
    request_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)
    # The scope key: the smallest region holding all of ``region_codes`` (pages list grants by it).
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [models.Index(fields=["client", "resource"])]

    def is_active(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.revoked_at is None and self.starts_at <= moment < self.expires_at  # type: ignore[operator]

    def in_force(self, now: object = None) -> bool:
        """Whether data may flow under the grant (API answers, webhook fan-out and sends): active,
        and its department and client account still active."""
        return self.is_active(now) and self.department.is_active and self.client.is_active


class CallOutcome(models.TextChoices):
    OK = "ok", _("Answered")
    DENIED = "denied", _("Refused")  # no grant, expired, revoked, outside the grant
    LIMITED = "limited", _("Rate limited")
    INVALID = "invalid", _("Bad request")


class SharingCall(models.Model):
    """One API call on shared data (who, which grant, what, how many rows)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, null=True, on_delete=models.PROTECT, related_name="+")
    grant = models.ForeignKey(Grant, null=True, on_delete=models.PROTECT, related_name="calls")
    token_prefix = models.CharField(max_length=12, blank=True)
    resource = models.CharField(max_length=60)
    query = models.JSONField(default=dict)  # the filters and cursor the caller sent
    fields = models.JSONField(default=list)  # what was returned (unmasked ones marked in ``unmasked``)
    unmasked = models.JSONField(default=list)
    rows = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=CallOutcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    region_code = models.CharField(max_length=CODE_LENGTH, blank=True, db_index=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]


class SharedRegion(models.Model):
    """A community whose rows a call returned, with how many (the community sees the call)."""

    call = models.ForeignKey(SharingCall, on_delete=models.CASCADE, related_name="regions")
    region_code = models.CharField(max_length=CODE_LENGTH, db_index=True)
    rows = models.PositiveIntegerField()


class SharedSubject(models.Model):
    """A registry person a call returned data about (the resident's 谁用了我的数据)."""

    call = models.ForeignKey(SharingCall, on_delete=models.CASCADE, related_name="subjects")
    person_id = models.BigIntegerField(db_index=True)
