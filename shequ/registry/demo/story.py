"""The story: changes through the services (moves, deaths, visits), and the counts."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from shequ.core.models import User
from shequ.registry import services
from shequ.registry.demo._base import RegistrySummary
from shequ.registry.demo._common import STREET
from shequ.registry.demo.names import DESTINATIONS, FINDINGS
from shequ.registry.models import (
    House,
    HouseUse,
    KeyPlace,
    Organization,
    Person,
    PersonStatus,
    RelationToHead,
    ResidenceRelation,
    Visit,
    VisitPurpose,
)

# --- The story: changes through the services ---------------------------------------------------


def tell_story(*, seed: int = 2026, street: str = STREET) -> RegistrySummary:
    """A few real changes in the demo street, through the services (audited, with events and
    timelines): moves between grids and communities, departures, deaths, visits to care
    residents with follow-ups — some done, some overdue."""
    rng = random.Random(f"{seed}:story")
    summary = RegistrySummary()
    today = timezone.localdate()
    recent = today - dt.timedelta(days=25)  # every home in the load started at least 30 days ago
    active = Person.objects.filter(region_code__startswith=street, status=PersonStatus.ACTIVE)
    # Tenants move to another rented house, in another grid or community.
    tenants = list(
        active.filter(residences__relation=ResidenceRelation.TENANT, residences__end_date__isnull=True)
        .select_related("house")
        .order_by("pk")[:2000]
    )
    rented = list(House.objects.filter(region_code__startswith=street, use=HouseUse.RENTED).order_by("pk"))
    for person in rng.sample(tenants, min(20, len(tenants))):
        target = rng.choice(rented)
        if target.pk != person.house_id:
            on = recent + dt.timedelta(days=rng.randrange(0, 25))
            services.person_move(actor=None, person=person, house=target, on=on, reason="租期到期，换房")
            summary.moves += 1
    # Grown children leave to work elsewhere.
    born_from, born_to = today - dt.timedelta(days=35 * 365), today - dt.timedelta(days=19 * 365)
    children = list(
        active.filter(
            memberships__relation_to_head=RelationToHead.CHILD,
            memberships__end_date__isnull=True,
            birth_date__range=(born_from, born_to),
        ).order_by("pk")[:3000]
    )
    for person in rng.sample(children, min(40, len(children))):
        on = recent + dt.timedelta(days=rng.randrange(0, 25))
        services.person_move_out(
            actor=None, person=person, on=on, destination=rng.choice(DESTINATIONS), reason="外出务工"
        )
        summary.moved_out += 1
    # Deaths among the oldest.
    oldest = list(active.filter(birth_date__lte=today - dt.timedelta(days=85 * 365)).order_by("pk")[:3000])
    for person in rng.sample(oldest, min(25, len(oldest))):
        on = recent + dt.timedelta(days=rng.randrange(0, 25))
        services.person_record_death(actor=None, person=person, on=on, reason="家属告知")
        summary.deceased += 1
    summary.visits = _visits(rng, today)
    return summary


def _visits(rng: random.Random, today: dt.date) -> int:
    """Grid workers' care visits to older people of their grids: a quarter of the follow-ups are
    overdue, a quarter done, the rest due later."""
    count = 0
    for username in ("grid_a", "grid_b"):
        worker = User.objects.filter(username=username).first()
        membership = worker.memberships.filter(revoked_at__isnull=True).first() if worker else None
        if worker is None or membership is None:
            continue
        elderly = list(
            Person.objects.filter(
                region_code__startswith=membership.region_code,
                status=PersonStatus.ACTIVE,
                birth_date__lte=today - dt.timedelta(days=70 * 365),
            ).order_by("pk")[:500]
        )
        for k, person in enumerate(rng.sample(elderly, min(16, len(elderly)))):
            days_ago = rng.randrange(3, 60)
            visited = timezone.now() - dt.timedelta(days=days_ago, hours=rng.randrange(0, 8))
            visit_day = timezone.localtime(visited).date()
            if k % 4 in (0, 1):  # due already: overdue (0) or done (1)
                follow_up = visit_day + dt.timedelta(days=rng.randrange(1, days_ago))
            else:
                follow_up = today + dt.timedelta(days=rng.randrange(3, 30))
            visit = services.visit_record(
                actor=worker,
                person=person,
                visited_at=visited,
                purpose=VisitPurpose.CARE,
                notes="上门看望，了解身体和生活情况",
                findings=rng.choice(FINDINGS),
                follow_up_date=follow_up,
            )
            count += 1
            if k % 4 == 1:
                services.visit_follow_up_done(actor=worker, visit=visit)
    return count


def registry_counts(street: str = STREET) -> dict[str, int]:
    """How much of the registry exists in ``street`` (for the demo command's summary line)."""
    return {
        "people": Person.objects.filter(region_code__startswith=street, status=PersonStatus.ACTIVE).count(),
        "houses": House.objects.filter(region_code__startswith=street).count(),
        "organizations": Organization.objects.filter(region_code__startswith=street).count(),
        "key_places": KeyPlace.objects.filter(region_code__startswith=street).count(),
        "visits": Visit.objects.filter(region_code__startswith=street).count(),
    }
