"""The import pages: upload → dry-run report → commit → result, with the ``world`` personas. An
upload belongs to its uploader: a sibling community's worker can neither import into another
community nor open its report."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shequ.core.models import AuditEntry
from shequ.registry.models import ImportBatch, ImportStatus, Person
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B, GRID_A, Registry
from shequ.registry.tests.test_import import ID_DUP, ID_GOOD, ID_SLASH, messy_ledger, registry_counts


def html(response: Any) -> str:
    return response.content.decode()


def assert_page_shape(response: Any) -> None:
    body = html(response)
    assert body.count("<h1") == 1
    assert " style=" not in body and not re.search(r"<script(?![^>]*\bsrc=)", body)  # the CSP forbids them
    assert response["Cache-Control"] == "no-store"


def signed_in(reg: Registry, persona: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(reg.world[persona])
    return client


def upload(
    client: Client,
    content: bytes,
    *,
    region: str = COMMUNITY_A,
    kind: str = "people",
    name: str = "台账.xlsx",
) -> Any:
    return client.post(
        "/registry/import/",
        {"kind": kind, "region": region, "file": SimpleUploadedFile(name, content)},
    )


@pytest.fixture
def ledger(reg: Registry) -> bytes:
    return messy_ledger(reg.people["a"].id_number, reg.people["c"].id_number)


def test_upload_report_commit_result(reg: Registry, ledger: bytes) -> None:
    client = signed_in(reg, "worker_a")
    start = client.get("/registry/import/")
    assert start.status_code == 200
    assert_page_shape(start)
    options = re.findall(r'<option value="(\d+)"', html(start))
    assert set(options) == {COMMUNITY_A, GRID_A, "430104002001002"}  # only where the worker may import

    before = registry_counts()
    response = upload(client, ledger)
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert response["Location"] == f"/registry/import/{batch.pk}/"
    after = registry_counts()
    # The dry run keeps the upload (and audits the check); no registry data is written.
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "registry.ImportBatch": 1,
        "audit": 1,
    }
    assert batch.content and batch.status == ImportStatus.CHECKED
    # The file is kept encrypted: no ID number in the stored row.
    raw = ImportBatch.objects.filter(pk=batch.pk).values_list("content", flat=True).get()
    assert raw.startswith("sm4gcm:") and ID_GOOD not in raw

    report = client.get(response["Location"])
    assert report.status_code == 200
    assert_page_shape(report)
    body = html(report)
    assert "Import the 7 valid rows" in body
    assert "The same ID number is also in row 13." in body
    assert "already registered in another community" in body
    assert "泽盛社区" not in body  # where the other person lives is not said

    errors = client.get(f"/registry/import/{batch.pk}/problems.xlsx")
    assert errors.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(errors.content))
    ws = book.worksheets[0]
    assert ws["A3"].value == "Row"
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
    assert [r[0] for r in rows] == [9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24]
    # Row 12's ID cell is marked red with the reason as a comment.
    id_col = [c.value for c in ws[3]].index("身份证号码") + 1
    cell = ws.cell(row=4 + 3, column=id_col)
    assert cell.fill.fgColor.rgb.endswith("F8CBAD")
    assert cell.comment is not None and "also in row 13" in cell.comment.text
    assert AuditEntry.objects.filter(action="registry.import_errors").count() == 1

    # A stale confirmation (the wrong count) writes nothing.
    wrong = client.post(f"/registry/import/{batch.pk}/commit/", {"expect": "8"})
    assert wrong.status_code == 302 and Person.objects.filter(name="李明").count() == 0

    done = client.post(f"/registry/import/{batch.pk}/commit/", {"expect": "7"})
    assert done.status_code == 302 and done["Location"] == f"/registry/import/{batch.pk}/done/"
    assert Person.objects.filter(name__in=["李明", "王芳", "赵强"]).count() == 3
    result = client.get(done["Location"])
    assert result.status_code == 200
    assert_page_shape(result)
    assert "People registered" in html(result)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.COMMITTED

    # Pressing the button again imports nothing twice.
    again = client.post(f"/registry/import/{batch.pk}/commit/", {"expect": "7"})
    assert again.status_code == 302
    assert Person.objects.filter(name="李明").count() == 1


def test_a_sibling_community_cannot_import_into_or_read_another(reg: Registry, ledger: bytes) -> None:
    owner = signed_in(reg, "worker_a")
    upload(owner, ledger)
    batch = ImportBatch.objects.get()
    for persona in ("head_b", "outsider", "head_a", "grid_a", "street"):
        other = signed_in(reg, persona)
        for path in (
            f"/registry/import/{batch.pk}/",
            f"/registry/import/{batch.pk}/problems.xlsx",
            f"/registry/import/{batch.pk}/done/",
        ):
            assert other.get(path).status_code == 404, (persona, path)
        assert other.post(f"/registry/import/{batch.pk}/commit/", {"expect": "7"}).status_code == 404
    assert Person.objects.filter(name="李明").count() == 0
    # head_b may import, but only into their own community: the form refuses another region.
    sibling = signed_in(reg, "head_b")
    refused = upload(sibling, ledger, region=COMMUNITY_A)
    assert refused.status_code == 400
    assert ImportBatch.objects.count() == 1
    own = upload(sibling, ledger, region=COMMUNITY_B)
    assert own.status_code == 302
    report = sibling.get(own["Location"])
    # From community B, building 3 of community A is not found and 张三 is "elsewhere".
    body = html(report)
    assert "No building 3 is registered in this region" in body
    # 张三 of community A is "elsewhere" for head_b; 王五 lives in head_b's own community.
    assert "already registered in another community" in body
    assert "already registered here (第一网格)" in body
    assert "枇杷塘社区" not in body


@pytest.mark.parametrize("persona", ["grid_a", "resident", "street", "nobody", "dept"])
def test_people_without_the_import_right_get_403(reg: Registry, persona: str) -> None:
    client = signed_in(reg, persona)
    assert client.get("/registry/import/").status_code == 403
    assert client.get("/registry/import/template/people.xlsx").status_code == 403
    assert AuditEntry.objects.filter(action="access.denied").count() == 2


def test_anonymous_is_sent_to_login(reg: Registry) -> None:
    client = Client()
    for path in (
        "/registry/import/",
        "/registry/import/1/",
        "/registry/import/template/people.xlsx",
        "/registry/export/people/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_a_file_that_cannot_be_read_gets_a_clear_report(reg: Registry) -> None:
    client = signed_in(reg, "worker_a")
    response = upload(client, b"\x00\x01garbage" * 10, name="x.xlsx")
    report = client.get(response["Location"])
    assert "This is not an Excel (.xlsx, .xls) or CSV file." in html(report)
    assert "Import the" not in html(report)
    bad_kind = upload(client, b"a,b\n1,2\n", kind="cars")
    assert bad_kind.status_code == 400


def test_csv_upload_in_gbk_imports(reg: Registry) -> None:
    client = signed_in(reg, "worker_a")
    text = (
        "姓名,身份证号,联系电话,楼栋,单元,房号\n"
        f"郑一,{ID_SLASH},13800001111,3,2,401\n"
        f"吴一,{ID_DUP},,3,2,402\n"
    )
    response = upload(client, text.encode("gbk"), name="人口.csv", region=GRID_A)
    batch = ImportBatch.objects.get()
    page = html(client.get(response["Location"]))
    assert "Import the 1 valid row" in page
    assert "No house 3栋2单元402室" in page
    client.post(f"/registry/import/{batch.pk}/commit/", {"expect": "1"})
    person = Person.objects.get(name="郑一")
    assert person.phone == "13800001111" and person.house == reg.houses["a"][2]


def test_a_file_with_only_bad_rows_can_still_be_downloaded_marked(reg: Registry) -> None:
    client = signed_in(reg, "worker_a")
    upload(client, "姓名,身份证号\n坏一,123\n".encode(), name="bad.csv")
    batch = ImportBatch.objects.get()
    page = html(client.get(f"/registry/import/{batch.pk}/"))
    assert "Import the" not in page and "A resident ID number has 18 characters; this one has 3." in page
    ws = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/registry/import/{batch.pk}/problems.xlsx").content)
    ).active
    assert [c.value for c in ws[4]][:3] == [2, "坏一", "123"]
    assert client.post(f"/registry/import/{batch.pk}/commit/", {"expect": "0"}).status_code == 302
    assert not Person.objects.filter(name="坏一").exists()
