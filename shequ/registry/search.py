"""Searching the registry: people, houses and addresses, organizations.

One search box (``q``) reads what was typed:

* an 18-character ID number (or an old 15-digit one, converted) or another document number
  (letters and digits) → exact lookup through the ID number's blind index;
* an 11-digit mobile number → exact lookup through the phone's blind index;
* Chinese characters → the name: prefix (``曾``, ``曾小``) everywhere, and also "contains" within a
  street or smaller (``小红``), where the rows to scan are few;
* Latin letters → the pinyin: prefix of the full pinyin or of the initials (``zeng``, ``z`` and
  ``zxh`` all find 曾小红);
* other digits → part of the address (a house number such as ``301``).

Every search is scoped to the viewer's regions (``scope_q``) and never shows or filters by a tag
the viewer may not see; a list filtered by a restricted tag is audited
(``record_tag_filter_view``). Results carry masked ID and phone numbers only.

Speed (a county holds a million people): prefix and exact lookups use indexes (the pattern
indexes on ``name``, ``name_pinyin``, ``name_initials``, ``region_code``; the blind indexes), and
prefix matches are ordered by the matched column in byte order (``ORDER BY name USING ~<~`` on
PostgreSQL, see :func:`byte_order`), which the same pattern index serves: PostgreSQL walks the
index from the prefix and stops after a page instead of sorting every 王. A page is
``page_size + 1`` rows — the extra one says whether there is a next page — and nothing is counted
unless ``count=True``. A pinyin search of two letters or more lists the full-pinyin matches, then
the initials-only ones (``zx`` → 曾小红), each an ordered index scan, instead of one ``OR`` that
would sort every match.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Exists, F, IntegerField, Model, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import crypto
from shequ.core import validators as v
from shequ.core.permissions import Viewer, scope_q, scopes_for
from shequ.core.personal import mask_phone
from shequ.registry.models import (
    Building,
    House,
    HouseUse,
    Organization,
    OrganizationStatus,
    OrganizationType,
    Person,
    PersonStatus,
    PersonTag,
    ResidenceType,
    Sensitivity,
    Sex,
    TagCategory,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.selectors import record_tag_filter_view, tag_category_list, visible_tag_q

T = TypeVar("T")
M = TypeVar("M", bound=Model)

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 500  # deep OFFSETs get slow; narrow the search instead
MAX_AGE = 150
# "Contains" searches scan rows: only within a street (9-digit code) or smaller.
CONTAINS_SCOPE_LENGTH = 9

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_OLD_RESIDENT_ID = re.compile(r"^\d{15}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_DOCUMENT = re.compile(r"^(?=.*\d)(?=.*[A-Z])[A-Z0-9]{5,30}$")
_LATIN = re.compile(r"^[A-Za-z][A-Za-z ']*$")
_USCC = re.compile(rf"^[{v.USCC_ALPHABET}]{{18}}$")


class QueryKind:
    """How ``q`` was read (shown to the user: "searching by ID number")."""

    NONE = ""
    NAME = "name"
    PINYIN = "pinyin"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    ADDRESS = "address"
    USCC = "uscc"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results. ``total`` is only counted when asked for."""

    items: list[T]
    page: int
    page_size: int
    has_next: bool
    kind: str = QueryKind.NONE
    total: int | None = None

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class PersonHit:
    id: int
    name: str
    sex: str
    age: int | None
    masked_id_number: str
    masked_phone: str
    residence_type: str
    status: str
    region_code: str
    house_id: int | None
    address: str
    tags: tuple[str, ...]  # codes of the person's active tags of normal sensitivity the viewer may see


@dataclass(frozen=True)
class HouseHit:
    id: int
    address: str
    use: str
    floor: int | None
    number: str
    building_id: int
    region_code: str


@dataclass(frozen=True)
class AddressHit:
    """A building's standard address (楼栋), with its estate (小区) name."""

    id: int
    address: str
    estate: str
    region_code: str


@dataclass(frozen=True)
class OrganizationHit:
    id: int
    name: str
    uscc: str
    type: str
    status: str
    address: str
    region_code: str
    masked_contact_phone: str


# --- Input --------------------------------------------------------------------------------------


def _errors_raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError({k: ValidationError(m, code="invalid") for k, m in errors.items()})


def _paging(page: Any, page_size: Any, errors: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(page)
        if not 1 <= page <= MAX_PAGE:
            raise ValueError
    except (TypeError, ValueError):
        errors["page"] = _("Enter a page number from 1 to %(n)d.") % {"n": MAX_PAGE}
        page = 1
    try:
        page_size = int(page_size)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError
    except (TypeError, ValueError):
        errors["page_size"] = _("Enter a page size from 1 to %(n)d.") % {"n": MAX_PAGE_SIZE}
        page_size = PAGE_SIZE
    return page, page_size


def _age(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        age = int(value)
        if not 0 <= age <= MAX_AGE:
            raise ValueError
    except (TypeError, ValueError):
        errors[field] = _("Enter an age from 0 to %(n)d.") % {"n": MAX_AGE}
        return None
    return age


def _choice(value: Any, allowed: Iterable[str], field: str, errors: dict[str, str]) -> str:
    text = v.normalize_text(value)
    if text and text not in allowed:
        errors[field] = _("“%(value)s” is not one of the choices.") % {"value": text[:50]}
        return ""
    return text


def _region(value: Any, errors: dict[str, str]) -> str:
    try:
        return v.clean_region_code(value)
    except ValidationError as exc:
        errors["region_code"] = exc.messages[0]
        return ""


def resident_id_from_old(number: str) -> str:
    """The 18-character form of an old 15-digit ID number (born 19xx, check character added)."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + v.id_check_char(first17)


def _id_index(value: str) -> str:
    code = v.normalize_code(value)
    if _OLD_RESIDENT_ID.match(code):
        code = resident_id_from_old(code)
    return crypto.blind_index(code, "id_number")


def _phone_index(value: str) -> str:
    code = v.normalize_code(value)
    for prefix in ("+86", "0086"):
        if code.startswith(prefix) and len(code) == len(prefix) + 11:
            code = code[len(prefix) :]
    return crypto.blind_index(code, "phone")


def read_query(q: str) -> tuple[str, str]:
    """``(kind, normalized text)`` of what was typed in the search box (see the module doc)."""
    text = v.normalize_text(q)
    if not text:
        return QueryKind.NONE, ""
    if _HAN.search(text):
        return QueryKind.NAME, text.replace(" ", "")
    code = v.normalize_code(text)
    if _RESIDENT_ID.match(code) or _OLD_RESIDENT_ID.match(code):
        return QueryKind.ID_NUMBER, code
    if _MOBILE.match(code.removeprefix("+86").removeprefix("0086")):
        return QueryKind.PHONE, code
    if _LATIN.match(text):
        return QueryKind.PINYIN, re.sub(r"[ ']", "", text).lower()
    if _DOCUMENT.match(code):
        return QueryKind.ID_NUMBER, code
    return QueryKind.ADDRESS, text


def _narrow_scope(viewer: Viewer, perm: str, region_code: str) -> bool:
    """Whether the rows to search lie within one street or smaller (where a scan is cheap)."""
    if len(region_code) >= CONTAINS_SCOPE_LENGTH:
        return True
    codes = scopes_for(viewer, perm)
    return bool(codes) and all(len(c) >= CONTAINS_SCOPE_LENGTH for c in codes)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _tokens(text: str) -> list[str]:
    return [t for t in v.normalize_text(text).split(" ") if t]


# --- Ordering and paging ------------------------------------------------------------------------


class _BytewiseOrder(OrderBy):
    """``<column> USING ~<~``: byte order, the order of the column's ``varchar_pattern_ops``
    index — the index that serves ``LIKE 'prefix%'`` under any collation."""

    # The comment keeps the word ASC in the SQL: Django finds the end of an ordering term by it.
    template = "%(expression)s USING ~<~ /* %(ordering)s */"


def byte_order(field: str) -> OrderBy:
    """Ascending byte order of ``field``. On PostgreSQL the pattern index that finds the prefix
    also yields the rows in this order (the collation-aware index cannot find a prefix outside
    the C locale, and sorting every match of a common surname takes seconds); elsewhere the
    plain column order, which is byte order on SQLite too."""
    if connection.vendor == "postgresql":
        return _BytewiseOrder(F(field))
    return F(field).asc()


def _page_of(qs: QuerySet[M], page: int, page_size: int) -> tuple[list[M], bool]:
    offset = (page - 1) * page_size
    rows = list(qs[offset : offset + page_size + 1])
    return rows[:page_size], len(rows) > page_size


def _chained_page(first: QuerySet[M], then: QuerySet[M], page: int, page_size: int) -> tuple[list[M], bool]:
    """A page of ``first`` followed by ``then`` (disjoint, each in its own order). The length of
    ``first`` is known from the rows read, and counted only for a page that starts after it."""
    offset = (page - 1) * page_size
    want = page_size + 1
    rows = list(first[offset : offset + want])
    if len(rows) < want:
        first_length = offset + len(rows) if rows or offset == 0 else first.count()
        start = max(0, offset - first_length)
        rows += list(then[start : start + want - len(rows)])
    return rows[:page_size], len(rows) > page_size


# --- People -------------------------------------------------------------------------------------

# What a hit shows (``uid`` binds the encrypted numbers to their row): a narrow SELECT is cheaper
# to build, send and load than the whole person and house.
HIT_FIELDS = (
    "uid", "name", "sex", "birth_date", "id_number", "phone", "residence_type", "status", "region_code",
    "house__address",
)  # fmt: skip


def person_search(
    *,
    viewer: Viewer,
    q: str = "",
    id_number: str = "",
    phone: str = "",
    address: str = "",
    tag: str = "",
    age_min: int | None = None,
    age_max: int | None = None,
    residence_type: str = "",
    status: str = PersonStatus.ACTIVE,
    region_code: str = "",
    sex: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    count: bool = False,
    request: HttpRequest | None = None,
) -> Page[PersonHit]:
    """People in the viewer's scope matching every given criterion (see the module doc).

    ``status``: ``active`` (default), ``moved_out``, ``deceased``, or ``all``. ``tag``: a category
    code the viewer may see (an age group such as ``elderly_60`` matches by birth date too). Bad
    input raises ``ValidationError`` by field; a viewer without people scope gets no results."""
    errors: dict[str, str] = {}
    page, page_size = _paging(page, page_size, errors)
    low = _age(age_min, "age_min", errors)
    high = _age(age_max, "age_max", errors)
    if low is not None and high is not None and low > high:
        errors["age_max"] = _("The highest age is below the lowest.")
    residence_type = _choice(residence_type, ResidenceType.values, "residence_type", errors)
    sex = _choice(sex, Sex.values, "sex", errors)
    status = _choice(status or "all", [*PersonStatus.values, "all"], "status", errors)
    region_code = _region(region_code, errors)
    category: TagCategory | None = None
    tag = v.normalize_text(tag)
    if tag:
        category = next((c for c in tag_category_list(viewer=viewer) if c.code == tag), None)
        if category is None:  # unknown, or restricted without a grant: the same answer
            errors["tag"] = _("Unknown tag.")
    _errors_raise(errors)

    kind, text = read_query(q)
    qs = Person.objects.filter(scope_q(viewer, P.VIEW_PEOPLE)).select_related("house").only(*HIT_FIELDS)
    if status != "all":
        qs = qs.filter(status=status)
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if id_number.strip():
        qs = qs.filter(id_number_index=_id_index(id_number))
    if phone.strip():
        qs = qs.filter(phone_index=_phone_index(phone))
    for token in _tokens(address):
        qs = qs.filter(house__address__contains=token)
    if residence_type:
        qs = qs.filter(residence_type=residence_type)
    if sex:
        qs = qs.filter(sex=sex)
    today = timezone.localdate()
    if low is not None:
        qs = qs.filter(birth_date__lte=_years_before(today, low))
    if high is not None:
        qs = qs.filter(birth_date__gt=_years_before(today, high + 1))
    if category is not None:
        tagged = Exists(
            PersonTag.objects.filter(
                visible_tag_q(viewer), active=True, category=category, person=OuterRef("pk")
            )
        )
        if category.min_age is not None:  # an age group: its tag, or old enough
            qs = qs.filter(tagged | Q(birth_date__lte=_years_before(today, category.min_age)))
        else:
            qs = qs.filter(tagged)

    if kind == QueryKind.PINYIN and len(text) > 1:
        by_pinyin = qs.filter(name_pinyin__startswith=text).order_by(byte_order("name_pinyin"), "pk")
        by_initials = (
            qs.filter(name_initials__startswith=text)
            .exclude(name_pinyin__startswith=text)
            .order_by(byte_order("name_initials"), byte_order("name_pinyin"), "pk")
        )
        people, has_next = _chained_page(by_pinyin, by_initials, page, page_size)
        total = by_pinyin.count() + by_initials.count() if count else None
    else:
        qs = _person_query(qs, kind, text, viewer, region_code)
        people, has_next = _page_of(qs, page, page_size)
        total = qs.count() if count else None

    if category is not None and category.sensitivity != Sensitivity.NORMAL and people:
        record_tag_filter_view(viewer, tag=category.code, people=people, request=request, context="search")
    return Page(_person_hits(viewer, people), page, page_size, has_next, kind, total)


def _person_query(
    qs: QuerySet[Person], kind: str, text: str, viewer: Viewer, region_code: str
) -> QuerySet[Person]:
    """Apply the search box and the ordering that lets an index serve the page."""
    if kind == QueryKind.ID_NUMBER:
        return qs.filter(id_number_index=_id_index(text)).order_by("pk")
    if kind == QueryKind.PHONE:
        return qs.filter(phone_index=_phone_index(text)).order_by("pk")
    if kind == QueryKind.PINYIN:  # one letter: the initials and the full pinyin start alike
        return qs.filter(name_pinyin__startswith=text).order_by(byte_order("name_pinyin"), "pk")
    if kind == QueryKind.NAME:
        if len(text) > 1 and _narrow_scope(viewer, P.VIEW_PEOPLE, region_code):
            first = Case(
                When(name__startswith=text, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
            return qs.filter(name__contains=text).order_by(first, "name", "pk")
        return qs.filter(name__startswith=text).order_by(byte_order("name"), "pk")
    by_place = (byte_order("region_code"), byte_order("name_pinyin"), "pk")  # grid by grid, from its index
    if kind == QueryKind.ADDRESS:
        return qs.filter(house__address__contains=text).order_by(*by_place)
    return qs.order_by(*by_place)


def _person_hits(viewer: Viewer, people: list[Person]) -> list[PersonHit]:
    tags: dict[int, list[str]] = {}
    if people:
        rows = (
            PersonTag.objects.filter(visible_tag_q(viewer), active=True, person__in=people)
            .filter(category__sensitivity=Sensitivity.NORMAL)
            .order_by("category__sort_order")
            .values_list("person_id", "category__code")
        )
        for person_id, code in rows:
            tags.setdefault(person_id, []).append(code)
    today = timezone.localdate()
    return [
        PersonHit(
            id=p.pk,
            name=p.name,
            sex=p.sex,
            age=p.age(today),
            masked_id_number=p.masked_id_number,
            masked_phone=p.masked_phone,
            residence_type=p.residence_type,
            status=p.status,
            region_code=p.region_code,
            house_id=p.house_id,
            address=p.house.address if p.house is not None else "",
            tags=tuple(tags.get(p.pk, ())),
        )
        for p in people
    ]


# --- Houses and addresses -----------------------------------------------------------------------


def _address_q(text: str, field: str = "address") -> Q:
    """A standard address typed from its start (``湖南省长沙市…``) is a prefix (indexed); anything
    else must appear somewhere in it, word by word."""
    text = v.normalize_text(text)
    if text.startswith("湖南") and " " not in text:
        return Q(**{f"{field}__startswith": text})
    q = Q()
    for token in _tokens(text):
        q &= Q(**{f"{field}__contains": token})
    return q


def house_search(
    *,
    viewer: Viewer,
    q: str = "",
    address: str = "",
    use: str = "",
    region_code: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    count: bool = False,
) -> Page[HouseHit]:
    """Houses in the viewer's scope: ``q`` digits match the house number from its start (``301``),
    other text the standard address; ``address`` always the address; ``use`` e.g. ``rented``."""
    errors: dict[str, str] = {}
    page, page_size = _paging(page, page_size, errors)
    use = _choice(use, HouseUse.values, "use", errors)
    region_code = _region(region_code, errors)
    _errors_raise(errors)
    qs = House.objects.filter(scope_q(viewer, P.VIEW_PLACES))
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if use:
        qs = qs.filter(use=use)
    if address.strip():
        qs = qs.filter(_address_q(address))
    text = v.normalize_text(q)
    kind = QueryKind.NONE
    if text:
        kind = QueryKind.ADDRESS
        code = v.normalize_code(text)
        qs = qs.filter(Q(number__startswith=code) if code.isdigit() else _address_q(text))
    qs = qs.order_by("address", "pk")
    houses, has_next = _page_of(qs, page, page_size)
    hits = [
        HouseHit(
            id=h.pk,
            address=h.address,
            use=h.use,
            floor=h.floor,
            number=h.number,
            building_id=h.building_id,
            region_code=h.region_code,
        )
        for h in houses
    ]
    return Page(hits, page, page_size, has_next, kind, qs.count() if count else None)


def address_search(
    *,
    viewer: Viewer,
    q: str,
    region_code: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    count: bool = False,
) -> Page[AddressHit]:
    """Buildings whose standard address or estate (小区) name matches ``q`` (prefix when it starts
    with the province, otherwise every word somewhere in it)."""
    errors: dict[str, str] = {}
    page, page_size = _paging(page, page_size, errors)
    region_code = _region(region_code, errors)
    if not v.normalize_text(q):
        errors["q"] = _("Enter part of the address.")
    _errors_raise(errors)
    qs = Building.objects.filter(scope_q(viewer, P.VIEW_PLACES))
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    qs = qs.filter(_address_q(q) | _address_q(q, "estate")).order_by("address", "pk")
    buildings, has_next = _page_of(qs, page, page_size)
    hits = [
        AddressHit(id=b.pk, address=b.address, estate=b.estate, region_code=b.region_code) for b in buildings
    ]
    return Page(hits, page, page_size, has_next, QueryKind.ADDRESS, qs.count() if count else None)


# --- Organizations ------------------------------------------------------------------------------


def organization_search(
    *,
    viewer: Viewer,
    q: str = "",
    uscc: str = "",
    type: str = "",
    status: str = "",
    region_code: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    count: bool = False,
) -> Page[OrganizationHit]:
    """Organizations in the viewer's scope: ``q`` is a credit code (exact) or part of the name or
    address; ``uscc`` exact; ``type`` and ``status`` their codes."""
    errors: dict[str, str] = {}
    page, page_size = _paging(page, page_size, errors)
    type = _choice(type, OrganizationType.values, "type", errors)
    status = _choice(status, OrganizationStatus.values, "status", errors)
    region_code = _region(region_code, errors)
    _errors_raise(errors)
    qs = Organization.objects.filter(scope_q(viewer, P.VIEW_PLACES))
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if type:
        qs = qs.filter(type=type)
    if status:
        qs = qs.filter(status=status)
    if uscc.strip():
        qs = qs.filter(uscc=v.normalize_code(uscc))
    kind = QueryKind.NONE
    text = v.normalize_text(q)
    if text:
        code = v.normalize_code(text)
        if _USCC.match(code):
            kind = QueryKind.USCC
            qs = qs.filter(uscc=code)
        else:
            kind = QueryKind.NAME
            word = text.replace(" ", "") if _HAN.search(text) else text
            qs = qs.filter(Q(name__contains=word) | Q(address__contains=word))
    qs = qs.order_by("name", "pk")
    orgs, has_next = _page_of(qs, page, page_size)
    hits = [
        OrganizationHit(
            id=o.pk,
            name=o.name,
            uscc=o.uscc,
            type=o.type,
            status=o.status,
            address=o.address,
            region_code=o.region_code,
            masked_contact_phone=mask_phone(o.contact_phone),
        )
        for o in orgs
    ]
    return Page(hits, page, page_size, has_next, kind, qs.count() if count else None)
