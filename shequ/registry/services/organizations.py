"""Organizations and key places."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import validators as v
from shequ.core.models import Region, User
from shequ.registry.models import (
    Building,
    House,
    KeyPlace,
    KeyPlaceKind,
    Organization,
    OrganizationStatus,
    OrganizationType,
    RiskLevel,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.services._common import (
    _PERSON_REGION_LEVELS,
    NOTE_MAX_LENGTH,
    Errors,
    _audit,
    _check_region,
    _choice,
    _clean_reason,
    _collect,
    _diff,
    _int,
    _integrity_to_validation,
    _place_event,
    _require,
    _text,
    _timeline,
)

# --- Organizations and key places ---------------------------------------------------------------

ORGANIZATION_FIELDS = (
    "name",
    "uscc",
    "type",
    "address",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "staff_count",
    "industry",
    "status",
    "building",
    "house",
)


def clean_organization_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate organization fields (see ``ORGANIZATION_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(ORGANIZATION_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}

    def given(field: str) -> bool:
        return field in data or not partial

    if given("name"):
        out["name"] = _collect(errors, "name", lambda: _text(data.get("name"), "name", 100, required=True))
    if given("uscc"):
        out["uscc"] = _collect(errors, "uscc", lambda: v.clean_uscc(data.get("uscc")))
    if given("type"):
        out["type"] = (
            _collect(errors, "type", lambda: _choice(data.get("type"), OrganizationType, "type"))
            or OrganizationType.ENTERPRISE
        )
    if given("status"):
        out["status"] = (
            _collect(errors, "status", lambda: _choice(data.get("status"), OrganizationStatus, "status"))
            or OrganizationStatus.OPERATING
        )
    for field, length in (
        ("address", 255),
        ("legal_representative", 50),
        ("contact_name", 50),
        ("industry", 60),
    ):
        if given(field):
            out[field] = _collect(errors, field, functools.partial(_text, data.get(field), field, length))
    if given("contact_phone"):
        out["contact_phone"] = _collect(
            errors, "contact_phone", lambda: v.clean_contact_phone(data.get("contact_phone"))
        )
    if given("staff_count"):
        out["staff_count"] = _collect(
            errors,
            "staff_count",
            lambda: _int(data.get("staff_count"), "staff_count", low=0, high=10_000_000),
        )
    for field in ("building", "house"):
        if field in data:
            out[field] = data[field]
    if errors:
        raise ValidationError(errors)
    return out


def _site_region(
    region: Region | None, building: Building | None, house: House | None
) -> tuple[Region, Building | None]:
    if house is not None:
        if building is not None and house.building_id != building.pk:
            raise ValidationError({"house": _("The house is in another building.")})
        return house.region, house.building
    if building is not None:
        return building.region, building
    if region is None:
        raise ValidationError(
            {"region": _("Choose the building, the house or at least the grid or community.")}
        )
    _check_region(region, _PERSON_REGION_LEVELS)
    return region, None


def organization_create(
    *,
    actor: User | None,
    data: Mapping[str, Any],
    region: Region | None = None,
    request: HttpRequest | None = None,
) -> Organization:
    """An organization at a house or building (``data["house"]``/``data["building"]``), or with a
    free-text address in ``region``. The credit code is unique on the platform."""
    cleaned = clean_organization_data(data)
    region, building = _site_region(region, cleaned.get("building"), cleaned.get("house"))
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.organization_create",
        object_type="registry.organization",
        request=request,
    )
    if cleaned["uscc"] and Organization.objects.filter(uscc=cleaned["uscc"]).exists():
        raise ValidationError({"uscc": _("An organization with this credit code is already registered.")})
    if building is not None:
        cleaned["building"] = building
    site = cleaned.get("house") or building
    if site is not None:
        cleaned["address"] = site.address
    try:
        with transaction.atomic():
            org = Organization.objects.create(**cleaned, region=region, region_code=region.code)
            _timeline("organization", org, region.code, actor, "place.create")
            _audit(
                "registry.organization_create",
                actor=actor,
                request=request,
                region_code=region.code,
                obj=org,
                fields=[f for f, value in cleaned.items() if value],
            )
            _place_event(actor, org, "organization", region.code, True, cleaned)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return org


def organization_update(
    *,
    actor: User | None,
    organization: Organization,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> Organization:
    _require(
        actor,
        P.EDIT,
        organization.region_code,
        action="registry.organization_update",
        object_type="registry.organization",
        object_id=organization.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_organization_data(changes, partial=True)
    if "house" in cleaned or "building" in cleaned:
        region, building = _site_region(
            organization.region,
            cleaned.get("building", organization.building),
            cleaned.get("house", organization.house),
        )
        if region.pk != organization.region_id:
            _require(
                actor,
                P.EDIT,
                region.code,
                action="registry.organization_update",
                object_type="registry.organization",
                object_id=organization.pk,
                request=request,
            )
        cleaned["building"] = building
        site = cleaned.get("house", organization.house) or building
        if site is not None:
            cleaned["address"] = site.address
    else:
        region = organization.region
    before = {field: getattr(organization, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    if (
        "uscc" in diff
        and cleaned["uscc"]
        and Organization.objects.filter(uscc=cleaned["uscc"]).exclude(pk=organization.pk).exists()
    ):
        raise ValidationError({"uscc": _("An organization with this credit code is already registered.")})
    old_code = organization.region_code
    try:
        with transaction.atomic():
            for field, value in cleaned.items():
                setattr(organization, field, value)
            organization.region = region
            organization.region_code = region.code
            organization.updated_at = timezone.now()
            organization.save()
            _timeline(
                "organization",
                organization,
                region.code,
                actor,
                "place.update",
                params={"fields": sorted(diff)},
                changes=diff,
                reason=reason,
            )
            _audit(
                "registry.organization_update",
                actor=actor,
                request=request,
                region_code=old_code,
                obj=organization,
                fields=diff,
                reason=reason,
            )
            _place_event(actor, organization, "organization", region.code, False, diff)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return organization


KEY_PLACE_FIELDS = (
    "name",
    "kind",
    "address",
    "risk_level",
    "risk_notes",
    "is_active",
    "building",
    "house",
    "organization",
)


def clean_key_place_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate key place fields (see ``KEY_PLACE_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(KEY_PLACE_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"] = _collect(errors, "name", lambda: _text(data.get("name"), "name", 100, required=True))
    if "kind" in data or not partial:
        out["kind"] = _collect(
            errors, "kind", lambda: _choice(data.get("kind"), KeyPlaceKind, "kind", blank=False)
        )
    if "address" in data or not partial:
        out["address"] = _collect(errors, "address", lambda: _text(data.get("address"), "address", 255))
    if "risk_level" in data or not partial:
        out["risk_level"] = (
            _collect(errors, "risk_level", lambda: _choice(data.get("risk_level"), RiskLevel, "risk_level"))
            or RiskLevel.LOW
        )
    if "risk_notes" in data or not partial:
        out["risk_notes"] = _collect(
            errors,
            "risk_notes",
            lambda: _text(data.get("risk_notes"), "risk_notes", NOTE_MAX_LENGTH, multiline=True),
        )
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    for field in ("building", "house", "organization"):
        if field in data:
            out[field] = data[field]
    if errors:
        raise ValidationError(errors)
    return out


def key_place_create(
    *,
    actor: User | None,
    data: Mapping[str, Any],
    region: Region | None = None,
    request: HttpRequest | None = None,
) -> KeyPlace:
    """A key place at a house, building or organization (``data``), or in ``region`` by address."""
    cleaned = clean_key_place_data(data, partial=False)
    org: Organization | None = cleaned.get("organization")
    house = cleaned.get("house") or (org.house if org is not None else None)
    building = cleaned.get("building") or (org.building if org is not None else None)
    region, building = _site_region(
        region if org is None or house or building else org.region, building, house
    )
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.key_place_create",
        object_type="registry.keyplace",
        request=request,
    )
    cleaned["house"], cleaned["building"] = house, building
    site = house or building
    if site is not None:
        cleaned["address"] = site.address
    with transaction.atomic():
        place = KeyPlace.objects.create(**cleaned, region=region, region_code=region.code)
        _timeline("key_place", place, region.code, actor, "place.create")
        _audit("registry.key_place_create", actor=actor, request=request, region_code=region.code, obj=place)
        _place_event(actor, place, "key_place", region.code, True, cleaned)
    return place


def key_place_update(
    *,
    actor: User | None,
    place: KeyPlace,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> KeyPlace:
    _require(
        actor,
        P.EDIT,
        place.region_code,
        action="registry.key_place_update",
        object_type="registry.keyplace",
        object_id=place.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_key_place_data(changes, partial=True)
    if {"house", "building"} & set(cleaned):
        region, building = _site_region(
            place.region, cleaned.get("building", place.building), cleaned.get("house", place.house)
        )
        if region.pk != place.region_id:
            _require(
                actor,
                P.EDIT,
                region.code,
                action="registry.key_place_update",
                object_type="registry.keyplace",
                object_id=place.pk,
                request=request,
            )
        cleaned["building"] = building
        site = cleaned.get("house", place.house) or building
        if site is not None:
            cleaned["address"] = site.address
    else:
        region = place.region
    before = {field: getattr(place, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    with transaction.atomic():
        for field, value in cleaned.items():
            setattr(place, field, value)
        place.region, place.region_code = region, region.code
        place.updated_at = timezone.now()
        place.save()
        _timeline(
            "key_place",
            place,
            region.code,
            actor,
            "place.update",
            params={"fields": sorted(diff)},
            changes=diff,
            reason=reason,
        )
        _audit(
            "registry.key_place_update",
            actor=actor,
            request=request,
            region_code=region.code,
            obj=place,
            fields=diff,
            reason=reason,
        )
        _place_event(actor, place, "key_place", region.code, False, diff)
    return place
