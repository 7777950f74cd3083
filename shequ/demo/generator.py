"""Synthetic demo data: 岳麓街道 (Yuelu street, Yuelu district, Changsha) with its real communities.

Everything personal here is invented. Later domains add their own ``generate_<domain>`` steps;
``size`` scales the per-community volumes for benchmarks.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass, field

from django.db import transaction

from shequ.core import accounts, auth
from shequ.core.models import Department, DepartmentKind, Region, RegionLevel, Role, User
from shequ.core.permissions import needs_second_factor
from shequ.core.regions import grid_create, load_province
from shequ.demo.duty import DutySummary, generate_duty
from shequ.demo.shapes import load_demo_shapes
from shequ.emergency.demo import EmergencySummary, generate_emergency
from shequ.govservice.demo import GovSummary, generate_govservice
from shequ.grid.demo import TicketSummary, generate_tickets
from shequ.iot.demo import IotSummary, generate_iot
from shequ.participation.demo import ParticipationSummary, generate_participation
from shequ.registry.demo import RegistrySummary, generate_registry
from shequ.reports.demo import ReportsSummary, generate_reports
from shequ.sharing.demo import SharingSummary, generate_sharing

PROVINCE = "43"
CITY = "4301"  # 长沙市
COUNTY = "430104"  # 岳麓区
STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区
COMMUNITY_B = "430104002003"  # 泽盛社区
GRIDS_PER_COMMUNITY = 4

DEPARTMENTS = [
    ("yuelu-police", "岳麓派出所", DepartmentKind.POLICE, STREET),
    ("yuelu-urban", "岳麓区城市管理和综合执法局岳麓中队", DepartmentKind.URBAN, STREET),
    ("yuelu-housing", "岳麓区住房和城乡建设局", DepartmentKind.HOUSING, COUNTY),
    ("yuelu-civil", "岳麓区民政局", DepartmentKind.CIVIL, COUNTY),
    ("changsha-water", "长沙供水有限公司岳麓营业所", DepartmentKind.WATER, COUNTY),
    ("changsha-power", "国网长沙供电公司岳麓供电服务中心", DepartmentKind.POWER, COUNTY),
    ("lushan-property", "麓山物业服务有限公司", DepartmentKind.PROPERTY, COMMUNITY_A),
]


@dataclass
class DemoAccount:
    username: str
    display_name: str
    role: str
    region_code: str
    department: str | None = None
    password: str = ""


# One account for every role; two grid workers and two community heads make sibling pairs.
ACCOUNTS = [
    DemoAccount("grid_a", "刘建国", Role.GRID_WORKER, COMMUNITY_A + "001"),
    DemoAccount("grid_b", "陈秀英", Role.GRID_WORKER, COMMUNITY_A + "002"),
    DemoAccount("worker_a", "王丽", Role.COMMUNITY_WORKER, COMMUNITY_A),
    DemoAccount("head_a", "张伟", Role.COMMUNITY_HEAD, COMMUNITY_A),
    DemoAccount("head_b", "李娜", Role.COMMUNITY_HEAD, COMMUNITY_B),
    DemoAccount("street", "周敏", Role.STREET_OFFICER, STREET),
    DemoAccount("county", "吴军", Role.COUNTY_OFFICER, COUNTY),
    DemoAccount("city", "徐静", Role.CITY_OFFICER, CITY),
    DemoAccount("province", "孙磊", Role.PROVINCE_OFFICER, PROVINCE),
    DemoAccount("police", "胡强", Role.DEPARTMENT_STAFF, STREET, department="yuelu-police"),
    DemoAccount("resident", "曾小红", Role.RESIDENT, COMMUNITY_A + "001"),
    DemoAccount("property", "郭亮", Role.PROPERTY_MANAGER, COMMUNITY_A, department="lushan-property"),
    DemoAccount("volunteer", "何芳", Role.VOLUNTEER, COMMUNITY_A),
    DemoAccount("sysadmin", "系统管理员", Role.SYSTEM_ADMIN, PROVINCE),
    DemoAccount("secadmin", "安全管理员", Role.SECURITY_ADMIN, PROVINCE),
    DemoAccount("auditor", "审计员", Role.AUDITOR, PROVINCE),
]

GRID_NAMES = ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格", "第六网格"]


def demo_password(rng: random.Random | None = None) -> str:
    """A random password that meets the policy (demo only; printed once by ``make demo``)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"Sq-{body}7a"


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "186", "177", "199"]) + f"{rng.randrange(10**8):08d}"


@dataclass
class DemoResult:
    accounts: list[DemoAccount] = field(default_factory=list)
    grids: int = 0
    departments: int = 0
    shapes: int = 0
    registry: RegistrySummary | None = None
    tickets: TicketSummary | None = None
    duty: DutySummary | None = None
    iot: IotSummary | None = None
    emergency: EmergencySummary | None = None
    govservice: GovSummary | None = None
    participation: ParticipationSummary | None = None
    reports: ReportsSummary | None = None
    sharing: SharingSummary | None = None


def generate(*, size: int = 1, seed: int = 2026, registry_workers: int = 1) -> DemoResult:
    """Create the demo street; idempotent for regions and departments, fresh passwords each run.
    Then the registry (``shequ.registry.demo``): about 30,000 people per ``size``, generated once;
    ``registry_workers`` > 1 generates communities in parallel processes (PostgreSQL)."""
    rng = random.Random(seed)
    if not Region.objects.filter(code=STREET).exists():
        load_province(PROVINCE)
    result = DemoResult()
    with transaction.atomic():
        street = Region.objects.get(code=STREET)
        for community in Region.objects.filter(parent=street, level=RegionLevel.COMMUNITY):
            count = GRIDS_PER_COMMUNITY * size if community.kind == "community" else 2 * size
            for n in range(1, count + 1):
                name = GRID_NAMES[n - 1] if n <= len(GRID_NAMES) else f"第{n}网格"
                grid_create(actor=None, community=community, number=n, name=name)
                result.grids += 1
        # Boundaries before the registry: buildings are placed inside their grid's.
        result.shapes = load_demo_shapes(seed=seed, province=PROVINCE, city=CITY, county=COUNTY)
        departments: dict[str, Department] = {}
        for code, name, kind, region_code in DEPARTMENTS:
            region = Region.objects.get(code=region_code)
            departments[code], _ = Department.objects.update_or_create(
                code=code, defaults={"name": name, "kind": kind, "region": region, "region_code": region.code}
            )
        result.departments = len(departments)
        for spec in ACCOUNTS:
            account = DemoAccount(**{**spec.__dict__, "password": demo_password()})
            user = User.objects.filter(username=spec.username).first()
            if user is None:
                user = accounts.user_create(
                    actor=None,
                    username=spec.username,
                    display_name=spec.display_name,
                    password=account.password,
                    phone=_phone(rng),
                    email=f"{spec.username}@{auth.DEMO_EMAIL_DOMAIN}",
                )
            else:
                user.set_password(account.password)
                user.is_active = True
                user.failed_login_count = 0
                user.locked_until = None
                user.save()
            if not user.memberships.filter(role=spec.role, revoked_at__isnull=True).exists():
                accounts.membership_grant(
                    actor=None,
                    user=user,
                    role=spec.role,
                    region=Region.objects.get(code=spec.region_code),
                    department=departments.get(spec.department or ""),
                )
            if needs_second_factor(user) and not user.totp_confirmed_at:
                # Demo accounts start enrolled, so `shequ demo_totp <user>` can stand in for the app.
                auth.totp_enrol_directly(user)
            result.accounts.append(account)
    # After the accounts (visits need the grid workers), outside the transaction above: the
    # registry commits community by community, and its workers cannot share a transaction.
    result.registry = generate_registry(size=size, seed=seed, workers=registry_workers)
    # Grid tickets (``shequ.grid.demo``): a few hundred through the workflow services, whatever the
    # size — the benchmarks load their million tickets their own way (bench/bench_grid_queries.py).
    result.tickets = generate_tickets(size=min(size, 1), seed=seed)
    # On-duty rosters of the demo communities (core/duty.py), from yesterday for 14 days.
    result.duty = generate_duty(communities=[COMMUNITY_A, COMMUNITY_B])
    # Devices, rules, cards and three days of device history (``shequ.iot.demo``); after the duty
    # rosters, so the urgent tickets from the alerts find who is on duty.
    result.iot = generate_iot(seed=seed)
    # A rainstorm tonight (``shequ.emergency.demo``): gauges, warnings, a call-out with its answers.
    result.emergency = generate_emergency(seed=seed)
    # Two months of applications, ratings and home care (``shequ.govservice.demo``).
    result.govservice = generate_govservice(seed=seed)
    # Votes and elections, consultations, disclosure (``shequ.participation.demo``).
    result.participation = generate_participation(seed=seed)
    # The official report templates filled from all of the above, some on their way up
    # (``shequ.reports.demo``).
    result.reports = generate_reports()
    # Department clients and grants, their calls in the access log, data requests, a subscription
    # and the demo resident's PIPL requests (``shequ.sharing.demo``).
    result.sharing = generate_sharing(seed=seed)
    return result
