"""Numbers the base data offers to report templates (统一制表): people, households, houses,
organizations, key places and visits, with their drill-down to the records behind each number.

Each statistic narrows its rows with one function used by both sides, so the grouped count for a
whole city (``compute``: one GROUP BY over the community prefix of ``region_code``) and the list a
viewer opens (``records``: the registry's scoped selectors, same filters) are the same rows.

People are counted like the ledgers count them: those living in the area now (moved-out and deceased
people never count), with ages reckoned on the period's last day and tags valid on that day. A tag
defined by age (60岁以上老年人, 高龄老人) counts by birth date. Restricted tags (社区矫正 …) are
counted in the aggregate; their drill-down lists only what the viewer's tag grants show.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Dimension, LedgerColumn, Stat, StatQuery, choice_values
from shequ.core.permissions import Viewer
from shequ.registry.ledgers import (
    CURRENT_ORG_STATUSES,
    DISABILITY_GRADES,
    DISABILITY_TYPES,
    disability_type_label,
    tag_in_effect_q,
    years_before,
)
from shequ.registry.models import (
    House,
    Household,
    HouseholdKind,
    HouseholdMember,
    HouseUse,
    KeyPlace,
    KeyPlaceKind,
    Organization,
    OrganizationType,
    Person,
    PersonStatus,
    PersonTag,
    PropertyType,
    ResidenceType,
    RiskLevel,
    Sex,
    TagCategory,
    Visit,
    VisitPurpose,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.selectors import (
    house_list,
    household_list,
    key_place_list,
    organization_list,
    person_list,
    visible_tag_q,
    visit_list,
)

# Age bands of the official forms: key → (from age, to age inclusive or None).
AGE_BANDS: dict[str, tuple[int, int | None, str]] = {
    "0-6": (0, 6, "0–6岁"),
    "0-17": (0, 17, "0–17岁"),
    "7-17": (7, 17, "7–17岁"),
    "18-59": (18, 59, "18–59岁"),
    "18-34": (18, 34, "18–34岁"),
    "35-59": (35, 59, "35–59岁"),
    "60+": (60, None, "60岁及以上"),
    "60-69": (60, 69, "60–69岁"),
    "65+": (65, None, "65岁及以上"),
    "70-79": (70, 79, "70–79岁"),
    "80+": (80, None, "80岁及以上"),
    "90+": (90, None, "90岁及以上"),
    "100+": (100, None, "100岁及以上"),
}


def _tag_values() -> list[tuple[str, Any]]:
    return [(c.code, c.name_zh or c.name) for c in TagCategory.objects.filter(is_active=True)]


RESIDENCE = Dimension("residence", _("Residence type"), choice_values(ResidenceType.choices))
GENDER = Dimension("gender", _("Sex"), choice_values(Sex.choices))
AGE = Dimension("age", _("Age band"), lambda: [(k, label) for k, (_a, _b, label) in AGE_BANDS.items()])
TAG = Dimension("tag", _("Population tag"), _tag_values)
DISABILITY_TYPE = Dimension(
    "disability_type",
    _("Kind of disability"),
    lambda: [(k, label) for k, (label, _zh) in DISABILITY_TYPES.items()],
)
DISABILITY_GRADE = Dimension(
    "disability_grade", _("Disability grade"), lambda: [(g, f"{g}级") for g in DISABILITY_GRADES]
)
HOUSEHOLD_KIND = Dimension("kind", _("Kind of household"), choice_values(HouseholdKind.choices))
HOUSE_USE = Dimension("use", _("Use"), choice_values(HouseUse.choices))
PROPERTY = Dimension("property", _("Property right"), choice_values(PropertyType.choices))
ORG_TYPE = Dimension("type", _("Type"), choice_values(OrganizationType.choices))
PLACE_KIND = Dimension("kind", _("Kind of place"), choice_values(KeyPlaceKind.choices))
RISK = Dimension("risk", _("Risk level"), choice_values(RiskLevel.choices))
PURPOSE = Dimension("purpose", _("Purpose"), choice_values(VisitPurpose.choices))

_GRADE_WORDS = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


# --- People -------------------------------------------------------------------------------------


def _tag_rows(tags: QuerySet[PersonTag], filters: Mapping[str, str], day: date) -> QuerySet[PersonTag] | None:
    """The valid tags the filters ask for (None: no tag filter). The disability filters imply
    the disability tag."""
    code = filters.get("tag") or (
        "disabled" if ("disability_type" in filters or "disability_grade" in filters) else ""
    )
    if not code:
        return None
    rows = tags.filter(tag_in_effect_q(day), category__code=code)
    if filters.get("disability_type"):
        kind = filters["disability_type"]
        _label, zh = DISABILITY_TYPES[kind]
        rows = rows.filter(subtype__in=[kind, zh, f"{zh}残疾"])
    if filters.get("disability_grade"):
        grade = filters["disability_grade"]
        rows = rows.filter(grade__in=[grade, _GRADE_WORDS[grade], f"{grade}级"])
    return rows


def _age_q(day: date, low: int | None, high: int | None, prefix: str = "") -> Q:
    q = Q()
    if low:
        q &= Q(**{f"{prefix}birth_date__lte": years_before(day, low)})
    if high is not None:
        q &= Q(**{f"{prefix}birth_date__gt": years_before(day, high + 1)})
    return q


def _narrow_people(people: QuerySet[Person], tags: QuerySet[PersonTag], query: StatQuery) -> QuerySet[Person]:
    """``people`` (living here) narrowed by the filters; ``tags``: the tag rows that may count."""
    f, day = query.filters, query.end
    if f.get("residence"):
        people = people.filter(residence_type=f["residence"])
    if f.get("gender"):
        people = people.filter(sex=f["gender"])
    if f.get("age"):
        low, high, _label = AGE_BANDS[f["age"]]
        people = people.filter(_age_q(day, low, high))
    code = f.get("tag")
    min_age = (
        TagCategory.objects.filter(code=code).values_list("min_age", flat=True).first() if code else None
    )
    if min_age is not None:
        # A group defined by age: its members are everyone old enough, tagged or not.
        people = people.filter(_age_q(day, min_age, None))
        if "disability_type" not in f and "disability_grade" not in f:
            return people
        f = {k: v for k, v in f.items() if k != "tag"}
    tagged = _tag_rows(tags, f, day)
    if tagged is not None:
        # "IN (tagged people)" computed once (as the ledgers do), not a correlated EXISTS per person.
        people = people.filter(pk__in=tagged.values("person_id"))
    return people


def _residents_compute(query: StatQuery) -> dict[str, Any]:
    people = Person.objects.filter(status=PersonStatus.ACTIVE)
    return query.grouped(_narrow_people(people, PersonTag.objects.all(), query))


def _residents_records(viewer: Viewer, region_code: str, query: StatQuery) -> QuerySet[Person]:
    people = person_list(viewer=viewer, region_code=region_code).select_related("region")
    tags = PersonTag.objects.filter(visible_tag_q(viewer))
    return _narrow_people(people, tags, query)


def _person_row(p: Person) -> Mapping[str, Any]:
    return {
        "name": p.name,
        "sex": p.get_sex_display(),
        "birth_date": p.birth_date,
        "id_number": p.masked_id_number,
        "residence": p.get_residence_type_display(),
        "address": p.house.address if p.house is not None else "",
        "grid": p.region.name if p.region_id else "",
    }


PERSON_COLUMNS = (
    _col("name", pgettext_lazy("ledger column", "Name"), 10),
    _col("sex", pgettext_lazy("ledger column", "Sex"), 6),
    _col("birth_date", pgettext_lazy("ledger column", "Date of birth"), 12, text=False),
    _col("id_number", pgettext_lazy("ledger column", "ID number"), 21),
    _col("residence", _("Residence type"), 12),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
    _col("grid", pgettext_lazy("ledger column", "Grid"), 12),
)


# --- Households ---------------------------------------------------------------------------------


def _narrow_households(
    households: QuerySet[Household], tags: QuerySet[PersonTag], query: StatQuery
) -> QuerySet[Household]:
    f = query.filters
    households = households.filter(end_date__isnull=True)
    if f.get("kind"):
        households = households.filter(kind=f["kind"])
    tagged = _tag_rows(tags, f, query.end)
    if tagged is not None:
        receivers = HouseholdMember.objects.filter(
            end_date__isnull=True,
            person__status=PersonStatus.ACTIVE,
            person_id__in=tagged.values("person_id"),
        )
        households = households.filter(pk__in=receivers.values("household_id"))
    return households


def _households_compute(query: StatQuery) -> dict[str, Any]:
    return query.grouped(_narrow_households(Household.objects.all(), PersonTag.objects.all(), query))


def _households_records(viewer: Viewer, region_code: str, query: StatQuery) -> QuerySet[Household]:
    rows = household_list(viewer=viewer).filter(region_code__startswith=region_code).select_related("region")
    return _narrow_households(rows, PersonTag.objects.filter(visible_tag_q(viewer)), query)


def _household_row(h: Household) -> Mapping[str, Any]:
    head = h.head
    house = h.house
    return {
        "number": h.number,
        "head": head.name if head is not None else "",
        "kind": h.get_kind_display(),
        "address": house.address if house is not None else "",
        "grid": h.region.name if h.region_id else "",
    }


HOUSEHOLD_COLUMNS = (
    _col("number", _("Household number"), 14),
    _col("head", pgettext_lazy("ledger column", "Head of household"), 10),
    _col("kind", _("Kind of household"), 10),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
    _col("grid", pgettext_lazy("ledger column", "Grid"), 12),
)


# --- Places -------------------------------------------------------------------------------------


def _narrow_houses(houses: QuerySet[House], query: StatQuery) -> QuerySet[House]:
    f = query.filters
    if f.get("use"):
        houses = houses.filter(use=f["use"])
    if f.get("property"):
        houses = houses.filter(property_type=f["property"])
    return houses


def _house_row(h: House) -> Mapping[str, Any]:
    return {
        "address": h.address,
        "use": h.get_use_display(),
        "property": h.get_property_type_display(),
        "area": h.area,
    }


HOUSE_COLUMNS = (
    _col("address", pgettext_lazy("ledger column", "Address"), 40),
    _col("use", _("Use"), 10),
    _col("property", _("Property right"), 12),
    _col("area", _("Floor area (m²)"), 10, text=False),
)


def _narrow_orgs(orgs: QuerySet[Organization], query: StatQuery) -> QuerySet[Organization]:
    orgs = orgs.filter(status__in=CURRENT_ORG_STATUSES)
    if query.filters.get("type"):
        orgs = orgs.filter(type=query.filters["type"])
    return orgs


def _org_row(o: Organization) -> Mapping[str, Any]:
    return {
        "name": o.name,
        "type": o.get_type_display(),
        "status": o.get_status_display(),
        "address": o.address,
        "staff": o.staff_count,
    }


ORG_COLUMNS = (
    _col("name", pgettext_lazy("ledger column", "Name"), 24),
    _col("type", _("Type"), 12),
    _col("status", _("Status"), 8),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
    _col("staff", _("Staff"), 8, text=False),
)


def _narrow_places(places: QuerySet[KeyPlace], query: StatQuery) -> QuerySet[KeyPlace]:
    places = places.filter(is_active=True)
    if query.filters.get("kind"):
        places = places.filter(kind=query.filters["kind"])
    if query.filters.get("risk"):
        places = places.filter(risk_level=query.filters["risk"])
    return places


def _place_row(k: KeyPlace) -> Mapping[str, Any]:
    return {
        "name": k.name,
        "kind": k.get_kind_display(),
        "risk": k.get_risk_level_display(),
        "address": k.address,
    }


PLACE_COLUMNS = (
    _col("name", pgettext_lazy("ledger column", "Name"), 24),
    _col("kind", _("Kind of place"), 14),
    _col("risk", _("Risk level"), 8),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
)


# --- Visits -------------------------------------------------------------------------------------


def _narrow_visits(visits: QuerySet[Visit], tags: QuerySet[PersonTag], query: StatQuery) -> QuerySet[Visit]:
    low, high = query.bounds
    visits = visits.filter(visited_at__gte=low, visited_at__lt=high)
    if query.filters.get("purpose"):
        visits = visits.filter(purpose=query.filters["purpose"])
    tagged = _tag_rows(tags, query.filters, query.end)
    if tagged is not None:
        visits = visits.filter(person_id__in=tagged.values("person_id"))
    return visits


def _visit_row(v: Visit) -> Mapping[str, Any]:
    from django.utils import timezone

    return {
        "visited_at": timezone.localtime(v.visited_at).strftime("%Y-%m-%d %H:%M"),
        "purpose": v.get_purpose_display(),
        "person": v.person.name if v.person is not None else "",
        "address": v.house.address if v.house is not None else "",
        "visitor": str(v.visitor),
    }


VISIT_COLUMNS = (
    _col("visited_at", _("Visited"), 16),
    _col("purpose", _("Purpose"), 12),
    _col("person", pgettext_lazy("ledger column", "Name"), 10),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
    _col("visitor", _("Visitor"), 10),
)


STATS: tuple[Stat, ...] = (
    Stat(
        key="registry.residents",
        title=_("Residents"),
        unit=pgettext_lazy("unit", "people"),
        kind="state",
        compute=_residents_compute,
        records=_residents_records,
        columns=PERSON_COLUMNS,
        row=_person_row,
        dimensions=(RESIDENCE, GENDER, AGE, TAG, DISABILITY_TYPE, DISABILITY_GRADE),
        description=_("People living in the area, ages on the period's last day, tags valid that day."),
        perm=P.VIEW_PEOPLE,
    ),
    Stat(
        key="registry.households",
        title=_("Households"),
        unit=pgettext_lazy("unit", "households"),
        kind="state",
        compute=_households_compute,
        records=_households_records,
        columns=HOUSEHOLD_COLUMNS,
        row=_household_row,
        dimensions=(HOUSEHOLD_KIND, TAG),
        description=_("Current households; with a tag: households with a member holding it (低保户 …)."),
        perm=P.VIEW_PEOPLE,
    ),
    Stat(
        key="registry.houses",
        title=_("Houses"),
        unit=pgettext_lazy("unit", "houses"),
        kind="state",
        compute=lambda q: q.grouped(_narrow_houses(House.objects.all(), q)),
        records=lambda viewer, code, q: _narrow_houses(house_list(viewer=viewer, region_code=code), q),
        columns=HOUSE_COLUMNS,
        row=_house_row,
        dimensions=(HOUSE_USE, PROPERTY),
        perm=P.VIEW_PLACES,
    ),
    Stat(
        key="registry.organizations",
        title=_("Organizations"),
        unit=pgettext_lazy("unit", "organizations"),
        kind="state",
        compute=lambda q: q.grouped(_narrow_orgs(Organization.objects.all(), q)),
        records=lambda viewer, code, q: _narrow_orgs(organization_list(viewer=viewer, region_code=code), q),
        columns=ORG_COLUMNS,
        row=_org_row,
        dimensions=(ORG_TYPE,),
        description=_("Operating or suspended organizations."),
        perm=P.VIEW_PLACES,
    ),
    Stat(
        key="registry.key_places",
        title=_("Key places"),
        unit=pgettext_lazy("unit", "places"),
        kind="state",
        compute=lambda q: q.grouped(_narrow_places(KeyPlace.objects.all(), q)),
        records=lambda viewer, code, q: _narrow_places(
            key_place_list(viewer=viewer, region_code=code, active=None), q
        ),
        columns=PLACE_COLUMNS,
        row=_place_row,
        dimensions=(PLACE_KIND, RISK),
        perm=P.VIEW_PLACES,
    ),
    Stat(
        key="registry.visits",
        title=_("Visits"),
        unit=pgettext_lazy("unit", "visits"),
        kind="flow",
        compute=lambda q: q.grouped(_narrow_visits(Visit.objects.all(), PersonTag.objects.all(), q)),
        records=lambda viewer, code, q: _narrow_visits(
            visit_list(viewer=viewer).filter(region_code__startswith=code),
            PersonTag.objects.filter(visible_tag_q(viewer)),
            q,
        ),
        columns=VISIT_COLUMNS,
        row=_visit_row,
        dimensions=(PURPOSE, TAG),
        description=_("Visits recorded in the period; with a tag: visits to people holding it."),
        perm=P.VIEW_PEOPLE,
    ),
)

__all__ = ["AGE_BANDS", "STATS", "disability_type_label"]
