"""Grants (精准化授权): what a department's account may read of one catalog resource — fields (and
which unmasked), regions, rows, until when and how fast — created and revoked by a security
administrator, never by or for themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.components import DataResource, Sensitivity, SharingType, resources_all
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, Department, Membership, Region, Role, User, common_region_code
from shequ.core.permissions import Viewer
from shequ.core.text import bounded_text
from shequ.sharing.models import Grant
from shequ.sharing.permissions import SharePerm as P

__all__ = ["GRANT_MAX_DAYS", "RATE_MAX", "grant_create", "grant_revoke"]

GRANT_MAX_DAYS = 365
RATE_MAX = 6000  # calls per minute: a hundred a second is more than any department system needs
TEXT_MAX = 300
# Fields a grant may name as unmasked: personal information (sensitive personal information is
# personal information too, PIPL art. 28); public and internal fields are never masked.
MASKABLE = frozenset({Sensitivity.PERSONAL, Sensitivity.SENSITIVE})


def _refuse(
    actor: Viewer | None,
    action: str,
    why: str,
    *,
    region_code: str = "",
    object_id: Any = "",
    request: HttpRequest | None = None,
) -> PermissionDenied:
    audit.record(
        f"sharing.{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=region_code,
        object_type="sharing.grant",
        object_id=object_id,
        result=AuditResult.DENIED,
        reason=why,
    )
    return PermissionDenied(_("You may not grant this."))


def is_department_account(user: User, department: Department) -> bool:
    """Whether ``user`` is an active department-staff account of ``department``."""
    return Membership.objects.filter(
        user=user, role=Role.DEPARTMENT_STAFF, department=department, revoked_at__isnull=True
    ).exists()


def _same_department(actor: Viewer | None, department: Department) -> bool:
    if not isinstance(actor, User):
        return False
    return Membership.objects.filter(user=actor, department=department, revoked_at__isnull=True).exists()


def resource_or_error(key: str) -> DataResource:
    resource = resources_all().get(key)
    if resource is None:
        raise ValidationError({"resource": _("There is no resource %(key)s in the catalog.") % {"key": key}})
    return resource


def _clean_keys(values: Sequence[str], field: str) -> list[str]:
    if isinstance(values, str):
        raise ValidationError({field: _("Give a list, not a single text.")})
    out: list[str] = []
    for value in values:
        key = str(value).strip()
        if key and key not in out:
            out.append(key)
    return out


def _clean_fields(
    resource: DataResource, fields: Sequence[str], unmasked: Sequence[str]
) -> tuple[list[str], list[str]]:
    by_key = {f.key: f for f in resource.fields}
    chosen = _clean_keys(fields, "fields")
    if not chosen:
        raise ValidationError({"fields": _("Choose at least one field.")})
    unknown = [k for k in chosen if k not in by_key]
    if unknown:
        raise ValidationError(
            {"fields": _("These fields are not in the resource: %(keys)s.") % {"keys": ", ".join(unknown)}}
        )
    clear = _clean_keys(unmasked, "unmasked")
    outside = [k for k in clear if k not in chosen]
    if outside:
        raise ValidationError(
            {
                "unmasked": _("Unmasked fields must be among the granted fields: %(keys)s.")
                % {"keys": ", ".join(outside)}
            }
        )
    not_personal = [k for k in clear if by_key[k].sensitivity not in MASKABLE]
    if not_personal:
        raise ValidationError(
            {
                "unmasked": _("Only personal fields are masked; these are not: %(keys)s.")
                % {"keys": ", ".join(not_personal)}
            }
        )
    # Keep the catalog's order: the API answers fields in it.
    order = [f.key for f in resource.fields]
    return sorted(chosen, key=order.index), sorted(clear, key=order.index)


def _clean_regions(
    actor: Viewer | None, region_codes: Sequence[str], request: HttpRequest | None
) -> list[str]:
    codes = _clean_keys(region_codes, "region_codes")
    if not codes:
        raise ValidationError({"region_codes": _("Choose at least one region.")})
    known = set(Region.objects.filter(code__in=codes).values_list("code", flat=True))
    missing = [c for c in codes if c not in known]
    if missing:
        raise ValidationError(
            {"region_codes": _("Unknown regions: %(codes)s.") % {"codes": ", ".join(missing)}}
        )
    for code in codes:
        require_actor(
            actor,
            P.GRANT,
            code,
            action="sharing.grant_create",
            object_type="sharing.grant",
            request=request,
            message=_("You may not grant data of %(code)s.") % {"code": code},
        )
    # A region inside another chosen one adds nothing.
    return sorted(c for c in codes if not any(c != o and c.startswith(o) for o in codes))


def _clean_filters(resource: DataResource, row_filters: Mapping[str, str]) -> dict[str, str]:
    dims = {d.key: d for d in resource.dimensions}
    out: dict[str, str] = {}
    for key, raw in row_filters.items():
        value = str(raw).strip()
        if not value:
            continue
        dim = dims.get(key)
        if dim is None:
            raise ValidationError(
                {"row_filters": _("The resource cannot be filtered by %(key)s.") % {"key": key}}
            )
        if value not in {str(v) for v, _label in dim.values()}:
            raise ValidationError(
                {
                    "row_filters": _("%(value)s is not a value of %(label)s.")
                    % {"value": value, "label": dim.label}
                }
            )
        out[key] = value
    return out


def grant_create(
    *,
    actor: Viewer | None,
    department: Department,
    client: User,
    resource: str,
    fields: Sequence[str],
    unmasked: Sequence[str],
    region_codes: Sequence[str],
    row_filters: Mapping[str, str],
    purpose: str,
    legal_basis: str,
    expires_at: datetime,
    rate_per_minute: int = 60,
    request_id: int | None = None,
    request: HttpRequest | None = None,
) -> Grant:
    """A grant to ``client`` (a department account of ``department``) on ``resource``.

    ``actor`` needs ``sharing.grant`` in every region granted and may not belong to the department
    (nobody grants to themselves); ``actor=None`` is the platform (a data request's approval passes
    its approver). Invalid input raises ``ValidationError`` keyed by argument, and writes nothing.
    """
    if actor is not None and not isinstance(actor, User):
        raise PermissionDenied(_("Sign in first."))
    if actor is not None and (actor.pk == client.pk or _same_department(actor, department)):
        raise _refuse(actor, "grant_create", "grant to own department or account", request=request)
    data = resource_or_error(resource)
    granted, clear = _clean_fields(data, fields, unmasked)
    codes = _clean_regions(actor, region_codes, request)
    purpose_text = bounded_text(purpose, "purpose", TEXT_MAX, required=True, label=_("Purpose"))
    basis = bounded_text(legal_basis, "legal_basis", TEXT_MAX, label=_("Legal basis"))
    sensitive = [f.key for f in data.fields if f.key in granted and f.sensitivity == Sensitivity.SENSITIVE]
    if sensitive and data.sharing == SharingType.NONE:
        raise ValidationError(
            {
                "fields": _("The resource is not shared: its sensitive fields cannot be granted (%(keys)s).")
                % {"keys": ", ".join(sensitive)}
            }
        )
    if (sensitive or data.sharing == SharingType.NONE) and not basis:
        raise ValidationError(
            {
                "legal_basis": _(
                    "Sensitive fields, and resources that are not shared, need the law or "
                    "regulation that allows it."
                )
            }
        )
    filters = _clean_filters(data, row_filters)
    now = timezone.now()
    if timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": _("Give the expiry with its time zone.")})
    if expires_at <= now:
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    if expires_at > now + timedelta(days=GRANT_MAX_DAYS):
        raise ValidationError(
            {
                "expires_at": _("A grant lasts at most %(days)d days; renew it when it ends.")
                % {"days": GRANT_MAX_DAYS}
            }
        )
    if (
        isinstance(rate_per_minute, bool)
        or not isinstance(rate_per_minute, int)
        or not 1 <= rate_per_minute <= RATE_MAX
    ):
        raise ValidationError(
            {"rate_per_minute": _("Allow between 1 and %(n)d calls a minute.") % {"n": RATE_MAX}}
        )
    if not department.is_active:
        raise ValidationError({"department": _("The department is no longer active.")})
    if not client.is_active or not is_department_account(client, department):
        raise ValidationError({"client": _("The client must be an active account of the department.")})
    with transaction.atomic():
        grant = Grant.objects.create(
            department=department,
            client=client,
            resource=data.key,
            purpose=purpose_text,
            legal_basis=basis,
            fields=granted,
            unmasked=clear,
            region_codes=codes,
            row_filters=filters,
            starts_at=now,
            expires_at=expires_at,
            rate_per_minute=rate_per_minute,
            granted_by=actor,
            created_at=now,
            request_id=request_id,
            region_code=common_region_code(codes),
        )
        audit.record(
            "sharing.grant_create",
            actor=actor,
            request=request,
            region_code=grant.region_code,
            object_type="sharing.grant",
            object_id=grant.pk,
            fields=granted,
            reason=purpose_text,
            detail={
                "department": department.pk,
                "client": client.pk,
                "resource": data.key,
                "unmasked": clear,
                "regions": codes,
                "row_filters": filters,
                "legal_basis": basis,
                "expires_at": expires_at.isoformat(),
                "rate_per_minute": rate_per_minute,
                "request": request_id,
            },
        )
    return grant


def grant_revoke(
    *, actor: Viewer | None, grant: Grant, reason: str, request: HttpRequest | None = None
) -> Grant:
    """Revoke ``grant`` at once (the next call answers 403); needs ``sharing.grant`` over the
    grant's regions and a reason. Revoking a revoked grant changes nothing."""
    if actor is not None and not isinstance(actor, User):
        raise PermissionDenied(_("Sign in first."))
    for code in grant.region_codes:
        require_actor(
            actor,
            P.GRANT,
            code,
            action="sharing.grant_revoke",
            object_type="sharing.grant",
            object_id=grant.pk,
            request=request,
        )
    why = bounded_text(reason, "reason", TEXT_MAX, required=True, label=_("Reason"))
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=grant.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.revoke_reason = why
        locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit.record(
            "sharing.grant_revoke",
            actor=actor,
            request=request,
            region_code=locked.region_code,
            object_type="sharing.grant",
            object_id=locked.pk,
            reason=why,
            detail={
                "department": locked.department_id,
                "client": locked.client_id,
                "resource": locked.resource,
            },
        )
    return locked
