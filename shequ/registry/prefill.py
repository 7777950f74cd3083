"""What the registry can say for a person when they apply for a service ("data runs instead of
people", 数据多跑路、群众少跑腿): each fact a material can be filled from, as the masked text the
applicant and the counter see.

A platform read for other apps (the government-service app): the caller has already obtained the
``Person`` through a scoped selector (``get_person_for``), the account's own link
(``person_for_account``) or a verified kiosk sign-in. ID and phone numbers leave here masked;
restricted and secret population tags never do (only care tags of normal sensitivity, the ones an
application for an allowance rests on).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.registry import addresses
from shequ.registry.models import (
    HouseholdMember,
    Person,
    PersonTag,
    Residence,
    Sensitivity,
    TagGroup,
)

# The facts a material may name as its source (``ServiceItem.materials[*].source``). ``tag:<code>``
# names a care tag of normal sensitivity (``tag:disabled``, ``tag:low_income`` …).
IDENTITY = "identity"
BIRTH = "birth"
HUKOU = "hukou"
RESIDENCE = "residence"
HOUSEHOLD = "household"
PHONE = "phone"
MARITAL = "marital"
EDUCATION = "education"
EMPLOYMENT = "employment"
FACTS = (IDENTITY, BIRTH, HUKOU, RESIDENCE, HOUSEHOLD, PHONE, MARITAL, EDUCATION, EMPLOYMENT)
TAG_PREFIX = "tag:"


@dataclass(frozen=True)
class Facts:
    """A person's facts by source key, each a short masked text, plus what eligibility reads."""

    person_id: int
    name: str
    region_code: str
    age: int | None
    tags: frozenset[str]
    values: dict[str, str]

    def get(self, source: str) -> str:
        return self.values.get(source, "")


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def facts_of(person: Person, *, today: dt.date | None = None) -> Facts:
    """The person's facts (a handful of indexed reads). Empty values are left out: a material
    whose fact is missing is uploaded or brought instead."""
    today = today or timezone.localdate()
    values: dict[str, str] = {}
    if person.id_number:
        values[IDENTITY] = _("%(name)s, ID number %(id)s (checked in the registry)") % {
            "name": person.name,
            "id": person.masked_id_number,
        }
    age = age_on(person.birth_date, today)
    if person.birth_date is not None:
        values[BIRTH] = _("Born %(date)s, aged %(age)s") % {"date": person.birth_date.isoformat(), "age": age}
    if person.hukou_address:
        values[HUKOU] = _("Household registration: %(place)s") % {"place": person.hukou_address}
    home = (
        Residence.objects.filter(person=person, lives_here=True, end_date__isnull=True)
        .select_related("house", "house__building", "house__building__road", "house__unit")
        .order_by("-start_date")
        .first()
    )
    if home is not None:
        values[RESIDENCE] = _("Lives at %(address)s since %(date)s") % {
            "address": addresses.house_address(home.house),
            "date": home.start_date.isoformat(),
        }
    member = (
        HouseholdMember.objects.filter(person=person, end_date__isnull=True)
        .select_related("household__head")
        .first()
    )
    if member is not None:
        household = member.household
        size = HouseholdMember.objects.filter(household=household, end_date__isnull=True).count()
        values[HOUSEHOLD] = _("Household %(number)s, head %(head)s, %(size)s members") % {
            "number": household.number or "-",
            "head": household.head.name if household.head else "-",
            "size": size,
        }
    if person.phone:
        values[PHONE] = person.masked_phone
    if person.marital_status:
        values[MARITAL] = str(person.get_marital_status_display())
    if person.education:
        values[EDUCATION] = str(person.get_education_display())
    if person.work_unit or person.occupation:
        values[EMPLOYMENT] = " · ".join(v for v in (person.work_unit, person.occupation) if v)
    tags = (
        PersonTag.objects.filter(
            person=person,
            active=True,
            category__group=TagGroup.CARE,
            category__sensitivity=Sensitivity.NORMAL,
        )
        .select_related("category")
        .order_by("category__sort_order")
    )
    codes: set[str] = set()
    for tag in tags:
        if tag.valid_to is not None and tag.valid_to < today:
            continue
        codes.add(tag.category.code)
        text = " ".join(v for v in (tag.category.name_zh, tag.grade, tag.subtype) if v)
        values[f"{TAG_PREFIX}{tag.category.code}"] = _("%(tag)s, registered since %(date)s") % {
            "tag": text,
            "date": tag.valid_from.isoformat(),
        }
    return Facts(
        person_id=person.pk,
        name=person.name,
        region_code=(person.house.region_code if person.house_id else person.region_code),  # type: ignore[union-attr]
        age=age,
        tags=frozenset(codes),
        values=values,
    )
