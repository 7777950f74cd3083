"""Pinyin of names: surnames read from the surname table, the rest by pypinyin."""

from __future__ import annotations

import pytest

from shequ.registry.pinyin import name_pinyin


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("曾小红", "zengxiaohong", "zxh"),  # pypinyin alone reads 曾 as "ceng"
        ("曾国藩", "zengguofan", "zgf"),
        ("单田芳", "shantianfang", "stf"),
        ("解放军", "xiefangjun", "xfj"),
        ("覃美", "qinmei", "qm"),
        ("仇英", "qiuying", "qy"),
        ("区小明", "ouxiaoming", "oxm"),
        ("查良镛", "zhaliangyong", "zly"),
        ("朴槿惠", "piaojinhui", "pjh"),
        ("尉迟恭", "yuchigong", "ycg"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
        ("万俟卨", "moqixie", "mqx"),
        ("盖聂", "genie", "gn"),
        ("乐毅", "yueyi", "yy"),
        ("缪斯", "miaosi", "ms"),
        ("翟志刚", "zhaizhigang", "zzg"),
        ("召忽", "shaohu", "sh"),
        ("种师道", "chongshidao", "csd"),
        ("秘书", "bishu", "bs"),
        ("员工", "yungong", "yg"),
        ("张三", "zhangsan", "zs"),
        ("吕布", "lvbu", "lb"),  # ü typed as v
        ("欧阳修", "ouyangxiu", "oyx"),
        ("阿不都·热合曼", "abudoureheman", "abdrhm"),
        ("John Smith", "johnsmith", "js"),
    ],
)
def test_name_pinyin(name: str, full: str, initials: str) -> None:
    assert name_pinyin(name) == (full, initials)


def test_surname_table_applies_only_to_the_first_character() -> None:
    # 曾 inside a given name keeps pypinyin's reading.
    full, _ = name_pinyin("李曾")
    assert full.startswith("li")


def test_a_lone_surname_reads_as_a_surname() -> None:
    # What someone types to search for everyone named 曾.
    assert name_pinyin("曾") == ("zeng", "z")


def test_empty_name() -> None:
    assert name_pinyin("") == ("", "")
