"""Synthetic registry (一标三实) for the demo street 岳麓街道 and, for benchmarks, the rest of 岳麓区.

Everything personal here is invented, but shaped like the real thing: roads and residential
compounds (小区) with buildings, units and flats in the communities, self-built houses in the
villages; families, elderly couples and people living alone with ages and sexes following Hunan's
7th census (2020: about 19.5 % aged 0–14, 20 % aged 60+, 15 % aged 65+); valid ID numbers
(GB 11643) coding a real birth county, the birth date and the sex; tenants and floating
population; shops, companies, schools and other organizations with valid credit codes (GB 32100);
key places; care tags at realistic rates and a few restricted ones; a handful of visits, moves,
departures and deaths recorded through the services.

Size: ``size=1`` is about 30,000 people in about 10,000 houses in the street's 15 communities and
villages; people and houses grow linearly with ``size``. Above ``DEMO_STREET_MAX_SIZE`` the extra
people live in the other streets of 岳麓区 (grids are created there as needed), so ``size=33``
puts a million people in one county for the search benchmark.

Speed and correctness: every person goes through ``services.clean_person_data`` and
``services.person_build`` (the same validation, normalisation and pinyin as a registration), and
organizations and key places through their ``clean_*_data``; rows are then written in bulk per
community by the shared bulk writer (:mod:`shequ.core.bulk`: PostgreSQL ``COPY``, one prepared
``INSERT`` on SQLite), which seals and blind-indexes ID and phone numbers as ``save()`` does.
Each community is written in its own transaction.

History for a bulk load: each person, household and tag gets its first timeline entry, but
there is one audit entry per community loaded (``registry.demo_load`` with the counts), not one
per row, and no per-row domain events — the generator is an import run by the operator, like
the platform's own region loading. The few story changes at the end (moves, departures, deaths,
visits) go through the real services and are audited and evented one by one.

Idempotent: a community that already has people is left alone, so running ``shequ demo`` again
adds nothing, and an interrupted large run resumes with the communities still empty.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
import multiprocessing
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from django.db import connection, connections, models, transaction
from django.utils import timezone

from shequ.core import audit, crypto
from shequ.core.bulk import bulk_insert, insert_rows
from shequ.core.models import Region, RegionKind, RegionLevel, User
from shequ.core.regions import grid_create
from shequ.core.validators import id_check_char, uscc_check_char
from shequ.registry import addresses, services
from shequ.registry.models import (
    Building,
    BuildingType,
    Education,
    Ethnicity,
    House,
    Household,
    HouseholdKind,
    HouseholdMember,
    HouseUse,
    IdType,
    KeyPlace,
    KeyPlaceKind,
    MaritalStatus,
    Organization,
    OrganizationType,
    Person,
    PersonStatus,
    PersonTag,
    PoliticalStatus,
    PropertyType,
    RelationToHead,
    Residence,
    ResidenceRelation,
    ResidenceType,
    RiskLevel,
    Road,
    Sex,
    TagCategory,
    TagSource,
    TimelineEntry,
    Unit,
    Visit,
    VisitPurpose,
)

COUNTY = "430104"  # 岳麓区
STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区 (the demo accounts' community)
PEOPLE_PER_SIZE = 30_000
# The demo street holds at most this many sizes; more people live in the county's other streets.
DEMO_STREET_MAX_SIZE = 3
# Grids created outside the demo street: one per this many people.
PEOPLE_PER_GRID = 1_500


# --- Census shapes and name tables -------------------------------------------------------------

# fmt: off
# Share of the population (%) per five-year age group, 0–4 … 95–99: Hunan, 7th census (2020),
# rounded: 0–14 19.5 %, 15–59 60.6 %, 60+ 19.9 %, 65+ 14.8 %.
AGE_PYRAMID = (
    5.2, 6.6, 7.7, 5.9, 5.0, 6.0, 8.2, 6.7, 6.4, 8.3, 8.6, 5.5, 5.1, 5.3, 3.9, 2.4, 1.6, 0.9, 0.35, 0.1,
)

# Surnames with weights close to their frequency in Hunan; 曾 单 解 覃 and 欧阳 have readings of
# their own (see ``pinyin.SURNAME_READINGS``), so the pinyin search shows the surname table.
_SURNAME_TABLE = """
刘 6.5  李 6.0  陈 5.5  王 5.0  张 4.5  杨 3.3  周 3.2  黄 3.0  彭 2.5  唐 2.4  罗 2.3  谭 2.2
邓 2.0  胡 2.0  曾 2.0  肖 1.8  吴 1.8  何 1.3  赵 1.2  易 1.2  谢 1.0  文 1.0  龙 1.0  蒋 1.0
袁 0.9  贺 0.9  朱 0.9  徐 0.9  邹 0.8  廖 0.8  汤 0.7  许 0.7  向 0.7  郭 0.7  毛 0.6  欧阳 0.6
雷 0.6  钟 0.6  孙 0.6  马 0.6  田 0.6  傅 0.5  姚 0.5  夏 0.5  颜 0.5  郑 0.5  熊 0.5  戴 0.5
石 0.5  卢 0.5  高 0.5  林 0.5  杜 0.4  段 0.4  梁 0.4  宋 0.4  方 0.4  尹 0.4  伍 0.4  覃 0.3
韩 0.3  冯 0.3  莫 0.3  万 0.3  秦 0.3  严 0.3  舒 0.3  喻 0.3  阳 0.3  左 0.2  符 0.2  柳 0.2
聂 0.2  粟 0.2  单 0.12 解 0.1  滕 0.1  查 0.05 仇 0.05 翟 0.05 缪 0.05 乐 0.05 区 0.04 盖 0.03
"""

# Characters of given names by sex and generation (born before 1966, 1966–1989, from 1990):
# first characters, second characters, one-character names.
_GIVEN = {
    ("male", 0): ("建国志德永福长春振卫光跃胜学树继家立正文明新", "国华明强林生东平军民庆成云山才贵富荣发祥",
                  "军华明强林生平"),
    ("female", 0): ("秀桂玉淑凤春冬金美翠素月兰爱桃", "英兰珍华芳梅莲香琴凤娥秀荣花云", "英兰珍华芳梅"),
    ("male", 1): ("志建伟晓海小永立俊文军红国剑光", "强伟勇军平斌华明辉杰峰涛刚波鹏",
                  "伟磊勇军杰涛斌强鹏辉刚峰波健"),
    ("female", 1): ("丽小晓海春红秀雪艳慧美彩", "红丽艳芳燕敏静玲娟霞琳莉萍颖", "丽敏静燕艳芳娟霞玲红琳萍"),
    ("male", 2): ("子宇浩俊梓一泽思博家嘉睿皓天", "轩豪然宇航涵睿阳晨博文杰辰洋", "浩宇轩睿博晨阳鑫涛"),
    ("female", 2): ("梓欣子雨思诗佳可一语紫雅婧", "涵萱怡琪彤妍桐瑶悦琳菲馨然", "婷琪悦妍瑶雪倩静"),
}

# Ethnic groups of people living in Changsha (Han about 95 %; Tujia, Miao, Dong, Yao from west Hunan).
ETHNIC_MIX = (
    (Ethnicity.HAN, 95.0), (Ethnicity.TUJIA, 2.0), (Ethnicity.MIAO, 1.4), (Ethnicity.DONG, 0.6),
    (Ethnicity.YAO, 0.5), (Ethnicity.HUI, 0.2), (Ethnicity.ZHUANG, 0.2), (Ethnicity.BAI, 0.1),
)

# Birth counties of people from outside Hunan (floating population): code, registration place.
OTHER_PROVINCE_COUNTIES = (
    ("420106", "湖北省武汉市武昌区"), ("421087", "湖北省荆州市松滋市"), ("360428", "江西省九江市都昌县"),
    ("360981", "江西省宜春市丰城市"), ("440106", "广东省广州市天河区"), ("441481", "广东省梅州市兴宁市"),
    ("450881", "广西壮族自治区贵港市桂平市"), ("520121", "贵州省贵阳市开阳县"),
    ("510722", "四川省绵阳市三台县"), ("500240", "重庆市石柱土家族自治县"), ("411522", "河南省信阳市光山县"),
    ("341221", "安徽省阜阳市临泉县"),
)
CHANGSHA_COUNTIES = ("430102", "430103", "430105", "430111", "430112", "430121", "430181", "430182")
DESTINATIONS = (
    "广东省深圳市南山区", "广东省广州市天河区", "上海市浦东新区", "北京市海淀区", "浙江省杭州市西湖区",
    "湖北省武汉市洪山区",
)

# Foreign students and teachers of the universities at the foot of 岳麓山.
FOREIGNERS = (
    ("John Smith", "USA", "male"), ("Emma Brown", "GBR", "female"), ("Kim Minjun", "KOR", "male"),
    ("Sato Yui", "JPN", "female"), ("Ivan Petrov", "RUS", "male"), ("Ahmed Khan", "PAK", "male"),
    ("Nguyen Thi Lan", "VNM", "female"), ("Anna Schmidt", "DEU", "female"), ("Somchai Dee", "THA", "male"),
    ("Marie Dubois", "FRA", "female"),
)

MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "175", "176", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189", "191", "198", "199",
)
WORK = (
    ("湖南大学", "教师"), ("中南大学", "教师"), ("湖南师范大学", "行政人员"), ("中南大学湘雅三医院", "医生"),
    ("湖南省人民医院", "护士"), ("长沙银行岳麓支行", "职员"), ("岳麓区人民政府", "公务员"),
    ("中联重科股份有限公司", "工程师"), ("三一重工股份有限公司", "技术员"), ("长沙市轨道交通集团", "职员"),
    ("湖南湘江新区管委会", "公务员"), ("长沙麓谷软件园", "程序员"), ("顺丰速运", "快递员"), ("美团", "骑手"),
    ("中建五局", "建筑工人"), ("个体经营", "个体户"), ("家政公司", "家政服务员"), ("步步高超市", "营业员"),
    ("", "自由职业"),
)
EDUCATION_BEFORE_1960 = (
    (Education.NONE, 8), (Education.PRIMARY, 30), (Education.JUNIOR, 32), (Education.SENIOR, 20),
    (Education.COLLEGE, 5), (Education.BACHELOR, 5),
)
EDUCATION_BEFORE_1980 = (
    (Education.PRIMARY, 8), (Education.JUNIOR, 30), (Education.SENIOR, 30), (Education.COLLEGE, 14),
    (Education.BACHELOR, 15), (Education.POSTGRADUATE, 3),
)
EDUCATION_SINCE_1980 = (
    (Education.JUNIOR, 12), (Education.SENIOR, 22), (Education.COLLEGE, 24), (Education.BACHELOR, 32),
    (Education.POSTGRADUATE, 10),
)

# Roads near 岳麓山 and in the new districts of 岳麓区; residential compounds (小区).
ROAD_NAMES = (  # noqa: SIM905 - a literal list would take many lines
    "麓山南路 麓山路 桃子湖路 阜埠河路 新民路 登高路 清水路 爱民路 牌楼路 左家垅路 "
    "潇湘中路 枫林一路 枫林二路 枫林三路 靳江路 含光路 后湖路 天马路 银双路 桐梓坡路 "
    "金星中路 望月湖路 咸嘉湖路 梅溪湖路 麓谷大道 岳华路 洋湖大道 坪塘大道 学士路 含浦大道 "
    "雷锋大道 杜鹃路 茶子山路 银杉路 麓松路 玉兰路 青山路 东方红路 黄桥大道 观沙岭路 "
    "银盆南路 佑母塘路 岳麓大道 西二环 麓天路 麓景路 谷苑路 望城坡路 白鹤路 湘江西路"
).split()
ESTATE_HEADS = (  # noqa: SIM905
    "麓山 湘江 岳麓 桃花 枫林 靳江 望月 银杉 金星 含光 天马 阳光 书香 学府 锦绣 和园 "
    "名都 云麓 麓枫 兰亭 湘桥 中海 梅溪 洋湖 滨江 山水"
).split()
ESTATE_TAILS = "小区 花园 家园 名苑 雅苑 新村 公寓 嘉园 华庭 山庄 国际 湾 府 苑".split()  # noqa: SIM905
UNIVERSITY_DORMS = ("湖南大学教工宿舍", "中南大学南校区教工宿舍", "湖南师范大学二里半宿舍")
SHOP_KINDS = (
    ("便利店", "零售业"), ("超市", "零售业"), ("水果店", "零售业"), ("药店", "医药零售"),
    ("湘菜馆", "餐饮业"), ("粉店", "餐饮业"), ("奶茶店", "餐饮业"), ("理发店", "居民服务业"),
    ("洗衣店", "居民服务业"), ("五金店", "零售业"), ("快递驿站", "邮政快递"), ("打印店", "商务服务业"),
    ("茶馆", "餐饮业"),
)
SHOP_WORDS = "好又多 湘味 百姓 邻里 福满 顺发 鑫源 老字号 阿华 麓山 家和 兴旺 金牌 快乐 惠民 诚信".split()  # noqa: SIM905
COMPANY_WORDS = "麓云 湘楚 芙蓉 星城 岳麓 橘洲 新航 瑞丰 博雅 恒信 创远 智汇 云图 天择".split()  # noqa: SIM905
COMPANY_KINDS = (
    ("科技有限公司", "软件和信息技术服务业"), ("物业管理有限公司", "物业管理"),
    ("餐饮管理有限公司", "餐饮业"), ("教育咨询有限公司", "教育服务"), ("建筑工程有限公司", "建筑业"),
    ("文化传媒有限公司", "文化传媒"), ("家政服务有限公司", "居民服务业"), ("贸易有限公司", "批发业"),
)
DISABILITY_TYPES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
# Key places a community may have: chance, kind, name, registrar of its credit code, its type.
OPTIONAL_PLACES: tuple[tuple[float, str, str, str, str], ...] = (
    (0.5, KeyPlaceKind.ELDERLY_HOME, "岳麓区{short}颐养中心", "52", OrganizationType.SOCIAL_ORGANIZATION),
    (0.3, KeyPlaceKind.HAZARDOUS_GOODS, "中国石化{short}加油站", "91", OrganizationType.ENTERPRISE),
    (0.3, KeyPlaceKind.INTERNET_CAFE, "{short}{word}网咖", "92", OrganizationType.INDIVIDUAL_BUSINESS),
    (0.4, KeyPlaceKind.HOSPITAL, "{short}社区卫生服务站", "12", OrganizationType.PUBLIC_INSTITUTION),
)
RISK_NOTES: dict[str, str] = {
    KeyPlaceKind.SCHOOL: "上下学时段交通疏导；校园周边食品安全每月检查",
    KeyPlaceKind.KINDERGARTEN: "接送时段门口拥堵；消防演练每季度一次",
    KeyPlaceKind.MARKET: "人流密集，消防通道易被摊位占用；每周巡查",
    KeyPlaceKind.ELDERLY_HOME: "住养老人多为失能、半失能；用电和防跌倒重点检查",
    KeyPlaceKind.RENTAL_CLUSTER: "出租屋集中，流动人口多；群租、电动车入户充电隐患",
    KeyPlaceKind.HAZARDOUS_GOODS: "加油站，危险化学品；防火防爆，每月安全检查",
    KeyPlaceKind.INTERNET_CAFE: "检查未成年人上网和实名登记",
    KeyPlaceKind.CONSTRUCTION_SITE: "夜间施工噪音投诉；扬尘和高处作业安全",
    KeyPlaceKind.HOSPITAL: "就诊高峰人流；医疗废物处置",
}
TAG_SOURCES = ((TagSource.SURVEY, 60), (TagSource.DEPARTMENT, 30), (TagSource.APPLICATION, 10))
FINDINGS = ("身体状况良好", "行动不便，需要助餐服务", "独自在家，子女每周来一次", "血压偏高，建议随访")
_CHINESE_NUMBERS = "零一二三四五六七八九十" + "".join(f"十{c}" for c in "一二三四五六七八九") + "二十"
# fmt: on

_AGE_CUMULATIVE: list[float] = [0.0]
for _share in AGE_PYRAMID:
    for _ in range(5):
        _AGE_CUMULATIVE.append(_AGE_CUMULATIVE[-1] + _share / 5)
MAX_AGE = len(AGE_PYRAMID) * 5 - 1
_SURNAME_PAIRS = _SURNAME_TABLE.split()
SURNAMES: tuple[tuple[str, float], ...] = tuple(
    (name, float(weight)) for name, weight in zip(_SURNAME_PAIRS[::2], _SURNAME_PAIRS[1::2], strict=True)
)
_SURNAME_NAMES = [name for name, _ in SURNAMES]
_SURNAME_CUMULATIVE = [sum(w for _, w in SURNAMES[: i + 1]) for i in range(len(SURNAMES))]


@functools.cache
def _cumulative(items: tuple[tuple[Any, float], ...]) -> tuple[list[Any], list[float]]:
    values, totals, total = [], [], 0.0
    for value, weight in items:
        total += weight
        values.append(value)
        totals.append(total)
    return values, totals


def _weighted(rng: random.Random, items: tuple[tuple[Any, float], ...]) -> Any:
    """One value of ``(value, weight)`` pairs (the tables are constant: their sums are cached)."""
    values, totals = _cumulative(items)
    return values[bisect.bisect_right(totals, rng.random() * totals[-1])]


def sample_age(rng: random.Random, low: int, high: int) -> int:
    """An age in ``[low, high]`` drawn from the census pyramid restricted to that range."""
    low, high = max(0, low), min(MAX_AGE, high)
    if high < low:
        return low
    a, b = _AGE_CUMULATIVE[low], _AGE_CUMULATIVE[high + 1]
    return min(high, max(low, bisect.bisect_right(_AGE_CUMULATIVE, a + rng.random() * (b - a)) - 1))


def birth_date_for(rng: random.Random, age: int, today: dt.date) -> dt.date:
    """A birth date giving ``age`` on ``today``."""
    try:
        anniversary = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - age, day=28)
    return anniversary - dt.timedelta(days=rng.randrange(1, 365))


def given_name(rng: random.Random, sex: str, born: int) -> str:
    era = 0 if born < 1966 else 1 if born < 1990 else 2
    first, second, single = _GIVEN[(sex, era)]
    if rng.random() < (0.12, 0.22, 0.15)[era]:
        return rng.choice(single)
    return rng.choice(first) + rng.choice(second)


def surname(rng: random.Random) -> str:
    return _SURNAME_NAMES[bisect.bisect_left(_SURNAME_CUMULATIVE, rng.random() * _SURNAME_CUMULATIVE[-1])]


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random) -> str:
    return f"0731-8{rng.randrange(10**7):07d}"


_ORG_CODE_VALUE = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organization_code(body: str) -> str:
    """A 9-character organization code (GB 11714): 8 characters and their check character."""
    total = sum(_ORG_CODE_VALUE[c] * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def make_uscc(rng: random.Random, registrar: str, county: str = COUNTY, partition: int = 0) -> str:
    """A unified social credit code (GB 32100): registrar and category (``91`` enterprise, ``92``
    individual business, ``12`` public institution, ``52`` social organization), the county, an
    organization code with its own check character, and the code's check character. The
    ``partition`` digit (0-9) keeps the codes of parallel workers apart."""
    if registrar.startswith("9") and rng.random() < 0.6:  # codes issued since 2015: MA + letters
        body = f"MA{partition}" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(5))
    else:
        body = f"{partition}{rng.randrange(10**7):07d}"
    first17 = registrar + county + organization_code(body)
    return first17 + uscc_check_char(first17)


# --- Households ---------------------------------------------------------------------------------


@dataclass
class Member:
    """A person to be generated, before validation."""

    age: int
    sex: str
    relation_to_head: str = RelationToHead.HEAD
    relation: str = ResidenceRelation.FAMILY
    marital: str = ""
    surname: str = ""


@dataclass
class Family:
    kind: str
    members: list[Member]
    tenants: bool = False


OWNER_FAMILIES_URBAN = (
    ("elderly_alone", 12.0),
    ("elderly_couple", 18.0),
    ("single", 7.0),
    ("couple", 8.0),
    ("nuclear", 30.0),
    ("three_generations", 20.0),
    ("single_parent", 4.0),
    ("skipped_generation", 1.0),
)
OWNER_FAMILIES_VILLAGE = (
    ("elderly_alone", 13.0),
    ("elderly_couple", 17.0),
    ("single", 3.0),
    ("couple", 5.0),
    ("nuclear", 25.0),
    ("three_generations", 28.0),
    ("single_parent", 3.0),
    ("skipped_generation", 6.0),
)
TENANT_GROUPS = (("tenant_single", 45.0), ("tenant_couple", 25.0), ("tenant_family", 30.0))


def _children(rng: random.Random, mother_age: int, count: int) -> list[Member]:
    kids = []
    for _ in range(count):
        low, high = max(0, mother_age - 42), min(30, mother_age - 20)
        if high < low:
            break
        age = sample_age(rng, low, high)
        kids.append(
            Member(
                age,
                rng.choice((Sex.MALE, Sex.FEMALE)),
                RelationToHead.CHILD,
                marital=MaritalStatus.MARRIED if age >= 27 and rng.random() < 0.3 else MaritalStatus.SINGLE,
            )
        )
    return kids


def _couple(rng: random.Random, low: int, high: int, relation: str = ResidenceRelation.OWNER) -> list[Member]:
    husband = sample_age(rng, low, high)
    wife = max(20, min(MAX_AGE, husband - rng.randint(-2, 5)))
    return [
        Member(husband, Sex.MALE, RelationToHead.HEAD, relation, MaritalStatus.MARRIED),
        Member(wife, Sex.FEMALE, RelationToHead.SPOUSE, ResidenceRelation.FAMILY, MaritalStatus.MARRIED),
    ]


def make_family(rng: random.Random, kind: str) -> Family:
    """The members of one household (or one group of tenants) of ``kind``."""
    owner = ResidenceRelation.OWNER
    if kind == "elderly_alone":
        sex = Sex.FEMALE if rng.random() < 0.65 else Sex.MALE
        marital = _weighted(
            rng,
            (
                (MaritalStatus.WIDOWED, 75),
                (MaritalStatus.DIVORCED, 10),
                (MaritalStatus.SINGLE, 5),
                (MaritalStatus.MARRIED, 10),
            ),
        )
        return Family(kind, [Member(sample_age(rng, 60, 99), sex, relation=owner, marital=marital)])
    if kind == "elderly_couple":
        return Family(kind, _couple(rng, 62, 94))
    if kind == "single":
        age = sample_age(rng, 20, 59)
        marital = MaritalStatus.SINGLE if age < 35 or rng.random() < 0.4 else MaritalStatus.DIVORCED
        return Family(
            kind, [Member(age, rng.choice((Sex.MALE, Sex.FEMALE)), relation=owner, marital=marital)]
        )
    if kind == "couple":
        return Family(kind, _couple(rng, 23, 59))
    if kind == "nuclear":
        members = _couple(rng, 26, 58)
        members += _children(rng, members[1].age, _weighted(rng, ((1, 50), (2, 42), (3, 8))))
        return Family(kind, members)
    if kind == "single_parent":
        sex = Sex.FEMALE if rng.random() < 0.75 else Sex.MALE
        age = sample_age(rng, 28, 55)
        marital = MaritalStatus.DIVORCED if rng.random() < 0.8 else MaritalStatus.WIDOWED
        members = [Member(age, sex, relation=owner, marital=marital)]
        return Family(kind, members + _children(rng, age, rng.choice((1, 1, 2))))
    if kind == "three_generations":
        members = _couple(rng, 28, 52)
        members += _children(rng, members[1].age, _weighted(rng, ((1, 55), (2, 40), (3, 5))))
        grandpa = min(MAX_AGE, members[0].age + rng.randint(22, 34))
        elders = [Member(grandpa, Sex.MALE, RelationToHead.PARENT, marital=MaritalStatus.MARRIED)]
        elders.append(Member(max(45, grandpa - rng.randint(0, 5)), Sex.FEMALE, RelationToHead.PARENT))
        if rng.random() < 0.45:  # one grandparent left
            elders = [rng.choice(elders)]
            elders[0].marital = MaritalStatus.WIDOWED
        else:
            elders[1].marital = MaritalStatus.MARRIED
        if rng.random() < 0.3:  # the wife's parents
            for elder in elders:
                elder.relation_to_head = RelationToHead.PARENT_IN_LAW
        return Family(kind, members + elders)
    if kind == "skipped_generation":  # grandparents raising grandchildren while the parents work away
        members = (
            _couple(rng, 52, 78)
            if rng.random() < 0.7
            else [Member(sample_age(rng, 55, 80), Sex.FEMALE, relation=owner, marital=MaritalStatus.WIDOWED)]
        )
        for _ in range(rng.choice((1, 1, 2))):
            members.append(
                Member(sample_age(rng, 2, 15), rng.choice((Sex.MALE, Sex.FEMALE)), RelationToHead.GRANDCHILD)
            )
        return Family(kind, members)
    tenant = ResidenceRelation.TENANT
    if kind in ("tenant_single", "tenant_rooms"):
        # Flat shares; a village floor of rooms holds more unrelated tenants.
        count = rng.choice((1, 1, 1, 2, 3)) if kind == "tenant_single" else rng.randint(2, 5)
        return Family(
            kind,
            [
                Member(
                    sample_age(rng, 18, 40),
                    rng.choice((Sex.MALE, Sex.FEMALE)),
                    relation=tenant,
                    marital=MaritalStatus.SINGLE,
                )
                for _ in range(count)
            ],
            tenants=True,
        )
    if kind == "tenant_couple":
        return Family(kind, _couple(rng, 22, 42, tenant), tenants=True)
    if kind == "tenant_family":
        members = _couple(rng, 26, 45, tenant)
        members += _children(rng, members[1].age, rng.choice((1, 1, 2)))
        for m in members[2:]:
            m.age = min(m.age, 14)
        return Family(kind, members, tenants=True)
    raise ValueError(kind)


# --- The run ------------------------------------------------------------------------------------


@dataclass
class RegistrySummary:
    """What one run created (``communities_skipped``: already filled before)."""

    communities: int = 0
    communities_skipped: int = 0
    grids_created: int = 0
    roads: int = 0
    buildings: int = 0
    houses: int = 0
    people: int = 0
    households: int = 0
    organizations: int = 0
    key_places: int = 0
    tags: int = 0
    restricted_tags: int = 0
    timeline_entries: int = 0
    moved_out: int = 0
    deceased: int = 0
    moves: int = 0
    visits: int = 0
    seconds: float = 0.0
    # Seconds per phase (generating, preparing rows per table, writing them), for benchmarks.
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, other: RegistrySummary) -> None:
        for f in fields(self):
            if f.name == "timings":
                for key, value in other.timings.items():
                    self.timings[key] = self.timings.get(key, 0.0) + value
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def line(self) -> str:
        if not self.communities and self.communities_skipped:
            return f"Registry: already present in {self.communities_skipped} communities, nothing added."
        return (
            f"Registry: {self.people:,} people, {self.households:,} households, {self.houses:,} houses in "
            f"{self.buildings:,} buildings, {self.organizations:,} organizations, {self.key_places:,} key "
            f"places, {self.tags:,} tags ({self.restricted_tags} restricted), {self.visits} visits, "
            f"{self.moved_out} moved out, {self.deceased} deceased, in {self.communities} communities "
            f"({self.seconds:.1f} s)."
        )


@dataclass
class Plan:
    """How many people each community gets."""

    community: Region
    people: int
    index: int  # position in the run; fixes the community's random stream and ID partition


def plan(size: float, *, street: str = STREET, county: str = COUNTY, seed: int = 2026) -> list[Plan]:
    """People per community: the demo street first (up to ``DEMO_STREET_MAX_SIZE``), then the
    county's other streets, each community weighted by a stable random factor."""
    total = round(PEOPLE_PER_SIZE * size)
    in_street = round(PEOPLE_PER_SIZE * min(size, DEMO_STREET_MAX_SIZE))
    communities = list(
        Region.objects.filter(code__startswith=county, level=RegionLevel.COMMUNITY).order_by("code")
    )
    home = [c for c in communities if c.code.startswith(street)]
    others = [c for c in communities if not c.code.startswith(street)]
    plans: list[Plan] = []

    def spread(group: list[Region], people: int) -> None:
        if not group or people <= 0:
            return
        weights = [
            random.Random(f"{seed}:{c.code}").uniform(0.6, 1.4)
            * (0.8 if c.kind == RegionKind.VILLAGE else 1.0)
            for c in group
        ]
        scale = people / sum(weights)
        counts = [int(w * scale) for w in weights]
        for i in range(people - sum(counts)):  # rounding leftovers
            counts[i % len(counts)] += 1
        for community, count in zip(group, counts, strict=True):
            plans.append(Plan(community, count, len(plans)))

    spread(home, in_street)
    spread(others, total - in_street)
    return plans


def generate_registry(
    *,
    size: float = 1,
    seed: int = 2026,
    street: str = STREET,
    county: str = COUNTY,
    workers: int = 1,
    story: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RegistrySummary:
    """Fill the communities of ``plan(size)`` that have no people yet (see the module docstring).
    ``workers`` > 1 generates communities in parallel processes (PostgreSQL only)."""
    started = time.perf_counter()
    summary = RegistrySummary()
    plans = plan(size, street=street, county=county, seed=seed)
    filled = set(
        Person.objects.filter(region_code__startswith=county).values_list("region_code", flat=True).distinct()
    )
    filled_communities = {code[:12] for code in filled}
    todo = [p for p in plans if p.community.code not in filled_communities and p.people > 0]
    summary.communities_skipped = len(plans) - len(todo)
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary
    check_existing = Person.objects.exists()
    if workers > 1 and connection.vendor == "postgresql" and len(todo) > 1 and not connection.in_atomic_block:
        connections.close_all()  # children open their own connections
        workers = min(workers, ID_PARTITIONS)
        # Each worker owns whole ID partitions, so no two workers can draw the same ID number.
        parts = [
            (
                seed,
                check_existing,
                [(p.community.pk, p.people, p.index) for p in todo if _partition(p) % workers == k],
            )
            for k in range(workers)
        ]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part in pool.starmap(_run_part, parts):
                summary.add(part)
    else:
        generator = Generator(seed=seed, check_existing=check_existing, progress=progress)
        for p in todo:
            summary.add(generator.community(p))
        summary.timings = generator.timings
    analyze_tables()
    if story and any(p.community.code == COMMUNITY_A for p in todo):
        summary.add(tell_story(seed=seed, street=street))
    summary.seconds = time.perf_counter() - started
    return summary


LOADED_TABLES = (
    Person, Residence, Household, HouseholdMember, PersonTag, TimelineEntry, House, Unit, Building, Road,
    Organization, KeyPlace,
)  # fmt: skip


def analyze_tables(models_: Iterable[type[models.Model]] = LOADED_TABLES) -> None:
    """Refresh the planner's statistics after a bulk load: a query planned on the statistics of
    an empty table can take seconds instead of milliseconds (autovacuum catches up later)."""
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _run_part(seed: int, check_existing: bool, work: list[tuple[int, int, int]]) -> RegistrySummary:
    """One worker process's share of the communities: (community id, people, plan index)."""
    summary = RegistrySummary()
    generator = Generator(seed=seed, check_existing=check_existing)
    regions = Region.objects.in_bulk([pk for pk, _, _ in work])
    for pk, count, index in work:
        summary.add(generator.community(Plan(regions[pk], count, index)))
    summary.timings = generator.timings
    connections.close_all()
    return summary


# ID partitions: communities in different partitions never draw the same sequence number (50 of
# the 500 per birth county, date and sex each), so parallel workers, each owning whole partitions,
# cannot produce the same ID number, and one process produces the same data as several.
ID_PARTITIONS = 10


def _partition(p: Plan) -> int:
    return p.index % ID_PARTITIONS


@dataclass(slots=True)
class _Home:
    """A person's link to a house (a ``Residence`` row to be)."""

    person: Person
    house: House
    relation: str
    start: dt.date
    lives_here: bool = True
    end: dt.date | None = None


@dataclass(slots=True)
class _Household:
    number: str
    house: House
    start: dt.date
    head: Person | None = None
    members: list[tuple[Person, str, _Home]] = field(default_factory=list)
    pk: int | None = None


@dataclass(slots=True)
class _Tag:
    person: Person
    category: TagCategory
    source: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    subtype: str = ""
    grade: str = ""
    verified_by: User | None = None


@dataclass(slots=True)
class _Resident:
    """A generated person with the facts the tag and story steps need."""

    person: Person
    age: int
    family: str
    relation_to_head: str
    tenant: bool
    home: _Home
    household: _Household | None = None
    departed: str = ""  # PersonStatus of someone who left before the load


class Generator:
    """Generates one community at a time; holds the state shared between communities."""

    def __init__(
        self, *, seed: int = 2026, check_existing: bool = True, progress: Callable[[str], None] | None = None
    ) -> None:
        self.seed = seed
        self.progress = progress
        # Seconds spent per phase (generating, preparing rows, writing them), for the benchmark.
        self.timings: dict[str, float] = {}
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.used_ids: set[str] = set()
        self.used_uscc: set[str] = set(Organization.objects.exclude(uscc="").values_list("uscc", flat=True))
        # ID numbers already in the database (a resumed run), by blind index.
        self.existing_index: set[str] | None = None
        if check_existing and Person.objects.exists():
            self.existing_index = set(Person.objects.values_list("id_number_index", flat=True))
        self.names: dict[str, str] = {}
        hunan = dict(
            Region.objects.filter(code__startswith="43", level=RegionLevel.COUNTY).values_list("code", "name")
        )
        cities = dict(
            Region.objects.filter(code__startswith="43", level=RegionLevel.CITY).values_list("code", "name")
        )
        self.hunan_counties = sorted(hunan)
        self.county_place = {c: "湖南省" + cities.get(c[:4], "") + n for c, n in hunan.items()}
        self.county_place.update(OTHER_PROVINCE_COUNTIES)
        self.categories = {c.code: c for c in TagCategory.objects.all()}
        self.verifiers: dict[str, User] = {}
        for username, code in (("worker_a", COMMUNITY_A), ("head_b", "430104002003")):
            user = User.objects.filter(username=username).first()
            if user is not None:
                self.verifiers[code] = user

    def clock(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - since
        return now

    def id_number(self, rng: random.Random, county: str, birth: dt.date, sex: str, partition: int) -> str:
        """A unique, valid ID number: birth county, birth date, a sequence number whose parity is
        the sex (odd: male), the check character."""
        head = f"{county}{birth:%Y%m%d}"
        for _ in range(200):
            pair = rng.randrange(500 // ID_PARTITIONS) * ID_PARTITIONS + partition
            first17 = f"{head}{pair * 2 + (1 if sex == Sex.MALE else 0):03d}"
            if first17 in self.used_ids:
                continue
            number = first17 + id_check_char(first17)
            if (
                self.existing_index is not None
                and crypto.blind_index(number, "id_number") in self.existing_index
            ):
                continue
            self.used_ids.add(first17)
            return number
        raise RuntimeError(f"no free ID sequence number for {head}")

    def community(self, p: Plan) -> RegistrySummary:
        started = time.perf_counter()
        # Grids first, in their own transactions: their audit entries must not hold the audit
        # chain's lock during the long community transaction (parallel workers would queue).
        grids, created = _grids(p.community, p.people)
        with transaction.atomic():
            builder = CommunityBuilder(self, p, grids)
            builder.build()
            summary = builder.write()
        summary.grids_created = created
        summary.seconds = time.perf_counter() - started
        if self.progress:
            self.progress(f"{p.community.code} {p.community.name}: {summary.people} people")
        return summary


def _grids(community: Region, people: int) -> tuple[list[Region], int]:
    """The community's grids, created when it has none (one per ``PEOPLE_PER_GRID`` people)."""
    grids = list(Region.objects.filter(parent=community, level=RegionLevel.GRID).order_by("code"))
    created = 0
    if not grids:
        for n in range(1, max(1, math.ceil(people / PEOPLE_PER_GRID)) + 1):
            grids.append(grid_create(actor=None, community=community, number=n, name=f"第{n}网格"))
            created += 1
    return grids, created


class CommunityBuilder:
    """Builds one community's registry in memory, then writes it table by table."""

    def __init__(self, gen: Generator, p: Plan, grids: list[Region]) -> None:
        self.gen = gen
        self.community = p.community
        self.quota = p.people
        self.partition = _partition(p)
        self.rng = random.Random(f"{gen.seed}:{p.community.code}")
        self.village = p.community.kind == RegionKind.VILLAGE
        self.grids = grids
        self.prefix = addresses.region_prefix(p.community.code, gen.names)
        self.roads: list[Road] = []
        self.buildings: list[Building] = []
        self.units: list[Unit] = []
        self.houses: list[House] = []
        self.residents: list[_Resident] = []
        self.homes: list[_Home] = []
        self.households: list[_Household] = []
        self.tags: list[_Tag] = []
        self.organizations: list[Organization] = []
        self.key_places: list[KeyPlace] = []
        self.let_houses: list[House] = []
        self.people_count = 0
        self.moved_out = self.died = 0
        jitter = random.Random(p.community.code)
        self.center = (28.18 + jitter.uniform(-0.08, 0.08), 112.94 + jitter.uniform(-0.1, 0.06))

    # --- places ---

    def grid_for(self) -> Region:
        """Grids take consecutive buildings: the share of the quota filled so far picks the grid."""
        n = len(self.grids)
        return self.grids[min(n - 1, self.people_count * n // max(1, self.quota))]

    def point(self) -> tuple[Decimal, Decimal]:
        lat = self.center[0] + self.rng.uniform(-0.006, 0.006)
        lon = self.center[1] + self.rng.uniform(-0.006, 0.006)
        return Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")

    def building(
        self,
        *,
        road: Road | None,
        door: str,
        estate: str,
        number: str,
        floors: int,
        kind: str = BuildingType.RESIDENTIAL,
    ) -> Building:
        grid = self.grid_for()
        lat, lon = self.point()
        b = Building(
            region=grid,
            region_code=grid.code,
            road=road,
            door_number=door,
            estate=estate,
            number=number,
            type=kind,
            floors=floors,
            latitude=lat,
            longitude=lon,
            address=addresses.compose(
                region_part=self.prefix,
                road=road.name if road else "",
                door_number=door,
                estate=estate,
                building=number,
            ),
        )
        self.buildings.append(b)
        return b

    def house(
        self,
        b: Building,
        unit: Unit | None,
        number: str,
        floor: int,
        area: float,
        use: str,
        property_type: str,
    ) -> House:
        h = House(
            region=b.region,
            region_code=b.region_code,
            building=b,
            unit=unit,
            floor=floor,
            number=number,
            area=Decimal(f"{area:.2f}"),
            use=use,
            property_type=property_type,
            address=addresses.compose(
                region_part=self.prefix,
                road=b.road.name if b.road else "",
                door_number=b.door_number,
                estate=b.estate,
                building=b.number,
                unit=unit.number if unit else "",
                house=number,
            ),
        )
        self.houses.append(h)
        return h

    def build(self) -> None:
        started = time.perf_counter()
        self.roads = [
            Road(region=self.community, region_code=self.community.code, name=name)
            for name in self.rng.sample(ROAD_NAMES, 4)
        ]
        bulk_insert(Road, self.roads)  # buildings refer to saved roads
        if self.village:
            self.build_village()
        else:
            self.build_estates()
        self.build_shops()
        self.departures()
        self.assign_tags()
        self.gen.clock("generate", started)

    def build_estates(self) -> None:
        rng = self.rng
        door = rng.randrange(10, 60) * 2
        estate_no = 0
        while self.people_count < self.quota:
            road = rng.choice(self.roads)
            door += rng.randrange(2, 40) * 2
            if estate_no == 0 and rng.random() < 0.5 and self.community.code.startswith(STREET):
                estate = rng.choice(UNIVERSITY_DORMS)
            else:
                estate = rng.choice(ESTATE_HEADS) + rng.choice(ESTATE_TAILS)
            estate_no += 1
            style = _weighted(rng, (("walk_up", 45), ("mid_rise", 30), ("high_rise", 25)))
            for number in range(1, rng.randint(4, 18) + 1):
                if self.people_count >= self.quota:
                    break
                # The last buildings shrink to what the quota still needs; none outgrows a grid.
                wanted = min(self.quota - self.people_count, self.quota / len(self.grids))
                remaining_flats = max(8, int(wanted / 2.4))
                if style == "walk_up" or remaining_flats < 40:
                    floors, units, per_floor = rng.choice((6, 7)), rng.randint(2, 3), 2
                elif style == "mid_rise":
                    floors, units, per_floor = rng.choice((11, 16, 18)), 2, rng.choice((2, 3))
                else:
                    floors, units, per_floor = rng.choice((26, 30, 33)), rng.choice((1, 2)), 4
                while floors * units * per_floor > remaining_flats and floors > 3:
                    floors -= 1
                b = self.building(road=road, door=str(door), estate=estate, number=str(number), floors=floors)
                old = style == "walk_up"
                for u in range(1, units + 1):
                    unit = Unit(building=b, number=str(u), region_code=b.region_code)
                    self.units.append(unit)
                    for floor in range(1, floors + 1):
                        for k in range(1, per_floor + 1):
                            area = rng.uniform(48, 95) if old else rng.uniform(70, 145)
                            ptype = _weighted(
                                rng,
                                (
                                    (PropertyType.COMMODITY, 80),
                                    (PropertyType.PUBLIC_RENTAL, 8),
                                    (PropertyType.AFFORDABLE, 7),
                                    (PropertyType.COLLECTIVE, 5),
                                ),
                            )
                            house = self.house(
                                b, unit, f"{floor}{k:02d}", floor, area, self.flat_use(), ptype
                            )
                            self.occupy(house)

    def flat_use(self) -> str:
        if self.people_count >= self.quota:
            return HouseUse.VACANT
        return _weighted(
            self.rng, ((HouseUse.OWNER_OCCUPIED, 77), (HouseUse.RENTED, 15), (HouseUse.VACANT, 8))
        )

    def build_village(self) -> None:
        rng = self.rng
        group = 0
        while self.people_count < self.quota:
            group += 1
            estate = f"{self.community.name}{_CHINESE_NUMBERS[min(group, 20)]}组"
            for door in range(1, rng.randint(25, 60) + 1):
                if self.people_count >= self.quota:
                    break
                floors = rng.randint(2, 5)
                b = self.building(
                    road=None,
                    door=str(door),
                    estate=estate,
                    number="",
                    floors=floors,
                    kind=BuildingType.RURAL_SELF_BUILT,
                )
                home = self.house(
                    b, None, "1楼", 1, rng.uniform(90, 200), HouseUse.OWNER_OCCUPIED, PropertyType.SELF_BUILT
                )
                self.occupy(home)
                # Upper floors let to students and workers (出租屋): a floor of rooms per house.
                if floors >= 3 and rng.random() < 0.5:
                    for floor in range(3, floors + 1):
                        let = self.people_count < self.quota and rng.random() < 0.85
                        use = HouseUse.RENTED if let else HouseUse.VACANT
                        area = rng.uniform(60, 110)
                        room = self.house(b, None, f"{floor}楼", floor, area, use, PropertyType.SELF_BUILT)
                        self.occupy(room, room=True)

    def build_shops(self) -> None:
        """A row of street shops (沿街商铺) with their businesses, a few companies, key places."""
        rng = self.rng
        count = max(3, round(self.quota / 100))
        b = self.building(
            road=self.roads[0],
            door=str(rng.randrange(1, 30) * 2 + 1),
            estate="",
            number="商铺",
            floors=2,
            kind=BuildingType.COMMERCIAL,
        )
        shops = [
            self.house(
                b, None, f"1{k:02d}", 1, rng.uniform(20, 120), HouseUse.BUSINESS, PropertyType.COMMODITY
            )
            for k in range(1, count + 1)
        ]
        for shop in shops:
            kind, industry = rng.choice(SHOP_KINDS)
            self.organization(
                {
                    "name": f"长沙市岳麓区{rng.choice(SHOP_WORDS)}{kind}",
                    "uscc": self.uscc("92"),
                    "type": OrganizationType.INDIVIDUAL_BUSINESS,
                    "legal_representative": surname(rng)
                    + given_name(rng, rng.choice(("male", "female")), 1980),
                    "contact_phone": mobile(rng),
                    "staff_count": rng.randint(1, 6),
                    "industry": industry,
                },
                b.region,
                house=shop,
            )
        for _ in range(max(1, count // 4)):
            kind, industry = rng.choice(COMPANY_KINDS)
            city = "湖南" if rng.random() < 0.5 else "长沙"
            self.organization(
                {
                    "name": f"{city}{rng.choice(COMPANY_WORDS)}{kind}",
                    "uscc": self.uscc("91"),
                    "type": OrganizationType.ENTERPRISE,
                    "legal_representative": surname(rng) + given_name(rng, "male", 1975),
                    "contact_name": surname(rng) + given_name(rng, "female", 1990),
                    "contact_phone": landline(rng),
                    "staff_count": rng.randint(5, 200),
                    "industry": industry,
                },
                b.region,
                house=rng.choice(shops),
            )
        self.build_key_places()

    def build_key_places(self) -> None:
        rng = self.rng
        short = self.community.name.removesuffix("社区").removesuffix("村")
        places: list[tuple[str, str, str, str]] = []  # kind, name, registrar, organization type
        if self.village:
            places.append((KeyPlaceKind.RENTAL_CLUSTER, f"{self.community.name}出租屋集中区", "", ""))
            if rng.random() < 0.5:
                places.append(
                    (
                        KeyPlaceKind.CONSTRUCTION_SITE,
                        f"{short}安置房项目工地",
                        "91",
                        OrganizationType.ENTERPRISE,
                    )
                )
        else:
            places.append(
                (KeyPlaceKind.MARKET, f"{short}农贸市场", "92", OrganizationType.INDIVIDUAL_BUSINESS)
            )
            if rng.random() < 0.5:
                places.append(
                    (
                        KeyPlaceKind.SCHOOL,
                        f"长沙市岳麓区{short}小学",
                        "12",
                        OrganizationType.PUBLIC_INSTITUTION,
                    )
                )
            else:
                places.append(
                    (
                        KeyPlaceKind.KINDERGARTEN,
                        f"岳麓区{short}幼儿园",
                        "12",
                        OrganizationType.PUBLIC_INSTITUTION,
                    )
                )
            for chance, kind, template, registrar, org_type in OPTIONAL_PLACES:
                if rng.random() < chance:
                    name = template.format(short=short, word=rng.choice(SHOP_WORDS))
                    places.append((kind, name, registrar, org_type))
        for kind, name, registrar, org_type in places:
            site = self.building(
                road=rng.choice(self.roads),
                door=str(rng.randrange(1, 300)),
                estate="",
                number="",
                floors=rng.randint(1, 5),
                kind=BuildingType.PUBLIC if registrar in ("12", "52", "") else BuildingType.COMMERCIAL,
            )
            org = None
            if registrar:
                org = self.organization(
                    {
                        "name": name,
                        "uscc": self.uscc(registrar),
                        "type": org_type,
                        "legal_representative": surname(rng) + given_name(rng, "male", 1970),
                        "contact_phone": landline(rng),
                        "staff_count": rng.randint(3, 120),
                    },
                    site.region,
                    building=site,
                )
            data = services.clean_key_place_data(
                {
                    "name": name,
                    "kind": kind,
                    "risk_level": _weighted(
                        rng, ((RiskLevel.LOW, 50), (RiskLevel.MEDIUM, 40), (RiskLevel.HIGH, 10))
                    ),
                    "risk_notes": RISK_NOTES.get(kind, ""),
                }
            )
            data.update(
                region=site.region,
                region_code=site.region_code,
                building=site,
                organization=org,
                address=site.address,
            )
            self.key_places.append(KeyPlace(**data))

    def uscc(self, registrar: str) -> str:
        """A credit code not used before (the partition digit keeps parallel workers apart)."""
        for _ in range(100):
            code = make_uscc(self.rng, registrar, partition=self.partition)
            if code not in self.gen.used_uscc:
                self.gen.used_uscc.add(code)
                return code
        raise RuntimeError("no free credit code")

    def organization(
        self,
        data: dict[str, Any],
        region: Region,
        *,
        house: House | None = None,
        building: Building | None = None,
    ) -> Organization:
        cleaned = services.clean_organization_data(data)
        site = house or building
        cleaned.update(
            region=region,
            region_code=region.code,
            house=house,
            building=house.building if house else building,
            address=site.address if site else "",
        )
        org = Organization(**cleaned)
        self.organizations.append(org)
        return org

    # --- people ---

    def occupy(self, house: House, *, room: bool = False) -> None:
        """Put one household (owner-occupied) or one group of tenants (rented) in a house."""
        rng = self.rng
        if house.use == HouseUse.OWNER_OCCUPIED:
            kinds = OWNER_FAMILIES_VILLAGE if self.village else OWNER_FAMILIES_URBAN
            self.family(house, make_family(rng, _weighted(rng, kinds)))
        elif house.use == HouseUse.RENTED:
            self.family(house, make_family(rng, "tenant_rooms" if room else _weighted(rng, TENANT_GROUPS)))
        if house.use in (HouseUse.RENTED, HouseUse.VACANT) and not room and rng.random() < 0.5:
            self.let_houses.append(house)  # its owner lives elsewhere in the community (see write)

    def family(self, house: House, fam: Family) -> None:
        rng, gen = self.rng, self.gen
        family_name = surname(rng)
        if fam.tenants:
            residence_type = ResidenceType.FLOATING if rng.random() < 0.7 else ResidenceType.RESIDENT
        else:
            residence_type = ResidenceType.REGISTERED if rng.random() < 0.85 else ResidenceType.RESIDENT
        birth_county = self.birth_county(residence_type)
        moved_in = gen.today - dt.timedelta(days=rng.randrange(30, 365 * (3 if fam.tenants else 25)))
        foreigner = fam.kind == "tenant_single" and not self.village and rng.random() < 0.02
        household: _Household | None = None
        if not fam.tenants:
            household = _Household(
                number=f"{self.community.code[6:]}{len(self.households) + 1:05d}", house=house, start=moved_in
            )
            self.households.append(household)
        for i, m in enumerate(fam.members):
            birth = birth_date_for(rng, m.age, gen.today)
            if fam.kind in ("tenant_single", "tenant_rooms") and i:
                family_name = surname(rng)  # flatmates are not related
                birth_county = self.birth_county(residence_type)
            # Children take the head's surname; spouses and in-laws keep their own.
            kin = m.relation_to_head in (
                RelationToHead.HEAD,
                RelationToHead.CHILD,
                RelationToHead.GRANDCHILD,
            ) or (m.relation_to_head == RelationToHead.PARENT and m.sex == Sex.MALE)
            if foreigner and i == 0:
                data = self.foreigner_data(birth)
            else:
                data = self.person_data(m, birth, birth_county, residence_type)
                data["name"] = (family_name if kin else surname(rng)) + given_name(rng, m.sex, birth.year)
            t0 = time.perf_counter()
            cleaned = services.clean_person_data(data)
            t1 = gen.clock("clean_person_data", t0)
            person = services.person_build(cleaned, region=house.region, house=house)
            person.created_at = person.updated_at = gen.now  # the load's time, like an import's
            gen.clock("person_build", t1)
            home = _Home(person, house, m.relation, max(moved_in, birth))
            self.homes.append(home)
            self.residents.append(
                _Resident(person, m.age, fam.kind, m.relation_to_head, fam.tenants, home, household)
            )
            if household is not None:
                if m.relation_to_head == RelationToHead.HEAD:
                    household.head = person
                household.members.append((person, m.relation_to_head, home))
            self.people_count += 1

    def birth_county(self, residence_type: str) -> str:
        rng, counties = self.rng, self.gen.hunan_counties
        if residence_type == ResidenceType.REGISTERED:
            if rng.random() < 0.55:
                return COUNTY
            return rng.choice(CHANGSHA_COUNTIES) if rng.random() < 0.5 else rng.choice(counties)
        if residence_type == ResidenceType.RESIDENT:
            return rng.choice(CHANGSHA_COUNTIES) if rng.random() < 0.5 else rng.choice(counties)
        return rng.choice(counties) if rng.random() < 0.55 else rng.choice(OTHER_PROVINCE_COUNTIES)[0]

    def person_data(self, m: Member, birth: dt.date, county: str, residence_type: str) -> dict[str, Any]:
        rng = self.rng
        age = m.age
        phone = ""
        if age >= 12 and rng.random() < (0.5 if age < 18 else 0.45 if age >= 80 else 0.96):
            phone = mobile(rng)
        if residence_type == ResidenceType.REGISTERED:
            hukou, hukou_code = self.prefix, self.community.code
        else:
            hukou, hukou_code = self.gen.county_place.get(county, ""), county
        work_unit, occupation, education = "", "", ""
        if 6 <= age < 19:
            education = Education.PRIMARY if age < 12 else Education.JUNIOR if age < 15 else Education.SENIOR
            occupation = "学生"
        elif age >= 19:
            education = _weighted(
                rng,
                EDUCATION_BEFORE_1960
                if birth.year < 1960
                else EDUCATION_BEFORE_1980
                if birth.year < 1980
                else EDUCATION_SINCE_1980,
            )
            if age >= 60:
                occupation = "退休"
            elif age < 23 and rng.random() < 0.6:
                occupation = "学生"
            elif rng.random() < 0.85:
                work_unit, occupation = rng.choice(WORK)
        if age < 14:
            political = ""
        elif age < 28 and rng.random() < 0.35:
            political = PoliticalStatus.LEAGUE_MEMBER
        elif age >= 18 and rng.random() < (0.12 if age >= 60 else 0.07):
            political = PoliticalStatus.PARTY_MEMBER
        elif age >= 25 and rng.random() < 0.004:
            political = PoliticalStatus.DEMOCRATIC_PARTY
        else:
            political = PoliticalStatus.MASSES
        return {
            "id_number": self.gen.id_number(rng, county, birth, m.sex, self.partition),
            "phone": phone,
            "ethnicity": _weighted(rng, ETHNIC_MIX),
            "residence_type": residence_type,
            "hukou_address": hukou,
            "hukou_region_code": hukou_code,
            "work_unit": work_unit,
            "occupation": occupation,
            "education": education,
            "marital_status": (m.marital or MaritalStatus.SINGLE) if age >= 16 else "",
            "political_status": political,
        }

    def foreigner_data(self, birth: dt.date) -> dict[str, Any]:
        """A foreign student or teacher with a passport: birth date and sex given, not derived."""
        rng = self.rng
        name, nationality, sex = rng.choice(FOREIGNERS)
        return {
            "name": name,
            "id_type": IdType.PASSPORT,
            "id_number": f"{nationality[0]}{rng.randrange(10**8):08d}",
            "birth_date": birth,
            "sex": sex,
            "nationality": nationality,
            "residence_type": ResidenceType.FOREIGN,
            "phone": mobile(rng),
            "occupation": rng.choice(("留学生", "外籍教师")),
            "work_unit": rng.choice(("湖南大学", "中南大学", "湖南师范大学")),
        }

    # --- departures in the past, tags ---

    def departures(self) -> None:
        """Some grown children moved out of the area and some grandparents died before the load:
        their records stay with the community, their home and membership ended."""
        rng, today = self.rng, self.gen.today
        for r in self.residents:
            if r.tenant or r.relation_to_head == RelationToHead.HEAD:
                continue
            if r.relation_to_head == RelationToHead.CHILD and 18 <= r.age <= 35 and rng.random() < 0.025:
                r.departed = PersonStatus.MOVED_OUT
                self.moved_out += 1
            elif (
                r.relation_to_head in (RelationToHead.PARENT, RelationToHead.PARENT_IN_LAW)
                and r.age >= 75
                and rng.random() < 0.04
            ):
                r.departed = PersonStatus.DECEASED
                self.died += 1
            else:
                continue
            day = max(r.home.start, today - dt.timedelta(days=rng.randrange(20, 700)))
            r.person.status, r.person.status_date, r.person.house = r.departed, day, None
            r.home.end = day

    def tag(self, r: _Resident, code: str, *, source: str = "", **extra: Any) -> None:
        rng = self.rng
        start = max(r.home.start, self.gen.today - dt.timedelta(days=rng.randrange(10, 2000)))
        verifier = self.gen.verifiers.get(self.community.code)
        self.tags.append(
            _Tag(
                r.person,
                self.gen.categories[code],
                source or _weighted(rng, TAG_SOURCES),
                start,
                verified_by=verifier if verifier is not None and rng.random() < 0.7 else None,
                **extra,
            )
        )

    def assign_tags(self) -> None:
        """Care tags at rates close to Hunan's statistics; the age groups (60+, 80+) come from the
        birth date and need no tag. A few restricted and secret tags."""
        rng = self.rng
        department = TagSource.DEPARTMENT
        # Dibao is granted to households: this share of them, rounded at random.
        share = len(self.households) * (0.02 if self.village else 0.012)
        chosen = rng.sample(self.households, min(len(self.households), int(share + rng.random())))
        low_income = {id(h) for h in chosen}
        for r in self.residents:
            if r.departed:
                continue
            age, sex, chance = r.age, r.person.sex, rng.random
            if r.family == "elderly_alone" and age >= 60:
                self.tag(r, "living_alone")
                if chance() < (0.12 if self.village else 0.03):
                    self.tag(r, "extreme_poverty", source=department)
            if r.family == "elderly_couple" and age >= 60:
                self.tag(r, "empty_nest")
            if age >= 60 and chance() < (0.12 if age >= 80 else 0.03):
                self.tag(r, "disabled_elderly")
            if chance() < (0.012 if age < 18 else 0.02 if age < 60 else 0.05):
                kind = rng.choice(DISABILITY_TYPES)
                self.tag(r, "disabled", source=department, subtype=kind, grade=str(rng.randint(1, 4)))
            if (
                r.family == "skipped_generation"
                and r.relation_to_head == RelationToHead.GRANDCHILD
                and age < 16
            ):
                self.tag(r, "left_behind_child")
            if age < 18 and chance() < 0.003:
                self.tag(r, "child_in_difficulty", source=department)
            if r.household is not None and id(r.household) in low_income:
                self.tag(r, "low_income", source=department)
            if sex == Sex.MALE and age >= 35 and chance() < 0.05:
                self.tag(r, "veteran", source=department)
            if 25 <= age <= 55 and not r.person.work_unit and chance() < 0.1:
                self.tag(r, "unemployed", source=TagSource.APPLICATION)
            if sex == Sex.FEMALE and 22 <= age <= 38 and chance() < 0.025:
                self.tag(r, "pregnant", valid_to=self.gen.today + dt.timedelta(days=rng.randrange(30, 300)))
            # Restricted special groups and the secret one: rare.
            if 18 <= age <= 60 and chance() < 0.0004:
                self.tag(r, "community_correction", source=department)
            if 25 <= age <= 70 and chance() < (0.001 if sex == Sex.MALE else 0.0002):
                self.tag(r, "released_prisoner", source=department)
            if 20 <= age <= 55 and chance() < 0.0004:
                self.tag(r, "drug_user", source=department)
            if 14 <= age <= 25 and chance() < 0.0015:
                self.tag(r, "key_youth")
            if age >= 18 and chance() < 0.0015:
                self.tag(r, "severe_mental_disorder", source=department)

    # --- writing ---

    def write(self) -> RegistrySummary:
        gen, rng, timings = self.gen, self.rng, self.gen.timings
        # Landlords: owners of let and vacant flats who live in another house of the community.
        owners = [
            r
            for r in self.residents
            if not r.tenant
            and not r.departed
            and r.age >= 30
            and r.relation_to_head in (RelationToHead.HEAD, RelationToHead.SPOUSE)
        ]
        for house in self.let_houses if owners else ():
            owner = rng.choice(owners)
            since = gen.today - dt.timedelta(days=rng.randrange(200, 5000))
            self.homes.append(_Home(owner.person, house, ResidenceRelation.OWNER, since, lives_here=False))
        people = [r.person for r in self.residents]
        bulk_insert(Building, self.buildings, timings=timings)
        bulk_insert(Unit, self.units, timings=timings)
        bulk_insert(House, self.houses, timings=timings)
        bulk_insert(Person, people, timings=timings)
        insert_rows(
            Residence,
            [
                {
                    "person_id": h.person.pk,
                    "house_id": h.house.pk,
                    "relation": h.relation,
                    "lives_here": h.lives_here,
                    "start_date": h.start,
                    "end_date": h.end,
                    "region_code": h.house.region_code,
                }
                for h in self.homes
            ],
            timings=timings,
        )
        households = [h for h in self.households if h.head is not None]
        keys = insert_rows(
            Household,
            [
                {
                    "number": h.number,
                    "kind": HouseholdKind.FAMILY,
                    "head_id": h.head.pk,  # type: ignore[union-attr]
                    "house_id": h.house.pk,
                    "region_id": h.house.region_id,
                    "region_code": h.house.region_code,
                    "start_date": h.start,
                }
                for h in households
            ],
            timings=timings,
        )
        for household, key in zip(households, keys, strict=True):
            household.pk = key
        insert_rows(
            HouseholdMember,
            [
                {
                    "household_id": h.pk,
                    "person_id": person.pk,
                    "relation_to_head": relation,
                    "start_date": home.start,
                    "end_date": home.end,
                }
                for h in households
                for person, relation, home in h.members
            ],
            timings=timings,
        )
        insert_rows(
            PersonTag,
            [
                {
                    "person_id": t.person.pk,
                    "category_id": t.category.pk,
                    "region_code": t.person.region_code,
                    "source": t.source,
                    "subtype": t.subtype,
                    "grade": t.grade,
                    "valid_from": t.valid_from,
                    "valid_to": t.valid_to,
                    "verified_by_id": t.verified_by.pk if t.verified_by else None,
                    "verified_at": gen.now if t.verified_by else None,
                }
                for t in self.tags
            ],
            timings=timings,
        )
        bulk_insert(Organization, self.organizations, timings=timings)
        bulk_insert(KeyPlace, self.key_places, timings=timings)
        entries = self.timeline(households)
        insert_rows(TimelineEntry, entries, timings=timings)
        summary = RegistrySummary(
            communities=1,
            roads=len(self.roads),
            buildings=len(self.buildings),
            houses=len(self.houses),
            people=len(people),
            households=len(households),
            organizations=len(self.organizations),
            key_places=len(self.key_places),
            tags=len(self.tags),
            restricted_tags=sum(1 for t in self.tags if t.category.is_restricted),
            timeline_entries=len(entries),
            moved_out=self.moved_out,
            deceased=self.died,
        )
        # One audit entry for the whole community: a bulk load by the operator (module docstring).
        audit.record(
            "registry.demo_load",
            region_code=self.community.code,
            object_type="region",
            object_id=self.community.code,
            detail={
                f.name: getattr(summary, f.name)
                for f in fields(summary)
                if f.name not in ("seconds", "timings")
            },
        )
        return summary

    def timeline(self, households: Iterable[_Household]) -> list[dict[str, Any]]:
        """First entries of each person, household and tag, with the parameters the services use."""
        entries: list[dict[str, Any]] = []
        for r in self.residents:
            person = r.person
            base = {"object_type": "person", "object_id": person.pk, "region_code": person.region_code}
            home = r.home
            entries.append(
                base
                | {
                    "action": "person.register",
                    "params": {"address": home.house.address, "date": str(home.start)},
                }
            )
            if r.departed == PersonStatus.MOVED_OUT:
                destination = self.rng.choice(DESTINATIONS)
                entries.append(
                    base
                    | {
                        "action": "person.move_out",
                        "params": {"destination": destination, "date": str(home.end)},
                    }
                )
            elif r.departed == PersonStatus.DECEASED:
                entries.append(base | {"action": "person.death", "params": {"date": str(home.end)}})
        for h in households:
            entries.append(
                {
                    "object_type": "household",
                    "object_id": h.pk,
                    "region_code": h.house.region_code,
                    "action": "household.create",
                    "params": {"kind": HouseholdKind.FAMILY},
                }
            )
        for t in self.tags:
            entries.append(
                {
                    "object_type": "person",
                    "object_id": t.person.pk,
                    "region_code": t.person.region_code,
                    "action": "tag.add",
                    "tag_category_id": t.category.pk,
                    "params": {"source": t.source, "valid_from": str(t.valid_from)},
                }
            )
        return entries


# --- The story: changes through the services ---------------------------------------------------


def tell_story(*, seed: int = 2026, street: str = STREET) -> RegistrySummary:
    """A few real changes in the demo street, through the services (audited, with events and
    timelines): moves between grids and communities, departures, deaths, visits to care
    residents with follow-ups — some done, some overdue."""
    rng = random.Random(f"{seed}:story")
    summary = RegistrySummary()
    today = timezone.localdate()
    recent = today - dt.timedelta(days=25)  # every home in the load started at least 30 days ago
    active = Person.objects.filter(region_code__startswith=street, status=PersonStatus.ACTIVE)
    # Tenants move to another rented house, in another grid or community.
    tenants = list(
        active.filter(residences__relation=ResidenceRelation.TENANT, residences__end_date__isnull=True)
        .select_related("house")
        .order_by("pk")[:2000]
    )
    rented = list(House.objects.filter(region_code__startswith=street, use=HouseUse.RENTED).order_by("pk"))
    for person in rng.sample(tenants, min(20, len(tenants))):
        target = rng.choice(rented)
        if target.pk != person.house_id:
            on = recent + dt.timedelta(days=rng.randrange(0, 25))
            services.person_move(actor=None, person=person, house=target, on=on, reason="租期到期，换房")
            summary.moves += 1
    # Grown children leave to work elsewhere.
    born_from, born_to = today - dt.timedelta(days=35 * 365), today - dt.timedelta(days=19 * 365)
    children = list(
        active.filter(
            memberships__relation_to_head=RelationToHead.CHILD,
            memberships__end_date__isnull=True,
            birth_date__range=(born_from, born_to),
        ).order_by("pk")[:3000]
    )
    for person in rng.sample(children, min(40, len(children))):
        on = recent + dt.timedelta(days=rng.randrange(0, 25))
        services.person_move_out(
            actor=None, person=person, on=on, destination=rng.choice(DESTINATIONS), reason="外出务工"
        )
        summary.moved_out += 1
    # Deaths among the oldest.
    oldest = list(active.filter(birth_date__lte=today - dt.timedelta(days=85 * 365)).order_by("pk")[:3000])
    for person in rng.sample(oldest, min(25, len(oldest))):
        on = recent + dt.timedelta(days=rng.randrange(0, 25))
        services.person_record_death(actor=None, person=person, on=on, reason="家属告知")
        summary.deceased += 1
    summary.visits = _visits(rng, today)
    return summary


def _visits(rng: random.Random, today: dt.date) -> int:
    """Grid workers' care visits to older people of their grids: a quarter of the follow-ups are
    overdue, a quarter done, the rest due later."""
    count = 0
    for username in ("grid_a", "grid_b"):
        worker = User.objects.filter(username=username).first()
        membership = worker.memberships.filter(revoked_at__isnull=True).first() if worker else None
        if worker is None or membership is None:
            continue
        elderly = list(
            Person.objects.filter(
                region_code__startswith=membership.region_code,
                status=PersonStatus.ACTIVE,
                birth_date__lte=today - dt.timedelta(days=70 * 365),
            ).order_by("pk")[:500]
        )
        for k, person in enumerate(rng.sample(elderly, min(16, len(elderly)))):
            days_ago = rng.randrange(3, 60)
            visited = timezone.now() - dt.timedelta(days=days_ago, hours=rng.randrange(0, 8))
            visit_day = timezone.localtime(visited).date()
            if k % 4 in (0, 1):  # due already: overdue (0) or done (1)
                follow_up = visit_day + dt.timedelta(days=rng.randrange(1, days_ago))
            else:
                follow_up = today + dt.timedelta(days=rng.randrange(3, 30))
            visit = services.visit_record(
                actor=worker,
                person=person,
                visited_at=visited,
                purpose=VisitPurpose.CARE,
                notes="上门看望，了解身体和生活情况",
                findings=rng.choice(FINDINGS),
                follow_up_date=follow_up,
            )
            count += 1
            if k % 4 == 1:
                services.visit_follow_up_done(actor=worker, visit=visit)
    return count


def registry_counts(street: str = STREET) -> dict[str, int]:
    """How much of the registry exists in ``street`` (for the demo command's summary line)."""
    return {
        "people": Person.objects.filter(region_code__startswith=street, status=PersonStatus.ACTIVE).count(),
        "houses": House.objects.filter(region_code__startswith=street).count(),
        "organizations": Organization.objects.filter(region_code__startswith=street).count(),
        "key_places": KeyPlace.objects.filter(region_code__startswith=street).count(),
        "visits": Visit.objects.filter(region_code__startswith=street).count(),
    }
