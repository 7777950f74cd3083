"""Fuzz the registry API from its OpenAPI document as a community head who may use every registry
operation, over real data (security requirement 17): no 5xx, every status and body as documented,
invalid input refused with a 4xx. ``shequ/core/tests/test_schemathesis.py`` runs the whole API with
an auditor's token (who may read no registry data) and without credentials."""

from __future__ import annotations

from typing import Any

import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis import GenerationMode

from shequ.core.tests.api_helpers import _fresh_rate_limits, issue
from shequ.core.tests.test_schemathesis import CHECKS, FUZZ, _keep_the_test_connection
from shequ.registry.tests.conftest import Registry

__all__ = ["_fresh_rate_limits", "_keep_the_test_connection"]  # fixtures

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/registry/"
)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


def head_token(reg: Registry, settings: Any) -> str:
    settings.API_RATE = "100000/min"  # the fuzzer is not a client to slow down
    return issue(reg.world, "head_a")


@schema.parametrize()
@FUZZ
def test_registry_api_as_a_community_head(
    case: Any, reg: Registry, settings: Any, _keep_the_test_connection: None
) -> None:
    from schemathesis.specs.openapi.checks import negative_data_rejection

    token = head_token(reg, settings)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=[*CHECKS, negative_data_rejection]
    )
