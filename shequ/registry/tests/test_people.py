"""Registering and correcting people: derived fields, one person per ID number, the timeline with
masked personal fields, audit, permissions, and no plaintext ID or phone in the database."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from shequ.core import crypto
from shequ.core.models import AuditEntry, OutboxTask
from shequ.registry import selectors, services
from shequ.registry.models import Person, Residence, TimelineEntry
from shequ.registry.tests.conftest import Registry, person_data, resident_id


def test_register_derives_pinyin_birth_date_and_sex(reg: Registry) -> None:
    number = resident_id(birth="19560304", seq=124)
    person = services.person_register(
        actor=reg.world["grid_a"],
        data=person_data("曾 小红", id_number=number, ethnicity="汉族", residence_type="floating"),
        house=reg.houses["a"][1],
        relation="tenant",
    )
    person.refresh_from_db()
    assert person.name == "曾小红"
    assert (person.name_pinyin, person.name_initials) == ("zengxiaohong", "zxh")
    assert person.birth_date == date(1956, 3, 4)
    assert person.sex == "female"
    assert person.ethnicity == "01"
    assert person.region_code == "430104002001001"
    assert person.house == reg.houses["a"][1]
    assert person.id_number == number and person.masked_id_number == "430104********124" + number[-1]
    residence = Residence.objects.get(person=person)
    assert (residence.relation, residence.lives_here, residence.end_date) == ("tenant", True, None)
    entry = TimelineEntry.objects.get(object_type="person", object_id=person.pk)
    assert entry.action == "person.register" and reg.houses["a"][1].address in entry.summary
    assert AuditEntry.objects.filter(action="registry.person_register", object_id=str(person.pk)).exists()
    assert OutboxTask.objects.filter(event_type="registry.person_registered").count() >= 0  # no handler yet


def test_register_reports_every_bad_field_and_writes_nothing(reg: Registry) -> None:
    before = Person.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.person_register(
            actor=None,
            data={"name": "张3", "id_number": "11010519491231002", "phone": "123", "ethnicity": "火星族"},
            house=reg.houses["a"][1],
        )
    errors = exc.value.error_dict
    assert set(errors) == {"name", "id_number", "phone", "ethnicity"}
    assert errors["id_number"][0].code == "id_length"
    assert Person.objects.count() == before


def test_register_refuses_birth_date_that_contradicts_the_id(reg: Registry) -> None:
    with pytest.raises(ValidationError) as exc:
        services.person_register(
            actor=None,
            data=person_data(id_number=resident_id(birth="19900101"), birth_date="1991-01-01"),
            house=reg.houses["a"][1],
        )
    assert exc.value.error_dict["birth_date"][0].code == "id_mismatch"


def test_unknown_fields_are_refused(reg: Registry) -> None:
    with pytest.raises(ValidationError) as exc:
        services.person_register(actor=None, data=person_data(salary=100), house=reg.houses["a"][1])
    assert "salary" in exc.value.error_dict


def test_one_person_per_id_number_across_the_platform(reg: Registry) -> None:
    """The same ID number cannot be registered again — not in another community either."""
    existing = reg.people["a"]
    for actor, house in (
        (reg.world["grid_a"], reg.houses["a"][2]),
        (reg.world["head_b"], reg.houses["c"][2]),
    ):
        with pytest.raises(ValidationError) as exc:
            services.person_register(
                actor=actor, data=person_data("张三丰", id_number=existing.id_number), house=house
            )
        assert exc.value.error_dict["id_number"][0].code == "duplicate_id"
    # Different spelling of the same number (full width, lower-case x) is the same number.
    services.person_register(
        actor=None, data=person_data("赵六", id_number="11010519491231002X"), house=reg.houses["a"][2]
    )
    with pytest.raises(ValidationError):
        services.person_register(
            actor=None,
            data=person_data("赵七", id_number="１１０１０５１９４９１２３１００２ｘ"),
            house=reg.houses["b"][2],
        )


def test_database_enforces_the_unique_id_number(reg: Registry) -> None:
    existing = reg.people["a"]
    clone = Person(
        name="克隆", id_number=existing.id_number, region=existing.region, region_code=existing.region_code
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


def test_people_without_id_number_can_coexist(reg: Registry) -> None:
    for name in ("新生儿甲", "新生儿乙"):
        services.person_register(
            actor=None,
            data={"name": name, "birth_date": "2025-01-02", "sex": "male"},
            house=reg.houses["a"][1],
        )
    assert Person.objects.filter(id_number_index="").count() == 2


def test_person_found_by_id_number_only_in_scope(reg: Registry) -> None:
    number = reg.people["a"].id_number
    assert (
        selectors.person_find_by_id(viewer=reg.world["grid_a"], id_type="resident_id", id_number=number)
        == reg.people["a"]
    )
    assert (
        selectors.person_find_by_id(viewer=reg.world["grid_b"], id_type="resident_id", id_number=number)
        is None
    )
    assert (
        selectors.person_find_by_id(viewer=reg.world["head_b"], id_type="resident_id", id_number=number)
        is None
    )


def test_correct_keeps_old_and_new_values_masked(reg: Registry) -> None:
    person = reg.people["a"]
    old_number, old_phone = person.id_number, person.phone
    new_number = resident_id(birth="19800101", seq=999)
    services.person_correct(
        actor=reg.world["worker_a"],
        person=person,
        changes={"id_number": new_number, "phone": "13999998888", "name": "张山", "occupation": "教师"},
        reason="户口本核对",
    )
    person = Person.objects.get(pk=person.pk)
    assert person.id_number == new_number and person.phone == "13999998888"
    assert (person.name_pinyin, person.name_initials) == ("zhangshan", "zs")
    assert person.id_number_index == crypto.blind_index(new_number, "id_number")
    assert person.birth_date == date(1980, 1, 1) and person.sex == "male"
    entry = TimelineEntry.objects.filter(
        object_type="person", object_id=person.pk, action="person.correct"
    ).get()
    assert entry.reason == "户口本核对"
    assert entry.changes["id_number"] == {
        "old": old_number[:6] + "********" + old_number[-4:],
        "new": new_number[:6] + "********" + new_number[-4:],
    }
    assert entry.changes["phone"] == {"old": old_phone[:3] + "****" + old_phone[-4:], "new": "139****8888"}
    assert entry.changes["name"] == {"old": "张三", "new": "张山"}
    # Nothing in the timeline row or the audit row holds the full numbers.
    audit_row = AuditEntry.objects.get(action="registry.person_correct")
    for text in (str(entry.changes), str(entry.params), str(audit_row.detail), str(audit_row.fields)):
        for secret in (old_number, new_number, old_phone, "13999998888"):
            assert secret not in text
    assert set(audit_row.fields) == {"id_number", "phone", "name", "occupation"}


def test_correction_timeline_names_the_fields_in_the_readers_language(reg: Registry) -> None:
    person = reg.people["a"]
    services.person_correct(
        actor=reg.world["worker_a"],
        person=person,
        changes={"phone": "13999998888", "residence_type": "floating", "name": "张山"},
        reason="户口本核对",
    )
    entry = TimelineEntry.objects.get(object_type="person", object_id=person.pk, action="person.correct")
    assert entry.params["fields"] == ["name", "phone", "residence_type"]  # stored as attributes
    with translation.override("en"):
        assert entry.summary == "Corrected: name, mobile number, residence type"
    with translation.override("zh-hans"):
        assert entry.summary == "更正：姓名、手机号码、人口类型"


def test_correct_needs_a_reason_and_a_real_change(reg: Registry) -> None:
    person = reg.people["a"]
    with pytest.raises(ValidationError):
        services.person_correct(actor=None, person=person, changes={"occupation": "厨师"}, reason=" ")
    with pytest.raises(ValidationError):
        services.person_correct(actor=None, person=person, changes={"name": "张三"}, reason="核对")


def test_correct_to_an_id_number_already_taken_is_refused(reg: Registry) -> None:
    with pytest.raises(ValidationError) as exc:
        services.person_correct(
            actor=None,
            person=reg.people["a"],
            changes={"id_number": reg.people["c"].id_number},
            reason="核对",
        )
    assert exc.value.error_dict["id_number"][0].code == "duplicate_id"


@pytest.mark.parametrize(
    "persona", ["grid_b", "head_b", "street", "outsider", "resident", "nobody", "auditor", "secadmin"]
)
def test_who_may_not_change_a_person_in_grid_a(reg: Registry, persona: str) -> None:
    actor = reg.world[persona]
    person = reg.people["a"]
    with pytest.raises(PermissionDenied):
        services.person_correct(actor=actor, person=person, changes={"occupation": "厨师"}, reason="核对")
    with pytest.raises(PermissionDenied):
        services.person_register(
            actor=actor, data=person_data("新人", id_number=reg.next_id()), house=reg.houses["a"][2]
        )
    assert AuditEntry.objects.filter(
        actor_id=actor.pk, result="denied", action="registry.person_correct"
    ).exists()
    person.refresh_from_db()
    assert person.occupation == ""


@pytest.mark.parametrize("persona", ["grid_a", "worker_a", "head_a"])
def test_who_may_change_a_person_in_grid_a(reg: Registry, persona: str) -> None:
    services.person_correct(
        actor=reg.world[persona], person=reg.people["a"], changes={"occupation": persona}, reason="核对"
    )
    assert Person.objects.get(pk=reg.people["a"].pk).occupation == persona


def test_raw_database_holds_no_plaintext_id_or_phone(reg: Registry) -> None:
    person = reg.people["a"]
    org = services.organization_create(
        actor=None,
        data={"name": "麓山商店", "house": reg.houses["a"][2], "contact_phone": "13700001111"},
    )
    secrets = {person.id_number, person.phone, "13700001111", person.id_number[6:14] + person.id_number[14:]}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if not table.startswith("registry_"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                for secret in secrets:
                    assert secret not in text, (table, secret)
    # The ciphertext is there and bound to its row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM registry_person WHERE id = %s", [person.pk])
        stored_id, stored_phone = cursor.fetchone()
    assert crypto.is_ciphertext(stored_id) and crypto.is_ciphertext(stored_phone)
    assert org.masked_contact_phone == "137****1111"
