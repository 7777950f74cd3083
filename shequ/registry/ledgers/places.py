"""The rows of the place ledgers: rented and vacant houses, organizations, key places."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext, pgettext_lazy

from shequ.core.permissions import Viewer, scope_q
from shequ.registry.ledgers._common import (
    ORG_STATUS,
    ORG_TYPE,
    PLACE_KIND,
    REGION,
    RISK_LEVEL,
    Filters,
    _col,
    _joined,
    _masked,
    _region_name,
)
from shequ.registry.models import (
    House,
    HouseUse,
    KeyPlace,
    Organization,
    OrganizationStatus,
    PersonStatus,
    Residence,
    ResidenceRelation,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.selectors import (
    house_list,
    key_place_list,
    organization_list,
)

# --- Houses -------------------------------------------------------------------------------------

TENANTS = (ResidenceRelation.TENANT, ResidenceRelation.LODGER)


def _current_residences(viewer: Viewer) -> QuerySet[Residence]:
    """Current links of living people to houses, where the viewer may see people."""
    return (
        Residence.objects.filter(scope_q(viewer, P.VIEW_PEOPLE), end_date__isnull=True)
        .filter(person__status=PersonStatus.ACTIVE)
        .select_related("person")
        .order_by("start_date", "pk")
    )


def _houses(viewer: Viewer, filters: Filters) -> QuerySet[House]:
    return (
        house_list(viewer=viewer, region_code=filters.get(REGION) or None)
        .select_related("region")
        .prefetch_related(
            Prefetch("residences", queryset=_current_residences(viewer), to_attr="current_residences")
        )
    )


def _rented(viewer: Viewer, filters: Filters) -> QuerySet[House]:
    tenanted = _current_residences(viewer).filter(relation__in=TENANTS).values("house_id")
    return _houses(viewer, filters).filter(Q(use=HouseUse.RENTED) | Q(pk__in=tenanted))


def _vacant(viewer: Viewer, filters: Filters) -> QuerySet[House]:
    return _houses(viewer, filters).filter(use=HouseUse.VACANT)


def _house_cells(house: House, full: bool) -> dict[str, Any]:
    owners = [r.person for r in house.current_residences if r.relation == ResidenceRelation.OWNER]  # type: ignore[attr-defined]
    return {
        "address": house.address,
        "area": house.area,
        "property_type": house.get_property_type_display(),
        "owner": _joined([p.name for p in owners]),
        "owner_phone": _joined([_masked(p, "phone", full) for p in owners]),
        "grid": _region_name(house),
        "notes": "",
    }


def _rented_row(house: Any, filters: Filters, full: bool) -> dict[str, Any]:
    row = _house_cells(house, full)
    tenants = [r for r in house.current_residences if r.relation in TENANTS]
    people = [r.person for r in tenants]
    row.update(
        tenants=_joined([p.name for p in people]),
        tenant_id_numbers=_joined([_masked(p, "id_number", full) for p in people]),
        tenant_phones=_joined([_masked(p, "phone", full) for p in people]),
        tenant_count=len(people),
        since=min((r.start_date for r in tenants), default=None),
    )
    if house.use != HouseUse.RENTED:
        row["notes"] = gettext("Registered use: %(use)s") % {"use": house.get_use_display()}
    elif not people:
        row["notes"] = gettext("No tenant registered")
    return row


def _vacant_row(house: Any, filters: Filters, full: bool) -> dict[str, Any]:
    row = _house_cells(house, full)
    building = house.building
    row.update(
        building=building.number or building.name,
        unit=house.unit.number if house.unit is not None else "",
        number=house.number,
    )
    living = [r for r in house.current_residences if r.lives_here]
    if living:
        row["notes"] = gettext("%(n)d people registered as living here") % {"n": len(living)}
    return row


HOUSE_HEAD = (_col("address", pgettext_lazy("ledger column", "Address"), 36),)
HOUSE_TAIL = (
    _col("area", pgettext_lazy("ledger column", "Floor area (m²)"), 9, text=False),
    _col("property_type", pgettext_lazy("ledger column", "Property right"), 12),
)
# Filled by ``_house_cells`` for every house ledger.
HOUSE_OWNER = (
    _col("owner", pgettext_lazy("ledger column", "Owner"), 10),
    _col("owner_phone", pgettext_lazy("ledger column", "Owner's phone"), 14),
)


# --- Organizations and key places ---------------------------------------------------------------

CURRENT_ORG_STATUSES = (OrganizationStatus.OPERATING, OrganizationStatus.SUSPENDED)


def _organizations(viewer: Viewer, filters: Filters) -> QuerySet[Organization]:
    qs = organization_list(viewer=viewer, region_code=filters.get(REGION) or None).select_related("region")
    status = filters.get(ORG_STATUS) or ""
    if status == "all":
        pass
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=CURRENT_ORG_STATUSES)
    if filters.get(ORG_TYPE):
        qs = qs.filter(type=filters[ORG_TYPE])
    return qs


def _place_address(obj: Any) -> str:
    if obj.address:
        return str(obj.address)
    if obj.house is not None:
        return str(obj.house.address)
    return str(obj.building.address) if obj.building is not None else ""


def _organization_row(org: Any, filters: Filters, full: bool) -> dict[str, Any]:
    return {
        "name": org.name,
        "uscc": org.uscc,
        "type": org.get_type_display(),
        "industry": org.industry,
        "address": _place_address(org),
        "legal_representative": org.legal_representative,
        "contact_name": org.contact_name,
        "contact_phone": str(org.contact_phone or "") if full else org.masked_contact_phone,
        "staff_count": org.staff_count,
        "status": org.get_status_display(),
        "grid": _region_name(org),
        "notes": "",
    }


def _key_places(viewer: Viewer, filters: Filters) -> QuerySet[KeyPlace]:
    qs = key_place_list(
        viewer=viewer, region_code=filters.get(REGION) or None, kind=filters.get(PLACE_KIND) or None
    ).select_related("region")
    if filters.get(RISK_LEVEL):
        qs = qs.filter(risk_level=filters[RISK_LEVEL])
    return qs


def _key_place_row(place: Any, filters: Filters, full: bool) -> dict[str, Any]:
    return {
        "name": place.name,
        "kind": place.get_kind_display(),
        "address": _place_address(place),
        "organization": place.organization.name if place.organization is not None else "",
        "risk_level": place.get_risk_level_display(),
        "risk_notes": place.risk_notes,
        "grid": _region_name(place),
        "notes": "",
    }
