"""Fuzz every API operation from its own OpenAPI document (security requirement 17).

Schemathesis loads ``/api/v1/openapi.json`` from the WSGI application, generates valid and invalid
requests for every operation and checks that none gets a 5xx, that every status and body is the one
documented, and that invalid input is refused with a 4xx. It runs once with a token that holds every
scope (an auditor, who may use every core operation) and once without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from shequ.conftest import World
from shequ.core import messaging
from shequ.core.tests.api_helpers import _fresh_rate_limits, issue

__all__ = ["_fresh_rate_limits"]  # fixtures

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same cases on every run: a CI failure reproduces on a laptop
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def _keep_the_test_connection() -> Iterator[None]:
    """Requests through the WSGI app start and end with close_old_connections, which would close the
    test's open transaction; Django's own test client unhooks it the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def auditor_token(world: World, settings: Any, _keep_the_test_connection: None) -> str:
    """A token with every scope for the auditor, and messages for them to find (one asks for an ack)."""
    settings.API_RATE = "100000/min"  # the fuzzer is not a client to slow down
    messaging.notify(sender=world["street"], recipients=[world["auditor"]], subject="Plain", body="b")
    messaging.notify(
        sender=world["street"],
        recipients=[world["auditor"]],
        subject="Roll-call",
        body="b",
        requires_ack=True,
        topic="test.fuzz",
        topic_ref="1",
    )
    return issue(world, "auditor")


# Loaded from the running application, as a client would (no database needed for the document).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schema.parametrize()
@FUZZ
def test_api_with_a_token(case: Any, auditor_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {auditor_token}"}, checks=[*CHECKS, negative_data_rejection]
    )


# Operations open to everyone (the public resource catalog of the sharing app).
PUBLIC = {("GET", "/sharing/catalog")}


@schema.parametrize()
@FUZZ
def test_api_without_credentials(case: Any, db: None, _keep_the_test_connection: None) -> None:
    response = case.call_and_validate(checks=CHECKS)
    allowed = (
        (200, 400, 405) if (case.method, case.path.removeprefix("/api/v1")) in PUBLIC else (400, 401, 405)
    )
    assert response.status_code in allowed, (case.method, case.path, response.status_code)
