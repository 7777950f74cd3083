"""The demo's applications: one plan per application run through the services step by step, then
ratings and rectifications."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from shequ.core import outbox
from shequ.core.models import (
    Message,
    OutboxTask,
    Region,
    User,
)
from shequ.govservice.demo._common import (
    AGO,
    BAD_COMMENTS,
    CONSULT_ANSWERS,
    DENIALS,
    FEEDBACK,
    FINAL_AGO,
    FINDINGS,
    GOOD_COMMENTS,
    MEASURES,
    REJECTIONS,
    RETURN_NOTES,
    STREET,
    TEXTS,
    Cast,
    Clock,
    Uploads,
    at,
)
from shequ.govservice.models import (
    Application,
    ApplicationStep,
    Channel,
    Consent,
    Delivery,
    Mode,
    Outcome,
    Rectification,
    RectStatus,
    ServiceItem,
    Status,
)
from shequ.govservice.notices import THREAD_KIND
from shequ.govservice.services import _common, evaluations
from shequ.govservice.services import applications as apps
from shequ.registry import prefill
from shequ.registry.models import Person

# --- Applications ---------------------------------------------------------------------------------


def _suits(item: ServiceItem, facts: prefill.Facts) -> bool:
    rules = item.eligibility or {}
    if rules.get("min_age") and (facts.age is None or facts.age < int(rules["min_age"])):
        return False
    tags = set(rules.get("tags_any") or [])
    return not tags or bool(tags & facts.tags)


def _answers(item: ServiceItem, rng: random.Random) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in item.form:
        name, kind = str(f["name"]), f.get("kind")
        if kind == "choice":
            out[name] = rng.choice(list(f.get("choices") or []))
        elif kind == "number":
            out[name] = str(rng.randint(1, 3))
        else:
            out[name] = rng.choice(TEXTS.get(name, ["见附件"]))
    return out


def _pick(rng: random.Random, weights: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weights], [w for _, w in weights])[0]


@dataclass
class Plan:
    """One application to make: who, what, how, and where it ends."""

    person: Person
    facts: prefill.Facts
    item: ServiceItem
    channel: str
    target: str
    user: User | None = None
    rate: bool = False


def _reachable(target: str, channel: str) -> bool:
    """Whether an application made by ``channel`` can end in ``target``: staff take it at once
    (accepted), so only online and kiosk ones wait, are returned or refused; only the applicant's
    account withdraws."""
    if target in {Status.SUBMITTED, Status.RETURNED, Status.REJECTED}:
        return channel in {Channel.ONLINE, Channel.KIOSK}
    return target != Status.WITHDRAWN or channel == Channel.ONLINE


def _fits(item: ServiceItem, target: str, channel: str) -> bool:
    """Whether the item can end in ``target`` by ``channel`` (the services' rules)."""
    if target == Status.FORWARDED and item.mode not in apps.FORWARD_MODES:
        return False
    if not _reachable(target, channel):
        return False
    return channel not in {Channel.ONLINE, Channel.KIOSK} or item.online


def _run(plan: Plan, cast: Cast, uploads: Uploads, rng: random.Random, now: dt.datetime) -> Application:
    """Make one application and take it along its path to ``plan.target``."""
    item, facts, channel, target = plan.item, plan.facts, plan.channel, plan.target
    low, high = AGO.get(target, FINAL_AGO)
    start = now - dt.timedelta(days=rng.uniform(low, high))
    start = timezone.localtime(start).replace(
        hour=rng.randint(8, 19), minute=rng.randrange(60)
    )  # office hours
    if start > now:
        start = now - dt.timedelta(minutes=rng.uniform(20, 90))
    clock = Clock(rng, start, now)
    grid = facts.region_code
    staff = cast.counter(grid[:12])
    rows = apps.plan_materials(item, facts)
    needed = [r["code"] for r in rows if r["how"] == apps.MISSING and r["required"]]
    extra = [r["code"] for r in rows if r["how"] == apps.MISSING and not r["required"] and rng.random() < 0.3]
    applicant = apps.Applicant(facts=facts, user=plan.user if channel == Channel.ONLINE else None)
    kwargs: dict[str, Any] = {
        "item": item,
        "channel": channel,
        "region": Region.objects.get(code=grid),
        "applicant": applicant,
        "answers": _answers(item, rng),
    }
    if channel == Channel.ONLINE:
        kwargs.update(actor=plan.user, files=uploads.files(needed + extra))
    elif channel == Channel.KIOSK:
        kwargs.update(actor=staff, files=uploads.files(needed))
    elif channel == Channel.HOME:
        consent = _pick(rng, [(Consent.SIGNED, 6), (Consent.SPOKEN, 2), (Consent.GUARDIAN, 2)])
        kwargs.update(
            actor=cast.home(grid),
            paper=needed,
            on_behalf=True,
            consent=consent,
            consent_note="老人行动不便，由网格员上门代办" if consent != Consent.GUARDIAN else "女儿电话同意",
        )
    else:
        kwargs.update(actor=staff, paper=needed + extra)
    with at(start):
        application = apps.application_submit(**kwargs)
    if target == Status.SUBMITTED:
        return application
    if target == Status.WITHDRAWN:
        if rng.random() < 0.4:
            with at(clock.after(2, 20)):
                application = apps.application_accept(actor=staff, application=application)
        with at(clock.after(3, 48)):
            return apps.application_withdraw(
                actor=plan.user, application=application, reason=rng.choice(["不需要了", "已在别处办理", ""])
            )
    if application.status == Status.SUBMITTED:
        if target == Status.REJECTED:
            with at(clock.after(1, 20)):
                return apps.application_reject(
                    actor=staff, application=application, reason=rng.choice(REJECTIONS)
                )
        if target == Status.RETURNED or rng.random() < 0.15:
            codes = [
                str(r["code"]) for r in application.materials if r["how"] in {apps.UPLOAD, apps.REGISTRY}
            ]
            missing = rng.sample(codes, k=min(len(codes), rng.choice([1, 1, 2])))
            with at(clock.after(1, 24)):
                application = apps.application_return(
                    actor=staff, application=application, missing=missing, note=rng.choice(RETURN_NOTES)
                )
            if target == Status.RETURNED:
                return application
            with at(clock.after(12, 72)):
                if channel == Channel.ONLINE:
                    application = apps.application_resubmit(
                        actor=plan.user,
                        application=application,
                        files=uploads.files(list(application.missing)),
                    )
                else:
                    application = apps.application_resubmit(
                        actor=staff, application=application, paper=list(application.missing)
                    )
        if application.status == Status.SUBMITTED:
            if item.instant and target == Status.CLOSED:
                with at(clock.after(0.1, 3)):
                    return apps.application_close_on_receipt(actor=staff, application=application)
            with at(clock.after(1, 24)):
                application = apps.application_accept(actor=staff, application=application)
    if target == Status.ACCEPTED:
        return application
    if item.instant and target == Status.CLOSED and application.status == Status.ACCEPTED:
        with at(clock.after(0.05, 1)):
            return apps.application_close_on_receipt(actor=staff, application=application)
    decider: User = staff
    if item.mode in apps.FORWARD_MODES:
        department = cast.departments.get(item.department_kind)
        if department is None:
            return application
        with at(clock.after(2, 40)):
            application = apps.application_forward(
                actor=staff, application=application, department=department, note="请审核。"
            )
        if target == Status.FORWARDED:
            return application
        decider = cast.dept_staff[department.pk]
    if item.mode == Mode.CONSULT:
        outcome, note = Outcome.ANSWERED, rng.choice(CONSULT_ANSWERS)
    elif rng.random() < 0.12:
        outcome, note = Outcome.DENIED, rng.choice(DENIALS)
    else:
        outcome, note = Outcome.APPROVED, ""
    with at(clock.after(20, 24 * 7)):
        application = apps.application_decide(
            actor=decider, application=application, outcome=outcome, note=note
        )
    if target == Status.DECIDED:
        return application
    delivery = _pick(
        rng, [(Delivery.PICKUP, 5), (Delivery.HOME, 2), (Delivery.ELECTRONIC, 2), (Delivery.POST, 1)]
    )
    with at(clock.after(4, 48)):
        return apps.application_deliver(actor=staff, application=application, delivery=delivery)


def _rate(
    application: Application, user: User | None, bad: bool, rng: random.Random, now: dt.datetime
) -> bool:
    closed = application.closed_at or now
    moment = min(closed + dt.timedelta(hours=rng.uniform(1, 72)), now - dt.timedelta(minutes=5))
    if bad:
        stars = rng.choice([1, 2, 2])
        reasons = rng.sample(list(evaluations.BAD_REASONS), k=rng.choice([1, 2]))
        comment = rng.choice(BAD_COMMENTS)
    else:
        stars = rng.choices([3, 4, 5], [1, 3, 8])[0]
        reasons = rng.sample(list(evaluations.GOOD_REASONS), k=rng.choice([0, 1, 2]))
        comment = rng.choice(GOOD_COMMENTS)
    online = user is not None and application.applicant_user_id == user.pk
    with at(max(moment, closed)):
        evaluations.evaluation_submit(
            actor=user if online else None,
            application=application,
            stars=stars,
            reasons=reasons,
            comment=comment,
            channel=Channel.ONLINE,
            by_token=not online,
        )
    return stars <= _common.LOW_STARS


def _rectify(cast: Cast, rng: random.Random, now: dt.datetime) -> tuple[int, int]:
    """The units answer some of the bad ratings; the level above reviews some of the answers."""
    fed_back = reviewed = 0
    rects = list(
        Rectification.objects.filter(status=RectStatus.OPEN, opened_at__lt=now - dt.timedelta(days=2))
        .select_related("department")
        .order_by("opened_at", "pk")
    )
    for n, rect in enumerate(rects):
        if n % 3 == 2:
            continue  # still being looked into
        actor = cast.rectifier(rect)
        if actor is None or not evaluations.can_rectify(actor, rect):
            continue
        clock = Clock(rng, rect.opened_at, now)
        with at(clock.after(24, 24 * 6)):
            rect = evaluations.rectification_feedback(
                actor=actor,
                rect=rect,
                finding=rng.choice(FINDINGS),
                measures=rng.choice(MEASURES),
                feedback=rng.choice(FEEDBACK),
            )
        fed_back += 1
        supervisor = cast.supervisor(rect)
        if supervisor is None or fed_back % 2 == 0:
            continue  # waiting for the review
        accepted = reviewed % 3 != 1  # now and then sent back for more
        with at(clock.after(12, 24 * 4)):
            evaluations.rectification_review(
                actor=supervisor,
                rect=rect,
                accepted=accepted,
                note="" if accepted else "整改措施不具体，请补充落实情况。",
            )
        reviewed += 1
    return fed_back, reviewed


def date_notices(since: dt.datetime) -> int:
    """Run the worker now and date each application notice at the step it tells of (the steps ran
    on a clock set back; the notices would otherwise all carry the minute the demo was made).
    Notices older than a day are marked read. Returns how many were dated."""
    outbox.run_pending()
    step_at = {
        (application_id, action, to_status): at
        for application_id, action, to_status, at in ApplicationStep.objects.filter(
            application__region_code__startswith=STREET
        )
        .order_by("at", "pk")
        .values_list("application_id", "action", "to_status", "at")
    }
    when: dict[str, dt.datetime] = {}
    for event_id, payload in OutboxTask.objects.filter(
        event_type="govservice.application_changed", created_at__gte=since
    ).values_list("event_id", "payload"):
        key = (payload.get("application_id"), payload.get("action"), payload.get("to_status"))
        if key in step_at:
            when[str(event_id)] = step_at[key]
    notices = list(Message.objects.filter(created_at__gte=since, thread_key__startswith=f"{THREAD_KIND}:"))
    cutoff = timezone.now() - dt.timedelta(days=1)
    dated = []
    for message in notices:
        at = when.get(message.dedupe_key)
        if at is None:
            continue
        message.created_at = at
        if at < cutoff:
            message.read_at = at + dt.timedelta(hours=3)
        dated.append(message)
    Message.objects.bulk_update(dated, ["created_at", "read_at"], batch_size=500)
    return len(dated)
