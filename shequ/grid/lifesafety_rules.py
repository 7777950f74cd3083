"""The life-safety detector's rules (``grid/lifesafety.py`` holds the model and ``detect``): the
kinds of danger with what to do and whom to call, the patterns for the unmistakable, and when a
match is set aside (negated, past, a hypothesis or a fear, a harmless smoke, an alarm a later
clause calls off, a danger that is over)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

ORDINARY = "ordinary"


@dataclass(frozen=True)
class Kind:
    label: Any  # lazy translation
    call: tuple[str, ...]  # the emergency numbers to call, the first one first
    advice: Any


KINDS: dict[str, Kind] = {
    "gas": Kind(
        _("Gas leak"),
        ("119",),
        _(
            "Do not switch lights or anything electric on or off, no flames; open windows if you can, "
            "leave at once, and call 119 from outside."
        ),
    ),
    "fire": Kind(
        _("Fire or smoke"),
        ("119",),
        _(
            "Leave by the stairs, not the lift; keep low and cover your nose and mouth with a wet cloth; "
            "call 119."
        ),
    ),
    "trapped": Kind(
        _("Someone trapped"),
        ("119", "110"),
        _(
            "Call 119. In a lift, press the alarm button and call the rescue number shown inside; do not "
            "force the doors."
        ),
    ),
    "person_down": Kind(
        _("A person down or injured"),
        ("120",),
        _(
            "Call 120 now and follow the dispatcher's instructions; do not move the person unless they are "
            "in danger where they lie."
        ),
    ),
    "flooding": Kind(
        _("Water entering homes"),
        ("119", "110"),
        _(
            "Switch the electricity off at the main switch if it is dry to reach, move to higher floors, and "
            "call 119."
        ),
    ),
    "live_wire": Kind(
        _("Live wire"),
        ("119",),
        _(
            "Keep at least 10 metres away and keep others away; never touch the wire or the person touching "
            "it; call 119 (power company: 95598)."
        ),
    ),
    "collapse": Kind(
        _("Collapse or falling objects"),
        ("119",),
        _("Move away from the wall, building or slope and keep others away; call 119."),
    ),
    "violence": Kind(
        _("Violence or self-harm"),
        ("110", "120"),
        _("Keep yourself safe and at a distance; call 110 (and 120 if someone is hurt)."),
    ),
    "child_height": Kind(
        _("A child in danger at a height or by water"),
        ("119", "110"),
        _(
            "Do not shout at the child; if you can reach them safely, hold them from behind and bring them "
            "in; call 119."
        ),
    ),
    "elderly_unseen": Kind(
        _("An elderly person not seen"),
        ("110", "120"),
        _("Call 110 to have the door opened, and 120 if the person is found unwell."),
    ),
    "other": Kind(
        _("Danger to life"),
        ("110", "120", "119"),
        _("Keep yourself safe and call 110, 120 or 119."),
    ),
}


# --- Text --------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")
# Clauses end at punctuation, line breaks and runs of spaces (people type "快来人 3栋 好大的烟").
_CLAUSE_END = re.compile(r"[，。！？；、,.!?;:：\n\r]+|\s{1,}")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case. Digits stay: "三天没开门" and "3天" both count."""
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def clauses(text: str) -> list[tuple[int, str]]:
    """(start offset, clause) of the normalized text."""
    out: list[tuple[int, str]] = []
    pos = 0
    for match in _CLAUSE_END.finditer(text):
        if match.start() > pos:
            out.append((pos, text[pos : match.start()]))
        pos = match.end()
    if pos < len(text):
        out.append((pos, text[pos:]))
    return out


# --- Rules -------------------------------------------------------------------------------------------

_GAS = "(?:煤气|燃气|天然气|液化气|液化石油气|瓦斯|沼气)"
_ELDER = (
    "(?:母亲|父亲|我妈|我爸|老妈|老爸|外婆|外公|姥姥|姥爷|老人|老人家|老太|老太太|老太婆|老爷子|老爷爷|老奶奶|老婆婆|奶奶|爷爷|婆婆|爹爹|嗲嗲|娭毑|阿婆|"
    "阿公|大爷|大娘|大妈|老伯|老头|独居|孤寡|孤老|空巢|五保户)"
)
_CHILD = "(?:小孩子?|孩子|娃娃?|小朋友|宝宝|儿童|细伢子|伢子|小家伙|幼儿)"
_DAYS = "(?:好几|几|两|三|四|五|六|七|八|九|十|[0-9]+|一整|整整)(?:天|日)|一天一夜|几天几夜|一个?星期|一周"

RULES: tuple[tuple[str, str, str], ...] = (
    # (name, kind, pattern)
    (
        "gas_smell",
        "gas",
        rf"{_GAS}(?:的)?(?:味|气味|臭味)|(?:闻到|一股|好大|很大|很浓|很重|刺鼻)的?{_GAS}|臭鸡蛋的?味",
    ),
    (
        "gas_leak",
        "gas",
        rf"{_GAS}(?:管道?|管子|软管|阀门?|罐|瓶|灶|表)?(?:在|正在|一直)?(?:泄漏|泄露|外泄|漏气|在漏|喷|嘶嘶|呲呲|滋滋)",
    ),
    (
        "gas_pipe_cut",
        "gas",
        rf"(?:挖|弄|撞|压|砸|铲|钻)(?:断|破|穿|坏)了?(?:一根)?(?:{_GAS})?(?:管道|管子|气管)|{_GAS}管(?:道|子)?(?:被)?(?:挖|弄|撞|压|砸)?(?:断|破|裂|爆)了",
    ),
    (
        "gas_alarm",
        "gas",
        r"(?:燃气|可燃气体?|煤气)(?:泄漏)?(?:报警器?|探测器?)?(?:在)?(?:报警(?!器)|告警|响了|一直响|浓度超标)",
    ),
    (
        "fire",
        "fire",
        r"(?<!不)着火|起火|失火|火灾(?!隐患|风险|险|预防|防范|演练|报警器|知识|保险)|燃起来|烧起来|烧着了|着了火|起了火|火(?:好大|很大|越来越大|烧得很旺)|"
        # 火烧烤 / 大火收汁 / 气得冒火 / 在烧烤、在烧水: cooking and temper, not a fire.
        r"火烧(?!烤|云|眉毛|饭|菜)|大火(?!收汁|炒|爆炒|烧开|煮|蒸|炖|翻炒)|火光|火苗(?:窜|冒|蹿)|(?:窜|冒|蹿)(?:出)?火苗|"
        r"(?<!气得)(?<!急得)(?<!气得我)冒火|在烧(?!烤|饭|菜|水|开水|香|纸|钱|火锅|炭|腊|汤)",
    ),
    (
        "smoke",
        "fire",
        r"冒(?:黑|白|浓|青)?烟|浓烟|黑烟|滚滚的?烟|(?<![油炊香])烟(?:好大|很大|很浓|呛人|越来越大)|满(?:屋|屋子|楼道|房间|走廊)(?:都是|全是)?(?:的)?烟|(?:外面|门外|楼道|走廊|屋里|屋子里|家里|房间里?)(?:全|都)是烟|烟雾(?:弥漫|很大|报警)",
    ),
    (
        "smoke_alarm",
        "fire",
        r"(?:烟感|烟雾探测器|烟雾报警器|火灾报警器|温感)(?:设备)?(?:刚才|刚刚|突然|半夜)?(?:在|一直)?(?:报警(?!器)|告警|响|触发)",
    ),
    ("explosion", "fire", r"爆炸|炸了|爆燃|闪爆|炸开"),
    (
        "trapped",
        "trapped",
        r"被困|困(?:在|住)(?!难)|(?:电梯|轿厢).{0,8}(?:困人|关人|卡住|关住|停住|掉下去|下坠|出不来)|(?:出不来|出不去)了|(?:人|孩子|小孩|老人|宝宝|娃).{0,6}(?:锁|关|困|压)在(?:了)?(?:里面|屋里|房里|车里|车内|厕所|卫生间|电梯|阳台|下面)|被(?:埋|压)(?:在|住)|(?:(?:人|孩子|小孩|老人|宝宝|娃|一家人?|[一两三四五六七八九十几]个人?)(?:都)?还|还有.{0,4}(?:人|孩子|小孩|老人))(?:在里面)?(?:没|冇)(?:有)?(?:出来|逃出来|救出来|跑出来)",
    ),
    (
        "person_down",
        "person_down",
        r"晕倒|昏倒|晕过去|昏过去|晕厥|昏迷|不省人事|休克|叫不醒|喊不醒|没有?(?:了)?(?:呼吸|意识|心跳|脉搏)|(?:倒|躺|趴)在(?:地上|路边|门口|楼道|路上|厕所|卫生间|血泊)|倒地|(?:摔倒|摔跤|跌倒|摔了|跌了|倒下|瘫).{0,6}(?:起不来|不动|不能动|动不了|流血|昏|没反应)|抽搐|(?:高烧|发烧|烧得).{0,4}抽筋|一直(?:没|不)醒|没醒过来|呼吸(?:很|好|非常)?(?:弱|微弱)|口吐白沫|大出血|(?:流|出)了?(?:好多|很多|一地|一身)?(?:的)?血|血流不止|血流了?一地|一地的?血|快没气了|没气了|(?:吃|喝|吞)了.{0,4}(?:一瓶|整瓶|一把|好多|很多)(?:的)?(?:药|安眠药)|卷(?:进|了)(?:手|人|胳膊)|满(?:身|脸|头)(?:是|都是)血|一动不动|没(?:有)?(?:反应|动静)了|中暑|溺水|落水|掉(?:进|到)了?.{0,4}(?:河|塘|水|井|池|湖|江|粪坑)|一氧化碳|中毒|坠楼|(?:从|在).{1,8}(?:摔|掉|跌|坠)(?:了)?下来|心脏病(?:发|犯)|心梗|脑梗|中风|(?<![闷热气累笑])(?<![闷热气累笑]得)喘不(?:上|过)气|呼吸困难|有人(?:受伤|被撞|被砸|被咬|被烫)|(?:撞|砸|咬|烫|烧|炸)(?:伤|到)了?(?:人|一个|两个|几个|孩子|小孩|老人|行人|路人)|受了?重伤|伤得很重|快不行了",
    ),
    (
        "flooding",
        "flooding",
        r"水.{0,6}(?:进|漫|淹|灌|涌|倒灌)(?:进|到|入)?了?(?:屋|家|房|室|一楼|床|地下室|门|店)|(?:淹|漫|没)(?:到|过)了?(?:膝盖|腰|大腿|床|胸|脖子|小腿|窗户|车顶)|(?:家|屋|房子|一楼|地下室|车库|店里|门面)(?:里|内)?(?:被)?(?:淹了|进水了|泡在水里|全是水|成了河)|洪水|山洪|被水围|水位.{0,4}(?:暴涨|猛涨|涨得很快|漫过)|(?:堤|坝|堤坝|河堤|塘坝)(?:要|快)?(?:决口|垮|溃|漫顶|管涌)",
    ),
    (
        "live_wire",
        "live_wire",
        r"(?:电线|电缆|高压线|电线杆|电杆|线杆|电力线)(?:被)?.{0,6}(?:掉|断|垂|落|倒|拖)(?:了|下来|在地|到地)|(?:电线|电缆|线路|插座|电箱|配电箱|线头).{0,6}(?:冒火花|打火|火花|冒火|噼啪|在闪)|触电|电到人|被电(?:到|击|打|倒)|漏电(?!保护|开关)|(?:带电|有电)的?(?:电线|线头)",
    ),
    (
        "collapse",
        "collapse",
        r"倒塌|坍塌|塌了|垮了|塌下来|垮下来|垮塌|塌方|滑坡|泥石流|摇摇欲坠|(?:随时|快要?|马上|就要|眼看)(?:要|会|可能)?(?:掉|塌|倒|垮|砸)(?:下来|了)|随时(?:会|可能)?(?:掉|塌|倒|垮|砸)|马上要(?:倒|塌|垮)|(?:砸|压)(?:到|中|伤|死)了?(?:人|车|孩子|小孩|老人|行人)|(?:掉|砸)下来.{0,4}(?:砸|伤)",
    ),
    (
        "cry_for_help",
        "other",
        r"救命(?!钱|稻草|恩|之恩|药)|救救(?:我|我们|他|她|孩子|老人)|没(?:有)?人来救|快来救人",
    ),
    (
        "animal",
        "other",
        r"疯狗|(?:狗|犬).{0,6}(?:见人就咬|咬(?:了|伤)了?(?:人|一个|好几个|孩子|小孩|老人))|见人就咬",
    ),
    (
        "weapon",
        "violence",
        r"(?:拿|持|举|挥|提|拎)(?:着)?(?:一把|把)?(?:长|尖|大|砍)?(?:刀|菜刀|砍刀|水果刀|棍子?|棒子|铁棍|铁锹|锄头|斧头?|砖头|枪|钢管)|(?:砍|捅|刺)(?:人|伤|死|了(?:人|他|她|一刀))|动刀|动了刀",
    ),
    (
        "violence",
        "violence",
        r"(?:打(?:人|架)).{0,8}(?:流血|受伤|头破血流|见血|很凶)|打得(?:头破血流|满身是血|流血|很凶|很惨)|要杀|杀(?:人|了你|了他|了她|死你)|弄死(?:我|你|他|她)|砸门|撞门|踹门|不想活了|活不下去了|家暴|(?:老公|丈夫|男人|男的|他爸|前夫).{0,4}(?:在)?(?:打|揍|掐)(?:我|老婆|她|孩子|小孩)|群殴|抢劫|绑架|(?:要|想|扬言|准备|闹着)(?:去)?(?:跳楼|跳河|跳江|自杀|轻生|寻短见|喝农药|割腕)|(?:站|坐|爬)在.{0,8}(?:楼顶|天台|窗外|桥上|桥边|栏杆外).{0,8}(?:要跳|想跳|哭)|喝了?农药|割腕",
    ),
    (
        "child_height",
        "child_height",
        rf"{_CHILD}.{{0,10}}(?:爬|站|坐|趴|挂|悬|翻|吊)(?:到|在|上|出)?了?.{{0,6}}(?:窗台|窗户外|窗外|阳台(?:外|边|上|栏杆|护栏)|护栏外|栏杆外|楼顶|天台|屋顶|房顶|空调外机|外机|边缘|楼沿)|(?:窗台|窗外|阳台外|楼顶|天台|屋顶|空调外机)(?:上)?(?:有)?(?:个|一个)?{_CHILD}|{_CHILD}.{{0,8}}(?:一个人|单独|独自|自己).{{0,6}}(?:河边|塘边|水边|池塘|水库|江边|井边)",
    ),
    (
        "elderly_unseen",
        "elderly_unseen",
        rf"{_ELDER}.{{0,24}}(?:(?:没|冇|冒|未)(?:有|得)?(?:看到|看见|见到|见过|出门|开门|露面|出来|下楼|人应|回应|应答?|接电话|动静|开灯|反应|来)|不(?:开门|接电话|应门|回应|回话)|联系不上|打不通|关机|敲门.{{0,4}}(?:没|冇))",
    ),
    (
        "elderly_signs",
        "elderly_unseen",
        rf"(?:报纸|牛奶|外卖|快递|信件).{{0,10}}(?:堆|积|放)了?.{{0,8}}(?:{_DAYS}|没人拿|没有人拿)|{_ELDER}.{{0,20}}(?:屋里|家里|门缝|门口|房里).{{0,8}}(?:臭味|怪味|异味|有股味)",
    ),
)

# A negator inside a rule's gap turns what the gap joins into a denial ("水都没有进屋", "电线并没有掉下
# 来"): every ``.{m,n}`` gap of a rule is matched again by a gap that cannot run over one, and a match
# only the loose gap allows is set aside as negated. "孩子没人看着爬到窗台上" keeps its match: 没人看 /
# 没人管 says who is missing, not what did not happen.
_GAP_NEGATOR = r"(?:没有?|冇|未|无|并非|不是|不会|别|差点|差一点|险些)(?!人?(?:看|管|照顾|注意|理))"
_GAP = re.compile(r"\.\{(\d+),(\d+)\}")
# Rules whose negation is what they look for ("三天没开门", "没人拿") keep their gaps.
_NEGATION_IS_CONTENT = frozenset({"elderly_unseen", "elderly_signs"})


def _strict(pattern: str) -> str:
    return _GAP.sub(lambda m: f"(?:(?!{_GAP_NEGATOR}).){{{m.group(1)},{m.group(2)}}}", pattern)


_COMPILED = tuple(
    (
        name,
        kind,
        re.compile(pattern),
        re.compile(pattern if name in _NEGATION_IS_CONTENT else _strict(pattern)),
    )
    for name, kind, pattern in RULES
)
# The "not seen" rules need a span of time or someone living alone to mean anything.
_ELDERLY_CONTEXT = re.compile(
    rf"{_DAYS}|独居|一个人住|孤寡|孤老|空巢|五保|没人照顾|自己住|昨天|前天|上周|好久"
)

# Set a match aside when the words just before it in its clause negate it …
_NEGATED_BEFORE = re.compile(
    r"(?:没有|没|无|未|不是|并非|不存在|没发现|未发现|排除|别|不要|不会|不能|防止|防范|预防|避免|以防|"
    r"会不会|是否|有没有|可能会|容易|以免|免得|谨防|严禁|禁止|"
    r"关于|如何|怎样|怎么(?:预防|救|处理|应对|急救|自救)|演练|宣传|培训|讲座|知识|科普|模拟|安装|加装|购买|买个|配备|(?<![好就])像(?!是)|以为|怀疑|防|"
    r"经常|老是|总是|每次|每到|时不时|动不动|一到[^，。]{0,4}就)[^，。]{0,8}$"
)
# … or anywhere before it in the clause frame it as a hypothesis or a fear ("万一哪天楼道里的电动车
# 着火", "怕楼上的水漫下来", "担心那堵墙倒下来砸到人"); 怕是 / 恐怕 / 怕不是 say "probably", not "in case".
# A fear about an elderly person ("担心楼上独居的奶奶三天没开门") is about what is already so: only
# a condition sets it aside.
_HYPOTHESIS_BEFORE = re.compile(
    r"(?:万一|如果|要是|假如|假设|倘若|一旦|真要|就怕|生怕|害怕|担心|担忧|怕的是|(?<![恐哪])怕(?!是|不是))[^，。]{0,16}$"
)
_CONDITION_BEFORE = re.compile(r"(?:万一|如果|要是|假如|假设|倘若)[^，。]{0,16}$")
# … or as what might happen ("充电会着火", "容易倒") …
_MAY_BEFORE = re.compile(r"(?:会|可能会?|容易|易|要是|真|一旦|真要|不)$")
# … or in the past (a present marker in the same clause, or a later clause saying it is back, wins) …
_PAST = re.compile(
    r"上个?月|上次|上回|上一次|去年|前年|上周|上个?星期|上个?礼拜|之前|以前|曾经|那次|那一次|前几天|前些天|前段时间|"
    r"前阵子|几年前|[0-9一二两三四五六七八九十]+(?:年|个月|个星期|周)前|早些时候|当时|当年|月初|月底|年初|那天|那场|"
    r"今年[0-9一二三四五六七八九十]+月|[0-9一二三四五六七八九十]+月份|暑假那|过年那|昨天|昨晚|前天|前晚|那晚|当晚|"
    r"[0-9一二三四五六七八九十]+月[0-9一二三四五六七八九十]+(?:日|号)"
)
_PRESENT = re.compile(r"(?<!到)现在|正在|还在|又|此刻|刚刚|刚才|马上|一直|目前|依然|仍然|仍在|still|now")
# What says the danger lasts: it keeps a past or finished event alive. 刚刚 / 刚才 do not (an alarm a
# moment ago can be over: "刚才着火了，已经灭了").
_STILL = re.compile(r"现在|正在|还在|又|此刻|一直|目前|依然|仍然|仍在|到现在")
# Words that say something began then and lasts.
_SINCE = re.compile(
    r"开始|以来|至今|起(?:就|一直)?(?:没|联系|不)|从[^，。\s]{1,6}(?:就|起|到)|联系不上|没人接|不接"
)
# A later clause that says the danger is back or not gone undoes what said it was over
# ("已经关了总阀开了窗，味道还没散").
_NOT_OVER_AFTER = re.compile(
    r"还(?:没|冇|未)(?:散|灭|退|停|出来|找到|醒|联系上|送|到)|还(?:是)?有(?:人|味|烟|火|水|气)|还在(?:冒|烧|漏|涨|流|响|里面)|"
    r"又(?:闻到|冒|烧|着|漏|响|进|涨|倒|晕)|仍(?:然)?(?:有|在)|依然(?:有|在)"
)
# … or when the words after it in the clause say it is about a past event or a request about one …
_ABOUT_AFTER = re.compile(
    r"^[^，。]{0,3}(?:的事|的事情|这件事|那件事|以后|之后|过后|后来|的那栋|的那家|的那个|隐患|风险|的危险|的可能)"
    # "困人四次了": a complaint about how often, not a call for help now.
    r"|^[^，。]{0,4}(?:[0-9一二两三四五六七八九十几好多]+次|多次)"
    # "出了火灾消防车都进不来": what would happen, said to have an obstacle removed.
    r"|^[^，。]{0,6}(?:都|也)(?:进不来|出不去|没法|不能|来不了|跑不掉)"
)
# … or a later clause says it is over (unless the alarm's own clause says it lasts) …
_OVER = re.compile(
    r"已经?(?:被)?(?:找到|联系上|送医|送到医院|送去医院|送走|拉走|接走|没事|灭了|扑灭|熄灭|修好|处理好|处理完|解决|恢复|关掉|关闭|"
    r"关了|排除|抢修好|救出|救出来|退了|退去|停了|好了|脱险|安全了|离开了|走了|报警了并处理|醒了|醒过来|"
    r"换了|换好|更换|接好|带回|接回)|(?:找到|联系上)了|"
    r"(?:人)?(?:没事|没有大碍|无大碍|已无大碍|平安)了?$|误报|是误会|搞错了|无火情|无明火|"
    r"没有超标|浓度为零|复位|消音|核实为|检测为|确认为|开玩笑|出来了|(?<![洪水雨石])下来了|熄了|不漏电了|"
    r"(?:扑|浇|熄)灭了|灭掉了|解救|获救|无碍|无恙|(?:带|接)回(?:家|去)了|水(?:已经|都|也)?退了|退水了|修好了|修复了|救出来了|送(?:到|去)?医院了|"
    r"(?:测试|演练|维保(?:测试|检测|调试|作业)|宣传|警示|教育|承诺书|标语|离线|低电量|电池|没电了|无心跳)"
)
# … or a later clause says the alarm was wrong: whatever the alarm's clause said ("烟感刚才一直响，结果
# 是楼下在烧烤", "闻到一股味，查了没事", "以为有人晕倒，原来是喝醉睡着了") …
_RESOLVED = re.compile(
    r"结果是|结果(?:只是|就是)|原来是|原来只是|其实是|其实只是|后来(?:才)?(?:知道|发现|查明|得知)(?:是|原来)|虚惊一场|"
    r"一场虚惊|误报|误会|是假的|假消息|谣言|辟谣|(?:一看|一问|看了看|问了问|走近看|仔细看)(?:才知道|原来|发现)?(?:只)?是|"
    r"(?:在|是)[^，。]{0,6}(?:拍(?:短)?视频|拍戏|演戏|直播|打游戏|玩游戏|排练)|(?:气味|味道|烟|声音)?来源(?:为|是)|"
    r"(?:搞|弄|看|听)错了|查(?:了|过|看了|看过)(?:一下|一遍|半天)?(?:都|也)?(?:没事|没问题|正常|没什么|什么都没)|"
    r"检查(?:了|过|后)?(?:都|也)?(?:没事|没问题|正常|无异常|一切正常)|并非|并不是|并没有|不是真的|"
    r"(?:未|没有?)(?:发现|查到|见到)(?:异常|问题|险情|火情|明火|泄漏|漏点|人员|伤员)|未发现|无异常|一切正常|"
    r"只是(?:演习|演练|测试|误触)|是(?:在)?(?:演习|演练|测试)"
)
# … or a later clause says the particular danger is not there.
_NOT_THERE: dict[str, re.Pattern[str]] = {
    kind: re.compile(pattern)
    for kind, pattern in {
        "gas": r"(?:没有?|无|未)(?:泄漏|泄露|漏气|漏点|漏|气味|味道|异味|燃气味|煤气味)|不漏(?:气)?了|闻不到|"
        r"浓度(?:为)?(?:零|0|正常)",
        "fire": r"没(?:有)?(?:着火|起火|明火|火情|火|冒烟)|不是(?:着火|火灾|起火|失火|火)|无(?:明火|火情)|"
        r"是.{0,8}(?:烧烤|做饭|炒菜|油烟|水蒸气|蒸汽|烧纸|烟花|在抽烟|熏腊肉)",
        "trapped": r"(?:里面|里头|梯里|轿厢[里内]?|车[里内]|屋[里内])(?:没|冇|无)(?:有)?人|"
        r"没(?:有)?(?:人)?(?:被)?困(?:人|住)?|空梯|是空的",
        "person_down": r"没(?:有)?(?:受伤|什么事|大碍|伤到)|(?:已经?|自己)?(?:醒了|醒过来|站起来了|爬起来了)|"
        r"是(?:喝醉|睡着|在睡)",
        "flooding": r"没(?:有)?(?:进|淹|漫|灌)(?:到|进)?(?:屋|家|房|室)?|进不了(?:屋|家)",
        "live_wire": r"没(?:有)?电|不带电|断(?:了)?电了|已(?:经)?断电|停电的|是(?:废|旧)线",
        "collapse": r"没(?:有)?(?:人)?(?:砸到|压到|伤到|受伤|掉下去|摔下去|掉进去)",
        "violence": r"没(?:有)?(?:动手|打起来|受伤)|是(?:在)?(?:开玩笑|拍戏|拍视频|演戏)|气话|胡话|醉话|"
        r"拉住了|劝(?:住|回)了|睡着了|(?:劝|拉)开了",
        "child_height": r"没(?:有)?危险|封死|(?:抱|拉)(?:回|进)(?:来|去)了|在(?:窗户|阳台)?里面",
        "elderly_unseen": r"(?<![不没])(?:在|去)(?:女儿|儿子|亲戚|子女|孩子|老家)|住院了|回来了|开门了|"
        r"接(?:了)?电话了|有人应了|(?:找到|联系上)了|出(?:去|门|远门)(?:旅游|旅行|玩)|走亲戚|无恙|核实安全|平安|"
        r"(?:问|联系|打通|通)了.{0,6}(?:她|他)说|在家休息|声音(?:挺|很|还)?好|人(?:挺|很|还)?好的?|在睡(?:觉|午觉)|睡着了|静音",
    }.items()
}
# Smoke and flames from a barbecue, a kitchen or a paper offering (in the clause or the two before it)
# are not a fire, unless the words say a fire ("烧烤摊着火了").
_HARMLESS_SMOKE = re.compile(
    r"烧烤|烤串|烤肉|撸串|油烟|炒菜|做饭|煮饭|烧饭|熏肉|熏腊|腊肉|烧纸|烧香|祭祀|上坟|烟花|鞭炮|爆竹|香烟|抽烟|吸烟|"
    r"蚊香|艾灸|火锅|烧水|炭火|水蒸气|蒸汽|干冰|烧秸秆|烧落叶|烧树叶|烧稻草|烧垃圾|烤糊|烧糊|煮糊|烤红薯"
)
_FIRE_ITSELF = re.compile(
    r"着火|起火|失火|火灾|燃起来|烧起来|烧着了|着了火|起了火|爆炸|炸(?:了|到|伤)|火苗|明火"
)


# Words anywhere in the text that say the danger is not (or no longer) there: the model, which reads
# characters and not sentences, must then be much surer before it fires.
_CALM = re.compile(
    r"没事|没有?(?:人)?(?:受伤|被困|危险|进水|着火|塌|倒|漏气|味道|烟)|无(?:人员?)?(?:受伤|伤亡|被困)|"
    r"(?<!是)不是.{0,8}(?:着火|起火|漏气|煤气|燃气|烟)|误报|虚惊|"
    r"已经?(?:退|灭|熄|复位|下来|找到|联系上|修好|送医|来电|恢复|换好|处理好|修复)|"
    r"离线|低电量|电量低|电池|测试|演练|不漏电|封死|撤单|平安|核实为|检测为|确认为|结果是|原来是|其实是|并非|"
    r"未发现|查了没事|没问题|(?:里面|里头|屋[里内]|车[里内]|轿厢[里内]?)(?:没|无)(?:有)?人|"
    r"没(?:有)?(?:人)?(?:被)?(?:漫|进|流进|淹|掉|倒|摔|晕|塌|破|漏|咬|砸|烧起来|爬|翻|跳|困|打起来|动手)|不带电|没危险|不危险|差点|"
    r"不会(?:掉|摔|倒|塌|烧|着|漏|淹|砸)|(?<![没无])有(?:防盗网|护栏|防护网)|"
    r"差一点|扶住|好在|幸好|幸亏|还好|(?:大人|家长|爸爸|妈妈)(?:一直|都)?(?:看着|陪着)|"
    r"(?:万一|如果|要是|假如|担心|生怕|就怕|(?<![恐哪])怕(?!是|不是))"
)


@dataclass(frozen=True)
class Hit:
    """One reason a text was (or was not) taken for life-safety."""

    kind: str
    phrase: str  # the words as written (for the model: the n-grams that weighed most)
    by: str  # "rule" or "model"
    rule: str = ""  # the rule's name
    score: float | None = None  # the model's probability
    set_aside: str = ""  # "negated", "past", "over" when a rule's match does not count

    def as_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "kind": self.kind,
                "phrase": self.phrase,
                "by": self.by,
                "rule": self.rule,
                "score": None if self.score is None else round(self.score, 3),
                "set_aside": self.set_aside,
            }.items()
            if v not in ("", None)
        }


def rule_hits(text: str) -> list[Hit]:
    """Every rule match of the text, those set aside marked with why."""
    norm = normalize(text)
    parts = clauses(norm)
    hits: list[Hit] = []
    seen: set[tuple[str, str]] = set()
    for index, (_offset, clause) in enumerate(parts):
        earlier = [c for _o, c in parts[max(0, index - 2) : index]]
        later = [c for _o, c in parts[index + 1 :]]
        for name, kind, pattern, strict in _COMPILED:
            for match in pattern.finditer(clause):
                # One reason per kind and phrase: a title repeated in the description counts once.
                key = (kind, match.group(0))
                if key in seen or not match.group(0):
                    continue
                seen.add(key)
                if kind == "elderly_unseen" and not _ELDERLY_CONTEXT.search(norm):
                    continue
                gap_negated = not any(
                    m.start() < match.end() and m.end() > match.start() for m in strict.finditer(clause)
                )
                why = "negated" if gap_negated else _set_aside(kind, clause, match, earlier, later)
                hits.append(Hit(kind=kind, phrase=match.group(0), by="rule", rule=name, set_aside=why))
    return hits


def _set_aside(
    kind: str, clause: str, match: re.Match[str], earlier: Sequence[str], later: Sequence[str]
) -> str:
    before, after = clause[: match.start()], clause[match.end() :]
    if _NEGATED_BEFORE.search(before) or _MAY_BEFORE.search(before):
        return "negated"
    if (_CONDITION_BEFORE if kind == "elderly_unseen" else _HYPOTHESIS_BEFORE).search(before):
        return "negated"
    if (
        kind == "fire"
        and not _FIRE_ITSELF.search(match.group(0))
        and any(_HARMLESS_SMOKE.search(c) for c in (*earlier, clause))
    ):
        return "negated"
    # What comes after, in this clause and the next few: the first one that says the alarm was wrong
    # or the danger is not there, unless a clause after that says it is back.
    # (clause, where to start reading it): the alarm's own clause from the end of the match on.
    following = [(clause, match.end()), *((c, 0) for c in later[:6])]
    not_there = _NOT_THERE.get(kind)
    for i, (words, pos) in enumerate(following):
        if _RESOLVED.search(words, pos) or (not_there and not_there.search(words, pos)):
            if not any(_NOT_OVER_AFTER.search(c, p) for c, p in following[i + 1 :]):
                return "negated"
            break
    present = _PRESENT.search(clause)
    back = any(_NOT_OVER_AFTER.search(c) for c in later[:3])
    # An elderly person unseen "since last week" is still unseen: time words describe the absence.
    past = _PAST.search(before) or _ABOUT_AFTER.search(after)
    if kind != "elderly_unseen" and not present and not back and past:
        return "past"
    if not _STILL.search(clause):
        for i, (words, pos) in enumerate(following):
            if _OVER.search(words, pos):
                # A later clause that itself raises the alarm again keeps it ("火灭了，但还有人困在里
                # 面" is caught by that clause's own match; "关了总阀，味道还没散" here).
                if not any(_NOT_OVER_AFTER.search(c, p) for c, p in following[i:]):
                    return "over"
                break
    return ""
