"""Home care's concerns (``govservice.care_concern``) become one grid task each: a concern found
at a meal or visit, or nobody answering twice in a row, lands in the person's grid under 关爱帮扶
with the care worker's note; the same event again makes no second task."""

from __future__ import annotations

import pytest

from shequ.core import outbox
from shequ.govservice.events import CareConcern
from shequ.govservice.models import CareOutcome, CareService
from shequ.govservice.services import care
from shequ.govservice.tests.conftest import GRID_A, Gov, gov  # noqa: F401 (fixtures)
from shequ.grid.handlers import ticket_from_care_concern
from shequ.grid.models import Source, Ticket
from shequ.registry import prefill
from shequ.registry.tests.conftest import _fast_password_hasher, reg  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_a_care_concern_becomes_one_task_for_the_grid(gov: Gov) -> None:  # noqa: F811
    plan = care.care_plan_start(
        actor=gov["worker_a"], facts=prefill.facts_of(gov.elder), services=[CareService.MEALS]
    )
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.DONE)
    outbox.run_pending()
    assert not Ticket.objects.exists()  # all well: nothing for the grid
    record = care.care_record_add(
        actor=gov["grid_a"], plan=plan, service="meals", outcome=CareOutcome.CONCERN, note="饭菜没动，说头晕"
    )
    outbox.run_pending()
    ticket = Ticket.objects.get()
    assert ticket.region_code == GRID_A and ticket.source == Source.STAFF
    assert ticket.external_ref == f"care-{record.pk}"
    assert ticket.category is not None and ticket.category.code == "special.care"
    assert ticket.title == "居家养老：刘奶奶家发现异常"
    assert "来自居家养老服务：饭菜没动，说头晕。请上门看望刘奶奶" in ticket.description
    # The same event again (a redelivery): still one task.
    ticket_from_care_concern(
        CareConcern(
            actor_id=gov["grid_a"].pk,
            record_id=record.pk,
            region_code=plan.region_code,
            person_id=gov.elder.pk,
            person_name="刘奶奶",
            title=ticket.title,
            note="饭菜没动，说头晕",
        )
    )
    assert Ticket.objects.count() == 1


def test_nobody_answering_twice_sends_the_grid_worker(gov: Gov) -> None:  # noqa: F811
    plan = care.care_plan_start(
        actor=gov["worker_a"], facts=prefill.facts_of(gov.elder), services=[CareService.VISIT]
    )
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="visit", outcome=CareOutcome.ABSENT)
    outbox.run_pending()
    assert not Ticket.objects.exists()  # once may be a walk in the park
    care.care_record_add(actor=gov["grid_a"], plan=plan, service="visit", outcome=CareOutcome.ABSENT)
    outbox.run_pending()
    ticket = Ticket.objects.get()
    assert ticket.title == "居家养老：刘奶奶家连续两次无人应答"
    assert "连续两次上门无人应门" in ticket.description


def test_a_region_that_is_gone_makes_no_task(gov: Gov) -> None:  # noqa: F811
    ticket_from_care_concern(
        CareConcern(
            actor_id=None,
            record_id=999,
            region_code="439999999999999",
            person_id=1,
            person_name="某某",
            title="居家养老：某某家发现异常",
            note="x",
        )
    )
    assert not Ticket.objects.exists()
