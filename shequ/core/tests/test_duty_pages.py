"""The on-duty roster pages: /duty/ picks a region, /duty/<code>/ shows who is on duty now and the
next 14 days, and its forms add and remove shifts, set the fallback and copy last week."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shequ.conftest import World
from shequ.core import duty
from shequ.core.models import AuditEntry, AuditResult, DutyFallback, DutyShift

A = "430104002001"
URL = f"/duty/{A}/"


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def tomorrow() -> str:
    return (timezone.localtime(timezone.now(), duty.local_zone()).date() + timedelta(days=1)).isoformat()


def add_form(user: Any, **extra: str) -> dict[str, str]:
    return {
        "op": "add",
        "shift-user": str(user.pk),
        "shift-day": tomorrow(),
        "shift-start": "17:30",
        "shift-end": "08:30",
        "shift-note": "夜班",
        **extra,
    }


@pytest.mark.django_db
def test_index_goes_straight_to_the_only_roster_or_lists_them(world: World) -> None:
    response = client_for(world["head_a"]).get("/duty/")
    assert response.status_code == 302 and response["Location"] == URL
    page = client_for(world["street"]).get("/duty/").content.decode()
    for code in ("430104002", A, "430104002003"):
        assert f'href="/duty/{code}/"' in page
    assert "430104003" not in page
    # A resident has no roster: an audited refusal.
    assert client_for(world["resident"]).get("/duty/").status_code == 403
    assert AuditEntry.objects.filter(action="access.denied", object_id="/duty/").exists()


@pytest.mark.django_db
def test_a_night_shift_added_on_the_page_shows_on_the_roster(world: World) -> None:
    client = client_for(world["head_a"])
    page = client.get(URL).content.decode()
    assert "现在值班" in page and "无人值班" in page
    # The people are offered by name, never by phone number.
    assert ">worker_a</option>" in page and "1380000" not in page
    response = client.post(URL, add_form(world["grid_a"]))
    assert response.status_code == 302, response.content.decode()[:2000]
    shift = DutyShift.objects.get()
    local = timezone.localtime(shift.starts_at, duty.local_zone())
    assert (local.hour, local.minute) == (17, 30)
    assert shift.ends_at - shift.starts_at == timedelta(hours=15) and shift.note == "夜班"
    page = client.get(URL).content.decode()
    assert "grid_a" in page and "次日 08:30" in page and "夜班" in page


@pytest.mark.django_db
def test_bad_input_shows_the_error_summary_and_changes_nothing(world: World) -> None:
    client = client_for(world["head_a"])
    response = client.post(URL, add_form(world["resident"]))  # not on the list
    assert response.status_code == 400
    assert "data-error-summary" in response.content.decode()
    response = client.post(URL, add_form(world["grid_a"], **{"shift-day": "2020-01-01"}))
    assert response.status_code == 400 and "已全部过去" in response.content.decode()
    client.post(URL, add_form(world["grid_a"]))
    response = client.post(URL, add_form(world["grid_a"], **{"shift-start": "20:00", "shift-end": "22:00"}))
    assert response.status_code == 400 and "时间重叠" in response.content.decode()
    assert DutyShift.objects.count() == 1


@pytest.mark.django_db
def test_remove_fallback_and_copy_through_the_page(world: World) -> None:
    client = client_for(world["worker_a"])
    client.post(URL, add_form(world["grid_a"]))
    shift = DutyShift.objects.get()
    assert client.post(URL, {"op": "remove", "shift": shift.pk}).status_code == 302
    assert not DutyShift.objects.exists()
    assert client.post(URL, {"op": "remove", "shift": shift.pk}).status_code == 404
    assert client.post(URL, {"op": "fallback", "fallback-user": world["head_a"].pk}).status_code == 302
    assert DutyFallback.objects.get(region_code=A).user == world["head_a"]
    page = client.get(URL).content.decode()
    assert "由 head_a 兜底" in page and "兜底" in page
    assert client.post(URL, {"op": "copy"}).status_code == 302
    assert AuditEntry.objects.filter(action="core.duty_copy_week", result=AuditResult.SUCCESS).exists()
    assert client.post(URL, {"op": "nonsense"}).status_code == 400


@pytest.mark.django_db
def test_readers_see_the_roster_without_forms_and_may_not_post(world: World) -> None:
    duty.fallback_set(actor=None, region_code=A, user=world["head_a"])
    client = client_for(world["dept"])  # department staff of the street: reads, does not manage
    page = client.get(URL).content.decode()
    assert "head_a" in page and 'name="op" value="add"' not in page
    response = client.post(URL, add_form(world["head_a"]))
    assert response.status_code == 403 and not DutyShift.objects.exists()
    assert AuditEntry.objects.filter(
        action="access.denied", object_id=URL, result=AuditResult.DENIED
    ).exists()


@pytest.mark.django_db
def test_the_now_card_names_the_person_on_duty(world: World) -> None:
    now = timezone.now()
    DutyShift.objects.create(
        region=world.regions[A],
        region_code=A,
        user=world["worker_a"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
    )
    page = client_for(world["head_a"]).get(URL).content.decode()
    card = page[page.index("现在值班") : page.index("未来 14 天")]
    assert "worker_a" in card and "值班至" in card
