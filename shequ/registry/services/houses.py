"""Houses: cleaning their data, creation and changes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.registry import addresses
from shequ.registry.models import (
    Building,
    House,
    HouseUse,
    PropertyType,
    Unit,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.services._common import (
    Errors,
    _audit,
    _choice,
    _clean_reason,
    _collect,
    _decimal,
    _diff,
    _int,
    _integrity_to_validation,
    _place_event,
    _require,
    _text,
    _timeline,
)
from shequ.registry.services.buildings import rebuild_addresses

HOUSE_FIELDS = ("unit", "floor", "number", "area", "use", "property_type")


def clean_house_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate house fields (see ``HOUSE_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(HOUSE_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    if "number" in data or not partial:
        out["number"] = _collect(
            errors, "number", lambda: _text(data.get("number"), "number", 20, required=True, key=True)
        )
    if "floor" in data or not partial:
        out["floor"] = _collect(errors, "floor", lambda: _int(data.get("floor"), "floor", low=-20, high=200))
    if "area" in data or not partial:
        out["area"] = _collect(
            errors,
            "area",
            lambda: _decimal(
                data.get("area"),
                "area",
                max_digits=8,
                places=2,
                low=Decimal("0.01"),
                high=Decimal("99999.99"),
            ),
        )
    if "use" in data or not partial:
        out["use"] = (
            _collect(errors, "use", lambda: _choice(data.get("use"), HouseUse, "use"))
            or HouseUse.OWNER_OCCUPIED
        )
    if "property_type" in data or not partial:
        out["property_type"] = (
            _collect(
                errors,
                "property_type",
                lambda: _choice(data.get("property_type"), PropertyType, "property_type"),
            )
            or PropertyType.COMMODITY
        )
    if "unit" in data:
        out["unit"] = data["unit"]
    if errors:
        raise ValidationError(errors)
    return out


def _check_house_unique(
    building: Building, unit: Unit | None, number: str, exclude: int | None = None
) -> None:
    if unit is not None and unit.building_id != building.pk:
        raise ValidationError({"unit": _("The unit belongs to another building.")})
    qs = House.objects.filter(building=building, unit=unit, number=number)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    if qs.exists():
        raise ValidationError(
            {"number": _("This house number is already registered in this building and unit.")}
        )


def house_create(
    *, actor: User | None, building: Building, data: Mapping[str, Any], request: HttpRequest | None = None
) -> House:
    """A house in ``building``; ``data``: the fields of ``HOUSE_FIELDS`` (``unit`` a Unit of the
    building or None)."""
    _require(
        actor,
        P.EDIT,
        building.region_code,
        action="registry.house_create",
        object_type="registry.house",
        request=request,
    )
    cleaned = clean_house_data(data, partial=False)
    unit = cleaned.get("unit")
    _check_house_unique(building, unit, cleaned["number"])
    try:
        with transaction.atomic():
            house = House(
                **cleaned, building=building, region_id=building.region_id, region_code=building.region_code
            )
            house.address = addresses.house_address(house)
            house.save()
            _timeline("house", house, house.region_code, actor, "place.create", params={"use": house.use})
            _audit(
                "registry.house_create",
                actor=actor,
                request=request,
                region_code=house.region_code,
                obj=house,
            )
            _place_event(actor, house, "house", house.region_code, True, cleaned)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return house


def house_update(
    *,
    actor: User | None,
    house: House,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> House:
    """Change a house (use, area, number …); old → new goes to its timeline."""
    _require(
        actor,
        P.EDIT,
        house.region_code,
        action="registry.house_update",
        object_type="registry.house",
        object_id=house.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_house_data(changes, partial=True)
    before = {field: getattr(house, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    if "number" in diff or "unit" in diff:
        _check_house_unique(
            house.building, cleaned.get("unit", house.unit), cleaned.get("number", house.number), house.pk
        )
    try:
        with transaction.atomic():
            for field, value in cleaned.items():
                setattr(house, field, value)
            house.updated_at = timezone.now()
            house.save()
            if "number" in diff or "unit" in diff:
                rebuild_addresses(houses=[house])
            _timeline(
                "house",
                house,
                house.region_code,
                actor,
                "place.update",
                params={"fields": sorted(diff)},
                changes=diff,
                reason=reason,
            )
            _audit(
                "registry.house_update",
                actor=actor,
                request=request,
                region_code=house.region_code,
                obj=house,
                fields=diff,
                reason=reason,
            )
            _place_event(actor, house, "house", house.region_code, False, diff)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc) from exc
    return house
