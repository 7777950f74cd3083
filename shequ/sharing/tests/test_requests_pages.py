"""The data-request pages: the department files a request (resource first, then its terms) and
follows it; owners and security administrators see their queue and decide on the request's page;
sibling regions' users and other departments get 403/404 and no data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shequ.core.models import AuditEntry, AuditResult
from shequ.sharing.models import DataRequest, Grant, RequestStatus
from shequ.sharing.services import requests as services
from shequ.sharing.tests.reqsub_world import COMMUNITY_A, Sharing, sharing_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(s: Sharing, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resource": "people",
        "field_keys": ["name", "phone", "sex"],
        "unmasked": ["phone"],
        "regions": [str(s.world.regions[COMMUNITY_A].pk)],
        "purpose": "流动人口服务管理核查",
        "legal_basis": "《居住证暂行条例》第四条",
        "duration_days": "90",
        "client": str(s["dept"].pk),
        "filter_residence_type": "floating",
    }
    data.update(changes)
    return data


def filed(s: Sharing) -> DataRequest:
    return services.request_create(
        actor=s["dept"],
        resource="people",
        fields=["name", "sex"],
        unmasked=[],
        region_codes=[COMMUNITY_A],
        row_filters={},
        purpose="入户走访核对住址",
        legal_basis="《城市居民委员会组织法》",
        duration_days=30,
    )


def test_the_department_files_a_request_on_the_page(sharing: Sharing) -> None:
    client = as_user(sharing["dept"])
    chooser = client.get("/sharing/requests/new/")
    assert chooser.status_code == 200 and "实有人口" in chooser.content.decode()
    page = client.get("/sharing/requests/new/?resource=people")
    assert page.status_code == 200
    text = page.content.decode()
    assert "证件号码（个人信息）" in text  # the resource's fields, with their sensitivity
    refused = client.post("/sharing/requests/new/", form(sharing, regions=[], purpose=""))
    assert refused.status_code == 400 and not DataRequest.objects.exists()
    assert "此字段为必填项" in refused.content.decode() or "必填" in refused.content.decode()
    outside = client.post(
        "/sharing/requests/new/", form(sharing, regions=[str(sharing.world.regions["430104003001"].pk)])
    )
    assert outside.status_code == 400 and not DataRequest.objects.exists()
    made = client.post("/sharing/requests/new/", form(sharing))
    req = DataRequest.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/sharing/requests/{req.pk}/"
    assert req.row_filters == {"residence_type": "floating"} and req.unmasked == ["phone"]
    listed = client.get("/sharing/requests/").content.decode()
    assert f"/sharing/requests/{req.pk}/" in listed and "待审批" in listed
    detail = client.get(f"/sharing/requests/{req.pk}/").content.decode()
    assert "流动人口服务管理核查" in detail and "尚未审批" in detail
    assert 'name="decision"' not in detail  # the requester has no decide form


def test_owner_and_security_admin_decide_on_the_page(sharing: Sharing) -> None:
    req = filed(sharing)
    owner = as_user(sharing.owner)
    queue = owner.get("/sharing/requests/queue/").content.decode()
    assert f"/sharing/requests/{req.pk}/" in queue
    refused = owner.post(
        f"/sharing/requests/{req.pk}/", {"step": "owner", "decision": "refuse", "reason": ""}
    )
    assert refused.status_code == 400
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and not req.owner_decision
    approved = owner.post(f"/sharing/requests/{req.pk}/", {"step": "owner", "decision": "approve"})
    assert approved.status_code == 302
    assert f"/sharing/requests/{req.pk}/" not in owner.get("/sharing/requests/queue/").content.decode()
    admin = as_user(sharing["secadmin"])
    admin.post(f"/sharing/requests/{req.pk}/", {"step": "security", "decision": "approve"})
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and Grant.objects.get() == req.grant
    detail = as_user(sharing["dept"]).get(f"/sharing/requests/{req.pk}/").content.decode()
    assert "已同意，已授权" in detail and f"第{req.grant_id}号授权" in detail


def test_sibling_regions_and_other_departments_see_nothing(sharing: Sharing) -> None:
    req = filed(sharing)
    url = f"/sharing/requests/{req.pk}/"
    for user in (sharing.owner_b, sharing.secadmin_b, sharing.other_dept):
        client = as_user(user)
        assert client.get(url).status_code == 404, user
        assert client.post(url, {"step": "owner", "decision": "approve"}).status_code == 404, user
    assert "入户走访核对住址" not in as_user(sharing.owner_b).get("/sharing/requests/queue/").content.decode()
    assert "入户走访核对住址" not in as_user(sharing.other_dept).get("/sharing/requests/").content.decode()
    # Without any of the permissions: the audited 403.
    for key in ("head_b", "resident", "grid_a"):
        client = as_user(sharing[key])
        assert client.get("/sharing/requests/").status_code == 403
        assert client.get("/sharing/requests/queue/").status_code == 403
        assert client.get(url).status_code == 403
    assert AuditEntry.objects.filter(action="access.denied", result=AuditResult.DENIED).count() >= 9
    # The department may not decide its own request, even by posting the form.
    assert as_user(sharing["dept"]).post(url, {"step": "owner", "decision": "approve"}).status_code == 403
    req.refresh_from_db()
    assert not req.owner_decision and not req.security_decision
