"""Demo government services for 岳麓街道: two months of applications, their ratings and the home care
of the street's elderly.

* ``APPLICATIONS`` applications over the last ``DAYS`` days, spread over the street's communities
  and the catalog's items (each for a registry person it suits: age, care tags), by every channel —
  online by residents whose accounts are linked to their registry record (by the mobile number),
  at the counter, at home on a resident's behalf with their consent (帮办代办), at a kiosk — and in
  every state: submitted, returned with the exact list of missing materials (some sent again),
  accepted, forwarded to the department, decided, closed (delivered, or 即收即办 on receipt),
  refused, withdrawn. Uploaded materials are small generated PNGs, sealed like real ones.
* Ratings (好差评) on about 60 % of the closed applications, about 10 % of them bad: each bad one
  opened a rectification (整改); some were fed back by the unit and some of those reviewed.
* The demo resident (``resident``) is the account of a registry person of her grid and has
  applications in several states, one closed and waiting for her rating.
* A department for each kind the forwarded items need, in the county, where the demo has none,
  each with a staff account (no password: they decide, they do not sign in).
* ``CARE_PLANS`` home-care plans (居家养老) with three weeks of meals and visits, two of which
  found something wrong (grid tasks through the grid's ``govservice.care_concern`` handler).

Everything goes through the government-service services, as the staff's and residents' clicks
would; only the clock is set back while each step runs (the services read it through
``services._common.now``, so deadlines, warnings and timelines stay consistent), and care records
and plans are moved to their day afterwards. Idempotent: a street with applications already is
left alone."""

from __future__ import annotations

import datetime as dt
import random
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shequ.core.models import (
    Region,
    RegionLevel,
    User,
)
from shequ.govservice.demo._common import (
    APPLICATIONS,
    BAD_SHARE,
    CHANNELS,
    COMMUNITY_A,
    ITEM_WEIGHTS,
    PEOPLE_PER_COMMUNITY,
    RATED_SHARE,
    STATES,
    STREET,
    Cast,
    GovSummary,
    Uploads,
    _departments,
    _online_residents,
)
from shequ.govservice.demo.applications import (
    Plan,
    _fits,
    _pick,
    _rate,
    _reachable,
    _rectify,
    _run,
    _suits,
    date_notices,
)
from shequ.govservice.demo.care import (
    _care,
)
from shequ.govservice.models import (
    Application,
    Channel,
    Rectification,
    ServiceItem,
    Status,
)
from shequ.govservice.services import evaluations
from shequ.registry import prefill
from shequ.registry import selectors as registry
from shequ.registry.demo.accounts import link_demo_resident
from shequ.registry.models import Person, PersonStatus

# --- The whole --------------------------------------------------------------------------------------


def _people(rng: random.Random) -> list[Person]:
    """A sample of the street's residents with a home, from every community."""
    out: list[Person] = []
    communities = Region.objects.filter(parent__code=STREET, level=RegionLevel.COMMUNITY).order_by("code")
    for community in communities:
        ids = list(
            Person.objects.filter(
                region_code__startswith=community.code, status=PersonStatus.ACTIVE, house__isnull=False
            ).values_list("pk", flat=True)
        )
        picked = rng.sample(ids, k=min(len(ids), PEOPLE_PER_COMMUNITY))
        out.extend(Person.objects.filter(pk__in=picked).select_related("house").order_by("pk"))
    rng.shuffle(out)
    return out


RESIDENT_TARGETS = [
    Status.SUBMITTED,
    Status.RETURNED,
    Status.ACCEPTED,
    Status.FORWARDED,
    Status.CLOSED,  # rated
    Status.CLOSED,  # waiting for her rating
    Status.WITHDRAWN,
]


def _resident_plans(user: User, person: Person, items: list[ServiceItem], rng: random.Random) -> list[Plan]:
    facts = prefill.facts_of(person)
    used: set[str] = set()
    plans: list[Plan] = []
    for n, target in enumerate(RESIDENT_TARGETS):
        fitting = [
            i
            for i in items
            if _suits(i, facts) and _fits(i, target, Channel.ONLINE) and i.code not in used and not i.instant
        ]
        if not fitting:
            continue
        item = rng.choice(fitting)
        used.add(item.code)
        plans.append(Plan(person, facts, item, Channel.ONLINE, target, user=user, rate=n == 4))
    return plans


def generate_govservice(*, seed: int = 2026, now: dt.datetime | None = None) -> GovSummary:
    """The demo street's government services (needs the registry and the demo accounts)."""
    summary = GovSummary()
    started = time.perf_counter()
    if Application.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True  # made by an earlier run
        return summary
    users = {u.username: u for u in User.objects.filter(is_active=True, username__in=_DEMO_USERS)}
    if "street" not in users or not Region.objects.filter(code=COMMUNITY_A).exists():
        summary.skipped = True
        return summary
    since = timezone.now()
    now = now or since
    rng = random.Random(seed)
    departments, dept_staff, summary.departments = _departments()
    people = _people(rng)
    if not people:
        summary.skipped = True
        return summary
    cast = Cast(
        users=users, departments=departments, dept_staff=dept_staff, residents=_online_residents(people)
    )
    uploads = Uploads(rng)
    items = list(ServiceItem.objects.filter(is_active=True).order_by("code"))
    plans: list[Plan] = []
    resident = users.get("resident")
    resident_person = link_demo_resident(resident) if resident is not None else None
    if resident is not None and resident_person is not None:
        plans += _resident_plans(resident, resident_person, items, rng)
        summary.resident = resident_person.name
        summary.resident_states = [str(p.target) for p in plans]
    facts_cache: dict[int, prefill.Facts] = {}
    online = [p for p in people if p.pk in cast.residents]
    elderly = list(
        Person.objects.filter(pk__in=[p.pk for p in people]).filter(registry.care_person_q()).order_by("pk")
    )
    attempts = 0
    while len(plans) < APPLICATIONS and attempts < APPLICATIONS * 5:
        attempts += 1
        channel = _pick(rng, CHANNELS)
        # Online applicants are the residents with accounts; the others come in person.
        # 帮办代办 at home is for the elderly and disabled.
        pools: dict[str, list[Person]] = {Channel.ONLINE: online, Channel.HOME: elderly}
        pool = pools.get(channel) or people
        person = rng.choice(pool)
        if person.pk not in facts_cache:
            facts_cache[person.pk] = prefill.facts_of(person)
        facts = facts_cache[person.pk]
        user = cast.residents.get(person.pk)
        if channel == Channel.ONLINE and user is None:
            continue
        target = _pick(rng, [(state, w) for state, w in STATES if _reachable(state, channel)])
        fitting = [i for i in items if _suits(i, facts) and _fits(i, target, channel)]
        if not fitting:
            continue
        item = rng.choices(fitting, [ITEM_WEIGHTS.get(i.code, 1) for i in fitting])[0]
        plans.append(Plan(person, facts, item, channel, target, user=user, rate=rng.random() < RATED_SHARE))
    summary.phases["plans"] = time.perf_counter() - started
    made: list[tuple[Application, Plan]] = []
    for plan in plans:
        try:
            with transaction.atomic():
                made.append((_run(plan, cast, uploads, rng, now), plan))
        except ValidationError:
            continue  # a combination the services refuse (e.g. a second plan for one person)
    for application, plan in made:
        summary.by_status[application.status] = summary.by_status.get(application.status, 0) + 1
        summary.by_channel[application.channel] = summary.by_channel.get(application.channel, 0) + 1
        if application.status not in evaluations.RATED_STATUSES or not plan.rate:
            continue
        if plan.user is resident and resident is not None and application.status != Status.CLOSED:
            continue
        bad = plan.user is not resident and rng.random() < BAD_SHARE
        with transaction.atomic():
            summary.bad += int(_rate(application, plan.user, bad, rng, now))
        summary.ratings += 1
    summary.phases["applications+ratings"] = time.perf_counter() - started
    summary.applications = len(made)
    summary.rectifications = Rectification.objects.filter(region_code__startswith=STREET).count()
    summary.fed_back, summary.reviewed = _rectify(cast, rng, now)
    summary.phases["rectify"] = time.perf_counter() - started
    with transaction.atomic():
        _care(cast, people, rng, now, summary)
    summary.phases["care"] = time.perf_counter() - started
    summary.notices = date_notices(since)
    summary.phases["outbox"] = time.perf_counter() - started
    summary.seconds = time.perf_counter() - started
    return summary


_DEMO_USERS = (
    "grid_a",
    "grid_b",
    "worker_a",
    "head_a",
    "head_b",
    "street",
    "county",
    "city",
    "volunteer",
    "resident",
)
