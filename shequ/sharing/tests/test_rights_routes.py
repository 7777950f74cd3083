"""The scope matrix of the residents' rights pages (the core matrix leaves ``sharing:`` to the app):
every persona of the world, plus a resident of the sibling community B (``resident_b``), on every
route, with the expected answer written from the personas' roles: a resident sees only their own
requests and copies (anyone else's is 404), the community's staff see the requests of their regions
(a sibling community's staff get 404), everyone else with an account gets the 403, and "nobody" is
sent to sign in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern

from shequ.conftest import PERSONAS
from shequ.core.models import AuditEntry, AuditResult
from shequ.registry.tests import conftest as registry_fixtures
from shequ.sharing import urls_rights
from shequ.sharing.models import RightsFile, RightsRequest, RightsStatus
from shequ.sharing.services import rights as services
from shequ.sharing.tests import rights_fixtures
from shequ.sharing.tests.rights_fixtures import Rights

pytestmark = pytest.mark.django_db
reg = registry_fixtures.reg
_fast_password_hasher = registry_fixtures._fast_password_hasher
rights = rights_fixtures.rights

EVERYONE = (set(PERSONAS) | {"resident_b"}) - {"nobody"}
# Accounts that are a registry person with a home (the only ones who may ask).
RESIDENTS = {"resident", "resident_b"}
# sharing.rights: community and street staff, each in their own regions.
STAFF = {"worker_a", "head_a", "head_b", "street", "outsider"}
# Staff whose regions hold community A (430104002001), where ``resident`` lives.
A_STAFF = {"worker_a", "head_a", "street"}
# Words of the resident's request that no refused persona may read.
SECRET = "我已换工作"


def _who(s: Rights, persona: str) -> Client:
    return s.client(s.resident_b if persona == "resident_b" else persona)


def _correction(s: Rights) -> RightsRequest:
    proof = SimpleUploadedFile("id.pdf", b"%PDF-1.4 id card", content_type="application/pdf")
    return services.request_submit(
        actor=s["resident"], kind="correction", item="occupation", value="护士", detail=SECRET, proof=proof
    )


def _copy(s: Rights) -> RightsRequest:
    made = services.request_submit(actor=s["resident"], kind="copy")
    services.copy_generate(actor=s["worker_a"], rights_request=made)
    return made


# route → (path maker, personas answered 200, personas answered 404); everyone else with an account
# gets the 403, and "nobody" is sent to sign in.
MATRIX: dict[str, tuple[Callable[[Rights], str], set[str], set[str]]] = {
    "sharing:rights_mine": (lambda s: "/sharing/rights/", EVERYONE, set()),  # staff are told "not linked"
    "sharing:rights_new": (lambda s: "/sharing/rights/new/copy/", RESIDENTS, set()),
    "sharing:rights_mine_detail": (
        lambda s: f"/sharing/rights/{_correction(s).pk}/",
        {"resident"},
        EVERYONE - {"resident"},
    ),
    "sharing:rights_copy": (
        lambda s: f"/sharing/rights/{_copy(s).pk}/copy/",
        {"resident"},
        EVERYONE - {"resident"},
    ),
    "sharing:rights_staff": (lambda s: "/sharing/rights/staff/", STAFF, set()),
    "sharing:rights_staff_detail": (
        lambda s: f"/sharing/rights/staff/{_correction(s).pk}/",
        A_STAFF,
        STAFF - A_STAFF,
    ),
    "sharing:rights_staff_proof": (
        lambda s: f"/sharing/rights/staff/{_correction(s).pk}/proof/",
        A_STAFF,
        STAFF - A_STAFF,
    ),
}


def test_every_rights_route_is_in_the_matrix() -> None:
    names = {f"sharing:{p.name}" for p in urls_rights.urlpatterns if isinstance(p, URLPattern) and p.name}
    assert names == set(MATRIX)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_rights_pages_follow_the_persona(rights: Rights, route: str) -> None:
    make, ok, not_found = MATRIX[route]
    path = make(rights)
    for persona in sorted(EVERYONE | {"nobody"}):
        client = Client() if persona == "nobody" else _who(rights, persona)
        answer = client.get(path)
        if persona == "nobody":
            expected = 302
        elif persona in ok:
            expected = 200
        elif persona in not_found:
            expected = 404
        else:
            expected = 403
        assert answer.status_code == expected, (route, persona, answer.status_code)
        if persona == "nobody":
            assert answer["Location"].startswith(resolve_url(settings.LOGIN_URL))
        if answer.status_code != 200:
            text = answer.content.decode()
            assert SECRET not in text and "王小明" not in text and "王*明" not in text
    # The copy was downloaded by its resident only, and the refused personas were not counted.
    assert RightsFile.objects.filter(downloads__gt=1).count() == 0


def test_a_resident_never_sees_another_residents_request_or_copy(rights: Rights) -> None:
    mine = _copy(rights)
    theirs = services.request_submit(actor=rights.resident_b, kind="deletion", detail="删除孙七的旧工作单位")
    resident, resident_b = rights.client("resident"), rights.client(rights.resident_b)
    for url in (f"/sharing/rights/{mine.pk}/", f"/sharing/rights/{mine.pk}/copy/"):
        assert resident_b.get(url).status_code == 404
    assert resident.get(f"/sharing/rights/{theirs.pk}/").status_code == 404
    listed = resident.get("/sharing/rights/").content.decode()
    assert f"/sharing/rights/{theirs.pk}/" not in listed and f"/sharing/rights/{mine.pk}/" in listed
    listed_b = resident_b.get("/sharing/rights/").content.decode()
    assert f"/sharing/rights/{mine.pk}/" not in listed_b and f"/sharing/rights/{theirs.pk}/" in listed_b
    assert RightsFile.objects.get(request=mine).downloads == 0


def test_a_sibling_community_cannot_read_or_answer_a_request_of_community_a(rights: Rights) -> None:
    made = _correction(rights)
    sibling = rights.client("head_b")
    queue = sibling.get("/sharing/rights/staff/?status=").content.decode()
    assert f"/sharing/rights/staff/{made.pk}/" not in queue
    assert (
        f"/sharing/rights/staff/{made.pk}/"
        in rights.client("head_a").get("/sharing/rights/staff/").content.decode()
    )
    url = f"/sharing/rights/staff/{made.pk}/"
    for persona in ("head_b", "outsider"):
        client = rights.client(persona)
        for data in (
            {"action": "correct", "correct-value": "", "correct-reason": "核对"},
            {"action": "done", "done-answer": "已处理"},
            {"action": "refuse", "refuse-reason": "不予更正"},
        ):
            assert client.post(url, data).status_code == 404, (persona, data["action"])
    for persona in ("resident", "resident_b", "grid_a", "dept", "sysadmin"):
        assert _who(rights, persona).post(url, {"action": "refuse", "refuse-reason": "x"}).status_code == 403
    row = RightsRequest.objects.get(pk=made.pk)
    assert row.status == RightsStatus.OPEN and row.answered_by_id is None
    assert rights.person.__class__.objects.get(pk=rights.person.pk).occupation != "护士"
    assert (
        not AuditEntry.objects.filter(action__startswith="sharing.rights_", result=AuditResult.SUCCESS)
        .exclude(action="sharing.rights_submit")
        .exists()
    )


def test_only_a_linked_resident_can_post_a_request(rights: Rights) -> None:
    for persona in EVERYONE - RESIDENTS:
        answer = _who(rights, persona).post("/sharing/rights/new/deletion/", {"detail": "删除我的信息"})
        assert answer.status_code == 403, (persona, answer.status_code)
    assert Client().post("/sharing/rights/new/deletion/", {"detail": "删除我的信息"}).status_code == 302
    assert RightsRequest.objects.count() == 0
    # A resident's request is their own community's, not where they post from.
    rights.client(rights.resident_b).post("/sharing/rights/new/deletion/", {"detail": "删除我的信息"})
    made = RightsRequest.objects.get()
    assert made.requester_id == rights.resident_b.pk and made.region_code.startswith("430104002003")
    assert rights.client("head_a").get(f"/sharing/rights/staff/{made.pk}/").status_code == 404
    assert rights.client("head_b").get(f"/sharing/rights/staff/{made.pk}/").status_code == 200
