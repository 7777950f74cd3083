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
    return [
        Reachable(pk, name, code, index, address or "")
        for pk, name, code, index, address, lon, lat in rows
        if within is None or lon is None or lat is None or geo.contains(within, float(lon), float(lat))
    ]


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
