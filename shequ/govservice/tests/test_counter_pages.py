"""The counter (窗口) and home visits through the pages: finding the resident (posted, scoped,
masked), choosing the service, taking the application with paper materials, scans, the item's
form and 帮办代办 with the consent; 即收即办 closed on receipt in the same request; a walk-in who is
not in the registry; bad input that changes nothing; the scope matrix."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shequ.govservice.models import Application, Channel, Consent, Status
from shequ.govservice.tests.conftest import COMMUNITY_A, Gov
from shequ.govservice.tests.test_applications import upload

pytestmark = pytest.mark.django_db

COVERED: set[str] = {"govservice:counter", "govservice:counter_take"}


def client(gov: Gov, persona: str) -> Client:
    c = Client()
    c.force_login(gov.clerk if persona == "clerk" else gov[persona])
    return c


def page(response: Any) -> str:
    return str(response.content.decode())


def take_url(code: str, query: str) -> str:
    return reverse("govservice:counter_take", args=[code]) + query


def test_find_the_resident_by_id_number_or_name_masked(gov: Gov) -> None:
    c = client(gov, "worker_a")
    response = c.post(reverse("govservice:counter"), {"q": gov.elder.id_number})
    text = page(response)
    assert response.status_code == 200 and "刘奶奶" in text and f"?person={gov.elder.pk}" in text
    assert gov.elder.id_number not in text and gov.elder.masked_id_number in text
    by_name = page(c.post(reverse("govservice:counter"), {"q": "刘奶奶"}))
    assert f"?person={gov.elder.pk}" in by_name
    # The sibling community's head does not find her.
    other = page(client(gov, "head_b").post(reverse("govservice:counter"), {"q": gov.elder.id_number}))
    assert f"?person={gov.elder.pk}" not in other
    assert c.post(reverse("govservice:counter"), {"q": ""}).status_code == 400


def test_choose_the_service_for_the_resident(gov: Gov) -> None:
    c = client(gov, "worker_a")
    text = page(c.get(reverse("govservice:counter"), {"person": gov.elder.pk}))
    assert "刘奶奶" in text and take_url("elderly_allowance", f"?person={gov.elder.pk}") in text
    found = page(c.get(reverse("govservice:counter"), {"person": str(gov.elder.pk), "item_q": "居住证明"}))
    assert take_url("residence_certificate", f"?person={gov.elder.pk}") in found
    assert "elderly_allowance" not in found
    assert (
        client(gov, "head_b").get(reverse("govservice:counter"), {"person": gov.elder.pk}).status_code == 404
    )


def test_take_on_behalf_with_consent_and_paper(gov: Gov) -> None:
    c = client(gov, "worker_a")
    url = take_url("elderly_allowance", f"?person={gov.elder.pk}")
    text = page(c.get(url))
    assert "来自人口库" in text and gov.elder.masked_id_number in text and gov.elder.id_number not in text
    assert 'name="paper_bank_card"' in text and 'name="paper_id_card"' not in text
    # On her behalf without the consent: refused, nothing written.
    data = {"channel": "counter", "on_behalf": "on", "paper_bank_card": "on"}
    response = c.post(url, data)
    assert response.status_code == 400 and not Application.objects.exists()
    # The bank card neither brought nor scanned: the exact material named.
    response = c.post(url, {"channel": "counter"})
    assert response.status_code == 400 and "本人银行卡或社保卡" in page(response)
    assert not Application.objects.exists()
    response = c.post(url, {**data, "consent": Consent.SIGNED, "consent_note": "女儿在场"})
    assert response.status_code == 302
    app = Application.objects.get()
    assert response["Location"] == reverse("govservice:application", args=[app.pk]) + "?receipt=1"
    assert app.status == Status.ACCEPTED and app.on_behalf and app.helper == gov["worker_a"]
    assert app.consent == Consent.SIGNED and app.channel == Channel.COUNTER
    assert next(m["how"] for m in app.materials if m["code"] == "bank_card") == "paper"
    receipt = page(c.get(response["Location"]))
    assert "收件回执" in receipt and app.number in receipt


def test_take_with_a_scan_and_the_form(gov: Gov) -> None:
    c = client(gov, "worker_a")
    url = take_url("elderly_allowance", f"?person={gov.elder.pk}")
    response = c.post(url, {"channel": "counter", "file_bank_card": [upload()]})
    assert response.status_code == 302
    app = Application.objects.get()
    assert app.files.count() == 1 and not app.on_behalf


def test_instant_item_closes_on_receipt_in_the_same_request(gov: Gov) -> None:
    c = client(gov, "worker_a")
    url = take_url("residence_certificate", f"?person={gov.elder.pk}")
    text = page(c.get(url))
    assert 'value="instant"' in text and 'name="answer_purpose"' in text
    response = c.post(url, {"channel": "counter", "finish": "instant"})
    assert response.status_code == 400 and not Application.objects.exists()  # the purpose is required
    response = c.post(url, {"channel": "counter", "finish": "instant", "answer_purpose": "办理银行业务"})
    assert response.status_code == 302
    app = Application.objects.get()
    assert app.status == Status.CLOSED and app.answers == {"purpose": "办理银行业务"}


def test_walk_in_not_in_the_registry(gov: Gov) -> None:
    c = client(gov, "worker_a")
    assert "walkin=1" in page(c.get(reverse("govservice:counter")))
    url = take_url("residence_certificate", "?walkin=1")
    text = page(c.get(url))
    assert 'name="applicant_name"' in text and 'name="on_behalf"' not in text
    data = {
        "applicant_name": "王先生",
        "applicant_phone": "139123",
        "region": COMMUNITY_A,
        "channel": "counter",
        "answer_purpose": "租房",
        "paper_id_card": "on",
        "paper_residence": "on",
        "paper_household": "on",
    }
    response = c.post(url, data)
    assert response.status_code == 400 and "11" in page(response) and not Application.objects.exists()
    response = c.post(url, {**data, "applicant_phone": "13912345678"})
    assert response.status_code == 302
    app = Application.objects.get()
    assert app.person_id is None and app.applicant_name == "王先生" and app.region_code == COMMUNITY_A
    detail = page(c.get(reverse("govservice:application", args=[app.pk])))
    assert "139****5678" in detail and "13912345678" not in detail
    # A grid worker keeps no counter: no walk-ins.
    assert client(gov, "grid_a").get(url).status_code == 404


def test_grid_worker_takes_at_home_and_follows_it(gov: Gov) -> None:
    c = client(gov, "grid_a")
    url = take_url("elderly_allowance", f"?person={gov.elder.pk}")
    text = page(c.get(url))
    assert 'value="home"' in text and 'value="counter"' not in text
    response = c.post(
        url,
        {"channel": "home", "on_behalf": "on", "consent": Consent.GUARDIAN, "paper_bank_card": "on"},
    )
    assert response.status_code == 302
    app = Application.objects.get()
    assert app.channel == Channel.HOME and app.helper == gov["grid_a"]
    assert c.get(reverse("govservice:application", args=[app.pk])).status_code == 200
    assert client(gov, "grid_b").get(reverse("govservice:application", args=[app.pk])).status_code == 404


def test_unknown_or_inactive_item_is_404(gov: Gov) -> None:
    from shequ.govservice.models import ServiceItem

    c = client(gov, "worker_a")
    assert c.get(take_url("nonsense", f"?person={gov.elder.pk}")).status_code == 404
    ServiceItem.objects.filter(code="elderly_allowance").update(is_active=False)
    assert c.get(take_url("elderly_allowance", f"?person={gov.elder.pk}")).status_code == 404


# --- The scope matrix ------------------------------------------------------------------------------

ASSISTS = {"grid_a", "grid_b", "worker_a", "head_a", "head_b", "street", "outsider"}
OTHERS = {"dept", "clerk", "resident", "nobody", "sysadmin", "secadmin", "auditor"}
# Who may see the elder (registry people in scope): her grid's worker and her community's staff.
SEES_ELDER = {"grid_a", "worker_a", "head_a", "street"}


def test_the_scope_matrix_of_the_counter_pages(gov: Gov) -> None:
    wrong: list[tuple[str, str, int, int]] = []
    for persona in sorted(ASSISTS | OTHERS):
        c = client(gov, persona)

        def expect(path: str, want: int, method: str = "get", data: Any = None) -> None:
            got = getattr(c, method)(path, data or {}).status_code
            if got != want:
                wrong.append((persona, path, got, want))

        assists = persona in ASSISTS
        expect(reverse("govservice:counter"), 200 if assists else 403)
        expect(reverse("govservice:counter"), 400 if assists else 403, "post")  # an empty search
        person = f"?person={gov.elder.pk}"
        seen = 200 if persona in SEES_ELDER else 404 if assists else 403
        expect(reverse("govservice:counter") + person, seen)
        expect(take_url("elderly_allowance", person), seen)
        expect(take_url("elderly_allowance", person), 400 if seen == 200 else seen, "post")
    assert wrong == []
    assert not Application.objects.exists()


def test_when_closing_on_receipt_fails_the_application_stays_accepted(gov: Gov, monkeypatch: Any) -> None:
    from django.core.exceptions import ValidationError

    from shequ.govservice.services import applications as services

    def refuse(**kwargs: Any) -> None:
        raise ValidationError({"item": "此事项不能即收即办。"})

    monkeypatch.setattr(services, "application_close_on_receipt", refuse)
    c = client(gov, "worker_a")
    url = take_url("residence_certificate", f"?person={gov.elder.pk}")
    response = c.post(
        url, {"channel": "counter", "finish": "instant", "answer_purpose": "办理银行业务"}, follow=True
    )
    app = Application.objects.get()
    assert app.status == Status.ACCEPTED
    text = page(response)
    assert "未能即收即办，办件保持已受理状态" in text and "收件回执" in text
