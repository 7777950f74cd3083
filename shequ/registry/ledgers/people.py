"""The rows of the people ledgers: by age, by tag, disabled, floating population, households
(低保, 特困) and the restricted special populations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.translation import gettext, pgettext_lazy

from shequ.core.permissions import Viewer, scope_q
from shequ.registry.ledgers._common import (
    _GRADE_WORDS,
    AGE_MAX,
    AGE_MIN,
    AS_OF,
    CATEGORY,
    DISABILITY_GRADE,
    DISABILITY_TYPE,
    DISABILITY_TYPES,
    GRID,
    NOTES,
    REGION,
    SEX,
    Filters,
    _col,
    _masked,
    _person_cells,
    _region_name,
    _tags,
    as_of,
    disability_type_label,
    special_categories,
    visible_category_codes,
    years_before,
)
from shequ.registry.models import (
    Household,
    HouseholdMember,
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
    person_list,
    record_tag_filter_view,
    record_tag_view,
)

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
