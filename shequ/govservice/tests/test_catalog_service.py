"""The catalog: the seed has 30+ items that are each complete; editing is checked whole, versioned,
audited, and refused to anyone without ``govservice.catalog``."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from shequ.core import accounts
from shequ.core.models import AuditEntry, DepartmentKind, Role, User
from shequ.govservice import materials
from shequ.govservice.catalog_seed import SEEDS
from shequ.govservice.models import Domain, Mode, ServiceItem
from shequ.govservice.services import catalog
from shequ.govservice.tests.conftest import COUNTY, Gov
from shequ.registry import prefill

pytestmark = pytest.mark.django_db


def editor(gov: Gov) -> User:
    user = accounts.user_create(
        actor=None,
        username="county",
        display_name="区政务办",
        password="x" * 12 + "A1!",
        phone="13877776666",
        email="county@example.test",
    )
    accounts.membership_grant(
        actor=None, user=user, role=Role.COUNTY_OFFICER, region=gov.world.regions[COUNTY]
    )
    return user


def data_of(item: ServiceItem, **changes: Any) -> dict[str, Any]:
    data = {f: getattr(item, f) for f in catalog.EDITABLE}
    data.update(changes)
    return data


def test_seed_is_complete_and_covers_the_policy_domains() -> None:
    items = list(ServiceItem.objects.all())
    assert len(items) == len(SEEDS) >= 30
    assert {i.domain for i in items} >= {
        Domain.ELDERLY,
        Domain.EMPLOYMENT,
        Domain.INSURANCE,
        Domain.HEALTH,
        Domain.EDUCATION,
        Domain.HUKOU,
        Domain.ASSISTANCE,
    }
    assert {i.mode for i in items} == set(Mode.values)
    for item in items:
        assert item.materials and 1 <= item.promised_days <= item.legal_days, item.code
        assert item.department_kind in DepartmentKind.values, item.code
        for m in item.materials:
            assert m["name_zh"] and materials.valid_source(m["source"]), (item.code, m)
    names = {i.name_zh for i in items}
    for wanted in (
        "高龄津贴申领",
        "居住证明",
        "失业登记",
        "城乡居民医保参保登记",
        "残疾人两项补贴申请",
        "最低生活保障申请",
        "临时救助申请",
        "居家养老服务申请",
    ):
        assert wanted in names
    assert any(i.instant for i in items) and any(i.care_plan for i in items)
    # Most items can be filled in part from the registry ("data runs instead of people").
    assert sum(1 for i in items if any(m["source"] for m in i.materials)) == len(items)
    assert all(
        s in prefill.FACTS or s.startswith(prefill.TAG_PREFIX)
        for i in items
        for s in (m["source"] for m in i.materials)
        if s
    )


def test_edit_raises_version_and_is_audited(gov: Gov) -> None:
    item = gov.item("residence_certificate")
    user = editor(gov)
    edited = catalog.item_save(actor=user, item=item, data=data_of(item, promised_days=2, legal_days=5))
    assert edited.version == item.version + 1 and edited.promised_days == 2
    entry = AuditEntry.objects.get(action="govservice.item_save")
    assert entry.fields == ["promised_days"]
    same = catalog.item_save(actor=user, item=edited, data=data_of(edited))
    assert same.version == edited.version  # nothing changed: no new version


def test_bad_edits_name_each_field_and_change_nothing(gov: Gov) -> None:
    item = gov.item("dibao")
    user = editor(gov)
    bad = data_of(
        item,
        promised_days=40,
        legal_days=30,
        fee="-1",
        mode="magic",
        name_zh="",
        materials=[{"code": "x", "name_zh": "甲", "source": "salary"}],
        form=[{"name": "a", "label_zh": "选", "kind": "choice", "choices": ["一"]}],
    )
    with pytest.raises(ValidationError) as exc:
        catalog.item_save(actor=user, item=item, data=bad)
    assert {"promised_days", "fee", "mode", "name_zh", "materials", "form"} <= set(exc.value.message_dict)
    item.refresh_from_db()
    assert item.version == 1 and item.promised_days == 25


def test_new_item_and_refusals(gov: Gov) -> None:
    user = editor(gov)
    template = gov.item("residence_certificate")
    created = catalog.item_save(
        actor=user, code="pet_registration", data=data_of(template, name_zh="犬只登记")
    )
    assert created.version == 1 and created.code == "pet_registration"
    with pytest.raises(ValidationError):
        catalog.item_save(actor=user, code="pet_registration", data=data_of(template))
    with pytest.raises(ValidationError):
        catalog.item_save(actor=user, code="Bad Code", data=data_of(template))
    for persona in ("head_a", "street", "resident"):
        with pytest.raises(PermissionDenied):
            catalog.item_save(actor=gov[persona], item=template, data=data_of(template, promised_days=1))
