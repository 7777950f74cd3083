"""Grants and department clients: validation errors are specific and write nothing; the grantor's
scope and separation of duties; revocation; tokens through core's API tokens; calls about a person."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from shequ.core.apiauth import authenticate_token
from shequ.core.apierrors import ApiError
from shequ.core.models import ApiToken, AuditEntry, User
from shequ.sharing.models import Grant, SharingCall
from shequ.sharing.selectors_access import UnknownResource, calls_about_person, resource_for
from shequ.sharing.services.access import GRANT_MAX_DAYS, call_record, grant_revoke, grant_validate
from shequ.sharing.services.clients import client_create, client_token_issue, client_token_revoke
from shequ.sharing.tests import access_fixtures as fx
from shequ.sharing.tests.access_fixtures import COMMUNITY_A, COMMUNITY_B, Shared

shared, fast_hasher, fresh_rate_windows = fx.shared, fx.fast_hasher, fx.fresh_rate_windows


def _errors(shared: Shared, **terms: Any) -> dict[str, list[str]]:
    grants, entries = Grant.objects.count(), AuditEntry.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        shared.grant(terms.pop("resource", "people"), terms.pop("fields", ["name"]), **terms)
    assert Grant.objects.count() == grants, "nothing is written"
    assert AuditEntry.objects.count() == entries
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("terms", "field", "words"),
    [
        ({"resource": "spaceships"}, "resource", "no resource spaceships"),
        ({"fields": []}, "fields", "at least one field"),
        ({"fields": ["name", "shoe_size"]}, "fields", "shoe_size"),
        ({"fields": ["name"], "unmasked": ["phone"]}, "unmasked", "among the granted fields: phone"),
        ({"fields": ["name", "sex"], "unmasked": ["sex"]}, "unmasked", "these are not: sex"),
        ({"region_codes": []}, "region_codes", "at least one region"),
        ({"region_codes": ["439999"]}, "region_codes", "Unknown regions: 439999"),
        ({"row_filters": {"colour": "red"}}, "row_filters", "cannot be filtered by colour"),
        ({"row_filters": {"residence_type": "martian"}}, "row_filters", "martian is not a value"),
        ({"row_filters": {"tag": "drug_user"}}, "row_filters", "drug_user is not a value"),
        ({"purpose": "  "}, "purpose", "required"),
        ({"purpose": "x" * 301}, "purpose", "too long"),
        ({"fields": ["special_tags"], "legal_basis": ""}, "legal_basis", "law or regulation"),
        ({"expires_at": timezone.now() - dt.timedelta(minutes=1)}, "expires_at", "in the future"),
        ({"expires_at": timezone.now() + dt.timedelta(days=GRANT_MAX_DAYS + 1)}, "expires_at", "at most 365"),
        ({"expires_at": dt.datetime(2030, 1, 1)}, "expires_at", "time zone"),
        ({"rate_per_minute": 0}, "rate_per_minute", "between 1 and"),
        ({"rate_per_minute": True}, "rate_per_minute", "between 1 and"),
    ],
)
def test_grant_validation_errors_are_specific_and_write_nothing(
    shared: Shared, terms: dict[str, Any], field: str, words: str
) -> None:
    errors = _errors(shared, **terms)
    assert field in errors, errors
    assert words in errors[field][0], errors[field]


def test_every_problem_is_reported_at_once(shared: Shared) -> None:
    errors = _errors(
        shared,
        fields=["shoe_size"],
        region_codes=[],
        rate_per_minute=0,
        expires_at=timezone.now() - dt.timedelta(days=1),
    )
    assert set(errors) == {"fields", "region_codes", "rate_per_minute", "expires_at"}


def test_sensitive_fields_of_a_resource_that_is_not_shared_are_refused(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from shequ.core.components import SharingType
    from shequ.sharing.services import access

    closed = dataclasses.replace(resource_for("people"), sharing=SharingType.NONE)
    monkeypatch.setattr(access, "resources_all", lambda: {"people": closed})
    errors = _errors(shared, fields=["name", "special_tags"])
    assert "not shared" in errors["fields"][0]
    # Its other fields need a legal basis.
    assert "legal_basis" in _errors(shared, fields=["name"], legal_basis="")


def test_grant_validate_checks_terms_without_a_grantor(shared: Shared) -> None:
    grant_validate(
        resource="people",
        fields=["name"],
        unmasked=["name"],
        region_codes=[COMMUNITY_A],
        row_filters={"age_band": "80+"},
        legal_basis="",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError) as caught:
        grant_validate(
            resource="people",
            fields=["name"],
            unmasked=[],
            region_codes=["1"],
            row_filters={},
            legal_basis="",
            expires_at=timezone.now() + dt.timedelta(days=1),
        )
    assert set(caught.value.message_dict) == {"region_codes"}


def test_a_created_grant_keeps_clean_terms_and_is_audited(shared: Shared) -> None:
    grant = shared.grant(
        "people",
        ["phone", "name", "name"],
        unmasked=["name"],
        region_codes=[COMMUNITY_A, "430104002001001"],
        row_filters={"age_band": "80+", "sex": ""},
        request_id=7,
    )
    assert grant.fields == ["name", "phone"]  # the catalog's order, once each
    assert grant.region_codes == [COMMUNITY_A]  # the grid lies inside the community
    assert grant.row_filters == {"age_band": "80+"}
    assert grant.region_code == COMMUNITY_A and grant.request_id == 7
    assert grant.granted_by == shared.world["secadmin"]
    entry = AuditEntry.objects.get(action="sharing.grant_create", object_id=str(grant.pk))
    assert entry.fields == ["name", "phone"] and entry.detail["unmasked"] == ["name"]


def test_only_a_security_admin_in_scope_grants(shared: Shared) -> None:
    for persona in ("head_a", "street", "auditor", "dept"):
        with pytest.raises(PermissionDenied):
            shared.grant("people", ["name"], actor=shared.world[persona])
    assert not Grant.objects.exists()
    assert AuditEntry.objects.filter(action="sharing.grant_create", result="denied").count() == 4


def test_nobody_grants_to_their_own_department_or_account(shared: Shared) -> None:
    from shequ.core.models import Membership, Role
    from shequ.core.permissions import forget_memberships

    secadmin = shared.world["secadmin"]
    # Core refuses other roles to an administrator; the grant checks it again all the same.
    Membership.objects.create(
        user=secadmin,
        role=Role.DEPARTMENT_STAFF,
        region=shared.department.region,
        region_code=shared.department.region_code,
        department=shared.department,
    )
    forget_memberships(secadmin)
    with pytest.raises(PermissionDenied):
        shared.grant("people", ["name"])
    with pytest.raises(PermissionDenied):
        shared.grant("people", ["name"], client=secadmin)
    assert not Grant.objects.exists()


def test_the_client_must_be_an_account_of_the_department(shared: Shared) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        shared.grant("people", ["name"], client=shared.world["head_a"])
    assert "account of the department" in caught.value.message_dict["client"][0]


def test_revoke_needs_a_reason_and_scope_and_is_idempotent(shared: Shared) -> None:
    grant = shared.grant("people", ["name"], region_codes=[COMMUNITY_B])
    with pytest.raises(ValidationError):
        grant_revoke(actor=shared.world["secadmin"], grant=grant, reason=" ")
    with pytest.raises(PermissionDenied):
        grant_revoke(actor=shared.world["head_b"], grant=grant, reason="不再需要")
    revoked = grant_revoke(actor=shared.world["secadmin"], grant=grant, reason="不再需要")
    assert revoked.revoked_at is not None and revoked.revoke_reason == "不再需要"
    again = grant_revoke(actor=shared.world["secadmin"], grant=grant, reason="再次")
    assert again.revoked_at == revoked.revoked_at and again.revoke_reason == "不再需要"
    assert AuditEntry.objects.filter(action="sharing.grant_revoke", result="success").count() == 1


def test_client_account_and_token_through_core(shared: Shared) -> None:
    token = ApiToken.objects.get(user=shared.client)
    assert token.scopes == ["sharing:read"]
    assert authenticate_token(shared.token).pk == token.pk
    assert not shared.client.has_usable_password()
    new, raw = client_token_issue(
        actor=shared.world["secadmin"],
        department=shared.department,
        client=shared.client,
        token_name="轮换",
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    assert client_token_revoke(
        actor=shared.world["secadmin"], department=shared.department, token=token, reason="密钥轮换"
    )
    with pytest.raises(ApiError):
        authenticate_token(shared.token)
    assert authenticate_token(raw).pk == new.pk
    actions = set(
        AuditEntry.objects.filter(action__startswith="sharing.client").values_list("action", flat=True)
    )
    assert actions == {"sharing.client_create", "sharing.client_token_issue", "sharing.client_token_revoke"}


def test_clients_need_the_grant_permission_and_not_their_own_department(shared: Shared) -> None:
    for persona in ("sysadmin", "head_a", "dept"):
        with pytest.raises(PermissionDenied):
            client_create(
                actor=shared.world[persona],
                department=shared.department,
                username=f"x-{persona}",
                display_name="x",
                token_name="x",
                expires_at=timezone.now() + dt.timedelta(days=1),
            )
    assert not User.objects.filter(username__startswith="x-").exists()
    with pytest.raises(ValidationError) as caught:
        client_create(
            actor=shared.world["secadmin"],
            department=shared.department,
            username="no-expiry",
            display_name="x",
            token_name="x",
            expires_at=None,
        )
    assert "expires_at" in caught.value.message_dict
    assert not User.objects.filter(username="no-expiry").exists()


def test_calls_about_a_person(shared: Shared) -> None:
    grant = shared.grant("people", ["name"])
    shared.get("people/rows")
    shared.get("tickets/rows")  # refused: about nobody
    person = shared.people["a"]
    calls = list(calls_about_person([person.pk]))
    assert len(calls) == 1 and calls[0].grant == grant and calls[0].department == shared.department
    assert not calls_about_person([shared.people["b"].pk]).exists()
    webhook = call_record(
        grant=grant, outcome="ok", rows=[person], query={"webhook": 1, "event": "registry.person_moved_out"}
    )
    assert calls_about_person([person.pk]).first() == webhook
    assert webhook.rows == 1 and SharingCall.objects.filter(pk=webhook.pk, regions__rows=1).exists()


def test_resource_for_unknown_key() -> None:
    from django.http import Http404

    with pytest.raises(UnknownResource):
        resource_for("spaceships")
    assert issubclass(UnknownResource, Http404) and issubclass(UnknownResource, ValueError)
