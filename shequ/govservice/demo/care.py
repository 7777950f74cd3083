"""The demo's home care: plans, three weeks of meal and visit records, a couple of concerns."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from shequ.core.models import (
    User,
)
from shequ.govservice.demo._common import (
    CARE_CONCERNS,
    CARE_NOTES,
    CARE_PLANS,
    CARE_WEEKS,
    COMMUNITY_A,
    PROVIDERS,
    VISIT_FINDINGS,
    Cast,
    GovSummary,
)
from shequ.govservice.models import (
    CareOutcome,
    CarePlan,
    CareRecord,
    CareService,
)
from shequ.govservice.services import care
from shequ.registry import prefill
from shequ.registry import selectors as registry
from shequ.registry.models import Person, VisitPurpose
from shequ.registry.services import visits

# --- Home care ------------------------------------------------------------------------------------


def _care(
    cast: Cast, people: list[Person], rng: random.Random, now: dt.datetime, summary: GovSummary
) -> None:
    """Plans for some of the street's elderly and disabled, with three weeks of meals and visits."""
    taken = CarePlan.objects.filter(active=True).values("person_id")
    candidates = (
        Person.objects.filter(pk__in=[p.pk for p in people])
        .filter(registry.care_person_q())
        .exclude(pk__in=taken)
        .select_related("house")
        .order_by("pk")
    )
    chosen: list[tuple[Person, prefill.Facts]] = []
    for person in candidates[: CARE_PLANS * 4]:
        facts = prefill.facts_of(person)
        if care.eligible(facts) and len(chosen) < CARE_PLANS:
            chosen.append((person, facts))
    concerns_left = CARE_CONCERNS
    volunteer = cast.users.get("volunteer")
    for n, (person, facts) in enumerate(chosen):
        staff = cast.counter(facts.region_code[:12])
        services = rng.sample(
            [
                CareService.MEALS,
                CareService.VISIT,
                CareService.CLEANING,
                CareService.BATHING,
                CareService.ESCORT,
            ],
            k=rng.choice([1, 1, 2, 2, 3]),
        )
        if CareService.MEALS not in services and rng.random() < 0.5:
            services.insert(0, CareService.MEALS)
        per_week = rng.choice([2, 3, 3, 5, 7]) if CareService.MEALS in services else rng.choice([1, 2, 2, 3])
        plan = care.care_plan_start(
            actor=staff,
            facts=facts,
            services=services,
            visits_per_week=per_week,
            provider=rng.choice(PROVIDERS),
            note=rng.choice(["", "不吃辣", "耳背，敲门要用力", "子女在外地"]),
        )
        started = (now - dt.timedelta(weeks=CARE_WEEKS, days=rng.randint(0, 40))).date()
        CarePlan.objects.filter(pk=plan.pk).update(starts_on=started)
        summary.care_plans += 1
        # Some plans fall behind this week: fewer records in the last days.
        behind = n % 4 == 0
        # Whole days ago, one record a day at most (so the records' order is the order they were
        # made in: "nobody answered twice in a row" reads the one before).
        span = 7 * CARE_WEEKS
        days = sorted(rng.sample(range(1, span + 1), k=min(per_week * CARE_WEEKS, span)))
        days = [d for d in days if not (behind and d < 7 and rng.random() < 0.6)]
        workers = [u for u in (volunteer, cast.home(facts.region_code)) if u is not None]
        # The concerns fall in 枇杷塘 (where the demo's staff sign in), or wherever plans are left.
        concern_here = (n % 3 == 1 and facts.region_code.startswith(COMMUNITY_A)) or (
            len(chosen) - n <= concerns_left
        )
        previous = ""
        for i, ago in enumerate(reversed(days)):  # oldest first
            if concerns_left and i == len(days) - 2 and concern_here:
                outcome, note = CareOutcome.CONCERN, CARE_NOTES[concerns_left - 1]
                concerns_left -= 1
            elif previous != CareOutcome.ABSENT and rng.random() < 0.05:
                outcome, note = CareOutcome.ABSENT, "敲门无人应答，电话未接"
            else:
                outcome, note = CareOutcome.DONE, ""
            actor = rng.choice(workers)
            if not _may_care(actor, plan):
                actor = staff
            record = care.care_record_add(
                actor=actor, plan=plan, service=rng.choice(services), outcome=outcome, note=note
            )
            moment = now - dt.timedelta(days=ago)
            moment = timezone.localtime(moment).replace(
                hour=rng.choice([11, 11, 12, 15, 16]), minute=rng.randrange(60)
            )
            CareRecord.objects.filter(pk=record.pk).update(at=moment)
            previous = outcome
            summary.care_records += 1
            summary.concerns += int(outcome == CareOutcome.CONCERN)
        # The grid worker's own care visits, which the plan's page shows next to the records.
        worker = cast.home(facts.region_code)
        if n % 2 == 0 and worker.username in {"grid_a", "grid_b"}:
            for ago in sorted(rng.sample(range(3, 40), k=2), reverse=True):
                visits.visit_record(
                    actor=worker,
                    person=person,
                    visited_at=now - dt.timedelta(days=ago, hours=rng.randint(0, 6)),
                    purpose=VisitPurpose.CARE,
                    findings=rng.choice(VISIT_FINDINGS),
                )
                summary.visits += 1


def _may_care(user: User, plan: CarePlan) -> bool:
    from shequ.core.permissions import has_perm
    from shequ.govservice.permissions import GovPerm

    return has_perm(user, GovPerm.CARE, plan.region_code)
