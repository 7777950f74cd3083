"""The life-safety detector (生命安全研判): reads a new ticket's text and says whether someone's
life or body is in danger now, whatever category the ticket has, and why.

Two parts, either of which can fire:

* **Rules** for the unmistakable (gas smell, fire or smoke, someone trapped, a person down, water
  entering homes, live wires, collapse, weapons and violence, a child at a height, an elderly person
  not seen). A rule's match is set aside when its clause negates it ("没有人受伤", "不是着火"), puts
  it in the past ("上个月漏过气", "上次着火的那栋楼") or in a hypothesis ("担心会着火", "防止触电"),
  or when a later clause says it is over ("火已经灭了", "老人联系上了") — unless the clause also says
  it is happening now ("现在又闻到煤气味").
* **A model**: TF-IDF over character 1–3-grams and a linear model with logistic loss that says
  life-safety or ordinary (a second one names the kind), trained on ``data/lifesafety_train.csv``,
  on the ordinary categories of the request corpus's train split, and on what staff decided about
  earlier alarms (cleared false alarms are ordinary, confirmed ones life-safety). Its probability of
  danger fires at
  ``MODEL_THRESHOLD``; when the only rule matches were set aside as negated or past, or the text says
  the danger is not there ("没事", "误报", "无人受伤"), it must reach ``MODEL_THRESHOLD_SET_ASIDE``.

The held-out set ``data/lifesafety_eval.csv`` is never trained on: ``bench/bench_lifesafety.py``
measures recall and precision on it.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

from shequ.grid import modelfile

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
TRAIN_PATH = DATA / "lifesafety_train.csv"
EVAL_PATH = DATA / "lifesafety_eval.csv"
CORPUS_PATH = DATA / "corpus.csv"
MODEL_FILENAME = "grid-lifesafety.joblib"
# Bump when the rules' meaning, the features or the model change: the stamp retrains saved models.
FORMAT = 4
ORDINARY = "ordinary"
# Main types of the request corpus whose texts are ordinary requests (the corpus's 安全隐患 and
# 突发事件 texts mix hazards with emergencies and carry no life-safety label, so they are left out).
ORDINARY_MAIN_TYPES = (
    "livelihood",
    "dispute",
    "security",
    "environment",
    "cityscape",
    "special",
    "opinion",
    "other",
)
# Chosen on the training data alone (5-fold cross-validation, see bench/bench_lifesafety.py).
MODEL_THRESHOLD = 0.4
MODEL_THRESHOLD_SET_ASIDE = 0.8


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
    "(?:老人|老人家|老太|老太太|老太婆|老爷子|老爷爷|老奶奶|老婆婆|奶奶|爷爷|婆婆|爹爹|嗲嗲|娭毑|阿婆|"
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
        r"(?<!不)着火|起火|失火|火灾(?!隐患|风险|险|预防|防范|演练|报警器|知识|保险)|燃起来|烧起来|烧着了|着了火|起了火|火烧|大火|火光|火苗(?:窜|冒|蹿)|(?:窜|冒|蹿)(?:出)?火苗|冒火|在烧",
    ),
    (
        "smoke",
        "fire",
        r"冒(?:黑|白|浓|青)?烟|浓烟|黑烟|滚滚的?烟|(?<![油炊香])烟(?:好大|很大|很浓|呛人|越来越大)|满(?:屋|屋子|楼道|房间|走廊)(?:都是|全是)?(?:的)?烟|烟雾(?:弥漫|很大|报警)",
    ),
    (
        "smoke_alarm",
        "fire",
        r"(?:烟感|烟雾探测器|烟雾报警器|火灾报警器|温感)(?:设备)?(?:在|一直)?(?:报警|告警|响|触发)",
    ),
    ("explosion", "fire", r"爆炸|炸了|爆燃|闪爆|炸开"),
    (
        "trapped",
        "trapped",
        r"被困|困(?:在|住)(?!难)|(?:电梯|轿厢).{0,8}(?:困人|关人|卡住|关住|停住|掉下去|下坠|出不来)|(?:出不来|出不去)了|(?:人|孩子|小孩|老人|宝宝|娃).{0,6}(?:锁|关|困|压)在(?:了)?(?:里面|屋里|房里|车里|车内|厕所|卫生间|电梯|阳台|下面)|被(?:埋|压)(?:在|住)",
    ),
    (
        "person_down",
        "person_down",
        r"晕倒|昏倒|晕过去|昏过去|晕厥|昏迷|不省人事|休克|叫不醒|喊不醒|没有?(?:了)?(?:呼吸|意识|心跳|脉搏)|(?:倒|躺|趴)在(?:地上|路边|门口|楼道|路上|厕所|卫生间|血泊)|倒地|摔倒.{0,6}(?:起不来|不动|流血|昏|没反应)|抽搐|口吐白沫|大出血|(?:流|出)了?(?:好多|很多|一地|一身)?(?:的)?血|血流不止|血流了?一地|一地的?血|快没气了|没气了|(?:吃|喝|吞)了.{0,4}(?:一瓶|整瓶|一把|好多|很多)(?:的)?(?:药|安眠药)|卷(?:进|了)(?:手|人|胳膊)|满(?:身|脸|头)(?:是|都是)血|一动不动|没(?:有)?(?:反应|动静)了|中暑|溺水|落水|掉(?:进|到)了?.{0,4}(?:河|塘|水|井|池|湖|江|粪坑)|一氧化碳|中毒|坠楼|(?:从|在).{1,8}(?:摔|掉|跌|坠)(?:了)?下来|心脏病(?:发|犯)|心梗|脑梗|中风|(?<![闷热气累笑])(?<![闷热气累笑]得)喘不(?:上|过)气|呼吸困难|有人(?:受伤|被撞|被砸|被咬|被烫)|(?:撞|砸|咬|烫|烧|炸)伤了?(?:人|一个|两个|几个|孩子|老人)|受了?重伤|伤得很重|快不行了",
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
        "animal",
        "other",
        r"疯狗|(?:狗|犬).{0,6}(?:见人就咬|咬(?:了|伤)了?(?:人|一个|好几个|孩子|小孩|老人))|见人就咬",
    ),
    (
        "weapon",
        "violence",
        r"(?:拿|持|举|挥|提|拎)(?:着)?(?:一把)?(?:刀|菜刀|砍刀|水果刀|棍子?|棒子|铁棍|铁锹|锄头|斧头?|砖头|枪|钢管)|(?:砍|捅|刺)(?:人|伤|死|了(?:人|他|她|一刀))|动刀|动了刀",
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

_COMPILED = tuple((name, kind, re.compile(pattern)) for name, kind, pattern in RULES)
# The "not seen" rules need a span of time or someone living alone to mean anything.
_ELDERLY_CONTEXT = re.compile(
    rf"{_DAYS}|独居|一个人住|孤寡|孤老|空巢|五保|没人照顾|自己住|昨天|前天|上周|好久"
)

# Set a match aside when the words before it in its clause negate it or frame it as a hypothesis …
_NEGATED_BEFORE = re.compile(
    r"(?:没有|没|无|未|不是|并非|不存在|没发现|未发现|排除|别|不要|不会|不能|防止|防范|预防|避免|以防|"
    r"万一|如果|要是|假如|假设|担心|害怕|就怕|怕会|会不会|是否|有没有|可能会|容易|以免|免得|谨防|严禁|禁止|"
    r"关于|如何|怎样|怎么预防|演练|宣传|培训|讲座|知识|科普|模拟|安装|加装|购买|买个|配备|像|以为|怀疑|防|"
    r"经常|老是|总是|每次|每到|时不时|动不动|一到[^，。]{0,4}就)[^，。]{0,8}$"
)
# … or as what might happen ("充电会着火", "容易倒") …
_MAY_BEFORE = re.compile(r"(?:会|可能会?|容易|易|要是|真|一旦|真要)$")
# … or in the past (a present marker in the same clause wins) …
_PAST = re.compile(
    r"上个?月|上次|上回|上一次|去年|前年|上周|上星期|上礼拜|之前|以前|曾经|那次|那一次|前几天|前些天|前段时间|"
    r"前阵子|几年前|[0-9一二两三四五六七八九十]+(?:年|个月|个星期|周)前|早些时候|当时|当年|月初|月底|年初|那天|那场|"
    r"今年[0-9一二三四五六七八九十]+月|[0-9一二三四五六七八九十]+月份|暑假那|过年那"
)
_PRESENT = re.compile(r"现在|正在|还在|又|此刻|刚刚|刚才|马上|一直|目前|依然|仍然|仍在|still|now")
# … or when the words after it in the clause say it is about a past event or a request about one …
_ABOUT_AFTER = re.compile(
    r"^[^，。]{0,3}(?:的事|的事情|这件事|那件事|以后|之后|过后|后来|的那栋|的那家|的那个|隐患|风险|的危险|的可能)"
    # "困人四次了": a complaint about how often, not a call for help now.
    r"|^[^，。]{0,4}(?:[0-9一二两三四五六七八九十几好多]+次|多次)"
    # "出了火灾消防车都进不来": what would happen, said to have an obstacle removed.
    r"|^[^，。]{0,6}(?:都|也)(?:进不来|出不去|没法|不能|来不了|跑不掉)"
)
# … or a later clause says it is over.
_OVER = re.compile(
    r"已经?(?:被)?(?:找到|联系上|送医|送到医院|送去医院|没事|灭了|扑灭|熄灭|修好|处理好|处理完|解决|恢复|关掉|关闭|"
    r"关了|排除|抢修好|救出|救出来|退了|退去|停了|好了|脱险|安全了|离开了|走了|报警了并处理)|(?:找到|联系上)了|"
    r"(?:人)?(?:没事|没有大碍|无大碍|已无大碍|平安)了?$|虚惊一场|误报|是误会|搞错了|无火情|无明火|未发现|"
    r"没有超标|浓度为零|复位|消音|核实为|检测为|确认为|开玩笑|出来了|下来了|熄了|不漏电了|"
    r"(?:测试|演练|维保|宣传|警示|教育|承诺书|标语|离线|低电量|电池|没电了|无心跳)"
)


# Words anywhere in the text that say the danger is not (or no longer) there: the model, which reads
# characters and not sentences, must then be much surer before it fires.
_CALM = re.compile(
    r"没事|没有?(?:人)?(?:受伤|被困|危险|进水|着火|塌|倒|漏气|味道|烟)|无(?:人员?)?(?:受伤|伤亡|被困)|"
    r"不是.{0,8}(?:着火|起火|漏气|煤气|燃气|烟)|误报|虚惊|已经?(?:退|灭|熄|复位|下来|找到|联系上|修好|送医)|"
    r"离线|低电量|电量低|电池|测试|演练|不漏电|封死|撤单|平安|核实为|检测为|确认为"
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
        later = [c for _o, c in parts[index + 1 :]]
        for name, kind, pattern in _COMPILED:
            for match in pattern.finditer(clause):
                # One reason per kind and phrase: a title repeated in the description counts once.
                key = (kind, match.group(0))
                if key in seen or not match.group(0):
                    continue
                seen.add(key)
                if kind == "elderly_unseen" and not _ELDERLY_CONTEXT.search(norm):
                    continue
                hits.append(
                    Hit(
                        kind=kind,
                        phrase=match.group(0),
                        by="rule",
                        rule=name,
                        set_aside=_set_aside(kind, clause, match, later),
                    )
                )
    return hits


def _set_aside(kind: str, clause: str, match: re.Match[str], later: Sequence[str]) -> str:
    before, after = clause[: match.start()], clause[match.end() :]
    if _NEGATED_BEFORE.search(before) or _MAY_BEFORE.search(before):
        return "negated"
    present = _PRESENT.search(clause)
    # An elderly person unseen "since last week" is still unseen: time words describe the absence.
    if kind != "elderly_unseen" and not present and (_PAST.search(before) or _ABOUT_AFTER.search(after)):
        return "past"
    if not present and (_OVER.search(after) or any(_OVER.search(c) for c in later[:4])):
        # A later clause that itself raises the alarm again keeps it ("火灭了，但还有人困在里面" is
        # caught by that clause's own match).
        return "over"
    return ""


# --- The model ---------------------------------------------------------------------------------------

Sample = tuple[str, str]  # (text, kind or ORDINARY)


# Who is writing, not what happened: the openings of patrol records and 12345 records. Left in, the
# model learned the voice of the training texts ("网格员巡查发现" read as danger).
_VOICE = re.compile(
    r"网格员?(?:巡查|走访|巡逻)?(?:发现|记录|上报|报)?|来电人?(?:反映|称|诉求)?|诉求|"
    r"居民(?:来电|到服务台|到社区)?(?:称|反映)|群众反映|受理(?:员|编号)|重复反映|某"
)


# Grams that begin or end with a particle or a measure word say nothing to the person reading why.
_FILLER = re.compile(r"^[的了在有是个一里区小某]|[的了在有是个一里某]$")


def features_text(text: str) -> str:
    """What the model reads: letters and numbers (each number as 0), punctuation as spaces, without
    the openings that say who writes."""
    text = _VOICE.sub(" ", normalize(text))
    return "".join(ch if ch.isalnum() else " " for ch in _DIGITS.sub("0", text))


def _pipeline() -> Pipeline:
    features = TfidfVectorizer(
        preprocessor=features_text,
        analyzer="char_wb",
        ngram_range=(1, 3),
        lowercase=False,
        sublinear_tf=True,
        min_df=1,
    )
    # Logistic loss for probabilities; SGD trains in well under a second (lbfgs took 16 s for the
    # same cross-validated quality), so a process without a saved model is ready at once.
    model = SGDClassifier(
        loss="log_loss", alpha=1e-4, max_iter=100, tol=1e-4, random_state=0, class_weight="balanced"
    )
    return Pipeline([("features", features), ("model", model)])


@dataclass
class Model:
    """Two linear models over the same kind of features: ``pipeline`` says life-safety or not (a
    binary model's probability is calibrated where a twelve-way one spreads it thin), ``kinds``
    which danger a life-safety text is about."""

    pipeline: Pipeline
    kinds: Pipeline
    version: str
    samples: int
    ticket_samples: int = 0
    train_seconds: float = 0.0
    trained_at: float = field(default_factory=time.time)

    def life_probability(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        """Per text: the probability that it reports a danger to life, and the most likely kind."""
        if not texts:
            return []
        life = self.pipeline.predict_proba(list(texts))[:, list(self.pipeline.classes_).index(True)]
        kinds = self.kinds.predict(list(texts))
        return [(float(p), str(k)) for p, k in zip(life, kinds, strict=True)]

    def top_phrases(self, text: str, n: int = 3) -> list[str]:
        """The character n-grams of the text that weigh most towards danger: what the model "read"
        in it (words of two or three characters, without numbers)."""
        features = self.pipeline.named_steps["features"]
        model = self.pipeline.named_steps["model"]
        row = features.transform([text])
        sign = 1.0 if bool(self.pipeline.classes_[1]) else -1.0
        weights = model.coef_[0] * sign
        names = self._names()
        scored = sorted(
            ((float(row[0, j]) * float(weights[j]), str(names[j])) for j in row.nonzero()[1]),
            reverse=True,
        )
        chosen: list[str] = []
        for score, name in scored:
            if score <= 0 or len(name) < 2 or " " in name or "0" in name or _FILLER.search(name):
                continue
            if any(name in c for c in chosen):
                continue
            chosen = [c for c in chosen if c not in name] + [name]
            if len(chosen) == n:
                break
        return chosen

    def _names(self) -> np.ndarray:
        # Built once per process: the vocabulary's names are a large array.
        names = self.__dict__.get("_feature_names")
        if names is None:
            names = self.pipeline.named_steps["features"].get_feature_names_out()
            self.__dict__["_feature_names"] = names
        return names

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (``modelfile.save``)."""
        return modelfile.save(self, path or model_path(), fmt=FORMAT)

    @classmethod
    def load(cls, path: Path | None = None, *, version: str | None = None) -> Model | None:
        """The saved model, if it fits this code and (with ``version``) this data (``modelfile.load``)."""
        return modelfile.load(path or model_path(), cls, fmt=FORMAT, version=version)


def model_path() -> Path:
    return Path(settings.VAR_DIR) / MODEL_FILENAME


def labelled(path: Path) -> list[Sample]:
    """(text, kind or "ordinary") rows of a labelled file (``text,label,kind``)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [
            (row["text"], row["kind"] if row["label"] == "life" else ORDINARY)
            for row in csv.DictReader(f)
            if row["text"].strip()
        ]


def ordinary_corpus(split: str) -> list[Sample]:
    """The request corpus's texts of the ordinary main types, labelled ordinary."""
    with CORPUS_PATH.open(encoding="utf-8", newline="") as f:
        return [
            (row["text"], ORDINARY)
            for row in csv.DictReader(f)
            if row["split"] == split and row["category"].split(".")[0] in ORDINARY_MAIN_TYPES
        ]


def base_samples() -> list[Sample]:
    return [*labelled(TRAIN_PATH), *ordinary_corpus("train")]


def data_version() -> str:
    digest = hashlib.sha256(TRAIN_PATH.read_bytes())
    digest.update(CORPUS_PATH.read_bytes())
    digest.update(f"|format={FORMAT}".encode())
    return digest.hexdigest()[:16]


def train(samples: Iterable[Sample], *, version: str = "", ticket_samples: int = 0) -> Model:
    pairs = [(t, k) for t, k in samples if isinstance(t, str) and normalize(t) and k]
    life = [(t, k) for t, k in pairs if k != ORDINARY]
    if len(life) == len(pairs) or len({k for _t, k in life}) < 2:
        raise ValueError("training needs ordinary texts and life-safety texts of several kinds")
    started = time.perf_counter()
    pipeline = _pipeline()
    pipeline.fit([t for t, _k in pairs], [k != ORDINARY for _t, k in pairs])
    kinds = _pipeline()
    kinds.fit([t for t, _k in life], [k for _t, k in life])
    return Model(
        pipeline=pipeline,
        kinds=kinds,
        version=version,
        samples=len(pairs),
        ticket_samples=ticket_samples,
        train_seconds=time.perf_counter() - started,
    )


def ticket_samples() -> list[Sample]:
    """What staff decided about earlier alarms: a cleared false alarm is an ordinary text; an alarm
    acknowledged and never cleared, on a ticket now finished, is a life-safety text of its kind."""
    from shequ.grid.models import FINAL_STATUSES, AlertState, UrgentAlert

    rows = (
        UrgentAlert.objects.filter(life_safety=True)
        .filter(
            Q(state=AlertState.CLEARED) | Q(state=AlertState.ACKNOWLEDGED, ticket__status__in=FINAL_STATUSES)
        )
        .order_by("pk")
        .values_list("ticket__title", "ticket__description", "state", "kind")
    )
    return [
        (f"{title}\n{description}", ORDINARY if state == AlertState.CLEARED else (kind or "other"))
        for title, description, state, kind in rows.iterator(chunk_size=2000)
    ]


@dataclass(frozen=True)
class RetrainResult:
    model: Model
    base_samples: int
    ticket_samples: int
    path: Path | None


def retrain(*, save: bool = True, path: Path | None = None) -> RetrainResult:
    """Train on the shipped data plus staff's decisions on earlier alarms, save, and use it."""
    base = base_samples()
    extra = ticket_samples()
    model = train([*base, *extra], version=data_version(), ticket_samples=len(extra))
    saved = model.save(path) if save else None
    set_model(model)
    return RetrainResult(model=model, base_samples=len(base), ticket_samples=len(extra), path=saved)


_process: modelfile.ProcessModel[Model] = modelfile.ProcessModel(
    name="life-safety model",
    load=lambda: Model.load(version=data_version()),
    train=lambda: train(base_samples(), version=data_version()),
    save=lambda model: model.save(),
    path=model_path,
)


def get_model() -> Model:
    """The saved model if it matches the shipped data, else one trained now (and saved)."""
    return _process.get()


def set_model(model: Model | None) -> None:
    _process.set(model)


# --- Detection ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Triage:
    urgent: bool
    kind: str  # the main kind when urgent, else ""
    hits: tuple[Hit, ...]  # what fired
    set_aside: tuple[Hit, ...]  # rule matches that did not count, and why
    probability: float | None  # the model's probability of danger (None without a model)

    def reasons(self) -> list[dict[str, Any]]:
        return [h.as_dict() for h in (*self.hits, *self.set_aside)]


NOT_URGENT = Triage(urgent=False, kind="", hits=(), set_aside=(), probability=None)


def detect(text: str, *, model: Model | None = None, use_model: bool = True) -> Triage:
    """Whether ``text`` reports a present danger to life, with the reasons. Never raises for a model
    problem: the rules alone then decide (and it is logged)."""
    if not normalize(text):
        return NOT_URGENT
    hits = rule_hits(text)
    active = [h for h in hits if not h.set_aside]
    aside = [h for h in hits if h.set_aside]
    probability: float | None = None
    model_hit: Hit | None = None
    if use_model:
        try:
            used = model or get_model()
            probability, kind = used.life_probability([text])[0]
            calm = not active and (bool(aside) or bool(_CALM.search(normalize(text))))
            threshold = MODEL_THRESHOLD_SET_ASIDE if calm else MODEL_THRESHOLD
            if probability >= threshold:
                phrases = used.top_phrases(text)
                model_hit = Hit(kind=kind, phrase=" · ".join(phrases), by="model", score=probability)
        except Exception:  # the rules still stand; the model's failure must not stop a report
            logger.warning("life-safety model failed", exc_info=True)
    fired = [*active, *([model_hit] if model_hit else [])]
    if not fired:
        return Triage(urgent=False, kind="", hits=(), set_aside=tuple(aside), probability=probability)
    kind = active[0].kind if active else fired[0].kind
    return Triage(urgent=True, kind=kind, hits=tuple(fired), set_aside=tuple(aside), probability=probability)


def detect_many(texts: Sequence[str], *, model: Model | None = None, use_model: bool = True) -> list[Triage]:
    return [detect(t, model=model, use_model=use_model) for t in texts]
