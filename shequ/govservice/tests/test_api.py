"""The government-service API: the catalog; the applications each caller may see (the department's
own system sees what was forwarded to it); a department decides, returns and delivers through it;
sibling regions get 404; bad bodies a 400 that changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from shequ.core.tests.api_helpers import API, assert_error, bearer, get, issue
from shequ.govservice.models import Application, Outcome, Status
from shequ.govservice.services import applications as apps
from shequ.govservice.tests.conftest import Gov
from shequ.govservice.tests.test_applications import online

pytestmark = pytest.mark.django_db


def post_json(client: Client, path: str, raw: str, body: dict[str, Any]) -> Any:
    return client.post(API + path, data=json.dumps(body), content_type="application/json", **bearer(raw))


def forwarded(gov: Gov) -> Application:
    app = online(gov)
    apps.application_accept(actor=gov["worker_a"], application=app)
    return apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)


def test_catalog_lists_items_with_materials(gov: Gov) -> None:
    client = Client()
    assert_error(get(client, "/govservice/items"), 401)
    body = get(client, "/govservice/items", issue(gov.world, "resident")).json()
    assert len(body) >= 30
    allowance = next(i for i in body if i["code"] == "elderly_allowance")
    assert allowance["fee"] == "0.00" and allowance["mode"] == "entrusted"
    assert {m["code"]: m["from_registry"] for m in allowance["materials"]}["bank_card"] is False


def test_department_system_sees_forwarded_and_decides(gov: Gov) -> None:
    app = forwarded(gov)
    client = Client()
    clerk = issue(gov.world, gov.clerk)
    listed = get(client, "/govservice/applications", clerk).json()
    assert [a["id"] for a in listed["items"]] == [app.pk]
    detail = get(client, f"/govservice/applications/{app.pk}", clerk).json()
    assert detail["department"] == "civil-yuelu" and detail["applicant_phone_masked"].count("*") == 4
    assert gov.elder.id_number not in json.dumps(detail)
    decided = post_json(
        client,
        f"/govservice/applications/{app.pk}/decision",
        clerk,
        {"outcome": "approved", "note": "下月起发放"},
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == Status.DECIDED
    again = post_json(client, f"/govservice/applications/{app.pk}/decision", clerk, {"outcome": "approved"})
    assert_error(again, 400, "illegal_transition")
    delivered = post_json(client, f"/govservice/applications/{app.pk}/deliver", clerk, {"delivery": "post"})
    assert delivered.json()["status"] == Status.CLOSED


def test_scope_and_bad_input(gov: Gov) -> None:
    app = forwarded(gov)
    client = Client()
    for persona in ("head_b", "outsider", "dept"):
        raw = issue(gov.world, persona)
        assert_error(get(client, f"/govservice/applications/{app.pk}", raw), 404)
        assert_error(
            post_json(client, f"/govservice/applications/{app.pk}/decision", raw, {"outcome": "approved"}),
            404,
        )
    clerk = issue(gov.world, gov.clerk)
    assert_error(
        post_json(client, f"/govservice/applications/{app.pk}/decision", clerk, {"outcome": "maybe"}), 400
    )
    assert_error(
        post_json(
            client, f"/govservice/applications/{app.pk}/decision", clerk, {"outcome": "denied", "extra": 1}
        ),
        400,
    )
    assert_error(
        post_json(client, f"/govservice/applications/{app.pk}/decision", clerk, {"outcome": "denied"}), 400
    )
    assert_error(post_json(client, f"/govservice/applications/{app.pk}/return", clerk, {"missing": []}), 400)
    assert_error(
        post_json(client, f"/govservice/applications/{app.pk}/return", clerk, {"missing": ["nope"]}), 400
    )
    app.refresh_from_db()
    assert app.status == Status.FORWARDED and app.outcome == ""
    # The applicant reads their own, with the public steps; cannot decide it.
    mine = issue(gov.world, "resident")
    assert get(client, f"/govservice/applications/{app.pk}", mine).json()["id"] == app.pk
    assert_error(
        post_json(client, f"/govservice/applications/{app.pk}/decision", mine, {"outcome": Outcome.APPROVED}),
        403,
    )


def test_schema_literals_match_the_models() -> None:
    """The API's literals are the models' choices (kept apart from the enums so that OpenAPI
    components named Status or Channel do not collide with other apps')."""
    from typing import get_args

    from shequ.govservice import models, schemas

    for literal, choices in (
        (schemas.AppStatus, models.Status),
        (schemas.AppChannel, models.Channel),
        (schemas.AppOutcome, models.Outcome),
        (schemas.AppDelivery, models.Delivery),
        (schemas.ItemDomain, models.Domain),
        (schemas.ItemMode, models.Mode),
    ):
        assert set(get_args(literal)) == set(choices.values), literal
