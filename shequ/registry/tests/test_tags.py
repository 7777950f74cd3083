"""Key populations: the seeded catalog, tags on people, and restricted tags that only granted
accounts see — in lists, counts, filters, pickers and timelines — with every view audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from shequ.core.models import AuditEntry
from shequ.registry import selectors, services
from shequ.registry.models import PersonTag, TagCategory, TagGrant
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, Registry

STREET = "430104002"


def in_a_year() -> object:
    return timezone.now() + timedelta(days=300)


def grant(reg: Registry, persona: str, region: str = STREET, **kwargs: object) -> TagGrant:
    return services.tag_grant(
        actor=reg.world["secadmin"],
        user=reg.world[persona],
        region=reg.region(region),
        expires_at=in_a_year(),  # type: ignore[arg-type]
        reason="禁毒工作需要",
        **kwargs,  # type: ignore[arg-type]
    )


def test_catalog_is_seeded_with_care_and_special_groups(db: None) -> None:
    by_code = {c.code: c for c in TagCategory.objects.all()}
    assert {"elderly_80", "living_alone", "disabled", "low_income", "left_behind_child", "veteran"} <= set(
        by_code
    )
    assert by_code["elderly_60"].min_age == 60 and by_code["elderly_60"].group == "care"
    assert by_code["drug_user"].sensitivity == "restricted" and by_code["drug_user"].group == "special"
    assert by_code["community_correction"].sensitivity == "restricted"
    assert by_code["severe_mental_disorder"].sensitivity == "secret"
    assert all(c.sensitivity == "normal" for c in by_code.values() if c.group == "care")


def test_care_tag_lifecycle(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    tag = services.tag_add(actor=w["grid_a"], person=person, category="disabled", subtype="visual", grade="2")
    with pytest.raises(ValidationError):
        services.tag_add(actor=w["grid_a"], person=person, category="disabled")
    with pytest.raises(PermissionDenied):  # four eyes
        services.tag_verify(actor=w["grid_a"], tag=tag)
    with pytest.raises(PermissionDenied):  # a grid worker does not verify
        services.tag_verify(actor=w["grid_b"], tag=tag)
    services.tag_verify(actor=w["head_a"], tag=tag)
    tag.refresh_from_db()
    assert tag.verified_by == w["head_a"] and tag.verified_at is not None
    assert [t.category.code for t in selectors.person_tag_list(viewer=w["grid_a"], person=person)] == [
        "disabled"
    ]
    assert selectors.tag_counts(viewer=w["worker_a"]) == {"disabled": 1}
    with pytest.raises(ValidationError):
        services.tag_end(actor=w["grid_a"], tag=tag, reason="")
    services.tag_end(actor=w["grid_a"], tag=tag, reason="复查不符合")
    tag.refresh_from_db()
    assert not tag.active and tag.valid_to == timezone.localdate() and tag.end_reason == "复查不符合"
    assert selectors.person_tag_list(viewer=w["grid_a"], person=person) == []
    assert len(selectors.person_tag_list(viewer=w["grid_a"], person=person, include_ended=True)) == 1
    assert [e.action for e in selectors.person_timeline(w["grid_a"], person.pk)][:3] == [
        "tag.end",
        "tag.verify",
        "tag.add",
    ]
    # Care tags are not restricted: no tag_view audit for them.
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()


def test_care_tags_are_scoped_like_people(reg: Registry) -> None:
    w = reg.world
    services.tag_add(actor=None, person=reg.people["a"], category="veteran")
    services.tag_add(actor=None, person=reg.people["b"], category="veteran")
    services.tag_add(actor=None, person=reg.people["c"], category="veteran")
    assert selectors.tag_counts(viewer=w["grid_a"]) == {"veteran": 1}
    assert selectors.tag_counts(viewer=w["worker_a"]) == {"veteran": 2}
    assert selectors.tag_counts(viewer=w["head_b"]) == {"veteran": 1}
    assert selectors.tag_counts(viewer=w["street"]) == {"veteran": 3}
    assert selectors.tag_counts(viewer=w["outsider"]) == {}
    with pytest.raises(PermissionDenied):
        services.tag_add(actor=w["grid_b"], person=reg.people["a"], category="orphan")


def test_restricted_tag_is_hidden_without_a_grant_everywhere(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    with pytest.raises(PermissionDenied):  # no grant: not even the community can add it
        services.tag_add(actor=w["head_a"], person=person, category="drug_user")
    grant(reg, "dept", category="drug_user")
    services.tag_add(
        actor=w["dept"], person=person, category="drug_user", source="department", note="戒毒康复期"
    )
    services.tag_add(actor=w["grid_a"], person=person, category="low_income")

    for persona in ("grid_a", "worker_a", "head_a", "street"):
        viewer = w[persona]
        assert [t.category.code for t in selectors.person_tag_list(viewer=viewer, person=person)] == [
            "low_income"
        ]
        assert selectors.tag_counts(viewer=viewer) == {"low_income": 1}
        assert not selectors.person_list(viewer=viewer, tag="drug_user").exists()
        assert "drug_user" not in {c.code for c in selectors.tag_category_list(viewer=viewer)}
        assert not PersonTag.objects.filter(
            selectors.visible_tag_q(viewer), category__code="drug_user"
        ).exists()
        timeline = selectors.person_timeline(viewer, person.pk)
        assert all(e.tag_category is None or e.tag_category.code != "drug_user" for e in timeline)
        assert not selectors.can_view_tag(viewer, PersonTag.objects.get(category__code="drug_user"))
    assert not AuditEntry.objects.filter(action="registry.tag_view").exists()


def test_granted_account_sees_restricted_tag_and_each_view_is_audited(reg: Registry) -> None:
    w = reg.world
    person = reg.people["a"]
    grant(reg, "dept", category="drug_user")
    tag = services.tag_add(actor=w["dept"], person=person, category="drug_user", note="戒毒康复期")
    tags = selectors.person_tag_list(viewer=w["dept"], person=person)
    assert [t.category.code for t in tags] == ["drug_user"]
    assert tags[0].note == "戒毒康复期"
    entry = AuditEntry.objects.filter(action="registry.tag_view").latest("id")
    assert (
        entry.actor_id == w["dept"].pk and entry.object_id == str(person.pk) and entry.fields == ["drug_user"]
    )
    assert entry.region_code == person.region_code
    assert selectors.tag_counts(viewer=w["dept"]) == {"drug_user": 1}
    assert list(selectors.person_list(viewer=w["dept"], tag="drug_user")) == [person]
    assert "drug_user" in {c.code for c in selectors.tag_category_list(viewer=w["dept"])}
    before = AuditEntry.objects.filter(action="registry.tag_view").count()
    timeline = selectors.person_timeline(w["dept"], person.pk)
    assert any(e.tag_category and e.tag_category.code == "drug_user" for e in timeline)
    assert AuditEntry.objects.filter(action="registry.tag_view").count() == before + 1
    # The note is encrypted at rest.
    assert "戒毒" not in str(PersonTag.objects.filter(pk=tag.pk).values_list("note", flat=True)[0])


def test_grant_is_limited_to_its_category_level_and_region(reg: Registry) -> None:
    w = reg.world
    person_a, person_c = reg.people["a"], reg.people["c"]
    for person in (person_a, person_c):
        services.tag_add(actor=None, person=person, category="drug_user")
        services.tag_add(actor=None, person=person, category="severe_mental_disorder")
    # A grant for the restricted level in community B only.
    grant(reg, "dept", region=COMMUNITY_B, sensitivity="restricted")
    dept = w["dept"]
    assert [t.category.code for t in selectors.person_tag_list(viewer=dept, person=person_c)] == ["drug_user"]
    assert selectors.person_tag_list(viewer=dept, person=person_a) == []
    # Secret needs the secret level (or the category itself).
    grant(reg, "dept", region=COMMUNITY_A, sensitivity="secret")
    codes = {t.category.code for t in selectors.person_tag_list(viewer=dept, person=person_a)}
    assert codes == {"drug_user", "severe_mental_disorder"}
    assert selectors.tag_counts(viewer=dept) == {"drug_user": 2, "severe_mental_disorder": 1}


def test_person_list_by_tag_is_one_uncorrelated_subquery_within_the_grant(reg: Registry) -> None:
    """``person_list(tag=…)`` reads the tagged people once (``pk IN (…)``), not a correlated EXISTS
    per person (slow on SQLite), and still shows only tags the viewer's grants cover."""
    w = reg.world
    person_a, person_c = reg.people["a"], reg.people["c"]
    for person in (person_a, person_c):
        services.tag_add(actor=None, person=person, category="drug_user")
    grant(reg, "dept", region=COMMUNITY_B, sensitivity="restricted")
    people = selectors.person_list(viewer=w["dept"], tag="drug_user")
    sql = str(people.query)
    assert "EXISTS" not in sql and '"registry_person"."id" IN (SELECT' in sql, sql
    assert list(people) == [person_c]  # community A's tag is outside the grant
    assert not selectors.person_list(viewer=w["head_a"], tag="drug_user").exists()  # no grant at all
    services.tag_end(actor=w["dept"], tag=PersonTag.objects.get(person=person_c), reason="ended")
    assert not selectors.person_list(viewer=w["dept"], tag="drug_user").exists()  # ended tags do not count


def test_expired_and_revoked_grants_show_nothing(reg: Registry) -> None:
    w = reg.world
    services.tag_add(actor=None, person=reg.people["a"], category="community_correction")
    g = grant(reg, "head_a", region=COMMUNITY_A, category="community_correction")
    assert selectors.tag_counts(viewer=w["head_a"]) == {"community_correction": 1}
    TagGrant.objects.filter(pk=g.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    selectors.forget_grants(w["head_a"])
    assert selectors.tag_counts(viewer=w["head_a"]) == {}
    g2 = grant(reg, "head_a", region=COMMUNITY_A, category="community_correction")
    assert selectors.tag_counts(viewer=w["head_a"]) == {"community_correction": 1}
    with pytest.raises(PermissionDenied):
        services.tag_grant_revoke(actor=w["head_a"], grant=g2, reason="自己撤销")
    services.tag_grant_revoke(actor=w["secadmin"], grant=g2, reason="岗位调整")
    assert selectors.tag_counts(viewer=w["head_a"]) == {}
    assert AuditEntry.objects.filter(action="registry.tag_grant_revoke", result="success").exists()


def test_only_a_security_admin_grants_and_never_to_themselves(reg: Registry) -> None:
    w = reg.world
    for persona in ("head_a", "street", "sysadmin", "auditor"):
        with pytest.raises(PermissionDenied):
            services.tag_grant(
                actor=w[persona],
                user=w["dept"],
                region=reg.region(STREET),
                expires_at=in_a_year(),  # type: ignore[arg-type]
                reason="x",
                category="drug_user",
            )
    with pytest.raises(PermissionDenied):
        services.tag_grant(
            actor=w["secadmin"],
            user=w["secadmin"],
            region=reg.region(STREET),
            expires_at=in_a_year(),  # type: ignore[arg-type]
            reason="x",
            sensitivity="secret",
        )
    denied = AuditEntry.objects.filter(action="registry.tag_grant", result="denied")
    assert denied.count() == 5
    assert not TagGrant.objects.exists()
    g = grant(reg, "dept", category="drug_user")
    entry = AuditEntry.objects.get(action="registry.tag_grant", result="success")
    assert entry.actor_id == w["secadmin"].pk and entry.object_id == str(w["dept"].pk) and entry.reason
    assert g.granted_by == w["secadmin"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"category": "low_income"}, "category"),  # not restricted
        ({}, "category"),  # neither category nor level
        ({"category": "drug_user", "sensitivity": "secret"}, "category"),  # both
        ({"sensitivity": "normal"}, "sensitivity"),
        ({"category": "drug_user", "expires_at": "past"}, "expires_at"),
        ({"category": "drug_user", "expires_at": "far"}, "expires_at"),
        ({"category": "drug_user", "user": "auditor"}, "user"),  # admins see no personal data
        ({"category": "drug_user", "user": "outsider"}, "user"),  # sees no people there
        ({"category": "drug_user", "reason": " "}, "reason"),
    ],
)
def test_bad_grants_are_refused(reg: Registry, kwargs: dict[str, str], field: str) -> None:
    expires = {"past": timezone.now() - timedelta(days=1), "far": timezone.now() + timedelta(days=400)}
    args: dict[str, object] = {
        "actor": reg.world["secadmin"],
        "user": reg.world[kwargs.pop("user", "dept")],
        "region": reg.region(STREET),
        "expires_at": expires.get(kwargs.pop("expires_at", ""), in_a_year()),
        "reason": kwargs.pop("reason", "工作需要"),
        **kwargs,
    }
    with pytest.raises(ValidationError) as exc:
        services.tag_grant(**args)  # type: ignore[arg-type]
    assert field in exc.value.message_dict
    assert not TagGrant.objects.exists()


def test_restricted_tag_needs_a_grant_to_verify_and_four_eyes(reg: Registry) -> None:
    w = reg.world
    grant(reg, "dept", category="drug_user")
    tag = services.tag_add(actor=w["dept"], person=reg.people["a"], category="drug_user")
    with pytest.raises(PermissionDenied):
        services.tag_verify(actor=w["dept"], tag=tag)  # added it
    with pytest.raises(PermissionDenied):
        services.tag_verify(actor=w["head_a"], tag=tag)  # may verify tags, but has no grant
    grant(reg, "head_a", region=COMMUNITY_A, category="drug_user")
    services.tag_verify(actor=w["head_a"], tag=tag)
    tag.refresh_from_db()
    assert tag.verified_by == w["head_a"]


def test_a_list_filtered_by_a_restricted_tag_is_audited(reg: Registry) -> None:
    w = reg.world
    grant(reg, "dept", category="drug_user")
    services.tag_add(actor=None, person=reg.people["a"], category="drug_user")
    services.tag_add(actor=None, person=reg.people["c"], category="drug_user")
    services.tag_add(actor=None, person=reg.people["b"], category="veteran")
    people = list(selectors.person_list(viewer=w["dept"], tag="drug_user"))
    assert set(people) == {reg.people["a"], reg.people["c"]}
    selectors.record_tag_filter_view(w["dept"], tag="drug_user", people=people, context="ledger")
    entry = AuditEntry.objects.get(action="registry.tag_view")
    assert entry.detail["people"] == sorted(p.pk for p in people) and entry.region_code == "430104002"
    selectors.record_tag_filter_view(w["dept"], tag="veteran", people=[reg.people["b"]])
    assert AuditEntry.objects.filter(action="registry.tag_view").count() == 1
