"""Submission, review and roll-up: community → street → county sums with ratios from the sums; a
returned report fixed and resubmitted keeps every snapshot; manual fields are checked; siblings can
neither read, submit nor review; a snapshot never changes; a new template version leaves the old
one's instances alone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone, translation

from shequ.conftest import World
from shequ.core import accounts, outbox
from shequ.core.models import Message, Region, Role, User
from shequ.registry.tests.conftest import (  # noqa: F401 - fixtures
    COMMUNITY_A,
    COMMUNITY_B,
    GRID_A,
    Registry,
    _fast_password_hasher,
    reg,
)
from shequ.reports.models import (
    InstanceStatus,
    ReportInstance,
    ReportSnapshot,
    ReportTemplate,
    SnapshotOutcome,
)
from shequ.reports.selectors_reports import (
    cell_records,
    children_of,
    instance_for,
    instances_for,
    to_fill_count,
    to_review_count,
)
from shequ.reports.services import (
    fill_period,
    instance_approve,
    instance_refresh,
    instance_return,
    instance_save_manual,
    instance_submit,
    seed_templates,
    template_publish,
)

STREET = "430104002"
OTHER_STREET = "430104003"
OTHER_COMMUNITY = "430104003001"
COUNTY = "430104"
GOOD = {"staff": "12", "grid_workers": "4", "office_area": "650.5"}


def person(world: World, name: str, role: str, code: str) -> User:
    user = accounts.user_create(actor=None, username=name, display_name=name, password=None)
    accounts.membership_grant(actor=None, user=user, role=role, region=world.regions[code])
    return user


@pytest.fixture
def setup(reg: Registry) -> dict[str, Any]:  # noqa: F811
    seed_templates()
    world = reg.world
    template = ReportTemplate.objects.get(key="community_basic", active=True)
    fill_period(template=template, period_start=timezone.localdate())
    return {
        "world": world,
        "reg": reg,
        "template": template,
        "county": person(world, "county", Role.COUNTY_OFFICER, COUNTY),
        "street2": person(world, "street2", Role.STREET_OFFICER, OTHER_STREET),
        "province": person(world, "province", Role.PROVINCE_OFFICER, "43"),
    }


def inst(template: ReportTemplate, code: str) -> ReportInstance:
    return ReportInstance.objects.select_related("template", "region").get(
        template=template, region_code=code, period_start=template.period_of(timezone.localdate())[0]
    )


def submit_community(template: ReportTemplate, code: str, user: User, manual: dict[str, str] = GOOD) -> None:
    instance_save_manual(actor=user, instance=inst(template, code), manual=manual)
    instance_submit(actor=user, instance=inst(template, code))


def test_rollup_equals_the_sum_of_children_up_to_the_county(setup: dict[str, Any]) -> None:
    w, t = setup["world"], setup["template"]
    submit_community(t, COMMUNITY_A, w["worker_a"])
    submit_community(t, COMMUNITY_B, w["head_b"], {"staff": "8", "grid_workers": "2", "office_area": "300"})
    submit_community(
        t, OTHER_COMMUNITY, w["outsider"], {"staff": "5", "grid_workers": "1", "office_area": "99.5"}
    )
    street = inst(t, STREET)
    # Not every community is approved: the street cannot submit yet, and says which one is missing.
    with pytest.raises(ValidationError) as missing:
        instance_submit(actor=w["street"], instance=street)
    assert "泽盛社区" in str(missing.value) and "枇杷塘社区" in str(missing.value)
    instance_approve(actor=w["street"], instance=inst(t, COMMUNITY_A))
    instance_approve(actor=w["street"], instance=inst(t, COMMUNITY_B))
    instance_approve(actor=setup["street2"], instance=inst(t, OTHER_COMMUNITY))
    outbox.run_pending()
    a, b, c = (inst(t, code) for code in (COMMUNITY_A, COMMUNITY_B, OTHER_COMMUNITY))
    street = inst(t, STREET)
    for key, value in street.values.items():
        if key.endswith(("ratio:total", "ratio:male", "ratio:female")):
            continue
        assert value == a.values[key] + b.values[key], key
    assert street.manual == {"staff": 20, "grid_workers": 6, "office_area": 950.5}
    residents = a.values["residents:total"] + b.values["residents:total"]
    elderly = a.values["elderly:total"] + b.values["elderly:total"]
    expected = round(elderly * 100 / residents, 1) if residents else None
    assert street.values["elderly_ratio:total"] == expected
    instance_submit(actor=w["street"], instance=street)
    instance_submit(actor=setup["street2"], instance=inst(t, OTHER_STREET))
    instance_approve(actor=setup["county"], instance=inst(t, STREET))
    instance_approve(actor=setup["county"], instance=inst(t, OTHER_STREET))
    outbox.run_pending()
    county = inst(t, COUNTY)
    assert county.values["residents:total"] == residents + c.values["residents:total"]
    assert county.manual["staff"] == 25
    # The receiving level submits to nobody: its submission is final.
    snapshot = instance_submit(actor=setup["county"], instance=county)
    assert snapshot.outcome == SnapshotOutcome.APPROVED
    assert inst(t, COUNTY).status == InstanceStatus.APPROVED
    assert snapshot.values["residents:total"] == county.values["residents:total"]
    assert [i.region_code for i in children_of(viewer=setup["county"], instance=county)] == [
        STREET,
        OTHER_STREET,
    ]


def test_returned_report_is_fixed_and_resubmitted_with_history(setup: dict[str, Any]) -> None:
    w, t = setup["world"], setup["template"]
    submit_community(t, COMMUNITY_A, w["worker_a"])
    outbox.run_pending()
    # The reviewer is told, in Chinese.
    told = Message.objects.get(recipient=w["street"], topic="reports.instance")
    assert "待审核" in told.subject and "枇杷塘社区" in told.subject
    assert to_review_count(w["street"]) == 1 and to_review_count(w["head_b"]) == 0
    with pytest.raises(ValidationError):
        instance_return(actor=w["street"], instance=inst(t, COMMUNITY_A), reason="  ")
    instance_return(
        actor=w["street"], instance=inst(t, COMMUNITY_A), reason="社区工作者人数与花名册不符，请核实。"
    )
    outbox.run_pending()
    returned = inst(t, COMMUNITY_A)
    assert returned.status == InstanceStatus.RETURNED and "花名册" in returned.return_reason
    notice = Message.objects.get(recipient=w["worker_a"], topic="reports.instance")
    assert "退回" in notice.subject and "花名册" in notice.body
    assert to_fill_count(w["worker_a"]) >= 1
    instance_save_manual(actor=w["worker_a"], instance=returned, manual={"staff": "11"})
    instance_submit(actor=w["worker_a"], instance=inst(t, COMMUNITY_A))
    instance_approve(actor=w["street"], instance=inst(t, COMMUNITY_A))
    outbox.run_pending()
    told_filler = Message.objects.filter(recipient=w["worker_a"], topic="reports.instance").order_by("pk")
    assert [m.subject.split("：")[0] for m in told_filler] == ["报表被退回", "报表已审核通过"]
    assert (
        told_filler[0].body.startswith("退回理由：社区工作者人数与花名册不符")
        and "重新上报" in told_filler[0].body
    )
    history = list(ReportSnapshot.objects.filter(instance=returned).order_by("revision"))
    assert [(s.revision, s.outcome) for s in history] == [(1, "returned"), (2, "approved")]
    assert history[0].manual["staff"] == 12 and history[1].manual["staff"] == 11
    assert history[0].outcome_reason.startswith("社区工作者人数") and history[0].outcome_by == w["street"]
    final = inst(t, COMMUNITY_A)
    assert final.status == InstanceStatus.APPROVED and final.revision == 2
    # Approved: nothing more can change it.
    with pytest.raises(ValidationError):
        instance_save_manual(actor=w["worker_a"], instance=final, manual={"staff": "1"})
    with pytest.raises(ValidationError):
        instance_return(actor=w["street"], instance=final, reason="再看看")


def test_manual_fields_bad_input_gets_specific_errors_and_saves_nothing(setup: dict[str, Any]) -> None:
    w, t = setup["world"], setup["template"]
    instance_save_manual(actor=w["worker_a"], instance=inst(t, COMMUNITY_A), manual={"staff": "3"})
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        instance_save_manual(
            actor=w["worker_a"],
            instance=inst(t, COMMUNITY_A),
            manual={"staff": "12人", "grid_workers": "-1", "office_area": "10.123", "nope": "1"},
        )
    errors = caught.value.message_dict
    assert set(errors) == {"staff", "grid_workers", "office_area", "nope"}
    assert "whole number" in errors["staff"][0]
    assert "at least 0" in errors["grid_workers"][0]
    assert "two decimals" in errors["office_area"][0]
    assert inst(t, COMMUNITY_A).manual == {"staff": 3}
    with translation.override("en"), pytest.raises(ValidationError) as too_big:
        instance_save_manual(actor=w["worker_a"], instance=inst(t, COMMUNITY_A), manual={"staff": "501"})
    assert "at most 500" in too_big.value.message_dict["staff"][0]
    # Required fields are checked at submission.
    with pytest.raises(ValidationError) as required:
        instance_submit(actor=w["worker_a"], instance=inst(t, COMMUNITY_A))
    assert set(required.value.message_dict) == {"grid_workers", "office_area"}
    assert inst(t, COMMUNITY_A).status == InstanceStatus.DRAFT
    assert not ReportSnapshot.objects.exists()
    # A choice must be one of its options (退役军人服务站是否建成: 是/否).
    veterans = ReportTemplate.objects.get(key="veterans", active=True)
    fill_period(template=veterans, period_start=timezone.localdate(), root=COMMUNITY_A)
    with translation.override("en"), pytest.raises(ValidationError) as choice:
        instance_save_manual(
            actor=w["worker_a"], instance=inst(veterans, COMMUNITY_A), manual={"station": "有"}
        )
    assert "Choose one of" in choice.value.message_dict["station"][0]
    # Above the filling level, summed fields are not typed.
    with pytest.raises(ValidationError):
        instance_save_manual(actor=w["street"], instance=inst(t, STREET), manual={"staff": "3"})


def test_sibling_community_and_street_can_neither_read_submit_nor_review(setup: dict[str, Any]) -> None:
    w, t = setup["world"], setup["template"]
    a = inst(t, COMMUNITY_A)
    for outsider in (w["head_b"], w["outsider"], setup["street2"], w["resident"], w["dept"]):
        with pytest.raises(Http404):
            instance_for(viewer=outsider, pk=a.pk)
        assert not instances_for(viewer=outsider).filter(pk=a.pk).exists()
        with pytest.raises(Http404):
            cell_records(viewer=outsider, instance=a, cell_key="residents:total")
    for outsider in (w["head_b"], w["outsider"], setup["street2"]):
        with pytest.raises(PermissionDenied):
            instance_save_manual(actor=outsider, instance=a, manual=GOOD)
        with pytest.raises(PermissionDenied):
            instance_submit(actor=outsider, instance=a)
        with pytest.raises(PermissionDenied):
            instance_refresh(actor=outsider, instance=a)
    submit_community(t, COMMUNITY_A, w["worker_a"])
    for outsider in (w["head_b"], w["worker_a"], setup["street2"], w["outsider"]):
        with pytest.raises(PermissionDenied):
            instance_approve(actor=outsider, instance=inst(t, COMMUNITY_A))
        with pytest.raises(PermissionDenied):
            instance_return(actor=outsider, instance=inst(t, COMMUNITY_A), reason="不对")
    assert inst(t, COMMUNITY_A).status == InstanceStatus.SUBMITTED
    # The community sees its own report, not the street's (which holds its sibling's numbers).
    assert not instances_for(viewer=w["worker_a"]).filter(region_code=STREET).exists()
    assert (
        instances_for(viewer=w["street"]).filter(region_code__in=[COMMUNITY_A, COMMUNITY_B, STREET]).count()
        == 3
    )


def test_a_reviewer_neither_fills_the_reports_below_nor_approves_its_own_submission(
    setup: dict[str, Any],
) -> None:
    w, t = setup["world"], setup["template"]
    a = inst(t, COMMUNITY_A)
    # The street holds reports.fill over the community's code by prefix, but fills only its own.
    with pytest.raises(PermissionDenied):
        instance_save_manual(actor=w["street"], instance=a, manual=GOOD)
    with pytest.raises(PermissionDenied):
        instance_submit(actor=w["street"], instance=a)
    with pytest.raises(PermissionDenied):
        instance_refresh(actor=w["street"], instance=a)
    assert inst(t, COMMUNITY_A).status == InstanceStatus.DRAFT and inst(t, COMMUNITY_A).revision == 0
    # One person with a membership in both the community and the street: not their own approval.
    accounts.membership_grant(
        actor=None, user=w["worker_a"], role=Role.STREET_OFFICER, region=Region.objects.get(code=STREET)
    )
    submit_community(t, COMMUNITY_A, w["worker_a"])
    with pytest.raises(PermissionDenied):
        instance_approve(actor=w["worker_a"], instance=inst(t, COMMUNITY_A))
    assert inst(t, COMMUNITY_A).status == InstanceStatus.SUBMITTED
    instance_approve(actor=w["street"], instance=inst(t, COMMUNITY_A))
    assert inst(t, COMMUNITY_A).status == InstanceStatus.APPROVED


def test_a_submitted_snapshot_does_not_change_when_the_data_change(setup: dict[str, Any]) -> None:
    w, t, r = setup["world"], setup["template"], setup["reg"]
    submit_community(t, COMMUNITY_A, w["worker_a"])
    before = inst(t, COMMUNITY_A).values
    snapshot = ReportSnapshot.objects.get()
    frozen = dict(snapshot.values)
    b_before = inst(t, COMMUNITY_B).values["residents:total"]
    r.register("新居民", r.houses["a"][0], birth="19500101")
    r.register("新邻居", r.houses["c"][0], birth="19500101")
    fill_period(template=t, period_start=timezone.localdate())
    assert inst(t, COMMUNITY_A).values == before
    snapshot.refresh_from_db()
    assert snapshot.values == frozen
    assert inst(t, COMMUNITY_B).values["residents:total"] == b_before + 1  # a draft follows the data
    with pytest.raises(ValidationError):
        instance_refresh(actor=w["worker_a"], instance=inst(t, COMMUNITY_A))


def test_a_new_template_version_leaves_the_old_ones_instances_alone(setup: dict[str, Any]) -> None:
    w, t = setup["world"], setup["template"]
    submit_community(t, COMMUNITY_A, w["worker_a"])
    old_values = inst(t, COMMUNITY_A).values
    definition = {
        **t.definition,
        "rows": [
            *t.definition["rows"],
            {"key": "party", "title": "党员人数", "manual": {"type": "int", "min": 0}},
        ],
    }
    with pytest.raises(PermissionDenied):
        template_publish(
            actor=w["street"],
            key=t.key,
            title=t.title,
            number=t.number,
            periodicity=t.periodicity,
            fill_level=t.fill_level,
            receive_level=t.receive_level,
            definition=definition,
            note="加党员人数",
        )
    with pytest.raises(ValidationError) as bad:
        template_publish(
            actor=setup["province"],
            key=t.key,
            title=t.title,
            number=t.number,
            periodicity=t.periodicity,
            fill_level=t.fill_level,
            receive_level=t.receive_level,
            definition={"rows": [{"key": "x", "title": "X", "stat": "registry.nothing"}]},
            note="",
        )
    assert "registry.nothing" in str(bad.value)
    v2 = template_publish(
        actor=setup["province"],
        key=t.key,
        title=t.title,
        number=t.number,
        periodicity=t.periodicity,
        fill_level=t.fill_level,
        receive_level=t.receive_level,
        definition=definition,
        note="加党员人数",
    )
    assert v2.version == 2 and v2.active
    t.refresh_from_db()
    assert not t.active
    fill_period(template=v2, period_start=timezone.localdate())
    old = inst(t, COMMUNITY_A)
    assert old.values == old_values and old.status == InstanceStatus.SUBMITTED and old.template_id == t.pk
    new = inst(v2, COMMUNITY_A)
    assert (
        new.status == InstanceStatus.DRAFT and new.values["residents:total"] == old_values["residents:total"]
    )
    # Seeding again does not replace a version a person published.
    assert seed_templates() == 0
    assert ReportTemplate.objects.get(key=t.key, active=True).pk == v2.pk


def test_periods_of_other_months_are_separate(setup: dict[str, Any]) -> None:
    t = setup["template"]
    fill_period(template=t, period_start=date(2026, 1, 15))
    assert (
        ReportInstance.objects.filter(
            template=t, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31)
        ).count()
        == 6
    )
