"""Demo consultations (议事协商) for the demo street's two demo communities (枇杷塘 and 泽盛).

Each community gets topics at every stage, made through the services as staff's and residents'
clicks would, with the clock set back while each step runs (the services read it through
``services.consultations._common.now``): a closed topic with its meeting, decision, progress
photos and feedback; one asking for feedback; one being carried out; one decided; one with a
meeting called for next week; two collecting opinions with proposals, support and comments (one
comment hidden after three reports and appealed, one hidden by a moderator); a resident's proposal
waiting for acceptance and one declined. Residents taking part are registry people given accounts
(linked by their mobile number, no password); the demo ``resident`` is one of them in 枇杷塘.
Idempotent: a street with topics already is left alone."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core import accounts
from shequ.core.models import Region, Role, User
from shequ.participation.models import ReportReason, Stage, Topic
from shequ.participation.services import consultations as services
from shequ.participation.services.consultations import _common
from shequ.registry.demo.accounts import link_demo_resident
from shequ.registry.models import Building, Person, PersonStatus

STREET = "430104002"
COMMUNITIES = ("430104002001", "430104002003")  # 枇杷塘社区 (the demo accounts'), 泽盛社区
STAFF = {"430104002001": ("worker_a", "head_a"), "430104002003": ("head_b", "head_b")}
RESIDENTS_PER_COMMUNITY = 14


@dataclass(frozen=True)
class Script:
    title: str
    description: str
    stage: str
    proposals: tuple[tuple[str, str], ...] = ()
    comments: tuple[str, ...] = ()
    meeting_place: str = "社区党群服务中心二楼会议室"
    participants: str = "居民代表9人、物业公司2人、业委会2人、社区工作人员2人"
    count: int = 15
    minutes: str = ""
    decision: str = ""
    votes: tuple[int, int, int] | None = None
    progress: tuple[str, ...] = ()
    one_building: bool = False
    days_ago: int = 40


SCRIPTS: tuple[Script, ...] = (
    Script(
        "楼道堆物清理",
        "部分楼栋楼道长期堆放纸箱、旧家具和电动车，堵塞消防通道，存在火灾隐患。请大家商量清理的时间和方式，以及今后如何保持。",
        Stage.CLOSED,
        proposals=(
            ("周六统一清理", "物业派车，居民周六上午把杂物搬到楼下集中清运。"),
            ("分单元轮流清理", "每周清理一个单元，避免一次堆太多。"),
        ),
        comments=(
            "支持统一清理，楼道太窄了。",
            "希望提前一周通知，方便上班族安排。",
            "旧家具能不能联系回收？",
        ),
        minutes="与会人员一致认为楼道堆物存在消防隐患。讨论了统一清理与分单元清理两个方案，多数代表支持周六统一清理，并建议联系再生资源回收。",
        decision="本月第三个周六上午统一清理楼道堆物，物业派车清运；可回收物联系再生资源公司上门回收。此后楼道堆物由楼栋长每周巡查。",
        votes=(12, 1, 2),
        progress=(
            "已张贴通知并逐户告知。",
            "周六完成清理，共清运杂物约4车。",
            "楼栋长开始每周巡查，本周未发现新堆物。",
        ),
        days_ago=60,
    ),
    Script(
        "加装电梯费用分摊",
        "三单元居民申请加装电梯，需商量费用如何按楼层分摊、一楼住户的补偿和施工期间的出行安排。",
        Stage.FEEDBACK,
        proposals=(("按楼层系数分摊", "二楼系数0.5，逐层递增，顶楼最高。"),),
        comments=("一楼采光会受影响，希望有补偿。", "施工期间老人出行不便，需要安排。"),
        minutes="讨论了分摊系数和一楼补偿，住户代表基本同意按楼层系数分摊。",
        decision="按楼层系数分摊费用（二楼0.5起逐层递增），一楼住户一次性补偿，由社区协助申请加装电梯补贴。",
        votes=(10, 2, 1),
        progress=("已向区住建局提交加装电梯补贴申请。", "井道开挖完成。", "电梯安装完成并通过验收。"),
        one_building=True,
        days_ago=50,
    ),
    Script(
        "小区停车位划线",
        "晚上车位紧张，车辆乱停占用消防通道。请大家商量划线方案和收费标准。",
        Stage.IMPLEMENTING,
        proposals=(("增划30个车位", "利用绿化带边缘划线。"),),
        comments=("消防通道一定要留出来。", "外来车辆要管控。"),
        minutes="讨论了划线位置和外来车辆管理。",
        decision="在不占用消防通道的前提下增划30个车位，外来车辆限时停放。",
        votes=(11, 3, 1),
        progress=("物业已完成测量，方案公示中。",),
        days_ago=30,
    ),
    Script(
        "广场舞时间和音量",
        "有居民反映晚上广场舞音乐太大，影响休息。请跳舞的居民和周边住户一起商量时间和音量。",
        Stage.DECIDED,
        comments=("晚上八点半以后请关音乐。", "我们跳舞也是锻炼身体，希望有个地方。"),
        minutes="舞蹈队代表和周边住户代表当面沟通，达成一致。",
        decision="广场舞时间为19:00—20:30，音量不超过55分贝，舞蹈队自备分贝仪；周末可延长至21:00。",
        votes=(13, 0, 2),
        days_ago=20,
    ),
    Script(
        "垃圾分类投放点调整",
        "现在的投放点离部分楼栋太远，夏天气味大。请大家商量新的投放点位置和开放时间。",
        Stage.MEETING,
        proposals=(("东门增设一处投放点", "方便东侧几栋楼的居民。"), ("延长早上开放时间", "早上6:30—9:00。")),
        comments=("投放点不要离窗户太近。", "希望有洗手池。"),
        days_ago=12,
    ),
    Script(
        "增设电动车充电桩",
        "电动车在楼道充电很危险，但楼下没有足够的充电桩。请大家说说需要多少、装在哪里、怎么收费。",
        Stage.COLLECTING,
        proposals=(("在车棚加装20个充电桩", "按度收费，由物业管理。"), ("先装10个试用", "看使用情况再加。")),
        comments=("早该装了，我每天都得搬电池上楼。", "收费别太贵。", "车棚要装监控。"),
        days_ago=6,
    ),
    Script(
        "儿童游乐设施维修",
        "小区游乐场的滑梯和秋千有松动，存在安全隐患，请大家提出维修或更换的意见。",
        Stage.COLLECTING,
        comments=("秋千链条生锈了，孩子玩很危险。", "可以顺便铺上塑胶地面。"),
        days_ago=3,
    ),
)
SPAM = "专业代办各类证件，价格优惠，联系电话13900001234"
RUDE = "提这个意见的人就是多管闲事，脑子有问题"


@dataclass
class ConsultSummary:
    topics: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)
    proposals: int = 0
    supports: int = 0
    comments: int = 0
    reports: int = 0
    hidden: int = 0
    appeals: int = 0
    feedback: int = 0
    residents: int = 0
    seconds: float = 0.0
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return "consultations: the demo street has its topics already (or no registry); left alone"
        stages = ", ".join(f"{n} {s}" for s, n in sorted(self.by_stage.items()))
        return (
            f"consultations: {self.topics} topics ({stages}), {self.proposals} proposals with "
            f"{self.supports} supports, {self.comments} comments ({self.reports} reports, "
            f"{self.hidden} hidden, {self.appeals} appeals), {self.feedback} feedback, "
            f"{self.residents} residents taking part, in {self.seconds:.1f} s"
        )


@contextlib.contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    """Run the services as if it were ``moment`` (they read the time through ``_common.now``)."""
    original = _common.now
    setattr(_common, "now", lambda: moment)  # noqa: B010 (a module attribute, set on purpose)
    try:
        yield
    finally:
        setattr(_common, "now", original)  # noqa: B010


def _photo(rng: random.Random) -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 120), (225, 232, 238))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(0, 140), rng.randrange(0, 100)
        draw.rectangle(
            (x, y, x + rng.randrange(10, 40), y + rng.randrange(10, 30)),
            fill=(rng.randrange(60, 200), 120, 90),
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def _residents(community: str, rng: random.Random) -> list[User]:
    """Accounts of registry people of the community (reused when one has the number already)."""
    people = list(
        Person.objects.filter(
            region_code__startswith=community, status=PersonStatus.ACTIVE, house__isnull=False
        )
        .exclude(phone_index="")
        .order_by("pk")[:400]
    )
    rng.shuffle(people)
    out: list[User] = []
    for person in people:
        if len(out) >= RESIDENTS_PER_COMMUNITY:
            break
        user = User.objects.filter(phone_index=person.phone_index, is_active=True).first()
        if user is None:
            try:
                with transaction.atomic():
                    user = accounts.user_create(
                        actor=None,
                        username=f"consult_resident_{person.pk}",
                        display_name=person.name,
                        password=None,
                        phone=person.phone,
                    )
                    accounts.membership_grant(
                        actor=None,
                        user=user,
                        role=Role.RESIDENT,
                        region=Region.objects.get(code=person.region_code),
                    )
            except (ValidationError, IntegrityError, Region.DoesNotExist):
                continue
        if _common.resident_of(user) is not None:
            out.append(user)
    return out


class _Run:
    def __init__(self, rng: random.Random, now: dt.datetime, summary: ConsultSummary) -> None:
        self.rng, self.now, self.summary = rng, now, summary

    def moment(self, start: dt.datetime, days: float) -> dt.datetime:
        return min(
            start + dt.timedelta(days=days, minutes=self.rng.randrange(0, 300)),
            self.now - dt.timedelta(minutes=5),
        )

    def topic(
        self, script: Script, community: Region, staff: tuple[User, User], residents: list[User]
    ) -> Topic:
        worker = staff[0]
        start = self.now - dt.timedelta(days=script.days_ago, hours=self.rng.randrange(1, 8))
        buildings: list[Building] = []
        if script.one_building:
            first = Building.objects.filter(region_code__startswith=community.code).order_by("pk").first()
            buildings = [first] if first is not None else []
        with at(start):
            topic = services.topic_open(
                actor=worker,
                region=community,
                title=script.title,
                description=script.description,
                buildings=buildings,
            )
        in_scope = [u for u in residents if _common.in_scope(_common.resident_of(u).person, topic)]  # type: ignore[union-attr]
        span = max(script.days_ago, 2)
        proposals = []
        for i, (title, body) in enumerate(script.proposals):
            author = in_scope[i % len(in_scope)] if in_scope and i % 2 == 0 else worker
            with at(self.moment(start, span * 0.05 * (i + 1))):
                proposals.append(services.proposal_add(actor=author, topic=topic, title=title, body=body))
        for proposal in proposals:
            for user in self.rng.sample(in_scope, k=self.rng.randrange(0, len(in_scope) + 1)):
                with at(self.moment(start, span * self.rng.uniform(0.1, 0.3))):
                    services.proposal_support(actor=user, proposal=proposal)
                self.summary.supports += 1
        for i, body in enumerate(script.comments):
            if not in_scope:
                break
            with at(self.moment(start, span * 0.05 * (i + 2))):
                services.comment_add(actor=in_scope[(i + 1) % len(in_scope)], topic=topic, body=body)
        self.summary.proposals += len(proposals)
        self.summary.comments += len(script.comments) if in_scope else 0
        order = [
            Stage.COLLECTING,
            Stage.MEETING,
            Stage.DECIDED,
            Stage.IMPLEMENTING,
            Stage.FEEDBACK,
            Stage.CLOSED,
        ]
        target = order.index(Stage(script.stage))
        if target >= 1:
            meeting_at = (
                self.moment(start, span * 0.35) if target >= 2 else self.now + dt.timedelta(days=5, hours=2)
            )
            with at(self.moment(start, span * 0.3)):
                topic = services.meeting_schedule(
                    actor=worker, topic=topic, at=meeting_at, place=script.meeting_place
                )
        if target >= 2:
            with at(self.moment(start, span * 0.36)):
                services.meeting_record(
                    actor=worker,
                    topic=topic,
                    participants=script.participants,
                    participant_count=script.count,
                    minutes=script.minutes,
                    files=[_photo(self.rng)],
                    files_public=False,
                )
                votes = script.votes or (None, None, None)
                topic = services.topic_decide(
                    actor=worker,
                    topic=topic,
                    decision=script.decision,
                    votes_for=votes[0],
                    votes_against=votes[1],
                    votes_abstain=votes[2],
                )
        if target >= 3:
            with at(self.moment(start, span * 0.4)):
                topic = services.implementation_start(actor=worker, topic=topic)
            for i, text in enumerate(script.progress):
                when = self.moment(start, span * (0.45 + 0.1 * i))
                with at(when):
                    services.progress_add(
                        actor=worker,
                        topic=topic,
                        on=timezone.localdate(when),
                        text=text,
                        photos=[_photo(self.rng)],
                    )
        if target >= 4 and script.progress:
            with at(self.moment(start, span * 0.8)):
                topic = services.feedback_open(actor=worker, topic=topic)
            for user in in_scope[: self.rng.randrange(3, max(4, len(in_scope)))]:
                satisfied = self.rng.random() < 0.8
                with at(self.moment(start, span * 0.85)):
                    services.feedback_give(
                        actor=user,
                        topic=topic,
                        satisfied=satisfied,
                        comment="" if satisfied else "希望后续持续跟进。",
                    )
                self.summary.feedback += 1
        if target >= 5:
            with at(self.moment(start, span * 0.95)):
                topic = services.topic_close(actor=worker, topic=topic)
        self.summary.by_stage[topic.stage] = self.summary.by_stage.get(topic.stage, 0) + 1
        self.summary.topics += 1
        return topic

    def moderation(self, topic: Topic, staff: tuple[User, User], residents: list[User]) -> None:
        """A spam comment hidden after three reports and a rude one hidden by a moderator and
        appealed, on a topic collecting opinions."""
        in_scope = [u for u in residents if _common.in_scope(_common.resident_of(u).person, topic)]  # type: ignore[union-attr]
        if len(in_scope) < 5:
            return
        spammer, rude, *reporters = in_scope
        with at(self.now - dt.timedelta(days=2)):
            spam = services.comment_add(actor=spammer, topic=topic, body=SPAM)
        for user in reporters[: _common.hide_after_reports()]:
            with at(self.now - dt.timedelta(days=1, hours=self.rng.randrange(1, 20))):
                services.comment_report(actor=user, comment=spam, reason=ReportReason.ADVERTISING)
            self.summary.reports += 1
        with at(self.now - dt.timedelta(days=1)):
            bad = services.comment_add(actor=rude, topic=topic, body=RUDE)
            services.comment_report(actor=reporters[0], comment=bad, reason=ReportReason.ABUSE)
        self.summary.reports += 1
        with at(self.now - dt.timedelta(hours=20)):
            services.comment_hide(actor=staff[1], comment=bad, reason="人身攻击，不符合留言规则")
        with at(self.now - dt.timedelta(hours=6)):
            services.comment_appeal(actor=rude, comment=bad, text="我只是说出自己的看法，没有针对具体的人。")
        self.summary.comments += 2
        self.summary.hidden += 2
        self.summary.appeals += 1


def generate_consultations(*, seed: int = 2026, now: dt.datetime | None = None) -> ConsultSummary:
    """The demo street's consultations (needs the registry and the demo accounts)."""
    summary = ConsultSummary()
    started = time.perf_counter()
    if Topic.objects.filter(region_code__startswith=STREET).exists():
        summary.skipped = True
        return summary
    users = {
        u.username: u
        for u in User.objects.filter(
            is_active=True, username__in={n for pair in STAFF.values() for n in pair} | {"resident"}
        )
    }
    rng = random.Random(seed)
    now = now or timezone.now()
    resident = users.get("resident")
    demo_resident = link_demo_resident(resident) if resident is not None else None
    for code in COMMUNITIES:
        community = Region.objects.filter(code=code).first()
        names = STAFF[code]
        if community is None or any(n not in users for n in names):
            continue
        staff = (users[names[0]], users[names[1]])
        residents = _residents(code, rng)
        if demo_resident is not None and resident is not None and code == COMMUNITIES[0]:
            residents = [resident, *[u for u in residents if u.pk != resident.pk]]
        summary.residents += len(residents)
        run = _Run(rng, now, summary)
        collecting: list[Topic] = []
        for script in SCRIPTS:
            with transaction.atomic():
                topic = run.topic(script, community, staff, residents)
            if topic.stage == Stage.COLLECTING:
                collecting.append(topic)
        if collecting:
            with transaction.atomic():
                run.moderation(collecting[0], staff, [u for u in residents if u is not resident] or residents)
        proposer = (
            resident
            if code == COMMUNITIES[0] and demo_resident is not None
            else (residents[0] if residents else None)
        )
        if proposer is not None:
            with transaction.atomic(), at(now - dt.timedelta(days=1, hours=3)):
                services.topic_propose(
                    actor=proposer,
                    title="小区门口增设快递柜",
                    description="快递经常放在门卫室丢失，希望在小区门口增设智能快递柜。",
                )
            with transaction.atomic():
                with at(now - dt.timedelta(days=9)):
                    declined = services.topic_propose(
                        actor=proposer, title="拆除小区围墙", description="围墙挡住了去学校的近路。"
                    )
                with at(now - dt.timedelta(days=8)):
                    services.topic_decline(
                        actor=staff[0],
                        topic=declined,
                        reason="围墙属于学校产权，社区无权处理，已将意见转交街道与学校协调。",
                    )
            summary.by_stage[Stage.PROPOSED] = summary.by_stage.get(Stage.PROPOSED, 0) + 1
            summary.by_stage[Stage.DECLINED] = summary.by_stage.get(Stage.DECLINED, 0) + 1
            summary.topics += 2
    summary.seconds = time.perf_counter() - started
    if not summary.topics:
        summary.skipped = True
    return summary
