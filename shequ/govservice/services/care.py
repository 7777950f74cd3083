"""Home care (S4): plans of services for elderly and disabled residents, and a record per meal
delivered or visit made. A record that finds something wrong, or a second "nobody answered" in a
row, becomes a task for the grid worker (the grid handles ``govservice.care_concern``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import Region, User
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer
from shequ.govservice import events
from shequ.govservice.models import Application, CareOutcome, CarePlan, CareRecord, CareService
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import _common as c
from shequ.registry import prefill

CARE_TAGS = frozenset(
    {"elderly_60", "elderly_80", "living_alone", "empty_nest", "disabled_elderly", "disabled"}
)
CARE_MIN_AGE = 60


def eligible(facts: prefill.Facts) -> bool:
    """Elderly (60+ by birth date) or holding a care tag of the elderly or disabled."""
    return (facts.age is not None and facts.age >= CARE_MIN_AGE) or bool(facts.tags & CARE_TAGS)


def _clean_services(services: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(s) for s in services))
    if not chosen or any(s not in CareService.values for s in chosen):
        raise ValidationError({"services": _("Choose at least one service from the list.")})
    return chosen


def care_plan_start(
    *,
    actor: Viewer | None,
    facts: prefill.Facts,
    services: Sequence[str],
    visits_per_week: int = 1,
    provider: str = "",
    note: str = "",
    application: Application | None = None,
    request: HttpRequest | None = None,
) -> CarePlan:
    """Start a plan for a person the caller found through a scoped registry read."""
    region = Region.objects.filter(code=facts.region_code).first()
    if region is None:
        raise ValidationError({"person": _("The person has no home in the registry.")})
    probe = CarePlan(region_code=region.code)
    c.require(actor, P.HANDLE, probe, "care_plan_start", request)
    if not eligible(facts):
        raise ValidationError(
            {"person": _("Home care is for residents aged 60 or over, or with a disability.")}
        )
    chosen = _clean_services(services)
    if not 1 <= int(visits_per_week) <= 21:
        raise ValidationError({"visits_per_week": _("Between 1 and 21 times a week.")})
    provider = c.text(provider, "provider", 100)
    note = c.text(note, "note", 300)
    try:
        with transaction.atomic():
            plan = CarePlan.objects.create(
                person_id=facts.person_id,
                person_name=facts.name,
                region=region,
                region_code=region.code,
                application=application,
                services=chosen,
                visits_per_week=int(visits_per_week),
                provider=provider,
                note=note,
                created_by=actor if isinstance(actor, User) else None,
            )
            audit.record(
                "govservice.care_plan_start",
                actor=actor,
                request=request,
                region_code=plan.region_code,
                object_type="govservice.careplan",
                object_id=plan.pk,
                detail={"services": chosen, "application": application.pk if application else None},
            )
    except IntegrityError as exc:
        raise ValidationError({"person": _("This person already has a home-care plan.")}) from exc
    return plan


def plan_from_application(application: Application, *, actor: Viewer | None) -> CarePlan | None:
    """An approved 居家养老服务申请 starts the plan it asked for (inside the decision's transaction)."""
    if (
        application.person_id is None
        or CarePlan.objects.filter(person_id=application.person_id, active=True).exists()
    ):
        return None
    wanted = {
        "助餐": CareService.MEALS,
        "上门探访": CareService.VISIT,
        "助洁": CareService.CLEANING,
        "助浴": CareService.BATHING,
        "陪同就医": CareService.ESCORT,
    }
    service = wanted.get(str(application.answers.get("service", "")), CareService.VISIT)
    times = str(application.answers.get("times", "1"))
    plan = CarePlan.objects.create(
        person_id=application.person_id,
        person_name=application.applicant_name,
        region=application.region,
        region_code=application.region_code,
        application=application,
        services=[service],
        visits_per_week=min(max(int(times) if times.isdigit() else 1, 1), 21),
        created_by=actor if isinstance(actor, User) else None,
    )
    audit.record(
        "govservice.care_plan_start",
        actor=actor,
        region_code=plan.region_code,
        object_type="govservice.careplan",
        object_id=plan.pk,
        detail={"services": plan.services, "application": application.pk},
    )
    return plan


def care_plan_end(
    *, actor: Viewer | None, plan: CarePlan, reason: str, request: HttpRequest | None = None
) -> CarePlan:
    c.require(actor, P.HANDLE, plan, "care_plan_end", request)
    reason = c.text(reason, "reason", 300, required=True, label=_("The reason"))
    with transaction.atomic():
        plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
        if not plan.active:
            raise c.TransitionError(_("This plan has already ended."))
        plan.active = False
        plan.ends_on = c.now().date()
        plan.note = (f"{plan.note} · {reason}" if plan.note else reason)[:300]
        plan.save(update_fields=["active", "ends_on", "note"])
        audit.record(
            "govservice.care_plan_end",
            actor=actor,
            request=request,
            region_code=plan.region_code,
            object_type="govservice.careplan",
            object_id=plan.pk,
            reason=reason,
        )
    return plan


def care_record_add(
    *,
    actor: Viewer | None,
    plan: CarePlan,
    service: str,
    outcome: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> CareRecord:
    """A meal delivered or a visit made. Something wrong, or nobody answering twice in a row, sends
    the grid worker to see."""
    c.require(actor, P.CARE, plan, "care_record", request)
    assert isinstance(actor, User)  # require() refused anyone without an account
    if not plan.active:
        raise ValidationError({"plan": _("This plan has ended.")})
    if service not in plan.services:
        raise ValidationError({"service": _("Choose a service of this plan.")})
    if outcome not in CareOutcome.values:
        raise ValidationError({"outcome": _("Say how it went.")})
    note = c.text(note, "note", 300, required=outcome == CareOutcome.CONCERN, label=_("What is wrong"))
    with transaction.atomic():
        previous = CareRecord.objects.filter(plan=plan).order_by("-at", "-pk").first()
        record = CareRecord.objects.create(
            plan=plan, region_code=plan.region_code, service=service, outcome=outcome, note=note, by=actor
        )
        audit.record(
            "govservice.care_record",
            actor=actor,
            request=request,
            region_code=plan.region_code,
            object_type="govservice.careplan",
            object_id=plan.pk,
            detail={"service": service, "outcome": outcome},
        )
        absent_again = (
            outcome == CareOutcome.ABSENT and previous is not None and previous.outcome == CareOutcome.ABSENT
        )
        if outcome == CareOutcome.CONCERN or absent_again:
            title = (
                _("Home care: nobody answered twice at %(name)s's")
                if absent_again
                else _("Home care: something is wrong at %(name)s's")
            ) % {"name": plan.person_name}
            emit(
                events.CareConcern(
                    actor_id=getattr(actor, "pk", None),
                    record_id=record.pk,
                    region_code=plan.region_code,
                    person_id=plan.person_id,
                    person_name=plan.person_name,
                    title=title[:100],
                    note=note or _("Nobody answered the door at two visits in a row."),
                )
            )
    return record
