"""The category tree, routing rules and holiday calendar pages, and the catalog services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from shequ.conftest import World
from shequ.core import accounts
from shequ.core.models import AuditEntry, Department, Role, User
from shequ.grid import catalog_services, services
from shequ.grid.models import Category, Holiday, RoutingRule
from shequ.grid.tests.conftest import COMMUNITY_A, COMMUNITY_B, new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def province(world: World) -> User:
    user = accounts.user_create(
        actor=None, username="province", display_name="省级", password="Tq7!correct-Horse"
    )
    accounts.membership_grant(actor=None, user=user, role=Role.PROVINCE_OFFICER, region=world.regions["43"])
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_everyone_with_view_reads_the_tree_only_the_catalog_edits(world: World, province: User) -> None:
    noise = Category.objects.get(code="environment.noise")
    page = client_for(world["worker_a"]).get(reverse("grid:categories")).content.decode()
    assert noise.name_zh in page and reverse("grid:category_edit", args=[noise.pk]) not in page
    assert (
        client_for(world["worker_a"]).get(reverse("grid:category_edit", args=[noise.pk])).status_code == 403
    )
    assert client_for(world["resident"]).get(reverse("grid:categories")).status_code == 403
    editor = client_for(province)
    assert (
        reverse("grid:category_edit", args=[noise.pk])
        in editor.get(reverse("grid:categories")).content.decode()
    )
    form = {
        "name_zh": "噪音扰民",
        "name": "Noise",
        "department_kind": "urban",
        "response_hours": "13",
        "resolution_days": "5",
        "urgent_response_hours": "1",
        "urgent_resolution_hours": "4",
        "keywords": "噪音  施工",
        "is_active": "on",
    }
    r = editor.post(reverse("grid:category_edit", args=[noise.pk]), {**form, "resolution_days": "999"})
    assert r.status_code == 400
    noise.refresh_from_db()
    assert noise.resolution_days != 999
    r = editor.post(reverse("grid:category_edit", args=[noise.pk]), form)
    assert r.status_code == 302
    noise.refresh_from_db()
    assert (noise.response_hours, noise.resolution_days, noise.keywords) == (13, 5, "噪音 施工")
    entry = AuditEntry.objects.filter(action="grid.category_update").latest("pk")
    assert entry.detail["changes"]["response_hours"]["new"] == 13


def test_category_rules(province: User) -> None:
    root = Category.objects.get(code="environment")
    with pytest.raises(ValidationError) as caught:
        catalog_services.category_update(actor=province, category=root, changes={"is_active": False})
    assert "is_active" in caught.value.message_dict
    with pytest.raises(ValidationError):
        catalog_services.category_update(actor=province, category=root, changes={"name_zh": " "})
    leaf = Category.objects.get(code="environment.noise")
    with pytest.raises(ValidationError):
        catalog_services.category_update(actor=province, category=leaf, changes={"colour": "red"})
    with pytest.raises(ValidationError) as caught:  # the one cleaner's rule (core/text.py)
        catalog_services.category_update(actor=province, category=leaf, changes={"name_zh": "噪音\x00扰民"})
    assert "U+0000" in caught.value.message_dict["name_zh"][0]
    with pytest.raises(ValidationError) as caught:
        catalog_services.holiday_set(actor=province, date=dt.date(2030, 10, 1), name="国庆\x1b节")
    assert "name" in caught.value.message_dict


def test_category_update_refused_without_catalog(world: World) -> None:
    leaf = Category.objects.get(code="environment.noise")
    with pytest.raises(PermissionDenied):
        catalog_services.category_update(actor=world["street"], category=leaf, changes={"response_hours": 2})
    assert AuditEntry.objects.filter(action="grid.category_update", result="denied").exists()


def test_routing_rules_page(world: World) -> None:
    client = client_for(world["street"])
    assert client.get(reverse("grid:routing")).status_code == 200
    r = client.post(
        reverse("grid:routing"),
        {"category": "environment.noise", "region": COMMUNITY_A, "department": world.department.pk},
    )
    assert r.status_code == 302
    rule = RoutingRule.objects.get(region_code=COMMUNITY_A)
    assert rule.department == world.department
    assert "岳麓派出所" in client.get(reverse("grid:routing")).content.decode()
    # The rule now routes tickets of community A.
    t = new_ticket(world, code="environment.noise")
    assert services.default_department(t.category, t.region_code) == world.department
    # An area outside the viewer's scope is not offered.
    r = client.post(
        reverse("grid:routing"),
        {"category": "environment.noise", "region": "430104003001", "department": world.department.pk},
    )
    assert r.status_code == 400
    # A department that does not serve the area.
    far = Department.objects.create(
        code="far", name="别处", kind="urban", region=world.regions["430104003"], region_code="430104003"
    )
    r = client.post(
        reverse("grid:routing"),
        {"category": "environment.noise", "region": COMMUNITY_B, "department": far.pk},
    )
    assert r.status_code == 400
    assert client.post(reverse("grid:routing_delete"), {"rule": "0"}).status_code == 400
    assert client.post(reverse("grid:routing_delete"), {"rule": rule.pk}).status_code == 302
    assert not RoutingRule.objects.exists()
    for persona in ("worker_a", "head_a", "dept", "resident"):
        assert client_for(world[persona]).get(reverse("grid:routing")).status_code == 403, persona


def test_holiday_calendar(world: World, province: User) -> None:
    editor = client_for(province)
    r = editor.post(reverse("grid:holidays"), {"date": "2030-10-01", "name": "国庆节"})
    assert r.status_code == 302 and "year=2030" in r["Location"]
    # 调休 falls on a weekend: 2030-10-12 is a Saturday, 2030-10-14 a Monday.
    assert (
        editor.post(
            reverse("grid:holidays"), {"date": "2030-10-14", "name": "调休", "is_workday": "on"}
        ).status_code
        == 400
    )
    assert (
        editor.post(
            reverse("grid:holidays"), {"date": "2030-10-12", "name": "调休", "is_workday": "on"}
        ).status_code
        == 302
    )
    assert Holiday.objects.get(date=dt.date(2030, 10, 12)).is_workday
    page = editor.get(reverse("grid:holidays"), {"year": 2030}).content.decode()
    assert "国庆节" in page and "2030-10-12" in page
    assert editor.post(reverse("grid:holiday_delete"), {"date": "2030-10-01"}).status_code == 302
    assert not Holiday.objects.filter(date=dt.date(2030, 10, 1)).exists()
    assert editor.post(reverse("grid:holiday_delete"), {"date": "2030-10-01"}).status_code == 400
    # Region staff read the calendar; they cannot change it.
    worker = client_for(world["worker_a"])
    assert worker.get(reverse("grid:holidays")).status_code == 200
    assert worker.post(reverse("grid:holidays"), {"date": "2030-10-02", "name": "x"}).status_code == 403
    assert worker.post(reverse("grid:holiday_delete"), {"date": "2030-10-12"}).status_code == 403
    assert worker.post(reverse("grid:holiday_delete"), {}).status_code == 403
    assert Holiday.objects.filter(date=dt.date(2030, 10, 12)).exists()
    assert AuditEntry.objects.filter(action="grid.holiday_remove", result="denied").exists()


def test_a_new_category_is_added_and_offered(world: World, province: User) -> None:
    editor = client_for(province)
    assert editor.get(reverse("grid:category_new")).status_code == 200
    safety = Category.objects.get(code="safety")
    data = {
        "parent": str(safety.pk),
        "code": "lift",
        "name_zh": "电梯安全",
        "name": "Lift safety",
        "department_kind": "emergency",
        "response_hours": "2",
        "resolution_days": "3",
        "urgent_response_hours": "1",
        "urgent_resolution_hours": "4",
        "keywords": "电梯 困人 故障",
    }
    for bad in ({"code": "Lift!"}, {"code": "fire"}, {"resolution_days": "0"}, {"name_zh": ""}):
        count = Category.objects.count()
        response = editor.post(reverse("grid:category_new"), {**data, **bad})
        assert response.status_code == 400, bad
        assert Category.objects.count() == count
    assert editor.post(reverse("grid:category_new"), data).status_code == 302
    lift = Category.objects.get(code="safety.lift")
    assert (lift.parent, lift.name_zh, lift.resolution_days, lift.is_active) == (safety, "电梯安全", 3, True)
    assert services.clean_category("safety.lift") == lift  # offered on new tickets at once
    assert AuditEntry.objects.filter(action="grid.category_create", object_id=str(lift.pk)).exists()
    # A third level is refused; others may not add at all.
    with pytest.raises(ValidationError):
        catalog_services.category_create(actor=province, parent=lift, code="door", values={"name_zh": "门"})
    with pytest.raises(PermissionDenied):
        catalog_services.category_create(
            actor=world["street"], parent=safety, code="door", values={"name_zh": "门"}
        )
