"""The run: the plan per community and the generation, in parallel for big sizes."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable, Iterable

from django.db import connection, connections, models

from shequ.core.models import Region, RegionKind, RegionLevel
from shequ.registry.demo._base import ID_PARTITIONS, Generator, Plan, RegistrySummary, _partition
from shequ.registry.demo._common import COMMUNITY_A, COUNTY, STREET
from shequ.registry.demo.story import tell_story
from shequ.registry.models import (
    Building,
    House,
    Household,
    HouseholdMember,
    KeyPlace,
    Organization,
    Person,
    PersonTag,
    Residence,
    Road,
    TimelineEntry,
    Unit,
)

PEOPLE_PER_SIZE = 30_000
# The demo street holds at most this many sizes; more people live in the county's other streets.
DEMO_STREET_MAX_SIZE = 3


def plan(size: float, *, street: str = STREET, county: str = COUNTY, seed: int = 2026) -> list[Plan]:
    """People per community: the demo street first (up to ``DEMO_STREET_MAX_SIZE``), then the
    county's other streets, each community weighted by a stable random factor."""
    total = round(PEOPLE_PER_SIZE * size)
    in_street = round(PEOPLE_PER_SIZE * min(size, DEMO_STREET_MAX_SIZE))
    communities = list(
        Region.objects.filter(code__startswith=county, level=RegionLevel.COMMUNITY).order_by("code")
    )
    home = [c for c in communities if c.code.startswith(street)]
    others = [c for c in communities if not c.code.startswith(street)]
    plans: list[Plan] = []

    def spread(group: list[Region], people: int) -> None:
        if not group or people <= 0:
            return
        weights = [
            random.Random(f"{seed}:{c.code}").uniform(0.6, 1.4)
            * (0.8 if c.kind == RegionKind.VILLAGE else 1.0)
            for c in group
        ]
        scale = people / sum(weights)
        counts = [int(w * scale) for w in weights]
        for i in range(people - sum(counts)):  # rounding leftovers
            counts[i % len(counts)] += 1
        for community, count in zip(group, counts, strict=True):
            plans.append(Plan(community, count, len(plans)))

    spread(home, in_street)
    spread(others, total - in_street)
    return plans


def generate_registry(
    *,
    size: float = 1,
    seed: int = 2026,
    street: str = STREET,
    county: str = COUNTY,
    workers: int = 1,
    story: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RegistrySummary:
    """Fill the communities of ``plan(size)`` that have no people yet (see the module docstring).
    ``workers`` > 1 generates communities in parallel processes (PostgreSQL only)."""
    started = time.perf_counter()
    summary = RegistrySummary()
    plans = plan(size, street=street, county=county, seed=seed)
    filled = set(
        Person.objects.filter(region_code__startswith=county).values_list("region_code", flat=True).distinct()
    )
    filled_communities = {code[:12] for code in filled}
    todo = [p for p in plans if p.community.code not in filled_communities and p.people > 0]
    summary.communities_skipped = len(plans) - len(todo)
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary
    check_existing = Person.objects.exists()
    if workers > 1 and connection.vendor == "postgresql" and len(todo) > 1 and not connection.in_atomic_block:
        connections.close_all()  # children open their own connections
        workers = min(workers, ID_PARTITIONS)
        # Each worker owns whole ID partitions, so no two workers can draw the same ID number.
        parts = [
            (
                seed,
                check_existing,
                [(p.community.pk, p.people, p.index) for p in todo if _partition(p) % workers == k],
            )
            for k in range(workers)
        ]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part in pool.starmap(_run_part, parts):
                summary.add(part)
    else:
        generator = Generator(seed=seed, check_existing=check_existing, progress=progress)
        for p in todo:
            summary.add(generator.community(p))
        summary.timings = generator.timings
    analyze_tables()
    if story and any(p.community.code == COMMUNITY_A for p in todo):
        summary.add(tell_story(seed=seed, street=street))
    summary.seconds = time.perf_counter() - started
    return summary


LOADED_TABLES = (
    Person, Residence, Household, HouseholdMember, PersonTag, TimelineEntry, House, Unit, Building, Road,
    Organization, KeyPlace,
)  # fmt: skip


def analyze_tables(models_: Iterable[type[models.Model]] = LOADED_TABLES) -> None:
    """Refresh the planner's statistics after a bulk load: a query planned on the statistics of
    an empty table can take seconds instead of milliseconds (autovacuum catches up later)."""
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _run_part(seed: int, check_existing: bool, work: list[tuple[int, int, int]]) -> RegistrySummary:
    """One worker process's share of the communities: (community id, people, plan index)."""
    summary = RegistrySummary()
    generator = Generator(seed=seed, check_existing=check_existing)
    regions = Region.objects.in_bulk([pk for pk, _, _ in work])
    for pk, count, index in work:
        summary.add(generator.community(Plan(regions[pk], count, index)))
    summary.timings = generator.timings
    connections.close_all()
    return summary


# ID partitions: communities in different partitions never draw the same sequence number (50 of
# the 500 per birth county, date and sex each), so parallel workers, each owning whole partitions,
# cannot produce the same ID number, and one process produces the same data as several.
