"""The closing report of a call-out: summary, grids, the merged timeline, non-responders and help
requests, on the page and in the Excel workbook (opened again with openpyxl), which needs
``emergency.mobilize``, is audited and never carries a phone number."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from shequ.core.models import AuditEntry
from shequ.emergency import report
from shequ.emergency.models import Answer, Mobilization, MobilizationStep, Recipient, Response
from shequ.emergency.services import answers, mobilization
from shequ.emergency.tests.conftest import COMMUNITY_A, GRID_A, GRID_B, Registry

pytestmark = pytest.mark.django_db


def finished_call_out(town: Registry) -> Mobilization:
    """张三 asks for help, 李四 is safe, grid_a acknowledges by staff; the rest stay silent and are
    re-sent and escalated; then the call-out is closed."""
    call = mobilization.mobilization_start(
        actor=town.world["head_a"],
        title="暴雨转移",
        body="今晚有特大暴雨，低洼处住户请做好转移准备。",
        response=Response.STATUS,
        targets=[{"kind": "residents", "region": COMMUNITY_A}, {"kind": "staff", "region": COMMUNITY_A}],
        is_drill=True,
        resend_after_minutes=5,
        escalate_after_minutes=15,
    )
    people = {r.name: r for r in Recipient.objects.filter(mobilization=call)}
    answers.answer_on_page(recipient=people["张三"], answer=Answer.HELP, location="5栋楼顶")
    answers.answer_on_page(recipient=people["李四"], answer=Answer.SAFE)
    answers.answer_by_staff(
        actor=town.world["worker_a"], recipient=people["grid_a"], answer=Answer.SAFE, note="电话联系"
    )
    mobilization.resend_due(call, now=timezone.now() + timedelta(minutes=6))
    mobilization.escalate_due(call, now=timezone.now() + timedelta(minutes=16))
    return mobilization.mobilization_close(actor=town.world["head_a"], mobilization=call)


def test_the_report_counts_and_merges_the_timeline(town: Registry) -> None:
    call = finished_call_out(town)
    data = report.closing_report(mobilization=call, viewer=town.world["head_a"])
    assert data.total == call.total and data.answered == 3
    assert dict((a, n) for a, _label, n in data.counts) == {"pending": call.total - 3, "safe": 2, "help": 1}
    assert [r.name for r in data.help_needed] == ["张三"]
    silent = {r.name for r in data.silent}
    assert "赵六" in silent and "张三" not in silent and "李四" not in silent
    assert all(r.escalated_at is not None and r.sends == 2 for r in data.silent)
    steps = [s.what for s in data.timeline]
    # The call-out's steps and each person's answer, in time order.
    # (re-sending and escalation were run with a later clock than the closing)
    assert steps[0] == "已发送" and "已结束" in steps
    assert any("张三 应答“需要帮助”" in s for s in steps)
    assert "向未应答人员重发" in steps and "转交网格员" in steps
    assert [s.at for s in data.timeline] == sorted(s.at for s in data.timeline)
    grid_a = next(g for g in data.grids if g.region_code == GRID_A)
    assert grid_a.help == 1
    # A grid worker's report holds their grid's people only.
    mine = report.closing_report(mobilization=call, viewer=town.world["grid_b"])
    assert {r.region_code for r in mine.silent} <= {GRID_B}
    assert "张三" not in {s.who for s in mine.timeline}


def test_the_excel_report(town: Registry) -> None:
    call = finished_call_out(town)
    client = Client()
    client.force_login(town.world["head_a"])
    response = client.get(f"/emergency/callouts/{call.pk}/report.xlsx")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"].startswith(f'attachment; filename="callout-{call.pk}-')
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["概况", "各网格", "时间线", "未应答", "求助"]
    summary = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=4, values_only=True)}
    assert summary["应急动员"] == "【演练】暴雨转移" and summary["演练"] == "是"
    assert summary["动员人数"] == call.total and summary["已应答"] == 3 and summary["需要帮助"] == 1
    assert "导出人 head_a" in str(book["概况"]["A2"].value)  # the watermark
    grids = {row[1]: row for row in book["各网格"].iter_rows(min_row=4, values_only=True)}
    assert grids[GRID_A][5] == 1 and grids[GRID_B][3] == 1  # help in grid A, 李四 answered in B
    timeline = [row[1] for row in book["时间线"].iter_rows(min_row=4, values_only=True)]
    assert timeline[0] == "已发送" and "已结束" in timeline
    assert any("张三 应答“需要帮助”" in str(t) for t in timeline)
    silent = [row for row in book["未应答"].iter_rows(min_row=4, values_only=True)]
    assert "赵六" in [row[1] for row in silent] and all(row[4] == 2 for row in silent)
    helped = list(book["求助"].iter_rows(min_row=4, values_only=True))
    assert [(row[2], row[4]) for row in helped] == [("张三", "5栋楼顶")]
    # No phone number anywhere in the workbook.
    text = " ".join(
        str(cell) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for cell in row if cell
    )
    for phone in ("13811112222", "13811113333", "13822224444"):
        assert phone not in text and phone[-4:] not in text
    # Audited once.
    entry = AuditEntry.objects.get(action="emergency.report_export")
    assert entry.object_id == str(call.pk) and entry.region_code == call.region_code
    assert entry.detail["silent"] == len(silent)


def test_the_excel_report_needs_mobilize_in_scope(town: Registry) -> None:
    call = finished_call_out(town)
    for persona, status in (("worker_a", 403), ("grid_a", 403), ("head_b", 403), ("outsider", 403)):
        client = Client()
        client.force_login(town.world[persona])
        assert client.get(f"/emergency/callouts/{call.pk}/report.xlsx").status_code in (status, 404), persona
    assert not AuditEntry.objects.filter(action="emergency.report_export").exists()
    # The page itself: the report's names for those who see the call-out; head_b gets 404.
    client = Client()
    client.force_login(town.world["head_b"])
    assert client.get(f"/emergency/callouts/{call.pk}/report/").status_code == 404
    client.force_login(town.world["head_a"])
    page = client.get(f"/emergency/callouts/{call.pk}/report/").content.decode()
    assert "【演练】暴雨转移" in page and "赵六" in page and "5栋楼顶" in page
    assert "13811113333" not in page


def test_the_report_of_a_call_out_without_answers_or_steps(town: Registry) -> None:
    call = mobilization.mobilization_start(
        actor=town.world["head_a"],
        title="确认收到",
        body="请确认收到。",
        response=Response.ACK,
        targets=[{"kind": "staff", "region": COMMUNITY_A}],
    )
    data = report.closing_report(mobilization=call, viewer=town.world["head_a"])
    assert data.answered == 0 and data.share == 0 and not data.help_needed
    assert [s.what for s in data.timeline] == [str(MobilizationStep.SENT.label)] or len(data.timeline) == 1
    body = report.report_workbook(data, exported_by="测试")
    book = load_workbook(io.BytesIO(body))
    assert list(book["求助"].iter_rows(min_row=4, values_only=True)) == []
