"""The government-service demo's settings, texts and tools: the clock it sets back, the uploads it
makes, the cast who act, the departments it adds."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from shequ.core import accounts
from shequ.core.models import (
    Department,
    DepartmentKind,
    Membership,
    Region,
    Role,
    User,
)
from shequ.govservice.models import (
    Channel,
    Rectification,
    ServiceItem,
    Status,
)
from shequ.govservice.services import _common, evaluations
from shequ.registry.models import Person

STREET = "430104002"  # 岳麓街道
COUNTY = "430104"  # 岳麓区
COMMUNITY_A = "430104002001"  # 枇杷塘社区: the demo accounts' community
COMMUNITY_B = "430104002003"  # 泽盛社区
APPLICATIONS = 360
DAYS = 60
PEOPLE_PER_COMMUNITY = 80
ONLINE_RESIDENTS = 60  # accounts of registry people who apply online
CARE_PLANS = 30
CARE_WEEKS = 3
CARE_CONCERNS = 2
RATED_SHARE = 0.6
BAD_SHARE = 0.1

# Target state → weight (the rest of the path follows from the item and the channel).
STATES: list[tuple[str, float]] = [
    (Status.SUBMITTED, 7),
    (Status.RETURNED, 6),
    (Status.ACCEPTED, 9),
    (Status.FORWARDED, 10),
    (Status.DECIDED, 7),
    (Status.CLOSED, 48),
    (Status.REJECTED, 6),
    (Status.WITHDRAWN, 5),
]
CHANNELS: list[tuple[str, float]] = [
    (Channel.ONLINE, 36),
    (Channel.COUNTER, 30),
    (Channel.HOME, 16),
    (Channel.KIOSK, 18),
]
# How long ago an application in each state was made (days, from–to): open ones are recent.
AGO: dict[str, tuple[float, float]] = {
    Status.SUBMITTED: (0.05, 2.0),
    Status.RETURNED: (1.0, 12.0),
    Status.ACCEPTED: (0.5, 8.0),
    Status.FORWARDED: (2.0, 14.0),
    Status.DECIDED: (4.0, 20.0),
}
FINAL_AGO = (4.0, float(DAYS))
# The popular items come up more often.
ITEM_WEIGHTS = {
    "elderly_allowance": 6,
    "elderly_meal_subsidy": 5,
    "resident_medical_insurance": 6,
    "residence_certificate": 6,
    "pension_certification": 5,
    "home_care_service": 4,
    "elderly_card": 4,
    "family_doctor": 4,
    "unemployment_registration": 3,
    "disability_subsidies": 3,
    "school_residence_proof": 3,
}
# A department of each kind the forwarded items need, in the county (code, name, kind).
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("yuelu-civil", "岳麓区民政局", DepartmentKind.CIVIL),
    ("yuelu-hrss", "岳麓区人力资源和社会保障局", DepartmentKind.HRSS),
    ("yuelu-health", "岳麓区卫生健康局", DepartmentKind.HEALTH),
    ("yuelu-education", "岳麓区教育局", DepartmentKind.EDUCATION),
    ("yuelu-housing", "岳麓区住房和城乡建设局", DepartmentKind.HOUSING),
    ("yuelu-veterans", "岳麓区退役军人事务局", DepartmentKind.OTHER),
]
DEPT_STAFF: dict[str, str] = {
    DepartmentKind.CIVIL: "罗志刚",
    DepartmentKind.HRSS: "钟慧敏",
    DepartmentKind.HEALTH: "姚文博",
    DepartmentKind.EDUCATION: "韩雪",
    DepartmentKind.HOUSING: "黎建华",
    DepartmentKind.OTHER: "戴国庆",
    DepartmentKind.POLICE: "熊卫东",
}
TEXTS = {
    "reason": ["家庭收入下降，生活困难", "因病支出大，申请救助", "老人独居，需要照顾"],
    "child_name": ["李子涵", "王梓轩", "陈思琪"],
    "school": ["岳麓区第一小学", "博才小学", "麓山国际实验学校"],
    "wish": ["保安或保洁", "仓库管理", "社区服务岗位"],
    "tenants": ["2", "3"],
    "device": ["轮椅", "助行器", "助听器"],
    "purpose": ["办理银行业务", "子女入学", "申请公租房"],
}
DENIALS = ["经核查，家庭收入超过标准。", "不符合本地户籍条件。", "材料与实际情况不符。"]
REJECTIONS = ["不属于本社区受理范围，请到户籍地办理。", "申请人已在其他社区办理。"]
RETURN_NOTES = ["照片不清晰，请重新拍摄。", "证明已过期，请补交近三个月内的。", "请补交原件照片。"]
CONSULT_ANSWERS = ["已电话答复，并告知所需材料和办理地点。", "已当面解答，申请人表示清楚。"]
GOOD_COMMENTS = ["工作人员很耐心", "办得很快，谢谢", "", "", "不用跑腿，很方便"]
BAD_COMMENTS = ["跑了三趟才办好", "等了很久没人告诉进度", "窗口态度不好"]
FINDINGS = ["经查，受理人员未一次性告知所需材料。", "经查，转办后部门未按时反馈进度。"]
MEASURES = ["已对窗口人员进行提醒和培训，推行一次性告知单。", "已与部门建立每周对账机制。"]
FEEDBACK = ["已向您致歉并说明情况，今后一次性告知所需材料。", "已督促部门加快办理，并电话告知您结果。"]
VISIT_FINDINGS = [
    "身体状况良好，饮食正常，已提醒按时服药",
    "腿脚不便，下楼困难，建议增加助浴服务",
    "独居，子女每周来一次，精神状态不错",
]
CARE_NOTES = ["老人说头晕，血压偏高，建议家属带去看医生", "家里燃气灶没关，已帮忙关好，需要提醒安装报警器"]
PROVIDERS = ["社区长者食堂", "岳麓街道居家养老服务中心", "麓山志愿服务队", ""]


@dataclass
class GovSummary:
    applications: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    bad: int = 0
    rectifications: int = 0
    fed_back: int = 0
    reviewed: int = 0
    departments: int = 0
    care_plans: int = 0
    care_records: int = 0
    concerns: int = 0
    resident: str = ""
    resident_states: list[str] = field(default_factory=list)
    notices: int = 0
    visits: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return "govservice: the demo street has its applications already; left alone"
        states = ", ".join(f"{n} {s}" for s, n in sorted(self.by_status.items()))
        channels = ", ".join(f"{n} {c}" for c, n in sorted(self.by_channel.items()))
        return (
            f"govservice: {self.applications} applications ({states}; {channels}), {self.ratings} ratings "
            f"({self.bad} bad → {self.rectifications} rectifications, {self.fed_back} fed back, "
            f"{self.reviewed} reviewed), {self.care_plans} home-care plans with {self.care_records} "
            f"records ({self.concerns} concerns) and {self.visits} grid care visits, in {self.seconds:.1f} s"
        )

    def login_note(self) -> str:
        """The line for var/demo-logins.txt about the resident's applications."""
        if self.skipped or not self.resident:
            return ""
        return (
            f"# 政务服务: resident is the account of registry person {self.resident} (linked by mobile "
            f"number); its applications: {', '.join(self.resident_states)}. worker_a takes applications "
            "at 枇杷塘's counter and runs home care (居家养老); volunteer records meals and visits."
        )


# --- The clock ------------------------------------------------------------------------------------


@contextlib.contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    """Run the services as if it were ``moment`` (they read the time through ``_common.now``)."""
    original = _common.now
    setattr(_common, "now", lambda: moment)  # noqa: B010 (a module attribute, set on purpose)
    try:
        yield
    finally:
        setattr(_common, "now", original)  # noqa: B010


class Clock:
    """The times of one application's steps: each later than the last, none in the future."""

    def __init__(self, rng: random.Random, start: dt.datetime, now: dt.datetime) -> None:
        self.rng, self.t, self.now = rng, start, now

    def after(self, low_hours: float, high_hours: float) -> dt.datetime:
        step = dt.timedelta(hours=self.rng.uniform(low_hours, high_hours))
        latest = self.now - dt.timedelta(minutes=self.rng.uniform(3, 30))
        self.t = max(min(self.t + step, latest), self.t + dt.timedelta(minutes=1))
        return self.t


# --- Material uploads -----------------------------------------------------------------------------


def _png_bytes(rng: random.Random) -> bytes:
    """A small generated picture standing for a scanned material."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (120, 80), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    colour = (rng.randrange(40, 200), rng.randrange(40, 200), rng.randrange(40, 200))
    draw.rectangle((8, 8, 112, 72), outline=colour, width=3)
    for y in range(20, 66, 10):
        draw.line((16, y, 16 + rng.randrange(40, 90), y), fill=(90, 90, 90), width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Uploads:
    def __init__(self, rng: random.Random) -> None:
        self.images = [_png_bytes(rng) for _ in range(4)]
        self.rng = rng

    def files(self, codes: list[str]) -> dict[str, list[SimpleUploadedFile]]:
        return {
            code: [SimpleUploadedFile(f"{code}.png", self.rng.choice(self.images), content_type="image/png")]
            for code in codes
        }


# --- Who acts -------------------------------------------------------------------------------------


@dataclass
class Cast:
    """The accounts acting in the demo."""

    users: dict[str, User]
    departments: dict[str, Department]  # by kind
    dept_staff: dict[int, User]  # department pk → a staff member
    residents: dict[int, User]  # registry person pk → their account (online applicants)

    def counter(self, community: str) -> User:
        """Who takes applications at the community's counter."""
        if community == COMMUNITY_A and "worker_a" in self.users:
            return self.users["worker_a"]
        if community == COMMUNITY_B and "head_b" in self.users:
            return self.users["head_b"]
        return self.users["street"]

    def home(self, grid: str) -> User:
        """Who applies at home on a resident's behalf: their grid worker where the demo has one."""
        for username in ("grid_a", "grid_b"):
            user = self.users.get(username)
            if user is not None and _member_of(user, grid):
                return user
        return self.counter(grid[:12])

    def supervisor(self, rect: Rectification) -> User | None:
        for username in ("street", "county", "city"):
            user = self.users.get(username)
            if user is not None and evaluations.can_review(user, rect):
                return user
        return None

    def rectifier(self, rect: Rectification) -> User | None:
        if rect.department_id is not None:
            return self.dept_staff.get(rect.department_id)
        return self.counter(rect.region_code[:12])


def _member_of(user: User, code: str) -> bool:
    return any(code.startswith(m.region_code) for m in user.memberships.filter(revoked_at__isnull=True))


def _departments() -> tuple[dict[str, Department], dict[int, User], int]:
    """A department of each kind the items need (the demo's own where it has one), and a staff
    member of each (the demo's police officer for the police station)."""
    county = Region.objects.get(code=COUNTY)
    made = 0
    by_kind: dict[str, Department] = {}
    needed = set(ServiceItem.objects.filter(is_active=True).values_list("department_kind", flat=True))
    for code, name, kind in DEPARTMENTS:
        if kind not in needed:
            continue
        existing = Department.objects.filter(
            kind=kind, is_active=True, region_code__in=[COUNTY, STREET]
        ).first()
        if existing is None:
            existing, created = Department.objects.get_or_create(
                code=code, defaults={"name": name, "kind": kind, "region": county, "region_code": COUNTY}
            )
            made += int(created)
        by_kind[kind] = existing
    police = Department.objects.filter(kind=DepartmentKind.POLICE, is_active=True).order_by("pk").first()
    if police is not None and DepartmentKind.POLICE in needed:
        by_kind[DepartmentKind.POLICE] = police
    staff: dict[int, User] = {}
    for kind, department in by_kind.items():
        member = (
            Membership.objects.filter(
                department=department,
                role=Role.DEPARTMENT_STAFF,
                revoked_at__isnull=True,
                user__is_active=True,
            )
            .select_related("user")
            .first()
        )
        if member is not None:
            staff[department.pk] = member.user
            continue
        username = f"gov_{department.code}"[:30]
        user = User.objects.filter(username=username).first() or accounts.user_create(
            actor=None, username=username, display_name=DEPT_STAFF.get(kind, "部门办事员"), password=None
        )
        accounts.membership_grant(
            actor=None, user=user, role=Role.DEPARTMENT_STAFF, region=department.region, department=department
        )
        staff[department.pk] = user
    return by_kind, staff, made


def _online_residents(people: list[Person]) -> dict[int, User]:
    """Accounts for some registry people, linked by their mobile number (no password: they exist to
    own applications and ratings, not to sign in)."""
    out: dict[int, User] = {}
    for person in people:
        if len(out) >= ONLINE_RESIDENTS:
            break
        if not person.phone or person.house_id is None:
            continue
        username = f"gov_resident_{person.pk}"
        user = User.objects.filter(username=username).first()
        if user is None:
            try:
                with transaction.atomic():
                    user = accounts.user_create(
                        actor=None,
                        username=username,
                        display_name=person.name,
                        password=None,
                        phone=person.phone,
                    )
                    grid = Region.objects.get(code=person.region_code)
                    accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=grid)
            except (ValidationError, IntegrityError, Region.DoesNotExist):
                continue
        out[person.pk] = user
    return out
