"""Demo data sharing for 岳麓街道: department clients and grants, their calls in the access log, data
requests (供需对接), a webhook subscription and two residents' requests under the PIPL.

- 岳麓派出所 (police) and 岳麓区民政局 (civil affairs) each get a system account (a department client
  with its API token) and an active grant on the people of 枇杷塘社区: name and masked ID number;
  civil affairs only for 低保对象 (a row filter). The police also hold an expired grant (made, as it
  were, four months ago for ninety days) and one the security administrator revoked.
- A few dozen calls go through ``rows_answer``, the API's own decision and log: paging through the
  demo resident's grid (so 曾小红 finds the police in 我的个人信息) and the community, and one call on
  each of the expired and the revoked grant (refused 403, logged too).
- The police staff 胡强 asks for the community's floating population (approved by the county and the
  security administrator: it made a grant) and for 泽盛社区's rented houses (waiting for the owner).
- A subscription of the police to residents moving out of 枇杷塘社区, sent to a loopback address
  nothing listens on: the next move-out recorded there ends, after the worker's retries, in the
  dead-letter view (the demo moves nobody: the other apps' demos count their people).
- The resident asks for a copy of her data (answered with the generated workbook) and for a
  correction of her occupation (waiting, with its PIPL deadline).

Everything goes through the sharing services, as the clicks and the API would. Idempotent: a street
whose police system account exists is left alone (the summary counts what is there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

from django.utils import timezone

from shequ.core.models import Department, User
from shequ.registry.demo.accounts import link_demo_resident
from shequ.sharing.models import (
    CallOutcome,
    DataRequest,
    Grant,
    RequestStatus,
    RightsKind,
    RightsRequest,
    SharedSubject,
    SharingCall,
    Subscription,
)
from shequ.sharing.services import access as access_services
from shequ.sharing.services.access import grant_create, grant_revoke
from shequ.sharing.services.calls import CallRefused, rows_answer
from shequ.sharing.services.clients import client_create
from shequ.sharing.services.requests import OWNER, SECURITY, request_create, request_decide
from shequ.sharing.services.rights import copy_generate, request_submit
from shequ.sharing.services.subscriptions import subscription_create

STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区
COMMUNITY_B = "430104002003"  # 泽盛社区
POLICE, CIVIL = "yuelu-police", "yuelu-civil"
POLICE_CLIENT, CIVIL_CLIENT = "police-system", "civil-system"
# A loopback port nothing listens on (discard): every attempt fails, the last one makes a dead letter.
DEAD_URL = "http://127.0.0.1:9/shequ-webhook"
POLICE_PAGES = 16  # calls paging through the resident's grid and the community
CIVIL_PAGES = 8
PAGE = 25

POLICE_PURPOSE = "核查辖区实有人口，开展户籍管理和治安防控"
POLICE_BASIS = (
    "《中华人民共和国个人信息保护法》第十三条第一款第（三）项、《中华人民共和国居民身份证法》第六条"
)
CIVIL_PURPOSE = "低保对象动态核查，确认家庭人口及居住情况"
CIVIL_BASIS = "《社会救助暂行办法》第十一条、《最低生活保障审核确认办法》第十九条"


@dataclass
class SharingSummary:
    clients: int = 0
    grants: int = 0
    calls: int = 0
    refused: int = 0
    subjects: int = 0
    resident_seen: bool = False
    requests_pending: int = 0
    requests_approved: int = 0
    subscription: int | None = None
    rights: dict[str, str] = field(default_factory=dict)
    skipped: bool = False

    def lines(self) -> list[str]:
        seen = ", the resident (曾小红) among them" if self.resident_seen else ""
        lines = [
            f"sharing: {self.clients} department clients, {self.grants} grants (active, expired, revoked), "
            f"{self.calls} API calls logged ({self.refused} refused) about {self.subjects} people{seen} — "
            f"/sharing/catalog/, /sharing/log/",
            f"sharing: data requests {self.requests_approved} approved (made a grant), "
            f"{self.requests_pending} waiting for the owner — /sharing/requests/queue/",
        ]
        if self.subscription is not None:
            lines.append(
                f"sharing: webhook subscription #{self.subscription} of the police to {DEAD_URL} (nothing "
                "listens): when a resident of 枇杷塘社区 moves out (grid worker, 迁出), the worker tries 8 "
                "times (about 11 minutes), then the delivery is in /sharing/subscriptions/dead/"
            )
        if self.rights:
            kinds = ", ".join(f"{kind} {state}" for kind, state in sorted(self.rights.items()))
            lines.append(f"sharing: residents' rights requests ({kinds}) — /sharing/rights/staff/")
        return lines

    def login_notes(self) -> list[str]:
        return [
            "sharing: secadmin — grants, clients, access log; police — data requests; "
            "resident — 我的个人信息 (/sharing/rights/): who used her data; worker_a — her requests"
        ]


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _count(summary: SharingSummary) -> SharingSummary:
    clients = [u for u in (_user(POLICE_CLIENT), _user(CIVIL_CLIENT)) if u is not None]
    summary.clients = len(clients)
    summary.grants = Grant.objects.filter(client__in=clients).count()
    calls = SharingCall.objects.filter(client__in=clients)
    summary.calls = calls.count()
    summary.refused = calls.exclude(outcome=CallOutcome.OK).count()
    subjects = SharedSubject.objects.filter(call__in=calls)
    summary.subjects = subjects.values("person_id").distinct().count()
    resident = _user("resident")
    person = link_demo_resident(resident) if resident is not None else None
    summary.resident_seen = person is not None and subjects.filter(person_id=person.pk).exists()
    requests = DataRequest.objects.filter(client__in=clients)
    summary.requests_pending = requests.filter(status=RequestStatus.PENDING).count()
    summary.requests_approved = requests.filter(status=RequestStatus.APPROVED).count()
    sub = Subscription.objects.filter(grant__client__in=clients, url=DEAD_URL).order_by("pk").first()
    summary.subscription = sub.pk if sub is not None else None
    summary.rights = {
        str(kind): str(status)
        for kind, status in RightsRequest.objects.filter(requester=resident).values_list("kind", "status")
    }
    return summary


def _backdated_grant(days_ago: int, **terms: Any) -> Grant:
    """A grant as it was made ``days_ago`` (its service checks the expiry against that day): the demo
    cannot wait for a grant to run out."""
    then = timezone.now() - dt.timedelta(days=days_ago)
    clock = SimpleNamespace(now=lambda: then, is_naive=timezone.is_naive)
    with mock.patch.object(access_services, "timezone", clock):
        return grant_create(**terms)


def _call(summary: SharingSummary, client: User, prefix: str, grant: Grant, **params: Any) -> dict[str, Any]:
    query = {"grant": str(grant.pk), **{k: str(v) for k, v in params.items()}}
    try:
        answer = rows_answer(client=client, resource_key="people", params=query, token_prefix=prefix)
    except CallRefused:
        summary.refused += 1
        summary.calls += 1
        return {"rows": [], "next": None}
    summary.calls += 1
    return answer


def _page_through(
    summary: SharingSummary, client: User, prefix: str, grant: Grant, pages: int, **params: Any
) -> set[int]:
    seen: set[int] = set()
    after = 0
    for _n in range(pages):
        answer = _call(summary, client, prefix, grant, after=after, limit=PAGE, **params)
        seen.update(row["id"] for row in answer["rows"])
        # At the end the department's system starts again from the top.
        after = 0 if answer["next"] is None else answer["next"]
    return seen


def generate_sharing(seed: int = 2026) -> SharingSummary:
    """The demo's sharing: see the module's docstring. ``seed`` is kept for the generator's
    signature; nothing here is random."""
    summary = SharingSummary()
    secadmin, police_staff, county = _user("secadmin"), _user("police"), _user("county")
    worker, resident = _user("worker_a"), _user("resident")
    police = Department.objects.filter(code=POLICE).first()
    civil = Department.objects.filter(code=CIVIL).first()
    if None in (secadmin, police_staff, county, worker, resident, police, civil):
        summary.skipped = True
        return summary
    assert secadmin and police_staff and county and worker and resident and police and civil
    if User.objects.filter(username=POLICE_CLIENT).exists():
        summary.skipped = True
        return _count(summary)
    person = link_demo_resident(resident)
    now = timezone.now()
    police_client, police_token, _raw = client_create(
        actor=secadmin,
        department=police,
        username=POLICE_CLIENT,
        display_name="岳麓派出所人口信息核查系统",
        token_name="户籍核查接口",
        expires_at=now + dt.timedelta(days=180),
    )
    civil_client, civil_token, _raw = client_create(
        actor=secadmin,
        department=civil,
        username=CIVIL_CLIENT,
        display_name="岳麓区民政局社会救助信息系统",
        token_name="低保核查接口",
        expires_at=now + dt.timedelta(days=180),
    )
    people_terms: dict[str, Any] = {
        "actor": secadmin,
        "resource": "people",
        "fields": ["name", "id_number", "sex", "residence_type", "region_code"],
        "unmasked": [],
        "region_codes": [COMMUNITY_A],
        "row_filters": {},
    }
    police_grant = grant_create(
        **people_terms,
        department=police,
        client=police_client,
        purpose=POLICE_PURPOSE,
        legal_basis=POLICE_BASIS,
        expires_at=now + dt.timedelta(days=90),
        rate_per_minute=120,
    )
    civil_grant = grant_create(
        **{**people_terms, "region_codes": [COMMUNITY_A, COMMUNITY_B], "row_filters": {"tag": "low_income"}},
        department=civil,
        client=civil_client,
        purpose=CIVIL_PURPOSE,
        legal_basis=CIVIL_BASIS,
        expires_at=now + dt.timedelta(days=60),
    )
    expired = _backdated_grant(
        120,
        **people_terms,
        department=police,
        client=police_client,
        purpose="2026年夏季流动人口集中登记核查",
        legal_basis=POLICE_BASIS,
        expires_at=now - dt.timedelta(days=30),
    )
    revoked = grant_create(
        **{**people_terms, "fields": ["name", "id_number", "phone"]},
        department=police,
        client=police_client,
        purpose="电信网络诈骗预警劝阻，核对居民联系电话",
        legal_basis=POLICE_BASIS,
        expires_at=now + dt.timedelta(days=30),
    )
    grant_revoke(
        actor=secadmin,
        grant=revoked,
        reason="授权范围超出实际需要（联系电话），经复核予以撤销，请按最小必要原则重新申请。",
    )
    summary.clients, summary.grants = 2, 4
    # The police page through the resident's grid first, then the whole community.
    grid = resident.memberships.filter(revoked_at__isnull=True).values_list("region_code", flat=True).first()
    police_prefix, half = police_token.prefix, POLICE_PAGES // 2
    seen = _page_through(summary, police_client, police_prefix, police_grant, half, region=grid)
    seen |= _page_through(summary, police_client, police_prefix, police_grant, half)
    seen |= _page_through(summary, civil_client, civil_token.prefix, civil_grant, CIVIL_PAGES)
    for old in (expired, revoked):
        _call(summary, police_client, police_prefix, old)
    summary.subjects = len(seen)
    summary.resident_seen = person is not None and person.pk in seen

    def ask(**terms: Any) -> DataRequest:
        return request_create(
            actor=police_staff, client=police_client, department=police, unmasked=[], **terms
        )

    approved = ask(
        resource="people",
        fields=["name", "id_number", "residence_type", "address"],
        region_codes=[COMMUNITY_A],
        row_filters={"residence_type": "floating"},
        purpose="流动人口居住登记核查，落实居住证管理",
        legal_basis="《居住证暂行条例》第六条、《湖南省流动人口服务和管理条例》",
        duration_days=90,
    )
    approved = request_decide(actor=county, data_request=approved, step=OWNER, approve=True)
    request_decide(
        actor=secadmin,
        data_request=approved,
        step=SECURITY,
        approve=True,
        reason="用途明确，字段符合最小必要原则，同意。",
    )
    summary.requests_approved = 1
    ask(
        resource="houses",
        fields=["address", "use", "region_code"],
        region_codes=[COMMUNITY_B],
        row_filters={"use": "rented"},
        purpose="出租房屋治安管理，核查辖区出租屋底数",
        legal_basis="《租赁房屋治安管理规定》第三条",
        duration_days=30,
    )
    summary.requests_pending = 1
    sub, _secret = subscription_create(
        actor=secadmin,
        grant=police_grant,
        events=["registry.person_moved_out"],
        region_codes=[COMMUNITY_A],
        url=DEAD_URL,
    )
    summary.subscription = sub.pk
    if person is not None:
        copy = request_submit(
            actor=resident, kind=RightsKind.COPY, detail="想看看社区和部门保存了我哪些信息，谁用过。"
        )
        copy_generate(actor=worker, rights_request=copy)
        request_submit(
            actor=resident,
            kind=RightsKind.CORRECTION,
            item="occupation",
            value="退休教师",
            detail="我已于去年退休，职业信息还是原单位的，请更正。",
        )
    return _count(summary)
