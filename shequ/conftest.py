"""Shared test fixtures: a small region tree and the personas of the scope matrix.

Tree: 湖南省 43 › 长沙市 4301 › 岳麓区 430104 › 岳麓街道 430104002 ›
  枇杷塘社区 430104002001 (grids …001, …002) and 泽盛社区 430104002003 (grid …001);
  a sibling street 桔子洲街道 430104003 › 石门楼社区 430104003001 for the outsider.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.signals import setting_changed
from django.utils import translation

from shequ.core import accounts
from shequ.core.models import Department, DepartmentKind, Region, RegionKind, RegionLevel, Role, User

PASSWORD = "Tq7!correct-Horse"


class FastArgon2Hasher(Argon2PasswordHasher):
    """Argon2id with test-sized costs: the same algorithm and encoding as production, ~1 ms per hash
    instead of ~0.5 s, so that a suite creating hundreds of accounts stays fast."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1


# Before any hasher is used (get_hashers() caches the list).
settings.PASSWORD_HASHERS = ["shequ.conftest.FastArgon2Hasher"]
# Tests seal only test databases: development keys missing from var/keys/ stay in memory for the run
# (subprocesses get them through worker_env), so a test run never writes a key file that the
# developer's own database may need (shequ/core/keys.py).
settings.NEW_DEV_KEYS.clear()
# Tests link static files by their plain names, served straight from the sources, so that no test
# run needs a collection (test_static_files.py collects once to test the fingerprinted files).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
setting_changed.send(sender=None, setting="STORAGES", value=settings.STORAGES, enter=True)
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the default language (zh-Hans): a request through the locale
    middleware leaves its language active in the thread, so without this a test that reads a
    command's or a service's text would pass or fail by which test ran before it on its worker."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _audit_witness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test has its own audit witness folder, as it has its own database rows."""
    previous = settings.AUDIT_WITNESS_DIR
    settings.AUDIT_WITNESS_DIR = tmp_path_factory.mktemp("audit-witness")
    yield
    settings.AUDIT_WITNESS_DIR = previous


TREE = [
    ("43", "湖南省", RegionLevel.PROVINCE, RegionKind.PROVINCE),
    ("4301", "长沙市", RegionLevel.CITY, RegionKind.CITY),
    ("430104", "岳麓区", RegionLevel.COUNTY, RegionKind.COUNTY),
    ("430104002", "岳麓街道", RegionLevel.STREET, RegionKind.STREET),
    ("430104002001", "枇杷塘社区", RegionLevel.COMMUNITY, RegionKind.COMMUNITY),
    ("430104002001001", "第一网格", RegionLevel.GRID, RegionKind.GRID),
    ("430104002001002", "第二网格", RegionLevel.GRID, RegionKind.GRID),
    ("430104002003", "泽盛社区", RegionLevel.COMMUNITY, RegionKind.COMMUNITY),
    ("430104002003001", "第一网格", RegionLevel.GRID, RegionKind.GRID),
    ("430104003", "桔子洲街道", RegionLevel.STREET, RegionKind.STREET),
    ("430104003001", "石门楼社区", RegionLevel.COMMUNITY, RegionKind.COMMUNITY),
]

# persona → (role, region code, department code)
PERSONAS: dict[str, tuple[str | None, str, str | None]] = {
    "grid_a": (Role.GRID_WORKER, "430104002001001", None),
    "grid_b": (Role.GRID_WORKER, "430104002001002", None),
    "worker_a": (Role.COMMUNITY_WORKER, "430104002001", None),
    "head_a": (Role.COMMUNITY_HEAD, "430104002001", None),
    "head_b": (Role.COMMUNITY_HEAD, "430104002003", None),
    "street": (Role.STREET_OFFICER, "430104002", None),
    "dept": (Role.DEPARTMENT_STAFF, "430104002", "police"),
    "resident": (Role.RESIDENT, "430104002001001", None),
    "outsider": (Role.COMMUNITY_HEAD, "430104003001", None),
    "nobody": (None, "", None),
    "sysadmin": (Role.SYSTEM_ADMIN, "43", None),
    "secadmin": (Role.SECURITY_ADMIN, "43", None),
    "auditor": (Role.AUDITOR, "43", None),
}


@dataclass
class World:
    regions: dict[str, Region]
    users: dict[str, User]
    department: Department

    def __getitem__(self, persona: str) -> User:
        return self.users[persona]


def build_tree() -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for code, name, level, kind in TREE:
        parent = regions.get(code[: {15: 12, 12: 9, 9: 6, 6: 4, 4: 2}.get(len(code), 0)])
        regions[code] = Region.objects.create(code=code, name=name, level=level, kind=kind, parent=parent)
    return regions


@pytest.fixture
def world(db: None) -> World:
    regions = build_tree()
    dept = Department.objects.create(
        code="police",
        name="岳麓派出所",
        kind=DepartmentKind.POLICE,
        region=regions["430104002"],
        region_code="430104002",
    )
    users: dict[str, User] = {}
    for i, (persona, (role, code, dept_code)) in enumerate(PERSONAS.items()):
        user = accounts.user_create(
            actor=None,
            username=persona,
            display_name=persona,
            password=PASSWORD,
            phone=f"1380000{i:04d}",
            email=f"{persona}@example.test",
        )
        if role is not None:
            accounts.membership_grant(
                actor=None, user=user, role=role, region=regions[code], department=dept if dept_code else None
            )
        users[persona] = user
    return World(regions=regions, users=users, department=dept)


@pytest.fixture(autouse=True)
def _audit_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the append-only audit triggers in place for every database test, and lift them just
    before a transactional test's flush (which must empty the audit table)."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        names & {"transactional_db", "live_server"}
    )
    if not (transactional or marker or names & {"db", "world"}):
        yield
        return
    from django.db import connection

    from shequ.core import dbtriggers

    # Set the database up inside this fixture so that its flush runs after our teardown.
    request.getfixturevalue("transactional_db" if transactional else "db")
    dbtriggers.install(connection)
    if transactional:
        _reseed()
    yield
    if transactional:
        dbtriggers.drop(connection)


# Data migrations whose rows an earlier transactional test's flush removed; their seed functions
# are idempotent, so every transactional test starts from the catalog a fresh database has.
SEED_MIGRATIONS = [
    "shequ.registry.migrations.0002_seed_tag_categories",
    "shequ.grid.migrations.0002_seed_catalog",
    "shequ.govservice.migrations.0002_seed_catalog",
]


def _reseed() -> None:
    import importlib

    from django.apps import apps as django_apps

    for name in SEED_MIGRATIONS:
        importlib.import_module(name).seed(django_apps, None)
    # The official report templates are seeded after migrate (reports.apps), on the tag catalog.
    from shequ.reports.services import seed_templates

    seed_templates()


def require_service(name: str, available: bool, reason: str) -> None:
    """Tests that need a service fail in CI when it is missing and skip on a developer's laptop."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; required in CI, skipped on a laptop without it."""
    from shequ.browser import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    require_service("chromium", path is not None, "install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls made by test
    # code between browser steps are still synchronous, so Django's async guard must stand aside.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:  # don't leak into subprocesses started by later tests
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def phone_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context with a phone-sized viewport, in zh-Hans."""
    from shequ.browser import PHONE

    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
