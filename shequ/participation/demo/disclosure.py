"""Demo disclosure (居务公开) for the communities of 岳麓街道 that have staff: a year of monthly
finances and four quarters of ordinary affairs — mostly on time, some late, a gap or two left
overdue — a couple of major matters (one still a draft past its due date), a 低保 list made from the
registry's low-income residents (masked at entry, like a real one), and residents' questions and
challenges: answered, open, and one challenge left overdue for the street to see.

Everything goes through the disclosure services with the clock set back to when each step happened
(the services read it through ``services.disclosure._common.now``). Idempotent: a street whose
communities have items already is left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core import accounts
from shequ.core.models import Membership, Region, RegionLevel, Role, User
from shequ.core.selectors import region_staff
from shequ.participation.models import DisclosureItem, DisclosureKind
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.disclosure import _common, lists, questions, rules
from shequ.participation.services.disclosure import items as item_services

STREET = "430104002"  # 岳麓街道
MONTHS = 12
LIST_SIZE = 12
K = DisclosureKind

FINANCE_BODY = (
    "一、本月收入：上级拨付社区工作经费{income}元，党组织服务群众经费{party}元。\n"
    "二、本月支出：办公费{office}元，活动费{activity}元，环境整治{clean}元，慰问困难群众{care}元。\n"
    "三、月末结余{balance}元。以上收支已经社区居务监督委员会审核。"
)
AFFAIRS = [
    (
        "{year}年第{q}季度社区工作公开",
        "本季度完成：老旧小区雨污分流改造入户宣传、居民议事会2次、志愿服务活动6场、独居老人走访全覆盖。",
    ),
    (
        "{year}年第{q}季度计划生育与民政事务公开",
        "本季度办理高龄津贴申请{n}件、残疾人两项补贴{m}件，城乡低保动态调整已张榜公示。",
    ),
]
MAJORS = [
    (
        "小区道路及排水改造工程",
        "经居民代表会议表决通过，投资约38万元对麓山南路片区道路及排水管网进行改造，施工单位经公开比选确定。",
    ),
    (
        "加装电梯补贴方案",
        "经居民代表会议讨论通过，对符合条件的既有住宅加装电梯给予每台10万元补贴，申请截止今年底。",
    ),
    (
        "社区服务中心场地出租",
        "经两委会议研究并经居民代表会议表决，社区服务中心一楼临街门面对外出租，租金收入用于社区公益事业。",
    ),
]
QUESTIONS = [
    (
        "question",
        "本月办公费为什么比上月多了这么多？",
        "主要是更换了办事大厅的打印机和排队叫号机，发票已存档备查。",
    ),
    (
        "question",
        "环境整治的钱具体用在哪几个小区？",
        "用于枇杷塘小区和麓山南路12号院的杂物清运，清运记录见附件。",
    ),
    (
        "challenge",
        "名单上第3行这户家里有人在上班，不符合条件吧？",
        "经入户核查，该户成员为灵活就业，月收入低于本市低保标准，符合条件。",
    ),
    (
        "question",
        "道路改造什么时候开工？施工期间车怎么停？",
        "计划下月开工，施工期间临时停车点设在社区服务中心后坪。",
    ),
]
OPEN_QUESTIONS = [
    ("question", "慰问困难群众的名单在哪里可以看到？"),
    ("challenge", "门面出租的租金是多少？为什么没有公开招租？"),
]


@dataclass
class DisclosureSummary:
    communities: int = 0
    items: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    late: int = 0
    overdue_periods: int = 0
    list_rows: int = 0
    questions: int = 0
    answered: int = 0
    overdue_challenges: int = 0
    seconds: float = 0.0
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return "disclosure: the demo street has its disclosure already; left alone"
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_kind.items()))
        return (
            f"disclosure: {self.items} items in {self.communities} communities ({kinds}; "
            f"{self.late} published late, {self.overdue_periods} periods overdue), "
            f"{self.list_rows} masked list rows, {self.questions} questions ({self.answered} answered, "
            f"{self.overdue_challenges} challenges overdue), in {self.seconds:.1f} s"
        )


@contextlib.contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    """Run the services as if it were ``moment``."""
    original = _common.now
    setattr(_common, "now", lambda: moment)  # noqa: B010 (a module attribute, set on purpose)
    try:
        yield
    finally:
        setattr(_common, "now", original)  # noqa: B010


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.randint(0, 59))))


def _askers(community: Region, rng: random.Random) -> list[User]:
    """Residents of the community with accounts (the demo resident, those the government-service
    demo made); a few made here when there are none."""
    users = list(
        User.objects.filter(
            is_active=True,
            memberships__role=Role.RESIDENT,
            memberships__revoked_at__isnull=True,
            memberships__region_code__startswith=community.code,
        )
        .distinct()
        .order_by("pk")[:20]
    )
    if users:
        return users
    from shequ.registry.models import Person, PersonStatus

    people = Person.objects.filter(
        region_code__startswith=community.code, status=PersonStatus.ACTIVE, house__isnull=False
    ).order_by("pk")[:40]
    for person in people:
        if len(users) >= 4 or not person.phone:
            continue
        try:
            with transaction.atomic():
                user = accounts.user_create(
                    actor=None,
                    username=f"disc_resident_{person.pk}",
                    display_name=person.name,
                    password=None,
                    phone=person.phone,
                )
                grid = Region.objects.get(code=person.region_code)
                accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=grid)
        except (ValidationError, IntegrityError, Region.DoesNotExist):
            continue
        users.append(user)
    return users


def _dibao_lines(community: Region, rng: random.Random) -> str:
    """Pasted lines of the community's low-income residents (the registry's 低保 tag), else of some
    residents; the list service masks them before anything is stored."""
    from shequ.registry.models import Person, PersonStatus, PersonTag

    tagged = PersonTag.objects.filter(
        active=True,
        category__code__in=["low_income", "extreme_poverty"],
        region_code__startswith=community.code,
    ).values_list("person_id", flat=True)
    people = list(Person.objects.filter(pk__in=list(tagged[:LIST_SIZE]), status=PersonStatus.ACTIVE))
    if len(people) < 4:
        people += list(
            Person.objects.filter(
                region_code__startswith=community.code, status=PersonStatus.ACTIVE
            ).order_by("pk")[: LIST_SIZE - len(people)]
        )
    lines = []
    seen: set[str] = set()
    for person in people:
        number = person.id_number or ""
        if not number or number in seen or len(number) != 18:
            continue
        seen.add(number)
        amount = rng.choice([520, 580, 650, 720, 810])
        reason = rng.choice(["因病致贫", "重度残疾", "无劳动能力", "单亲家庭"])
        lines.append(f"{person.name}\t{number}\t{amount}\t{reason}")
    return "\n".join(lines)


def _finance_body(rng: random.Random) -> str:
    income, party = rng.randint(30, 60) * 1000, rng.randint(5, 15) * 1000
    office, activity, clean, care = (rng.randint(2, 9) * 500 for _ in range(4))
    balance = income + party - office - activity - clean - care
    return FINANCE_BODY.format(
        income=income, party=party, office=office, activity=activity, clean=clean, care=care, balance=balance
    )


def _publish_at(item: DisclosureItem, days_after: int, rng: random.Random, now: dt.datetime) -> dt.datetime:
    base = item.period_end or item.decided_on or now.date()
    return min(_moment(base + dt.timedelta(days=days_after), rng), now - dt.timedelta(hours=1))


def _community(
    community: Region,
    author: User,
    answerer: User,
    rng: random.Random,
    now: dt.datetime,
    summary: DisclosureSummary,
) -> None:
    today = timezone.localtime(now).date()
    periods = rules.expected_periods(now, MONTHS)
    ended = {kind: [p for p in ps if p.end < today] for kind, ps in periods.items()}
    # One month and (in every other community) one quarter left undone: overdue on the schedule.
    gap_month = rng.choice(ended[K.FINANCE][-4:-1]) if len(ended[K.FINANCE]) > 3 else None
    gap_quarter = ended[K.AFFAIRS][-1] if ended[K.AFFAIRS] and rng.random() < 0.5 else None
    made: list[DisclosureItem] = []

    def make(
        kind: str,
        title: str,
        body: str,
        *,
        period: rules.Period | None = None,
        decided: dt.date | None = None,
        days_after: int,
        publish: bool = True,
        rows: str = "",
    ) -> DisclosureItem | None:
        start = _moment((period.end if period else decided or today) + dt.timedelta(days=1), rng)
        with at(min(start, now - dt.timedelta(hours=2))):
            item = item_services.item_create(
                actor=author,
                region_code=community.code,
                kind=kind,
                title=title,
                body=body,
                period_key=period.key if period else "",
                decided_on=decided,
            )
            if rows:
                summary.list_rows += lists.list_paste(actor=author, item=item, text=rows)[0]
        if publish:
            with at(max(_publish_at(item, days_after, rng, now), item.created_at + dt.timedelta(minutes=30))):
                item = item_services.item_publish(actor=author, item=item)
            summary.late += int(item.published_late)
        summary.items += 1
        summary.by_kind[kind] = summary.by_kind.get(kind, 0) + 1
        made.append(item)
        return item

    for period in ended[K.FINANCE]:
        if period == gap_month:
            summary.overdue_periods += 1
            continue
        late = rng.random() < 0.12
        make(
            K.FINANCE,
            f"{period.start.year}年{period.start.month}月财务收支公开",
            _finance_body(rng),
            period=period,
            days_after=rng.randint(16, 25) if late else rng.randint(2, 8),
        )
    for n, period in enumerate(ended[K.AFFAIRS]):
        if period == gap_quarter:
            summary.overdue_periods += 1
            continue
        title, body = AFFAIRS[n % len(AFFAIRS)]
        q = (period.start.month + 2) // 3
        make(
            K.AFFAIRS,
            title.format(year=period.start.year, q=q),
            body.format(n=rng.randint(5, 20), m=rng.randint(2, 9)),
            period=period,
            days_after=rng.randint(3, 12),
        )
    major_title, major_body = rng.choice(MAJORS)
    major = make(
        K.MAJOR,
        major_title,
        major_body,
        decided=today - dt.timedelta(days=rng.randint(30, 90)),
        days_after=rng.randint(1, 5),
    )
    # A decided matter still a draft past its due date (overdue on the schedule, reminded by the job).
    draft_title, draft_body = rng.choice([m for m in MAJORS if m[0] != major_title])
    make(K.MAJOR, draft_title, draft_body, decided=today - dt.timedelta(days=12), days_after=0, publish=False)
    subsidy = make(
        K.SUBSIDY,
        f"{today.year}年{today.month}月城乡低保对象公示",
        "经本人申请、入户调查、民主评议和街道审核，以下家庭拟纳入或继续享受最低生活保障，公示期7天。",
        decided=today - dt.timedelta(days=8),
        days_after=2,
        rows=_dibao_lines(community, rng),
    )
    make(
        K.POLICY,
        "居民医保缴费政策",
        "明年度城乡居民医保个人缴费标准为每人每年380元，低保对象由财政全额资助。",
        decided=today - dt.timedelta(days=40),
        days_after=3,
    )
    _questions(
        community, [i for i in (major, subsidy) if i is not None] + made[-4:], answerer, rng, now, summary
    )


def _questions(
    community: Region,
    targets: list[DisclosureItem],
    answerer: User,
    rng: random.Random,
    now: dt.datetime,
    summary: DisclosureSummary,
) -> None:
    askers = _askers(community, rng)
    published = [t for t in targets if t.status == "published"]
    if not askers or not published:
        return
    for n, (kind, body, answer) in enumerate(QUESTIONS):
        item = published[n % len(published)]
        row = item.rows.order_by("number")[2:3].first() if kind == "challenge" else None
        asked = min(
            _moment((item.published_at or now).date() + dt.timedelta(days=rng.randint(1, 5)), rng),
            now - dt.timedelta(days=2),
        )
        with at(asked):
            question = questions.question_ask(
                actor=rng.choice(askers), item=item, kind=kind, body=body, row=row
            )
        with at(min(asked + dt.timedelta(days=rng.randint(1, 4)), now - dt.timedelta(hours=1))):
            questions.question_answer(actor=answerer, question=question, answer=answer)
        summary.questions += 1
        summary.answered += 1
    for n, (kind, body) in enumerate(OPEN_QUESTIONS):
        item = published[n % len(published)]
        # The challenge was asked two weeks ago and is overdue; the question this morning.
        asked = now - (dt.timedelta(days=14) if kind == "challenge" else dt.timedelta(hours=3))
        with at(asked):
            questions.question_ask(actor=rng.choice(askers), item=item, kind=kind, body=body)
        summary.questions += 1
        summary.overdue_challenges += int(kind == "challenge")


def generate_disclosure(*, seed: int = 2026, now: dt.datetime | None = None) -> DisclosureSummary:
    """The demo street's disclosure (needs the regions, the demo staff and, for lists and askers, the
    registry)."""
    summary = DisclosureSummary()
    started = time.perf_counter()
    if DisclosureItem.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True
        return summary
    now = now or timezone.now()
    rng = random.Random(seed)
    communities = Region.objects.filter(code__startswith=STREET, level=RegionLevel.COMMUNITY).order_by("code")
    for community in communities:
        staff = sorted(region_staff(community.code, P.DISCLOSE), key=lambda u: u.pk)
        if not staff:
            continue
        heads = [
            u
            for u in staff
            if Membership.objects.filter(user=u, role=Role.COMMUNITY_HEAD, revoked_at__isnull=True).exists()
        ]
        author = heads[0] if heads else staff[0]
        answerer = staff[-1]
        with transaction.atomic():
            _community(community, author, answerer, rng, now, summary)
        summary.communities += 1
    summary.seconds = time.perf_counter() - started
    return summary
