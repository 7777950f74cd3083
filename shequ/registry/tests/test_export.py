"""Exports: scope, masking and the audited reveal, the cap, the watermark, restricted tags, the
audit trail, and the export pages."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone, translation

from shequ.core.models import AuditEntry
from shequ.core.personal import mask_id_number, mask_phone
from shequ.registry import exports, services
from shequ.registry.tests.conftest import COMMUNITY_A, GRID_A, Registry

STREET = "430104002"


def sheet(content: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]


def data_rows(ws: Any) -> list[tuple[Any, ...]]:
    return [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] is not None]


def column(ws: Any, title: str) -> int:
    return [c.value for c in ws[3]].index(title)


def export(reg: Registry, persona: str, **kwargs: Any) -> exports.ExportFile:
    with translation.override("en"):
        return exports.people_export(viewer=reg.world[persona], **kwargs)


def test_people_export_is_scoped_masked_watermarked_and_audited(reg: Registry) -> None:
    file = export(reg, "head_a")
    ws = sheet(file.content)
    rows = data_rows(ws)
    assert sorted(r[1] for r in rows) == ["张三", "李四"]  # community A only, not 王五 of community B
    ids = {r[1]: r[column(ws, "ID number")] for r in rows}
    phones = {r[1]: r[column(ws, "Mobile number")] for r in rows}
    zhang = reg.people["a"]
    assert ids["张三"] == mask_id_number(zhang.id_number) and phones["张三"] == mask_phone(zhang.phone)
    assert zhang.id_number not in str(rows) and zhang.phone not in str(rows)
    # The watermark: who, when, where, on the info row and in the page footer.
    info = ws["A2"].value
    assert "head_a" in info and "枇杷塘社区" not in info  # all of my regions
    assert str(timezone.localdate()) in info and "2 rows" in info
    assert ws.oddFooter.center.text == info
    entry = AuditEntry.objects.get(action="registry.export")
    assert entry.actor_id == reg.world["head_a"].pk and entry.result == "success"
    assert entry.detail == {
        "kind": "person",
        "rows": 2,
        "filters": {"status": "active"},
        "revealed": False,
        "restricted_tags": 0,
    }
    assert not AuditEntry.objects.filter(action="personal.reveal").exists()


def test_filters_and_region(reg: Registry) -> None:
    reg.register("老人", reg.houses["a"][1], birth="19400101")
    file = export(reg, "head_a", region_code=GRID_A, age_min=80)
    ws = sheet(file.content)
    assert [r[1] for r in data_rows(ws)] == ["老人"]
    assert "第一网格" in ws["A2"].value
    assert AuditEntry.objects.get(action="registry.export").detail["filters"] == {
        "status": "active",
        "age_min": 80,
    }


def test_full_values_need_the_reveal_right_and_a_reason(reg: Registry) -> None:
    with pytest.raises(ValidationError):
        export(reg, "head_a", reveal=True, reason=" ")
    file = export(reg, "head_a", region_code=COMMUNITY_A, reveal=True, reason="核对低保名单")
    ws = sheet(file.content)
    rows = {r[1]: r for r in data_rows(ws)}
    assert rows["张三"][column(ws, "ID number")] == reg.people["a"].id_number
    assert rows["张三"][column(ws, "Mobile number")] == reg.people["a"].phone
    assert "keep safe" in ws["A2"].value
    reveal = AuditEntry.objects.get(action="personal.reveal")
    assert (
        reveal.reason == "核对低保名单"
        and reveal.fields == ["id_number", "phone"]
        and reveal.detail["rows"] == 2
    )
    assert AuditEntry.objects.get(action="registry.export").detail["revealed"] is True
    # The street officer may export but not reveal: refused and audited, nothing exported.
    with pytest.raises(PermissionDenied):
        export(reg, "street", reveal=True, reason="核对")
    denied = AuditEntry.objects.filter(action="personal.reveal", result="denied").get()
    assert denied.actor_id == reg.world["street"].pk
    assert AuditEntry.objects.filter(action="registry.export").count() == 1


@pytest.mark.parametrize("persona", ["worker_a", "grid_a", "resident", "dept", "nobody", "sysadmin"])
def test_no_export_without_the_export_right(reg: Registry, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        export(reg, persona)
    assert AuditEntry.objects.filter(action="registry.export", result="denied").count() == 1


def test_no_export_of_another_region(reg: Registry) -> None:
    with pytest.raises(PermissionDenied):
        export(reg, "head_a", region_code="430104002003")
    with pytest.raises(PermissionDenied):
        exports.houses_export(viewer=reg.world["head_b"], region_code=COMMUNITY_A)


def test_the_cap(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", 1)
    with pytest.raises(ValidationError) as exc:
        export(reg, "head_a")
    assert exc.value.code == "too_many"
    assert exc.value.messages == [
        "The export would have 2 rows, more than the 1 allowed at once: narrow it down with the filters "
        "(a grid, a status, a tag)."
    ]
    refused = AuditEntry.objects.get(action="registry.export")
    assert refused.result == "denied" and refused.detail["rows"] == 2
    assert len(data_rows(sheet(export(reg, "head_a", region_code=GRID_A).content))) == 1


def test_restricted_tags_only_with_a_grant(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    services.tag_grant(
        actor=w["secadmin"],
        user=w["dept"],
        region=reg.region(STREET),
        expires_at=timezone.now() + timedelta(days=30),
        reason="禁毒",
        category="drug_user",
    )
    services.tag_add(actor=w["dept"], person=person, category="drug_user", source="department")
    services.tag_add(actor=w["grid_a"], person=person, category="low_income")
    ws = sheet(export(reg, "head_a").content)
    tags = {r[1]: r[column(ws, "Tags")] for r in data_rows(ws)}
    assert tags["张三"] == "Low-income household" or "Drug" not in tags["张三"]
    assert "Drug" not in str(tags) and "吸毒" not in str(tags)
    # Filtering by the restricted tag without a grant finds nobody.
    assert data_rows(sheet(export(reg, "head_a", tag="drug_user").content)) == []
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()
    # With a grant the tag is exported, and its showing is audited.
    services.tag_grant(
        actor=w["secadmin"],
        user=w["head_a"],
        region=reg.region(COMMUNITY_A),
        expires_at=timezone.now() + timedelta(days=30),
        reason="专项排查",
        category="drug_user",
    )
    head = w["head_a"]
    head.__dict__.pop("_registry_tag_grants", None)
    file = export(reg, "head_a", tag="drug_user")
    ws = sheet(file.content)
    assert [r[1] for r in data_rows(ws)] == ["张三"]
    assert "Drug user" in data_rows(ws)[0][column(ws, "Tags")]
    views = AuditEntry.objects.filter(action="registry.tag_view", actor_id=head.pk)
    assert views.count() == 2  # the filtered list, and the tags shown
    assert {e.detail["context"] for e in views} == {"export"}
    last = AuditEntry.objects.filter(action="registry.export").order_by("id").last()
    assert last is not None and last.detail["restricted_tags"] == 1


def test_houses_and_organizations(reg: Registry) -> None:
    services.organization_create(
        actor=None, data={"name": "示例商店", "contact_phone": "13912345678", "house": reg.houses["a"][1]}
    )
    with translation.override("en"):
        houses = exports.houses_export(viewer=reg.world["head_a"])
        orgs = exports.organizations_export(viewer=reg.world["head_a"])
        full = exports.organizations_export(viewer=reg.world["head_a"], reveal=True, reason="联系核实")
    ws = sheet(houses.content)
    rows = data_rows(ws)
    assert len(rows) == 6  # three houses in each grid of community A
    by_address = {r[1]: r for r in rows}
    assert by_address[reg.houses["a"][0].address][column(ws, "Residents")] == 1
    ws = sheet(orgs.content)
    assert data_rows(ws)[0][column(ws, "Contact phone")] == "139****5678"
    ws = sheet(full.content)
    assert data_rows(ws)[0][column(ws, "Contact phone")] == "13912345678"
    kinds = [e.detail["kind"] for e in AuditEntry.objects.filter(action="registry.export").order_by("id")]
    assert kinds == ["house", "organization", "organization"]


def signed_in(reg: Registry, persona: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(reg.world[persona])
    return client


def test_export_pages(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in(reg, "head_a")
    page = client.get("/registry/export/people/")
    assert page.status_code == 200 and page.content.decode().count("<h1") == 1
    assert 'name="reveal"' in page.content.decode()  # head_a holds the reveal right
    download = client.post("/registry/export/people/", {"status": "active"})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert download["Content-Disposition"].startswith('attachment; filename="people-all-')
    no_reason = client.post("/registry/export/people/", {"reveal": "on", "reason": ""})
    assert no_reason.status_code == 400 and "Say why" in no_reason.content.decode()
    other = client.post("/registry/export/people/", {"region": "430104002003"})
    assert other.status_code == 400  # not a region of theirs
    for path in ("/registry/export/houses/", "/registry/export/organizations/"):
        assert client.post(path, {}).status_code == 200
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", 1)
    capped = client.post("/registry/export/people/", {"status": "active"})
    assert capped.status_code == 400 and "narrow it down" in capped.content.decode()
    street = signed_in(reg, "street")
    assert 'name="reveal"' not in street.get("/registry/export/people/").content.decode()
    assert signed_in(reg, "worker_a").get("/registry/export/people/").status_code == 403
