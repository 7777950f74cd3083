"""Home-care services: who is eligible (60+ or a care tag), starting a plan and its refusals,
records and their refusals, the concern event (something wrong, or nobody answering twice in a
row), ending a plan, the plan an approved 居家养老服务申请 starts; every step audited, every
refusal changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from shequ.core.models import AuditEntry, OutboxTask
from shequ.govservice.models import Application, CareOutcome, CarePlan, CareRecord, CareService, Channel
from shequ.govservice.models import Outcome as Decision
from shequ.govservice.services import applications as apps
from shequ.govservice.services import care
from shequ.govservice.services._common import TransitionError
from shequ.govservice.tests.conftest import GRID_A, Gov
from shequ.registry import prefill
from shequ.registry import services as registry

pytestmark = pytest.mark.django_db


def start(gov: Gov, **extra: Any) -> CarePlan:
    data: dict[str, Any] = {
        "actor": gov["worker_a"],
        "facts": prefill.facts_of(gov.elder),
        "services": [CareService.MEALS, CareService.VISIT],
        "visits_per_week": 3,
    }
    data.update(extra)
    return care.care_plan_start(**data)


def concerns() -> int:
    """Care-concern events emitted (one task per handler, so count the events)."""
    tasks = OutboxTask.objects.filter(event_type="govservice.care_concern")
    return tasks.values("event_id").distinct().count()


def test_eligibility_by_age_or_care_tag(gov: Gov) -> None:
    assert care.eligible(prefill.facts_of(gov.elder))  # 86 and disabled
    young = prefill.facts_of(gov.young)
    assert not care.eligible(young)
    registry.tag_add(actor=None, person=gov.young, category="disabled", grade="三级", subtype="视力")
    assert care.eligible(prefill.facts_of(gov.young))


def test_start_a_plan_audited(gov: Gov) -> None:
    plan = start(gov, provider="长者食堂", note="不吃辣")
    assert (plan.person_id, plan.person_name, plan.region_code) == (gov.elder.pk, "刘奶奶", GRID_A)
    assert plan.services == ["meals", "visit"] and plan.active and plan.created_by == gov["worker_a"]
    entry = AuditEntry.objects.get(action="govservice.care_plan_start")
    assert entry.object_id == str(plan.pk) and entry.actor_id == gov["worker_a"].pk


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"services": []}, "services"),
        ({"services": ["massage"]}, "services"),
        ({"visits_per_week": 0}, "visits_per_week"),
        ({"visits_per_week": 22}, "visits_per_week"),
        ({"provider": "长" * 101}, "provider"),
    ],
)
def test_bad_plans_are_refused(gov: Gov, extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        start(gov, **extra)
    assert field in exc.value.message_dict
    assert not CarePlan.objects.exists()


def test_refusals_of_who_and_for_whom(gov: Gov) -> None:
    with pytest.raises(ValidationError) as exc:
        start(gov, facts=prefill.facts_of(gov.young))
    assert "60" in exc.value.message_dict["person"][0]
    for persona in ("grid_a", "grid_b", "head_b", "outsider", "resident"):
        with pytest.raises(PermissionDenied):
            start(gov, actor=gov[persona])
    assert not CarePlan.objects.exists()
    start(gov)
    with pytest.raises(ValidationError) as exc:
        start(gov, services=[CareService.CLEANING])
    assert "person" in exc.value.message_dict and CarePlan.objects.count() == 1


def test_records_and_their_refusals(gov: Gov) -> None:
    plan = start(gov)
    record = care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.DONE)
    assert (record.region_code, record.by) == (GRID_A, gov["grid_a"])
    assert AuditEntry.objects.filter(action="govservice.care_record").count() == 1
    for service, outcome in (
        ("bathing", CareOutcome.DONE),  # not in the plan
        ("meals", "fine"),
        ("meals", CareOutcome.CONCERN),  # a concern says what
    ):
        with pytest.raises(ValidationError):
            care.care_record_add(actor=gov["grid_a"], plan=plan, service=service, outcome=outcome)
    for persona in ("grid_b", "head_b", "outsider", "resident"):
        with pytest.raises(PermissionDenied):
            care.care_record_add(actor=gov[persona], plan=plan, service="meals", outcome=CareOutcome.DONE)
    with pytest.raises(PermissionDenied):
        care.care_record_add(actor=None, plan=plan, service="meals", outcome=CareOutcome.DONE)
    assert CareRecord.objects.count() == 1 and concerns() == 0


def test_a_concern_and_two_silences_in_a_row_reach_the_grid(gov: Gov) -> None:
    plan = start(gov)
    care.care_record_add(
        actor=gov["grid_a"], plan=plan, service="visit", outcome=CareOutcome.CONCERN, note="腿肿了"
    )
    assert concerns() == 1
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.ABSENT)
    assert concerns() == 1  # one silence is not yet a worry
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.DONE)
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.ABSENT)
    assert concerns() == 1  # not in a row
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.ABSENT)
    assert concerns() == 2
    payload = OutboxTask.objects.filter(event_type="govservice.care_concern").order_by("pk").last()
    assert payload is not None and payload.payload["person_name"] == "刘奶奶"


def test_ending_a_plan(gov: Gov) -> None:
    plan = start(gov)
    with pytest.raises(PermissionDenied):
        care.care_plan_end(actor=gov["grid_a"], plan=plan, reason="x")
    with pytest.raises(ValidationError):
        care.care_plan_end(actor=gov["worker_a"], plan=plan, reason=" ")
    assert CarePlan.objects.get().active
    plan = care.care_plan_end(actor=gov["worker_a"], plan=plan, reason="入住养老院")
    assert not plan.active and plan.ends_on is not None and "入住养老院" in plan.note
    with pytest.raises(TransitionError):
        care.care_plan_end(actor=gov["worker_a"], plan=plan, reason="again")
    with pytest.raises(ValidationError):
        care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.DONE)
    # A new plan may start once the old one ended.
    assert start(gov).active and CarePlan.objects.count() == 2


def test_an_approved_home_care_application_starts_its_plan(gov: Gov) -> None:
    item = gov.item("home_care_service")
    application = apps.application_submit(
        actor=gov["worker_a"],
        item=item,
        channel=Channel.COUNTER,
        region=gov.world.regions[GRID_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.elder)),
        answers={"service": "助餐", "times": "5"},
        paper=["household"],
    )
    application = Application.objects.get(pk=application.pk)
    apps.application_decide(actor=gov["worker_a"], application=application, outcome=Decision.APPROVED)
    plan = CarePlan.objects.get()
    assert (plan.application_id, plan.services, plan.visits_per_week) == (application.pk, ["meals"], 5)
    assert care.plan_from_application(application, actor=None) is None  # one active plan per person
