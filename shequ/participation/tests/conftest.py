"""Participation fixtures build on the registry's ``reg`` (three places, the personas of
``shequ.conftest``); each area adds its own fixtures in ``fixtures_<area>.py``, imported here."""

from __future__ import annotations

from shequ.participation.tests.fixtures_consult import consult  # noqa: F401 (fixture)
from shequ.participation.tests.fixtures_disclosure import disc  # noqa: F401 (fixtures)
from shequ.participation.tests.fixtures_votes import english, votes  # noqa: F401 (fixtures)
from shequ.registry.tests.conftest import (  # noqa: F401 (fixtures)
    _fast_password_hasher,
    reg,
)
