"""Pinyin of people's names for search: full (``zengxiaohong``) and initials (``zxh``).

pypinyin reads characters as words, which is wrong for many surnames (曾 is ``zeng`` as a
surname, not ``ceng``; 单 is ``shan``, 解 is ``xie``). The surname is therefore read from the
table below, and only the given name is left to pypinyin.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from pypinyin import Style, lazy_pinyin

# Compound surnames (复姓) whose reading pypinyin gets wrong or splits oddly; applied to names of
# three characters or more, so that a two-character name such as 欧阳 is read as written.
COMPOUND_SURNAMES: dict[str, tuple[str, ...]] = {
    "尉迟": ("yu", "chi"),
    "长孙": ("zhang", "sun"),
    "万俟": ("mo", "qi"),
    "单于": ("chan", "yu"),
    "澹台": ("tan", "tai"),
    "欧阳": ("ou", "yang"),
    "司马": ("si", "ma"),
    "上官": ("shang", "guan"),
    "诸葛": ("zhu", "ge"),
    "令狐": ("ling", "hu"),
    "皇甫": ("huang", "fu"),
    "东方": ("dong", "fang"),
    "慕容": ("mu", "rong"),
    "夏侯": ("xia", "hou"),
    "公孙": ("gong", "sun"),
    "司徒": ("si", "tu"),
    "司空": ("si", "kong"),
    "宇文": ("yu", "wen"),
    "轩辕": ("xuan", "yuan"),
    "呼延": ("hu", "yan"),
    "端木": ("duan", "mu"),
    "独孤": ("du", "gu"),
    "南宫": ("nan", "gong"),
    "西门": ("xi", "men"),
    "赫连": ("he", "lian"),
    "申屠": ("shen", "tu"),
    "公冶": ("gong", "ye"),
    "太史": ("tai", "shi"),
    "闻人": ("wen", "ren"),
    "乐正": ("yue", "zheng"),
    "仲孙": ("zhong", "sun"),
    "钟离": ("zhong", "li"),
    "宗政": ("zong", "zheng"),
    "濮阳": ("pu", "yang"),
    "淳于": ("chun", "yu"),
    "拓跋": ("tuo", "ba"),
}

# Single-character surnames with a reading of their own (姓氏异读).
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "覃": "qin",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "乐": "yue",
    "缪": "miao",
    "翟": "zhai",
    "祭": "zhai",
    "召": "shao",
    "种": "chong",
    "秘": "bi",
    "员": "yun",
    "尉": "wei",
    "隗": "wei",
    "重": "chong",
    "柏": "bai",
    "薄": "bo",
    "卜": "bu",
    "长": "chang",
    "传": "chuan",
    "都": "du",
    "过": "guo",
    "华": "hua",
    "纪": "ji",
    "句": "gou",
    "阚": "kan",
    "逄": "pang",
    "繁": "po",
    "宓": "mi",
    "能": "nai",
    "任": "ren",
    "沈": "shen",
    "石": "shi",
    "宿": "su",
    "冼": "xian",
    "洗": "xian",
    "燕": "yan",
    "叶": "ye",
    "应": "ying",
    "折": "she",
    "殷": "yin",
    "臧": "zang",
    "曲": "qu",
    "车": "che",
    "贾": "jia",
    "莫": "mo",
    "相": "xiang",
    "朝": "chao",
    "行": "xing",
    "参": "can",
    "郇": "xun",
    "眭": "sui",
    "谌": "chen",
    "芮": "rui",
    "亓": "qi",
    "厍": "she",
    "佘": "she",
    "隽": "juan",
    "蓟": "ji",
    "鄢": "yan",
    "藏": "zang",
}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN_WORD = re.compile(r"[a-z]+")


def _keep(chars: str) -> Any:
    """pypinyin's ``errors`` hook: keep characters it has no reading for, as one item."""
    return [chars]


def _syllables(text: str) -> list[str]:
    """pypinyin's reading of ``text``: Han characters become syllables (ü written as v, as typed on
    a keyboard); runs of Latin letters stay words; anything else is dropped."""
    out: list[str] = []
    for part in lazy_pinyin(text, style=Style.NORMAL, errors=_keep):
        part = part.lower()
        if _HAN.search(part):  # a character pypinyin does not know
            continue
        out.extend(_LATIN_WORD.findall(part))
    return out


def name_syllables(name: str) -> list[str]:
    """The syllables of a person's name, surname read from the surname tables."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    if not name:
        return []
    surname: tuple[str, ...] = ()
    rest = name
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        surname, rest = COMPOUND_SURNAMES[name[:2]], name[2:]
    elif name[0] in SURNAME_READINGS:
        surname, rest = (SURNAME_READINGS[name[0]],), name[1:]
    return [*surname, *_syllables(rest)]


# Names repeat a lot in a registry (and pypinyin costs tens of microseconds a name): bulk loads and
# imports of a million people hit this cache most of the time.
@functools.lru_cache(maxsize=200_000)
def name_pinyin(name: str) -> tuple[str, str]:
    """(full pinyin without spaces, initials), both lower case: 曾小红 → (zengxiaohong, zxh)."""
    syllables = name_syllables(name)
    return "".join(syllables), "".join(s[0] for s in syllables)
