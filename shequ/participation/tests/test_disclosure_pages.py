"""The disclosure pages through the browser's eyes (Django's test client): every page and endpoint
in a scope matrix with sibling-region personas — community B's staff and residents cannot see or act
on community A's non-public pages (404 for an object outside, 403 for a page they lack the right
to), the sibling street's supervisor sees nothing of A — while the public board and its items and
attachments answer without signing in; writing, publishing, withdrawing with a reason, entering a
list, asking and answering through the pages; bad input answers a form error and changes nothing;
no page shows an unmasked name or ID number."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse

from shequ.core.models import AuditEntry
from shequ.participation import urls_disclosure
from shequ.participation.models import (
    DisclosureFile,
    DisclosureItem,
    DisclosureKind,
    DisclosureListRow,
    DisclosureQuestion,
    DisclosureStatus,
    QuestionStatus,
)
from shequ.participation.services.disclosure import questions as q_services
from shequ.participation.tests.fixtures_disclosure import Disc, rows_text
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B

pytestmark = pytest.mark.django_db

COVERED = {
    "participation:disclosure_items",
    "participation:disclosure_new",
    "participation:disclosure_schedule",
    "participation:disclosure_item",
    "participation:disclosure_edit",
    "participation:disclosure_list",
    "participation:disclosure_publish",
    "participation:disclosure_withdraw",
    "participation:disclosure_delete",
    "participation:disclosure_file",
    "participation:disclosure_questions",
    "participation:disclosure_question",
    "participation:disclosure_supervision",
    "participation:disclosure_mine",
    "participation:disclosure_board",
    "participation:disclosure_board_item",
    "participation:disclosure_ask",
    "participation:disclosure_public_file",
}


def test_every_route_of_the_area_is_covered() -> None:
    names = {f"participation:{p.name}" for p in urls_disclosure.urlpatterns if isinstance(p, URLPattern)}
    assert names == COVERED


def text(response: Any) -> str:
    return str(response.content.decode())


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world_a(disc: Disc) -> dict[str, Any]:
    """Community A: a published subsidy list with a PDF, a draft, an open question; community B: a
    published item of its own."""
    lines, ids = rows_text(disc.reg, 3)
    published = disc.item(rows=lines, publish=False)
    from shequ.participation.services.disclosure import items as item_services

    item_services.item_update(
        actor=disc["head_a"],
        item=published,
        kind=published.kind,
        title=published.title,
        body=published.body,
        decided_on=published.decided_on,
        files=[SimpleUploadedFile("名单.pdf", pdf(), "application/pdf")],
    )
    published = item_services.item_publish(actor=disc["head_a"], item=published)
    draft = disc.item(
        kind=DisclosureKind.FINANCE, period_key="2026-10", title="2026年10月财务收支", publish=False
    )
    question = q_services.question_ask(
        actor=disc["resident"],
        item=published,
        kind="challenge",
        body="第2行的家庭有人上班，为何能享受低保？",
        row=published.rows.get(number=2),
    )
    other = disc.item(community=COMMUNITY_B, title="泽盛社区2026年11月低保名单")
    return {"published": published, "draft": draft, "question": question, "other": other, "ids": ids}


def staff_urls(w: dict[str, Any]) -> dict[str, str]:
    published, draft, question = w["published"], w["draft"], w["question"]
    token = DisclosureFile.objects.filter(item=published).values_list("token", flat=True).get()
    return {
        "item": reverse("participation:disclosure_item", args=[published.pk]),
        "draft": reverse("participation:disclosure_item", args=[draft.pk]),
        "edit": reverse("participation:disclosure_edit", args=[draft.pk]),
        "list": reverse("participation:disclosure_list", args=[draft.pk]),
        "question": reverse("participation:disclosure_question", args=[question.pk]),
        "file": reverse("participation:disclosure_file", args=[token]),
    }


def test_public_board_needs_no_login_and_shows_only_what_is_public(
    disc: Disc, world_a: dict[str, Any]
) -> None:
    published, draft = world_a["published"], world_a["draft"]
    anonymous = Client()
    board = anonymous.get(reverse("participation:disclosure_board", args=[COMMUNITY_A]))
    assert board.status_code == 200
    page = text(board)
    assert published.title in page and draft.title not in page and "泽盛社区2026年11月低保名单" not in page
    item_page = anonymous.get(
        reverse("participation:disclosure_board_item", args=[COMMUNITY_A, published.pk])
    )
    page = text(item_page)
    assert item_page.status_code == 200 and "张*明" in page and "欧**明" in page and "李*" in page
    for full in world_a["ids"]:
        assert full not in page and full[:6] + "********" + full[-4:] in page
    assert "张三明" not in page
    # Drafts, other communities' items, unknown communities: 404.
    assert (
        anonymous.get(
            reverse("participation:disclosure_board_item", args=[COMMUNITY_A, draft.pk])
        ).status_code
        == 404
    )
    other = world_a["other"]
    assert (
        anonymous.get(
            reverse("participation:disclosure_board_item", args=[COMMUNITY_A, other.pk])
        ).status_code
        == 404
    )
    assert anonymous.get(reverse("participation:disclosure_board", args=["999999999999"])).status_code == 404
    assert anonymous.get(reverse("participation:disclosure_board", args=["430104002"])).status_code == 404
    assert (
        anonymous.get(
            reverse("participation:disclosure_board", args=[COMMUNITY_A]), {"kind": "x"}
        ).status_code
        == 404
    )
    # The attachment of a published item is public; a draft's is not.
    token = DisclosureFile.objects.get(item=published).token
    response = anonymous.get(reverse("participation:disclosure_public_file", args=[token]))
    assert (
        response.status_code == 200
        and response.content.startswith(b"%PDF")
        and response["X-Content-Type-Options"] == "nosniff"
    )
    from shequ.participation.services.disclosure import items as item_services

    item_services.item_update(
        actor=disc["head_a"],
        item=draft,
        kind=draft.kind,
        title=draft.title,
        body=draft.body,
        period_key=draft.period_key,
        files=[SimpleUploadedFile("a.png", png(), "image/png")],
    )
    draft_token = DisclosureFile.objects.get(item=draft).token
    assert (
        anonymous.get(reverse("participation:disclosure_public_file", args=[draft_token])).status_code == 404
    )
    # The ask page needs a sign-in.
    ask = anonymous.get(reverse("participation:disclosure_ask", args=[COMMUNITY_A, published.pk]))
    assert ask.status_code == 302 and ask["Location"].startswith("/login/")


def test_answered_questions_show_on_the_board_with_the_asker_masked(
    disc: Disc, world_a: dict[str, Any]
) -> None:
    question = world_a["question"]
    page = text(
        Client().get(
            reverse("participation:disclosure_board_item", args=[COMMUNITY_A, world_a["published"].pk])
        )
    )
    assert question.body not in page  # not answered yet
    q_services.question_answer(
        actor=disc["worker_a"], question=question, answer="经核查，该户成员为灵活就业，收入低于标准。"
    )
    page = text(
        Client().get(
            reverse("participation:disclosure_board_item", args=[COMMUNITY_A, world_a["published"].pk])
        )
    )
    assert question.body in page and "灵活就业" in page and "王*明" in page and "王小明" not in page
    board = text(Client().get(reverse("participation:disclosure_board", args=[COMMUNITY_A])))
    assert "灵活就业" in board and "王*明" in board


STAFF_PAGES = ("item", "draft", "edit", "list", "question", "file")


def test_staff_pages_scope_matrix(disc: Disc, world_a: dict[str, Any]) -> None:
    urls = staff_urls(world_a)
    # Community A's staff, the street and the county see every page of A.
    for who in ("head_a", "worker_a"):
        client = disc.client(who)
        for name in STAFF_PAGES:
            assert client.get(urls[name]).status_code == 200, (who, name)
    for supervisor in ("street", disc.county):
        client = disc.client(supervisor)
        for name in ("item", "draft", "question", "file"):
            assert client.get(urls[name]).status_code == 200, (supervisor, name)
        # Supervisors read but do not write: the edit and list pages are refused.
        assert client.get(urls["edit"]).status_code == 403
    # A grid worker's view reaches its grid only: the community's items are not theirs.
    grid = disc.client("grid_a")
    assert grid.get(urls["item"]).status_code == 404 and grid.get(urls["edit"]).status_code == 403
    # Community B's head and the other street's head: 404 on every object of A.
    for who in ("head_b", "outsider"):
        client = disc.client(who)
        for name in STAFF_PAGES:
            assert client.get(urls[name]).status_code == 404, (who, name)
    # The other street's officer: 404 on what it could read elsewhere, 403 on writing pages.
    client = disc.client(disc.other_street)
    for name in STAFF_PAGES:
        expected = 403 if name in ("edit", "list") else 404
        assert client.get(urls[name]).status_code == expected, name
    # Residents (either community) and accounts without a role: 403 on staff pages.
    for outsider in ("resident", disc.resident_b, "nobody"):
        client = disc.client(outsider)
        for name in STAFF_PAGES:
            assert client.get(urls[name]).status_code == 403, (outsider, name)
        for route in (
            "disclosure_items",
            "disclosure_new",
            "disclosure_schedule",
            "disclosure_questions",
            "disclosure_supervision",
        ):
            assert client.get(reverse(f"participation:{route}")).status_code == 403, (outsider, route)
    # Not signed in: to the login page.
    for name in STAFF_PAGES:
        response = Client().get(urls[name])
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_lists_are_scoped(disc: Disc, world_a: dict[str, Any]) -> None:
    a, b = world_a["published"], world_a["other"]
    items = reverse("participation:disclosure_items")
    page = text(disc.client("head_a").get(items))
    assert a.title in page and b.title not in page
    page = text(disc.client("head_b").get(items))
    assert b.title in page and a.title not in page and world_a["draft"].title not in page
    assert disc.client(disc.other_street).get(items).status_code == 200
    page = text(disc.client(disc.other_street).get(items))
    assert a.title not in page and b.title not in page
    page = text(disc.client("street").get(items))
    assert a.title in page and b.title in page
    questions = reverse("participation:disclosure_questions")
    assert a.title in text(disc.client("head_a").get(questions))
    assert a.title not in text(disc.client("head_b").get(questions))
    assert a.title in text(disc.client("street").get(questions))
    assert a.title not in text(disc.client(disc.other_street).get(questions))
    assert disc.client("head_a").get(items, {"kind": "nonsense"}).status_code == 400
    schedule = reverse("participation:disclosure_schedule")
    assert "枇杷塘社区" in text(disc.client("head_a").get(schedule))
    assert disc.client("head_a").get(schedule, {"region": COMMUNITY_A}).status_code == 200
    assert disc.client("head_b").get(schedule, {"region": COMMUNITY_A}).status_code == 404
    assert disc.client(disc.other_street).get(schedule, {"region": COMMUNITY_A}).status_code == 404
    assert disc.client("street").get(schedule, {"region": COMMUNITY_B}).status_code == 200


def test_writes_by_siblings_are_refused_and_change_nothing(disc: Disc, world_a: dict[str, Any]) -> None:
    published, draft, question = world_a["published"], world_a["draft"], world_a["question"]
    posts = {
        reverse("participation:disclosure_publish", args=[draft.pk]): {},
        reverse("participation:disclosure_withdraw", args=[published.pk]): {"reason": "写错了"},
        reverse("participation:disclosure_delete", args=[draft.pk]): {},
        reverse("participation:disclosure_edit", args=[draft.pk]): {
            "kind": "finance",
            "period": "2026-10",
            "title": "x",
            "body": "y",
            "region": COMMUNITY_A,
        },
        reverse("participation:disclosure_list", args=[draft.pk]): {"how": "paste", "rows": ""},
        reverse("participation:disclosure_question", args=[question.pk]): {"answer": "已核实"},
    }
    for who in ("head_b", disc.other_street, "outsider"):
        client = disc.client(who)
        for url, data in posts.items():
            assert client.post(url, data).status_code in (403, 404), (who, url)
    # The street and the county see A but may not write for it.
    for who in ("street", disc.county, "resident", disc.resident_b):
        client = disc.client(who)
        for url, data in posts.items():
            assert client.post(url, data).status_code == 403, (who, url)
    draft.refresh_from_db()
    published.refresh_from_db()
    question.refresh_from_db()
    assert draft.status == DisclosureStatus.DRAFT and draft.title == "2026年10月财务收支"
    assert published.status == DisclosureStatus.PUBLISHED and question.status == QuestionStatus.OPEN
    # Community B's resident may not ask about A's item: 403, audited.
    ask = reverse("participation:disclosure_ask", args=[COMMUNITY_A, published.pk])
    client = disc.client(disc.resident_b)
    assert client.get(ask).status_code == 403
    assert client.post(ask, {"kind": "question", "body": "为什么这样发放？"}).status_code == 403
    assert DisclosureQuestion.objects.filter(asker=disc.resident_b).count() == 0
    assert AuditEntry.objects.filter(action="access.denied", object_id=ask).exists()
    # Sibling staff creating an item for A: the community choice refuses it.
    response = disc.client("head_b").post(
        reverse("participation:disclosure_new"),
        {"region": COMMUNITY_A, "kind": "major", "decided_on": "2026-11-02", "title": "x", "body": "y"},
    )
    assert response.status_code == 400 and DisclosureItem.objects.filter(title="x").count() == 0


def test_write_publish_withdraw_through_the_pages(disc: Disc) -> None:
    client = disc.client("head_a")
    new = reverse("participation:disclosure_new")
    assert client.get(new).status_code == 200
    # Bad input: a form error, nothing written.
    bad = client.post(
        new, {"region": COMMUNITY_A, "kind": "finance", "title": "十月财务", "body": "收支明细"}
    )
    assert bad.status_code == 400 and "error-summary" in text(bad)
    bad = client.post(
        new,
        {
            "region": COMMUNITY_A,
            "kind": "finance",
            "period": "2026Q3",
            "title": "十月财务",
            "body": "收支明细",
        },
    )
    assert bad.status_code == 400 and "财务公开按月" in text(bad)
    bad = client.post(
        new,
        {
            "region": COMMUNITY_A,
            "kind": "major",
            "decided_on": "2026-11-02",
            "title": "修缮",
            "body": "决定",
            "attachments": SimpleUploadedFile("x.png", b"not an image", "image/png"),
        },
    )
    assert bad.status_code == 400
    assert DisclosureItem.objects.count() == 0
    response = client.post(
        new,
        {
            "region": COMMUNITY_A,
            "kind": "major",
            "decided_on": "2026-11-02",
            "title": "小区道路修缮工程",
            "body": "经居民代表会议表决通过，投资12万元修缮道路。",
            "attachments": [
                SimpleUploadedFile("会议记录.png", png(), "image/png"),
                SimpleUploadedFile("决定.pdf", pdf(), "application/pdf"),
            ],
        },
    )
    assert response.status_code == 302
    item = DisclosureItem.objects.get()
    assert item.files.count() == 2 and item.status == DisclosureStatus.DRAFT and item.author == disc["head_a"]
    assert item.due_at is not None
    edit = reverse("participation:disclosure_edit", args=[item.pk])
    response = client.post(
        edit,
        {
            "region": COMMUNITY_A,
            "kind": "major",
            "decided_on": "2026-11-02",
            "title": "小区道路修缮工程（修订）",
            "body": "同上",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.title.endswith("（修订）")
    assert client.post(reverse("participation:disclosure_publish", args=[item.pk])).status_code == 302
    item.refresh_from_db()
    assert item.status == DisclosureStatus.PUBLISHED and item.published_at is not None
    # Published: fixed.
    response = client.post(
        edit,
        {"region": COMMUNITY_A, "kind": "major", "decided_on": "2026-11-02", "title": "改", "body": "改"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.title.endswith("（修订）")
    withdraw = reverse("participation:disclosure_withdraw", args=[item.pk])
    response = client.post(withdraw, {"reason": ""})
    assert response.status_code == 400 and "error-summary" in text(response)
    item.refresh_from_db()
    assert item.status == DisclosureStatus.PUBLISHED
    assert client.post(withdraw, {"reason": "金额有误，更正后重新公开"}).status_code == 302
    item.refresh_from_db()
    assert item.status == DisclosureStatus.WITHDRAWN and item.withdraw_reason == "金额有误，更正后重新公开"
    assert (
        Client().get(reverse("participation:disclosure_board_item", args=[COMMUNITY_A, item.pk])).status_code
        == 404
    )
    page = text(client.get(reverse("participation:disclosure_item", args=[item.pk])))
    assert "金额有误" in page
    actions = set(
        AuditEntry.objects.filter(object_type="participation.disclosureitem").values_list("action", flat=True)
    )
    assert {
        "participation.disclosure_create",
        "participation.disclosure_update",
        "participation.disclosure_publish",
        "participation.disclosure_withdraw",
    } <= actions
    # A draft deleted.
    draft = disc.item(title="草稿", kind="major", publish=False)
    assert client.post(reverse("participation:disclosure_delete", args=[draft.pk])).status_code == 302
    assert not DisclosureItem.objects.filter(pk=draft.pk).exists()


def test_list_page_masks_and_reports_bad_rows(disc: Disc) -> None:
    item = disc.item(publish=False)
    url = reverse("participation:disclosure_list", args=[item.pk])
    client = disc.client("worker_a")
    assert client.get(url).status_code == 200
    lines, ids = rows_text(disc.reg, 2)
    bad_line = "王五\t430104195001011230\t600\t低保"
    response = client.post(url, {"how": "paste", "rows": lines + "\n" + bad_line})
    assert response.status_code == 400
    page = text(response)
    assert "error-summary" in page and "身份证号码" in page and "<td>3</td>" in page
    assert DisclosureListRow.objects.count() == 0
    response = client.post(url, {"how": "paste", "rows": lines})
    assert response.status_code == 302
    assert DisclosureListRow.objects.filter(item=item).count() == 2
    page = text(client.get(reverse("participation:disclosure_item", args=[item.pk])))
    assert "张*明" in page and ids[0] not in page and "张三明" not in page
    # An Excel file with a phone column: imported, the phone never read.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["枇杷塘社区2026年11月低保名单"])
    sheet.append(["序号", "姓名", "身份证号码", "联系电话", "金额", "原因"])
    full = disc.reg.next_id("19600202")
    sheet.append([1, "刘德华", full, "13812345678", 720, "因病"])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("低保.xlsx", buffer.getvalue())
    response = client.post(url, {"how": "file", "file": upload}, follow=True)
    assert response.status_code == 200
    assert "联系电话" in text(response)  # the note that the phone column was not read
    row = DisclosureListRow.objects.get(item=item)
    assert (row.name_masked, row.id_masked) == ("刘*华", full[:6] + "********" + full[-4:])
    bad_file = client.post(url, {"how": "file", "file": SimpleUploadedFile("x.txt", b"hello")})
    assert bad_file.status_code == 400
    assert client.post(url, {"how": "nonsense"}).status_code == 404


def test_resident_asks_and_reads_the_answer(disc: Disc, world_a: dict[str, Any]) -> None:
    published = world_a["published"]
    client = disc.client("resident")
    mine = text(client.get(reverse("participation:disclosure_mine")))
    assert "枇杷塘社区" in mine and world_a["question"].body[:10] in mine
    ask = reverse("participation:disclosure_ask", args=[COMMUNITY_A, published.pk])
    page = text(client.get(ask, {"row": published.rows.get(number=1).pk}))
    assert "张*明" in page
    response = client.post(ask, {"kind": "question", "body": "短"})
    assert response.status_code == 400 and "error-summary" in text(response)
    response = client.post(ask, {"kind": "maybe", "body": "为什么这样发放？"})
    assert response.status_code == 400
    other_row = world_a["other"].rows.first()
    assert (
        other_row is None
        or client.post(ask, {"kind": "challenge", "body": "这一行有问题", "row": other_row.pk}).status_code
        == 400
    )
    response = client.post(ask, {"kind": "question", "body": "低保金每月几号发放？"})
    assert response.status_code == 302
    question = DisclosureQuestion.objects.get(body="低保金每月几号发放？")
    assert question.asker_masked == "王*明" and question.asker_person_id == disc.person.pk
    staff = disc.client("worker_a")
    detail = reverse("participation:disclosure_question", args=[question.pk])
    assert "低保金每月几号发放" in text(staff.get(detail))
    assert staff.post(detail, {"answer": ""}).status_code == 400
    assert staff.post(detail, {"answer": "每月10日前发放到账。"}).status_code == 302
    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED
    again = staff.post(detail, {"answer": "再答"})
    assert again.status_code in (400, 200)
    question.refresh_from_db()
    assert question.answer == "每月10日前发放到账。"
    assert "每月10日前发放到账" in text(client.get(reverse("participation:disclosure_mine")))


def test_supervision_page(disc: Disc, world_a: dict[str, Any]) -> None:
    import datetime as dt

    question = world_a["question"]
    DisclosureQuestion.objects.filter(pk=question.pk).update(due_at=question.asked_at - dt.timedelta(days=1))
    url = reverse("participation:disclosure_supervision")
    page = text(disc.client("street").get(url))
    assert "枇杷塘社区" in page and "泽盛社区" in page and world_a["published"].title in page
    page = text(disc.client(disc.county).get(url))
    assert world_a["published"].title in page
    page = text(disc.client(disc.other_street).get(url))
    assert world_a["published"].title not in page and "枇杷塘社区" not in page
    assert disc.client("street").get(url, {"region": "430104003"}).status_code == 404
    assert disc.client("street").get(url, {"region": COMMUNITY_B}).status_code == 200
    for who in ("head_a", "head_b", "worker_a", "resident", "grid_a"):
        assert disc.client(who).get(url).status_code == 403, who
