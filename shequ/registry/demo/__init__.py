"""Synthetic registry (一标三实) for the demo street 岳麓街道 and, for benchmarks, the rest of 岳麓区.

Everything personal here is invented, but shaped like the real thing: roads and residential
compounds (小区) with buildings, units and flats in the communities, self-built houses in the
villages; families, elderly couples and people living alone with ages and sexes following Hunan's
7th census (2020: about 19.5 % aged 0–14, 20 % aged 60+, 15 % aged 65+); valid ID numbers
(GB 11643) coding a real birth county, the birth date and the sex; tenants and floating
population; shops, companies, schools and other organizations with valid credit codes (GB 32100);
key places; care tags at realistic rates and a few restricted ones; a handful of visits, moves,
departures and deaths recorded through the services.

Size: ``size=1`` is about 30,000 people in about 10,000 houses in the street's 15 communities and
villages; people and houses grow linearly with ``size``. Above ``DEMO_STREET_MAX_SIZE`` the extra
people live in the other streets of 岳麓区 (grids are created there as needed), so ``size=33``
puts a million people in one county for the search benchmark.

Speed and correctness: every person goes through ``services.clean_person_data`` and
``services.person_build`` (the same validation, normalisation and pinyin as a registration), and
organizations and key places through their ``clean_*_data``; rows are then written in bulk per
community by the shared bulk writer (:mod:`shequ.core.bulk`: PostgreSQL ``COPY``, one prepared
``INSERT`` on SQLite), which seals and blind-indexes ID and phone numbers as ``save()`` does.
Each community is written in its own transaction.

History for a bulk load: each person, household and tag gets its first timeline entry, but
there is one audit entry per community loaded (``registry.demo_load`` with the counts), not one
per row, and no per-row domain events — the generator is an import run by the operator, like
the platform's own region loading. The few story changes at the end (moves, departures, deaths,
visits) go through the real services and are audited and evented one by one.

Idempotent: a community that already has people is left alone, so running ``shequ demo`` again
adds nothing, and an interrupted large run resumes with the communities still empty.

The package: name tables and samplers (``names``), families (``families``), shared state
(``_base``), one community in bulk (``community``), the run (``generator``) and the story told
through the services (``story``).
"""

from __future__ import annotations

from shequ.registry.demo._base import ID_PARTITIONS, PEOPLE_PER_GRID, Generator, Plan, RegistrySummary
from shequ.registry.demo._common import COMMUNITY_A, COUNTY, STREET
from shequ.registry.demo.community import CommunityBuilder
from shequ.registry.demo.families import (
    OWNER_FAMILIES_URBAN,
    OWNER_FAMILIES_VILLAGE,
    TENANT_GROUPS,
    Family,
    Member,
    make_family,
)
from shequ.registry.demo.generator import (
    DEMO_STREET_MAX_SIZE,
    LOADED_TABLES,
    PEOPLE_PER_SIZE,
    analyze_tables,
    generate_registry,
    plan,
)
from shequ.registry.demo.names import (
    AGE_PYRAMID,
    CHANGSHA_COUNTIES,
    COMPANY_KINDS,
    COMPANY_WORDS,
    DESTINATIONS,
    DISABILITY_TYPES,
    EDUCATION_BEFORE_1960,
    EDUCATION_BEFORE_1980,
    EDUCATION_SINCE_1980,
    ESTATE_HEADS,
    ESTATE_TAILS,
    ETHNIC_MIX,
    FINDINGS,
    FOREIGNERS,
    MAX_AGE,
    MOBILE_PREFIXES,
    OPTIONAL_PLACES,
    OTHER_PROVINCE_COUNTIES,
    RISK_NOTES,
    ROAD_NAMES,
    SHOP_KINDS,
    SHOP_WORDS,
    SURNAMES,
    TAG_SOURCES,
    UNIVERSITY_DORMS,
    WORK,
    birth_date_for,
    given_name,
    landline,
    make_uscc,
    mobile,
    organization_code,
    sample_age,
    surname,
)
from shequ.registry.demo.story import registry_counts, tell_story

__all__ = [
    "AGE_PYRAMID",
    "CHANGSHA_COUNTIES",
    "COMMUNITY_A",
    "COMPANY_KINDS",
    "COMPANY_WORDS",
    "COUNTY",
    "DEMO_STREET_MAX_SIZE",
    "DESTINATIONS",
    "DISABILITY_TYPES",
    "EDUCATION_BEFORE_1960",
    "EDUCATION_BEFORE_1980",
    "EDUCATION_SINCE_1980",
    "ESTATE_HEADS",
    "ESTATE_TAILS",
    "ETHNIC_MIX",
    "FINDINGS",
    "FOREIGNERS",
    "ID_PARTITIONS",
    "LOADED_TABLES",
    "MAX_AGE",
    "MOBILE_PREFIXES",
    "OPTIONAL_PLACES",
    "OTHER_PROVINCE_COUNTIES",
    "OWNER_FAMILIES_URBAN",
    "OWNER_FAMILIES_VILLAGE",
    "PEOPLE_PER_GRID",
    "PEOPLE_PER_SIZE",
    "RISK_NOTES",
    "ROAD_NAMES",
    "SHOP_KINDS",
    "SHOP_WORDS",
    "STREET",
    "SURNAMES",
    "TAG_SOURCES",
    "TENANT_GROUPS",
    "UNIVERSITY_DORMS",
    "WORK",
    "CommunityBuilder",
    "Family",
    "Generator",
    "Member",
    "Plan",
    "RegistrySummary",
    "analyze_tables",
    "birth_date_for",
    "generate_registry",
    "given_name",
    "landline",
    "make_family",
    "make_uscc",
    "mobile",
    "organization_code",
    "plan",
    "registry_counts",
    "sample_age",
    "surname",
    "tell_story",
]
