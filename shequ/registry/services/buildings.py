"""Roads, buildings and units: creation, changes, and the addresses built from them."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.models import Region, User
from shequ.registry import addresses
from shequ.registry.models import (
    Building,
    BuildingType,
    House,
    Household,
    KeyPlace,
    Organization,
    Person,
    PersonTag,
    Residence,
    Road,
    Unit,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.services._common import (
    _PERSON_REGION_LEVELS,
    _ROAD_REGION_LEVELS,
    Errors,
    _audit,
    _check_region,
    _choice,
    _clean_reason,
    _collect,
    _decimal,
    _diff,
    _int,
    _place_event,
    _require,
    _text,
    _timeline,
)

# --- Roads, buildings, units, houses ------------------------------------------------------------


def rebuild_addresses(*, buildings: Iterable[Building] = (), houses: Iterable[House] = ()) -> int:
    """Regenerate the stored standard addresses of these buildings, all their houses, these houses,
    and the organizations and key places at them. Updates the objects passed in too; returns the
    number of buildings and houses rewritten."""
    given_buildings = list(buildings)
    given_houses = list(houses)
    building_ids = {b.pk for b in given_buildings}
    house_q = models.Q(pk__in=[h.pk for h in given_houses]) | models.Q(building_id__in=building_ids)
    building_rows = list(Building.objects.filter(pk__in=building_ids).select_related("road"))
    house_rows = list(House.objects.filter(house_q).select_related("building__road", "unit"))
    names = addresses.region_names(
        [b.region_code for b in building_rows] + [h.region_code for h in house_rows]
    )
    for building in building_rows:
        building.address = addresses.building_address(building, names)
    for house in house_rows:
        house.address = addresses.house_address(house, names)
    Building.objects.bulk_update(building_rows, ["address"], batch_size=500)
    House.objects.bulk_update(house_rows, ["address"], batch_size=500)
    by_building = {b.pk: b.address for b in building_rows}
    by_house = {h.pk: h.address for h in house_rows}
    sites = models.Q(house_id__in=list(by_house)) | models.Q(
        building_id__in=list(by_building), house__isnull=True
    )
    orgs = list(Organization.objects.filter(sites).only("pk", "house_id", "building_id", "address"))
    for org in orgs:
        org.address = by_house.get(org.house_id or 0) or by_building.get(org.building_id or 0) or org.address
    Organization.objects.bulk_update(orgs, ["address"], batch_size=500)
    places = list(KeyPlace.objects.filter(sites).only("pk", "house_id", "building_id", "address"))
    for place in places:
        place.address = (
            by_house.get(place.house_id or 0) or by_building.get(place.building_id or 0) or place.address
        )
    KeyPlace.objects.bulk_update(places, ["address"], batch_size=500)
    for b in given_buildings:
        b.address = by_building.get(b.pk, b.address)
    for h in given_houses:
        h.address = by_house.get(h.pk, h.address)
    return len(building_rows) + len(house_rows)


def road_create(*, actor: User | None, region: Region, name: str, request: HttpRequest | None = None) -> Road:
    _check_region(region, _ROAD_REGION_LEVELS)
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.road_create",
        object_type="registry.road",
        request=request,
    )
    name = _text(name, "name", 60, required=True)
    if Road.objects.filter(region=region, name=name).exists():
        raise ValidationError({"name": _("This road is already registered here.")})
    with transaction.atomic():
        road = Road.objects.create(region=region, region_code=region.code, name=name)
        _audit(
            "registry.road_create",
            actor=actor,
            request=request,
            region_code=region.code,
            obj=road,
            detail={"name": name},
        )
        _place_event(actor, road, "road", region.code, True, ["name"])
    return road


def _rename_place(
    place: Road | Unit,
    *,
    actor: User | None,
    kind: str,
    field: str,
    value: str,
    max_length: int,
    siblings: models.QuerySet[Any],
    taken_message: str,
    dependents: models.QuerySet[Any],
    reason: str,
    request: HttpRequest | None,
) -> None:
    """Rename a road or renumber a unit (``field`` of ``place``, unique among ``siblings``): the
    addresses of the buildings or houses on it (``dependents``) follow, each with a timeline entry."""
    action = f"registry.{kind}_update"
    _require(
        actor,
        P.EDIT,
        place.region_code,
        action=action,
        object_type=f"registry.{kind}",
        object_id=place.pk,
        request=request,
    )
    value = _text(value, field, max_length, required=True)
    reason = _clean_reason(reason, required=False)
    old = getattr(place, field)
    if value == old:
        raise ValidationError({field: _("The new values are the same as the current ones.")})
    if siblings.filter(**{field: value}).exclude(pk=place.pk).exists():
        raise ValidationError({field: taken_message})
    dependent_kind = dependents.model._meta.model_name  # "building" or "house"
    with transaction.atomic():
        setattr(place, field, value)
        place.updated_at = timezone.now()
        place.save(update_fields=[field, "updated_at"])
        items = list(dependents)
        rebuild_addresses(**{f"{dependent_kind}s": items})
        for item in items:
            _timeline(
                dependent_kind,
                item,
                item.region_code,
                actor,
                "place.update",
                params={"fields": [kind]},
                changes={kind: {"old": old, "new": value}},
                reason=reason,
            )
        _audit(
            action,
            actor=actor,
            request=request,
            region_code=place.region_code,
            obj=place,
            fields=[field],
            reason=reason,
            detail={"old": old, "new": value, f"{dependent_kind}s": len(items)},
        )
        _place_event(actor, place, kind, place.region_code, False, [field])


def road_update(
    *, actor: User | None, road: Road, name: str, reason: str = "", request: HttpRequest | None = None
) -> Road:
    """Rename a road; the addresses of its buildings and houses follow."""
    _rename_place(
        road,
        actor=actor,
        kind="road",
        field="name",
        value=name,
        max_length=60,
        siblings=Road.objects.filter(region_id=road.region_id),
        taken_message=_("This road is already registered here."),
        dependents=Building.objects.filter(road=road),
        reason=reason,
        request=request,
    )
    return road


BUILDING_FIELDS = (
    "road",
    "door_number",
    "estate",
    "number",
    "name",
    "type",
    "floors",
    "basement_floors",
    "latitude",
    "longitude",
    "region",
)


def clean_building_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate building fields (see ``BUILDING_FIELDS``); all errors at once, by field."""
    unknown = sorted(set(data) - set(BUILDING_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown field.")] for key in unknown})
    errors: Errors = {}
    out: dict[str, Any] = {}
    for field, length in (("door_number", 20), ("estate", 60), ("number", 20), ("name", 60)):
        if field in data or not partial:
            out[field] = _collect(errors, field, functools.partial(_text, data.get(field), field, length))
    if "type" in data or not partial:
        out["type"] = (
            _collect(errors, "type", lambda: _choice(data.get("type"), BuildingType, "type"))
            or BuildingType.RESIDENTIAL
        )
    if "floors" in data or not partial:
        out["floors"] = _collect(
            errors, "floors", lambda: _int(data.get("floors"), "floors", low=1, high=200)
        )
    if "basement_floors" in data or not partial:
        out["basement_floors"] = (
            _collect(
                errors,
                "basement_floors",
                lambda: _int(data.get("basement_floors"), "basement_floors", low=0, high=20),
            )
            or 0
        )
    if "latitude" in data or not partial:
        out["latitude"] = _collect(
            errors,
            "latitude",
            lambda: _decimal(
                data.get("latitude"), "latitude", max_digits=9, places=6, low=Decimal(-90), high=Decimal(90)
            ),
        )
    if "longitude" in data or not partial:
        out["longitude"] = _collect(
            errors,
            "longitude",
            lambda: _decimal(
                data.get("longitude"),
                "longitude",
                max_digits=9,
                places=6,
                low=Decimal(-180),
                high=Decimal(180),
            ),
        )
    for field in ("road", "region"):
        if field in data:
            out[field] = data[field]
    if errors:
        raise ValidationError(errors)
    return out


def _check_road(road: Road | None, region: Region) -> None:
    if road is not None and not (region.code.startswith(road.region_code)):
        raise ValidationError({"road": _("The road belongs to another community or street.")})


def building_create(
    *, actor: User | None, region: Region, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Building:
    """A building in ``region`` (its grid, or a community without grids). ``data``: the fields of
    ``BUILDING_FIELDS`` (``road`` a Road of the community or street)."""
    _check_region(region, _PERSON_REGION_LEVELS)
    _require(
        actor,
        P.EDIT,
        region.code,
        action="registry.building_create",
        object_type="registry.building",
        request=request,
    )
    cleaned = clean_building_data({k: val for k, val in data.items() if k != "region"}, partial=False)
    if not (cleaned.get("number") or cleaned.get("name") or cleaned.get("door_number")):
        raise ValidationError({"number": _("Give the building a number, a name or a door number.")})
    _check_road(cleaned.get("road"), region)
    with transaction.atomic():
        building = Building(**cleaned, region=region, region_code=region.code)
        building.address = addresses.building_address(building)
        building.save()
        _timeline("building", building, region.code, actor, "place.create")
        _audit(
            "registry.building_create", actor=actor, request=request, region_code=region.code, obj=building
        )
        _place_event(actor, building, "building", region.code, True, cleaned)
    return building


def building_update(
    *,
    actor: User | None,
    building: Building,
    changes: Mapping[str, Any],
    reason: str = "",
    request: HttpRequest | None = None,
) -> Building:
    """Change a building. A new ``region`` (another grid) moves its houses, the people living in
    them, their households and organizations along; the actor needs the edit right in both."""
    _require(
        actor,
        P.EDIT,
        building.region_code,
        action="registry.building_update",
        object_type="registry.building",
        object_id=building.pk,
        request=request,
    )
    reason = _clean_reason(reason, required=False)
    cleaned = clean_building_data(changes, partial=True)
    new_region: Region | None = cleaned.pop("region", None)
    if new_region is not None and new_region.pk != building.region_id:
        _check_region(new_region, _PERSON_REGION_LEVELS)
        _require(
            actor,
            P.EDIT,
            new_region.code,
            action="registry.building_update",
            object_type="registry.building",
            object_id=building.pk,
            request=request,
        )
        cleaned["region"] = new_region
    elif new_region is not None:
        new_region = None
    _check_road(cleaned.get("road", building.road), new_region or building.region)
    before = {field: getattr(building, field) for field in cleaned}
    diff = _diff(before, cleaned)
    if not diff:
        raise ValidationError(_("The new values are the same as the current ones."))
    old_code = building.region_code
    with transaction.atomic():
        for field, value in cleaned.items():
            setattr(building, field, value)
        if new_region is not None:
            building.region_code = new_region.code
            diff["region"] = {"old": old_code, "new": new_region.code}
        building.updated_at = timezone.now()
        building.save()
        if new_region is not None:
            _cascade_region(building, new_region)
        rebuild_addresses(buildings=[building])
        _timeline(
            "building",
            building,
            building.region_code,
            actor,
            "place.update",
            params={"fields": sorted(diff)},
            changes=diff,
            reason=reason,
        )
        _audit(
            "registry.building_update",
            actor=actor,
            request=request,
            region_code=old_code,
            obj=building,
            fields=diff,
            reason=reason,
            detail={"to_region": building.region_code} if new_region else None,
        )
        _place_event(actor, building, "building", building.region_code, False, diff)
    return building


def _cascade_region(building: Building, region: Region) -> None:
    """Everything at a building follows it into another grid (no person moves: the grid changed)."""
    code = region.code
    houses = House.objects.filter(building=building)
    house_ids = list(houses.values_list("pk", flat=True))
    houses.update(region=region, region_code=code)
    Unit.objects.filter(building=building).update(region_code=code)
    Residence.objects.filter(house_id__in=house_ids).update(region_code=code)
    people = Person.objects.filter(house_id__in=house_ids)
    PersonTag.objects.filter(person__in=people).update(region_code=code)
    people.update(region=region, region_code=code)
    Household.objects.filter(house_id__in=house_ids).update(region=region, region_code=code)
    Organization.objects.filter(models.Q(building=building) | models.Q(house_id__in=house_ids)).update(
        region=region, region_code=code
    )
    KeyPlace.objects.filter(models.Q(building=building) | models.Q(house_id__in=house_ids)).update(
        region=region, region_code=code
    )


def unit_create(
    *, actor: User | None, building: Building, number: str, request: HttpRequest | None = None
) -> Unit:
    _require(
        actor,
        P.EDIT,
        building.region_code,
        action="registry.unit_create",
        object_type="registry.unit",
        request=request,
    )
    number = _text(number, "number", 20, required=True, key=True)
    if Unit.objects.filter(building=building, number=number).exists():
        raise ValidationError({"number": _("The building already has this unit.")})
    with transaction.atomic():
        unit = Unit.objects.create(building=building, number=number, region_code=building.region_code)
        _audit(
            "registry.unit_create", actor=actor, request=request, region_code=building.region_code, obj=unit
        )
        _place_event(actor, unit, "unit", building.region_code, True, ["number"])
    return unit


def unit_update(
    *, actor: User | None, unit: Unit, number: str, reason: str = "", request: HttpRequest | None = None
) -> Unit:
    """Renumber a unit; the addresses of its houses follow."""
    _rename_place(
        unit,
        actor=actor,
        kind="unit",
        field="number",
        value=number,
        max_length=20,
        siblings=Unit.objects.filter(building_id=unit.building_id),
        taken_message=_("The building already has this unit."),
        dependents=House.objects.filter(unit=unit),
        reason=reason,
        request=request,
    )
    return unit
