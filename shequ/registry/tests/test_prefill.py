"""The facts the registry lends to an application: masked, never a restricted or secret tag."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from shequ.registry import prefill
from shequ.registry import services as registry
from shequ.registry.models import TagGrant
from shequ.registry.tests.conftest import Registry

pytestmark = pytest.mark.django_db


def test_facts_are_masked_and_complete(reg: Registry) -> None:
    person = reg.register(
        "刘奶奶",
        reg.houses["a"][1],
        birth="19400312",
        phone="13811117777",
        hukou_address="长沙市岳麓区",
        marital_status="widowed",
    )
    household = registry.household_create(actor=None, head=person, number="H-1")
    registry.household_add_member(
        actor=None, household=household, person=reg.people["a"], relation_to_head="child"
    )
    registry.tag_add(actor=None, person=person, category="disabled", grade="二级", subtype="肢体")
    with translation.override("zh-hans"):
        facts = prefill.facts_of(person, today=dt.date(2026, 12, 6))
    assert facts.age == 86 and facts.name == "刘奶奶" and facts.tags == {"disabled"}
    identity = facts.get(prefill.IDENTITY)
    assert person.masked_id_number in identity and person.id_number not in identity
    assert facts.get(prefill.PHONE) == "138****7777"
    assert "长沙市岳麓区" in facts.get(prefill.HUKOU)
    assert "麓山南路" in facts.get(prefill.RESIDENCE)
    assert "2 " in facts.get(prefill.HOUSEHOLD) or "2人" in facts.get(prefill.HOUSEHOLD).replace(" ", "")
    assert "二级" in facts.get("tag:disabled") and "肢体" in facts.get("tag:disabled")
    assert facts.get(prefill.BIRTH).startswith("1940-03-12") or "1940-03-12" in facts.get(prefill.BIRTH)
    assert facts.region_code == reg.houses["a"][1].region_code


def test_restricted_tags_and_expired_tags_never_leave(reg: Registry) -> None:
    person = reg.people["a"]
    TagGrant.objects.all().delete()
    registry.tag_add(actor=None, person=person, category="community_correction")
    registry.tag_add(
        actor=None,
        person=person,
        category="low_income",
        valid_from=dt.date(2019, 1, 1),
        valid_to=dt.date(2020, 1, 1),
    )
    facts = prefill.facts_of(person, today=dt.date(2026, 12, 6))
    assert facts.tags == frozenset()
    assert not any(key.startswith("tag:") for key in facts.values)
    assert "community_correction" not in str(facts)


def test_missing_facts_are_left_out(reg: Registry) -> None:
    facts = prefill.facts_of(reg.people["b"])
    assert prefill.PHONE not in facts.values  # 李四 has no mobile number
    assert prefill.HUKOU not in facts.values and prefill.MARITAL not in facts.values
