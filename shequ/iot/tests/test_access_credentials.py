"""Credentials: a resident's card or plate is kept as the ingester's blind index and a masked form,
so that door and gate events name the resident; unknown plates are listed for staff."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from shequ.core import crypto
from shequ.core.models import AuditEntry, AuditResult
from shequ.iot import services
from shequ.iot.ingest import Pipeline
from shequ.iot.models import AccessCredential, DeviceEvent
from shequ.iot.tests.access_world import Estate
from shequ.iot.tests.conftest import message

pytestmark = pytest.mark.django_db


def test_register_keeps_only_the_index_and_a_masked_form(estate: Estate) -> None:
    person = estate.reg.people["a"]
    card = services.credential_register(
        actor=estate.world["worker_a"], person=person, kind="card", value="0012 3456 78"
    )
    plate = services.credential_register(
        actor=estate.world["worker_a"], person=person, kind="plate", value=" 湘a12345 "
    )
    assert card.value_index == crypto.blind_index("0012345678", "iot_card")
    assert (card.masked, plate.masked) == ("****5678", "湘A·***45")
    assert plate.house_id == person.house_id and plate.region_code == person.region_code
    stored = " ".join(str(v) for v in AccessCredential.objects.values_list("value_index", "masked"))
    assert "12345678" not in stored and "A12345" not in stored
    entries = AuditEntry.objects.filter(action="iot.credential_register", object_id=str(person.pk))
    assert entries.count() == 2 and all("12345" not in str(e.detail) for e in entries)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("plate", "ABC1234", "车牌号格式不对"),
        ("plate", "湘A1234", "车牌号格式不对"),
        ("plate", "湘AO1234", "车牌号格式不对"),  # no letter O on plates
        ("card", "12a45", "4 到 20 位数字"),
        ("card", "", "必填"),
        ("badge", "12345", "请选择门禁卡或车牌"),
    ],
)
def test_bad_credentials_are_refused(estate: Estate, kind: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        services.credential_register(actor=None, person=estate.reg.people["a"], kind=kind, value=value)
    assert message in " ".join(exc.value.messages)
    assert not AccessCredential.objects.exists()


def test_new_energy_plate_and_duplicates(estate: Estate) -> None:
    services.credential_register(actor=None, person=estate.reg.people["a"], kind="plate", value="湘AD12345")
    with pytest.raises(ValidationError) as exc:
        services.credential_register(
            actor=None, person=estate.reg.people["b"], kind="plate", value="湘ad12345"
        )
    assert "已经登记" in " ".join(exc.value.messages)
    assert AccessCredential.objects.count() == 1


def test_register_needs_manage_in_the_persons_region(estate: Estate) -> None:
    for persona in ("grid_a", "head_b", "outsider", "resident"):
        with pytest.raises(PermissionDenied):
            services.credential_register(
                actor=estate.world[persona], person=estate.reg.people["a"], kind="card", value="12345678"
            )
    assert not AccessCredential.objects.exists()
    assert AuditEntry.objects.filter(action="iot.credential_register", result=AuditResult.DENIED).count() == 4


def test_gate_events_name_registered_residents_until_revoked(estate: Estate) -> None:
    person = estate.reg.people["a"]
    plate = services.credential_register(actor=None, person=person, kind="plate", value="湘A12345")
    gate = estate.gates["a"]
    pipeline = Pipeline()
    pipeline.process(
        [
            message(gate, "event", "m1", type="enter", credential={"kind": "plate", "value": "湘A12345"}),
            message(gate, "event", "m2", type="enter", credential={"kind": "plate", "value": "湘B99999"}),
        ]
    )
    known, unknown = DeviceEvent.objects.order_by("msg_id")
    assert (known.person_id, known.house_id, known.subject_masked) == (
        person.pk,
        person.house_id,
        "湘A·***45",
    )
    assert unknown.person_id is None and unknown.subject_masked == "湘B·***99"
    services.credential_revoke(actor=estate.world["head_a"], credential=plate)
    pipeline.refresh(force=True)
    pipeline.process(
        [message(gate, "event", "m3", type="enter", credential={"kind": "plate", "value": "湘A12345"})]
    )
    assert DeviceEvent.objects.get(msg_id="m3").person_id is None
    # The same plate may be registered again (to its new owner).
    services.credential_register(actor=None, person=estate.reg.people["b"], kind="plate", value="湘A12345")


def test_revoke_needs_manage(estate: Estate) -> None:
    card = services.credential_register(
        actor=None, person=estate.reg.people["a"], kind="card", value="12345678"
    )
    with pytest.raises(PermissionDenied):
        services.credential_revoke(actor=estate.world["head_b"], credential=card)
    card.refresh_from_db()
    assert card.active


# --- Pages ----------------------------------------------------------------------------------------


def test_person_page_lists_adds_and_revokes(estate: Estate, client: Client) -> None:
    person = estate.reg.people["a"]
    url = f"/iot/access/people/{person.pk}/credentials/"
    client.force_login(estate.world["worker_a"])
    bad = client.post(url, {"kind": "plate", "value": "XYZ"})
    assert bad.status_code == 400 and "车牌号格式不对" in bad.content.decode()
    assert client.post(url, {"kind": "plate", "value": "湘A12345"}).status_code == 302
    page = client.get(url).content.decode()
    assert "湘A·***45" in page and "湘A12345" not in page
    assert AuditEntry.objects.filter(action="iot.credential_read", object_id=f"person:{person.pk}").exists()
    credential = AccessCredential.objects.get()
    done = client.post(f"/iot/access/credentials/{credential.pk}/revoke/", {"next": url})
    assert done.status_code == 302 and done["Location"] == url
    credential.refresh_from_db()
    assert not credential.active


def test_grid_worker_reads_but_cannot_add(estate: Estate, client: Client) -> None:
    person = estate.reg.people["a"]
    services.credential_register(actor=None, person=person, kind="card", value="12345678")
    client.force_login(estate.world["grid_a"])
    url = f"/iot/access/people/{person.pk}/credentials/"
    page = client.get(url)
    assert page.status_code == 200 and "****5678" in page.content.decode()
    assert "登记门禁卡或车牌" not in page.content.decode()
    assert client.post(url, {"kind": "card", "value": "87654321"}).status_code == 403
    assert AccessCredential.objects.count() == 1


def test_house_page_registers_for_a_resident_of_the_house(estate: Estate, client: Client) -> None:
    house = estate.reg.houses["a"][0]
    client.force_login(estate.world["head_a"])
    url = f"/iot/access/houses/{house.pk}/credentials/"
    assert (
        client.post(
            url, {"person": str(estate.reg.people["b"].pk), "kind": "card", "value": "12345678"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            url, {"person": str(estate.reg.people["a"].pk), "kind": "card", "value": "12345678"}
        ).status_code
        == 302
    )
    assert AccessCredential.objects.get().person_id == estate.reg.people["a"].pk


def test_plates_page(estate: Estate, client: Client) -> None:
    services.credential_register(actor=None, person=estate.reg.people["a"], kind="plate", value="湘A12345")
    pipeline = Pipeline()
    for i, plate in enumerate(["湘B99999", "湘B99999", "湘A12345"]):
        pipeline.process(
            [
                message(
                    estate.gates["a"],
                    "event",
                    f"p{i}",
                    type="enter",
                    credential={"kind": "plate", "value": plate},
                )
            ]
        )
    pipeline.process(
        [
            message(
                estate.gates["b"],
                "event",
                "q1",
                type="enter",
                credential={"kind": "plate", "value": "湘C77777"},
            )
        ]
    )
    client.force_login(estate.world["grid_a"])
    page = client.get("/iot/access/plates/").content.decode()
    assert "湘B·***99" in page and "湘C·***77" not in page  # the sibling community's gate
    assert "张三" in page  # the residents' vehicles (audited)
    assert AuditEntry.objects.filter(action="iot.credential_read", object_id="vehicles").exists()
    client.force_login(estate.world["head_b"])
    page = client.get("/iot/access/plates/").content.decode()
    assert "湘C·***77" in page and "湘B·***99" not in page and "张三" not in page
