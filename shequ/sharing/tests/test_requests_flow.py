"""Data requests (供需对接) through the services: a department asks within its area, validated
like a grant; the owner and a security administrator decide in either order; both approvals
create the grant with the requested terms; a refusal ends it; nobody decides their own request
or both steps; deciders out of scope are refused and audited; notices at each step."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from shequ.core.models import AuditEntry, AuditResult, Message
from shequ.sharing.models import DataRequest, Grant, RequestStatus
from shequ.sharing.services import requests as services
from shequ.sharing.tests.reqsub_world import (  # noqa: F401 (fixtures)
    COMMUNITY_A,
    COMMUNITY_B,
    Sharing,
    sharing_fixture,
)

pytestmark = pytest.mark.django_db


def ask(s: Sharing, **changes: Any) -> DataRequest:
    terms: dict[str, Any] = {
        "actor": s["dept"],
        "resource": "people",
        "fields": ["name", "phone", "sex"],
        "unmasked": ["phone"],
        "region_codes": [COMMUNITY_A],
        "row_filters": {"residence_type": "floating"},
        "purpose": "流动人口服务管理核查",
        "legal_basis": "《居住证暂行条例》第四条",
        "duration_days": 90,
    }
    terms.update(changes)
    return services.request_create(**terms)


def decide(s: Sharing, req: DataRequest, who: Any, step: str, approve: bool = True, reason: str = "") -> Any:
    return services.request_decide(actor=who, data_request=req, step=step, approve=approve, reason=reason)


def test_both_approvals_create_the_grant_with_the_requested_terms(sharing: Sharing) -> None:
    req = ask(sharing)
    assert (req.status, req.department, req.client) == (
        RequestStatus.PENDING,
        sharing.world.department,
        sharing["dept"],
    )
    assert req.region_code == COMMUNITY_A
    decide(sharing, req, sharing["secadmin"], services.SECURITY)
    assert not Grant.objects.exists()  # one approval is not enough
    req = decide(sharing, req, sharing.owner, services.OWNER)
    grant = Grant.objects.get()
    assert req.status == RequestStatus.APPROVED and req.grant == grant
    # In the catalog's order, as the grant keeps them.
    assert (grant.resource, grant.fields, grant.unmasked) == ("people", ["name", "sex", "phone"], ["phone"])
    assert grant.region_codes == [COMMUNITY_A] and grant.row_filters == {"residence_type": "floating"}
    assert grant.client == sharing["dept"] and grant.request_id == req.pk
    assert grant.granted_by == sharing["secadmin"] and grant.purpose == "流动人口服务管理核查"
    assert 89 <= (grant.expires_at - grant.created_at).days <= 90
    decisions = AuditEntry.objects.filter(action="sharing.request_decide", result=AuditResult.SUCCESS)
    assert decisions.count() == 2
    assert AuditEntry.objects.filter(action="sharing.grant_create", detail__request=req.pk).count() == 1


def test_the_owner_may_decide_first(sharing: Sharing) -> None:
    req = ask(sharing)
    decide(sharing, req, sharing.owner, services.OWNER)
    req = decide(sharing, req, sharing["secadmin"], services.SECURITY)
    assert req.status == RequestStatus.APPROVED and Grant.objects.get().request_id == req.pk


def test_a_refusal_ends_the_request(sharing: Sharing) -> None:
    req = ask(sharing)
    with pytest.raises(ValidationError) as exc:  # a refusal needs its reason
        decide(sharing, req, sharing.owner, services.OWNER, approve=False)
    assert "reason" in exc.value.message_dict
    req = decide(sharing, req, sharing.owner, services.OWNER, approve=False, reason="目的与所需字段不相称")
    assert req.status == RequestStatus.REFUSED and req.owner_reason == "目的与所需字段不相称"
    with pytest.raises(ValidationError):
        decide(sharing, req, sharing["secadmin"], services.SECURITY)
    assert not Grant.objects.exists()


def test_nobody_decides_their_own_request_or_both_steps(sharing: Sharing) -> None:
    req = ask(sharing)
    with pytest.raises(PermissionDenied):  # the requester holds neither permission
        decide(sharing, req, sharing["dept"], services.SECURITY)
    # Roles keep one person from holding both (an administrator has no other role); should someone
    # have decided the owner's step and now hold sharing.grant, the second step is still refused.
    DataRequest.objects.filter(pk=req.pk).update(owner_decision="approve", owner_by=sharing["secadmin"])
    with pytest.raises(PermissionDenied):
        decide(sharing, req, sharing["secadmin"], services.SECURITY)
    refused = AuditEntry.objects.filter(action="sharing.request_decide", result=AuditResult.DENIED)
    assert refused.count() == 2
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and not req.security_decision
    assert not Grant.objects.exists()


def test_deciders_out_of_scope_are_refused(sharing: Sharing) -> None:
    req = ask(sharing)
    with pytest.raises(PermissionDenied):
        decide(sharing, req, sharing.owner_b, services.OWNER)  # a sibling county's officer
    with pytest.raises(PermissionDenied):
        decide(sharing, req, sharing.secadmin_b, services.SECURITY)  # a sibling county's admin
    with pytest.raises(PermissionDenied):
        decide(sharing, req, sharing["head_a"], services.OWNER)  # the community holds no sharing.own
    req.refresh_from_db()
    assert not req.owner_decision and not req.security_decision
    assert AuditEntry.objects.filter(action="sharing.request_decide", result=AuditResult.DENIED).count() == 3


def test_a_request_is_validated_like_a_grant_and_writes_nothing_when_bad(sharing: Sharing) -> None:
    with translation.override("en"):
        for changes, field in (
            ({"fields": ["name", "no_such_field"]}, "fields"),
            ({"unmasked": ["sex"]}, "unmasked"),
            ({"row_filters": {"residence_type": "martian"}}, "row_filters"),
            ({"region_codes": []}, "region_codes"),
            ({"region_codes": ["430104003001"]}, "region_codes"),  # outside the department's area
            ({"resource": "nothing"}, "resource"),
            ({"purpose": ""}, "purpose"),
            ({"legal_basis": "  "}, "legal_basis"),
            ({"duration_days": 0}, "duration_days"),
            ({"duration_days": 400}, "duration_days"),
            ({"client": sharing["head_a"]}, "client"),
        ):
            with pytest.raises(ValidationError) as exc:
                ask(sharing, **changes)
            assert field in exc.value.message_dict, changes
    assert not DataRequest.objects.exists()
    with pytest.raises(PermissionDenied):  # not department staff
        ask(sharing, actor=sharing["head_a"])
    assert not DataRequest.objects.exists()


def test_everyone_concerned_hears_of_each_step(sharing: Sharing) -> None:
    req = ask(sharing)
    filed = Message.objects.filter(topic="sharing.request", topic_ref=str(req.pk))
    assert set(filed.values_list("recipient__username", flat=True)) == {"dept", "owner", "secadmin"}
    # Chinese texts (the platform's language), naming the request and the department.
    to_owner = filed.get(recipient=sharing.owner)
    assert f"第{req.pk}号" in to_owner.subject or str(req.pk) in to_owner.subject
    assert "岳麓派出所" in to_owner.subject and "实有人口" in to_owner.subject
    Message.objects.all().delete()
    decide(sharing, req, sharing.owner, services.OWNER)
    told = set(Message.objects.values_list("recipient__username", flat=True))
    assert told == {"dept", "secadmin"}  # the requester, and who decides next
    # Who decides next is told to decide (in Chinese, whatever the decider's language was).
    assert "等待您审批" in Message.objects.get(recipient=sharing["secadmin"]).body
    assert "等待另一方审批" in Message.objects.get(recipient=sharing["dept"]).body
    Message.objects.all().delete()
    decide(sharing, req, sharing["secadmin"], services.SECURITY, approve=False, reason="法律依据不足")
    refused = Message.objects.filter(recipient=sharing["dept"]).get()
    assert "法律依据不足" in refused.body
    assert set(Message.objects.values_list("recipient__username", flat=True)) == {"dept", "owner"}
    # Nobody hears of requests they cannot see: the sibling county's officer got nothing.
    assert not Message.objects.filter(recipient=sharing.owner_b).exists()


def test_a_request_for_a_sibling_community_is_decided_by_its_owner(sharing: Sharing) -> None:
    req = ask(sharing, region_codes=[COMMUNITY_A, COMMUNITY_B])
    assert req.region_code == "430104002"
    decide(sharing, req, sharing.owner, services.OWNER)
    req = decide(sharing, req, sharing["secadmin"], services.SECURITY)
    assert Grant.objects.get().region_codes == [COMMUNITY_A, COMMUNITY_B]
