"""Reads of the registry for pages, the API and other apps. Every function takes ``viewer`` and
returns only rows in the viewer's scope; ``get_<obj>_for`` raises 404 outside it.

Population tags: a tag of normal sensitivity is visible with ``VIEW_PEOPLE`` where the person
lives; a restricted or secret one also needs an active ``TagGrant`` covering it there. Every list,
count, badge and export must filter tags with :func:`visible_tag_q` / :func:`can_view_tag`, and
showing restricted tags of a person is audited (``registry.tag_view``) through
:func:`record_tag_view` (``person_tag_list`` and the timelines do it themselves).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet, Window
from django.http import Http404, HttpRequest
from django.utils import timezone

from shequ.core import audit, crypto
from shequ.core.permissions import Viewer, has_perm, scope_q, scopes_for
from shequ.registry.models import (
    SENSITIVITY_RANK,
    Building,
    House,
    Household,
    HouseholdMember,
    KeyPlace,
    Organization,
    Person,
    PersonStatus,
    PersonTag,
    Residence,
    Road,
    Sensitivity,
    TagCategory,
    TagGrant,
    TagGroup,
    Unit,
    Visit,
)
from shequ.registry.permissions import RegistryPerm as P

# Metres in a degree of latitude (and of longitude at the equator).
_METRES_PER_DEGREE = 111_320

M = TypeVar("M", bound=Model)


def _get(qs: QuerySet[M], pk: Any) -> M:
    """One row of an already scoped queryset, or 404 (also for ids that are not numbers)."""
    try:
        return qs.get(pk=int(pk))
    except (ObjectDoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc


# --- Tag visibility -----------------------------------------------------------------------------


def can_view_places(viewer: Viewer, region_code: str) -> bool:
    """Whether the viewer may open the registry's place pages (roads … key places) of the region."""
    return has_perm(viewer, P.VIEW_PLACES, region_code)


def can_view_people(viewer: Viewer, region_code: str) -> bool:
    """Whether the viewer may open the registry's people pages of the region."""
    return has_perm(viewer, P.VIEW_PEOPLE, region_code)


def active_grants(viewer: Viewer) -> list[TagGrant]:
    """The viewer's unexpired, unrevoked tag grants (cached on the user object for the request)."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_active:
        return []
    cached = getattr(viewer, "_registry_tag_grants", None)
    if cached is None:
        cached = list(
            TagGrant.objects.filter(user=viewer, revoked_at__isnull=True, expires_at__gt=timezone.now())
        )
        viewer._registry_tag_grants = cached  # type: ignore[attr-defined]
    return cached


def forget_grants(user: Viewer) -> None:
    user.__dict__.pop("_registry_tag_grants", None)


def _levels_covered(level: str) -> list[str]:
    rank = SENSITIVITY_RANK.get(Sensitivity(level), 0) if level in Sensitivity.values else 0
    return [s for s, r in SENSITIVITY_RANK.items() if 0 < r <= rank]


def _grant_covers(grant: TagGrant, category: TagCategory, region_code: str) -> bool:
    if not region_code.startswith(grant.region_code):
        return False
    if grant.category_id is not None:
        return grant.category_id == category.pk
    return category.sensitivity in _levels_covered(grant.sensitivity)


def _granted_q(viewer: Viewer, category_field: str, region_field: str) -> Q:
    """Rows whose (restricted) category and region an active grant of the viewer covers."""
    q = Q(pk__in=[])
    for grant in active_grants(viewer):
        where = Q(**{f"{region_field}__startswith": grant.region_code})
        if grant.category_id is not None:
            q |= where & Q(**{f"{category_field}_id": grant.category_id})
        else:
            q |= where & Q(**{f"{category_field}__sensitivity__in": _levels_covered(grant.sensitivity)})
    return q


def visible_tag_q(viewer: Viewer, prefix: str = "") -> Q:
    """A filter for ``PersonTag`` rows the viewer may see (``prefix`` e.g. ``"tags__"`` when
    filtering from another model): in their people scope, and normal or covered by a grant."""
    region_field = f"{prefix}region_code"
    category_field = f"{prefix}category"
    in_scope = scope_q(viewer, P.VIEW_PEOPLE, field=region_field)
    normal = Q(**{f"{category_field}__sensitivity": Sensitivity.NORMAL})
    return in_scope & (normal | _granted_q(viewer, category_field, region_field))


def can_view_tag(viewer: Viewer, tag: PersonTag | TagCategory, region_code: str | None = None) -> bool:
    """Whether the viewer may see ``tag`` (a person's tag, or a category) for a person living in
    ``region_code`` (defaults to the tag's own region)."""
    category = tag.category if isinstance(tag, PersonTag) else tag
    code = region_code if region_code is not None else getattr(tag, "region_code", "")
    if not code or not has_perm(viewer, P.VIEW_PEOPLE, code):
        return False
    if category.sensitivity == Sensitivity.NORMAL:
        return True
    return any(_grant_covers(g, category, code) for g in active_grants(viewer))


_CODE_LENGTHS = (2, 4, 6, 9, 12, 15)


def _common_prefix(codes: Iterable[str]) -> str:
    """The deepest region containing all of ``codes`` (codes are prefixes of their subtrees)."""
    prefix: str | None = None
    for code in codes:
        if prefix is None:
            prefix = code
            continue
        n = 0
        while n < min(len(prefix), len(code)) and prefix[n] == code[n]:
            n += 1
        prefix = prefix[:n]
    if not prefix:
        return ""
    # Cut back to a whole region code (2, 4, 6, 9, 12 or 15 digits).
    return prefix[: max((n for n in _CODE_LENGTHS if n <= len(prefix)), default=0)]


def record_tag_view(
    viewer: Viewer,
    tags: Iterable[PersonTag],
    *,
    request: HttpRequest | None = None,
    context: str = "",
) -> None:
    """Audit that ``viewer`` was shown the restricted ones among ``tags`` (one entry per call)."""
    shown = [t for t in tags if t.category.sensitivity != Sensitivity.NORMAL]
    if not shown:
        return
    people = sorted({t.person_id for t in shown})
    audit.record(
        "registry.tag_view",
        actor=viewer,
        request=request,
        region_code=_common_prefix(t.region_code for t in shown),
        object_type="registry.person",
        object_id=people[0] if len(people) == 1 else "",
        fields=sorted({t.category.code for t in shown}),
        detail={"people": people, "tags": sorted(t.pk for t in shown), "context": context},
    )


def record_tag_filter_view(
    viewer: Viewer,
    *,
    tag: str,
    people: Iterable[Person],
    request: HttpRequest | None = None,
    context: str = "",
) -> None:
    """Audit a list of people shown because they carry the restricted tag ``tag`` (a filtered
    list, a ledger, an export): showing who is in the list reveals the tag. Normal tags: no-op."""
    category = TagCategory.objects.filter(code=tag).first()
    if category is None or category.sensitivity == Sensitivity.NORMAL:
        return
    shown = list(people)
    if not shown:
        return
    ids = sorted(p.pk for p in shown)
    audit.record(
        "registry.tag_view",
        actor=viewer,
        request=request,
        region_code=_common_prefix(p.region_code for p in shown),
        object_type="registry.person",
        object_id=ids[0] if len(ids) == 1 else "",
        fields=[category.code],
        detail={"people": ids, "context": context or "list"},
    )


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def tag_category_list(
    *, viewer: Viewer, region_code: str | None = None, group: str | None = None
) -> list[TagCategory]:
    """Catalog entries the viewer may see somewhere in their scope (within ``region_code`` when
    given): restricted categories appear only with a grant, so pickers, filters and badges leak
    nothing."""
    codes = scopes_for(viewer, P.VIEW_PEOPLE)
    if region_code:
        codes = [max(c, region_code, key=len) for c in codes if _overlaps(c, region_code)]
    if not codes:
        return []
    qs = TagCategory.objects.filter(is_active=True)
    if group:
        qs = qs.filter(group=group)
    grants = active_grants(viewer)
    visible = []
    for category in qs:
        if category.sensitivity == Sensitivity.NORMAL or any(
            _grant_covers(g, category, g.region_code) and any(_overlaps(g.region_code, c) for c in codes)
            for g in grants
        ):
            visible.append(category)
    return visible


def tag_label(code: str) -> str:
    """The catalog name of a tag, as pages show it (for rules and settings that name a tag, never a
    person); a restricted tag's name is catalog data too, but shown only as its code here."""
    category = TagCategory.objects.filter(code=code).first()
    if category is None or category.sensitivity != Sensitivity.NORMAL:
        return code
    return category.label


def person_tag_list(
    *,
    viewer: Viewer,
    person: Person,
    include_ended: bool = False,
    request: HttpRequest | None = None,
) -> list[PersonTag]:
    """The tags of one person the viewer may see; restricted ones shown are audited."""
    qs = PersonTag.objects.filter(person=person).filter(visible_tag_q(viewer)).select_related("category")
    if not include_ended:
        qs = qs.filter(active=True)
    tags = list(qs.order_by("category__sort_order", "-valid_from", "pk"))
    record_tag_view(viewer, tags, request=request, context="person")
    return tags


def tag_counts(
    *,
    viewer: Viewer,
    region_code: str | None = None,
    active_people_only: bool = True,
) -> dict[str, int]:
    """Active tags per category code among what the viewer may see (for badges and summaries)."""
    qs = PersonTag.objects.filter(active=True).filter(visible_tag_q(viewer))
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if active_people_only:
        qs = qs.filter(person__status=PersonStatus.ACTIVE)
    rows = qs.values("category__code").annotate(n=Count("pk")).order_by()
    return {row["category__code"]: row["n"] for row in rows}


def tag_grant_list(*, viewer: Viewer, include_inactive: bool = False) -> QuerySet[TagGrant]:
    """Grants in the security admin's region (for the grant pages)."""
    qs = TagGrant.objects.filter(scope_q(viewer, P.GRANT_TAGS)).select_related(
        "user", "category", "granted_by"
    )
    if not include_inactive:
        qs = qs.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return qs.order_by("-granted_at")


# --- Addresses and houses -----------------------------------------------------------------------


def road_list(*, viewer: Viewer, region_code: str | None = None) -> QuerySet[Road]:
    # Roads belong to a community or street: a grid worker sees the roads of their community.
    codes = scopes_for(viewer, P.VIEW_PLACES)
    if not codes:
        return Road.objects.none()
    q = Q()
    for code in codes:
        q |= Q(region_code__startswith=code) | Q(region_code__in=_ancestors(code))
    qs = Road.objects.filter(q)
    if region_code:
        qs = qs.filter(Q(region_code__startswith=region_code) | Q(region_code__in=_ancestors(region_code)))
    return qs.order_by("region_code", "name")


def _ancestors(code: str) -> list[str]:
    return [code[:n] for n in (2, 4, 6, 9, 12) if n < len(code)]


def get_road_for(viewer: Viewer, pk: Any) -> Road:
    return _get(road_list(viewer=viewer), pk)


def building_list(
    *, viewer: Viewer, region_code: str | None = None, road: Road | None = None
) -> QuerySet[Building]:
    qs = Building.objects.filter(scope_q(viewer, P.VIEW_PLACES)).select_related("road")
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if road is not None:
        qs = qs.filter(road=road)
    return qs.order_by("region_code", "address", "pk")


def get_building_for(viewer: Viewer, pk: Any) -> Building:
    return _get(building_list(viewer=viewer), pk)


def unit_list(*, viewer: Viewer, building: Building | None = None) -> QuerySet[Unit]:
    qs = Unit.objects.filter(scope_q(viewer, P.VIEW_PLACES))
    if building is not None:
        qs = qs.filter(building=building)
    return qs.order_by("building_id", "number")


def get_unit_for(viewer: Viewer, pk: Any) -> Unit:
    return _get(unit_list(viewer=viewer).select_related("building"), pk)


def house_list(
    *,
    viewer: Viewer,
    region_code: str | None = None,
    building: Building | None = None,
    unit: Unit | None = None,
    use: str | None = None,
) -> QuerySet[House]:
    qs = House.objects.filter(scope_q(viewer, P.VIEW_PLACES)).select_related("building", "unit")
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if building is not None:
        qs = qs.filter(building=building)
    if unit is not None:
        qs = qs.filter(unit=unit)
    if use:
        qs = qs.filter(use=use)
    return qs.order_by("region_code", "address", "pk")


def get_house_for(viewer: Viewer, pk: Any) -> House:
    return _get(house_list(viewer=viewer), pk)


def house_by_pk(pk: int) -> House | None:
    """A house by id with its region, for callers outside a person's scope that check the region
    themselves (an Open311 key may report only inside its own regions)."""
    return House.objects.select_related("region", "building").filter(pk=pk).first()


def building_by_pk(pk: int) -> Building | None:
    """A building by id, for callers that check the region themselves (as ``house_by_pk``)."""
    return Building.objects.filter(pk=pk).first()


def key_place_by_pk(pk: int) -> KeyPlace | None:
    """A key place by id, for callers that check the region themselves (as ``house_by_pk``)."""
    return KeyPlace.objects.filter(pk=pk).first()


@dataclass(frozen=True)
class Resident:
    """A person living in a house, as another app's page may show them to a viewer who may see
    the registry's people there: the name as the registry's pages show it, the phone masked."""

    person_id: int
    name: str
    masked_phone: str
    age: int | None
    tagged: bool  # holds the tag asked about (one the viewer may see)


def house_residents(*, viewer: Viewer, house_id: int, tag: str = "") -> list[Resident]:
    """The active people living in the house whom the viewer may see (``VIEW_PEOPLE`` there); with
    ``tag`` (e.g. ``living_alone``), those holding it when any does and the viewer may see it,
    else all of them. The caller audits the read (the people it names)."""
    people = list(person_list(viewer=viewer).filter(house_id=house_id)[:50])
    tagged: set[int] = set()
    if tag and people:
        tagged = set(
            PersonTag.objects.filter(
                visible_tag_q(viewer), active=True, category__code=tag, person_id__in=[p.pk for p in people]
            ).values_list("person_id", flat=True)
        )
    if tagged:
        people = [p for p in people if p.pk in tagged]
    return [Resident(p.pk, p.name, p.masked_phone, p.age(), p.pk in tagged) for p in people]


def houses_with_tag(*, region_code: str, tag_code: str) -> dict[int, str]:
    """House id → region code of the houses under ``region_code`` where a person living there holds
    the active tag ``tag_code``. For the platform's own watch jobs (IoT welfare checks), which show
    no person: the caller decides who may see the houses it names."""
    rows = PersonTag.objects.filter(
        active=True,
        category__code=tag_code,
        region_code__startswith=region_code,
        person__status=PersonStatus.ACTIVE,
        person__house__isnull=False,
    ).values_list("person__house_id", "person__house__region_code")
    return {house_id: code for house_id, code in rows}


def building_points(region_codes: list[str], *, limit: int = 2000) -> list[tuple[str, Decimal, Decimal]]:
    """(standard address, latitude, longitude) of the buildings in ``region_codes``, for a map a
    resident draws a point on: door-plate addresses are public, nothing about who lives there.
    The caller passes regions it has checked (the resident's own)."""
    q = Q(pk__in=[])
    for code in region_codes:
        q |= Q(region_code__startswith=code)
    rows = Building.objects.filter(q, latitude__isnull=False, longitude__isnull=False).order_by("pk")
    return [
        (address, lat, lng)
        for address, lat, lng in rows.values_list("address", "latitude", "longitude")[:limit]
        if lat is not None and lng is not None
    ]


def nearest_building(latitude: Decimal, longitude: Decimal, *, within_metres: float) -> Building | None:
    """The building nearest the point within ``within_metres``, or None (callers check the region).

    A bounding box on the coordinate columns first (a few hundred rows at most), then the distance on
    a local flat earth, which is exact enough at a few hundred metres.
    """
    la, lo = float(latitude), float(longitude)
    dlat = within_metres / _METRES_PER_DEGREE
    dlng = within_metres / (_METRES_PER_DEGREE * max(math.cos(math.radians(la)), 0.01))
    candidates = Building.objects.filter(
        latitude__range=(Decimal(str(la - dlat)), Decimal(str(la + dlat))),
        longitude__range=(Decimal(str(lo - dlng)), Decimal(str(lo + dlng))),
    ).select_related("region")[:2000]
    best, best_d = None, float(within_metres)
    for b in candidates:
        if b.latitude is None or b.longitude is None:  # the box excludes them; for the type checker
            continue
        dy = (float(b.latitude) - la) * _METRES_PER_DEGREE
        dx = (float(b.longitude) - lo) * _METRES_PER_DEGREE * math.cos(math.radians(la))
        d = math.hypot(dx, dy)
        if d <= best_d:
            best, best_d = b, d
    return best


# --- People -------------------------------------------------------------------------------------


def person_list(
    *,
    viewer: Viewer,
    status: str | None = PersonStatus.ACTIVE,
    region_code: str | None = None,
    house: House | None = None,
    tag: str | None = None,
) -> QuerySet[Person]:
    """People in the viewer's scope (``status=None``: all, including moved out and deceased).
    ``tag`` filters by a category code the viewer may see; an invisible one yields nothing. Who
    shows a list filtered by a restricted tag audits the page shown (``record_tag_filter_view``)."""
    qs = Person.objects.filter(scope_q(viewer, P.VIEW_PEOPLE)).select_related("house")
    if status:
        qs = qs.filter(status=status)
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if house is not None:
        qs = qs.filter(house=house)
    if tag:
        # "IN (tagged people)" is computed once; a correlated EXISTS per person makes SQLite scan
        # the category's tags again for each person (as in ``ledgers``).
        visible = PersonTag.objects.filter(visible_tag_q(viewer), active=True, category__code=tag)
        qs = qs.filter(pk__in=visible.values("person_id"))
    return qs.order_by("region_code", "name_pinyin", "pk")


def get_person_for(viewer: Viewer, pk: Any) -> Person:
    """A person the viewer may see now (404 otherwise, also after they moved out of scope)."""
    return _get(person_list(viewer=viewer, status=None), pk)


def person_find_by_id(*, viewer: Viewer, id_type: str, id_number: str) -> Person | None:
    """The person with this document number, if the viewer may see them (exact, via the index)."""
    if not id_number:
        return None
    index = crypto.blind_index(id_number, "id_number")
    return person_list(viewer=viewer, status=None).filter(id_type=id_type, id_number_index=index).first()


def person_for_move_in(*, viewer: Viewer, id_type: str, id_number: str) -> Person | None:
    """A person who left the platform's area, found by their document number so that a worker who
    registers them again continues their record (exactly one person per ID number). Only for
    someone who can register people somewhere; the caller has the person's document in hand."""
    if not id_number or not scopes_for(viewer, P.EDIT):
        return None
    index = crypto.blind_index(id_number, "id_number")
    return Person.objects.filter(
        id_type=id_type, id_number_index=index, status=PersonStatus.MOVED_OUT
    ).first()


def residence_list(
    *,
    viewer: Viewer,
    house: House | None = None,
    person: Person | None = None,
    current: bool | None = True,
) -> QuerySet[Residence]:
    """Person ↔ house links in the viewer's scope (the house's region). ``current=None``: all."""
    qs = Residence.objects.filter(scope_q(viewer, P.VIEW_PEOPLE)).select_related("person", "house")
    if house is not None:
        qs = qs.filter(house=house)
    if person is not None:
        qs = qs.filter(person=person)
    if current is True:
        qs = qs.filter(end_date__isnull=True)
    elif current is False:
        qs = qs.filter(end_date__isnull=False)
    return qs.order_by("end_date", "-start_date", "pk")


def household_list(
    *, viewer: Viewer, house: House | None = None, current: bool = True
) -> QuerySet[Household]:
    qs = Household.objects.filter(scope_q(viewer, P.VIEW_PEOPLE)).select_related("head", "house")
    if house is not None:
        qs = qs.filter(house=house)
    if current:
        qs = qs.filter(end_date__isnull=True)
    return qs.order_by("region_code", "number", "pk")


def get_household_for(viewer: Viewer, pk: Any) -> Household:
    return _get(household_list(viewer=viewer, current=False), pk)


def household_member_list(
    *, viewer: Viewer, household: Household, current: bool = True
) -> QuerySet[HouseholdMember]:
    if not has_perm(viewer, P.VIEW_PEOPLE, household.region_code):
        return HouseholdMember.objects.none()
    qs = HouseholdMember.objects.filter(household=household).select_related("person")
    if current:
        qs = qs.filter(end_date__isnull=True)
    return qs.order_by("start_date", "pk")


def current_households_of(*, viewer: Viewer, person_ids: list[int]) -> dict[int, Household]:
    """Person id → the household they belong to now, for those households the viewer may see
    (one query: the search on the household edit page marks who already has a household)."""
    members = (
        HouseholdMember.objects.filter(person_id__in=person_ids, end_date__isnull=True)
        .filter(scope_q(viewer, P.VIEW_PEOPLE, field="household__region_code"))
        .select_related("household", "household__head")
    )
    return {m.person_id: m.household for m in members}


def household_of(*, viewer: Viewer, person: Person) -> Household | None:
    """The household the person belongs to now, if the viewer may see it."""
    member = (
        HouseholdMember.objects.filter(person=person, end_date__isnull=True)
        .filter(scope_q(viewer, P.VIEW_PEOPLE, field="household__region_code"))
        .select_related("household")
        .first()
    )
    return member.household if member else None


# --- Organizations and key places ---------------------------------------------------------------


def organization_list(
    *, viewer: Viewer, region_code: str | None = None, status: str | None = None
) -> QuerySet[Organization]:
    qs = Organization.objects.filter(scope_q(viewer, P.VIEW_PLACES)).select_related("building", "house")
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("region_code", "name", "pk")


def get_organization_for(viewer: Viewer, pk: Any) -> Organization:
    return _get(organization_list(viewer=viewer), pk)


def organization_find_by_uscc(*, viewer: Viewer, uscc: str) -> Organization | None:
    return organization_list(viewer=viewer).filter(uscc=uscc).first() if uscc else None


def key_place_list(
    *,
    viewer: Viewer,
    region_code: str | None = None,
    kind: str | None = None,
    active: bool | None = True,
) -> QuerySet[KeyPlace]:
    qs = KeyPlace.objects.filter(scope_q(viewer, P.VIEW_PLACES)).select_related(
        "building", "house", "organization"
    )
    if region_code:
        qs = qs.filter(region_code__startswith=region_code)
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("region_code", "name", "pk")


def get_key_place_for(viewer: Viewer, pk: Any) -> KeyPlace:
    return _get(key_place_list(viewer=viewer, active=None), pk)


# --- Visits -------------------------------------------------------------------------------------


def visit_list(
    *,
    viewer: Viewer,
    person: Person | None = None,
    household: Household | None = None,
    house: House | None = None,
    visitor: Any = None,
) -> QuerySet[Visit]:
    qs = Visit.objects.filter(scope_q(viewer, P.VIEW_PEOPLE)).select_related(
        "visitor", "person", "household", "house"
    )
    if person is not None:
        qs = qs.filter(person=person)
    if household is not None:
        qs = qs.filter(household=household)
    if house is not None:
        qs = qs.filter(house=house)
    if visitor is not None:
        qs = qs.filter(visitor=visitor)
    return qs.order_by("-visited_at", "-pk")


def get_visit_for(viewer: Viewer, pk: Any) -> Visit:
    return _get(visit_list(viewer=viewer), pk)


def care_person_q(today: date | None = None, prefix: str = "") -> Q:
    """People of a care population: an active care tag (normal sensitivity) or, for the groups
    defined by age (60+), a birth date old enough."""
    today = today or timezone.localdate()
    care_tags = PersonTag.objects.filter(
        active=True, category__group=TagGroup.CARE, category__sensitivity=Sensitivity.NORMAL
    )
    q = Q(Exists(care_tags.filter(person=OuterRef(f"{prefix}pk"))))
    ages = [
        age
        for age in TagCategory.objects.filter(group=TagGroup.CARE, is_active=True).values_list(
            "min_age", flat=True
        )
        if age is not None
    ]
    youngest = min(ages, default=None)
    if youngest is not None:
        cutoff = _years_before(today, youngest)
        q |= Q(**{f"{prefix}birth_date__lte": cutoff})
    return q


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def overdue_follow_ups(*, viewer: Viewer, today: date | None = None) -> QuerySet[Visit]:
    """Visits in the viewer's scope whose follow-up date has passed without a follow-up, for care
    populations: the visited person, or a current member of the visited household, is one."""
    today = today or timezone.localdate()
    care = Person.objects.filter(care_person_q(today), status=PersonStatus.ACTIVE)
    in_care_household = HouseholdMember.objects.filter(
        household=OuterRef("household_id"), end_date__isnull=True, person__in=care
    )
    return (
        Visit.objects.filter(scope_q(viewer, P.VISIT))
        .filter(follow_up_date__lt=today, follow_up_done_at__isnull=True)
        .filter(Q(person__in=care) | Q(Exists(in_care_household)))
        .select_related("person", "household", "house", "visitor")
        .order_by("follow_up_date", "pk")
    )


def overdue_follow_ups_head(
    *, viewer: Viewer, limit: int, today: date | None = None
) -> tuple[list[Visit], int]:
    """The first ``limit`` overdue follow-ups and how many there are, in one query (the count is
    a window over the same rows: the care test behind them is the expensive part)."""
    rows = overdue_follow_ups(viewer=viewer, today=today).annotate(total=Window(Count("pk")))[:limit]
    visits: list[Visit] = list(rows)
    return visits, int(getattr(visits[0], "total", 0)) if visits else 0


def person_for_account(user: Viewer, region_codes: Iterable[str]) -> Person | None:
    """The registry person an account belongs to, living in one of ``region_codes``.

    Accounts and registry people are linked by the mobile number (the same blind index): the match
    counts only when exactly one active person of the area with a current home has the account's
    number, so a number shared by a family links nobody and the resident types the place instead.
    """
    index = getattr(user, "phone_index", "")
    codes = list(region_codes)
    if not index or not codes:
        return None
    area = Q(pk__in=[])
    for code in codes:
        area |= Q(region_code__startswith=code)
    people = list(
        Person.objects.filter(area, phone_index=index, status=PersonStatus.ACTIVE, house__isnull=False)
        .select_related("house", "house__building")
        .order_by("pk")[:2]
    )
    if len(people) != 1:
        return None
    person = people[0]
    if person.house is None or not any(person.house.region_code.startswith(code) for code in codes):
        return None
    return person


# The timelines live in their own module (this one's size); callers keep using selectors.*.
from shequ.registry.selectors_timeline import (  # noqa: E402, F401
    LEAVING_ACTIONS,
    TIMELINE_LIMIT,
    departure_list,
    house_timeline,
    household_timeline,
    organization_timeline,
    person_timeline,
    timeline_for,
)
