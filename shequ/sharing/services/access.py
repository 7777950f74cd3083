"""Grants (精准化授权): what a department's account may read of one catalog resource — fields (and
which unmasked), regions, rows, until when and how fast — created and revoked by a security
administrator, never by or for themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from shequ.core.models import AuditResult, Department, Membership, Region, User, common_region_code
from shequ.core.permissions import Viewer
from shequ.core.text import bounded_text
from shequ.sharing.models import Grant
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.selectors_access import client_accounts
from shequ.sharing.services.calls import call_record

__all__ = [
    "GRANT_MAX_DAYS",
    "RATE_MAX",
    "GrantTerms",
    "call_record",
    "grant_create",
    "grant_revoke",
    "grant_validate",
]

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


def _same_department(actor: Viewer | None, department: Department) -> bool:
    if not isinstance(actor, User):
        return False
    return Membership.objects.filter(user=actor, department=department, revoked_at__isnull=True).exists()


class _Errors(dict[str, str]):
    """The input's problems by argument: every one is reported at once, the first per argument."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, message)


def _keys(values: Sequence[str], field: str, errors: _Errors) -> list[str]:
    if isinstance(values, str):
        errors.add(field, _("Give a list, not a single text."))
        return []
    out: list[str] = []
    for value in values:
        key = str(value).strip()
        if key and key not in out:
            out.append(key)
    return out


def _check_fields(
    resource: DataResource, fields: Sequence[str], unmasked: Sequence[str], errors: _Errors
) -> tuple[list[str], list[str]]:
    by_key = {f.key: f for f in resource.fields}
    chosen = _keys(fields, "fields", errors)
    unknown = [k for k in chosen if k not in by_key]
    if not chosen:
        errors.add("fields", _("Choose at least one field."))
    elif unknown:
        errors.add(
            "fields", _("These fields are not in the resource: %(keys)s.") % {"keys": ", ".join(unknown)}
        )
    chosen = [k for k in chosen if k in by_key]
    clear = _keys(unmasked, "unmasked", errors)
    outside = [k for k in clear if k not in chosen]
    not_personal = [k for k in clear if k in by_key and by_key[k].sensitivity not in MASKABLE]
    if outside:
        errors.add(
            "unmasked",
            _("Unmasked fields must be among the granted fields: %(keys)s.") % {"keys": ", ".join(outside)},
        )
    elif not_personal:
        errors.add(
            "unmasked",
            _("Only personal fields are masked; these are not: %(keys)s.")
            % {"keys": ", ".join(not_personal)},
        )
    # The catalog's order: the API answers the fields in it.
    order = [f.key for f in resource.fields]
    return sorted(chosen, key=order.index), sorted((k for k in clear if k in chosen), key=order.index)


def _check_regions(region_codes: Sequence[str], errors: _Errors) -> list[str]:
    codes = _keys(region_codes, "region_codes", errors)
    known = set(Region.objects.filter(code__in=codes).values_list("code", flat=True))
    missing = [c for c in codes if c not in known]
    if not codes:
        errors.add("region_codes", _("Choose at least one region."))
    elif missing:
        errors.add("region_codes", _("Unknown regions: %(codes)s.") % {"codes": ", ".join(missing)})
    # A region inside another chosen one adds nothing.
    return sorted(c for c in codes if not any(c != o and c.startswith(o) for o in codes))


def _check_filters(resource: DataResource, row_filters: Mapping[str, str], errors: _Errors) -> dict[str, str]:
    dims = {d.key: d for d in resource.dimensions}
    out: dict[str, str] = {}
    for key, raw in row_filters.items():
        value = str(raw).strip()
        if not value:
            continue
        dim = dims.get(key)
        if dim is None:
            errors.add("row_filters", _("The resource cannot be filtered by %(key)s.") % {"key": key})
        elif value not in {str(v) for v, _label in dim.values()}:
            errors.add(
                "row_filters",
                _("%(value)s is not a value of %(label)s.") % {"value": value, "label": dim.label},
            )
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class GrantTerms:
    """A grant's terms after validation (keys in the catalog's order, texts cleaned)."""

    resource: DataResource
    fields: list[str]
    unmasked: list[str]
    region_codes: list[str]
    row_filters: dict[str, str]
    purpose: str
    legal_basis: str
    expires_at: datetime
    rate_per_minute: int


def _terms(
    *,
    resource: str,
    fields: Sequence[str],
    unmasked: Sequence[str],
    region_codes: Sequence[str],
    row_filters: Mapping[str, str],
    purpose: str | None,
    legal_basis: str,
    expires_at: datetime | None,
    rate_per_minute: Any,
) -> GrantTerms:
    errors = _Errors()
    data = resources_all().get(str(resource))
    granted: list[str] = []
    clear: list[str] = []
    filters: dict[str, str] = {}
    if data is None:
        errors.add("resource", _("There is no resource %(key)s in the catalog.") % {"key": resource})
    else:
        granted, clear = _check_fields(data, fields, unmasked, errors)
        filters = _check_filters(data, row_filters, errors)
    codes = _check_regions(region_codes, errors)
    texts: dict[str, str] = {}
    for field, value, label, required in (
        ("purpose", purpose, _("Purpose"), purpose is not None),
        ("legal_basis", legal_basis, _("Legal basis"), False),
    ):
        try:
            texts[field] = bounded_text(value, field, TEXT_MAX, required=required, label=label)
        except ValidationError as exc:
            errors.add(field, exc.message_dict[field][0])
    if data is not None:
        sensitive = [
            f.key for f in data.fields if f.key in granted and f.sensitivity == Sensitivity.SENSITIVE
        ]
        if sensitive and data.sharing == SharingType.NONE:
            errors.add(
                "fields",
                _("The resource is not shared: its sensitive fields cannot be granted (%(keys)s).")
                % {"keys": ", ".join(sensitive)},
            )
        elif (sensitive or data.sharing == SharingType.NONE) and not texts.get("legal_basis", "x"):
            errors.add(
                "legal_basis",
                _(
                    "Sensitive fields, and resources that are not shared, need the law or regulation "
                    "that allows it."
                ),
            )
    now = timezone.now()
    if expires_at is None:
        errors.add("expires_at", _("Give the date the grant ends."))
    elif timezone.is_naive(expires_at):
        errors.add("expires_at", _("Give the expiry with its time zone."))
    elif expires_at <= now:
        errors.add("expires_at", _("The expiry must be in the future."))
    elif expires_at > now + timedelta(days=GRANT_MAX_DAYS):
        errors.add(
            "expires_at",
            _("A grant lasts at most %(days)d days; renew it when it ends.") % {"days": GRANT_MAX_DAYS},
        )
    if (
        isinstance(rate_per_minute, bool)
        or not isinstance(rate_per_minute, int)
        or not 1 <= rate_per_minute <= RATE_MAX
    ):
        errors.add("rate_per_minute", _("Allow between 1 and %(n)d calls a minute.") % {"n": RATE_MAX})
    if errors:
        raise ValidationError(dict(errors))
    assert data is not None and expires_at is not None
    return GrantTerms(
        resource=data,
        fields=granted,
        unmasked=clear,
        region_codes=codes,
        row_filters=filters,
        purpose=texts.get("purpose", ""),
        legal_basis=texts["legal_basis"],
        expires_at=expires_at,
        rate_per_minute=rate_per_minute,
    )


def grant_validate(
    *,
    resource: str,
    fields: Sequence[str],
    unmasked: Sequence[str],
    region_codes: Sequence[str],
    row_filters: Mapping[str, str],
    legal_basis: str,
    expires_at: datetime,
    rate_per_minute: int = 60,
) -> None:
    """The checks of ``grant_create`` on the terms alone (a data request before any grant exists):
    raises ``ValidationError`` keyed by argument; neither the grantor's scope nor the purpose."""
    _terms(
        resource=resource,
        fields=fields,
        unmasked=unmasked,
        region_codes=region_codes,
        row_filters=row_filters,
        purpose=None,
        legal_basis=legal_basis,
        expires_at=expires_at,
        rate_per_minute=rate_per_minute,
    )


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

    ``actor`` needs ``sharing.grant`` in every region granted (else ``PermissionDenied``, audited)
    and may not belong to the department (nobody grants to themselves); ``actor=None`` is the
    platform. Invalid terms raise ``ValidationError`` keyed by argument, and nothing is written.
    """
    if actor is not None and not isinstance(actor, User):
        raise PermissionDenied(_("Sign in first."))
    if actor is not None and (actor.pk == client.pk or _same_department(actor, department)):
        raise _refuse(actor, "grant_create", "grant to own department or account", request=request)
    terms = _terms(
        resource=resource,
        fields=fields,
        unmasked=unmasked,
        region_codes=region_codes,
        row_filters=row_filters,
        purpose=purpose,
        legal_basis=legal_basis,
        expires_at=expires_at,
        rate_per_minute=rate_per_minute,
    )
    for code in terms.region_codes:
        require_actor(
            actor,
            P.GRANT,
            code,
            action="sharing.grant_create",
            object_type="sharing.grant",
            request=request,
            message=_("You may not grant data of %(code)s.") % {"code": code},
        )
    if not department.is_active:
        raise ValidationError({"department": _("The department is no longer active.")})
    if not client_accounts(department).filter(pk=client.pk).exists():
        raise ValidationError({"client": _("The client must be an active account of the department.")})
    with transaction.atomic():
        now = timezone.now()
        grant = Grant.objects.create(
            department=department,
            client=client,
            resource=terms.resource.key,
            purpose=terms.purpose,
            legal_basis=terms.legal_basis,
            fields=terms.fields,
            unmasked=terms.unmasked,
            region_codes=terms.region_codes,
            row_filters=terms.row_filters,
            starts_at=now,
            expires_at=terms.expires_at,
            rate_per_minute=terms.rate_per_minute,
            granted_by=actor,
            created_at=now,
            request_id=request_id,
            region_code=common_region_code(terms.region_codes),
        )
        audit.record(
            "sharing.grant_create",
            actor=actor,
            request=request,
            region_code=grant.region_code,
            object_type="sharing.grant",
            object_id=grant.pk,
            fields=terms.fields,
            reason=terms.purpose,
            detail={
                "department": department.pk,
                "client": client.pk,
                "resource": grant.resource,
                "unmasked": terms.unmasked,
                "regions": terms.region_codes,
                "row_filters": terms.row_filters,
                "legal_basis": terms.legal_basis,
                "expires_at": terms.expires_at.isoformat(),
                "rate_per_minute": terms.rate_per_minute,
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
