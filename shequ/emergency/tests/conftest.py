"""Emergency fixtures: the registry's three places with one person each (``reg``), plus a few more
people of grid A, and the fake SMS gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shequ.core.tests.fakes import SmsGateway
from shequ.registry.tests.conftest import (  # noqa: F401 (fixtures)
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    GRID_B,
    GRID_C,
    Registry,
    _fast_password_hasher,
    reg,
)


@pytest.fixture
def sms(settings: Any) -> Iterator[SmsGateway]:
    with SmsGateway() as gateway:
        settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TOKEN = gateway.url, gateway.token
        settings.SMS_CALLBACK_TOKEN = "callback-token"
        yield gateway


@pytest.fixture
def town(reg: Registry, sms: SmsGateway) -> Registry:  # noqa: F811 (the imported fixture)
    """``reg`` with two more residents of grid A (one a party member) and one without a number."""
    reg.people["a2"] = reg.register(
        "赵六", reg.houses["a"][1], phone="13811113333", political_status="party_member"
    )
    reg.people["a3"] = reg.register("孙七", reg.houses["a"][2])  # no mobile number: cannot be called out
    reg.people["b"].phone = "13822224444"
    reg.people["b"].save()
    reg.people["c"].phone = "13833335555"
    reg.people["c"].save()
    return reg
