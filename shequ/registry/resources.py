"""The registry's entries in the resource catalog (政务信息资源目录): people, households, houses,
organizations and key places, offered to departments through sharing grants.

Rows are read here, from the registry's own tables: a region filter by code prefix, the declared
dimensions as row filters, keyset paging by primary key. ``row`` gives every field's clear value;
the sharing app masks or leaves out what a grant does not name. Moved-out and deceased people stay
findable (a department subscribed to "moved out" fetches the person after the move).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import (
    DataResource,
    Dimension,
    ResourceField,
    Sensitivity,
    SharingType,
    choice_values,
    keyset_page,
)
from shequ.core.personal import mask_id_number, mask_name, mask_phone
from shequ.registry.models import (
    House,
    Household,
    HouseholdKind,
    HouseholdMember,
    HouseUse,
    KeyPlace,
    KeyPlaceKind,
    Organization,
    OrganizationStatus,
    OrganizationType,
    Person,
    PersonStatus,
    PersonTag,
    PropertyType,
    ResidenceType,
    RiskLevel,
    Sex,
    TagCategory,
)
from shequ.registry.models import Sensitivity as TagSensitivity

__all__ = ["RESOURCES"]

PUBLIC, INTERNAL, PERSONAL, SENSITIVE = (
    Sensitivity.PUBLIC,
    Sensitivity.INTERNAL,
    Sensitivity.PERSONAL,
    Sensitivity.SENSITIVE,
)
COMMUNITY_OWNER = _("Community residents' committee (base data)")
STREET_OWNER = _("Street office")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _birth_year(value: Any) -> Any:
    return value[:4] if isinstance(value, str) and value else value


# --- people (实有人口) ------------------------------------------------------------------------------

AGE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    # value, label, from age, below age
    ("0-17", "0–17", 0, 18),
    ("18-59", "18–59", 18, 60),
    ("60-79", "60–79", 60, 80),
    ("80+", "80+", 80, None),
)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age_band_q(value: str, today: date) -> Q:
    for key, _label, lowest, below in AGE_BANDS:
        if key == value:
            # Born on or before the day ``lowest`` years ago, and after the day ``below`` years ago.
            q = Q(birth_date__lte=_years_before(today, lowest))
            if below is not None:
                q &= Q(birth_date__gt=_years_before(today, below))
            return q
    return Q(pk__in=[])


def _care_tags() -> list[tuple[str, str]]:
    """Tags a grant or a caller may filter people by: the care groups (normal sensitivity). Special
    groups (correction, drug use, mental disorder …) are never a filter: the list itself would say
    who belongs to them."""
    return [
        (c.code, c.label)
        for c in TagCategory.objects.filter(sensitivity=TagSensitivity.NORMAL, is_active=True)
    ]


def _tag_q(code: str, today: date) -> Q:
    category = TagCategory.objects.filter(code=code, sensitivity=TagSensitivity.NORMAL).first()
    if category is None:
        return Q(pk__in=[])
    tagged = Q(Exists(PersonTag.objects.filter(person=OuterRef("pk"), category=category, active=True)))
    if category.min_age is not None:
        tagged |= Q(birth_date__lte=_years_before(today, category.min_age))
    return tagged


def _people(region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int) -> list[Person]:
    today = timezone.localdate()
    qs = Person.objects.select_related("house")
    for key, value in filters.items():
        if key == "tag":
            qs = qs.filter(_tag_q(value, today))
        elif key == "age_band":
            qs = qs.filter(_age_band_q(value, today))
        elif key == "residence_type":
            qs = qs.filter(residence_type=value)
        elif key == "sex":
            qs = qs.filter(sex=value)
        elif key == "status":
            qs = qs.filter(status=value)
    people = keyset_page(qs, region_codes, after, limit)
    tags: dict[int, list[tuple[str, str]]] = {}
    for person_id, code, level in PersonTag.objects.filter(
        person_id__in=[p.pk for p in people], active=True
    ).values_list("person_id", "category__code", "category__sensitivity"):
        tags.setdefault(person_id, []).append((code, level))
    for person in people:
        person.__dict__["_shared_tags"] = sorted(tags.get(person.pk, []))
    return people


def _person_row(person: Person) -> dict[str, Any]:
    tags = person.__dict__.get("_shared_tags", [])
    return {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number or "",
        "sex": person.sex,
        "birth_date": _day(person.birth_date),
        "ethnicity": person.ethnicity,
        "phone": person.phone or "",
        "residence_type": person.residence_type,
        "address": person.house.address if person.house else "",
        "status": person.status,
        "status_date": _day(person.status_date),
        "care_tags": [code for code, level in tags if level == TagSensitivity.NORMAL],
        "special_tags": [code for code, level in tags if level != TagSensitivity.NORMAL],
        "region_code": person.region_code,
    }


PEOPLE = DataResource(
    key="people",
    title=_("Actual population"),
    description=_(
        "People living in the area (registered, resident, floating, foreign), with their current "
        "home, status and the care groups they belong to."
    ),
    owner=COMMUNITY_OWNER,
    frequency=_("Real time (as the community records it)"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("name", _("Name"), PERSONAL, mask_name),
        ResourceField("id_type", _("ID type"), INTERNAL),
        ResourceField("id_number", _("ID number"), PERSONAL, mask_id_number),
        ResourceField("sex", _("Sex"), INTERNAL),
        ResourceField("birth_date", _("Date of birth"), PERSONAL, _birth_year),
        ResourceField("ethnicity", _("Ethnic group"), PERSONAL),
        ResourceField("phone", _("Mobile number"), PERSONAL, mask_phone),
        ResourceField("residence_type", _("Residence type"), INTERNAL),
        ResourceField("address", _("Home address"), PERSONAL),
        ResourceField("status", _("Status"), INTERNAL),
        ResourceField("status_date", _("Status since"), INTERNAL),
        ResourceField("care_tags", _("Care groups"), PERSONAL),
        ResourceField("special_tags", _("Special groups (correction, drug use, mental health …)"), SENSITIVE),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_people,
    row=_person_row,
    region_code=lambda person: person.region_code,
    subjects=lambda person: (person.pk,),
    dimensions=(
        Dimension("tag", _("Care group"), _care_tags),
        Dimension("age_band", _("Age band"), lambda: [(k, label) for k, label, _a, _b in AGE_BANDS]),
        Dimension("residence_type", _("Residence type"), choice_values(ResidenceType)),
        Dimension("sex", _("Sex"), choice_values(Sex)),
        Dimension("status", _("Status"), choice_values(PersonStatus)),
    ),
    events=("registry.person_moved_in", "registry.person_moved_out", "registry.person_died"),
)


# --- households (户) --------------------------------------------------------------------------------


def _households(
    region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int
) -> list[Household]:
    qs = Household.objects.select_related("head", "house")
    if "kind" in filters:
        qs = qs.filter(kind=filters["kind"])
    if "current" in filters:
        qs = qs.filter(end_date__isnull=filters["current"] == "yes")
    households = keyset_page(qs, region_codes, after, limit)
    members: dict[int, list[int]] = {}
    for household_id, person_id in HouseholdMember.objects.filter(
        household_id__in=[h.pk for h in households], end_date__isnull=True
    ).values_list("household_id", "person_id"):
        members.setdefault(household_id, []).append(person_id)
    for household in households:
        household.__dict__["_shared_members"] = sorted(members.get(household.pk, []))
    return households


def _household_row(household: Household) -> dict[str, Any]:
    return {
        "number": household.number,
        "kind": household.kind,
        "head_name": household.head.name if household.head else "",
        "address": household.house.address if household.house else "",
        "members": len(household.__dict__.get("_shared_members", [])),
        "start_date": _day(household.start_date),
        "end_date": _day(household.end_date),
        "region_code": household.region_code,
    }


HOUSEHOLDS = DataResource(
    key="households",
    title=_("Households"),
    description=_("Households with their head, home and number of current members."),
    owner=COMMUNITY_OWNER,
    frequency=_("Real time (as the community records it)"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("number", _("Household number"), INTERNAL),
        ResourceField("kind", _("Kind"), INTERNAL),
        ResourceField("head_name", _("Head of household"), PERSONAL, mask_name),
        ResourceField("address", _("Home address"), PERSONAL),
        ResourceField("members", _("Current members"), INTERNAL),
        ResourceField("start_date", _("From"), INTERNAL),
        ResourceField("end_date", _("Until"), INTERNAL),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_households,
    row=_household_row,
    region_code=lambda household: household.region_code,
    subjects=lambda household: tuple(household.__dict__.get("_shared_members", ())),
    dimensions=(
        Dimension("kind", _("Kind"), choice_values(HouseholdKind)),
        Dimension("current", _("Current"), lambda: [("yes", _("Current")), ("no", _("Ended"))]),
    ),
    events=("registry.household_changed",),
)


# --- houses (实有房屋) ------------------------------------------------------------------------------


def _houses(region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int) -> list[House]:
    qs = House.objects.select_related("building").annotate(
        residents=Count("people", filter=Q(people__status=PersonStatus.ACTIVE))
    )
    if "use" in filters:
        qs = qs.filter(use=filters["use"])
    if "property_type" in filters:
        qs = qs.filter(property_type=filters["property_type"])
    return keyset_page(qs, region_codes, after, limit)


def _house_row(house: House) -> dict[str, Any]:
    return {
        "address": house.address,
        "building_type": house.building.type if house.building else "",
        "floor": house.floor,
        "area": _text(house.area) if house.area is not None else None,
        "use": house.use,
        "property_type": house.property_type,
        "residents": getattr(house, "residents", None),
        "region_code": house.region_code,
    }


HOUSES = DataResource(
    key="houses",
    title=_("Actual houses"),
    description=_("Houses with their address, floor area, use, property type and number of residents."),
    owner=COMMUNITY_OWNER,
    frequency=_("Real time (as the community records it)"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("address", _("Standard address"), INTERNAL),
        ResourceField("building_type", _("Building type"), PUBLIC),
        ResourceField("floor", _("Floor"), INTERNAL),
        ResourceField("area", _("Floor area (m²)"), INTERNAL),
        ResourceField("use", _("Use"), INTERNAL),
        ResourceField("property_type", _("Property type"), INTERNAL),
        ResourceField("residents", _("Number of residents"), INTERNAL),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_houses,
    row=_house_row,
    region_code=lambda house: house.region_code,
    dimensions=(
        Dimension("use", _("Use"), choice_values(HouseUse)),
        Dimension("property_type", _("Property type"), choice_values(PropertyType)),
    ),
    events=("registry.place_changed",),
)


# --- organizations (实有单位) -----------------------------------------------------------------------


def _organizations(
    region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int
) -> list[Organization]:
    qs = Organization.objects.all()
    if "type" in filters:
        qs = qs.filter(type=filters["type"])
    if "status" in filters:
        qs = qs.filter(status=filters["status"])
    return keyset_page(qs, region_codes, after, limit)


def _organization_row(org: Organization) -> dict[str, Any]:
    return {
        "name": org.name,
        "uscc": org.uscc,
        "type": org.type,
        "industry": org.industry,
        "address": org.address,
        "legal_representative": org.legal_representative,
        "contact_name": org.contact_name,
        "contact_phone": org.contact_phone or "",
        "staff_count": org.staff_count,
        "status": org.status,
        "region_code": org.region_code,
    }


ORGANIZATIONS = DataResource(
    key="organizations",
    title=_("Actual organizations"),
    description=_(
        "Companies, shops, agencies and associations in the area, with their credit code, address, "
        "industry, staff and contact."
    ),
    owner=STREET_OWNER,
    frequency=_("Real time (as the community records it)"),
    sharing=SharingType.UNCONDITIONAL,
    fields=(
        ResourceField("name", pgettext_lazy("organization", "Name"), PUBLIC),
        ResourceField("uscc", _("Unified social credit code"), PUBLIC),
        ResourceField("type", _("Type"), PUBLIC),
        ResourceField("industry", _("Industry"), PUBLIC),
        ResourceField("address", _("Address"), PUBLIC),
        ResourceField("legal_representative", _("Legal representative"), PERSONAL, mask_name),
        ResourceField("contact_name", _("Contact person"), PERSONAL, mask_name),
        ResourceField("contact_phone", _("Contact phone"), PERSONAL, mask_phone),
        ResourceField("staff_count", _("Staff"), INTERNAL),
        ResourceField("status", _("Status"), PUBLIC),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_organizations,
    row=_organization_row,
    region_code=lambda org: org.region_code,
    dimensions=(
        Dimension("type", _("Type"), choice_values(OrganizationType)),
        Dimension("status", _("Status"), choice_values(OrganizationStatus)),
    ),
    events=("registry.place_changed",),
)


# --- key places (重点场所) --------------------------------------------------------------------------


def _key_places(
    region_codes: Sequence[str], filters: Mapping[str, str], after: int, limit: int
) -> list[KeyPlace]:
    qs = KeyPlace.objects.all()
    if "kind" in filters:
        qs = qs.filter(kind=filters["kind"])
    if "risk_level" in filters:
        qs = qs.filter(risk_level=filters["risk_level"])
    return keyset_page(qs, region_codes, after, limit)


def _key_place_row(place: KeyPlace) -> dict[str, Any]:
    return {
        "name": place.name,
        "kind": place.kind,
        "address": place.address,
        "risk_level": place.risk_level,
        "risk_notes": place.risk_notes,
        "active": place.is_active,
        "region_code": place.region_code,
    }


KEY_PLACES = DataResource(
    key="key_places",
    title=_("Key places"),
    description=_(
        "Schools, markets, hazardous-goods sites, rental clusters and other places grid workers "
        "inspect, with their risk level."
    ),
    owner=STREET_OWNER,
    frequency=_("Real time (as the community records it)"),
    sharing=SharingType.CONDITIONAL,
    fields=(
        ResourceField("name", pgettext_lazy("organization", "Name"), PUBLIC),
        ResourceField("kind", _("Kind"), PUBLIC),
        ResourceField("address", _("Address"), PUBLIC),
        ResourceField("risk_level", _("Risk level"), INTERNAL),
        ResourceField("risk_notes", _("Risk notes"), INTERNAL),
        ResourceField("active", pgettext_lazy("shared field", "Active"), PUBLIC),
        ResourceField("region_code", _("Community or grid code"), PUBLIC),
    ),
    rows=_key_places,
    row=_key_place_row,
    region_code=lambda place: place.region_code,
    dimensions=(
        Dimension("kind", _("Kind"), choice_values(KeyPlaceKind)),
        Dimension("risk_level", _("Risk level"), choice_values(RiskLevel)),
    ),
    events=("registry.place_changed",),
)


RESOURCES: tuple[DataResource, ...] = (PEOPLE, HOUSEHOLDS, HOUSES, ORGANIZATIONS, KEY_PLACES)
