"""Residents' rights under PIPL, through the services: the resident sees exactly the department calls
about them; a request is due in working days over a holiday (fake calendar and clock); the copy holds
their data and nobody else's; a correction changes the registry record through its service, audited;
a refusal needs a reason (and a deletion its legal ground); bad input writes nothing; the deadline job
warns, then escalates an overdue request to the street (fake clock); a sibling community's staff may
not answer."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from shequ.core import outbox
from shequ.core.components import resources_all
from shequ.core.models import AuditEntry, Message, User
from shequ.grid.deadlines import Calendar
from shequ.grid.models import Holiday
from shequ.registry.models import Person, TimelineEntry
from shequ.registry.tests import conftest as registry_fixtures
from shequ.registry.tests.conftest import COMMUNITY_A
from shequ.sharing import rights_jobs
from shequ.sharing import selectors_rights as sel
from shequ.sharing.models import CallOutcome, RightsFile, RightsRequest, RightsStatus
from shequ.sharing.services import rights as services
from shequ.sharing.tests import rights_fixtures
from shequ.sharing.tests.rights_fixtures import Rights

pytestmark = pytest.mark.django_db
reg = registry_fixtures.reg
_fast_password_hasher = registry_fixtures._fast_password_hasher
rights = rights_fixtures.rights
SHANGHAI = ZoneInfo("Asia/Shanghai")
GAPS = re.compile(r"%\(|\{\w*\}|None|“”|（）|：$|: $|。。")


def clean(text: str) -> None:
    assert text and not GAPS.search(text), text


def inbox(user: User) -> list[Message]:
    return list(Message.objects.filter(recipient=user, topic="sharing.rights").order_by("pk"))


def copy_request(rights: Rights) -> RightsRequest:
    return services.request_submit(actor=rights["resident"], kind="copy")


# --- Who used my data ----------------------------------------------------------------------------


def test_the_resident_sees_exactly_the_calls_about_them(rights: Rights) -> None:
    mine = rights.call([rights.person, rights.neighbour])
    rights.call([rights.neighbour], grant=rights.grant(purpose="邻居的专项核查"))
    rights.call([rights.person], outcome=CallOutcome.DENIED)  # refused: returned nothing
    resident = sel.resident_of(rights["resident"])
    assert resident is not None and resident.person.pk == rights.person.pk
    assert resident.community.code == COMMUNITY_A
    (use,) = sel.data_uses([rights.person.pk])
    assert (use.at, use.purpose, use.legal_basis) == (
        mine.at,
        "核查低保家庭人口",
        "《社会救助暂行办法》第十一条",
    )
    assert use.department == rights.world.department.name
    people = resources_all()["people"]
    titles = {f.key: str(f.title) for f in people.fields}
    assert use.resource == str(people.title) and use.fields == [
        titles[k] for k in ("name", "id_number", "phone")
    ]
    # The neighbour's own view has both calls; a resident of community B sees none.
    assert len(sel.data_uses([rights.neighbour.pk])) == 2
    assert sel.data_uses([rights.person_b.pk]) == []
    page = rights.client("resident").get("/sharing/rights/").content.decode()
    assert "核查低保家庭人口" in page and "邻居的专项核查" not in page
    assert page.count("《社会救助暂行办法》第十一条") == 1


def test_staff_reveals_of_the_full_numbers_are_listed(rights: Rights) -> None:
    from shequ.core import personal

    personal.reveal(actor=rights["head_a"], obj=rights.person, field="phone", reason="联系本人核实住址")
    personal.reveal(actor=rights["head_a"], obj=rights.neighbour, field="phone", reason="联系邻居")
    with pytest.raises(PermissionDenied):  # refused: nothing was shown, so nothing is listed
        personal.reveal(actor=rights["worker_a"], obj=rights.person, field="id_number", reason="查看")
    (reveal,) = sel.staff_reveals([rights.person.pk])
    assert reveal.reason == "联系本人核实住址" and reveal.fields == ("手机号码",)
    assert reveal.who.startswith(rights.world.regions[rights.person.region_code].name + " · ")
    assert "head_a" not in reveal.who  # the role, not the staff member's name
    page = rights.client("resident").get("/sharing/rights/").content.decode()
    assert "联系本人核实住址" in page and "联系邻居" not in page


# --- Deadlines ------------------------------------------------------------------------------------


def test_the_deadline_counts_working_days_over_a_holiday(
    rights: Rights, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    Holiday.objects.filter(date__range=(dt.date(2026, 9, 1), dt.date(2026, 10, 31))).delete()
    for day in range(1, 8):
        Holiday.objects.create(date=dt.date(2026, 10, day), name="国庆节")
    Holiday.objects.create(date=dt.date(2026, 9, 27), name="国庆调休", is_workday=True)
    friday = dt.datetime(2026, 9, 25, 10, 0, tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: friday)
    settings.SHEQU_PIPL_DAYS = 5  # type: ignore[attr-defined]
    short = copy_request(rights)
    # Sun 27 (worked in exchange), Mon 28, Tue 29, Wed 30, then the holiday, then Thu 8 October.
    assert timezone.localtime(short.due_at) == dt.datetime(2026, 10, 8, 23, 59, 59, tzinfo=SHANGHAI)
    assert short.submitted_at < short.warn_at < short.due_at
    del settings.SHEQU_PIPL_DAYS  # type: ignore[attr-defined]
    default = services.request_submit(
        actor=rights["resident"], kind="deletion", detail="删除我以前的工作单位"
    )
    assert default.due_at == Calendar.load().add_working_days(friday, 15)
    assert timezone.localtime(default.due_at).date() == dt.date(2026, 10, 22)


# --- Copy ------------------------------------------------------------------------------------------


def _workbook_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data))
    return "\n".join(
        str(cell) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for cell in row if cell
    )


def test_the_copy_holds_their_data_only_and_only_they_download_it(rights: Rights) -> None:
    from shequ.grid import services as grid
    from shequ.grid.models import Source
    from shequ.registry import services as registry
    from shequ.registry.tests.conftest import GRID_A, GRID_C

    rights.call([rights.person, rights.neighbour])
    # The resident lives in the neighbour's household: the head is named masked, never in full.
    household = registry.household_create(actor=None, head=rights.neighbour, number="H-0001")
    registry.household_add_member(
        actor=None, household=household, person=rights.person, relation_to_head="non_relative"
    )
    for author, grid_code, title in (
        (rights["resident"], GRID_A, "路灯不亮"),
        (rights.resident_b, GRID_C, "垃圾没人清"),
    ):
        grid.ticket_submit(
            actor=author,
            source=Source.RESIDENT,
            region=rights.world.regions[grid_code],
            title=title,
            description=f"{title}，请尽快处理。",
        )
    request = copy_request(rights)
    with pytest.raises(PermissionDenied):
        services.copy_generate(actor=rights["head_b"], rights_request=request)
    services.copy_generate(actor=rights["worker_a"], rights_request=request)
    request.refresh_from_db()
    assert request.status == RightsStatus.DONE and request.answered_by == rights["worker_a"]
    row = RightsFile.objects.get(request=request, kind="copy")
    assert b"PK" not in row.file.read()[:4]  # sealed on disk, not a plain xlsx
    text = _workbook_text(services.file_bytes(row))
    assert "王小明" in text and rights.person.id_number in text and rights.person.phone in text
    assert "核查低保家庭人口" in text and "路灯不亮" in text and "垃圾没人清" not in text
    assert "H0001" in text and "赵*" in text
    for other in (rights.neighbour, rights.person_b, rights.reg.people["a"]):
        assert other.name not in text and other.id_number not in text
    # Downloads: the resident, audited; anyone else 404 (and the service refuses, audited).
    response = rights.client("resident").get(f"/sharing/rights/{request.pk}/copy/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.content[:2] == b"PK"
    for who in ("worker_a", "head_a", rights.resident_b, "auditor"):
        assert rights.client(who).get(f"/sharing/rights/{request.pk}/copy/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.copy_open(actor=rights["worker_a"], rights_request=request)
    entries = AuditEntry.objects.filter(action="sharing.rights_copy_download")
    assert [(e.actor_id, e.result) for e in entries.order_by("id")] == [
        (rights["resident"].pk, "success"),
        (rights["worker_a"].pk, "denied"),
    ]
    row.refresh_from_db()
    assert row.downloads == 1


def test_restricted_tags_are_counted_not_described(rights: Rights) -> None:
    from shequ.registry import services as registry
    from shequ.registry import subject_data

    registry.tag_add(actor=None, person=rights.person, category="disabled", grade="2")
    registry.tag_add(actor=None, person=rights.person, category="community_correction")
    sections = {s.key: s for s in subject_data.subject_sections(rights.person)}
    tags = sections["tags"]
    assert len(tags.rows) == 1 and "1" in tags.note
    assert "矫正" not in " ".join(str(c) for r in tags.rows for c in r) + tags.note


# --- Correction ------------------------------------------------------------------------------------


def test_a_correction_changes_the_record_through_the_registry(rights: Rights) -> None:
    proof = SimpleUploadedFile("proof.pdf", b"%PDF-1.4 proof", content_type="application/pdf")
    request = services.request_submit(
        actor=rights["resident"], kind="correction", item="work_unit", value="岳麓区人民医院", proof=proof
    )
    assert request.value == "岳麓区人民医院" and request.files.count() == 1
    services.correction_apply(actor=rights["worker_a"], rights_request=request, reason="与工作证核对一致")
    person = Person.objects.get(pk=rights.person.pk)
    assert person.work_unit == "岳麓区人民医院"
    request.refresh_from_db()
    assert request.status == RightsStatus.DONE and request.applied_fields == ["work_unit"]
    registry_entry = AuditEntry.objects.get(action="registry.person_correct", object_id=str(person.pk))
    assert registry_entry.actor_id == rights["worker_a"].pk
    assert registry_entry.reason == f"居民更正请求第{request.pk}号：与工作证核对一致"
    assert AuditEntry.objects.filter(action="sharing.rights_correct", object_id=str(request.pk)).exists()
    assert TimelineEntry.objects.filter(action="person.correct").exists()
    # Audit details never hold the value.
    submit = AuditEntry.objects.get(action="sharing.rights_submit")
    assert "岳麓区人民医院" not in str(submit.detail)
    outbox.run_pending()
    (told,) = inbox(rights["resident"])
    clean(told.subject)
    clean(told.body)
    assert (
        told.subject == "您的个人信息已更正" and "工作单位" in told.body and "与工作证核对一致" in told.body
    )


def test_a_wrong_value_is_refused_by_the_registry_and_changes_nothing(rights: Rights) -> None:
    request = services.request_submit(
        actor=rights["resident"], kind="correction", item="phone", value="12345"
    )
    with pytest.raises(ValidationError) as caught:
        services.correction_apply(actor=rights["worker_a"], rights_request=request, reason="核对")
    assert "value" in caught.value.message_dict
    request.refresh_from_db()
    assert request.is_open and Person.objects.get(pk=rights.person.pk).phone == rights.person.phone
    # Staff may write the value as the proof shows it.
    services.correction_apply(
        actor=rights["worker_a"], rights_request=request, value="13912340000", reason="以本人提供的号码为准"
    )
    assert Person.objects.get(pk=rights.person.pk).phone == "13912340000"


# --- Refusal and deletion ----------------------------------------------------------------------------


def test_a_refusal_needs_a_reason_and_a_deletion_its_legal_ground(rights: Rights) -> None:
    deletion = services.request_submit(actor=rights["resident"], kind="deletion", detail="请删除我的户籍地址")
    cases = (("", "hukou", {"reason"}), ("依法须保留", "", {"ground"}), ("短", "x", {"reason", "ground"}))
    for reason, ground, fields in cases:
        with pytest.raises(ValidationError) as caught:
            services.request_refuse(
                actor=rights["head_a"], rights_request=deletion, reason=reason, ground=ground
            )
        assert set(caught.value.message_dict) == fields
    deletion.refresh_from_db()
    assert deletion.is_open and not AuditEntry.objects.filter(action="sharing.rights_refuse").exists()
    services.request_refuse(
        actor=rights["head_a"],
        rights_request=deletion,
        reason="户籍地址依法由公安机关登记，社区不能删除。",
        ground="hukou",
    )
    deletion.refresh_from_db()
    assert deletion.status == RightsStatus.REFUSED and deletion.ground == "hukou"
    with pytest.raises(ValidationError):  # answered once only
        services.request_complete(actor=rights["head_a"], rights_request=deletion, answer="已删除相关信息")
    outbox.run_pending()
    (told,) = inbox(rights["resident"])
    clean(told.body)
    assert "户籍" in told.body and "社区不能删除" in told.body
    # A deletion the law allows: done, saying what was deleted.
    allowed = services.request_submit(
        actor=rights["resident"], kind="deletion", detail="删除我撤回同意的宣传照片"
    )
    services.request_complete(
        actor=rights["head_a"], rights_request=allowed, answer="已删除活动宣传照片2张。"
    )
    allowed.refresh_from_db()
    assert allowed.status == RightsStatus.DONE and allowed.answer == "已删除活动宣传照片2张。"


# --- Bad input and scope ---------------------------------------------------------------------------------


def test_bad_input_gets_specific_errors_and_writes_nothing(rights: Rights) -> None:
    resident = rights["resident"]
    cases = [
        ({"kind": "erase"}, {"kind"}),
        ({"kind": "correction"}, {"item"}),
        ({"kind": "correction", "item": "name"}, {"value"}),
        ({"kind": "correction", "item": "other"}, {"detail"}),
        ({"kind": "correction", "item": "password", "value": "x"}, {"item"}),
        ({"kind": "deletion"}, {"detail"}),
        ({"kind": "deletion", "detail": "删"}, {"detail"}),
        ({"kind": "deletion", "detail": "x" * 1001}, {"detail"}),
        ({"kind": "copy", "detail": "bad\x00byte"}, {"detail"}),
    ]
    for kwargs, fields in cases:
        with pytest.raises(ValidationError) as caught:
            services.request_submit(actor=resident, **kwargs)  # type: ignore[arg-type]
        assert set(caught.value.message_dict) == fields, kwargs
    bad_proof = SimpleUploadedFile(
        "x.exe", b"MZ\x90\x00not an image", content_type="application/octet-stream"
    )
    with pytest.raises(ValidationError):
        services.request_submit(
            actor=resident, kind="correction", item="name", value="王晓明", proof=bad_proof
        )
    assert RightsRequest.objects.count() == 0 and RightsFile.objects.count() == 0
    # Not a linked resident: staff, a resident whose number matches nobody.
    for who in (rights["worker_a"], rights["outsider"]):
        with pytest.raises(PermissionDenied):
            services.request_submit(actor=who, kind="copy")
    # One open copy request at a time.
    copy_request(rights)
    with pytest.raises(ValidationError):
        copy_request(rights)
    assert RightsRequest.objects.count() == 1


def test_staff_of_a_sibling_community_cannot_see_or_answer(rights: Rights) -> None:
    request = services.request_submit(actor=rights["resident"], kind="deletion", detail="删除我以前的手机号")
    assert list(sel.request_queue(viewer=rights["head_a"])) == [request]
    assert list(sel.request_queue(viewer=rights["street"])) == [request]
    for who in ("head_b", "outsider", "dept", "resident"):
        assert list(sel.request_queue(viewer=rights[who])) == []
        client = rights.client(who)
        assert client.get(f"/sharing/rights/staff/{request.pk}/").status_code in {403, 404}
        response = client.post(
            f"/sharing/rights/staff/{request.pk}/", {"action": "done", "done-answer": "已删除"}
        )
        assert response.status_code in {403, 404}
    assert rights.client("head_b").get(f"/sharing/rights/staff/{request.pk}/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.request_complete(actor=rights["head_b"], rights_request=request, answer="已经删除了")
    assert AuditEntry.objects.filter(action="sharing.rights_done", result="denied").count() == 1
    request.refresh_from_db()
    assert request.is_open
    # Another resident cannot read it either.
    assert rights.client(rights.resident_b).get(f"/sharing/rights/{request.pk}/").status_code == 404


# --- Reminders ---------------------------------------------------------------------------------------------


def test_the_job_warns_then_escalates_an_overdue_request_to_the_street(rights: Rights) -> None:
    request = services.request_submit(
        actor=rights["resident"], kind="correction", item="other", detail="我的房屋面积登记错了"
    )
    outbox.run_pending()
    (new,) = inbox(rights["worker_a"])
    clean(new.body)
    assert new.subject == "新的个人信息权利请求：更正" and "王*明" in new.body
    assert rights_jobs.remind(now=request.warn_at - dt.timedelta(minutes=1)) == 0
    assert rights_jobs.remind(now=request.warn_at + dt.timedelta(minutes=1)) == 1
    assert rights_jobs.remind(now=request.warn_at + dt.timedelta(minutes=2)) == 0  # once
    outbox.run_pending()
    soon = inbox(rights["head_a"])[-1]
    clean(soon.body)
    assert soon.subject == "个人信息权利请求即将到期：更正"
    assert inbox(rights["street"]) == []
    late = request.due_at + dt.timedelta(hours=1)
    assert rights_jobs.remind(now=late) == 1 and rights_jobs.remind(now=late) == 0
    outbox.run_pending()
    for who in ("head_a", "worker_a", "street"):
        overdue = inbox(rights[who])[-1]
        clean(overdue.body)
        assert overdue.subject == "个人信息权利请求已超期：更正"
    assert inbox(rights["head_b"]) == [] and inbox(rights["resident"]) == []
    request.refresh_from_db()
    assert request.overdue_at == late
    # The queue colours it.
    assert sel.colour(request, now=late) == "red"
    assert sel.colour(request, now=request.warn_at + dt.timedelta(minutes=1)) == "yellow"
    assert sel.colour(request, now=request.submitted_at) == "green"
