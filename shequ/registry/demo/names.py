"""Census shapes and name tables, and the samplers drawing ages, names, phone numbers and
credit codes from them."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import random
from typing import Any

from shequ.core.validators import uscc_check_char
from shequ.registry.demo._common import COUNTY
from shequ.registry.models import (
    Education,
    Ethnicity,
    KeyPlaceKind,
    OrganizationType,
    TagSource,
)

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
