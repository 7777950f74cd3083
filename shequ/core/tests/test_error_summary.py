"""The one error summary of every form (core/admin/_form_errors.html): after a refused submit it
lists each field's error as a link to that field, and the field is described by its error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from shequ.conftest import World
from shequ.core.tests.test_admin_pages import CREATE_FORM

pytestmark = pytest.mark.django_db


def summary_links(page: str) -> list[tuple[str, str]]:
    found = re.search(r"<div class=\"error error-summary\"[^>]*data-error-summary>(.*?)</div>", page, re.S)
    assert found, "no error summary on the refused page"
    return re.findall(r'<a href="#([^"]+)">(.*?)</a>', found.group(1), re.S)


def assert_links_reach_their_fields(page: str, expected: set[str]) -> None:
    links = summary_links(page)
    assert {target for target, _text in links} == expected
    for target, text in links:
        control = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{re.escape(target)}"[^>]*>', page)
        assert control, f"the link to #{target} ({text}) leads nowhere"
        if 'type="radio"' not in control.group(0):
            described = re.search(r'aria-describedby="([^"]+)"', control.group(0))
            assert described and f"{target}_error" in described.group(1).split(), control.group(0)
            assert f'id="{target}_error"' in page


def signed_in(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world[persona])
    return client


def test_a_refused_report_lists_each_error_as_a_link_to_its_field(world: World) -> None:
    response = signed_in(world, "resident").post("/grid/report/", {"description": ""})
    assert response.status_code in (200, 400)
    page = response.content.decode()
    assert "尚未提交" in page
    assert_links_reach_their_fields(page, {"id_description"})


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"new-display_name": "", "new-region": ""}, {"id_new-display_name", "id_new-region"}),
        ({"new-password_again": "Other-Pass-123"}, {"id_new-password_again"}),
    ],
)
def test_a_refused_admin_form_lists_each_error_as_a_link_to_its_field(
    world: World, change: dict[str, Any], fields: set[str]
) -> None:
    response = signed_in(world, "sysadmin").post("/admin/accounts/", CREATE_FORM | change)
    assert response.status_code == 400
    page = response.content.decode()
    assert "未做任何更改" in page
    assert_links_reach_their_fields(page, fields)
