"""The ledger pages' scope matrix: every ``reports:ledger*`` route, tried by every persona, with a
generated run and a schedule of community A (head_a's). Expected outcomes are written from the
personas' memberships; a new ledger route without a row here fails the first test."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from shequ.conftest import PERSONAS
from shequ.core import outbox
from shequ.registry.tests.conftest import COMMUNITY_A, Registry
from shequ.reports.models import LedgerRun, LedgerSchedule

ROUTES = {
    "reports:ledgers",
    "reports:ledger",
    "reports:ledger_export",
    "reports:ledger_generate",
    "reports:ledger_schedule",
    "reports:ledger_runs",
    "reports:ledger_run",
    "reports:ledger_run_download",
    "reports:ledger_schedule_stop",
}
COVERED = ROUTES  # for the app's route test (test_pages_routes.py)
STAFF_A = {"worker_a", "head_a", "street"}  # may export community A's elderly ledger
# Who sees the elderly ledger's page (registry.view_people somewhere), and any ledger at all (the
# index and the runs list; the auditor reads the disclosure ledger with participation.view).
SEES_ELDERLY = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "dept", "outsider"}
SEES_LEDGERS = SEES_ELDERLY | {"auditor"}


def ledger_routes() -> set[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name and namespace == "reports:":
                found.add(namespace + p.name)

    walk(get_resolver().url_patterns, "")
    return {name for name in found if name.startswith("reports:ledger")}


def test_every_ledger_route_is_in_the_matrix() -> None:
    assert ledger_routes() == ROUTES


@pytest.fixture
def made(reg: Registry, settings: Any, tmp_path: Any) -> tuple[Registry, LedgerRun, LedgerSchedule]:
    settings.MEDIA_ROOT = tmp_path
    reg.register("赵一", reg.houses["a"][1], birth="19400101")
    head = Client()
    head.force_login(reg.world["head_a"])
    head.post("/reports/ledgers/elderly_80/generate/", {"region": COMMUNITY_A})
    head.post(
        "/reports/ledgers/elderly_80/schedule/", {"region": COMMUNITY_A, "frequency": "monthly", "day": "3"}
    )
    outbox.run_pending()
    return reg, LedgerRun.objects.get(), LedgerSchedule.objects.get()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(made: tuple[Registry, LedgerRun, LedgerSchedule]) -> None:
    _reg, run, schedule = made
    client = Client()
    for method, path in [
        ("get", "/reports/ledgers/"),
        ("get", "/reports/ledgers/elderly_80/"),
        ("post", "/reports/ledgers/elderly_80/export/"),
        ("post", "/reports/ledgers/elderly_80/generate/"),
        ("post", "/reports/ledgers/elderly_80/schedule/"),
        ("get", "/reports/ledger-runs/"),
        ("get", f"/reports/ledger-runs/{run.pk}/"),
        ("get", f"/reports/ledger-runs/{run.pk}/file/"),
        ("post", f"/reports/ledger-schedules/{schedule.pk}/stop/"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_every_persona_reaches_what_their_membership_allows(
    made: tuple[Registry, LedgerRun, LedgerSchedule], persona: str
) -> None:
    reg, run, schedule = made
    client = Client()
    client.force_login(reg.world[persona])
    sees = persona in SEES_LEDGERS
    assert client.get("/reports/ledgers/").status_code == (200 if sees else 403), persona
    assert client.get("/reports/ledger-runs/").status_code == (200 if sees else 403), persona
    assert client.get("/reports/ledgers/elderly_80/").status_code == (200 if persona in SEES_ELDERLY else 403)
    # Community A's run and schedule: who may export the ledger there; 404 for everyone else.
    listed = f"/reports/ledger-runs/{run.pk}/" in client.get("/reports/ledger-runs/").content.decode()
    assert listed == (persona in STAFF_A), persona
    run_page = client.get(f"/reports/ledger-runs/{run.pk}/").status_code
    assert run_page == (200 if persona in STAFF_A else 404), persona
    download = client.get(f"/reports/ledger-runs/{run.pk}/file/").status_code
    assert download == (200 if persona in STAFF_A else 404), persona
    # Generating and exporting community A's ledger: only who may export it there.
    export = client.post("/reports/ledgers/elderly_80/export/", {"region": COMMUNITY_A}).status_code
    generate = client.post("/reports/ledgers/elderly_80/generate/", {"region": COMMUNITY_A}).status_code
    if persona in STAFF_A:
        assert (export, generate) == (200, 302), persona
    elif sees:
        assert export in (400, 403) and generate in (400, 403), (persona, export, generate)
    else:
        assert (export, generate) == (403, 403), persona
    stop = client.post(f"/reports/ledger-schedules/{schedule.pk}/stop/").status_code
    assert stop == (302 if persona in STAFF_A else 404), persona
    schedule.refresh_from_db()
    assert schedule.active == (persona not in STAFF_A), persona
