"""Reaching people in an emergency: who lives in an area and can be sent an SMS, and the numbers the
messaging service asks for at send time (contacts of kind ``registry.person``).

Platform reads for the emergency app's call-outs: the caller has checked that the actor may
mobilize the area. Rows carry a person's name, grid, home and the blind index of their number,
never the number itself; the number leaves the encrypted column only in ``person_phones``, which
messaging calls when it hands an SMS to the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from shequ.core import geo
from shequ.registry import addresses
from shequ.registry.models import Person, PersonStatus, PoliticalStatus

CONTACT_KIND = "registry.person"


@dataclass(frozen=True)
class Reachable:
    person_id: int
    name: str
    region_code: str
    phone_index: str
    place: str  # the home's standard address


def people_to_reach(
    *,
    region_codes: Sequence[str] = (),
    building_ids: Sequence[int] = (),
    person_ids: Sequence[int] = (),
    party_only: bool = False,
    within: dict[str, Any] | None = None,
) -> list[Reachable]:
    """Active people with a current home and a mobile number, living under any of ``region_codes``,
    in any of ``building_ids`` or among ``person_ids`` (the union); ``party_only``: party members;
    ``within`` (a GeoJSON polygon): only those whose building lies inside it, or has no point
    (a warning reaches too many rather than too few)."""
    area = Q(pk__in=[])
    for code in region_codes:
        area |= Q(house__region_code__startswith=code)
    if building_ids:
        area |= Q(house__building_id__in=list(building_ids))
    if person_ids:
        area |= Q(pk__in=list(person_ids))
    qs = Person.objects.filter(area, status=PersonStatus.ACTIVE, house__isnull=False).exclude(phone_index="")
    if party_only:
        qs = qs.filter(political_status__in=[PoliticalStatus.PARTY_MEMBER, PoliticalStatus.PROBATIONARY])
    rows = qs.order_by("pk").values_list(
        "pk",
        "name",
        "house__region_code",
        "phone_index",
        "house__address",
        "house__building__longitude",
        "house__building__latitude",
    )
    kept = [
        r
        for r in rows
        if within is None or r[5] is None or r[6] is None or geo.contains(within, float(r[5]), float(r[6]))
    ]
    local = _local_addresses([(code, address or "") for _pk, _n, code, _i, address, _lon, _lat in kept])
    return [
        Reachable(pk, name, code, index, place)
        for (pk, name, code, index, _a, _lon, _lat), place in zip(kept, local, strict=True)
    ]


def _local_addresses(places: Sequence[tuple[str, str]]) -> list[str]:
    """Standard addresses without the province … community names every one of a call-out repeats
    ("观沙岭路150号5栋2单元1602室"): short enough for a roll-call row and a grid worker's SMS."""
    names = addresses.region_names({code for code, _address in places})
    prefixes: dict[str, str] = {}
    out = []
    for code, address in places:
        community = code[: addresses.COMMUNITY_LENGTH]
        if community not in prefixes:
            prefixes[community] = addresses.region_prefix(community, names)
        prefix = prefixes[community]
        out.append(
            address[len(prefix) :] if prefix and address.startswith(prefix) and address != prefix else address
        )
    return out


def person_phones(ids: Sequence[str]) -> dict[str, str]:
    """Person id → mobile number (messaging's lookup when it sends an SMS to a registry person)."""
    wanted = [int(i) for i in ids if i.isdigit()]
    return {
        str(p.pk): p.phone for p in Person.objects.filter(pk__in=wanted).only("pk", "phone", "uid") if p.phone
    }


def building_regions(ids: Sequence[int]) -> dict[int, str]:
    """Building id → its region code (a call-out to chosen buildings is checked against the actor's
    scope with these)."""
    from shequ.registry.models import Building

    return dict(Building.objects.filter(pk__in=list(ids)).values_list("pk", "region_code"))


# People who need help to leave: living-alone and disabled elderly, the bedridden, children alone.
VULNERABLE_TAGS = (
    "living_alone",
    "disabled_elderly",
    "disabled",
    "elderly_80",
    "left_behind_child",
    "child_in_difficulty",
    "pregnant",
)


@dataclass(frozen=True)
class Vulnerable:
    person_id: int
    name: str
    region_code: str
    place: str
    birth_year: int | None
    needs: tuple[tuple[str, str, str], ...]  # (tag code, subtype, grade) of each active care tag


def vulnerable_people(
    *, region_codes: Sequence[str], tags: Sequence[str] = VULNERABLE_TAGS
) -> list[Vulnerable]:
    """Active people living under ``region_codes`` who hold one of the care ``tags`` (all of them
    normal-sensitivity care tags, never the restricted special groups)."""
    from shequ.registry.models import PersonTag

    area = Q(pk__in=[])
    for code in region_codes:
        area |= Q(region_code__startswith=code)
    rows = (
        PersonTag.objects.filter(
            area, active=True, category__code__in=list(tags), category__sensitivity="normal"
        )
        .filter(person__status=PersonStatus.ACTIVE)
        .values_list(
            "person_id",
            "person__name",
            "person__region_code",
            "person__house__address",
            "person__birth_date",
            "category__code",
            "subtype",
            "grade",
        )
        .order_by("person__region_code", "person_id")
    )
    found: dict[int, Vulnerable] = {}
    for pk, name, code, address, born, tag, subtype, grade in rows:
        known = found.get(pk)
        need = (tag, subtype or "", grade or "")
        if known is None:
            found[pk] = Vulnerable(pk, name, code, address or "", born.year if born else None, (need,))
        else:
            found[pk] = Vulnerable(pk, name, code, address or "", known.birth_year, (*known.needs, need))
    return list(found.values())


def vulnerable_counts(
    *, region_codes: Sequence[str], tags: Sequence[str] = VULNERABLE_TAGS
) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
    """Counts of ``vulnerable_people``: (region code, tag code, people) and (region code, people
    holding any of the tags). A platform read for the emergency risk model: the caller checks access."""
    from django.db.models import Count

    from shequ.registry.models import PersonTag

    area = Q(pk__in=[])
    for code in region_codes:
        area |= Q(region_code__startswith=code)
    qs = PersonTag.objects.filter(
        area,
        active=True,
        category__code__in=list(tags),
        category__sensitivity="normal",
        person__status=PersonStatus.ACTIVE,
    )
    by_tag = (
        qs.values("region_code", "category__code")
        .annotate(n=Count("person_id", distinct=True))
        .order_by("region_code", "category__code")
        .values_list("region_code", "category__code", "n")
    )
    people = (
        qs.values("region_code")
        .annotate(n=Count("person_id", distinct=True))
        .order_by("region_code")
        .values_list("region_code", "n")
    )
    return [(c, t, n) for c, t, n in by_tag], [(c, n) for c, n in people]


def care_tag_labels(codes: Sequence[str]) -> dict[str, str]:
    """Tag code → its label in the active language (the normal-sensitivity care tags only)."""
    from shequ.registry.models import TagCategory

    return {c.code: c.label for c in TagCategory.objects.filter(code__in=list(codes), sensitivity="normal")}


def key_place_counts(*, region_codes: Sequence[str]) -> list[tuple[str, str, str, int]]:
    """(region code, kind, risk level, places) of the active key places under ``region_codes``. A
    platform read for the emergency risk model: the caller checks access."""
    from django.db.models import Count

    from shequ.registry.models import KeyPlace

    area = Q(pk__in=[])
    for code in region_codes:
        area |= Q(region_code__startswith=code)
    rows = (
        KeyPlace.objects.filter(area, is_active=True)
        .values("region_code", "kind", "risk_level")
        .annotate(n=Count("pk"))
        .order_by("region_code", "kind", "risk_level")
        .values_list("region_code", "kind", "risk_level", "n")
    )
    return [(c, k, r, n) for c, k, r, n in rows]


def vulnerable_person_region(person_id: int) -> str | None:
    """The region code of an active person holding a vulnerable care tag (``vulnerable_people``'s
    people), or None: whom a helper may be assigned to. A platform read: the caller checks access."""
    from shequ.registry.models import PersonTag

    row = (
        PersonTag.objects.filter(
            person_id=person_id,
            active=True,
            category__code__in=list(VULNERABLE_TAGS),
            category__sensitivity="normal",
            person__status=PersonStatus.ACTIVE,
        )
        .values_list("person__region_code", flat=True)
        .first()
    )
    return row


def key_place_labels() -> tuple[dict[str, str], dict[str, str]]:
    """(key-place kind → label, risk level → label) in the active language."""
    from shequ.registry.models import KeyPlaceKind, RiskLevel

    return (
        {str(k): str(label) for k, label in KeyPlaceKind.choices},
        {str(k): str(label) for k, label in RiskLevel.choices},
    )


def need_labels(needs: Sequence[tuple[str, str, str]]) -> list[str]:
    """Each (tag, subtype, grade) of ``Vulnerable.needs`` in words: "残疾人 二级 肢体", "独居老人"."""
    from shequ.registry.ledgers._common import _GRADE_WORDS, DISABILITY_TYPES

    names = care_tag_labels([tag for tag, _s, _g in needs])
    words = []
    for tag, subtype, grade in needs:
        parts = [names.get(tag, tag)]
        if grade:
            parts.append(_GRADE_WORDS.get(grade, grade))
        if subtype:
            kind = DISABILITY_TYPES.get(subtype)
            parts.append(kind[1] if kind else subtype)
        words.append(" ".join(parts))
    return words
