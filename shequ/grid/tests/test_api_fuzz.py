"""Fuzz the grid API from its OpenAPI document over real tickets (security requirement 17): as a
community head (who may take most steps) and as department staff, no 5xx, every status and body
as documented, invalid input refused with a 4xx. ``shequ/core/tests/test_schemathesis.py`` runs
the whole API with an auditor's token (who takes no part in tickets) and without credentials."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from shequ.conftest import World
from shequ.core.tests.api_helpers import _fresh_rate_limits, issue
from shequ.core.tests.test_schemathesis import CHECKS, FUZZ, _keep_the_test_connection
from shequ.grid import services
from shequ.grid.tests.conftest import GRID_A, new_ticket

__all__ = ["_fresh_rate_limits", "_keep_the_test_connection"]  # fixtures

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/grid/"
)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# Half the core run's examples per operation: the core run already fuzzes these operations with
# an auditor's token and without credentials; here two more personas with real rights.
GRID_FUZZ = settings(FUZZ, max_examples=30)


@pytest.fixture
def tickets(world: World, settings: Any, _keep_the_test_connection: None) -> World:
    """Tickets in most states, with ids 1… so that generated ids find some of them."""
    settings.API_RATE = "100000/min"  # the fuzzer is not a client to slow down
    new_ticket(world, contact_phone="13912345678")
    accepted = services.ticket_accept(actor=world["worker_a"], ticket=new_ticket(world, grid=GRID_A))
    sent = services.ticket_accept(actor=world["worker_a"], ticket=new_ticket(world))
    sent = services.ticket_dispatch(actor=world["worker_a"], ticket=sent)
    taken = services.ticket_department_accept(actor=world["dept"], ticket=sent)
    services.extension_request(actor=world["dept"], ticket=taken, days=2, reason="取证")
    services.ticket_handle(actor=world["worker_a"], ticket=accepted, result="已处理")
    return world


@schema.parametrize()
@GRID_FUZZ
def test_grid_api_as_a_community_head(case: Any, tickets: World) -> None:
    token = issue(tickets, "head_a")
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=[*CHECKS, negative_data_rejection]
    )


@schema.parametrize()
@GRID_FUZZ
def test_grid_api_as_department_staff(case: Any, tickets: World) -> None:
    token = issue(tickets, "dept")
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=[*CHECKS, negative_data_rejection]
    )
