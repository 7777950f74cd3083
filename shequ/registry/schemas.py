"""Input and output schemas of the registry API (``shequ/registry/api.py``).

Outputs never carry a full ID or phone number (``*_masked`` only). Inputs are checked strictly so
that what the OpenAPI document calls invalid is refused with a 400: JSON numbers for ids, ISO dates,
RFC 3339 times with a zone, no control characters; the services then check the meaning (checksums,
duplicates, statuses) and answer with field errors.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StringConstraints

from shequ.core.schemas import (
    MAX_DB_ID,
    RFC3339,
    RegionCode,
    Str3,
    Str10,
    Str12,
    Str20,
    Str40,
    Str50,
    Str100,
    Str200,
    Str500,
    Str2000,
)
from shequ.registry.models import (
    BuildingType,
    Education,
    HouseholdKind,
    HouseUse,
    IdType,
    KeyPlaceKind,
    MaritalStatus,
    OrganizationStatus,
    OrganizationType,
    PersonStatus,
    PoliticalStatus,
    PropertyType,
    RelationToHead,
    ResidenceRelation,
    ResidenceType,
    RiskLevel,
    Sensitivity,
    Sex,
    TagGroup,
    TagSource,
    VisitPurpose,
)

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _json_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("give a JSON integer")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("use a date such as 2024-03-01")
    return value


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError("use an RFC 3339 time with a zone, e.g. 2025-01-31T08:00:00+08:00")
    return value


def _sane_year(value: datetime | None) -> datetime | None:
    if value is not None and not 1970 <= value.year <= 2200:
        raise ValueError("the year must lie between 1970 and 2200")
    return value


ObjectId = Annotated[int, BeforeValidator(_json_int), Field(ge=1, le=MAX_DB_ID)]
Day = Annotated[date, BeforeValidator(_iso_date)]
Moment = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_sane_year)]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


# --- Outputs ------------------------------------------------------------------------------------


class PersonOut(Schema):
    id: int
    name: str
    name_pinyin: str
    sex: str = Field(description="`male`, `female` or empty.")
    birth_date: date | None
    age: int | None
    id_type: IdType
    id_number_masked: str = Field(description="The ID number masked like 430104********1234.")
    phone_masked: str = Field(description="The mobile number masked like 138****5678.")
    ethnicity: str = Field(description="GB/T 3304 code, e.g. `01` for Han; empty when unknown.")
    residence_type: ResidenceType
    status: PersonStatus
    status_date: date | None
    region_code: str
    house_id: int | None
    address: str = Field(description="Standard address of the current home.")

    @staticmethod
    def resolve_age(obj: Any) -> int | None:
        return obj.age()

    @staticmethod
    def resolve_id_number_masked(obj: Any) -> str:
        return obj.masked_id_number

    @staticmethod
    def resolve_phone_masked(obj: Any) -> str:
        return obj.masked_phone

    @staticmethod
    def resolve_address(obj: Any) -> str:
        return obj.house.address if obj.house_id else ""


class PersonHitOut(Schema):
    """A person in a list of search results."""

    id: int
    name: str
    sex: str = Field(description="`male`, `female` or empty.")
    age: int | None
    id_number_masked: str = Field(description="The ID number masked like 430104********1234.")
    phone_masked: str = Field(description="The mobile number masked like 138****5678.")
    residence_type: ResidenceType
    status: PersonStatus
    region_code: str
    house_id: int | None
    address: str = Field(description="Standard address of the current home.")
    tags: list[str] = Field(description="Codes of the person's active tags of normal sensitivity.")

    @staticmethod
    def resolve_id_number_masked(obj: Any) -> str:
        return obj.masked_id_number

    @staticmethod
    def resolve_phone_masked(obj: Any) -> str:
        return obj.masked_phone


class PersonPage(Schema):
    items: list[PersonHitOut]
    page: int
    page_size: int
    has_next: bool
    total: int | None = Field(description="The number of matches, only when asked for with `count=true`.")


class TagOut(Schema):
    id: int
    category: str = Field(description="Tag category code.")
    label: str
    group: TagGroup
    sensitivity: Sensitivity
    source: TagSource
    subtype: str
    grade: str
    valid_from: date
    valid_to: date | None
    active: bool
    verified: bool

    @staticmethod
    def resolve_category(obj: Any) -> str:
        return obj.category.code

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return obj.category.label

    @staticmethod
    def resolve_group(obj: Any) -> str:
        return obj.category.group

    @staticmethod
    def resolve_sensitivity(obj: Any) -> str:
        return obj.category.sensitivity

    @staticmethod
    def resolve_verified(obj: Any) -> bool:
        return obj.verified_at is not None


class ResidenceOut(Schema):
    house_id: int
    address: str
    relation: ResidenceRelation
    lives_here: bool
    start_date: date
    end_date: date | None

    @staticmethod
    def resolve_address(obj: Any) -> str:
        return obj.house.address


class HouseholdRef(Schema):
    id: int
    number: str
    kind: HouseholdKind
    head_id: int | None
    head_name: str
    house_id: int | None

    @staticmethod
    def resolve_head_name(obj: Any) -> str:
        return obj.head.name if obj.head_id else ""


class PersonDetailOut(PersonOut):
    nationality: str
    hukou_address: str
    hukou_region_code: str
    work_unit: str
    occupation: str
    education: str
    marital_status: str
    political_status: str
    tags: list[TagOut] = Field(description="Tags the caller may see; showing restricted ones is audited.")
    household: HouseholdRef | None
    relation_to_head: str
    residences: list[ResidenceOut]

    # The API puts what the caller may see on the person before answering (see api._person_detail).
    @staticmethod
    def resolve_tags(obj: Any) -> Any:
        return obj.visible_tags

    @staticmethod
    def resolve_household(obj: Any) -> Any:
        return obj.visible_household

    @staticmethod
    def resolve_relation_to_head(obj: Any) -> str:
        return obj.relation_to_head

    @staticmethod
    def resolve_residences(obj: Any) -> Any:
        return obj.visible_residences


class BuildingOut(Schema):
    id: int
    address: str
    road: str
    door_number: str
    estate: str
    number: str
    name: str
    type: BuildingType
    floors: int | None
    basement_floors: int
    latitude: float | None
    longitude: float | None
    region_code: str

    @staticmethod
    def resolve_road(obj: Any) -> str:
        return obj.road.name if obj.road_id else ""


class UnitOut(Schema):
    id: int
    number: str


class BuildingDetailOut(BuildingOut):
    units: list[UnitOut]
    house_count: int
    houses_by_use: dict[str, int]

    @staticmethod
    def resolve_units(obj: Any) -> Any:
        return obj.visible_units


class HouseOut(Schema):
    id: int
    building_id: int
    unit: str = Field(description="Unit number, empty when the building has no units.")
    floor: int | None
    number: str
    area: float | None
    use: HouseUse
    property_type: PropertyType
    address: str
    region_code: str

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        return obj.unit.number if obj.unit_id else ""


class ResidentOut(Schema):
    person_id: int
    name: str
    relation: ResidenceRelation
    lives_here: bool
    since: date

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.person.name

    @staticmethod
    def resolve_since(obj: Any) -> date:
        return obj.start_date


class HouseDetailOut(HouseOut):
    residents: list[ResidentOut] | None = Field(
        description="Current links to people (null when the caller may not see people here)."
    )
    household_ids: list[int] | None

    @staticmethod
    def resolve_residents(obj: Any) -> Any:
        return obj.visible_residents

    @staticmethod
    def resolve_household_ids(obj: Any) -> Any:
        return obj.visible_household_ids


class MemberOut(Schema):
    person_id: int
    name: str
    relation_to_head: RelationToHead
    start_date: date

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.person.name


class HouseholdOut(Schema):
    id: int
    number: str
    kind: HouseholdKind
    head_id: int | None
    house_id: int | None
    address: str
    region_code: str
    start_date: date
    end_date: date | None
    members: list[MemberOut]

    @staticmethod
    def resolve_address(obj: Any) -> str:
        return obj.house.address if obj.house_id else ""

    @staticmethod
    def resolve_members(obj: Any) -> Any:
        return obj.visible_members


class OrganizationOut(Schema):
    id: int
    name: str
    uscc: str
    type: OrganizationType
    status: OrganizationStatus
    address: str
    legal_representative: str
    contact_name: str
    contact_phone_masked: str
    staff_count: int | None
    industry: str
    building_id: int | None
    house_id: int | None
    region_code: str

    @staticmethod
    def resolve_contact_phone_masked(obj: Any) -> str:
        return obj.masked_contact_phone


class KeyPlaceOut(Schema):
    id: int
    name: str
    kind: KeyPlaceKind
    risk_level: RiskLevel
    risk_notes: str
    address: str
    is_active: bool
    building_id: int | None
    house_id: int | None
    organization_id: int | None
    region_code: str


class TagCategoryOut(Schema):
    code: str
    label: str
    name: str
    name_zh: str
    group: TagGroup
    sensitivity: Sensitivity
    min_age: int | None


class TimelineEntryOut(Schema):
    id: int
    at: datetime
    action: str
    summary: str = Field(description="One line in the caller's language.")
    actor_name: str
    reason: str
    changes: dict[str, Any] = Field(description="Old → new values; ID and phone numbers masked.")
    region_code: str
    tag: str | None

    @staticmethod
    def resolve_tag(obj: Any) -> str | None:
        return obj.tag_category.code if obj.tag_category_id else None


class VisitOut(Schema):
    id: int
    visited_at: datetime
    purpose: VisitPurpose
    notes: str
    findings: str
    follow_up_date: date | None
    follow_up_done_at: datetime | None
    person_id: int | None
    household_id: int | None
    house_id: int | None
    region_code: str
    visitor_name: str

    @staticmethod
    def resolve_visitor_name(obj: Any) -> str:
        return obj.visitor.display_name or obj.visitor.username


# --- Inputs -------------------------------------------------------------------------------------


class PersonFilters(Schema):
    q: Str100 = Field(
        "",
        description="One box: a name (prefix), pinyin or its initials (prefix), an ID or mobile number "
        "(exact), or part of the address.",
    )
    tag: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")] | None = Field(
        None, description="Population tag code (see /registry/tag-categories); age groups match by age too."
    )
    age_min: int | None = Field(None, ge=0, le=150)
    age_max: int | None = Field(None, ge=0, le=150)
    residence_type: ResidenceType | None = None
    sex: Sex | None = None
    status: PersonStatus | Literal["all"] = Field(PersonStatus.ACTIVE, description="`all` for every status.")
    region: RegionCode | None = Field(None, description="Only this region's subtree.")
    page: int = Field(1, ge=1, le=500)
    page_size: int = Field(20, ge=1, le=100)
    count: bool = Field(False, description="Also count all matches (slower).")


class PlaceFilters(Schema):
    region: RegionCode | None = Field(None, description="Only this region's subtree.")


class HouseFilters(PlaceFilters):
    building_id: int | None = Field(None, ge=1, le=MAX_DB_ID)
    use: HouseUse | None = None


class KeyPlaceFilters(PlaceFilters):
    kind: KeyPlaceKind | None = None


class PersonFieldsIn(StrictIn):
    name: Str50 | None = None
    id_type: IdType | None = None
    id_number: Str40 | None = None
    birth_date: Day | None = Field(None, description="Only for documents that do not code it (passports …).")
    sex: Sex | None = None
    phone: Str20 | None = None
    ethnicity: Str10 | None = Field(None, description="GB/T 3304 code or the group's name.")
    nationality: Str3 | None = Field(None, description="ISO 3166 alpha-3, for foreigners.")
    residence_type: ResidenceType | None = None
    hukou_address: Str200 | None = None
    hukou_region_code: Str12 | None = None
    work_unit: Str100 | None = None
    occupation: Str50 | None = None
    education: Education | None = None
    marital_status: MaritalStatus | None = None
    political_status: PoliticalStatus | None = None

    def person_data(self) -> dict[str, Any]:
        """The fields that were sent, as ``services.clean_person_data`` takes them."""
        sent = self.model_dump(exclude_unset=True, include=set(PersonFieldsIn.model_fields))
        return {key: ("" if value is None else value) for key, value in sent.items()}


class PersonRegisterIn(PersonFieldsIn):
    name: Str50
    house_id: ObjectId | None = Field(None, description="The house the person lives in.")
    region_code: RegionCode | None = Field(
        None, description="Without a known house: their grid or community."
    )
    relation: ResidenceRelation = ResidenceRelation.FAMILY
    since: Day | None = Field(None, description="Living there since (default today).")
    household_id: ObjectId | None = Field(None, description="Join this household at the house.")
    relation_to_head: RelationToHead | None = None

    def person_data(self) -> dict[str, Any]:
        data = super().person_data()
        data["name"] = self.name
        return data


class PersonCorrectIn(StrictIn):
    changes: PersonFieldsIn = Field(description="Only the fields to change.")
    reason: Str500 = Field(description="Why (kept in the person's history).")


class PersonMoveIn(StrictIn):
    house_id: ObjectId = Field(description="The new home; it may be in another grid or community.")
    relation: ResidenceRelation | None = Field(None, description="Default: as before.")
    on: Day | None = Field(None, description="Moving date (default today).")
    reason: Str500 = ""


class VisitIn(StrictIn):
    person_id: ObjectId | None = None
    household_id: ObjectId | None = None
    house_id: ObjectId | None = None
    visited_at: Moment | None = Field(None, description="RFC 3339 with a zone; default now.")
    purpose: VisitPurpose = VisitPurpose.ROUTINE
    notes: Str2000 = ""
    findings: Str2000 = ""
    follow_up_date: Day | None = None
    follows_up_id: ObjectId | None = Field(None, description="The earlier visit this one follows up.")


TimelineObject = Literal["person", "household", "house", "building", "organization", "key_place"]
