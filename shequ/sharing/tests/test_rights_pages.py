"""Residents' rights pages (Chinese by default): the resident's 我的个人信息 and a request through
the form (bad input → 400 with the field's error, nothing written); the community's queue with its
deadline colours and the answer forms; the proof opened by staff in scope only; the menu entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shequ.core.models import AuditEntry
from shequ.registry.models import Person
from shequ.registry.tests import conftest as registry_fixtures
from shequ.sharing.models import RightsRequest, RightsStatus
from shequ.sharing.services import rights as services
from shequ.sharing.tests import rights_fixtures
from shequ.sharing.tests.rights_fixtures import Rights

pytestmark = pytest.mark.django_db
reg = registry_fixtures.reg
_fast_password_hasher = registry_fixtures._fast_password_hasher
rights = rights_fixtures.rights


def test_the_resident_page_and_its_menu_entry(rights: Rights) -> None:
    rights.call([rights.person])
    client = rights.client("resident")
    page = client.get("/sharing/rights/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    text = page.content.decode()
    for words in (
        "我的个人信息",
        "使用过我的信息的部门",
        "核查低保家庭人口",
        "获取我的信息副本",
        "15个工作日",
    ):
        assert words in text, words
    assert "/sharing/rights/" in client.get("/me/").content.decode()
    # Staff have the queue in their menu, not the resident's page.
    staff_menu = rights.client("worker_a").get("/me/").content.decode()
    assert "/sharing/rights/staff/" in staff_menu
    # An account that is no registry person: told why, and may not ask.
    other = rights.client("worker_a")
    assert "尚未与人口库信息关联" in other.get("/sharing/rights/").content.decode()
    assert other.get("/sharing/rights/new/copy/").status_code == 403
    assert rights.client(None).get("/sharing/rights/").status_code == 302


def test_a_request_through_the_form(rights: Rights) -> None:
    client = rights.client("resident")
    assert client.get("/sharing/rights/new/erase/").status_code == 404
    bad = client.post("/sharing/rights/new/correction/", {"item": "name", "value": ""})
    assert bad.status_code == 400 and "正确内容" in bad.content.decode() and "必填" in bad.content.decode()
    assert client.post("/sharing/rights/new/deletion/", {"detail": ""}).status_code == 400
    assert RightsRequest.objects.count() == 0
    proof = SimpleUploadedFile("id.pdf", b"%PDF-1.4 id card", content_type="application/pdf")
    response = client.post(
        "/sharing/rights/new/correction/",
        {"item": "occupation", "value": "护士", "detail": "我已换工作", "proof": proof},
    )
    made = RightsRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sharing/rights/{made.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert "请求已提交" in detail and "职业" in detail and "我已换工作" in detail
    # Staff in scope open the proof (audited); a sibling community's staff get 404.
    proof_url = f"/sharing/rights/staff/{made.pk}/proof/"
    opened = rights.client("worker_a").get(proof_url)
    assert opened.status_code == 200 and opened.content == b"%PDF-1.4 id card"
    assert AuditEntry.objects.filter(action="sharing.rights_proof_read", result="success").count() == 1
    assert rights.client("head_b").get(proof_url).status_code == 404
    assert rights.client("resident").get(proof_url).status_code == 403


def test_the_queue_colours_deadlines_and_the_staff_answer(rights: Rights) -> None:
    fresh = services.request_submit(
        actor=rights["resident"], kind="correction", item="occupation", value="护士"
    )
    soon = services.request_submit(actor=rights["resident"], kind="deletion", detail="删除我以前的工作单位")
    late = services.request_submit(actor=rights["resident"], kind="copy")
    now = fresh.submitted_at
    RightsRequest.objects.filter(pk=soon.pk).update(
        warn_at=now - dt.timedelta(hours=1), due_at=now + dt.timedelta(days=1)
    )
    RightsRequest.objects.filter(pk=late.pk).update(
        due_at=now - dt.timedelta(hours=1), warn_at=now - dt.timedelta(days=2)
    )
    staff = rights.client("worker_a")
    text = staff.get("/sharing/rights/staff/").content.decode().partition("pr-queue")[2]
    order = [text.index(f"<strong>{kind}</strong>") for kind in ("获取副本", "删除", "更正")]
    assert order == sorted(order)  # soonest deadline first
    assert 'class="pr-red"' in text and 'class="pr-yellow"' in text and 'class="pr-green"' in text
    assert "王*明" in text and "王小明" not in text
    assert rights.client("head_b").get("/sharing/rights/staff/").content.decode().count("pr-green") == 0
    assert rights.client("resident").get("/sharing/rights/staff/").status_code == 403
    # A refusal without a reason: 400, nothing written.
    url = f"/sharing/rights/staff/{soon.pk}/"
    bad = staff.post(url, {"action": "refuse", "refuse-ground": "hukou", "refuse-reason": ""})
    assert bad.status_code == 400 and "必填" in bad.content.decode()
    assert staff.post(url, {"action": "copy"}).status_code == 400  # not an answer to a deletion
    assert RightsRequest.objects.get(pk=soon.pk).is_open
    done = staff.post(
        url, {"action": "refuse", "refuse-ground": "base_data", "refuse-reason": "人口基础信息依法保留。"}
    )
    assert done.status_code == 302
    assert RightsRequest.objects.get(pk=soon.pk).status == RightsStatus.REFUSED
    # The correction, through the registry.
    staff.post(
        f"/sharing/rights/staff/{fresh.pk}/",
        {"action": "correct", "correct-value": "", "correct-reason": "核对"},
    )
    assert Person.objects.get(pk=rights.person.pk).occupation == "护士"
    # The copy, then the resident's page offers the download.
    assert staff.post(f"/sharing/rights/staff/{late.pk}/", {"action": "copy"}).status_code == 302
    mine = rights.client("resident").get(f"/sharing/rights/{late.pk}/").content.decode()
    assert f"/sharing/rights/{late.pk}/copy/" in mine and "下载副本" in mine
    rights.client("resident").get(f"/sharing/rights/{late.pk}/copy/")
    assert "已下载1次" in staff.get(f"/sharing/rights/staff/{late.pk}/").content.decode()
