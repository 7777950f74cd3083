"""Standard ledgers (台账) of the base data: generated from the registry, never retyped.

Each ledger is a :class:`~shequ.core.components.Ledger` declared in the app's manifest, so the
pages here and the reports of other apps read the same rows:

* ``query(viewer, filters)`` returns the rows in the viewer's scope. Filters are a mapping:
  ``region`` (a region code inside the scope, '' for the whole scope), ``as_of`` (the date ages and
  tag validity are computed at; default today), and per ledger ``age_min``/``age_max``, ``sex``,
  ``disability_type``/``disability_grade``, ``category``, ``org_type``/``org_status``,
  ``place_kind``/``risk_level``. Values are already validated (see ``views_ledgers``). Houses,
  organizations and key places are listed as they are now (no "as of").
* ``row(obj, filters, full)`` gives one row by column key; ID and phone numbers are masked unless
  ``full`` (the caller checked the reveal permission, asked for a reason and audited it).
* ``record_view(viewer, rows, request, context)`` audits rows shown that reveal a restricted tag.

Ledgers list the people living in the area now (moved-out and deceased people never appear); the
"as of" date sets the day ages are counted on and tags must be valid on: a tag counts from its
``valid_from`` through its ``valid_to`` (inclusive); an ended tag stops counting on the day it
ended. The special-population ledger exists only for users with a tag grant: the others see no
menu entry, no count, and get 404.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from shequ.core.components import Ledger, LedgerColumn
from shequ.core.excel import Column, Sheet, write_sheet
from shequ.core.models import Region
from shequ.core.permissions import Viewer, scope_q
from shequ.registry.models import (
    House,
    Household,
    HouseholdMember,
    HouseUse,
    KeyPlace,
    Organization,
    OrganizationStatus,
    Person,
    PersonStatus,
    PersonTag,
    Residence,
    ResidenceRelation,
    ResidenceType,
    TagGroup,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.selectors import (
    active_grants,
    house_list,
    key_place_list,
    organization_list,
    person_list,
    record_tag_filter_view,
    record_tag_view,
    tag_category_list,
    visible_tag_q,
)

Filters = Mapping[str, Any]

ELDERLY_AGE = 60  # 老年人权益保障法 Art. 2
OLDEST_OLD_AGE = 80  # 高龄

# Names of the filters a ledger may accept (the page builds a field for each).
REGION, AS_OF = "region", "as_of"
AGE_MIN, AGE_MAX, SEX = "age_min", "age_max", "sex"
DISABILITY_TYPE, DISABILITY_GRADE = "disability_type", "disability_grade"
CATEGORY = "category"
ORG_TYPE, ORG_STATUS = "org_type", "org_status"
PLACE_KIND, RISK_LEVEL = "place_kind", "risk_level"
PEOPLE_FILTERS = (REGION, AS_OF, AGE_MIN, AGE_MAX, SEX)

# Kinds of disability (GB/T 26341): the tag's ``subtype`` holds the code or the Chinese word.
DISABILITY_TYPES: dict[str, tuple[Any, str]] = {
    "visual": (_("Visual"), "视力"),
    "hearing": (_("Hearing"), "听力"),
    "speech": (_("Speech"), "言语"),
    "physical": (_("Physical"), "肢体"),
    "intellectual": (_("Intellectual"), "智力"),
    "mental": (_("Mental"), "精神"),
    "multiple": (_("Multiple"), "多重"),
}
DISABILITY_GRADES = ("1", "2", "3", "4")
_GRADE_WORDS = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}


# --- Dates and tags -----------------------------------------------------------------------------


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_on(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def as_of(filters: Filters) -> date:
    value = filters.get(AS_OF)
    return value if isinstance(value, date) else timezone.localdate()


def tag_in_effect_q(day: date, prefix: str = "") -> Q:
    """``PersonTag`` rows valid on ``day``: started, not past their end of validity, and — for an
    ended tag — ended after that day (``tag_end`` sets ``valid_to`` to the day it ended)."""
    f = prefix
    started = Q(**{f"{f}valid_from__lte": day})
    running = Q(**{f"{f}active": True}) & (
        Q(**{f"{f}valid_to__isnull": True}) | Q(**{f"{f}valid_to__gte": day})
    )
    ended_later = Q(**{f"{f}active": False, f"{f}valid_to__gt": day})
    return started & (running | ended_later)


def _tags(viewer: Viewer, filters: Filters, code: str | None = None) -> QuerySet[PersonTag]:
    """Tags the viewer may see, valid on the ledger's date (of one category when ``code``)."""
    qs = PersonTag.objects.filter(visible_tag_q(viewer), tag_in_effect_q(as_of(filters)))
    return qs.filter(category__code=code) if code else qs


def visible_category_codes(user: Viewer) -> frozenset[str]:
    """Codes of the tag categories the user may see somewhere (cached with their grants)."""
    grants = active_grants(user)
    cached = getattr(user, "_ledger_tag_codes", None)
    if cached is not None and cached[0] is grants:
        return cached[1]
    codes = frozenset(c.code for c in tag_category_list(viewer=user))
    if getattr(user, "is_authenticated", False):
        user.__dict__["_ledger_tag_codes"] = (grants, codes)
    return codes


def special_categories(user: Viewer) -> list[Any]:
    return tag_category_list(viewer=user, group=TagGroup.SPECIAL)


# --- Rows ---------------------------------------------------------------------------------------


def _region_name(obj: Any) -> str:
    region = getattr(obj, "region", None)
    return region.name if region is not None else ""


def _masked(obj: Any, field: str, full: bool) -> str:
    if obj is None:
        return ""
    if full:
        return str(getattr(obj, field) or "")
    return str(getattr(obj, f"masked_{field}"))


def _person_cells(p: Person, filters: Filters, full: bool) -> dict[str, Any]:
    return {
        "name": p.name,
        "sex": p.get_sex_display(),
        "birth_date": p.birth_date,
        "age": age_on(p.birth_date, as_of(filters)),
        "id_number": _masked(p, "id_number", full),
        "phone": _masked(p, "phone", full),
        "address": p.house.address if p.house is not None else "",
        "grid": _region_name(p),
        "notes": "",
        "_person": p.pk,
    }


def disability_type_label(subtype: str) -> str:
    for code, (label, zh) in DISABILITY_TYPES.items():
        if subtype in (code, zh, f"{zh}残疾"):
            return str(label)
    return subtype


def _joined(values: Sequence[Any]) -> str:
    return "\n".join(str(v) for v in values if v not in (None, ""))


# --- Column sets --------------------------------------------------------------------------------


def _col(key: str, title: Any, width: int = 14, text: bool = True) -> LedgerColumn:
    return LedgerColumn(key, title, width, text)


# The order Chinese community ledgers use: 姓名, 性别, 出生日期, 年龄, 身份证号码, 联系电话, 住址 …
PERSON_HEAD = (
    _col("name", pgettext_lazy("ledger column", "Name"), 10),
    _col("sex", pgettext_lazy("ledger column", "Sex"), 6),
    _col("birth_date", pgettext_lazy("ledger column", "Date of birth"), 12, text=False),
    _col("age", pgettext_lazy("ledger column", "Age"), 6, text=False),
    _col("id_number", pgettext_lazy("ledger column", "ID number"), 21),
    _col("phone", pgettext_lazy("ledger column", "Phone"), 14),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
)
GRID = _col("grid", pgettext_lazy("ledger column", "Grid"), 12)
NOTES = _col("notes", pgettext_lazy("ledger column", "Notes"), 16)


def _person_columns(*extra: LedgerColumn) -> tuple[LedgerColumn, ...]:
    return (*PERSON_HEAD, *extra, GRID, NOTES)


# --- People -------------------------------------------------------------------------------------


def _people(viewer: Viewer, filters: Filters) -> QuerySet[Person]:
    """Active people in scope, with the common filters (ages counted on the ledger's date)."""
    day = as_of(filters)
    qs = person_list(viewer=viewer, region_code=filters.get(REGION) or None).select_related("region")
    if filters.get(AGE_MIN) is not None:
        qs = qs.filter(birth_date__lte=years_before(day, int(filters[AGE_MIN])))
    if filters.get(AGE_MAX) is not None:
        qs = qs.filter(birth_date__gt=years_before(day, int(filters[AGE_MAX]) + 1))
    if filters.get(SEX):
        qs = qs.filter(sex=filters[SEX])
    return qs.order_by("region_code", "house__address", "name_pinyin", "pk")


def _aged(min_age: int) -> Any:
    def query(viewer: Viewer, filters: Filters) -> QuerySet[Person]:
        return _people(viewer, filters).filter(birth_date__lte=years_before(as_of(filters), min_age))

    return query


def _person_row(obj: Any, filters: Filters, full: bool) -> dict[str, Any]:
    return _person_cells(obj, filters, full)


def _tagged(code: str) -> Any:
    """People with a valid tag ``code``; the tag's subtype, grade and start come along."""

    def query(viewer: Viewer, filters: Filters) -> QuerySet[Person]:
        tags = _tags(viewer, filters, code)
        if filters.get(DISABILITY_TYPE):
            _label, zh = DISABILITY_TYPES[filters[DISABILITY_TYPE]]
            tags = tags.filter(subtype__in=[filters[DISABILITY_TYPE], zh, f"{zh}残疾"])
        if filters.get(DISABILITY_GRADE):
            grade = filters[DISABILITY_GRADE]
            tags = tags.filter(grade__in=[grade, _GRADE_WORDS[grade], f"{grade}级"])
        # "IN (tagged people)" is computed once; a correlated EXISTS per person made SQLite scan
        # every tag of the category for each person (minutes at 30,000 people).
        return (
            _people(viewer, filters)
            .filter(pk__in=tags.values("person_id"))
            .prefetch_related(
                Prefetch("tags", queryset=tags.order_by("-valid_from", "-pk"), to_attr="ledger_tags")
            )
        )

    return query


def _tagged_row(obj: Any, filters: Filters, full: bool) -> dict[str, Any]:
    row = _person_cells(obj, filters, full)
    found = getattr(obj, "ledger_tags", None)
    tag = found[0] if found else None
    row["subtype"] = tag.subtype if tag is not None else ""
    row["grade"] = tag.grade if tag is not None else ""
    row["since"] = tag.valid_from if tag is not None else None
    return row


def _disabled_row(obj: Any, filters: Filters, full: bool) -> dict[str, Any]:
    row = _tagged_row(obj, filters, full)
    row["subtype"] = disability_type_label(row["subtype"] or "")
    return row


def _tag_visible(code: str) -> Any:
    def visible(user: Viewer) -> bool:
        return code in visible_category_codes(user)

    return visible


def _tag_audit(code: str) -> Any:
    """Showing who carries a tag reveals it: audit lists of restricted ones (no-op for care tags)."""

    def record(viewer: Viewer, rows: list[Any], request: HttpRequest | None, context: str) -> None:
        people = [r for r in rows if isinstance(r, Person)]
        record_tag_filter_view(viewer, tag=code, people=people, request=request, context=context)

    return record


def _floating(viewer: Viewer, filters: Filters) -> QuerySet[Person]:
    home = Residence.objects.filter(person=OuterRef("pk"), end_date__isnull=True, lives_here=True).order_by(
        "-start_date", "-pk"
    )
    return (
        _people(viewer, filters)
        .filter(residence_type=ResidenceType.FLOATING)
        .annotate(
            arrived=Subquery(home.values("start_date")[:1]),
            home_relation=Subquery(home.values("relation")[:1]),
        )
    )


_RELATIONS = dict(ResidenceRelation.choices)


def _floating_row(obj: Any, filters: Filters, full: bool) -> dict[str, Any]:
    row = _person_cells(obj, filters, full)
    row["hukou_address"] = obj.hukou_address
    relation = getattr(obj, "home_relation", None)
    row["relation"] = str(_RELATIONS.get(relation, "")) if relation else ""
    row["arrived"] = getattr(obj, "arrived", None)
    row["work_unit"] = " ".join(v for v in (obj.work_unit, obj.occupation) if v)
    return row


# --- Households (低保, 特困) ---------------------------------------------------------------------


class RowChain:
    """Several querysets read as one sequence: what ``Paginator`` and the export need."""

    def __init__(self, *parts: QuerySet[Any]) -> None:
        self.parts = parts
        self._counts: list[int] | None = None

    def counts(self) -> list[int]:
        if self._counts is None:
            self._counts = [part.count() for part in self.parts]
        return self._counts

    def count(self) -> int:
        return sum(self.counts())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Any]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("RowChain supports plain slices only")
        start = index.start or 0
        stop = self.count() if index.stop is None else index.stop
        found: list[Any] = []
        offset = 0
        for part, n in zip(self.parts, self.counts(), strict=True):
            lo, hi = max(start - offset, 0), min(stop - offset, n)
            if lo < hi:
                found.extend(part[lo:hi])
            offset += n
        return found

    def __iter__(self) -> Iterator[Any]:
        for part in self.parts:
            yield from part


def _households(code: str) -> Any:
    """Households with a current member who receives the allowance ``code``, one row each, with
    the household size and who receives it; receivers who belong to no household (in the area)
    follow as one-person rows."""

    def query(viewer: Viewer, filters: Filters) -> RowChain:
        region = filters.get(REGION) or ""
        # Non-correlated "IN (…)" subqueries: computed once on SQLite and PostgreSQL alike.
        receiving = _tags(viewer, filters, code).values("person_id")
        current = HouseholdMember.objects.filter(end_date__isnull=True, person__status=PersonStatus.ACTIVE)
        receivers = current.filter(person_id__in=receiving)
        members = current.filter(household=OuterRef("pk")).order_by().values("household")
        households = (
            Household.objects.filter(scope_q(viewer, P.VIEW_PEOPLE), end_date__isnull=True)
            .filter(region_code__startswith=region, pk__in=receivers.values("household_id"))
            .annotate(member_count=Subquery(members.annotate(n=Count("pk")).values("n")[:1]))
            .select_related("head", "head__house", "house", "region")
            .prefetch_related(
                Prefetch(
                    "members",
                    queryset=receivers.select_related("person").order_by("start_date", "pk"),
                    to_attr="receivers",
                )
            )
            .order_by("region_code", "house__address", "number", "pk")
        )
        in_shown_household = HouseholdMember.objects.filter(
            scope_q(viewer, P.VIEW_PEOPLE, field="household__region_code"),
            end_date__isnull=True,
            household__end_date__isnull=True,
            household__region_code__startswith=region,
        )
        singles = (
            _people(viewer, {REGION: region, AS_OF: as_of(filters)})
            .filter(pk__in=receiving)
            .exclude(pk__in=in_shown_household.values("person_id"))
        )
        return RowChain(households, singles)

    return query


def _household_row(obj: Any, filters: Filters, full: bool) -> dict[str, Any]:
    if isinstance(obj, Person):
        return {
            "head": obj.name,
            "sex": obj.get_sex_display(),
            "id_number": _masked(obj, "id_number", full),
            "phone": _masked(obj, "phone", full),
            "address": obj.house.address if obj.house is not None else "",
            "members": None,
            "receivers": 1,
            "receiver_names": obj.name,
            "grid": _region_name(obj),
            "notes": gettext("No household registered"),
            "_person": obj.pk,
        }
    head = obj.head
    house = obj.house or (head.house if head is not None else None)
    return {
        "head": head.name if head is not None else "",
        "sex": head.get_sex_display() if head is not None else "",
        "id_number": _masked(head, "id_number", full),
        "phone": _masked(head, "phone", full),
        "address": house.address if house is not None else "",
        "members": obj.member_count,
        "receivers": len(obj.receivers),
        "receiver_names": "、".join(m.person.name for m in obj.receivers),
        "grid": _region_name(obj),
        "notes": "" if head is not None else gettext("No head of household registered"),
        "_person": head.pk if head is not None else None,
    }


HOUSEHOLD_COLUMNS = (
    _col("head", pgettext_lazy("ledger column", "Head of household"), 10),
    _col("sex", pgettext_lazy("ledger column", "Sex"), 6),
    _col("id_number", pgettext_lazy("ledger column", "ID number"), 21),
    _col("phone", pgettext_lazy("ledger column", "Phone"), 14),
    _col("address", pgettext_lazy("ledger column", "Address"), 36),
    _col("members", pgettext_lazy("ledger column", "Household size"), 8, text=False),
    _col("receivers", pgettext_lazy("ledger column", "Members receiving"), 8, text=False),
    _col("receiver_names", pgettext_lazy("ledger column", "Receiving members"), 18),
    GRID,
    NOTES,
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


# --- Special populations (restricted) -----------------------------------------------------------


def _special(viewer: Viewer, filters: Filters) -> QuerySet[PersonTag]:
    """One row per valid special-group tag the viewer is granted, of people living here."""
    day = as_of(filters)
    qs = _tags(viewer, filters).filter(category__group=TagGroup.SPECIAL, person__status=PersonStatus.ACTIVE)
    if filters.get(REGION):
        qs = qs.filter(region_code__startswith=filters[REGION])
    if filters.get(CATEGORY):
        qs = qs.filter(category__code=filters[CATEGORY])
    if filters.get(AGE_MIN) is not None:
        qs = qs.filter(person__birth_date__lte=years_before(day, int(filters[AGE_MIN])))
    if filters.get(AGE_MAX) is not None:
        qs = qs.filter(person__birth_date__gt=years_before(day, int(filters[AGE_MAX]) + 1))
    if filters.get(SEX):
        qs = qs.filter(person__sex=filters[SEX])
    return qs.select_related("category", "person", "person__house", "person__region").order_by(
        "region_code", "category__sort_order", "person__name_pinyin", "pk"
    )


def _special_row(tag: Any, filters: Filters, full: bool) -> dict[str, Any]:
    row = _person_cells(tag.person, filters, full)
    row["category"] = tag.category.label
    row["since"] = tag.valid_from
    return row


def _special_visible(user: Viewer) -> bool:
    return bool(special_categories(user))


def _special_audit(viewer: Viewer, rows: list[Any], request: HttpRequest | None, context: str) -> None:
    record_tag_view(viewer, [r for r in rows if isinstance(r, PersonTag)], request=request, context=context)


# --- The declarations ---------------------------------------------------------------------------


def _tag_ledger(
    key: str,
    code: str,
    title: Any,
    description: Any,
    *extra: LedgerColumn,
    row: Any = _tagged_row,
    filters: tuple[str, ...] = PEOPLE_FILTERS,
) -> Ledger:
    return Ledger(
        key=key,
        title=title,
        description=description,
        columns=_person_columns(*extra),
        query=_tagged(code),
        row=row,
        filters=filters,
        perm=P.VIEW_PEOPLE,
        visible=_tag_visible(code),
        record_view=_tag_audit(code),
    )


SINCE = _col("since", pgettext_lazy("ledger column", "Since"), 12, text=False)

LEDGERS: tuple[Ledger, ...] = (
    Ledger(
        key="elderly_60",
        # Translators: 60周岁以上老年人台账
        title=_("Register of elderly people aged 60 and over"),
        description=_("Everyone living here who is 60 or older on the date of the ledger."),
        columns=_person_columns(),
        query=_aged(ELDERLY_AGE),
        row=_person_row,
        filters=PEOPLE_FILTERS,
        perm=P.VIEW_PEOPLE,
    ),
    Ledger(
        key="elderly_80",
        # Translators: 80周岁以上高龄老人台账
        title=_("Register of the oldest old aged 80 and over"),
        description=_("Everyone living here who is 80 or older on the date of the ledger (高龄)."),
        columns=_person_columns(),
        query=_aged(OLDEST_OLD_AGE),
        row=_person_row,
        filters=PEOPLE_FILTERS,
        perm=P.VIEW_PEOPLE,
    ),
    _tag_ledger(
        "living_alone",
        "living_alone",
        # Translators: 独居老人台账
        _("Register of elderly people living alone"),
        _("People with a valid 'living alone' tag."),
        SINCE,
    ),
    _tag_ledger(
        "empty_nest",
        "empty_nest",
        # Translators: 空巢老人台账
        _("Register of empty-nest elderly"),
        _("People with a valid 'empty nest' tag."),
        SINCE,
    ),
    _tag_ledger(
        "disabled",
        "disabled",
        # Translators: 残疾人台账
        _("Register of persons with disabilities"),
        _("People with a valid disability tag, with the kind and grade of disability."),
        _col("subtype", pgettext_lazy("ledger column", "Kind of disability"), 10),
        _col("grade", pgettext_lazy("ledger column", "Disability grade"), 8),
        row=_disabled_row,
        filters=(*PEOPLE_FILTERS, DISABILITY_TYPE, DISABILITY_GRADE),
    ),
    Ledger(
        key="low_income",
        # Translators: 低保户台账
        title=_("Register of minimum living allowance (dibao) households"),
        description=_(
            "One row per household with a member who receives the minimum living allowance, "
            "with the household size."
        ),
        columns=HOUSEHOLD_COLUMNS,
        query=_households("low_income"),
        row=_household_row,
        filters=(REGION, AS_OF),
        perm=P.VIEW_PEOPLE,
        visible=_tag_visible("low_income"),
    ),
    Ledger(
        key="extreme_poverty",
        # Translators: 特困供养户台账
        title=_("Register of extreme poverty support (tekun) households"),
        description=_(
            "One row per household with a member who receives extreme poverty support, with the "
            "household size."
        ),
        columns=HOUSEHOLD_COLUMNS,
        query=_households("extreme_poverty"),
        row=_household_row,
        filters=(REGION, AS_OF),
        perm=P.VIEW_PEOPLE,
        visible=_tag_visible("extreme_poverty"),
    ),
    _tag_ledger(
        "left_behind_children",
        "left_behind_child",
        # Translators: 留守儿童台账
        _("Register of left-behind children"),
        _("Children with a valid 'left-behind child' tag."),
        _col("subtype", pgettext_lazy("ledger column", "Situation"), 12),
        SINCE,
    ),
    _tag_ledger(
        "children_in_difficulty",
        "child_in_difficulty",
        # Translators: 困境儿童台账
        _("Register of children in difficulty"),
        _("Children with a valid 'child in difficulty' tag, with the kind of difficulty."),
        _col("subtype", pgettext_lazy("ledger column", "Kind of difficulty"), 12),
        SINCE,
    ),
    _tag_ledger(
        "veterans",
        "veteran",
        # Translators: 退役军人台账
        _("Register of veterans"),
        _("People with a valid veteran tag."),
        _col("subtype", pgettext_lazy("ledger column", "Category"), 12),
        SINCE,
    ),
    Ledger(
        key="floating_population",
        # Translators: 流动人口台账
        title=_("Register of the floating population"),
        description=_("People living here whose residence type is 'floating population'."),
        columns=_person_columns(
            _col("hukou_address", pgettext_lazy("ledger column", "Household registration place"), 30),
            _col("relation", pgettext_lazy("ledger column", "Lives here as"), 8),
            _col("arrived", pgettext_lazy("ledger column", "Living here since"), 12, text=False),
            _col("work_unit", pgettext_lazy("ledger column", "Work unit and occupation"), 20),
        ),
        query=_floating,
        row=_floating_row,
        filters=PEOPLE_FILTERS,
        perm=P.VIEW_PEOPLE,
    ),
    Ledger(
        key="rented_houses",
        # Translators: 出租房屋及承租人台账
        title=_("Register of rented houses and their tenants"),
        description=_(
            "Houses registered as rented or with a current tenant, with the owner and the tenants "
            "(people are shown to those who may see people)."
        ),
        columns=(
            *HOUSE_HEAD,
            *HOUSE_TAIL,
            *HOUSE_OWNER,
            _col("tenants", pgettext_lazy("ledger column", "Tenants"), 10),
            _col("tenant_id_numbers", pgettext_lazy("ledger column", "Tenants' ID numbers"), 21),
            _col("tenant_phones", pgettext_lazy("ledger column", "Tenants' phones"), 14),
            _col("tenant_count", pgettext_lazy("ledger column", "Number of tenants"), 8, text=False),
            _col("since", pgettext_lazy("ledger column", "Rented since"), 12, text=False),
            GRID,
            NOTES,
        ),
        query=_rented,
        row=_rented_row,
        filters=(REGION,),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="vacant_houses",
        # Translators: 空置房屋台账
        title=_("Register of vacant houses"),
        description=_("Houses registered as vacant, with their owner."),
        columns=(
            *HOUSE_HEAD,
            _col("building", pgettext_lazy("ledger column", "Building"), 8),
            _col("unit", pgettext_lazy("ledger column", "Unit"), 6),
            _col("number", pgettext_lazy("ledger column", "House number"), 8),
            *HOUSE_TAIL,
            *HOUSE_OWNER,
            GRID,
            NOTES,
        ),
        query=_vacant,
        row=_vacant_row,
        filters=(REGION,),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="organizations",
        # Translators: 实有单位台账
        title=_("Register of organizations"),
        description=_("Companies, shops, agencies and associations in the area (operating or suspended)."),
        columns=(
            _col("name", pgettext_lazy("ledger column", "Name of the organization"), 28),
            _col("uscc", pgettext_lazy("ledger column", "Unified social credit code"), 21),
            _col("type", pgettext_lazy("ledger column", "Type"), 12),
            _col("industry", pgettext_lazy("ledger column", "Industry"), 12),
            _col("address", pgettext_lazy("ledger column", "Address"), 36),
            _col("legal_representative", pgettext_lazy("ledger column", "Legal representative"), 10),
            _col("contact_name", pgettext_lazy("ledger column", "Contact person"), 10),
            _col("contact_phone", pgettext_lazy("ledger column", "Contact phone"), 14),
            _col("staff_count", pgettext_lazy("ledger column", "Staff"), 8, text=False),
            _col("status", pgettext_lazy("ledger column", "Status"), 8),
            GRID,
            NOTES,
        ),
        query=_organizations,
        row=_organization_row,
        filters=(REGION, ORG_TYPE, ORG_STATUS),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="key_places",
        # Translators: 重点场所台账
        title=_("Register of key places"),
        description=_("Schools, markets, hazardous goods sites and other places grid workers inspect."),
        columns=(
            _col("name", pgettext_lazy("ledger column", "Name of the place"), 24),
            _col("kind", pgettext_lazy("ledger column", "Kind"), 12),
            _col("address", pgettext_lazy("ledger column", "Address"), 36),
            _col("organization", pgettext_lazy("ledger column", "Organization"), 20),
            _col("risk_level", pgettext_lazy("ledger column", "Risk level"), 8),
            _col("risk_notes", pgettext_lazy("ledger column", "Risk notes"), 30),
            GRID,
            NOTES,
        ),
        query=_key_places,
        row=_key_place_row,
        filters=(REGION, PLACE_KIND, RISK_LEVEL),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="special_populations",
        # Translators: 特殊人群台账
        title=_("Register of special populations"),
        description=_(
            "People of the special groups you are granted to see. Every view and export is recorded "
            "in the audit log."
        ),
        columns=_person_columns(_col("category", pgettext_lazy("ledger column", "Group"), 14), SINCE),
        query=_special,
        row=_special_row,
        filters=(*PEOPLE_FILTERS, CATEGORY),
        perm=P.VIEW_PEOPLE,
        restricted=True,
        visible=_special_visible,
        record_view=_special_audit,
    ),
)

BY_KEY: dict[str, Ledger] = {ledger.key: ledger for ledger in LEDGERS}


def ledger_for(user: Viewer, key: str) -> Ledger | None:
    """The ledger ``key`` if the user may know it exists (None for unknown and hidden ones)."""
    ledger = BY_KEY.get(key)
    if ledger is None or (ledger.restricted and not ledger.is_visible_to(user)):
        return None
    return ledger


def ledgers_visible_to(user: Viewer) -> list[Ledger]:
    return [ledger for ledger in LEDGERS if ledger.is_visible_to(user)]


# --- Region names for titles --------------------------------------------------------------------

STREET_LENGTH = 9


def region_title(codes: Sequence[str]) -> str:
    """How a ledger names its area: the street and community for a community
    ("岳麓街道枇杷塘社区"), the grid after them, just the name above street level; several areas
    are listed with "、"."""
    wanted: set[str] = set()
    for code in codes:
        wanted.update(code[:n] for n in (2, 4, 6, 9, 12, 15) if n <= len(code))
    names = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
    titles = []
    for code in codes:
        start = min(len(code), STREET_LENGTH)
        parts = [names.get(code[:n], "") for n in (2, 4, 6, 9, 12, 15) if start <= n <= len(code)]
        titles.append("".join(parts) or code)
    return "、".join(titles)


# --- Excel --------------------------------------------------------------------------------------

EXPORT_MAX_ROWS = 20_000


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def ledger_workbook(
    *,
    ledger: Ledger,
    rows: Sequence[Any],
    filters: Filters,
    area: str,
    unit: str,
    exporter: str,
    full: bool,
    exported_at: datetime,
) -> bytes:
    """The ledger as an official-looking workbook: title "<area><ledger>", an info row (date of the
    ledger, who exported it and when, their unit: the watermark), 序号 and the ledger's columns,
    then the signature line; the page footer repeats the watermark."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from shequ.core.excel import FONT

    day = as_of(filters)
    info = gettext("As of: %(date)s    Exported by: %(user)s at %(time)s    Unit: %(unit)s") % {
        "date": day.isoformat(),
        "user": exporter,
        "time": _local(exported_at),
        "unit": unit,
    }
    footer = gettext("Exported by %(user)s at %(time)s — for official use only") % {
        "user": exporter,
        "time": _local(exported_at),
    }
    columns = [Column(pgettext("ledger column", "No."), 6, text=False)]
    columns += [Column(str(c.title), c.width, c.text) for c in ledger.columns]

    def values() -> Iterator[list[Any]]:
        for i, obj in enumerate(rows, start=1):
            row = ledger.row(obj, filters, full)
            yield [i, *(row.get(c.key) for c in ledger.columns)]

    sheet_name = "".join(ch for ch in str(ledger.title) if ch not in "[]:*?/\\")[:31] or ledger.key
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    written = write_sheet(
        ws,
        Sheet(
            name=sheet_name,
            # Translators: the title of an exported ledger, e.g. 岳麓街道枇杷塘社区80周岁以上高龄老人台账
            title=gettext("%(area)s: %(title)s") % {"area": area, "title": ledger.title},
            columns=columns,
            rows=values(),
            info=info,
            footer=footer,
        ),
    )
    wrap = Alignment(wrap_text=True, vertical="top")
    for cells in ws.iter_rows(min_row=4, max_row=3 + written):
        for cell in cells:
            if isinstance(cell.value, str) and "\n" in cell.value:
                cell.alignment = wrap
    last = 3 + written
    ncols = len(columns)
    lines = [
        gettext("Total: %(n)d") % {"n": written},
        gettext("Filled in by:                Checked by:                Date filled in:"),
    ]
    if not full:
        lines.insert(1, gettext("ID and phone numbers are masked."))
    for offset, text in enumerate(lines, start=2):
        r = last + offset
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        cell = ws.cell(row=r, column=1, value=text)
        cell.font = Font(name=FONT, size=11)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
