"""Generated ledgers: on demand from the page and by a monthly schedule (on a fake clock), made in
the worker as sealed workbooks whose rows equal the page's export, the owner told through the inbox;
downloads scoped, audited and, for a ledger that needs a grant, only for the person it was made
for; bad input refused with a clear error and nothing written; the index lists every app's ledgers
the user may see."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from shequ.core import outbox
from shequ.core.components import ledgers_for
from shequ.core.models import AuditEntry, Message, User
from shequ.registry import services as registry
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, GRID_C, Registry
from shequ.registry.tests.test_tags import grant
from shequ.reports import services_ledgers as services
from shequ.reports.models import Frequency, LedgerRun, LedgerSchedule, RunStatus
from shequ.reports.tests.test_ledgers_apps import MARK_A, MARK_B, grid_ticket

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime(2026, 11, 15, 10, 0, tzinfo=BEIJING)
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.now)

    def set(self, year: int, month: int, day: int, hour: int, minute: int) -> None:
        self.now = datetime(year, month, day, hour, minute, tzinfo=BEIJING)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def client_for(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def workbook_rows(content: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(content)).active
    assert ws is not None
    return [[c.value for c in row] for row in ws.iter_rows()]


def data_rows(content: bytes) -> list[list[Any]]:
    """The ledger's rows (numbered), without the title, info, header and signature lines."""
    return [r for r in workbook_rows(content)[3:] if isinstance(r[0], int)]


@pytest.fixture
def elderly(reg: Registry) -> Registry:
    reg.register("赵一", reg.houses["a"][1], birth="19400101", phone="13911110001")
    reg.register("钱二", reg.houses["b"][1], birth="19350505", phone="13911110002")
    reg.register("李四", reg.houses["c"][1], birth="19300303", phone="13911110004")
    return reg


# --- On demand ----------------------------------------------------------------------------------


def test_generate_on_demand_equals_the_page_export(elderly: Registry) -> None:
    w = elderly.world
    head = client_for(w["head_a"])
    params = {"region": COMMUNITY_A, "as_of": "2025-06-15"}
    response = head.post(reverse("reports:ledger_generate", args=["elderly_80"]), params)
    run = LedgerRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "reports:ledger_run", args=[run.pk]
    )
    assert run.status == RunStatus.QUEUED and run.requested_by == w["head_a"] and run.schedule is None
    assert run.filters == {"region": COMMUNITY_A, "as_of": "2025-06-15"}
    assert outbox.run_pending() >= 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.rows == 2 and run.finished_at is not None
    # The file at rest is sealed: neither names nor the workbook's magic bytes are readable.
    with run.file.open("rb") as fh:
        stored = fh.read()
    assert not stored.startswith(b"PK") and "赵一".encode() not in stored
    page_export = head.post(reverse("reports:ledger_export", args=["elderly_80"]), params)
    download = head.get(reverse("reports:ledger_run_download", args=[run.pk]))
    assert download.status_code == 200 and "attachment;" in download["Content-Disposition"]
    assert data_rows(download.content) == data_rows(page_export.content)
    assert {r[1] for r in data_rows(download.content)} == {"赵一", "钱二"}
    # The owner is told it is ready, with a link to the file.
    message = Message.objects.get(recipient=w["head_a"], topic="reports.ledger_run")
    assert "is ready to download" in message.subject and message.link.endswith(f"/ledger-runs/{run.pk}/")
    # Requested, generated, downloaded: each audited.
    actions = set(
        AuditEntry.objects.filter(action__startswith="reports.ledger").values_list("action", flat=True)
    )
    assert {"reports.ledger_run", "reports.ledger_generated", "reports.ledger_download"} <= actions
    # Running the task again changes nothing (idempotent).
    services.ledger_run_generate(run_id=run.pk)
    assert Message.objects.filter(topic="reports.ledger_run").count() == 1


def test_runs_are_scoped_and_restricted_ones_stay_with_their_owner(elderly: Registry) -> None:
    w = elderly.world
    client_for(w["head_a"]).post(
        reverse("reports:ledger_generate", args=["elderly_80"]), {"region": COMMUNITY_A}
    )
    outbox.run_pending()
    run = LedgerRun.objects.get()
    for persona in ("head_b", "grid_b", "outsider", "resident"):
        client = client_for(w[persona])
        assert client.get(reverse("reports:ledger_run", args=[run.pk])).status_code in (403, 404), persona
        assert client.get(reverse("reports:ledger_run_download", args=[run.pk])).status_code in (403, 404)
        assert f"/ledger-runs/{run.pk}/" not in client.get(reverse("reports:ledger_runs")).content.decode()
    # The community's worker may see and download it (masked); the grid worker may not export.
    worker = client_for(w["worker_a"])
    assert worker.get(reverse("reports:ledger_run_download", args=[run.pk])).status_code == 200
    # A restricted ledger's file is for the one it was made for.
    grant(elderly, "head_a", region=COMMUNITY_A, category="drug_user")
    grant(elderly, "worker_a", region=COMMUNITY_A, category="drug_user")
    registry.tag_add(actor=None, person=elderly.people["a"], category="drug_user", valid_from="2020-01-01")
    client_for(w["head_a"]).post(reverse("reports:ledger_generate", args=["special_populations"]), {})
    outbox.run_pending()
    special = LedgerRun.objects.get(ledger_key="special_populations")
    assert special.status == RunStatus.DONE and special.rows == 1
    assert client_for(w["worker_a"]).get(reverse("reports:ledger_run", args=[special.pk])).status_code == 404
    assert (
        client_for(w["head_a"]).get(reverse("reports:ledger_run_download", args=[special.pk])).status_code
        == 200
    )
    # Generating it revealed the tag to its owner: audited with the run as context.
    view = AuditEntry.objects.filter(action="registry.tag_view").latest("pk")
    assert view.detail["context"] == f"ledger_run:{special.pk}" and view.actor_id == w["head_a"].pk


@pytest.mark.parametrize(
    ("key", "params", "status", "message"),
    [
        ("no_such_ledger", {}, 404, ""),
        ("elderly_80", {"region": COMMUNITY_B}, 400, "Choose a region within your area."),
        ("elderly_80", {"region": "43x"}, 400, "Choose a region within your area."),
        ("elderly_80", {"as_of": "2025-13-01"}, 400, "Enter a valid date."),
        ("elderly_80", {"as_of": "1850-01-01"}, 400, "Choose a date between 1900 and one year from today."),
        (
            "grid_tickets",
            {"start": "2026-02-10", "end": "2026-02-01"},
            400,
            "The period ends before it starts.",
        ),
        ("special_populations", {}, 404, ""),
    ],
)
def test_bad_generation_requests_write_nothing(
    reg: Registry, key: str, params: dict[str, str], status: int, message: str
) -> None:
    response = client_for(reg.world["head_a"]).post(reverse("reports:ledger_generate", args=[key]), params)
    assert response.status_code == status
    assert message in response.content.decode()
    assert not LedgerRun.objects.exists() and not outbox.run_pending()


def test_generation_needs_the_ledger_permission(reg: Registry) -> None:
    # A grid worker sees the grid events but may not export or generate them.
    url = reverse("reports:ledger_generate", args=["grid_tickets"])
    response = client_for(reg.world["grid_a"]).post(url, {})
    assert response.status_code == 403 and not LedgerRun.objects.exists()
    assert AuditEntry.objects.get(action="reports.ledger_run").result == "denied"


# --- Schedules ----------------------------------------------------------------------------------


def test_a_monthly_schedule_generates_last_month_once_and_tells_its_owner(
    reg: Registry, clock: Clock
) -> None:
    w = reg.world
    grid_ticket(reg, GRID_A, MARK_A)  # 15 November
    grid_ticket(reg, GRID_C, MARK_B)  # the sibling community's
    clock.set(2026, 11, 20, 9, 0)
    response = client_for(w["head_a"]).post(
        reverse("reports:ledger_schedule", args=["grid_tickets"]),
        {"region": COMMUNITY_A, "frequency": Frequency.MONTHLY, "day": "3"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = LedgerSchedule.objects.get()
    assert schedule.next_run_at == datetime(2026, 12, 3, 2, 0, tzinfo=BEIJING)
    clock.set(2026, 12, 1, 10, 0)
    grid_ticket(reg, GRID_A, "十二月的事项")  # after the period: not in November's ledger
    assert services.schedules_run_due() == []  # not yet
    clock.set(2026, 12, 3, 2, 5)
    (run,) = services.schedules_run_due()
    assert services.schedules_run_due() == []  # once per period, however often it looks
    assert (run.period_start, run.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert run.filters == {"region": COMMUNITY_A, "start": "2026-11-01", "end": "2026-11-30"}
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2027, 1, 3, 2, 0, tzinfo=BEIJING)
    outbox.run_pending()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.rows == 1
    head = client_for(w["head_a"])
    file_rows = data_rows(head.get(reverse("reports:ledger_run_download", args=[run.pk])).content)
    page_rows = data_rows(
        head.post(
            reverse("reports:ledger_export", args=["grid_tickets"]),
            {"region": COMMUNITY_A, "start": "2026-11-01", "end": "2026-11-30"},
        ).content
    )
    assert file_rows == page_rows and MARK_A in file_rows[0]
    message = Message.objects.get(recipient=w["head_a"], topic="reports.ledger_run")
    assert message.subject == "“Register of grid events” for November 2026 is ready to download"
    # The periodic job queues the same way and finds nothing more to do this month.
    from shequ.reports.ledger_jobs import run_due_schedules

    run_due_schedules()
    assert LedgerRun.objects.count() == 1


def test_the_notice_is_in_chinese(reg: Registry, clock: Clock) -> None:
    grid_ticket(reg, GRID_A, MARK_A)
    with translation.override("zh-hans"):
        services.ledger_schedule_create(
            actor=reg.world["head_a"],
            ledger=services.S.all_ledgers()["grid_tickets"],
            region_code=COMMUNITY_A,
            frequency=Frequency.QUARTERLY,
            day=5,
        )
        clock.set(2027, 1, 5, 3, 0)
        (run,) = services.schedules_run_due()
        assert (run.period_start, run.period_end) == (date(2026, 10, 1), date(2026, 12, 31))
        outbox.run_pending()
    message = Message.objects.get(topic="reports.ledger_run")
    assert message.subject == "《网格事件台账》2026年第4季度已生成，可下载"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"region": COMMUNITY_B, "frequency": "monthly", "day": "3"}, "Choose a region within your area."),
        ({"region": COMMUNITY_A, "frequency": "weekly", "day": "3"}, "Select a valid choice."),
        ({"region": COMMUNITY_A, "frequency": "monthly", "day": "31"}, "less than or equal to 28"),
        ({"region": COMMUNITY_A, "frequency": "monthly", "day": "x"}, "Enter a whole number."),
    ],
)
def test_bad_schedules_write_nothing(reg: Registry, data: dict[str, str], message: str) -> None:
    response = client_for(reg.world["head_a"]).post(
        reverse("reports:ledger_schedule", args=["grid_tickets"]), data
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not LedgerSchedule.objects.exists()


def test_a_schedule_is_set_once_and_stopped_by_its_owner_only(reg: Registry) -> None:
    w = reg.world
    url = reverse("reports:ledger_schedule", args=["grid_tickets"])
    data = {"region": GRID_A, "frequency": "quarterly", "day": "1"}
    assert client_for(w["head_a"]).post(url, data).status_code == 302
    again = client_for(w["head_a"]).post(url, data)
    assert again.status_code == 400 and "You already have this schedule" in again.content.decode()
    schedule = LedgerSchedule.objects.get()
    stop = reverse("reports:ledger_schedule_stop", args=[schedule.pk])
    assert client_for(w["head_b"]).post(stop).status_code == 404  # another community's
    assert client_for(w["grid_a"]).post(stop).status_code == 404  # may not export: not listed
    schedule.refresh_from_db()
    assert schedule.active
    assert client_for(w["head_a"]).post(stop).status_code == 302
    schedule.refresh_from_db()
    assert not schedule.active and schedule.stopped_at is not None


# --- The index ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["worker_a", "head_a", "head_b", "street", "grid_a", "dept"])
def test_the_index_lists_every_ledger_the_user_may_see(reg: Registry, persona: str) -> None:
    grant(reg, "head_a", region=COMMUNITY_A, category="drug_user")
    user = reg.world[persona]
    body = client_for(user).get(reverse("reports:ledgers")).content.decode()
    expected = {ledger.key for ledger in ledgers_for(user)}
    import re

    listed = set(re.findall(r'href="/reports/ledgers/([a-z0-9_]+)/\?', body))
    assert listed == expected and expected, persona
    assert ("special_populations" in listed) == (persona == "head_a")
    if persona in ("worker_a", "head_a", "street"):
        assert {"grid_tickets", "elderly_80", "disclosures"} <= listed
