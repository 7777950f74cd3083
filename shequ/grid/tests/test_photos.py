"""More photos for an open ticket (补充照片): the reporter, the region's staff and the department that
has the ticket add them as a timeline step, on the ticket page and through the API (multipart); the
API serves them back to those who see the ticket. Refusals change nothing."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image, PngImagePlugin

from shequ.conftest import World
from shequ.core.models import AuditEntry, AuditResult
from shequ.core.tests.api_helpers import _fresh_rate_limits, assert_error, bearer, issue
from shequ.grid import services
from shequ.grid.models import Attachment, Source, Status, Ticket, TicketAction
from shequ.grid.tests.conftest import GRID_A, jpeg_with_gps, new_ticket, png

__all__ = ["_fresh_rate_limits"]  # fixture
pytestmark = pytest.mark.django_db
API = "/api/v1/grid"


def files(*colours: str) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"{c}.jpg", jpeg_with_gps(c, (40, 30)), content_type="image/jpeg") for c in colours
    ]


def reported(world: World) -> Ticket:
    return services.ticket_submit(
        actor=world["resident"],
        source=Source.RESIDENT,
        region=world.regions[GRID_A],
        title="路灯不亮",
        description="3栋旁边的路灯坏了，晚上很黑。",
        category="cityscape.facilities",
    )


def stored(root: Path) -> int:
    """Photo files on disk (a refusal must not leave any behind)."""
    return sum(1 for f in root.rglob("*") if f.is_file())


def api_post(world: World, persona: str, ticket: Ticket, data: dict[str, Any]) -> Any:
    client = Client(headers={"Accept-Language": "en"})
    return client.post(f"{API}/tickets/{ticket.pk}/add_photos", data, **bearer(issue(world, persona)))


def test_the_reporter_adds_photos_through_the_api_and_reads_them_back(world: World) -> None:
    ticket = reported(world)
    response = api_post(world, "resident", ticket, {"photos": files("red", "blue"), "comment": "白天拍的"})
    assert response.status_code == 200, response.content[:300]
    step = response.json()["timeline"][-1]
    assert step["action"] == "add_photos" and step["comment"] == "白天拍的" and step["photos"] == 2
    assert response.json()["status"] == Status.SUBMITTED  # no state change
    photo = Client().get(
        f"{API}/tickets/{ticket.pk}/photos/{step['photo_ids'][0]}", **bearer(issue(world, "grid_a"))
    )
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert photo["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(b"".join(photo.streaming_content))) as stored:  # type: ignore[attr-defined]
        assert stored.size == (40, 30) and not stored.getexif()  # the GPS position is gone
    entry = AuditEntry.objects.filter(action="grid.add_photos").get()
    assert entry.result == AuditResult.SUCCESS and entry.object_id == str(ticket.pk)


@pytest.mark.parametrize("persona", ["grid_b", "outsider", "dept", "nobody"])
def test_those_who_do_not_see_the_ticket_get_404_and_nothing_changes(
    world: World, media_root: Path, persona: str
) -> None:
    ticket = reported(world)
    services.ticket_add_photos(actor=world["resident"], ticket=ticket, photos=[jpeg_with_gps()])
    photo = Attachment.objects.get()
    steps, files_before = TicketAction.objects.count(), stored(media_root)
    # No part in tickets at all: 403 before any ticket is looked at; anyone else: 404 as if missing.
    status = 403 if persona == "nobody" else 404
    assert_error(api_post(world, persona, ticket, {"photos": files("red")}), status)
    read = Client().get(f"{API}/tickets/{ticket.pk}/photos/{photo.pk}", **bearer(issue(world, persona)))
    assert_error(read, status)
    assert Attachment.objects.count() == 1 and TicketAction.objects.count() == steps
    assert stored(media_root) == files_before == 1


def test_staff_of_the_region_and_the_department_that_has_it_add_photos(world: World) -> None:
    ticket = services.ticket_accept(actor=world["worker_a"], ticket=new_ticket(world))
    assert api_post(world, "grid_a", ticket, {"photos": files("red")}).status_code == 200
    ticket = services.ticket_dispatch(actor=world["worker_a"], ticket=ticket, department=world.department)
    assert api_post(world, "dept", ticket, {"photos": files("blue")}).status_code == 200
    added = TicketAction.objects.filter(ticket=ticket, action="add_photos").order_by("pk")
    assert [a.actor_id for a in added] == [world["grid_a"].pk, world["dept"].pk]


def test_a_department_that_returned_the_ticket_and_a_follower_may_not(world: World, media_root: Path) -> None:
    ticket = services.ticket_accept(actor=world["worker_a"], ticket=new_ticket(world))
    ticket = services.ticket_dispatch(actor=world["worker_a"], ticket=ticket, department=world.department)
    ticket = services.ticket_department_return(actor=world["dept"], ticket=ticket, reason="不属于本部门职责")
    duplicate = reported(world)
    services.ticket_merge(
        actor=world["worker_a"], ticket=duplicate, into=ticket
    )  # the resident follows it now
    denied = AuditEntry.objects.filter(action="grid.add_photos", result=AuditResult.DENIED)
    for persona in ("dept", "resident"):  # both still see the ticket, neither may add to it
        assert_error(api_post(world, persona, ticket, {"photos": files("red")}), 403)
    assert denied.count() == 2 and stored(media_root) == 0
    assert not TicketAction.objects.filter(action="add_photos").exists()


def broken_png() -> bytes:
    """A PNG whose image-data chunk says it is 9 bytes long: the reader then takes bytes of the data
    for the next chunk's header (Pillow raises SyntaxError, "broken PNG file")."""
    good = png()
    assert good[37:41] == b"IDAT"
    return good[:33] + struct.pack(">I", 9) + good[37:]


def bomb_png() -> bytes:
    """A tiny PNG that declares 20,000 × 20,000 pixels."""
    raw = png()
    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    return raw[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + raw[33:]


@translation.override("en")
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"%PDF-1.4 not an image", "not a readable image"),
        (b"GIF89a" + b"\0" * 20, "not a readable image"),
        ("broken", "not a readable image"),
        ("bomb", "too many pixels"),
    ],
)
def test_bad_files_are_refused_with_the_reason_and_nothing_is_written(
    world: World, media_root: Path, content: Any, reason: str
) -> None:
    ticket = reported(world)
    data = {"broken": broken_png, "bomb": bomb_png}[content]() if isinstance(content, str) else content
    upload = SimpleUploadedFile("x.png", data, content_type="image/png")
    body = assert_error(api_post(world, "resident", ticket, {"photos": [upload]}), 400, "validation_error")
    assert [e["field"] for e in body["details"]["errors"]] == ["photos"], body
    assert reason in body["details"]["errors"][0]["error"], body
    assert Attachment.objects.count() == 0 and stored(media_root) == 0
    assert not TicketAction.objects.filter(action="add_photos").exists()


def test_no_photo_and_closed_tickets_are_refused(world: World, media_root: Path) -> None:
    ticket = reported(world)
    assert_error(api_post(world, "resident", ticket, {"comment": "没有照片"}), 400, "validation_error")
    closed = services.ticket_close_on_spot(actor=world["grid_a"], ticket=ticket, result="已修好")
    assert closed.status == Status.CLOSED
    refused = assert_error(
        api_post(world, "resident", ticket, {"photos": files("red")}), 400, "illegal_transition"
    )
    assert "Closed" in refused["message"] or "closed" in refused["message"]
    assert Attachment.objects.count() == 0 and stored(media_root) == 0
    assert not TicketAction.objects.filter(action="add_photos").exists()


@translation.override("en")
def test_a_ticket_holds_a_bounded_number_of_photos(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services._common, "MAX_TICKET_PHOTOS", 3)
    ticket = reported(world)
    services.ticket_add_photos(
        actor=world["resident"], ticket=ticket, photos=[jpeg_with_gps(), jpeg_with_gps("blue")]
    )
    with pytest.raises(ValidationError) as refused:
        services.ticket_add_photos(
            actor=world["resident"], ticket=ticket, photos=[jpeg_with_gps(), jpeg_with_gps()]
        )
    assert "at most 3 photos" in " ".join(refused.value.messages)
    assert Attachment.objects.count() == 2
    # The bound holds for the photos of every step: a result with two more is refused whole.
    ticket = services.ticket_accept(actor=world["worker_a"], ticket=ticket)
    with pytest.raises(ValidationError):
        services.ticket_handle(actor=world["worker_a"], ticket=ticket, result="已修好", photos=[png(), png()])
    assert Ticket.objects.get(pk=ticket.pk).status == Status.ACCEPTED and Attachment.objects.count() == 2


def test_the_ticket_page_offers_photos_to_the_reporter_while_open(world: World) -> None:
    ticket = reported(world)
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(world["resident"])
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    assert 'action="' + reverse("grid:ticket_add_photos", args=[ticket.pk]) in page
    assert 'enctype="multipart/form-data"' in page
    done = client.post(
        reverse("grid:ticket_add_photos", args=[ticket.pk]),
        {"add_photos-photos": files("red"), "add_photos-comment": "补一张"},
        follow=True,
    )
    assert "The photos are added." in done.content.decode() and "Photos added" in done.content.decode()
    assert Attachment.objects.filter(ticket=ticket).count() == 1
    services.ticket_close_on_spot(actor=world["grid_a"], ticket=ticket, result="已修好")
    page = client.get(reverse("grid:ticket", args=[ticket.pk])).content.decode()
    assert reverse("grid:ticket_add_photos", args=[ticket.pk]) not in page


def test_photo_files_and_folders_are_private(world: World, media_root: Path) -> None:
    """Uploads are personal data: 0600 files in 0700 folders (FILE_UPLOAD_*_PERMISSIONS)."""
    ticket = reported(world)
    response = api_post(world, "resident", ticket, {"photos": files("red")})
    assert response.status_code == 200, response.content
    written = [p for p in media_root.rglob("*")]
    assert any(p.is_file() for p in written)
    for path in written:
        assert path.stat().st_mode & 0o777 == (0o600 if path.is_file() else 0o700), path


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="31,14.08N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def phone_photo(fmt: str) -> bytes:
    """A 40×30 photo as a phone writes it, turned on its side (EXIF orientation 6), with the GPS
    position in EXIF and XMP and, for JPEG, the owner's name and number in a comment."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 1.0)}
    extra: dict[str, Any] = {"exif": exif.tobytes(), "xmp": XMP}
    if fmt == "PNG":  # PNG keeps XMP in an iTXt chunk
        extra["pnginfo"] = PngImagePlugin.PngInfo()
        extra["pnginfo"].add_itxt("XML:com.adobe.xmp", XMP.decode())
    if fmt == "JPEG":
        extra["comment"] = "张三 13800001111".encode()
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, fmt, **extra)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_stored_photos_keep_the_picture_and_lose_where_and_by_whom(
    world: World, media_root: Path, fmt: str
) -> None:
    raw = phone_photo(fmt)
    with Image.open(io.BytesIO(raw)) as sent:  # the test photo does carry what must go
        assert sent.getexif().get(0x0112) == 6 and b"GPSLatitude" in raw
    ticket = reported(world)
    services.ticket_add_photos(actor=world["resident"], ticket=ticket, photos=[raw])
    data = Attachment.objects.get().file.read()
    for secret in (b"13800001111", "张三".encode(), b"GPSLatitude", b"PhoneMaker", b"Exif\0\0"):
        assert secret not in data, (fmt, secret)
    with Image.open(io.BytesIO(data)) as kept:
        assert kept.format == fmt and kept.size == (30, 40)  # turned upright, then the tag dropped
        assert not kept.getexif() and not {"xmp", "comment", "exif"} & set(kept.info)
        red, _, _ = cast(tuple[int, int, int], kept.convert("RGB").getpixel((15, 20)))
        assert red > 200  # still the red photo
