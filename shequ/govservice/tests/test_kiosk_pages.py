"""The self-service terminal (自助终端) through its pages: staff open kiosk mode for their community
(residents and other regions refused), a resident signs in with their ID number and a code sent by
SMS to the registry's number (checksum, unknown and other-community numbers refused; five wrong
codes end it; only a hash is kept), applies with the staff member as the actor and the kiosk as
the channel (a required material without a photo is refused, nothing written), prints the receipt
and signs out; an idle resident is forgotten."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shequ.core.messaging import Message
from shequ.core.models import AuditEntry, AuditResult
from shequ.govservice import views_kiosk
from shequ.govservice.models import Application, Channel, Status
from shequ.govservice.tests.conftest import COMMUNITY_A, COMMUNITY_B, Gov
from shequ.grid.tests.conftest import png
from shequ.registry.tests.conftest import resident_id

pytestmark = pytest.mark.django_db

COVERED = {
    "govservice:kiosk_open",
    "govservice:kiosk",
    "govservice:kiosk_signin",
    "govservice:kiosk_verify",
    "govservice:kiosk_signout",
    "govservice:kiosk_apply",
    "govservice:kiosk_receipt",
}


def as_user(gov: Gov, persona: str) -> Client:
    client = Client()
    client.force_login(gov[persona])
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def upload(name: str = "card.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(), content_type="image/png")


def opened(gov: Gov, persona: str = "worker_a", community: str = COMMUNITY_A) -> Client:
    client = as_user(gov, persona)
    response = client.post(reverse("govservice:kiosk_open"), {"community": community})
    assert response.status_code == 302 and response["Location"] == reverse("govservice:kiosk")
    return client


def last_code() -> str:
    message = Message.objects.filter(topic="govservice.kiosk_code").order_by("-pk").first()
    assert message is not None
    found = re.search(r"\d{6}", message.body)
    assert found
    return found.group(0)


def signed_in(gov: Gov, client: Client | None = None) -> Client:
    client = client or opened(gov)
    response = client.post(reverse("govservice:kiosk_signin"), {"id_number": gov.elder.id_number})
    assert response.status_code == 302 and response["Location"] == reverse("govservice:kiosk_verify")
    response = client.post(reverse("govservice:kiosk_verify"), {"code": last_code()})
    assert response.status_code == 302 and response["Location"] == reverse("govservice:kiosk")
    return client


# --- Opening kiosk mode ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["resident", "grid_a", "grid_b", "dept", "nobody"])
def test_only_counter_staff_open_kiosk_mode(gov: Gov, persona: str) -> None:
    client = as_user(gov, persona)
    for name in ("govservice:kiosk_open", "govservice:kiosk"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("govservice:kiosk_open"), {"community": COMMUNITY_A}).status_code == 403
    assert views_kiosk.KIOSK not in client.session
    assert Client().get(reverse("govservice:kiosk_open")).status_code == 302  # sign in first


def test_staff_open_kiosk_mode_for_their_community_only(gov: Gov) -> None:
    client = as_user(gov, "worker_a")
    page = text(client.get(reverse("govservice:kiosk_open")))
    assert "枇杷塘社区" in page and "泽盛社区" not in page
    # Not before it is opened.
    assert client.get(reverse("govservice:kiosk"))["Location"] == reverse("govservice:kiosk_open")
    assert client.post(reverse("govservice:kiosk_open"), {"community": COMMUNITY_B}).status_code == 400
    assert views_kiosk.KIOSK not in client.session
    opened(gov)
    client = opened(gov, "head_b", COMMUNITY_B)
    page = text(client.get(reverse("govservice:kiosk")))
    assert "身份证号登录" in page and "泽盛社区" in page and "养老服务" in page
    items = text(client.get(reverse("govservice:kiosk"), {"domain": "elderly"}))
    assert "高龄津贴申领" in items and reverse("govservice:kiosk_apply", args=["elderly_allowance"]) in items
    # Closing it.
    client.post(reverse("govservice:kiosk_open"), {"close": "1"})
    assert client.get(reverse("govservice:kiosk"))["Location"] == reverse("govservice:kiosk_open")


# --- Signing in ----------------------------------------------------------------------------------


def test_sign_in_refuses_bad_unknown_and_other_community_numbers(gov: Gov) -> None:
    client = opened(gov)
    url = reverse("govservice:kiosk_signin")
    bad = gov.elder.id_number[:-1] + ("0" if gov.elder.id_number[-1] != "0" else "1")
    response = client.post(url, {"id_number": bad})
    assert response.status_code == 400 and "校验" in text(response)
    response = client.post(url, {"id_number": resident_id(birth="19500101", seq=777)})
    assert response.status_code == 400 and "本社区人口库中没有此身份证号" in text(response)
    # The sibling community's kiosk does not find 刘奶奶.
    other = opened(gov, "head_b", COMMUNITY_B)
    response = other.post(url, {"id_number": gov.elder.id_number})
    assert response.status_code == 400 and "本社区人口库中没有此身份证号" in text(response)
    assert not Message.objects.filter(topic="govservice.kiosk_code").exists()
    assert views_kiosk.CODE not in client.session
    assert client.get(reverse("govservice:kiosk_verify"))["Location"] == reverse("govservice:kiosk")


def test_sign_in_with_the_sms_code(gov: Gov) -> None:
    client = opened(gov)
    response = client.post(reverse("govservice:kiosk_signin"), {"id_number": gov.elder.id_number.lower()})
    assert response.status_code == 302
    message = Message.objects.get(topic="govservice.kiosk_code")
    assert message.contact_ref == f"registry.person:{gov.elder.pk}" and message.recipient is None
    code = last_code()
    state = client.session[views_kiosk.CODE]
    assert code not in str(state) and state["person"] == gov.elder.pk
    page = text(client.get(reverse("govservice:kiosk_verify")))
    assert gov.elder.masked_phone in page and gov.elder.phone not in page
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(reverse("govservice:kiosk_verify"), {"code": wrong})
    assert response.status_code == 400 and "还可以尝试4次" in text(response)
    assert client.post(reverse("govservice:kiosk_verify"), {"code": "12ab"}).status_code == 400
    assert views_kiosk.RESIDENT not in client.session
    response = client.post(reverse("govservice:kiosk_verify"), {"code": code})
    assert response["Location"] == reverse("govservice:kiosk")
    page = text(client.get(reverse("govservice:kiosk")))
    assert "刘奶奶，您好" in page and "身份证号登录" not in page and gov.elder.id_number not in page
    entry = AuditEntry.objects.get(action="govservice.kiosk_signin", result=AuditResult.SUCCESS)
    assert entry.actor_id == gov["worker_a"].pk and entry.object_id == str(gov.elder.pk)


def test_five_wrong_codes_end_the_attempt(gov: Gov) -> None:
    client = opened(gov)
    client.post(reverse("govservice:kiosk_signin"), {"id_number": gov.elder.id_number})
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert client.post(reverse("govservice:kiosk_verify"), {"code": wrong}).status_code == 400
    response = client.post(reverse("govservice:kiosk_verify"), {"code": wrong})
    assert response["Location"] == reverse("govservice:kiosk")
    # The right code no longer works: the attempt is over.
    assert client.post(reverse("govservice:kiosk_verify"), {"code": code})["Location"] == reverse(
        "govservice:kiosk"
    )
    assert views_kiosk.RESIDENT not in client.session
    assert AuditEntry.objects.filter(action="govservice.kiosk_signin", result=AuditResult.DENIED).exists()


def test_codes_sent_from_one_terminal_are_limited(gov: Gov) -> None:
    client = opened(gov)
    for _ in range(views_kiosk.SEND_LIMIT):
        assert (
            client.post(reverse("govservice:kiosk_signin"), {"id_number": gov.elder.id_number}).status_code
            == 302
        )
    response = client.post(reverse("govservice:kiosk_signin"), {"id_number": gov.elder.id_number})
    assert response.status_code == 429 and "十分钟" in text(response)
    assert Message.objects.filter(topic="govservice.kiosk_code").count() == views_kiosk.SEND_LIMIT


def test_an_expired_code_is_refused(gov: Gov) -> None:
    client = opened(gov)
    client.post(reverse("govservice:kiosk_signin"), {"id_number": gov.elder.id_number})
    session = client.session
    session[views_kiosk.CODE] = {**session[views_kiosk.CODE], "expires": time.time() - 1}
    session.save()
    response = client.post(reverse("govservice:kiosk_verify"), {"code": last_code()})
    assert response["Location"] == reverse("govservice:kiosk")
    assert views_kiosk.RESIDENT not in client.session


# --- Applying, the receipt, signing out ----------------------------------------------------------------


def test_apply_at_the_kiosk_and_print_the_receipt(gov: Gov) -> None:
    client = opened(gov)
    url = reverse("govservice:kiosk_apply", args=["elderly_allowance"])
    assert client.get(url)["Location"] == reverse("govservice:kiosk")  # sign in first
    signed_in(gov, client)
    page = text(client.get(url))
    assert "已从人口库为您填好" in page and 'capture="environment"' in page and "不能收取纸质材料" in page
    assert gov.elder.id_number not in page
    response = client.post(url, {})
    assert response.status_code == 400 and "本人银行卡或社保卡" in text(response)
    assert not Application.objects.exists()
    response = client.post(url, {"files_bank_card": upload()})
    application = Application.objects.get()
    assert response["Location"] == reverse("govservice:kiosk_receipt", args=[application.pk])
    assert (application.channel, application.status, application.created_by, application.applicant_user) == (
        Channel.KIOSK,
        Status.SUBMITTED,
        gov["worker_a"],
        None,
    )
    assert application.person_id == gov.elder.pk
    receipt = text(client.get(response["Location"]))
    assert "收件回执" in receipt and application.number in receipt and "/govservice/track/" in receipt
    assert "人口库自动调取" in receipt and "已拍照上传" in receipt and "打印" in receipt
    assert gov.elder.id_number not in receipt and gov.elder.phone not in receipt
    # Done: signed out; the receipt is gone with the resident.
    assert client.post(reverse("govservice:kiosk_signout"))["Location"] == reverse("govservice:kiosk")
    assert client.get(reverse("govservice:kiosk_receipt", args=[application.pk])).status_code == 404
    assert "身份证号登录" in text(client.get(reverse("govservice:kiosk")))


def test_receipts_of_other_applications_are_404(gov: Gov) -> None:
    client = signed_in(gov)
    client.post(reverse("govservice:kiosk_apply", args=["elderly_allowance"]), {"files_bank_card": upload()})
    application = Application.objects.get()
    assert client.get(reverse("govservice:kiosk_receipt", args=[application.pk + 1])).status_code == 404
    # Another staff member's device, the sibling community's kiosk, a resident: nothing to see.
    assert (
        opened(gov, "head_a").get(reverse("govservice:kiosk_receipt", args=[application.pk])).status_code
        == 404
    )
    other = opened(gov, "head_b", COMMUNITY_B)
    assert other.get(reverse("govservice:kiosk_receipt", args=[application.pk])).status_code == 404
    resident = as_user(gov, "resident")
    assert resident.get(reverse("govservice:kiosk_receipt", args=[application.pk])).status_code == 403


def test_an_idle_resident_is_forgotten(gov: Gov) -> None:
    client = signed_in(gov)
    session = client.session
    session[views_kiosk.RESIDENT] = {**session[views_kiosk.RESIDENT], "seen": time.time() - 301}
    session.save()
    url = reverse("govservice:kiosk_apply", args=["elderly_allowance"])
    assert client.get(url)["Location"] == reverse("govservice:kiosk")
    assert client.post(url, {"files_bank_card": upload()})["Location"] == reverse("govservice:kiosk")
    assert not Application.objects.exists()
    assert views_kiosk.RESIDENT not in client.session


def test_the_kiosk_page_signs_out_after_two_idle_minutes(gov: Gov) -> None:
    page = text(signed_in(gov).get(reverse("govservice:kiosk")))
    assert 'data-kiosk-idle="120"' in page and 'id="kiosk-signout"' in page
    assert "govservice/kiosk.js" in page
