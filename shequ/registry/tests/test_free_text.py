"""Free text is stored as its writer wrote it: a visit's notes keep full-width punctuation and line
breaks through the page and the API (normalisation is for codes and search keys only), and the
control characters the one cleaner refuses are refused on both."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.registry import services
from shequ.registry.models import TimelineEntry, Visit
from shequ.registry.tests.conftest import Registry

__all__ = ["_fresh_rate_limits"]
pytestmark = pytest.mark.django_db

NOTES = "入户看望，老人精神尚可；（已送米面油）\n下次：带血压计！"
FINDINGS = "楼道灯不亮，已报物业。"


def test_visit_notes_keep_full_width_punctuation_on_the_page(reg: Registry) -> None:
    person = reg.people["a"]
    client = Client()
    client.force_login(reg.world["grid_a"])
    made = client.post(
        f"/registry/visits/new/?person={person.pk}",
        {"purpose": "care", "notes": NOTES.replace("\n", "\r\n"), "findings": FINDINGS},
    )
    assert made.status_code == 302
    visit = Visit.objects.get()
    assert (visit.notes, visit.findings) == (NOTES, FINDINGS)
    page = client.get(f"/registry/people/{person.pk}/").content.decode()
    assert "入户看望，老人精神尚可；（已送米面油）" in page


def test_visit_notes_keep_full_width_punctuation_in_the_api(reg: Registry) -> None:
    token = issue(reg.world, "grid_a")
    response = Client().post(
        "/api/v1/registry/visits",
        json.dumps(
            {"person_id": reg.people["a"].pk, "purpose": "care", "notes": NOTES, "findings": FINDINGS}
        ),
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 201, response.content
    assert (response.json()["notes"], response.json()["findings"]) == (NOTES, FINDINGS)
    assert Visit.objects.get().notes == NOTES


def test_reasons_keep_full_width_punctuation_and_house_numbers_are_still_normalised(reg: Registry) -> None:
    house = reg.houses["a"][2]
    services.house_update(
        actor=reg.world["grid_a"], house=house, changes={"number": "９０１"}, reason="房东告知，门牌已改。"
    )
    house.refresh_from_db()
    assert house.number == "901"  # a key: full-width digits folded
    entry = TimelineEntry.objects.filter(object_type="house", object_id=house.pk).latest("at")
    assert entry.reason == "房东告知，门牌已改。"  # free text: as written


def test_control_characters_in_notes_are_refused_on_page_and_api(reg: Registry) -> None:
    person = reg.people["a"]
    client = Client()
    client.force_login(reg.world["grid_a"])
    page = client.post(
        f"/registry/visits/new/?person={person.pk}", {"purpose": "care", "notes": "走访\x1b记录"}
    )
    assert page.status_code == 400 and "U+001B" in page.content.decode()
    api = Client().post(
        "/api/v1/registry/visits",
        json.dumps({"person_id": person.pk, "notes": "走访\x00记录"}),
        content_type="application/json",
        **bearer(issue(reg.world, "grid_a")),
    )
    assert api.status_code == 400 and api.json()["code"] == "validation_error"
    assert not Visit.objects.exists()
