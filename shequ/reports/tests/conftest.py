"""The reports tests build their data through the apps' services on the registry's fixtures
(``reg``: houses and people in grids A and B of community A and in sibling community B)."""

from shequ.registry.tests.conftest import _fast_password_hasher, reg  # noqa: F401 (fixtures)
