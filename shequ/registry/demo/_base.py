"""What the generation parts share: the summary, the plan of a community, the generator's state
and the rows it collects, the grids of a community."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from django.db import transaction
from django.utils import timezone

from shequ.core import crypto
from shequ.core.models import Region, RegionLevel, User
from shequ.core.regions import grid_create
from shequ.core.validators import id_check_char
from shequ.registry.demo._common import COMMUNITY_A
from shequ.registry.demo.names import OTHER_PROVINCE_COUNTIES
from shequ.registry.models import (
    House,
    Organization,
    Person,
    Sex,
    TagCategory,
)

# Grids created outside the demo street: one per this many people.
PEOPLE_PER_GRID = 1_500


# --- The run ------------------------------------------------------------------------------------


@dataclass
class RegistrySummary:
    """What one run created (``communities_skipped``: already filled before)."""

    communities: int = 0
    communities_skipped: int = 0
    grids_created: int = 0
    roads: int = 0
    buildings: int = 0
    houses: int = 0
    people: int = 0
    households: int = 0
    organizations: int = 0
    key_places: int = 0
    tags: int = 0
    restricted_tags: int = 0
    timeline_entries: int = 0
    moved_out: int = 0
    deceased: int = 0
    moves: int = 0
    visits: int = 0
    seconds: float = 0.0
    # Seconds per phase (generating, preparing rows per table, writing them), for benchmarks.
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, other: RegistrySummary) -> None:
        for f in fields(self):
            if f.name == "timings":
                for key, value in other.timings.items():
                    self.timings[key] = self.timings.get(key, 0.0) + value
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def line(self) -> str:
        if not self.communities and self.communities_skipped:
            return f"Registry: already present in {self.communities_skipped} communities, nothing added."
        return (
            f"Registry: {self.people:,} people, {self.households:,} households, {self.houses:,} houses in "
            f"{self.buildings:,} buildings, {self.organizations:,} organizations, {self.key_places:,} key "
            f"places, {self.tags:,} tags ({self.restricted_tags} restricted), {self.visits} visits, "
            f"{self.moved_out} moved out, {self.deceased} deceased, in {self.communities} communities "
            f"({self.seconds:.1f} s)."
        )


@dataclass
class Plan:
    """How many people each community gets."""

    community: Region
    people: int
    index: int  # position in the run; fixes the community's random stream and ID partition


ID_PARTITIONS = 10


def _partition(p: Plan) -> int:
    return p.index % ID_PARTITIONS


@dataclass(slots=True)
class _Home:
    """A person's link to a house (a ``Residence`` row to be)."""

    person: Person
    house: House
    relation: str
    start: dt.date
    lives_here: bool = True
    end: dt.date | None = None


@dataclass(slots=True)
class _Household:
    number: str
    house: House
    start: dt.date
    head: Person | None = None
    members: list[tuple[Person, str, _Home]] = field(default_factory=list)
    pk: int | None = None


@dataclass(slots=True)
class _Tag:
    person: Person
    category: TagCategory
    source: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    subtype: str = ""
    grade: str = ""
    verified_by: User | None = None


@dataclass(slots=True)
class _Resident:
    """A generated person with the facts the tag and story steps need."""

    person: Person
    age: int
    family: str
    relation_to_head: str
    tenant: bool
    home: _Home
    household: _Household | None = None
    departed: str = ""  # PersonStatus of someone who left before the load


class Generator:
    """Generates one community at a time; holds the state shared between communities."""

    def __init__(
        self, *, seed: int = 2026, check_existing: bool = True, progress: Callable[[str], None] | None = None
    ) -> None:
        self.seed = seed
        self.progress = progress
        # Seconds spent per phase (generating, preparing rows, writing them), for the benchmark.
        self.timings: dict[str, float] = {}
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.used_ids: set[str] = set()
        self.used_uscc: set[str] = set(Organization.objects.exclude(uscc="").values_list("uscc", flat=True))
        # ID numbers already in the database (a resumed run), by blind index.
        self.existing_index: set[str] | None = None
        if check_existing and Person.objects.exists():
            self.existing_index = set(Person.objects.values_list("id_number_index", flat=True))
        self.names: dict[str, str] = {}
        hunan = dict(
            Region.objects.filter(code__startswith="43", level=RegionLevel.COUNTY).values_list("code", "name")
        )
        cities = dict(
            Region.objects.filter(code__startswith="43", level=RegionLevel.CITY).values_list("code", "name")
        )
        self.hunan_counties = sorted(hunan)
        self.county_place = {c: "湖南省" + cities.get(c[:4], "") + n for c, n in hunan.items()}
        self.county_place.update(OTHER_PROVINCE_COUNTIES)
        self.categories = {c.code: c for c in TagCategory.objects.all()}
        self.verifiers: dict[str, User] = {}
        for username, code in (("worker_a", COMMUNITY_A), ("head_b", "430104002003")):
            user = User.objects.filter(username=username).first()
            if user is not None:
                self.verifiers[code] = user

    def clock(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - since
        return now

    def id_number(self, rng: random.Random, county: str, birth: dt.date, sex: str, partition: int) -> str:
        """A unique, valid ID number: birth county, birth date, a sequence number whose parity is
        the sex (odd: male), the check character."""
        head = f"{county}{birth:%Y%m%d}"
        for _ in range(200):
            pair = rng.randrange(500 // ID_PARTITIONS) * ID_PARTITIONS + partition
            first17 = f"{head}{pair * 2 + (1 if sex == Sex.MALE else 0):03d}"
            if first17 in self.used_ids:
                continue
            number = first17 + id_check_char(first17)
            if (
                self.existing_index is not None
                and crypto.blind_index(number, "id_number") in self.existing_index
            ):
                continue
            self.used_ids.add(first17)
            return number
        raise RuntimeError(f"no free ID sequence number for {head}")

    def community(self, p: Plan) -> RegistrySummary:
        from shequ.registry.demo.community import CommunityBuilder  # it builds on this module

        started = time.perf_counter()
        # Grids first, in their own transactions: their audit entries must not hold the audit
        # chain's lock during the long community transaction (parallel workers would queue).
        grids, created = _grids(p.community, p.people)
        with transaction.atomic():
            builder = CommunityBuilder(self, p, grids)
            builder.build()
            summary = builder.write()
        summary.grids_created = created
        summary.seconds = time.perf_counter() - started
        if self.progress:
            self.progress(f"{p.community.code} {p.community.name}: {summary.people} people")
        return summary


def _grids(community: Region, people: int) -> tuple[list[Region], int]:
    """The community's grids, created when it has none (one per ``PEOPLE_PER_GRID`` people)."""
    grids = list(Region.objects.filter(parent=community, level=RegionLevel.GRID).order_by("code"))
    created = 0
    if not grids:
        for n in range(1, max(1, math.ceil(people / PEOPLE_PER_GRID)) + 1):
            grids.append(grid_create(actor=None, community=community, number=n, name=f"第{n}网格"))
            created += 1
    return grids, created
