"""The catalog editor through the pages: only ``govservice.catalog`` (a county officer) opens it;
every item (also out of use) with its version; a new item and an edit of every field, materials
and form fields as rows (more rows without JavaScript, a row removed by emptying its code); errors
per field that change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.conftest import PASSWORD
from shequ.core import accounts
from shequ.core.models import AuditEntry, Role, User
from shequ.govservice.models import ServiceItem
from shequ.govservice.tests.conftest import COUNTY, Gov

pytestmark = pytest.mark.django_db

COVERED: set[str] = {"govservice:catalog_admin", "govservice:item_new", "govservice:item_edit"}


@pytest.fixture
def editor(gov: Gov) -> User:
    user = accounts.user_create(
        actor=None,
        username="county",
        display_name="区政务服务中心",
        password=PASSWORD,
        phone="13877776666",
        email="county@example.test",
    )
    accounts.membership_grant(
        actor=None, user=user, role=Role.COUNTY_OFFICER, region=gov.world.regions[COUNTY]
    )
    return user


def as_user(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def page(response: Any) -> str:
    return str(response.content.decode())


def item_data(item: ServiceItem | None = None, **over: Any) -> dict[str, Any]:
    """The edit form as the page posts it (the item's own values, or a new one's)."""
    data: dict[str, Any] = {
        "name_zh": "测试事项",
        "name": "Test item",
        "domain": "civil",
        "mode": "authorized",
        "department_kind": "civil",
        "department_name": "社区居委会",
        "summary": "测试用的事项。",
        "legal_days": "5",
        "promised_days": "3",
        "fee": "0",
        "online": "on",
        "is_active": "on",
        "min_age": "",
        "tags_any": "",
        "m_count": "2",
        "m0-code": "id_card",
        "m0-name_zh": "居民身份证",
        "m0-name": "Resident identity card",
        "m0-required": "on",
        "m0-source": "identity",
        "m1-code": "",
        "f_count": "1",
        "f0-name": "purpose",
        "f0-label_zh": "证明用途",
        "f0-label": "What for",
        "f0-kind": "text",
        "f0-required": "on",
    }
    if item is not None:
        data.update(
            {
                "name_zh": item.name_zh,
                "name": item.name,
                "domain": item.domain,
                "mode": item.mode,
                "department_kind": item.department_kind,
                "department_name": item.department_name,
                "summary": item.summary,
                "legal_days": str(item.legal_days),
                "promised_days": str(item.promised_days),
                "fee": str(item.fee),
                "m_count": str(len(item.materials)),
                "f_count": str(len(item.form)),
            }
        )
        for flag in ("instant", "online", "care_plan", "is_active"):
            data.pop(flag, None)
            if getattr(item, flag):
                data[flag] = "on"
        for i, m in enumerate(item.materials):
            data.update(
                {
                    f"m{i}-code": m["code"],
                    f"m{i}-name_zh": m["name_zh"],
                    f"m{i}-name": m["name"],
                    f"m{i}-source": m["source"],
                }
            )
            data.pop(f"m{i}-required", None)
            if m["required"]:
                data[f"m{i}-required"] = "on"
        for i, f in enumerate(item.form):
            data.update(
                {
                    f"f{i}-name": f["name"],
                    f"f{i}-label_zh": f["label_zh"],
                    f"f{i}-label": f["label"],
                    f"f{i}-kind": f["kind"],
                    f"f{i}-choices": "、".join(f["choices"]),
                }
            )
            data.pop(f"f{i}-required", None)
            if f["required"]:
                data[f"f{i}-required"] = "on"
        eligibility = item.eligibility or {}
        data["min_age"] = str(eligibility.get("min_age") or "")
        data["tags_any"] = ", ".join(eligibility.get("tags_any") or [])
    data.update(over)
    return data


def test_catalog_lists_every_item_with_its_version(gov: Gov, editor: User) -> None:
    ServiceItem.objects.filter(code="marriage_registration_advice").update(is_active=False)
    text = page(as_user(editor).get(reverse("govservice:catalog_admin")))
    assert "高龄津贴申领" in text and "婚姻登记咨询" in text and "停用" in text
    assert reverse("govservice:item_edit", args=["elderly_allowance"]) in text


def test_edit_form_shows_every_field_and_saves_unchanged_as_is(gov: Gov, editor: User) -> None:
    c = as_user(editor)
    item = gov.item("elderly_allowance")
    url = reverse("govservice:item_edit", args=[item.code])
    text = page(c.get(url))
    assert 'value="高龄津贴申领"' in text and 'name="m0-code"' in text and 'value="bank_card"' in text
    assert 'name="legal_days"' in text and 'name="min_age"' in text and 'value="80"' in text
    response = c.post(url, item_data(item))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.version == 1  # nothing changed, no new version


def test_edit_changes_fields_and_rows(gov: Gov, editor: User) -> None:
    c = as_user(editor)
    item = gov.item("elderly_allowance")
    url = reverse("govservice:item_edit", args=[item.code])
    data = item_data(item, promised_days="8", **{"m4-code": ""})  # the bank card row removed
    n = len(item.materials)
    data.update(
        {
            "m_count": str(n + 1),
            f"m{n}-code": "photo",
            f"m{n}-name_zh": "近期免冠照片",
            f"m{n}-required": "on",
            f"m{n}-source": "",
        }
    )
    response = c.post(url, data)
    assert response.status_code == 302
    item.refresh_from_db()
    codes = [m["code"] for m in item.materials]
    assert item.version == 2 and item.promised_days == 8 and "bank_card" not in codes and "photo" in codes
    entry = AuditEntry.objects.filter(action="govservice.item_save").latest("pk")
    assert entry.actor_id == editor.pk and entry.detail["version"] == 2


def test_more_rows_without_javascript_saves_nothing(gov: Gov, editor: User) -> None:
    c = as_user(editor)
    item = gov.item("elderly_allowance")
    url = reverse("govservice:item_edit", args=[item.code])
    n = len(item.materials)
    response = c.post(url, {**item_data(item, name_zh="改了"), "more": "materials"})
    text = page(response)
    assert response.status_code == 200 and f'name="m{n + 2}-code"' in text and 'value="改了"' in text
    item.refresh_from_db()
    assert item.version == 1 and item.name_zh == "高龄津贴申领"


def test_bad_input_gives_errors_per_field_and_changes_nothing(gov: Gov, editor: User) -> None:
    c = as_user(editor)
    item = gov.item("elderly_allowance")
    url = reverse("govservice:item_edit", args=[item.code])
    response = c.post(url, item_data(item, promised_days="30", legal_days="20"))
    assert response.status_code == 400 and "承诺" in page(response)
    response = c.post(url, item_data(item, **{"m0-name_zh": "", "m0-code": "id_card"}))
    assert response.status_code == 400
    response = c.post(url, item_data(item, **{"m0-code": "id_card", "m1-code": "id_card"}))
    assert response.status_code == 400
    one_option = {
        "f_count": "1",
        "f0-name": "x",
        "f0-kind": "choice",
        "f0-label_zh": "选",
        "f0-choices": "一",
    }
    response = c.post(url, item_data(item, **one_option))
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.version == 1


def test_new_item(gov: Gov, editor: User) -> None:
    c = as_user(editor)
    url = reverse("govservice:item_new")
    assert 'name="code"' in page(c.get(url))
    assert c.post(url, item_data(code="Bad Code")).status_code == 400
    assert c.post(url, item_data(code="elderly_allowance")).status_code == 400
    response = c.post(url, item_data(code="test_item"))
    assert response.status_code == 302
    new = ServiceItem.objects.get(code="test_item")
    assert new.version == 1 and new.materials[0]["source"] == "identity" and new.form[0]["name"] == "purpose"


# --- The scope matrix ------------------------------------------------------------------------------

EVERYONE = {
    "grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider", "dept", "resident", "nobody",
    "sysadmin", "secadmin", "auditor",
}  # fmt: skip


def test_the_scope_matrix_of_the_catalog_pages(gov: Gov, editor: User) -> None:
    edit = reverse("govservice:item_edit", args=["elderly_allowance"])
    wrong = []
    for persona in sorted(EVERYONE | {"clerk", "editor"}):
        user = editor if persona == "editor" else gov.clerk if persona == "clerk" else gov[persona]
        c = as_user(user)
        ok = persona == "editor"
        for path, method, want in (
            (reverse("govservice:catalog_admin"), "get", 200 if ok else 403),
            (reverse("govservice:item_new"), "get", 200 if ok else 403),
            (reverse("govservice:item_new"), "post", 400 if ok else 403),
            (edit, "get", 200 if ok else 403),
            (edit, "post", 400 if ok else 403),
        ):
            got = getattr(c, method)(path, {}).status_code
            if got != want:
                wrong.append((persona, path, method, got, want))
    assert wrong == []
    assert gov.item("elderly_allowance").version == 1
    assert as_user(editor).get(reverse("govservice:item_edit", args=["nonsense"])).status_code == 404
