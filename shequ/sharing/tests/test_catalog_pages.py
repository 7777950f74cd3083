"""The public resource catalog: open without signing in, every resource with owner, frequency,
sharing type and fields with their sensitivity — and never a row of data, on the page or in the API."""

from __future__ import annotations

import re

from django.test import Client

from shequ.core.components import Sensitivity, SharingType, resources_all
from shequ.sharing.tests import access_fixtures as fx
from shequ.sharing.tests.access_fixtures import Shared

shared, fast_hasher, fresh_rate_windows = fx.shared, fx.fast_hasher, fx.fresh_rate_windows


def _clear_values(s: Shared) -> list[str]:
    """Every value of every resource's rows that is data rather than a code (Chinese text, or a
    number of six digits or more): none may appear in the catalog."""
    values: list[str] = []
    for resource in resources_all().values():
        for obj in resource.rows(["43"], {}, 0, 1000):
            for key, value in resource.row(obj).items():
                if key == "region_code" or not isinstance(value, str):
                    continue
                if re.search(r"[\u4e00-\u9fff]", value) or re.search(r"\d{6}", value):
                    values.append(value)
    return values


def test_the_catalog_declares_every_resource_honestly() -> None:
    resources = resources_all()
    assert set(resources) == {
        "people",
        "households",
        "houses",
        "organizations",
        "key_places",
        "tickets",
        "device_events",
        "alerts",
        "applications",
    }
    people = {f.key: f for f in resources["people"].fields}
    for key in ("name", "id_number", "phone"):
        assert people[key].sensitivity == Sensitivity.PERSONAL and people[key].mask is not None
    assert people["special_tags"].sensitivity == Sensitivity.SENSITIVE
    assert resources["people"].sharing == SharingType.CONDITIONAL
    assert "registry.person_moved_out" in resources["people"].events
    assert "grid.ticket_closed" in resources["tickets"].events
    assert "iot.alert_raised" in resources["alerts"].events
    for resource in resources.values():
        assert resource.owner and resource.frequency and resource.description
        keys = [f.key for f in resource.fields]
        assert len(keys) == len(set(keys)) and "id" not in keys
        for dim in resource.dimensions:
            assert dim.key not in {"after", "limit", "grant", "region"}


def test_the_public_page_lists_resources_without_data(shared: Shared) -> None:
    anonymous = Client()
    page = anonymous.get("/sharing/catalog/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "实有人口" in text and "社区居委会" in text and "有条件共享" in text
    detail = anonymous.get("/sharing/catalog/people/").content.decode()
    assert "身份证号" in detail or "证件号码" in detail
    assert "敏感个人信息" in detail and "registry.person_moved_out" in detail
    values = _clear_values(shared)
    assert values, "the fixture has data to leak"
    for resource in resources_all():
        body = anonymous.get(f"/sharing/catalog/{resource}/").content.decode() + text
        assert not [v for v in values if v in body], resource
    assert anonymous.get("/sharing/catalog/spaceships/").status_code == 404


def test_the_catalog_api_is_public_and_holds_no_data(shared: Shared) -> None:
    response = Client().get("/api/v1/sharing/catalog")
    assert response.status_code == 200
    entries = {e["key"]: e for e in response.json()}
    assert set(entries) == set(resources_all())
    people = entries["people"]
    assert people["sharing"] == "conditional"
    fields = {f["key"]: f for f in people["fields"]}
    assert fields["phone"] == {
        "key": "phone",
        "title": fields["phone"]["title"],
        "sensitivity": "personal",
        "masked": True,
    }
    assert any(f["key"] == "age_band" for f in people["filters"])
    text = response.content.decode()
    assert not [v for v in _clear_values(shared) if v in text]
