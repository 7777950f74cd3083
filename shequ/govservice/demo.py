"""Demo government services for 岳麓街道: two months of applications, their ratings and the home care
of the street's elderly.

* ``APPLICATIONS`` applications over the last ``DAYS`` days, spread over the street's communities
  and the catalog's items (each for a registry person it suits: age, care tags), by every channel —
  online by residents whose accounts are linked to their registry record (by the mobile number),
  at the counter, at home on a resident's behalf with their consent (帮办代办), at a kiosk — and in
  every state: submitted, returned with the exact list of missing materials (some sent again),
  accepted, forwarded to the department, decided, closed (delivered, or 即收即办 on receipt),
  refused, withdrawn. Uploaded materials are small generated PNGs, sealed like real ones.
* Ratings (好差评) on about 60 % of the closed applications, about 10 % of them bad: each bad one
  opened a rectification (整改); some were fed back by the unit and some of those reviewed.
* The demo resident (``resident``) is the account of a registry person of her grid and has
  applications in several states, one closed and waiting for her rating.
* A department for each kind the forwarded items need, in the county, where the demo has none,
  each with a staff account (no password: they decide, they do not sign in).
* ``CARE_PLANS`` home-care plans (居家养老) with three weeks of meals and visits, two of which
  found something wrong (grid tasks through the grid's ``govservice.care_concern`` handler).

Everything goes through the government-service services, as the staff's and residents' clicks
would; only the clock is set back while each step runs (the services read it through
``services._common.now``, so deadlines, warnings and timelines stay consistent), and care records
and plans are moved to their day afterwards. Idempotent: a street with applications already is
left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core import accounts, outbox
from shequ.core.models import (
    Department,
    DepartmentKind,
    Membership,
    Message,
    OutboxTask,
    Region,
    RegionLevel,
    Role,
    User,
)
from shequ.govservice.models import (
    Application,
    ApplicationStep,
    CareOutcome,
    CarePlan,
    CareRecord,
    CareService,
    Channel,
    Consent,
    Delivery,
    Mode,
    Outcome,
    Rectification,
    RectStatus,
    ServiceItem,
    Status,
)
from shequ.govservice.notices import THREAD_KIND
from shequ.govservice.services import _common, care, evaluations
from shequ.govservice.services import applications as apps
from shequ.registry import prefill
from shequ.registry import selectors as registry
from shequ.registry.demo.accounts import link_demo_resident
from shequ.registry.models import Person, PersonStatus, VisitPurpose
from shequ.registry.services import visits

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


# --- Applications ---------------------------------------------------------------------------------


def _suits(item: ServiceItem, facts: prefill.Facts) -> bool:
    rules = item.eligibility or {}
    if rules.get("min_age") and (facts.age is None or facts.age < int(rules["min_age"])):
        return False
    tags = set(rules.get("tags_any") or [])
    return not tags or bool(tags & facts.tags)


def _answers(item: ServiceItem, rng: random.Random) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in item.form:
        name, kind = str(f["name"]), f.get("kind")
        if kind == "choice":
            out[name] = rng.choice(list(f.get("choices") or []))
        elif kind == "number":
            out[name] = str(rng.randint(1, 3))
        else:
            out[name] = rng.choice(TEXTS.get(name, ["见附件"]))
    return out


def _pick(rng: random.Random, weights: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weights], [w for _, w in weights])[0]


@dataclass
class Plan:
    """One application to make: who, what, how, and where it ends."""

    person: Person
    facts: prefill.Facts
    item: ServiceItem
    channel: str
    target: str
    user: User | None = None
    rate: bool = False


def _reachable(target: str, channel: str) -> bool:
    """Whether an application made by ``channel`` can end in ``target``: staff take it at once
    (accepted), so only online and kiosk ones wait, are returned or refused; only the applicant's
    account withdraws."""
    if target in {Status.SUBMITTED, Status.RETURNED, Status.REJECTED}:
        return channel in {Channel.ONLINE, Channel.KIOSK}
    return target != Status.WITHDRAWN or channel == Channel.ONLINE


def _fits(item: ServiceItem, target: str, channel: str) -> bool:
    """Whether the item can end in ``target`` by ``channel`` (the services' rules)."""
    if target == Status.FORWARDED and item.mode not in apps.FORWARD_MODES:
        return False
    if not _reachable(target, channel):
        return False
    return channel not in {Channel.ONLINE, Channel.KIOSK} or item.online


def _run(plan: Plan, cast: Cast, uploads: Uploads, rng: random.Random, now: dt.datetime) -> Application:
    """Make one application and take it along its path to ``plan.target``."""
    item, facts, channel, target = plan.item, plan.facts, plan.channel, plan.target
    low, high = AGO.get(target, FINAL_AGO)
    start = now - dt.timedelta(days=rng.uniform(low, high))
    start = timezone.localtime(start).replace(
        hour=rng.randint(8, 19), minute=rng.randrange(60)
    )  # office hours
    if start > now:
        start = now - dt.timedelta(minutes=rng.uniform(20, 90))
    clock = Clock(rng, start, now)
    grid = facts.region_code
    staff = cast.counter(grid[:12])
    rows = apps.plan_materials(item, facts)
    needed = [r["code"] for r in rows if r["how"] == apps.MISSING and r["required"]]
    extra = [r["code"] for r in rows if r["how"] == apps.MISSING and not r["required"] and rng.random() < 0.3]
    applicant = apps.Applicant(facts=facts, user=plan.user if channel == Channel.ONLINE else None)
    kwargs: dict[str, Any] = {
        "item": item,
        "channel": channel,
        "region": Region.objects.get(code=grid),
        "applicant": applicant,
        "answers": _answers(item, rng),
    }
    if channel == Channel.ONLINE:
        kwargs.update(actor=plan.user, files=uploads.files(needed + extra))
    elif channel == Channel.KIOSK:
        kwargs.update(actor=staff, files=uploads.files(needed))
    elif channel == Channel.HOME:
        consent = _pick(rng, [(Consent.SIGNED, 6), (Consent.SPOKEN, 2), (Consent.GUARDIAN, 2)])
        kwargs.update(
            actor=cast.home(grid),
            paper=needed,
            on_behalf=True,
            consent=consent,
            consent_note="老人行动不便，由网格员上门代办" if consent != Consent.GUARDIAN else "女儿电话同意",
        )
    else:
        kwargs.update(actor=staff, paper=needed + extra)
    with at(start):
        application = apps.application_submit(**kwargs)
    if target == Status.SUBMITTED:
        return application
    if target == Status.WITHDRAWN:
        if rng.random() < 0.4:
            with at(clock.after(2, 20)):
                application = apps.application_accept(actor=staff, application=application)
        with at(clock.after(3, 48)):
            return apps.application_withdraw(
                actor=plan.user, application=application, reason=rng.choice(["不需要了", "已在别处办理", ""])
            )
    if application.status == Status.SUBMITTED:
        if target == Status.REJECTED:
            with at(clock.after(1, 20)):
                return apps.application_reject(
                    actor=staff, application=application, reason=rng.choice(REJECTIONS)
                )
        if target == Status.RETURNED or rng.random() < 0.15:
            codes = [
                str(r["code"]) for r in application.materials if r["how"] in {apps.UPLOAD, apps.REGISTRY}
            ]
            missing = rng.sample(codes, k=min(len(codes), rng.choice([1, 1, 2])))
            with at(clock.after(1, 24)):
                application = apps.application_return(
                    actor=staff, application=application, missing=missing, note=rng.choice(RETURN_NOTES)
                )
            if target == Status.RETURNED:
                return application
            with at(clock.after(12, 72)):
                if channel == Channel.ONLINE:
                    application = apps.application_resubmit(
                        actor=plan.user,
                        application=application,
                        files=uploads.files(list(application.missing)),
                    )
                else:
                    application = apps.application_resubmit(
                        actor=staff, application=application, paper=list(application.missing)
                    )
        if application.status == Status.SUBMITTED:
            if item.instant and target == Status.CLOSED:
                with at(clock.after(0.1, 3)):
                    return apps.application_close_on_receipt(actor=staff, application=application)
            with at(clock.after(1, 24)):
                application = apps.application_accept(actor=staff, application=application)
    if target == Status.ACCEPTED:
        return application
    if item.instant and target == Status.CLOSED and application.status == Status.ACCEPTED:
        with at(clock.after(0.05, 1)):
            return apps.application_close_on_receipt(actor=staff, application=application)
    decider: User = staff
    if item.mode in apps.FORWARD_MODES:
        department = cast.departments.get(item.department_kind)
        if department is None:
            return application
        with at(clock.after(2, 40)):
            application = apps.application_forward(
                actor=staff, application=application, department=department, note="请审核。"
            )
        if target == Status.FORWARDED:
            return application
        decider = cast.dept_staff[department.pk]
    if item.mode == Mode.CONSULT:
        outcome, note = Outcome.ANSWERED, rng.choice(CONSULT_ANSWERS)
    elif rng.random() < 0.12:
        outcome, note = Outcome.DENIED, rng.choice(DENIALS)
    else:
        outcome, note = Outcome.APPROVED, ""
    with at(clock.after(20, 24 * 7)):
        application = apps.application_decide(
            actor=decider, application=application, outcome=outcome, note=note
        )
    if target == Status.DECIDED:
        return application
    delivery = _pick(
        rng, [(Delivery.PICKUP, 5), (Delivery.HOME, 2), (Delivery.ELECTRONIC, 2), (Delivery.POST, 1)]
    )
    with at(clock.after(4, 48)):
        return apps.application_deliver(actor=staff, application=application, delivery=delivery)


def _rate(
    application: Application, user: User | None, bad: bool, rng: random.Random, now: dt.datetime
) -> bool:
    closed = application.closed_at or now
    moment = min(closed + dt.timedelta(hours=rng.uniform(1, 72)), now - dt.timedelta(minutes=5))
    if bad:
        stars = rng.choice([1, 2, 2])
        reasons = rng.sample(list(evaluations.BAD_REASONS), k=rng.choice([1, 2]))
        comment = rng.choice(BAD_COMMENTS)
    else:
        stars = rng.choices([3, 4, 5], [1, 3, 8])[0]
        reasons = rng.sample(list(evaluations.GOOD_REASONS), k=rng.choice([0, 1, 2]))
        comment = rng.choice(GOOD_COMMENTS)
    online = user is not None and application.applicant_user_id == user.pk
    with at(max(moment, closed)):
        evaluations.evaluation_submit(
            actor=user if online else None,
            application=application,
            stars=stars,
            reasons=reasons,
            comment=comment,
            channel=Channel.ONLINE,
            by_token=not online,
        )
    return stars <= _common.LOW_STARS


def _rectify(cast: Cast, rng: random.Random, now: dt.datetime) -> tuple[int, int]:
    """The units answer some of the bad ratings; the level above reviews some of the answers."""
    fed_back = reviewed = 0
    rects = list(
        Rectification.objects.filter(status=RectStatus.OPEN, opened_at__lt=now - dt.timedelta(days=2))
        .select_related("department")
        .order_by("opened_at", "pk")
    )
    for n, rect in enumerate(rects):
        if n % 3 == 2:
            continue  # still being looked into
        actor = cast.rectifier(rect)
        if actor is None or not evaluations.can_rectify(actor, rect):
            continue
        clock = Clock(rng, rect.opened_at, now)
        with at(clock.after(24, 24 * 6)):
            rect = evaluations.rectification_feedback(
                actor=actor,
                rect=rect,
                finding=rng.choice(FINDINGS),
                measures=rng.choice(MEASURES),
                feedback=rng.choice(FEEDBACK),
            )
        fed_back += 1
        supervisor = cast.supervisor(rect)
        if supervisor is None or fed_back % 2 == 0:
            continue  # waiting for the review
        accepted = reviewed % 3 != 1  # now and then sent back for more
        with at(clock.after(12, 24 * 4)):
            evaluations.rectification_review(
                actor=supervisor,
                rect=rect,
                accepted=accepted,
                note="" if accepted else "整改措施不具体，请补充落实情况。",
            )
        reviewed += 1
    return fed_back, reviewed


def date_notices(since: dt.datetime) -> int:
    """Run the worker now and date each application notice at the step it tells of (the steps ran
    on a clock set back; the notices would otherwise all carry the minute the demo was made).
    Notices older than a day are marked read. Returns how many were dated."""
    outbox.run_pending()
    step_at = {
        (application_id, action, to_status): at
        for application_id, action, to_status, at in ApplicationStep.objects.filter(
            application__region_code__startswith=STREET
        )
        .order_by("at", "pk")
        .values_list("application_id", "action", "to_status", "at")
    }
    when: dict[str, dt.datetime] = {}
    for event_id, payload in OutboxTask.objects.filter(
        event_type="govservice.application_changed", created_at__gte=since
    ).values_list("event_id", "payload"):
        key = (payload.get("application_id"), payload.get("action"), payload.get("to_status"))
        if key in step_at:
            when[str(event_id)] = step_at[key]
    notices = list(Message.objects.filter(created_at__gte=since, thread_key__startswith=f"{THREAD_KIND}:"))
    cutoff = timezone.now() - dt.timedelta(days=1)
    dated = []
    for message in notices:
        at = when.get(message.dedupe_key)
        if at is None:
            continue
        message.created_at = at
        if at < cutoff:
            message.read_at = at + dt.timedelta(hours=3)
        dated.append(message)
    Message.objects.bulk_update(dated, ["created_at", "read_at"], batch_size=500)
    return len(dated)


# --- Home care ------------------------------------------------------------------------------------


def _care(
    cast: Cast, people: list[Person], rng: random.Random, now: dt.datetime, summary: GovSummary
) -> None:
    """Plans for some of the street's elderly and disabled, with three weeks of meals and visits."""
    taken = CarePlan.objects.filter(active=True).values("person_id")
    candidates = (
        Person.objects.filter(pk__in=[p.pk for p in people])
        .filter(registry.care_person_q())
        .exclude(pk__in=taken)
        .select_related("house")
        .order_by("pk")
    )
    chosen: list[tuple[Person, prefill.Facts]] = []
    for person in candidates[: CARE_PLANS * 4]:
        facts = prefill.facts_of(person)
        if care.eligible(facts) and len(chosen) < CARE_PLANS:
            chosen.append((person, facts))
    concerns_left = CARE_CONCERNS
    volunteer = cast.users.get("volunteer")
    for n, (person, facts) in enumerate(chosen):
        staff = cast.counter(facts.region_code[:12])
        services = rng.sample(
            [
                CareService.MEALS,
                CareService.VISIT,
                CareService.CLEANING,
                CareService.BATHING,
                CareService.ESCORT,
            ],
            k=rng.choice([1, 1, 2, 2, 3]),
        )
        if CareService.MEALS not in services and rng.random() < 0.5:
            services.insert(0, CareService.MEALS)
        per_week = rng.choice([2, 3, 3, 5, 7]) if CareService.MEALS in services else rng.choice([1, 2, 2, 3])
        plan = care.care_plan_start(
            actor=staff,
            facts=facts,
            services=services,
            visits_per_week=per_week,
            provider=rng.choice(PROVIDERS),
            note=rng.choice(["", "不吃辣", "耳背，敲门要用力", "子女在外地"]),
        )
        started = (now - dt.timedelta(weeks=CARE_WEEKS, days=rng.randint(0, 40))).date()
        CarePlan.objects.filter(pk=plan.pk).update(starts_on=started)
        summary.care_plans += 1
        # Some plans fall behind this week: fewer records in the last days.
        behind = n % 4 == 0
        # Whole days ago, one record a day at most (so the records' order is the order they were
        # made in: "nobody answered twice in a row" reads the one before).
        span = 7 * CARE_WEEKS
        days = sorted(rng.sample(range(1, span + 1), k=min(per_week * CARE_WEEKS, span)))
        days = [d for d in days if not (behind and d < 7 and rng.random() < 0.6)]
        workers = [u for u in (volunteer, cast.home(facts.region_code)) if u is not None]
        # The concerns fall in 枇杷塘 (where the demo's staff sign in), or wherever plans are left.
        concern_here = (n % 3 == 1 and facts.region_code.startswith(COMMUNITY_A)) or (
            len(chosen) - n <= concerns_left
        )
        previous = ""
        for i, ago in enumerate(reversed(days)):  # oldest first
            if concerns_left and i == len(days) - 2 and concern_here:
                outcome, note = CareOutcome.CONCERN, CARE_NOTES[concerns_left - 1]
                concerns_left -= 1
            elif previous != CareOutcome.ABSENT and rng.random() < 0.05:
                outcome, note = CareOutcome.ABSENT, "敲门无人应答，电话未接"
            else:
                outcome, note = CareOutcome.DONE, ""
            actor = rng.choice(workers)
            if not _may_care(actor, plan):
                actor = staff
            record = care.care_record_add(
                actor=actor, plan=plan, service=rng.choice(services), outcome=outcome, note=note
            )
            moment = now - dt.timedelta(days=ago)
            moment = timezone.localtime(moment).replace(
                hour=rng.choice([11, 11, 12, 15, 16]), minute=rng.randrange(60)
            )
            CareRecord.objects.filter(pk=record.pk).update(at=moment)
            previous = outcome
            summary.care_records += 1
            summary.concerns += int(outcome == CareOutcome.CONCERN)
        # The grid worker's own care visits, which the plan's page shows next to the records.
        worker = cast.home(facts.region_code)
        if n % 2 == 0 and worker.username in {"grid_a", "grid_b"}:
            for ago in sorted(rng.sample(range(3, 40), k=2), reverse=True):
                visits.visit_record(
                    actor=worker,
                    person=person,
                    visited_at=now - dt.timedelta(days=ago, hours=rng.randint(0, 6)),
                    purpose=VisitPurpose.CARE,
                    findings=rng.choice(VISIT_FINDINGS),
                )
                summary.visits += 1


def _may_care(user: User, plan: CarePlan) -> bool:
    from shequ.core.permissions import has_perm
    from shequ.govservice.permissions import GovPerm

    return has_perm(user, GovPerm.CARE, plan.region_code)


# --- The whole --------------------------------------------------------------------------------------


def _people(rng: random.Random) -> list[Person]:
    """A sample of the street's residents with a home, from every community."""
    out: list[Person] = []
    communities = Region.objects.filter(parent__code=STREET, level=RegionLevel.COMMUNITY).order_by("code")
    for community in communities:
        ids = list(
            Person.objects.filter(
                region_code__startswith=community.code, status=PersonStatus.ACTIVE, house__isnull=False
            ).values_list("pk", flat=True)
        )
        picked = rng.sample(ids, k=min(len(ids), PEOPLE_PER_COMMUNITY))
        out.extend(Person.objects.filter(pk__in=picked).select_related("house").order_by("pk"))
    rng.shuffle(out)
    return out


RESIDENT_TARGETS = [
    Status.SUBMITTED,
    Status.RETURNED,
    Status.ACCEPTED,
    Status.FORWARDED,
    Status.CLOSED,  # rated
    Status.CLOSED,  # waiting for her rating
    Status.WITHDRAWN,
]


def _resident_plans(user: User, person: Person, items: list[ServiceItem], rng: random.Random) -> list[Plan]:
    facts = prefill.facts_of(person)
    used: set[str] = set()
    plans: list[Plan] = []
    for n, target in enumerate(RESIDENT_TARGETS):
        fitting = [
            i
            for i in items
            if _suits(i, facts) and _fits(i, target, Channel.ONLINE) and i.code not in used and not i.instant
        ]
        if not fitting:
            continue
        item = rng.choice(fitting)
        used.add(item.code)
        plans.append(Plan(person, facts, item, Channel.ONLINE, target, user=user, rate=n == 4))
    return plans


def generate_govservice(*, seed: int = 2026, now: dt.datetime | None = None) -> GovSummary:
    """The demo street's government services (needs the registry and the demo accounts)."""
    summary = GovSummary()
    started = time.perf_counter()
    if Application.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True  # made by an earlier run
        return summary
    users = {u.username: u for u in User.objects.filter(is_active=True, username__in=_DEMO_USERS)}
    if "street" not in users or not Region.objects.filter(code=COMMUNITY_A).exists():
        summary.skipped = True
        return summary
    since = timezone.now()
    now = now or since
    rng = random.Random(seed)
    departments, dept_staff, summary.departments = _departments()
    people = _people(rng)
    if not people:
        summary.skipped = True
        return summary
    cast = Cast(
        users=users, departments=departments, dept_staff=dept_staff, residents=_online_residents(people)
    )
    uploads = Uploads(rng)
    items = list(ServiceItem.objects.filter(is_active=True).order_by("code"))
    plans: list[Plan] = []
    resident = users.get("resident")
    resident_person = link_demo_resident(resident) if resident is not None else None
    if resident is not None and resident_person is not None:
        plans += _resident_plans(resident, resident_person, items, rng)
        summary.resident = resident_person.name
        summary.resident_states = [str(p.target) for p in plans]
    facts_cache: dict[int, prefill.Facts] = {}
    online = [p for p in people if p.pk in cast.residents]
    elderly = list(
        Person.objects.filter(pk__in=[p.pk for p in people]).filter(registry.care_person_q()).order_by("pk")
    )
    attempts = 0
    while len(plans) < APPLICATIONS and attempts < APPLICATIONS * 5:
        attempts += 1
        channel = _pick(rng, CHANNELS)
        # Online applicants are the residents with accounts; the others come in person.
        # 帮办代办 at home is for the elderly and disabled.
        pools: dict[str, list[Person]] = {Channel.ONLINE: online, Channel.HOME: elderly}
        pool = pools.get(channel) or people
        person = rng.choice(pool)
        if person.pk not in facts_cache:
            facts_cache[person.pk] = prefill.facts_of(person)
        facts = facts_cache[person.pk]
        user = cast.residents.get(person.pk)
        if channel == Channel.ONLINE and user is None:
            continue
        target = _pick(rng, [(state, w) for state, w in STATES if _reachable(state, channel)])
        fitting = [i for i in items if _suits(i, facts) and _fits(i, target, channel)]
        if not fitting:
            continue
        item = rng.choices(fitting, [ITEM_WEIGHTS.get(i.code, 1) for i in fitting])[0]
        plans.append(Plan(person, facts, item, channel, target, user=user, rate=rng.random() < RATED_SHARE))
    summary.phases["plans"] = time.perf_counter() - started
    made: list[tuple[Application, Plan]] = []
    for plan in plans:
        try:
            with transaction.atomic():
                made.append((_run(plan, cast, uploads, rng, now), plan))
        except ValidationError:
            continue  # a combination the services refuse (e.g. a second plan for one person)
    for application, plan in made:
        summary.by_status[application.status] = summary.by_status.get(application.status, 0) + 1
        summary.by_channel[application.channel] = summary.by_channel.get(application.channel, 0) + 1
        if application.status not in evaluations.RATED_STATUSES or not plan.rate:
            continue
        if plan.user is resident and resident is not None and application.status != Status.CLOSED:
            continue
        bad = plan.user is not resident and rng.random() < BAD_SHARE
        with transaction.atomic():
            summary.bad += int(_rate(application, plan.user, bad, rng, now))
        summary.ratings += 1
    summary.phases["applications+ratings"] = time.perf_counter() - started
    summary.applications = len(made)
    summary.rectifications = Rectification.objects.filter(region_code__startswith=STREET).count()
    summary.fed_back, summary.reviewed = _rectify(cast, rng, now)
    summary.phases["rectify"] = time.perf_counter() - started
    with transaction.atomic():
        _care(cast, people, rng, now, summary)
    summary.phases["care"] = time.perf_counter() - started
    summary.notices = date_notices(since)
    summary.phases["outbox"] = time.perf_counter() - started
    summary.seconds = time.perf_counter() - started
    return summary


_DEMO_USERS = (
    "grid_a",
    "grid_b",
    "worker_a",
    "head_a",
    "head_b",
    "street",
    "county",
    "city",
    "volunteer",
    "resident",
)
