"""The importable columns of each kind, the names ledgers give them, and the ledgers' words for
choice values."""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy

from shequ.core.spreadsheets import Col, Header, Table, cell_text, find_header_by, header_lookup, squash
from shequ.registry.models import (
    BuildingType,
    Education,
    HouseUse,
    IdType,
    ImportKind,
    MaritalStatus,
    OrganizationStatus,
    OrganizationType,
    PoliticalStatus,
    PropertyType,
    ResidenceRelation,
    ResidenceType,
    Sex,
)

# --- Columns ------------------------------------------------------------------------------------


_BUILDING_NAMES = ("楼栋", "栋", "楼栋号", "楼号", "栋号", "幢", "幢号", "楼幢号", "楼栋编号")
_UNIT_NAMES = ("单元", "单元号")
_ROOM_NAMES = ("房号", "门牌", "门牌号", "房间号", "室", "室号", "户室号", "房屋号", "房号(室)")
_ESTATE_NAMES = ("小区", "小区名称", "小区名", "所在小区")

PEOPLE_COLUMNS: tuple[Col, ...] = (
    Col(
        "name",
        gettext_lazy("Name"),
        ("姓名", "名字", "居民姓名", "人员姓名"),
        True,
        gettext_lazy("Chinese characters or Latin letters; the middle dot (·) of transliterated names."),
        "张三",
    ),
    Col(
        "id_type",
        gettext_lazy("ID type"),
        ("证件类型", "证件种类"),
        False,
        gettext_lazy("Leave empty for a resident ID card."),
        "",
        IdType,
    ),
    Col(
        "id_number",
        gettext_lazy("ID number"),
        (
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "公民身份证号码",
            "身份证",
            "证件号码",
            "证件号",
            "身份证件号码",
            "身份证件号",
        ),
        True,
        gettext_lazy(
            "18 characters, checked digit by digit; a lower-case x is fine. Format the column "
            "as text: Excel keeps only 15 digits of a number."
        ),
        "430104199001011237",
    ),
    Col(
        "sex",
        gettext_lazy("Sex"),
        ("性别",),
        False,
        gettext_lazy("Taken from the ID number; if given, it must agree."),
        "",
        Sex,
    ),
    Col(
        "birth_date",
        gettext_lazy("Date of birth"),
        ("出生日期", "出生年月", "出生年月日", "生日"),
        False,
        gettext_lazy(
            "Taken from the ID number; if given, it must agree. 1990-01-02, 1990.1.2, 1990/1/2, "
            "1990年1月2日 and 19900102 all work."
        ),
        "",
    ),
    Col(
        "ethnicity",
        gettext_lazy("Ethnic group"),
        ("民族", "族别"),
        False,
        gettext_lazy("汉, 汉族 or the two-digit code of GB/T 3304."),
        "汉族",
    ),
    Col(
        "phone",
        gettext_lazy("Mobile number"),
        ("联系电话", "手机号", "手机号码", "电话", "手机", "联系方式", "电话号码", "联系手机"),
        False,
        gettext_lazy("11-digit mainland mobile number."),
        "13812345678",
    ),
    Col(
        "residence_type",
        gettext_lazy("Residence type"),
        ("人口类型", "居住类型", "人员类型", "人口属性", "户籍类型", "人员属性"),
        False,
        gettext_lazy("Empty means registered resident."),
        "",
        ResidenceType,
    ),
    Col(
        "hukou_address",
        gettext_lazy("Household registration place"),
        ("户籍地", "户籍地址", "户籍所在地", "户籍地详址", "户口所在地", "户籍地址详址"),
        False,
        "",
        "湖南省长沙市岳麓区",
    ),
    Col(
        "address",
        gettext_lazy("Current address"),
        ("现住址", "居住地址", "现居住地址", "现住地址", "住址", "家庭住址", "现居地址"),
        False,
        gettext_lazy(
            "Used to find the house when there are no building and room columns, for example 3栋2单元301室."
        ),
        "",
    ),
    Col(
        "estate",
        gettext_lazy("Estate"),
        _ESTATE_NAMES,
        False,
        gettext_lazy("Only needed when two buildings of the region have the same number."),
        "",
    ),
    Col(
        "building",
        gettext_lazy("Building"),
        _BUILDING_NAMES,
        False,
        gettext_lazy("Number or name of a registered building, e.g. 3 or 3栋."),
        "3",
    ),
    Col("unit", gettext_lazy("Unit"), _UNIT_NAMES, False, "", "2"),
    Col(
        "room",
        gettext_lazy("Room"),
        _ROOM_NAMES,
        False,
        gettext_lazy("A registered house of the building (import the houses first)."),
        "301",
    ),
    Col(
        "relation",
        gettext_lazy("Relation to the house"),
        ("居住关系", "与房屋关系", "房屋关系", "居住方式"),
        False,
        gettext_lazy("Empty means family member."),
        "",
        ResidenceRelation,
    ),
    Col(
        "since",
        gettext_lazy("Living here since"),
        ("入住日期", "入住时间", "居住起始日期", "来本地日期", "迁入日期", "居住时间"),
        False,
        gettext_lazy("Empty means today."),
        "",
    ),
    Col("work_unit", gettext_lazy("Work unit"), ("工作单位", "服务处所", "工作单位及职务"), False, "", ""),
    Col("occupation", gettext_lazy("Occupation"), ("职业",), False, "", ""),
    Col("education", gettext_lazy("Education"), ("文化程度", "学历"), False, "", "", Education),
    Col(
        "marital_status",
        gettext_lazy("Marital status"),
        ("婚姻状况", "婚姻状态", "婚姻"),
        False,
        "",
        "",
        MaritalStatus,
    ),
    Col("political_status", gettext_lazy("Political status"), ("政治面貌",), False, "", "", PoliticalStatus),
    Col(
        "nationality",
        gettext_lazy("Nationality"),
        ("国籍", "国籍代码"),
        False,
        gettext_lazy("Three-letter country code, for foreign nationals."),
        "",
    ),
)

HOUSE_COLUMNS: tuple[Col, ...] = (
    Col(
        "road",
        gettext_lazy("Road"),
        ("街路巷", "道路", "路名", "街路巷名称", "所在道路", "道路名称"),
        False,
        gettext_lazy("Missing roads are created in the community."),
        "麓山南路",
    ),
    Col(
        "door_number",
        gettext_lazy("Door number"),
        ("门牌号", "门牌", "门牌号码"),
        False,
        gettext_lazy("The number of the building on its road."),
        "12",
    ),
    Col("estate", gettext_lazy("Estate"), _ESTATE_NAMES, False, "", ""),
    Col(
        "building",
        gettext_lazy("Building"),
        _BUILDING_NAMES,
        True,
        gettext_lazy("A missing building is created in the chosen grid (or the grid column)."),
        "3",
    ),
    Col("building_name", gettext_lazy("Building name"), ("楼栋名称", "楼宇名称", "建筑名称"), False, "", ""),
    Col(
        "building_type",
        gettext_lazy("Building type"),
        ("建筑类型", "楼栋类型", "建筑性质"),
        False,
        "",
        "",
        BuildingType,
    ),
    Col(
        "floors",
        gettext_lazy("Floors above ground"),
        ("总层数", "楼层数", "地上层数", "层数"),
        False,
        "",
        "6",
    ),
    Col("unit", gettext_lazy("Unit"), _UNIT_NAMES, False, "", "2"),
    Col(
        "number", gettext_lazy("Room"), ("房号", "室", "室号", "房间号", "户室号", "房屋号"), True, "", "301"
    ),
    Col(
        "floor",
        gettext_lazy("Floor"),
        ("楼层", "所在楼层", "所在层"),
        False,
        gettext_lazy("Empty: taken from a room number such as 301."),
        "",
    ),
    Col(
        "area",
        gettext_lazy("Floor area (m²)"),
        ("面积", "建筑面积", "房屋面积", "使用面积", "面积(平方米)"),
        False,
        "",
        "89.5",
    ),
    Col(
        "use",
        gettext_lazy("Use"),
        ("房屋用途", "用途", "使用性质", "使用情况", "居住状态", "房屋状态"),
        False,
        gettext_lazy("Empty means owner-occupied."),
        "",
        HouseUse,
    ),
    Col(
        "property_type",
        gettext_lazy("Property right"),
        ("产权性质", "产权类型", "房屋性质", "产权"),
        False,
        "",
        "",
        PropertyType,
    ),
    Col(
        "grid",
        gettext_lazy("Grid"),
        ("网格", "所属网格", "网格名称", "网格编码", "网格编号"),
        False,
        gettext_lazy("Name or code of a grid of the chosen community, for new buildings."),
        "",
    ),
)

ORGANIZATION_COLUMNS: tuple[Col, ...] = (
    Col(
        "name",
        gettext_lazy("Organization name"),
        ("单位名称", "名称", "企业名称", "商户名称", "店名", "单位", "机构名称", "组织名称"),
        True,
        "",
        "岳麓区示例商店",
    ),
    Col(
        "uscc",
        gettext_lazy("Unified social credit code"),
        ("统一社会信用代码", "信用代码", "社会信用代码", "统一代码", "营业执照号", "营业执照号码"),
        False,
        gettext_lazy("18 characters, checked; unique on the platform."),
        "",
    ),
    Col(
        "type",
        gettext_lazy("Organization type"),
        ("单位类型", "类型", "单位性质", "企业类型", "机构类型"),
        False,
        gettext_lazy("Empty means enterprise."),
        "",
        OrganizationType,
    ),
    Col(
        "legal_representative",
        gettext_lazy("Legal representative"),
        ("法定代表人", "法人", "法人代表"),
        False,
        "",
        "",
    ),
    Col("contact_name", gettext_lazy("Contact person"), ("联系人", "负责人", "联系人姓名"), False, "", ""),
    Col(
        "contact_phone",
        gettext_lazy("Contact phone"),
        ("联系电话", "电话", "手机", "联系方式", "手机号", "手机号码", "联系人电话"),
        False,
        gettext_lazy("A mobile number, or a landline with its area code such as 0731-88881234."),
        "",
    ),
    Col(
        "staff_count",
        gettext_lazy("Staff"),
        ("从业人数", "员工人数", "职工人数", "人数", "从业人员数"),
        False,
        "",
        "3",
    ),
    Col("industry", gettext_lazy("Industry"), ("行业", "所属行业", "行业类别"), False, "", "零售业"),
    Col(
        "status",
        gettext_lazy("Status"),
        ("经营状态", "状态", "营业状态"),
        False,
        gettext_lazy("Empty means operating."),
        "",
        OrganizationStatus,
    ),
    Col(
        "address",
        gettext_lazy("Address"),
        ("地址", "经营地址", "注册地址", "单位地址", "详细地址", "经营场所"),
        False,
        gettext_lazy("Free text, used when there are no building and room columns."),
        "",
    ),
    Col("estate", gettext_lazy("Estate"), _ESTATE_NAMES, False, "", ""),
    Col(
        "building",
        gettext_lazy("Building"),
        _BUILDING_NAMES,
        False,
        gettext_lazy("With the room: a registered house the organization works from."),
        "",
    ),
    Col("unit", gettext_lazy("Unit"), _UNIT_NAMES, False, "", ""),
    Col("room", gettext_lazy("Room"), _ROOM_NAMES, False, "", ""),
)

COLUMNS: dict[str, tuple[Col, ...]] = {
    ImportKind.PEOPLE: PEOPLE_COLUMNS,
    ImportKind.HOUSES: HOUSE_COLUMNS,
    ImportKind.ORGANIZATIONS: ORGANIZATION_COLUMNS,
}

# Columns ledgers carry that are recognised but not imported.
IGNORED_HEADERS = frozenset(
    {
        "序号",
        "编号",
        "no",
        "no.",
        "备注",
        "说明",
        "年龄",
        "与户主关系",
        "户号",
        "户编号",
        "操作",
        "核查情况",
        "example",
        "示例",
    }
)


# Ledger words for choice values (the labels of either language are accepted as well).
VALUE_SYNONYMS: dict[type[models.TextChoices], dict[str, str]] = {
    Sex: {"男": "male", "男性": "male", "m": "male", "女": "female", "女性": "female", "f": "female"},
    IdType: {
        "身份证": "resident_id",
        "居民身份证": "resident_id",
        "身份证号": "resident_id",
        "二代身份证": "resident_id",
        "护照": "passport",
        "港澳通行证": "hk_macao",
        "港澳居民来往内地通行证": "hk_macao",
        "回乡证": "hk_macao",
        "港澳居民居住证": "hk_macao",
        "台胞证": "taiwan",
        "台湾居民来往大陆通行证": "taiwan",
        "台湾居民居住证": "taiwan",
        "外国人永久居留身份证": "foreign_permanent",
        "永居证": "foreign_permanent",
        "其他": "other",
    },
    ResidenceType: {
        "户籍": "registered",
        "户籍人口": "registered",
        "本地户籍": "registered",
        "本地": "registered",
        "常住": "resident",
        "常住人口": "resident",
        "人户分离": "resident",
        "寄住": "resident",
        "流动": "floating",
        "流动人口": "floating",
        "外来人口": "floating",
        "暂住": "floating",
        "暂住人口": "floating",
        "境外": "foreign",
        "境外人员": "foreign",
        "外籍": "foreign",
        "外籍人员": "foreign",
        "外国人": "foreign",
    },
    Education: {
        "文盲": "none",
        "无": "none",
        "未上学": "none",
        "不识字": "none",
        "小学": "primary",
        "初中": "junior",
        "高中": "senior",
        "中专": "senior",
        "职高": "senior",
        "技校": "senior",
        "中职": "senior",
        "大专": "college",
        "专科": "college",
        "本科": "bachelor",
        "大学": "bachelor",
        "大学本科": "bachelor",
        "研究生": "postgraduate",
        "硕士": "postgraduate",
        "博士": "postgraduate",
        "硕士研究生": "postgraduate",
        "博士研究生": "postgraduate",
    },
    MaritalStatus: {
        "未婚": "single",
        "已婚": "married",
        "初婚": "married",
        "再婚": "married",
        "复婚": "married",
        "离婚": "divorced",
        "离异": "divorced",
        "丧偶": "widowed",
    },
    PoliticalStatus: {
        "中共党员": "party_member",
        "党员": "party_member",
        "中国共产党党员": "party_member",
        "中共预备党员": "probationary",
        "预备党员": "probationary",
        "共青团员": "league_member",
        "团员": "league_member",
        "民主党派": "democratic_party",
        "民主党派成员": "democratic_party",
        "群众": "masses",
    },
    ResidenceRelation: {
        "户主": "owner",
        "业主": "owner",
        "房主": "owner",
        "产权人": "owner",
        "屋主": "owner",
        "家属": "family",
        "家庭成员": "family",
        "亲属": "family",
        "同住": "family",
        "租户": "tenant",
        "租客": "tenant",
        "承租人": "tenant",
        "租住": "tenant",
        "出租": "tenant",
        "借住": "lodger",
        "寄住": "lodger",
        "借宿": "lodger",
    },
    HouseUse: {
        "自住": "owner_occupied",
        "自用": "owner_occupied",
        "居住": "owner_occupied",
        "出租": "rented",
        "租赁": "rented",
        "空置": "vacant",
        "闲置": "vacant",
        "空房": "vacant",
        "经营": "business",
        "商用": "business",
        "商铺": "business",
        "门面": "business",
    },
    PropertyType: {
        "商品房": "commodity",
        "公租房": "public_rental",
        "廉租房": "public_rental",
        "保障房": "affordable",
        "经济适用房": "affordable",
        "经适房": "affordable",
        "安置房": "affordable",
        "自建房": "self_built",
        "集体": "collective",
        "集体产权": "collective",
        "其他": "other",
    },
    BuildingType: {
        "住宅": "residential",
        "居民楼": "residential",
        "商业": "commercial",
        "商铺": "commercial",
        "办公": "office",
        "写字楼": "office",
        "商住": "mixed",
        "商住楼": "mixed",
        "综合": "mixed",
        "公共建筑": "public",
        "农村自建房": "rural_self_built",
        "自建房": "rural_self_built",
    },
    OrganizationType: {
        "企业": "enterprise",
        "公司": "enterprise",
        "个体": "individual_business",
        "个体工商户": "individual_business",
        "个体户": "individual_business",
        "机关": "government",
        "政府机关": "government",
        "党政机关": "government",
        "事业单位": "public_institution",
        "社会组织": "social_organization",
        "社会团体": "social_organization",
        "民办非企业": "social_organization",
        "其他": "other",
    },
    OrganizationStatus: {
        "营业": "operating",
        "在营": "operating",
        "正常": "operating",
        "存续": "operating",
        "开业": "operating",
        "停业": "suspended",
        "歇业": "suspended",
        "迁出": "moved_out",
        "注销": "closed",
        "关闭": "closed",
        "倒闭": "closed",
        "吊销": "closed",
    },
}


@functools.cache
def _value_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, label in choices.choices:
        lookup[squash(code)] = code
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                lookup.setdefault(squash(str(label)), code)
    for word, code in VALUE_SYNONYMS.get(choices, {}).items():
        lookup[squash(word)] = code
    return lookup


def choice_value(choices: type[models.TextChoices], value: Any) -> str:
    """The stored code for a ledger's word (``流动人口`` → ``floating``); unknown words come back
    as typed, for the cleaning function to refuse with its own message."""
    return _choice_code(choices, cell_text(value))


@functools.lru_cache(maxsize=4096)
def _choice_code(choices: type[models.TextChoices], text: str) -> str:
    # A ledger repeats a few words per column thousands of times.
    return _value_lookup(choices).get(squash(text), text)


def allowed_values(choices: type[models.TextChoices]) -> str:
    return "、".join(str(label) for _code, label in choices.choices)


def find_header(table: Table, kind: str) -> Header | None:
    """The header of a registry import: see ``find_header_by``."""
    return find_header_by(table, _header_lookup(kind))


@functools.cache
def _header_lookup(kind: str) -> dict[str, str]:
    return header_lookup(COLUMNS[kind])
