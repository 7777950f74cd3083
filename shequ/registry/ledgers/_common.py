"""Helpers shared by the ledgers: filter names, dates and tags in effect, cells, column sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import LedgerColumn
from shequ.core.permissions import Viewer
from shequ.registry.models import (
    Person,
    PersonTag,
    TagGroup,
)
from shequ.registry.selectors import (
    active_grants,
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
