"""The 12345 import pages: upload → report → problems workbook → commit, for importers only; an
upload is its uploader's alone (404 to anyone else); a second commit imports nothing; and the
``shequ grid import-hotline`` command."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from shequ.conftest import World
from shequ.core.models import AuditEntry, AuditResult
from shequ.grid.models import Source, Ticket
from shequ.grid.tests.test_hotline import classifier, messy_workbook

__all__ = ["classifier"]  # fixture
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("classifier")]
TOKEN_URL = re.compile(r"/grid/hotline/([0-9a-f]{32})/$")


def signed_in(world: World, persona: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world[persona])
    return client


def upload(client: Client, content: bytes, name: str = "工单.xlsx") -> str:
    response = client.post(reverse("grid:hotline_import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content[:500]
    match = TOKEN_URL.search(response["Location"])
    assert match is not None
    return match.group(1)


def test_upload_report_workbook_and_commit(world: World) -> None:
    client = signed_in(world, "worker_a")
    page = client.get(reverse("grid:hotline_import"))
    assert page.status_code == 200 and "工单编号" in page.content.decode()
    token = upload(client, messy_workbook())
    report = client.get(reverse("grid:hotline_report", args=[token]))
    html = report.content.decode()
    assert report.status_code == 200
    assert "There is no community named “泽盛社区” in your area." in html
    assert "Import the 4 valid rows" in html  # rows 5, 6, 11 and 13: nothing was imported before
    workbook = client.get(reverse("grid:hotline_errors", args=[token]))
    assert workbook.status_code == 200 and workbook["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    assert [r[0] for r in sheet.iter_rows(values_only=True) if isinstance(r[0], int)] == [8, 9, 10, 12, 14]
    assert AuditEntry.objects.filter(action="grid.hotline_errors", actor_id=world["worker_a"].pk).exists()
    # Someone else's upload does not exist for them; without the import right, no page at all.
    head = signed_in(world, "head_a")
    assert head.get(reverse("grid:hotline_report", args=[token])).status_code == 404
    assert head.post(reverse("grid:hotline_commit", args=[token]), {"expect": "4"}).status_code == 404
    assert signed_in(world, "grid_a").get(reverse("grid:hotline_import")).status_code == 403
    assert AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).exists()
    assert client.get(reverse("grid:hotline_report", args=["f" * 32])).status_code == 404
    # A stale count is refused; the right one imports every valid row.
    client.post(reverse("grid:hotline_commit", args=[token]), {"expect": "3"})
    assert Ticket.objects.count() == 0
    done = client.post(reverse("grid:hotline_commit", args=[token]), {"expect": "4"}, follow=True)
    assert "4 tickets were imported from the 12345 file." in done.content.decode()
    made = Ticket.objects.filter(source=Source.HOTLINE)
    assert made.count() == 4
    assert set(made.values_list("external_ref", flat=True)) == {
        "20260228009",
        "20260301002",
        "20260301006",
        "202603010001",
    }
    assert "Tickets imported" in done.content.decode() and made.first().number in done.content.decode()  # type: ignore[union-attr]
    # Pressing the button again imports nothing.
    again = client.post(reverse("grid:hotline_commit", args=[token]), {"expect": "4"}, follow=True)
    assert "This file was imported already." in again.content.decode() and made.count() == 4


def test_bad_uploads(world: World) -> None:
    client = signed_in(world, "worker_a")
    refused = client.post(reverse("grid:hotline_import"), {"file": SimpleUploadedFile("x.pdf", b"%PDF")})
    assert (
        refused.status_code == 400
        and "Upload an Excel (.xlsx, .xls) or CSV file." in refused.content.decode()
    )
    token = upload(client, b"\x00\x01binary", "x.csv")
    html = client.get(reverse("grid:hotline_report", args=[token])).content.decode()
    assert "The file cannot be imported:" in html and "Import the" not in html


@translation.override("en")  # the command speaks the active language (zh-Hans by default)
def test_the_command_checks_and_commits(world: World, tmp_path: Path) -> None:
    path = tmp_path / "工单.xlsx"
    path.write_bytes(messy_workbook())
    out = io.StringIO()
    call_command("grid", "import-hotline", str(path), "--as", "worker_a", stdout=out)
    text = out.getvalue()
    assert "row 12 H 所属社区: There is no community named “泽盛社区” in your area. [unknown_region]" in text
    assert "9 rows, 4 valid, 5 with problems" in text and Ticket.objects.count() == 0
    call_command("grid", "import-hotline", str(path), "--as", "worker_a", "--commit", stdout=out)
    assert "imported 4 tickets" in out.getvalue() and Ticket.objects.count() == 4
    with pytest.raises(CommandError, match=re.escape("You may not import 12345 hotline files.")):
        call_command("grid", "import-hotline", str(path), "--as", "grid_a", stdout=out)
    with pytest.raises(CommandError, match="no active account"):
        call_command("grid", "import-hotline", str(path), "--as", "ghost", stdout=out)
