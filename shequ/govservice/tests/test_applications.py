"""Applications through every step and every refusal: online, counter, at home on a resident's
behalf; accept, return with the exact list, resubmit, forward, decide, deliver, close on receipt,
reject, withdraw; the materials the registry fills (masked) and those it cannot."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from shequ.core.models import AuditEntry
from shequ.govservice.models import Application, ApplicationStep, Channel, Consent, Outcome, Status
from shequ.govservice.services import applications as apps
from shequ.govservice.services._common import TransitionError
from shequ.govservice.tests.conftest import COMMUNITY_A, GRID_A, Gov
from shequ.grid.tests.conftest import png
from shequ.registry import prefill

pytestmark = pytest.mark.django_db


def upload(name: str = "card.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(), content_type="image/png")


def online(gov: Gov, code: str = "elderly_allowance", **extra: Any) -> Application:
    data: dict[str, Any] = {
        "actor": gov["resident"],
        "item": gov.item(code),
        "channel": Channel.ONLINE,
        "region": gov.world.regions[GRID_A],
        "applicant": apps.Applicant(facts=prefill.facts_of(gov.elder), user=gov["resident"]),
        "files": {"bank_card": [upload()]},
    }
    data.update(extra)
    return apps.application_submit(**data)


def test_online_application_fills_materials_from_the_registry_masked(gov: Gov) -> None:
    app = online(gov)
    assert app.status == Status.SUBMITTED and app.region_code == COMMUNITY_A
    how = {m["code"]: m["how"] for m in app.materials}
    assert how == {
        "id_card": "registry",
        "hukou_book": "registry",
        "birth": "registry",
        "residence": "registry",
        "bank_card": "upload",
    }
    identity = next(m["value"] for m in app.materials if m["code"] == "id_card")
    assert "刘奶奶" in identity and "*" in identity and gov.elder.id_number not in identity
    assert app.files.count() == 1
    stored = app.files.get()
    assert apps.open_file(stored).startswith(b"\x89PNG")
    with stored.file.open("rb") as fh:
        assert b"PNG" not in fh.read()[:32]  # sealed at rest
    assert app.due_at is not None and app.warn_at is not None
    assert ApplicationStep.objects.filter(application=app, action="submit").exists()
    assert AuditEntry.objects.filter(action="govservice.submit", object_id=str(app.pk)).exists()


def test_missing_upload_names_the_material_and_writes_nothing(gov: Gov) -> None:
    with pytest.raises(ValidationError) as exc:
        online(gov, files={})
    assert "本人银行卡或社保卡" in str(exc.value)
    assert Application.objects.count() == 0


def test_age_below_the_item_is_refused(gov: Gov) -> None:
    with pytest.raises(ValidationError) as exc:
        online(gov, applicant=apps.Applicant(facts=prefill.facts_of(gov.young), user=gov["resident"]))
    assert "80" in str(exc.value)


def test_full_flow_forward_decide_deliver(gov: Gov) -> None:
    app = online(gov)
    app = apps.application_accept(actor=gov["worker_a"], application=app)
    assert app.status == Status.ACCEPTED and app.accepted_at is not None
    with pytest.raises(ValidationError):
        apps.application_decide(actor=gov["worker_a"], application=app, outcome=Outcome.APPROVED)
    app = apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    assert app.status == Status.FORWARDED
    with pytest.raises(TransitionError):  # it is with the department now
        apps.application_decide(actor=gov["worker_a"], application=app, outcome=Outcome.APPROVED)
    with pytest.raises(PermissionDenied):
        apps.application_decide(actor=gov["dept"], application=app, outcome=Outcome.APPROVED)
    app = apps.application_decide(
        actor=gov.clerk, application=app, outcome=Outcome.APPROVED, note="自下月起发放"
    )
    assert app.status == Status.DECIDED
    app = apps.application_deliver(actor=gov["worker_a"], application=app, delivery="pickup")
    assert app.status == Status.CLOSED and app.due_at is None
    actions = list(app.steps.values_list("action", flat=True))
    assert actions == ["submit", "accept", "forward", "decide", "deliver"]


def test_return_lists_exact_materials_and_resubmit_restarts(gov: Gov) -> None:
    app = online(gov)
    with pytest.raises(ValidationError):
        apps.application_return(actor=gov["worker_a"], application=app, missing=[])
    with pytest.raises(ValidationError):
        apps.application_return(actor=gov["worker_a"], application=app, missing=["nonsense"])
    app = apps.application_return(
        actor=gov["worker_a"], application=app, missing=["bank_card"], note="卡号看不清"
    )
    assert app.status == Status.RETURNED and app.missing == ["bank_card"] and app.due_at is None
    with pytest.raises(ValidationError):
        apps.application_resubmit(actor=gov["resident"], application=app, files={})
    app = apps.application_resubmit(actor=gov["resident"], application=app, files={"bank_card": [upload()]})
    assert app.status == Status.SUBMITTED and app.missing == [] and app.due_at is not None


def test_transitions_refused_from_wrong_status_change_nothing(gov: Gov) -> None:
    app = online(gov)
    with pytest.raises(TransitionError):
        apps.application_deliver(actor=gov["worker_a"], application=app, delivery="pickup")
    with pytest.raises(TransitionError):
        apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    app.refresh_from_db()
    assert app.status == Status.SUBMITTED


def test_sibling_community_cannot_touch_it(gov: Gov) -> None:
    app = online(gov)
    for persona in ("head_b", "outsider", "resident", "dept"):
        with pytest.raises(PermissionDenied):
            apps.application_accept(actor=gov[persona], application=app)
    assert AuditEntry.objects.filter(action="govservice.accept", result="denied").count() == 4


def test_counter_on_behalf_records_helper_consent_and_is_accepted(gov: Gov) -> None:
    facts = prefill.facts_of(gov.elder)
    with pytest.raises(ValidationError):
        apps.application_submit(
            actor=gov["grid_a"],
            item=gov.item("elderly_allowance"),
            channel=Channel.HOME,
            region=gov.world.regions[GRID_A],
            applicant=apps.Applicant(facts=facts),
            paper=["bank_card"],
            on_behalf=True,
        )
    app = apps.application_submit(
        actor=gov["grid_a"],
        item=gov.item("elderly_allowance"),
        channel=Channel.HOME,
        region=gov.world.regions[GRID_A],
        applicant=apps.Applicant(facts=facts),
        paper=["bank_card"],
        on_behalf=True,
        consent=Consent.SIGNED,
        consent_note="本人签字，女儿在场",
    )
    assert app.status == Status.ACCEPTED and app.helper == gov["grid_a"] and app.person_id == gov.elder.pk
    assert app.consent == Consent.SIGNED
    assert next(m["how"] for m in app.materials if m["code"] == "bank_card") == "paper"


def test_instant_item_closes_on_receipt(gov: Gov) -> None:
    app = apps.application_submit(
        actor=gov["worker_a"],
        item=gov.item("residence_certificate"),
        channel=Channel.COUNTER,
        region=gov.world.regions[COMMUNITY_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.elder)),
        answers={"purpose": "办理银行业务"},
    )
    app = apps.application_close_on_receipt(actor=gov["worker_a"], application=app)
    assert app.status == Status.CLOSED and app.outcome == Outcome.APPROVED
    with pytest.raises(TransitionError):
        apps.application_close_on_receipt(actor=gov["worker_a"], application=app)
    not_instant = online(gov)
    apps.application_accept(actor=gov["worker_a"], application=not_instant)
    with pytest.raises(ValidationError):
        apps.application_close_on_receipt(actor=gov["worker_a"], application=not_instant)


def test_reject_and_withdraw(gov: Gov) -> None:
    app = online(gov)
    with pytest.raises(ValidationError):
        apps.application_reject(actor=gov["worker_a"], application=app, reason="")
    app = apps.application_reject(actor=gov["worker_a"], application=app, reason="户籍不在本社区")
    assert app.status == Status.REJECTED
    other = online(gov)
    with pytest.raises(PermissionDenied):
        apps.application_withdraw(actor=gov["worker_a"], application=other)
    other = apps.application_withdraw(actor=gov["resident"], application=other, reason="不需要了")
    assert other.status == Status.WITHDRAWN


def test_department_returns_forwarded_application(gov: Gov) -> None:
    app = online(gov)
    apps.application_accept(actor=gov["worker_a"], application=app)
    apps.application_forward(actor=gov["worker_a"], application=app, department=gov.civil)
    with pytest.raises(PermissionDenied):
        apps.application_return(actor=gov["dept"], application=app, missing=["bank_card"])
    app = apps.application_return(
        actor=gov.clerk, application=app, missing=["bank_card"], note="请提供本人社保卡"
    )
    assert app.status == Status.RETURNED
