"""The region picker (issue 9, fixes from the walk): one field and widget for every admin screen
that chooses a region, backed by a region-scoped lookup. A code (significant or 12-digit) or a
unique name is accepted; unknown codes, ambiguous names and regions outside the viewer's area are
refused with specific Chinese errors; without JavaScript a datalist offers the regions in scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from shequ.conftest import World
from shequ.core.forms import AuditFilterForm, MembershipGrantForm, PlatformForm, RegionPickerField
from shequ.core.models import Department
from shequ.core.permissions import Perm


class PickForm(PlatformForm):
    region = RegionPickerField(label="地区")


def pick(world: World, persona: str, value: str, perm: str = Perm.VIEW_REGION) -> PickForm:
    form = PickForm({"region": value})
    form.fields["region"].limit_to(world[persona], perm)  # type: ignore[attr-defined]
    return form


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("430104002001", "430104002001"),
        ("430104002001000", None),  # not a grid: no such region
        ("430104002000", "430104002"),  # the full 12-digit statistical code of the street
        (" 枇杷塘社区 ", "430104002001"),
        ("岳麓街道", "430104002"),
    ],
)
def test_codes_and_unique_names_are_understood(world: World, value: str, code: str | None) -> None:
    form = pick(world, "street", value)
    assert form.is_valid() is (code is not None), form.errors
    if code:
        assert form.cleaned_data["region"].code == code


def test_errors_are_specific_and_in_chinese(world: World) -> None:
    with translation.override("zh-hans"):
        unknown = pick(world, "street", "430199")
        assert not unknown.is_valid() and unknown.errors["region"] == ["没有找到代码为 430199 的地区。"]
        outside = pick(world, "head_a", "430104002003")
        assert not outside.is_valid()
        assert outside.errors["region"] == ["该地区（泽盛社区，430104002003）不在您的管辖范围内。"]
        # Two grids are called 第一网格 in the street: the name alone is not enough.
        twice = pick(world, "street", "第一网格")
        assert not twice.is_valid() and "有多个地区叫“第一网格”" in twice.errors["region"][0]
        # Inside one community the name is unique.
        once = pick(world, "head_a", "第一网格")
        assert once.is_valid() and once.cleaned_data["region"].code == "430104002001001"
        nameless = pick(world, "street", "石门楼社区")  # exists, but in another street
        assert (
            not nameless.is_valid() and "您的辖区内没有叫“石门楼社区”的地区" in nameless.errors["region"][0]
        )


def test_the_widget_offers_the_regions_in_scope_and_the_lookup(world: World) -> None:
    form = pick(world, "head_a", "430104002001001")
    html = str(form["region"])
    assert "data-region-picker" in html and 'data-lookup="/region/lookup/?perm=core.view_region"' in html
    assert 'list="id_region_regions"' in html and '<option value="430104002001002">' in html
    assert "430104002003" not in html  # the sibling community is not offered
    # The chosen region's path from the province down, for the eye and for screen readers.
    assert "湖南省 › 长沙市 › 岳麓区 › 岳麓街道 › 枇杷塘社区 › 第一网格" in html


def test_grant_form_offers_departments_in_scope(world: World) -> None:
    far = Department.objects.create(
        code="far", name="别处", kind="urban", region=world.regions["430104003"], region_code="430104003"
    )
    form = MembershipGrantForm(prefix="grant")
    form.limit_to(world["secadmin"])
    options = str(form["department"])
    assert world.department.name in options and "别处" in options  # the province admin sees both
    scoped = MembershipGrantForm(
        {
            "grant-username": "x",
            "grant-role": "department_staff",
            "grant-region": "430104002",
            "grant-department": "far",
        },
        prefix="grant",
    )
    scoped.limit_to(world["secadmin"])
    assert scoped.is_valid(), scoped.errors
    assert scoped.cleaned_data["department"] == far


def test_audit_filter_takes_a_region_in_scope(world: World) -> None:
    form = AuditFilterForm({"region": "430104002001"})
    form.limit_to(world["auditor"])
    assert form.is_valid() and form.filters()["region"] == "430104002001"


def lookup(client: Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/region/lookup/", params)
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_lookup_children_search_and_paths(world: World) -> None:
    client = Client()
    client.force_login(world["street"])
    roots = lookup(client)
    assert [r["code"] for r in roots] == ["430104002"]
    assert roots[0]["path"] == ["湖南省", "长沙市", "岳麓区", "岳麓街道"] and roots[0]["has_children"]
    children = lookup(client, parent="430104002")
    assert [r["code"] for r in children] == ["430104002001", "430104002003"]
    assert children[0]["level"] == "community"
    found = lookup(client, q="网格")
    assert [r["code"] for r in found] == ["430104002001001", "430104002001002", "430104002003001"]
    assert not found[0]["has_children"]
    assert [r["code"] for r in lookup(client, q="430104002003")] == ["430104002003", "430104002003001"]
    assert lookup(client, q="石门楼") == []  # another street's community
    assert client.get("/region/lookup/", {"parent": "430104003"}).status_code == 404
