"""The rows API under grants: for every catalog resource, a grant limited to some fields and one
community never answers another field, another community's row or a masked field's clear value;
row filters, keyset paging, and the refusals (expired, revoked, not started, wrong resource, outside
the grant, rate) — each logged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from shequ.core.components import DataResource, Sensitivity, resources_all
from shequ.core.models import AuditEntry
from shequ.sharing.models import CallOutcome, Grant, SharedRegion, SharedSubject, SharingCall
from shequ.sharing.services.access import grant_revoke
from shequ.sharing.tests import access_fixtures as fx
from shequ.sharing.tests.access_fixtures import COMMUNITY_A, COMMUNITY_B, GRID_A, STREET, Shared

shared, fast_hasher, fresh_rate_windows = fx.shared, fx.fast_hasher, fx.fresh_rate_windows

RESOURCE_KEYS = sorted(resources_all())
PERSONAL = {Sensitivity.PERSONAL, Sensitivity.SENSITIVE}
# Resources whose personal fields are stored masked already (the IoT ingester keeps a masked plate).
ALREADY_MASKED = {"device_events"}


def _limited_fields(resource: DataResource) -> list[str]:
    """A field list short of the whole resource: the first non-personal field and every personal
    field that has a mask (so the answer must carry masked values)."""
    plain = [f.key for f in resource.fields if f.sensitivity not in PERSONAL]
    masked = [f.key for f in resource.fields if f.sensitivity in PERSONAL and f.mask is not None]
    chosen = plain[:1] + masked
    assert len(chosen) < len(resource.fields), resource.key
    return chosen


def _all_rows(resource: DataResource, codes: list[str]) -> list[Any]:
    return list(resource.rows(codes, {}, 0, 10_000))


@pytest.mark.parametrize("key", RESOURCE_KEYS)
def test_grant_limits_fields_regions_and_masks_for_every_resource(shared: Shared, key: str) -> None:
    resource = resources_all()[key]
    fields = _limited_fields(resource)
    grant = shared.grant(key, fields)
    in_a = _all_rows(resource, [COMMUNITY_A])
    in_b = _all_rows(resource, [COMMUNITY_B])
    assert in_a and in_b, f"the fixture has rows of {key} in both communities"

    response = shared.get(f"{key}/rows")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["grant"] == grant.pk
    returned = {row["id"]: row for row in body["rows"]}
    assert set(returned) == {obj.pk for obj in in_a}
    assert not set(returned) & {obj.pk for obj in in_b}
    by_key = {f.key: f for f in resource.fields}
    text = response.content.decode()
    checked_masks = 0
    for obj in in_a:
        row = returned[obj.pk]
        assert set(row) <= {"id", *fields}
        clear = resource.row(obj)
        for name, value in row.items():
            if name == "id":
                continue
            spec = by_key[name]
            if spec.sensitivity in PERSONAL:
                assert spec.mask is not None
                expected = spec.mask(clear[name]) if clear[name] not in (None, "") else clear[name]
                assert value == expected
                if clear[name] and expected != clear[name]:
                    assert value != clear[name]
                    checked_masks += 1
            else:
                assert value == clear[name]
        # No clear personal value anywhere in the answer, granted (masked) or not.
        for spec in resource.fields:
            value = clear.get(spec.key)
            if spec.sensitivity in PERSONAL and isinstance(value, str) and len(value) > 1:
                shown = spec.mask(value) if spec.mask else None
                if shown != value:
                    assert json.dumps(value, ensure_ascii=False)[1:-1] not in text, (key, spec.key)
    if key not in ALREADY_MASKED and any(by_key[name].sensitivity in PERSONAL for name in fields):
        assert checked_masks, f"{key}: no masked value was checked"
    # One log row with the community's count and the people returned.
    call = SharingCall.objects.get(pk=body["call"])
    assert call.outcome == CallOutcome.OK and call.rows == len(in_a)
    assert {(r.region_code, r.rows) for r in call.regions.all()} == {(COMMUNITY_A, len(in_a))}
    subjects = {pk for obj in in_a for pk in resource.subjects(obj)}
    assert set(SharedSubject.objects.filter(call=call).values_list("person_id", flat=True)) == subjects


@pytest.mark.parametrize("key", RESOURCE_KEYS)
def test_unmasked_personal_fields_come_in_clear(shared: Shared, key: str) -> None:
    resource = resources_all()[key]
    personal = [f.key for f in resource.fields if f.sensitivity == Sensitivity.PERSONAL]
    if not personal:
        pytest.skip(f"{key} has no personal field")
    shared.grant(key, personal, unmasked=personal[:1])
    body = shared.get(f"{key}/rows").json()
    objs = {obj.pk: obj for obj in _all_rows(resource, [COMMUNITY_A])}
    for row in body["rows"]:
        assert row[personal[0]] == resource.row(objs[row["id"]])[personal[0]]
    assert body["unmasked"] == personal[:1]


def test_fields_without_a_mask_are_left_out_unless_unmasked(shared: Shared) -> None:
    shared.grant("people", ["name", "address", "care_tags"])
    body = shared.get("people/rows").json()
    assert body["fields"] == ["name"]
    assert all(set(row) == {"id", "name"} for row in body["rows"])


def test_row_filters_of_the_grant_apply_and_a_caller_narrows(shared: Shared) -> None:
    shared.grant("people", ["name", "residence_type"], row_filters={"residence_type": "floating"})
    body = shared.get("people/rows").json()
    assert [row["id"] for row in body["rows"]] == [shared.people["floating"].pk]
    assert shared.get("people/rows", residence_type="floating").status_code == 200
    widened = shared.get("people/rows", residence_type="registered")
    assert widened.status_code == 403 and widened.json()["code"] == "outside_grant"
    narrowed = shared.get("people/rows", age_band="0-17").json()
    assert narrowed["rows"] == []


def test_region_parameter_narrows_and_never_widens(shared: Shared) -> None:
    shared.grant("people", ["name"])
    assert len(shared.get("people/rows", region=GRID_A).json()["rows"]) == 2
    for outside in (STREET, COMMUNITY_B, "43"):
        response = shared.get("people/rows", region=outside)
        assert response.status_code == 403
        assert response.json()["code"] == "outside_grant"


def test_keyset_paging(shared: Shared) -> None:
    shared.grant("people", ["name"])
    first = shared.get("people/rows", limit=1).json()
    assert len(first["rows"]) == 1 and first["next"] == first["rows"][0]["id"]
    second = shared.get("people/rows", limit=1, after=first["next"]).json()
    assert len(second["rows"]) == 1 and second["rows"][0]["id"] > first["next"]
    assert second["next"] is None


def _refused(shared: Shared, path: str, status: int, code: str, **params: Any) -> dict[str, Any]:
    before = SharingCall.objects.count()
    response = shared.get(path, **params)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]
    assert SharingCall.objects.count() == before + 1
    call = SharingCall.objects.order_by("-pk").first()
    assert call is not None and call.rows == 0 and call.reason == code
    assert not SharedRegion.objects.filter(call=call).exists()
    assert "rows" not in body
    return body


def test_expired_grant_is_403(shared: Shared) -> None:
    grant = shared.grant("people", ["name"])
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _refused(shared, "people/rows", 403, "grant_expired")


def test_revoked_grant_is_403(shared: Shared) -> None:
    grant = shared.grant("people", ["name"])
    assert shared.get("people/rows").status_code == 200
    grant_revoke(actor=shared.world["secadmin"], grant=grant, reason="用途已结束")
    _refused(shared, "people/rows", 403, "grant_revoked")


def test_grant_not_yet_started_is_403(shared: Shared) -> None:
    grant = shared.grant("people", ["name"])
    Grant.objects.filter(pk=grant.pk).update(starts_at=timezone.now() + dt.timedelta(hours=1))
    _refused(shared, "people/rows", 403, "grant_not_started")


def test_wrong_resource_is_403(shared: Shared) -> None:
    shared.grant("people", ["name"])
    _refused(shared, "tickets/rows", 403, "no_grant")
    _refused(shared, "no_such_thing/rows", 404, "unknown_resource")


def test_bad_parameters_are_400_and_logged(shared: Shared) -> None:
    shared.grant("people", ["name"])
    _refused(shared, "people/rows", 400, "invalid_parameter", limit="0")
    _refused(shared, "people/rows", 400, "invalid_parameter", after="-1")
    _refused(shared, "people/rows", 400, "unknown_filter", colour="red")
    _refused(shared, "people/rows", 400, "invalid_filter", residence_type="martian")
    # Sensitive groups are never a row filter: the list would say who belongs to them.
    _refused(shared, "people/rows", 400, "invalid_filter", tag="drug_user")


def test_the_log_keeps_no_clear_number_a_caller_sends(shared: Shared) -> None:
    # A department may send a phone or ID number in any parameter; the access log keeps neither.
    shared.grant("people", ["name"])
    _refused(shared, "people/rows", 400, "unknown_filter", id_number="430104199001011234")
    assert SharingCall.objects.order_by("-pk").first().query == {"id_number": "?"}  # type: ignore[union-attr]
    _refused(shared, "people/rows", 400, "invalid_filter", sex="13812345678")
    assert SharingCall.objects.order_by("-pk").first().query == {"sex": "?"}  # type: ignore[union-attr]
    _refused(shared, "people/rows", 403, "outside_grant", region="430104003001")
    assert SharingCall.objects.order_by("-pk").first().query == {"region": "430104003001"}  # type: ignore[union-attr]


def test_several_grants_need_a_choice(shared: Shared) -> None:
    first = shared.grant("people", ["name"])
    second = shared.grant("people", ["name", "sex"], region_codes=[COMMUNITY_B])
    body = _refused(shared, "people/rows", 400, "grant_required")
    assert body["details"]["grants"] == sorted([first.pk, second.pk])
    chosen = shared.get("people/rows", grant=second.pk).json()
    assert chosen["grant"] == second.pk and chosen["fields"] == ["name", "sex"]
    other = shared.world["dept"]
    assert other.pk != shared.client.pk
    _refused(shared, "people/rows", 403, "no_grant", grant=first.pk + second.pk)


def test_rate_limit_is_429_with_retry_after(shared: Shared) -> None:
    shared.grant("people", ["name"], rate_per_minute=2)
    assert shared.get("people/rows").status_code == 200
    assert shared.get("people/rows").status_code == 200
    response = shared.get("people/rows")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["details"]["retry_after"] == int(response["Retry-After"])
    assert SharingCall.objects.filter(outcome=CallOutcome.LIMITED).count() == 1


def test_every_call_is_one_log_row_and_one_audit_entry(shared: Shared) -> None:
    shared.grant("people", ["name"])
    before_calls = SharingCall.objects.count()
    before_audit = AuditEntry.objects.filter(action="sharing.call").count()
    shared.get("people/rows")  # answered
    shared.get("tickets/rows")  # refused: no grant
    shared.get("people/rows", region=COMMUNITY_B)  # refused: outside
    shared.get("people/rows", limit="x")  # refused: bad parameter
    assert SharingCall.objects.count() == before_calls + 4
    entries = list(AuditEntry.objects.filter(action="sharing.call").order_by("pk"))[before_audit:]
    assert len(entries) == 4
    assert [e.result for e in entries] == ["success", "denied", "denied", "denied"]
    ok = entries[0]
    assert ok.actor_id == shared.client.pk
    assert ok.detail["resource"] == "people" and ok.detail["rows"] == 2
    assert ok.detail["regions"] == {COMMUNITY_A: 2}
    # Personal values never enter the audit log.
    assert "张三丰" not in json.dumps(ok.detail, ensure_ascii=False)


def test_a_token_without_the_scope_is_refused_and_logged(shared: Shared) -> None:
    from shequ.core.apiauth import token_create

    shared.grant("people", ["name"])
    _token, raw = token_create(
        actor=None,
        user=shared.client,
        name="其他用途",
        scopes=["profile:read"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    before = SharingCall.objects.count()
    response = shared.get("people/rows", token=raw)
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
    assert SharingCall.objects.count() == before + 1


def test_staff_of_the_department_without_a_grant_get_nothing(shared: Shared) -> None:
    from shequ.core.apiauth import token_create

    shared.grant("people", ["name"])
    _token, raw = token_create(
        actor=None,
        user=shared.world["dept"],
        name="个人",
        scopes=["sharing:read"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    response = shared.get("people/rows", token=raw)
    assert response.status_code == 403 and response.json()["code"] == "no_grant"


def test_no_token_is_401(shared: Shared) -> None:
    from django.test import Client

    assert Client().get("/api/v1/sharing/people/rows").status_code == 401


@pytest.mark.parametrize("key", RESOURCE_KEYS)
def test_queries_do_not_grow_with_the_rows(shared: Shared, key: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    resource = resources_all()[key]
    shared.grant(key, [f.key for f in resource.fields], region_codes=[STREET], rate_per_minute=100)
    shared.get(f"{key}/rows")  # the token's first use of the minute writes its last_used_at
    with CaptureQueriesContext(connection) as one:
        assert len(shared.get(f"{key}/rows", limit=1).json()["rows"]) == 1
    with CaptureQueriesContext(connection) as all_rows:
        assert len(shared.get(f"{key}/rows").json()["rows"]) >= 2
    assert len(all_rows) == len(one), [q["sql"][:120] for q in all_rows.captured_queries]
