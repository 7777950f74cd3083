"""Masking and the audited reveal (security requirements 9 and 11)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from django.utils import translation

from shequ.conftest import World
from shequ.core import accounts, personal
from shequ.core.models import AuditEntry, Message, User


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("430104199001011234", "430104********1234"),
        ("43010419900101123X", "430104********123X"),
        ("４３０１０４１９９００１０１１２３４", "430104********1234"),  # full-width digits
        ("430104 19900101 1234", "430104********1234"),
        ("430104900101123", "430104*****1123"),  # old 15-digit number
        ("", ""),
        (None, ""),
        ("12", "**"),
        ("1234", "****"),
        ("123456", "****56"),
        ("1234567890", "********90"),
    ],
)
def test_mask_id_number(value: str | None, masked: str) -> None:
    assert personal.mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("0731-88881234", "0731****1234"),
        ("", ""),
        (None, ""),
        ("110", "***"),
        ("12345", "***45"),
        ("12345678", "****5678"),
    ],
)
def test_mask_phone(value: str | None, masked: str) -> None:
    assert personal.mask_phone(value) == masked


def test_masks_never_show_the_hidden_middle() -> None:
    assert "1990" not in personal.mask_id_number("430104199001011234")
    assert "1234" not in personal.mask_phone("13812345678")


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_clean_mobile_accepts_what_people_type(typed: str, clean: str) -> None:
    assert personal.clean_mobile(typed) == clean


@pytest.mark.parametrize("typed", ["12812345678", "1381234567", "138123456789", "abc", "0731-88881234"])
def test_clean_mobile_rejects_other_numbers(typed: str) -> None:
    with translation.override("en"), pytest.raises(ValidationError, match="11-digit mainland mobile number"):
        personal.clean_mobile(typed)


def reveals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="personal.reveal").order_by("id"))


def test_community_head_reveals_a_residents_phone_with_a_reason(world: World) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    value = personal.reveal(
        actor=world["head_a"], obj=world["resident"], field="phone", reason="回访核实", request=request
    )
    assert value == world["resident"].phone and len(value) == 11
    (entry,) = reveals()
    assert (entry.actor_id, entry.role, entry.result) == (world["head_a"].pk, "community_head", "success")
    assert (entry.object_type, entry.object_id) == ("core.user", str(world["resident"].pk))
    assert entry.fields == ["phone"] and entry.reason == "回访核实" and entry.ip == "10.1.2.3"
    assert entry.region_code == "430104002001001"
    assert value not in str(entry.detail) and value not in entry.reason  # the log never holds the value


DENIED = [
    ("head_b", "resident"),  # sibling community
    ("outsider", "resident"),  # sibling street
    ("grid_a", "resident"),  # no reveal permission
    ("street", "resident"),  # wider scope, but the role has no reveal permission
    ("auditor", "resident"),
    ("sysadmin", "resident"),
    ("secadmin", "resident"),
    ("nobody", "resident"),
    ("head_a", "street"),  # a street officer is not in the community
    ("head_a", "nobody"),  # an account with no region
]


def test_reveal_outside_permission_or_region_is_denied_and_audited(world: World) -> None:
    for persona, target in DENIED:
        with pytest.raises(PermissionDenied):
            personal.reveal(actor=world[persona], obj=world[target], field="phone", reason="看看")
        entry = reveals()[-1]
        assert (entry.result, entry.actor_id, entry.fields) == ("denied", world[persona].pk, ["phone"]), (
            persona
        )
    assert len(reveals()) == len(DENIED)


def test_reveal_needs_a_reason(world: World) -> None:
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            personal.reveal(actor=world["head_a"], obj=world["resident"], field="phone", reason=reason)
        assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        personal.reveal(actor=world["head_a"], obj=world["resident"], field="phone", reason="x" * 501)
    assert reveals() == []  # nothing was revealed


def test_only_personal_data_fields_can_be_revealed(world: World) -> None:
    resident = world["resident"]
    resident.totp_secret = "JBSWY3DPEHPK3PXP"
    resident.save()
    fields = ["totp_secret", "password", "username", "phone_index", "memberships", "no_such_field"]
    for field in fields:
        with pytest.raises(PermissionDenied):
            personal.reveal(actor=world["head_a"], obj=resident, field=field, reason="核实")
    assert [(e.result, e.fields, e.detail) for e in reveals()] == [
        ("denied", [f], {"why": "field not revealable"}) for f in fields
    ]


def test_a_disabled_account_keeps_its_region_for_reveal(world: World) -> None:
    accounts.user_set_active(actor=None, user=world["resident"], active=False, reason="moved away")
    resident = User.objects.get(pk=world["resident"].pk)
    assert personal.object_region_codes(resident) == ["430104002001001"]
    assert (
        personal.reveal(actor=world["head_a"], obj=resident, field="phone", reason="核实") == resident.phone
    )


def test_region_of_a_region_owned_row(world: World) -> None:
    message = Message(recipient=world["resident"], subject="x", region_code="430104002001")
    assert personal.object_region_codes(message) == ["430104002001"]
    assert personal.object_region_codes(Message(recipient=world["resident"], subject="x")) == []


def test_mask_name_keeps_the_first_and_last_characters() -> None:
    from shequ.core.personal import mask_name

    assert [mask_name(n) for n in ("张三", "张三丰", "欧阳小明", "王", "", " 李四 ")] == [
        "张*",
        "张*丰",
        "欧**明",
        "*",
        "",
        "李*",
    ]
