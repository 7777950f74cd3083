"""The evacuation-assistance list and 一对一包保 at the service level: who is on it with which needs
and helpers, the viewer's scope (a grid worker sees their grid's people only, a sibling community
nobody), the audit of each opening, and helpers added and removed — bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shequ.core.models import AuditEntry
from shequ.emergency import assistance
from shequ.emergency.models import AssistanceLink, Warning
from shequ.emergency.services import helpers, warnings
from shequ.emergency.tests.conftest import COMMUNITY_A, GRID_B, GRID_C, Registry
from shequ.registry.services.tags import tag_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(town: Registry) -> Registry:
    """张三 (grid A) lives alone; 李四 (grid B) is disabled, grade 2, physical; 王五 (community B)
    is disabled elderly; 赵六 (grid A) is under a restricted tag only (never on the list)."""
    tag_add(actor=None, person=town.people["a"], category="living_alone")
    tag_add(actor=None, person=town.people["b"], category="disabled", subtype="physical", grade="2")
    tag_add(actor=None, person=town.people["c"], category="disabled_elderly")
    from shequ.registry.models import TagCategory

    restricted = TagCategory.objects.filter(sensitivity="restricted").first()
    assert restricted is not None
    from shequ.registry.models import PersonTag

    PersonTag.objects.create(
        person=town.people["a2"], category=restricted, region_code=town.people["a2"].region_code
    )
    return town


def community_warning(town: Registry) -> Warning:
    return warnings.warning_draft(
        actor=town.world["head_a"],
        kind="rainstorm",
        level=3,
        title="暴雨橙色预警",
        text="低洼处住户做好转移准备。",
        area_codes=[COMMUNITY_A],
    )


def names(rows: list[assistance.AssistanceRow]) -> list[str]:
    return sorted(r.name for r in rows)


def test_the_list_names_needs_and_helpers_and_flags_people_without_their_own(listed: Registry) -> None:
    head = listed.world["head_a"]
    helpers.helper_add(
        actor=head,
        person_id=listed.people["a"].pk,
        relation="family",
        helper_name="张小三",
        helper_phone="13900001111",
    )
    warning = community_warning(listed)
    rows = assistance.assistance_list_for(viewer=head, warning=warning)
    assert names(rows) == ["张三", "李四"]  # not 赵六 (restricted tag), not 王五 (community B)
    by_name = {r.name: r for r in rows}
    zhang, li = by_name["张三"], by_name["李四"]
    assert zhang.need_words == ("独居老人",) and li.need_words == ("残疾人 二级 肢体",)
    assert zhang.place and zhang.grid_name == "第一网格"
    # Own helper first, with the number masked; then the grid worker, who helps everyone of the grid.
    assert [(h.name, h.relation, h.phone) for h in zhang.helpers] == [
        ("张小三", "family", "139****1111"),
        ("grid_a", "grid_worker", ""),
    ]
    assert zhang.own_helpers and not li.own_helpers
    assert [h.name for h in li.helpers] == ["grid_b"]
    # Opening it is audited with the count (and no ID number or phone is on a row).
    entry = AuditEntry.objects.filter(action="emergency.assistance_read").latest("pk")
    assert entry.detail["count"] == 2 and entry.object_id == str(warning.pk)
    assert not any(hasattr(r, "id_number") or hasattr(r, "phone") for r in rows)


def test_a_grid_worker_sees_only_their_grid_and_a_sibling_community_nothing(listed: Registry) -> None:
    warning = community_warning(listed)
    grid_a = listed.world["grid_a"]
    assert assistance.assist_warning_get_for(grid_a, warning.pk) == warning
    assert names(assistance.assistance_list_for(viewer=grid_a, warning=warning)) == ["张三"]
    assert names(assistance.assistance_list_for(viewer=listed.world["grid_b"], warning=warning)) == ["李四"]
    assert names(assistance.assistance_list_for(viewer=listed.world["grid_a"])) == ["张三"]
    # The sibling community's head: the warning is a 404, their own list has their own person only.
    with pytest.raises(Http404):
        assistance.assist_warning_get_for(listed.world["head_b"], warning.pk)
    assert names(assistance.assistance_list_for(viewer=listed.world["head_b"])) == ["王五"]
    with pytest.raises(Http404):
        assistance.assist_warning_get_for(listed.world["outsider"], warning.pk)
    with pytest.raises(Http404):
        assistance.assist_warning_get_for(listed.world["resident"], warning.pk)


def test_a_person_of_a_sibling_community_is_a_404(listed: Registry) -> None:
    head_a = listed.world["head_a"]
    assert assistance.assistance_person_for(head_a, listed.people["a"].pk).name == "张三"
    for pid in (listed.people["c"].pk, listed.people["a2"].pk, 999999, "x"):
        with pytest.raises(Http404):
            assistance.assistance_person_for(head_a, pid)


def count_links() -> int:
    return AssistanceLink.objects.count()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"relation": "family", "helper_name": "张小三", "helper_phone": "1390000111"}, "helper_phone"),
        ({"relation": "family", "helper_name": "张小三", "helper_phone": "23900001111"}, "helper_phone"),
        ({"relation": "family", "helper_name": "张小三", "helper_phone": ""}, "helper_phone"),
        ({"relation": "neighbour", "helper_name": "", "helper_phone": "13900001111"}, "helper_name"),
        ({"relation": "neighbour", "helper_name": "<b>x</b>", "helper_phone": "13900001111"}, "helper_name"),
        ({"relation": "volunteer", "helper_user_id": None}, "helper_user"),
        ({"relation": "boss", "helper_name": "张小三", "helper_phone": "13900001111"}, "relation"),
    ],
)
def test_bad_helper_input_is_refused_and_changes_nothing(
    listed: Registry, data: dict[str, Any], field: str
) -> None:
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        helpers.helper_add(actor=listed.world["head_a"], person_id=listed.people["a"].pk, **data)
    assert field in caught.value.message_dict
    assert count_links() == 0 and AuditEntry.objects.count() == audits


def test_an_account_of_another_community_cannot_be_a_helper(listed: Registry) -> None:
    with pytest.raises(ValidationError) as caught:
        helpers.helper_add(
            actor=listed.world["head_a"],
            person_id=listed.people["a"].pk,
            relation="grid_worker",
            helper_user_id=listed.world["head_b"].pk,
        )
    assert "helper_user" in caught.value.message_dict and count_links() == 0


def test_out_of_scope_person_is_refused_audited_and_nothing_changes(listed: Registry) -> None:
    with pytest.raises(PermissionDenied):
        helpers.helper_add(
            actor=listed.world["head_a"],
            person_id=listed.people["c"].pk,
            relation="family",
            helper_name="王小五",
            helper_phone="13900002222",
        )
    assert count_links() == 0
    denied = AuditEntry.objects.get(action="emergency.helper_add")
    assert denied.result == "denied" and denied.region_code == GRID_C
    # Someone not on the list at all is refused too.
    with pytest.raises(ValidationError):
        helpers.helper_add(
            actor=listed.world["head_a"],
            person_id=listed.people["a3"].pk,
            relation="family",
            helper_name="孙小七",
            helper_phone="13900003333",
        )
    # A grid worker may read the list but not name helpers.
    with pytest.raises(PermissionDenied):
        helpers.helper_add(
            actor=listed.world["grid_a"],
            person_id=listed.people["a"].pk,
            relation="family",
            helper_name="张小三",
            helper_phone="13900001111",
        )
    assert count_links() == 0


def test_add_then_remove_a_helper_both_audited(listed: Registry) -> None:
    head = listed.world["head_a"]
    volunteer = listed.world["grid_b"]
    link = helpers.helper_add(
        actor=head,
        person_id=listed.people["b"].pk,
        relation="grid_worker",
        helper_user_id=volunteer.pk,
        note="住对门",
    )
    assert (link.region_code, link.helper_user, link.active) == (GRID_B, volunteer, True)
    with pytest.raises(ValidationError):  # the same account twice
        helpers.helper_add(
            actor=head, person_id=listed.people["b"].pk, relation="volunteer", helper_user_id=volunteer.pk
        )
    family = helpers.helper_add(
        actor=head,
        person_id=listed.people["b"].pk,
        relation="family",
        helper_name="李小四",
        helper_phone="139 0000 4444",
    )
    stored = AssistanceLink.objects.get(pk=family.pk)
    assert stored.helper_phone == "13900004444"
    raw = AssistanceLink.objects.filter(pk=family.pk).values_list("helper_phone", flat=True).get()
    assert "13900004444" not in str(raw)  # encrypted at rest
    with pytest.raises(ValidationError):  # the same number twice
        helpers.helper_add(
            actor=head,
            person_id=listed.people["b"].pk,
            relation="neighbour",
            helper_name="邻居",
            helper_phone="13900004444",
        )
    added = AuditEntry.objects.filter(action="emergency.helper_add", result="success")
    assert added.count() == 2
    # Another community's head cannot remove it (audited); the community's head can, once.
    with pytest.raises(PermissionDenied):
        helpers.helper_remove(actor=listed.world["head_b"], link=family)
    assert AssistanceLink.objects.get(pk=family.pk).active
    helpers.helper_remove(actor=head, link=family)
    assert not AssistanceLink.objects.get(pk=family.pk).active
    with pytest.raises(ValidationError):
        helpers.helper_remove(actor=head, link=family)
    results = list(
        AuditEntry.objects.filter(action="emergency.helper_remove").values_list("result", flat=True)
    )
    assert sorted(results) == ["denied", "success"]
    row = assistance.assistance_person_for(head, listed.people["b"].pk)
    assert [h.name for h in row.own_helpers] == ["grid_b"]
