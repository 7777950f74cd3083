"""Checks of ID numbers (GB 11643), credit codes (GB 32100), phones and typed-in text."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from shequ.core import validators as v


def resident_id(birth: str = "19900101", seq: int = 123, county: str = "430104") -> str:
    """A valid 18-character ID number (odd ``seq`` = male)."""
    first17 = f"{county}{birth}{seq:03d}"
    return first17 + v.id_check_char(first17)


def _code(exc: pytest.ExceptionInfo[ValidationError]) -> str | None:
    return exc.value.error_list[0].code


def test_domain_example_id_number_with_x_is_valid() -> None:
    assert v.id_check_char("11010519491231002") == "X"
    assert v.clean_resident_id("11010519491231002X") == "11010519491231002X"
    assert v.clean_resident_id("11010519491231002x") == "11010519491231002X"  # lower-case x accepted


def test_id_number_normalisation_of_full_width_digits_and_spaces() -> None:
    assert v.clean_resident_id("１１０１０５ １９４９１２３１ ００２Ｘ") == "11010519491231002X"
    assert v.clean_resident_id(" 110105-19491231-002X ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_checksum"),  # last character changed
        ("11010519491231003X", "id_checksum"),  # a digit mistyped
        ("11010519491232002X", "id_birth_date"),  # 32 December
        ("11010518700101002X", "id_birth_date"),  # before 1880
        ("110105491231002", "id_old_format"),  # 15-digit first-generation number
        ("11010519491231002", "id_length"),
        ("1101051949123100XX", "id_characters"),
        ("", "required"),
    ],
)
def test_bad_id_numbers_are_refused_with_a_specific_code(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        v.clean_resident_id(value)
    assert _code(exc) == code


def test_future_birth_date_is_refused() -> None:
    number = resident_id(birth="20300101")
    with pytest.raises(ValidationError) as exc:
        v.clean_resident_id(number, today=date(2025, 1, 1))
    assert _code(exc) == "id_birth_date"


def test_birth_date_and_sex_derived_from_the_number() -> None:
    assert v.resident_id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert v.resident_id_sex("11010519491231002X") == "female"  # sequence 002: even
    male = resident_id(birth="19850615", seq=123)
    assert v.resident_id_birth_date(male) == date(1985, 6, 15)
    assert v.resident_id_sex(male) == "male"


def test_generated_numbers_pass_and_every_single_digit_change_fails() -> None:
    number = resident_id(birth="19730228", seq=457)
    assert v.is_valid_resident_id(number)
    for i in range(17):
        digit = number[i]
        for other in "0123456789":
            if other == digit:
                continue
            changed = number[:i] + other + number[i + 1 :]
            # GB 11643's weights are non-zero modulo 11: every single-digit error is caught.
            assert not v.is_valid_resident_id(changed), changed


@pytest.mark.parametrize(
    ("id_type", "value", "stored"),
    [
        ("passport", "e1234 5678", "E12345678"),
        ("hk_macao", "H12345678", "H12345678"),
        ("hk_macao", "M1234567890", "M1234567890"),
        ("taiwan", "12345678", "12345678"),
        ("foreign_permanent", "USA123456789012", "USA123456789012"),
        ("other", "ab-12 34", "AB1234"),
    ],
)
def test_other_documents(id_type: str, value: str, stored: str) -> None:
    assert v.clean_id_number(id_type, value) == stored


@pytest.mark.parametrize(
    ("id_type", "value"),
    [("passport", "1234"), ("hk_macao", "X12345678"), ("taiwan", "1234567"), ("foreign_permanent", "US1234")],
)
def test_other_documents_refused(id_type: str, value: str) -> None:
    with pytest.raises(ValidationError):
        v.clean_id_number(id_type, value)


def test_hk_residence_permit_uses_the_resident_id_checksum() -> None:
    permit = resident_id(county="810000", birth="19900101", seq=11)
    assert v.clean_id_number("hk_macao", permit) == permit
    broken = permit[:-1] + ("0" if permit[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        v.clean_id_number("hk_macao", broken)
    assert _code(exc) == "id_checksum"


@pytest.mark.parametrize("code", ["91350100M000100Y43", "9144030071526726XG"])
def test_domain_example_credit_codes_are_valid(code: str) -> None:
    assert v.clean_uscc(code) == code
    assert v.clean_uscc(code.lower()) == code
    assert v.clean_uscc(" " + code[:9] + " " + code[9:]) == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91350100M000100Y44", "uscc_checksum"),
        ("9144030071526726XH", "uscc_checksum"),
        ("91350100M000100Y4", "uscc_length"),
        ("91350100M00010OY43", "uscc_characters"),  # O is never used
    ],
)
def test_bad_credit_codes(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        v.clean_uscc(value)
    assert _code(exc) == code


def test_empty_credit_code_stays_empty() -> None:
    assert v.clean_uscc("") == ""
    assert v.clean_uscc(None) == ""


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("13812345678", "13812345678"),
        ("１３８ １２３４ ５６７８", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("", ""),
    ],
)
def test_mobile_numbers(value: str, stored: str) -> None:
    assert v.clean_phone(value) == stored


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "138123456789", "abc"])
def test_bad_mobile_numbers(value: str) -> None:
    with pytest.raises(ValidationError):
        v.clean_phone(value)


def test_contact_phone_accepts_landlines() -> None:
    assert v.clean_contact_phone("0731-88881234") == "073188881234"
    assert v.clean_contact_phone("13812345678") == "13812345678"
    with pytest.raises(ValidationError):
        v.clean_contact_phone("88881234")


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("张  三", "张三"),
        ("　王　小明　", "王小明"),
        ("阿不都・热合曼", "阿不都·热合曼"),
        ("阿不都.热合曼", "阿不都·热合曼"),
        ("John Smith", "John Smith"),
    ],
)
def test_names_normalised(value: str, name: str) -> None:
    assert v.clean_person_name(value) == name


@pytest.mark.parametrize("value", ["", "张3", "李四@", "x" * 51])
def test_bad_names(value: str) -> None:
    with pytest.raises(ValidationError):
        v.clean_person_name(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("430104", "430104"),
        ("430104002001", "430104002001"),
        ("430104000000", "430104"),
        ("430000000000", "43"),
        ("", ""),
    ],
)
def test_region_codes(value: str, code: str) -> None:
    assert v.clean_region_code(value) == code


def test_bad_region_code() -> None:
    with pytest.raises(ValidationError):
        v.clean_region_code("4301x4")
