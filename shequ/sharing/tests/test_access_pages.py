"""The access pages at work: a client created and its token shown once; a grant made from the form
(and refused with specific errors, writing nothing); revoked from its page; the access log shows a
community the calls on its rows and not a sibling's, with its own row count, and filters."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.utils import timezone

from shequ.core.models import ApiToken, AuditEntry, User
from shequ.sharing.models import Grant
from shequ.sharing.tests import access_fixtures as fx
from shequ.sharing.tests.access_fixtures import COMMUNITY_A, COMMUNITY_B, GRID_A, Shared

shared, fast_hasher, fresh_rate_windows = fx.shared, fx.fast_hasher, fx.fresh_rate_windows


def signed_in(s: Shared, persona: str) -> Client:
    client = Client()
    client.force_login(s.world[persona])
    return client


def test_a_new_client_shows_its_token_once(shared: Shared) -> None:
    client = signed_in(shared, "secadmin")
    ends = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    response = client.post(
        "/sharing/clients/new/",
        {
            "department": "police",
            "username": "police-check",
            "display_name": "户籍核查接口",
            "token_name": "核查",
            "ends_on": ends,
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = re.search(r"shq_[0-9a-f]{8}_[0-9a-f]{48}", response.content.decode())
    assert raw is not None
    token = ApiToken.objects.get(user__username="police-check")
    assert token.token_hash == ApiToken.hash(raw.group())
    listing = client.get("/sharing/clients/").content.decode()
    assert "户籍核查接口" in listing and raw.group() not in listing


def test_the_client_list_does_not_query_per_department(shared: Shared) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shequ.core.models import Department
    from shequ.sharing.services import clients

    page = signed_in(shared, "secadmin")
    ends = timezone.now() + dt.timedelta(days=30)

    def add_department(code: str) -> None:
        department = Department.objects.create(
            code=code,
            name=f"部门{code}",
            kind="urban",
            region=shared.world.regions["430104002"],
            region_code="430104002",
        )
        clients.client_create(
            actor=None,
            department=department,
            username=f"sys-{code}",
            display_name=code,
            token_name="t",
            expires_at=ends,
        )

    add_department("d1")
    page.get("/sharing/clients/")  # the first page of a session loads more (caches)
    with CaptureQueriesContext(connection) as one:
        assert page.get("/sharing/clients/").status_code == 200
    add_department("d2")
    add_department("d3")
    with CaptureQueriesContext(connection) as three:
        listing = page.get("/sharing/clients/").content.decode()
    assert "部门d3" in listing and len(three) == len(one)


def test_a_client_form_with_errors_writes_nothing(shared: Shared) -> None:
    client = signed_in(shared, "secadmin")
    before = (User.objects.count(), ApiToken.objects.count())
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        "/sharing/clients/new/",
        {
            "department": "police",
            "username": "bad name!",
            "display_name": "x",
            "token_name": "x",
            "ends_on": past,
        },
    )
    assert response.status_code == 400
    assert (User.objects.count(), ApiToken.objects.count()) == before


def _grant_post(**extra: str | list[str]) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {
        "resource": "people",
        "fields_": ["name", "phone"],
        "unmasked": [],
        "region_1": COMMUNITY_A,
        "filter_residence_type": "floating",
        "purpose": "流动人口服务管理",
        "legal_basis": "",
        "ends_on": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
        "rate_per_minute": "30",
    }
    data.update(extra)
    return data


def test_a_grant_from_the_form(shared: Shared) -> None:
    client = signed_in(shared, "secadmin")
    page = client.get("/sharing/grants/new/?resource=people")
    assert page.status_code == 200 and "派出所数据接口" in page.content.decode()
    response = client.post("/sharing/grants/new/", _grant_post(client=str(shared.client.pk)))
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert grant.fields == ["name", "phone"] and grant.region_codes == [COMMUNITY_A]
    assert grant.row_filters == {"residence_type": "floating"} and grant.rate_per_minute == 30
    assert grant.department == shared.department and grant.client == shared.client
    detail = client.get(response["Location"]).content.decode()
    assert "流动人口服务管理" in detail
    body = shared.get("people/rows").json()
    assert [r["id"] for r in body["rows"]] == [shared.people["floating"].pk]


def test_grant_form_errors_are_specific_and_write_nothing(shared: Shared) -> None:
    client = signed_in(shared, "secadmin")
    response = client.post(
        "/sharing/grants/new/",
        _grant_post(
            client=str(shared.client.pk), fields_=["name", "special_tags"], unmasked=["special_tags"]
        ),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "法律" in text or "法规" in text  # the legal basis is asked for, in Chinese
    response = client.post(
        "/sharing/grants/new/",
        _grant_post(client=str(shared.client.pk), region_1=COMMUNITY_B, unmasked=["sex"]),
    )
    assert response.status_code == 400
    assert not Grant.objects.exists()


def test_revoke_from_the_grant_page(shared: Shared) -> None:
    grant = shared.grant("people", ["name"])
    client = signed_in(shared, "secadmin")
    assert client.post(f"/sharing/grants/{grant.pk}/revoke/", {"reason": " "}).status_code == 400
    response = client.post(f"/sharing/grants/{grant.pk}/revoke/", {"reason": "项目结束"})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert shared.get("people/rows").status_code == 403


def test_the_log_shows_a_community_the_calls_on_its_rows_only(shared: Shared) -> None:
    shared.grant("people", ["name"], region_codes=[COMMUNITY_A, COMMUNITY_B])
    call = shared.get("people/rows", region=GRID_A).json()["call"]  # rows of A only
    both = shared.get("people/rows").json()["call"]  # rows of A and B
    head_a = signed_in(shared, "head_a").get("/sharing/log/").content.decode()
    head_b = signed_in(shared, "head_b").get("/sharing/log/").content.decode()
    assert f"/sharing/log/{call}/" in head_a and f"/sharing/log/{both}/" in head_a
    assert f"/sharing/log/{call}/" not in head_b and f"/sharing/log/{both}/" in head_b
    # Each sees the rows of its own community.
    detail_b = signed_in(shared, "head_b").get(f"/sharing/log/{both}/")
    assert detail_b.context["rows_here"] == 1
    assert [r.region_code for r, _name in detail_b.context["regions"]] == [COMMUNITY_B]
    detail_a = signed_in(shared, "head_a").get(f"/sharing/log/{both}/")
    assert detail_a.context["rows_here"] == 2
    # The outsider of another street sees neither; the auditor sees both and the refusals.
    outsider = signed_in(shared, "outsider").get("/sharing/log/")
    assert outsider.context["page"].paginator.count == 0
    shared.get("tickets/rows")  # refused: no grant
    auditor = signed_in(shared, "auditor").get("/sharing/log/")
    assert auditor.context["page"].paginator.count == 3
    street = signed_in(shared, "street").get("/sharing/log/")
    assert street.context["page"].paginator.count == 2


def test_log_filters(shared: Shared) -> None:
    shared.grant("people", ["name"])
    shared.grant("tickets", ["title"])
    shared.get("people/rows")
    shared.get("tickets/rows")
    client = signed_in(shared, "head_a")
    assert client.get("/sharing/log/?resource=tickets").context["page"].paginator.count == 1
    assert client.get(f"/sharing/log/?department={shared.department.pk}").context["page"].paginator.count == 2
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert client.get(f"/sharing/log/?start={tomorrow}").context["page"].paginator.count == 0
    today = timezone.localdate().isoformat()
    assert client.get(f"/sharing/log/?start={today}&end={today}").context["page"].paginator.count == 2
    bad = client.get(f"/sharing/log/?start={tomorrow}&end={today}")
    assert bad.status_code == 400


def test_refused_pages_are_audited(shared: Shared) -> None:
    before = AuditEntry.objects.filter(action="access.denied").count()
    assert signed_in(shared, "head_a").get("/sharing/grants/").status_code == 403
    assert AuditEntry.objects.filter(action="access.denied").count() == before + 1
