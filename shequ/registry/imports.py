"""Import of people, houses and organizations from community ledgers (.xlsx, .xls, .ods, .csv).

The flow: :func:`read_table` (calamine for speed, merged cells filled in, CSV in UTF-8 with or
without BOM, UTF-16 or GB18030/GBK) → :func:`find_header` (the header may sit anywhere in the
first rows, under a title, over one or two rows with merged cells, with the many names ledgers give
a column) → one validated row per data row, using the registry's own cleaning functions
(``services.clean_person_data`` and friends, so the rules are those of the forms) → a
:class:`Report` that names every problem by row, column and reason.

:func:`check` (the dry run) writes nothing. :func:`commit` checks again and writes every valid
row in one transaction — or nothing — with one audit entry, timeline entries and one
``registry.imported`` event.

Decisions, also shown to users in the templates' notes:

* Every person needs an identity document number, so that importing a file twice cannot create
  the same person twice (exactly one person per ID number on the platform).
* The people and organization imports link to houses that are already registered in the chosen
  region (found by building, unit and room); they never create houses, so a mistyped room number
  cannot add a house that does not exist. Import the houses first: the houses import creates
  missing buildings, units and roads. People without building or room are registered in the
  chosen grid or community without a house.
* Rows that share an ID number (or a house, or a credit code) inside one file are all refused:
  neither can be trusted over the other.
* Reasons never quote ID or phone numbers: reports are stored, and personal numbers are kept
  only encrypted.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import datetime as dt
import functools
import hashlib
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import audit, excel
from shequ.core import validators as v
from shequ.core.bulk import bulk_insert, fork_map, fork_state, insert_rows, paused_gc
from shequ.core.models import AuditResult, Region, RegionLevel
from shequ.core.outbox import emit
from shequ.core.permissions import has_perm
from shequ.registry import addresses, events, services
from shequ.registry.models import (
    Building,
    BuildingType,
    Education,
    House,
    HouseUse,
    IdType,
    ImportBatch,
    ImportKind,
    ImportStatus,
    MaritalStatus,
    Organization,
    OrganizationStatus,
    OrganizationType,
    Person,
    PersonStatus,
    PoliticalStatus,
    PropertyType,
    Residence,
    ResidenceRelation,
    ResidenceType,
    Road,
    Sex,
    TimelineEntry,
    Unit,
)
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.pinyin import name_pinyin

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DATA_ROWS = 200_000
# Ledgers put a title, a unit name and a date above the header: look this far down for it.
HEADER_SCAN_ROWS = 12
# An uploaded file waits this long for its commit, then it is dropped.
BATCH_TTL = dt.timedelta(hours=24)
# Rows per database round trip for duplicate checks.
CHECK_CHUNK = 2000

StrOrPromise = str | Promise


class ImportFileError(Exception):
    """The file as a whole cannot be read (not a spreadsheet, too big, wrong encoding)."""

    def __init__(self, message: str, code: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Columns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """One importable column: its key, the header the templates write (an English msgid), the
    names ledgers use for it, and what the notes sheet says about it."""

    key: str
    title: StrOrPromise
    synonyms: tuple[str, ...] = ()
    required: bool = False
    help: StrOrPromise = ""
    example: Any = ""
    choices: type[models.TextChoices] | None = None


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
# The first column of the templates: "示例"/"Example" there marks the example row.
ROW_NUMBER_HEADERS = frozenset({"序号", "编号", "no", "no."})

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


def squash(value: Any) -> str:
    """A header or choice value for comparison: half-width, no spaces or asterisks, no notes in
    brackets (``身份证号码（必填）`` → ``身份证号码``), lower case."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)
    return re.sub(r"[\s*★:]+", "", text).lower()


def header_lookup(columns: Sequence[Col]) -> dict[str, str]:
    """Normalised header name → column key, with each column's title in both languages."""
    lookup: dict[str, str] = {}
    for col in columns:
        names = [col.key, *col.synonyms]
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                names.append(str(col.title))
        for name in names:
            lookup.setdefault(squash(name), col.key)
    return lookup


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


# --- Reading files ------------------------------------------------------------------------------


@dataclass
class Table:
    """The cells of one sheet as read (numbers stay numbers, dates stay dates), merged cells filled
    in with their value, every row as wide as the widest. ``first_row``: the file's row number of
    ``rows[0]``."""

    sheet: str
    rows: list[list[Any]]
    first_row: int = 1
    fmt: str = "csv"
    content: bytes = b""

    def row_number(self, index: int) -> int:
        return self.first_row + index


def _file_format(content: bytes, filename: str) -> str:
    if content[:4] == b"PK\x03\x04":
        return "ods" if filename.lower().endswith(".ods") else "xlsx"
    if content[:4] == b"\xd0\xcf\x11\xe0":
        return "xls"
    return "csv"


def read_table(content: bytes, filename: str = "", sheet: str | None = None) -> Table:
    """The first sheet with data (or ``sheet``) of an Excel/ODS workbook, or a CSV file."""
    if not content:
        raise ImportFileError(_("The file is empty."), "empty")
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(n)d MB: split it into several files.") % {"n": MAX_FILE_BYTES >> 20},
            "too_large",
        )
    fmt = _file_format(content, filename)
    table = _read_csv(content) if fmt == "csv" else _read_workbook(content, fmt, sheet)
    table.fmt = fmt
    table.content = content
    return table


def _read_workbook(content: bytes, fmt: str, wanted: str | None) -> Table:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = [
            m.name
            for m in book.sheets_metadata
            if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith("Visible")
        ] or list(book.sheet_names)
        if wanted is not None:
            if wanted not in book.sheet_names:
                raise ImportFileError(
                    _("The workbook has no sheet named “%(name)s”.") % {"name": wanted[:50]}
                )
            names = [wanted]
        for name in names:
            sheet = book.get_sheet_by_name(name)
            rows = sheet.to_python()
            if any(any(cell not in ("", None) for cell in row) for row in rows[: HEADER_SCAN_ROWS * 4]):
                start_row, start_col = sheet.start or (0, 0)
                merged = sheet.merged_cell_ranges or []
                return _table_from_rows(name, rows, start_row, start_col, merged)
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises several error types for damaged or foreign files
        raise ImportFileError(
            _("The file could not be read as an Excel workbook; save it again as .xlsx."), "unreadable"
        ) from exc
    raise ImportFileError(_("The workbook has no data."), "empty")


def _table_from_rows(
    name: str, rows: list[list[Any]], start_row: int, start_col: int, merged: Iterable[Any]
) -> Table:
    if len(rows) > MAX_DATA_ROWS + HEADER_SCAN_ROWS:
        raise ImportFileError(
            _("The sheet has more than %(n)d rows: split it into several files.") % {"n": MAX_DATA_ROWS},
            "too_many_rows",
        )
    width = max((len(r) for r in rows), default=0) + start_col
    if start_col:
        rows = [[""] * start_col + list(r) for r in rows]
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    # A merged cell holds its value in its first cell only: copy it over the whole range (a header
    # over two columns, a building number shared by the people of a household).
    for (r1, c1), (r2, c2) in merged:
        top = r1 - start_row
        if top < 0 or top >= len(rows) or c1 >= width:
            continue
        value = rows[top][c1]
        for r in range(max(top, 0), min(r2 - start_row, len(rows) - 1) + 1):
            for c in range(c1, min(c2, width - 1) + 1):
                rows[r][c] = value
    return Table(sheet=name, rows=rows, first_row=start_row + 1)


def _decode_csv(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16")  # Excel's "Unicode text"
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312: what Excel on Chinese Windows writes.
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The CSV file is neither UTF-8 nor GBK text; save it again as “CSV UTF-8”."), "encoding"
        ) from exc


def _read_csv(content: bytes) -> Table:
    text = _decode_csv(content)
    if "\x00" in text:
        raise ImportFileError(_("This is not an Excel (.xlsx, .xls) or CSV file."), "not_a_table")
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    if not any(any(c.strip() for c in r) for r in rows):
        raise ImportFileError(_("The file is empty."), "empty")
    return _table_from_rows("", rows, 0, 0, [])


def exact_numbers(table: Table, col: int) -> dict[int, Any]:
    """The numbers of one column as stored in an .xlsx file (row index → value). calamine reads
    every number as a double, which cannot hold 18 digits; openpyxl keeps an integer written in
    full. Used only for ID columns holding numbers of 16 digits or more."""
    if table.fmt != "xlsx":
        return {}
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(table.content), read_only=True, data_only=True)
    try:
        ws = book[table.sheet] if table.sheet in book.sheetnames else book.worksheets[0]
        out: dict[int, Any] = {}
        for number, (value,) in enumerate(
            ws.iter_rows(min_row=table.first_row, min_col=col + 1, max_col=col + 1, values_only=True),
            start=0,
        ):
            if isinstance(value, int | float):
                out[number] = value
        return out
    finally:
        book.close()


# --- Cells --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0, dates as ISO dates, full-width characters and
    runs of spaces folded."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return v.normalize_text(value)


def is_blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and value.isspace())


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$")
# Excel keeps 15 significant digits of a number.
_EXCEL_DIGITS = 15


class DamagedNumber(ValueError):
    pass


def id_text(value: Any, exact: Any = None) -> str:
    """An ID number cell as text. A cell that Excel turned into a number of more than 15 digits
    (shown as 4.30104199001011E+17) has lost its last digits for good: :class:`DamagedNumber`."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if isinstance(exact, int) and not isinstance(exact, bool):
            return str(exact)
        if isinstance(value, float) and (not value.is_integer() or abs(value) >= 10**_EXCEL_DIGITS):
            raise DamagedNumber
        return str(int(value))
    text = cell_text(value)
    compact = text.replace(" ", "").upper()
    if _SCIENTIFIC.match(compact):
        raise DamagedNumber
    if compact.endswith(".0") and compact[:-2].isdigit():
        return compact[:-2]
    return text


_PHONE_SPLIT = re.compile(r"[/、,，;；]|\s{2,}")


def phone_text(value: Any) -> str:
    """A phone cell as text; of several numbers in one cell (``138… / 0731-…``) the first."""
    text = cell_text(value)
    parts = [p.strip() for p in _PHONE_SPLIT.split(text) if p.strip()]
    return parts[0] if parts else ""


EXCEL_EPOCH = dt.date(1899, 12, 30)
_FULL_DATE = re.compile(
    r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_YEAR_MONTH = re.compile(r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*月?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_COMPACT_MONTH = re.compile(r"^(\d{4})(\d{2})$")


@dataclass(frozen=True)
class PartialDate:
    """A date given only to the year or month (出生年月: 1990.01); ``months`` holds the months it may
    mean (a number cell 1990.1 was typed as 1990.1 or 1990.10)."""

    year: int
    months: tuple[int, ...] = ()

    def matches(self, day: dt.date) -> bool:
        return day.year == self.year and (not self.months or day.month in self.months)


def parse_date(value: Any) -> dt.date | PartialDate | None:
    """A ledger's date: a date cell, an Excel serial number, ``1990.1.2``, ``1990-01-02``,
    ``1990/1/2``, ``1990年1月2日``, ``19900102``; ``1990.01``/``199001``/``1990年1月`` give a
    :class:`PartialDate`. ``None`` for an empty cell; ``ValueError`` when unreadable."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        return _date_from_number(value)
    text = cell_text(value).replace(" ", "")
    if text.isdigit() and len(text) <= 5:
        return _date_from_number(int(text))
    for pattern in (_FULL_DATE, _COMPACT_DATE):
        m = pattern.match(text)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    for pattern in (_YEAR_MONTH, _COMPACT_MONTH):
        m = pattern.match(text)
        if m and 1 <= int(m[2]) <= 12:
            return PartialDate(int(m[1]), (int(m[2]),))
    if re.fullmatch(r"\d{4}年?", text):
        return PartialDate(int(text[:4]))
    raise ValueError("not a date")


def _date_from_number(number: float) -> dt.date | PartialDate:
    if isinstance(number, float) and not number.is_integer():
        whole = int(number)
        if 1880 <= whole <= 2100:  # 1990.01 typed into a number cell
            frac = round((number - whole) * 100)
            months = {frac} | ({frac // 10} if frac % 10 == 0 else set())
            months = {m for m in months if 1 <= m <= 12}
            if not months:
                raise ValueError("not a month")
            return PartialDate(whole, tuple(sorted(months)))
        number = float(whole)  # a date-time serial: keep the day
    n = int(number)
    if 1880 <= n <= 2100:
        return PartialDate(n)
    if 19000101 <= n <= 21001231:
        return dt.date(n // 10000, n // 100 % 100, n % 100)
    if 188001 <= n <= 210012:
        if not 1 <= n % 100 <= 12:
            raise ValueError("not a month")
        return PartialDate(n // 100, (n % 100,))
    if 0 < n < 80000:
        return EXCEL_EPOCH + dt.timedelta(days=n)
    raise ValueError("not a date")


def _key(value: Any, suffixes: tuple[str, ...]) -> str:
    """A building, unit or room number for comparison: ``3栋``/``３号楼``/``3`` → ``3``,
    ``0301室`` → ``301``."""
    return _text_key(value if isinstance(value, str) else cell_text(value), suffixes)


@functools.lru_cache(maxsize=65536)
def _text_key(value: str, suffixes: tuple[str, ...]) -> str:
    # Ledgers repeat the same few building, unit and room numbers on thousands of rows.
    text = v.normalize_code(value)
    for suffix in suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text


_BUILDING_SUFFIXES = ("号楼", "栋", "幢", "座", "楼", "号")
_UNIT_SUFFIXES = ("单元", "单")
_ROOM_SUFFIXES = ("室", "号", "房")


def bare_number(text: str, suffixes: tuple[str, ...]) -> str:
    """A number as stored for a new building, unit or house: ``7栋`` → ``7``, ``1单元`` → ``1``,
    ``101室`` → ``101`` (the standard address adds the suffix back); names stay as written."""
    compact = v.normalize_code(text)
    for suffix in suffixes:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            compact = compact[: -len(suffix)]
            break
    return compact if re.fullmatch(r"[0-9A-Z\-]+", compact) else text


def building_key(value: Any) -> str:
    return _key(value, _BUILDING_SUFFIXES)


def unit_key(value: Any) -> str:
    return _key(value, _UNIT_SUFFIXES)


def room_key(value: Any) -> str:
    return _key(value, _ROOM_SUFFIXES)


_ADDRESS_PARTS = re.compile(
    r"(?P<b>[0-9A-Za-z]+)(?:栋|幢|号楼|座)(?:(?P<u>[0-9A-Za-z]+)单元)?(?P<r>[0-9A-Za-z]+)(?:室|号|房)?$"
)
_DASHED_PARTS = re.compile(r"^(?P<b>[0-9A-Za-z]+)-(?:(?P<u>[0-9A-Za-z]+)-)?(?P<r>[0-9A-Za-z]+)$")


def address_parts(value: Any) -> tuple[str, str, str] | None:
    """(building, unit, room) at the end of an address: ``…12号3栋2单元301室`` or ``3-2-301``."""
    text = cell_text(value).replace(" ", "")
    m = _DASHED_PARTS.match(text) or _ADDRESS_PARTS.search(text)
    if not m:
        return None
    return m["b"], m["u"] or "", m["r"]


# --- Header -------------------------------------------------------------------------------------


@dataclass
class HeaderColumn:
    index: int
    title: str
    key: str  # '' when the column is not imported


@dataclass
class Header:
    rows: list[int]  # indices into Table.rows
    columns: list[HeaderColumn]

    def by_key(self) -> dict[str, list[HeaderColumn]]:
        out: dict[str, list[HeaderColumn]] = defaultdict(list)
        for column in self.columns:
            if column.key:
                out[column.key].append(column)
        return out


def _map_header(rows: Sequence[Sequence[Any]], lookup: Mapping[str, str]) -> list[HeaderColumn]:
    """Each column's title and field: the lowest header cell that names a field, else the upper
    one, else both together (``户籍`` over ``地址``)."""
    width = max(len(r) for r in rows)
    columns = []
    for c in range(width):
        # Titles as written in the file (only spaces folded), for the report.
        texts = [" ".join(str(r[c]).split()) if c < len(r) and not is_blank(r[c]) else "" for r in rows]
        candidates = [t for t in reversed(texts) if t]
        if len(rows) > 1 and all(texts) and texts[0] != texts[-1]:
            candidates.append("".join(texts))
        key = ""
        title = candidates[0] if candidates else ""
        for text in candidates:
            found = lookup.get(squash(text))
            if found:
                key, title = found, text
                break
        if title:
            columns.append(HeaderColumn(index=c, title=title, key=key))
    return columns


def find_header(table: Table, kind: str) -> Header | None:
    """The header of a registry import: see ``find_header_by``."""
    return find_header_by(table, _header_lookup(kind))


@functools.cache
def _header_lookup(kind: str) -> dict[str, str]:
    return header_lookup(COLUMNS[kind])


def find_header_by(table: Table, lookup: Mapping[str, str]) -> Header | None:
    """The header: the row (or pair of rows) among the first ones naming the most fields of
    ``lookup`` (see ``header_lookup``); merged cells over a lower header row belong to it."""
    best: tuple[tuple[int, int, int], Header] | None = None
    limit = min(HEADER_SCAN_ROWS, len(table.rows))
    for r in range(limit):
        if all(is_blank(c) for c in table.rows[r]):
            continue
        for depth in (1, 2):
            if r + depth > len(table.rows):
                continue
            columns = _map_header(table.rows[r : r + depth], lookup)
            score = len({c.key for c in columns if c.key})
            rank = (score, -depth, -r)
            if best is None or rank > best[0]:
                best = (rank, Header(rows=list(range(r, r + depth)), columns=columns))
    if best is None or best[0][0] < 2:
        return None
    header = best[1]
    top = header.rows[0]
    if len(header.rows) == 1 and top > 0:
        # Merged cells fill the lower row of a two-row header completely; the upper row, naming
        # fields too, is part of the header.
        above = _map_header(table.rows[top - 1 : top], lookup)
        both = _map_header(table.rows[top - 1 : top + 1], lookup)
        if len({c.key for c in above if c.key}) >= 2 and len({c.key for c in both if c.key}) >= best[0][0]:
            return Header(rows=[top - 1, top], columns=both)
    return header


# --- Reports ------------------------------------------------------------------------------------


@dataclass
class Problem:
    row: int | None  # the file's row number; None for the file as a whole
    column: str  # the column's title in the file ('' for a whole row)
    col: int | None  # 0-based column index in the file
    reason: str
    code: str

    @property
    def column_letter(self) -> str:
        if self.col is None:
            return ""
        from openpyxl.utils import get_column_letter

        return get_column_letter(self.col + 1)


@dataclass
class Report:
    """What a dry run found; stored with the upload (JSON) and shown on the report page."""

    kind: str
    filename: str
    region_code: str
    sheet: str = ""
    header_rows: list[int] = field(default_factory=list)  # file row numbers
    columns: list[dict[str, Any]] = field(default_factory=list)
    data_rows: int = 0
    valid_count: int = 0
    valid_digest: str = ""
    problems: list[Problem] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # note and example rows
    blank_rows: int = 0
    plan: dict[str, int] = field(default_factory=dict)  # what a commit creates

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.row is None]

    @property
    def error_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})

    @property
    def ok(self) -> bool:
        return not self.file_problems

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        values = dict(data)
        values["problems"] = [Problem(**p) for p in values.get("problems", [])]
        return cls(**values)


def _digest(rows: Iterable[int]) -> str:
    return hashlib.sha256(",".join(map(str, rows)).encode()).hexdigest()[:32]


# --- Rows ---------------------------------------------------------------------------------------


_NOTE_PREFIXES = (
    "填表说明",
    "说明",
    "注",
    "备注",
    "合计",
    "总计",
    "小计",
    "共计",
    "制表",
    "填表",
    "审核",
    "负责人",
    "签字",
    "签名",
    "盖章",
    "填报",
    "统计",
    "单位负责人",
    "日期",
    "联系人",
    "联系电话",
)
_EXAMPLE_MARKS = frozenset({"示例", "例", "example", "e.g."})


@dataclass
class Row:
    """A data row: the cells of the imported columns, by key (first non-empty column wins)."""

    number: int
    index: int
    cells: dict[str, Any]
    source: dict[str, HeaderColumn]  # key → the column the value came from
    problems: list[Problem] = field(default_factory=list)
    # What must be unique (an ID number, a house, a credit code), when it could be read: checked
    # against the rest of the file and the database even when other cells of the row are wrong.
    key: Any = None

    def add(self, key: str, reason: str, code: str) -> None:
        column = self.source.get(key)
        self.problems.append(
            Problem(
                row=self.number,
                column=column.title if column else "",
                col=column.index if column else None,
                reason=reason,
                code=code,
            )
        )

    def text(self, key: str) -> str:
        return cell_text(self.cells.get(key))


def data_rows(table: Table, header: Header, report: Report) -> Iterator[Row]:
    by_key = header.by_key()
    imported = sorted({c.index for c in header.columns if c.key})
    number_cols = [c.index for c in header.columns if squash(c.title) in ROW_NUMBER_HEADERS]
    single = {key: columns[0] for key, columns in by_key.items() if len(columns) == 1}
    several = {key: columns for key, columns in by_key.items() if len(columns) > 1}
    start = header.rows[-1] + 1
    for index in range(start, len(table.rows)):
        raw = table.rows[index]
        if all(is_blank(raw[c]) for c in imported):
            report.blank_rows += 1  # empty, or only a pre-printed sequence number
            continue
        number = table.row_number(index)
        first = cell_text(next(value for value in raw if not is_blank(value)))
        if first.startswith(_NOTE_PREFIXES) and (
            ":" in first or "：" in first or sum(1 for value in raw if not is_blank(value)) <= 2
        ):
            report.skipped.append({"row": number, "why": "note", "text": first[:40]})
            continue
        if number_cols and any(squash(raw[c]) in _EXAMPLE_MARKS for c in number_cols):
            report.skipped.append({"row": number, "why": "example", "text": ""})
            continue
        cells = {key: raw[column.index] for key, column in single.items()}
        source = dict(single)
        for key, columns in several.items():
            chosen = next((c for c in columns if not is_blank(raw[c.index])), columns[0])
            cells[key] = raw[chosen.index]
            source[key] = chosen
        yield Row(number=number, index=index, cells=cells, source=source)


def _apply_errors(row: Row, exc: ValidationError, field_to_key: Mapping[str, str] | None = None) -> None:
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            row.add("", message, "invalid")
        return
    for fname, errors in exc.error_dict.items():
        key = (field_to_key or {}).get(fname, fname)
        for error in errors:
            code = error.code or "invalid"
            message = " ".join(error.messages)
            column_key = key if key in row.source else _fallback_key(key, row)
            row.add(column_key, message, code)


def _fallback_key(key: str, row: Row) -> str:
    # Birth date and sex come from the ID number when their own column is absent.
    if key in ("birth_date", "sex") and "id_number" in row.source:
        return "id_number"
    return key


# --- Places: finding houses ---------------------------------------------------------------------


@dataclass(frozen=True)
class BuildingRef:
    """What imports need of a registered building (loaded as plain values: a county has many)."""

    pk: int
    number: str
    name: str
    estate: str
    door_number: str
    road_name: str
    region_id: int
    region_code: str


@dataclass(frozen=True)
class HouseRef:
    pk: int
    building_id: int
    unit_number: str
    number: str
    region_id: int
    region_code: str
    address: str


class HouseIndex:
    """The buildings and houses of a region subtree, by their numbers as ledgers write them."""

    def __init__(self, region_code: str) -> None:
        self.region_code = region_code
        self.buildings: dict[str, list[BuildingRef]] = defaultdict(list)
        self.houses: dict[tuple[int, str, str], HouseRef] = {}
        self.by_room: dict[tuple[int, str], list[HouseRef]] = defaultdict(list)
        self.loaded = False

    def load(self) -> HouseIndex:
        if self.loaded:
            return self
        buildings = Building.objects.filter(region_code__startswith=self.region_code).values_list(
            "pk", "number", "name", "estate", "door_number", "road__name", "region_id", "region_code"
        )
        for pk, number, name, estate, door, road, region_id, code in buildings:
            b = BuildingRef(pk, number, name, estate, door, road or "", region_id, code)
            for label in {building_key(number), building_key(name)} - {""}:
                self.buildings[label].append(b)
        houses = House.objects.filter(region_code__startswith=self.region_code).values_list(
            "pk", "building_id", "unit__number", "number", "region_id", "region_code", "address"
        )
        for pk, building_id, unit, number, region_id, code, address in houses:
            h = HouseRef(pk, building_id, unit or "", number, region_id, code, address)
            r = room_key(number)
            self.houses[(building_id, unit_key(unit) if unit else "", r)] = h
            self.by_room[(building_id, r)].append(h)
        self.loaded = True
        return self

    def find_buildings(self, building: Any, estate: Any = "") -> list[BuildingRef]:
        found = self.buildings.get(building_key(building), [])
        if len(found) > 1 and not is_blank(estate):
            wanted = squash(cell_text(estate))
            found = [b for b in found if wanted in (squash(b.estate), squash(b.road_name))]
        return found

    def find_house(self, building: BuildingRef, unit: Any, room: Any) -> HouseRef | None:
        u, r = unit_key(unit), room_key(room)
        house = self.houses.get((building.pk, u, r))
        if house is None and not u:
            # The ledger left the unit out: fine when the room number is unique in the building.
            matches = self.by_room.get((building.pk, r), [])
            house = matches[0] if len(matches) == 1 else None
        if house is None and u:
            house = self.houses.get((building.pk, "", r))  # a building without units
        return house


def _place_text(building: Any, unit: Any, room: Any) -> str:
    return addresses.compose(
        region_part="", building=cell_text(building), unit=cell_text(unit), house=cell_text(room)
    )


def _resolve_house(row: Row, index: HouseIndex) -> HouseRef | None:
    """The registered house a row names (building/unit/room columns, a composite room like
    ``3-2-301``, or the end of the address), or None when it names none; problems on the row."""
    building, unit, room = row.cells.get("building"), row.cells.get("unit"), row.cells.get("room")
    key = "building"
    if is_blank(building) and not is_blank(room):
        parts = address_parts(room)
        if parts:
            building, unit, room = parts
            key = "room"
    if is_blank(building) and is_blank(room):
        parts = address_parts(row.cells.get("address")) if not is_blank(row.cells.get("address")) else None
        if not parts:
            return None
        building, unit, room = parts
        key = "address"
    if is_blank(building):
        row.add("room", _("Give the building as well as the room."), "no_building")
        return None
    if is_blank(room):
        row.add(
            "building" if key == "building" else key, _("Give the room as well as the building."), "no_room"
        )
        return None
    buildings = index.load().find_buildings(building, row.cells.get("estate"))
    if not buildings:
        row.add(
            key,
            _("No building %(b)s is registered in this region: import the houses first.")
            % {"b": cell_text(building)},
            "unknown_building",
        )
        return None
    if len(buildings) > 1:
        row.add(
            key,
            _("Several buildings of this region are numbered %(b)s: add the estate (小区) column.")
            % {"b": cell_text(building)},
            "ambiguous_building",
        )
        return None
    house = index.find_house(buildings[0], unit, room)
    if house is None:
        row.add(
            "room" if key == "building" else key,
            _("No house %(where)s is registered in this region: import the houses first.")
            % {"where": _place_text(building, unit, room)},
            "unknown_house",
        )
    return house


# --- Checking: people ---------------------------------------------------------------------------


@dataclass
class PersonPlan:
    number: int
    cleaned: dict[str, Any]
    house: HouseRef | None
    relation: str
    since: dt.date
    id_index: str = ""  # the blind index of the ID number, from the duplicate check


_PERSON_CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "id_type": IdType,
    "sex": Sex,
    "residence_type": ResidenceType,
    "education": Education,
    "marital_status": MaritalStatus,
    "political_status": PoliticalStatus,
}


def _check_person(
    row: Row, exact_ids: Mapping[int, Any], index: HouseIndex, today: dt.date
) -> PersonPlan | None:
    data: dict[str, Any] = {}
    for key in services.PERSON_FIELDS:
        if (
            key in row.cells
            and key not in ("id_number", "birth_date", "phone")
            and not is_blank(row.cells[key])
        ):
            choices = _PERSON_CHOICE_FIELDS.get(key)
            data[key] = choice_value(choices, row.cells[key]) if choices else cell_text(row.cells[key])
    if is_blank(row.cells.get("id_number")):
        row.add("id_number", _("Enter the ID number: every person needs one."), "required")
    else:
        try:
            data["id_number"] = id_text(row.cells["id_number"], exact_ids.get(row.index))
        except DamagedNumber:
            row.add(
                "id_number",
                _(
                    "Excel stored this ID number as a number and kept only its first 15 digits; the rest "
                    "cannot be recovered. Format the column as text and type the number again."
                ),
                "id_number_damaged",
            )
    if "phone" in row.cells:
        data["phone"] = phone_text(row.cells["phone"])
    partial: PartialDate | None = None
    if not is_blank(row.cells.get("birth_date")):
        try:
            born = parse_date(row.cells["birth_date"])
        except ValueError:
            born = None
            row.add("birth_date", _bad_date(), "bad_date")
        if isinstance(born, PartialDate):
            partial = born
        elif born is not None:
            data["birth_date"] = born.isoformat()
    if row.problems and "id_number" not in data:
        # Without a usable ID number the rest is still checked, so every problem shows at once.
        data["id_number"] = ""
    try:
        cleaned = services.clean_person_data(data)
    except ValidationError as exc:
        _apply_errors(row, exc)
        cleaned = None
    if cleaned is not None and cleaned.get("id_number"):
        row.key = (cleaned["id_type"], cleaned["id_number"])
    elif data.get("id_number"):
        id_type = data.get("id_type") or IdType.RESIDENT_ID
        if id_type in IdType.values:
            with contextlib.suppress(ValidationError):  # reported by clean_person_data
                row.key = (id_type, v.clean_id_number(id_type, data["id_number"]))
    if cleaned is not None and partial is not None:
        derived = cleaned.get("birth_date")
        if derived is None:
            row.add("birth_date", _("Give the full date of birth (year, month and day)."), "partial_date")
        elif not partial.matches(derived):
            row.add("birth_date", _("The date of birth does not match the ID number."), "id_mismatch")
    relation = ResidenceRelation.FAMILY
    if not is_blank(row.cells.get("relation")):
        relation_text = choice_value(ResidenceRelation, row.cells["relation"])
        if relation_text in ResidenceRelation.values:
            relation = ResidenceRelation(relation_text)
        else:
            row.add("relation", _choice_error(relation_text, ResidenceRelation), "invalid_choice")
    since = today
    if not is_blank(row.cells.get("since")):
        try:
            parsed = parse_date(row.cells["since"])
        except ValueError:
            parsed = None
            row.add("since", _bad_date(), "bad_date")
        if isinstance(parsed, PartialDate):
            row.add("since", _("Give the full date (year, month and day)."), "partial_date")
        elif parsed is not None:
            if parsed > today:
                row.add("since", _("The date cannot be in the future."), "future_date")
            elif parsed.year < v.OLDEST_BIRTH_YEAR:
                row.add("since", _("The date is too far in the past."), "bad_date")
            else:
                since = parsed
    house = _resolve_house(row, index)
    if row.problems or cleaned is None:
        return None
    if not cleaned.get("id_number"):
        row.add("id_number", _("Enter the ID number: every person needs one."), "required")
        return None
    if house is not None and cleaned.get("birth_date") and since < cleaned["birth_date"]:
        since = cleaned["birth_date"]
    return PersonPlan(number=row.number, cleaned=cleaned, house=house, relation=relation, since=since)


def _bad_date() -> str:
    return _("Enter a date such as 1990-01-02 (1990.1.2, 1990/1/2, 1990年1月2日 and 19900102 work too).")


def _choice_error(value: str, choices: type[models.TextChoices]) -> str:
    return _("“%(value)s” is not one of the choices. Allowed: %(values)s.") % {
        "value": value[:50],
        "values": allowed_values(choices),
    }


def _improve_choice_errors(row: Row, keys: Mapping[str, type[models.TextChoices]]) -> None:
    """Say which values are allowed when a choice was not understood."""
    for problem in row.problems:
        if problem.code != "invalid_choice":
            continue
        for key, choices in keys.items():
            column = row.source.get(key)
            if column is not None and column.index == problem.col:
                problem.reason = _choice_error(cell_text(row.cells.get(key)), choices)
        ethnicity = row.source.get("ethnicity")
        if ethnicity is not None and ethnicity.index == problem.col:
            message = _("“%(value)s” is not an ethnic group: write it as 汉, 汉族 or its two-digit code.")
            problem.reason = message % {"value": row.text("ethnicity")[:50]}


def duplicates_in_file(rows: Sequence[Row], column: str, message: str, code: str) -> set[int]:
    """Rows sharing a key (an ID number, a house, a credit code): all of them are refused."""
    seen: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        if row.key:
            seen[row.key].append(row)
    bad: set[int] = set()
    for same in seen.values():
        if len(same) < 2:
            continue
        for row in same:
            others = ", ".join(str(o.number) for o in same if o is not row)
            row.add(column, message % {"rows": others}, code)
            bad.add(row.number)
    return bad


def _region_name(code: str, cache: dict[str, str]) -> str:
    if code not in cache:
        cache[code] = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
    return cache[code]


def _people_in_db(rows: Sequence[Row], actor: Any, plans: Mapping[int, PersonPlan]) -> set[int]:
    """Rows whose person is already registered. Inside the importer's scope the message says where;
    outside it, only that the person is registered in another community."""
    from shequ.core import crypto

    wanted: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        if row.key:
            id_type, number = row.key
            index = crypto.blind_index(number, "id_number")
            wanted[(index, id_type)].append(row)
            if row.number in plans:
                plans[row.number].id_index = index
    bad: set[int] = set()
    names: dict[str, str] = {}
    keys = list(wanted)
    for start in range(0, len(keys), CHECK_CHUNK):
        chunk = keys[start : start + CHECK_CHUNK]
        found = Person.objects.filter(id_number_index__in=[k[0] for k in chunk]).values_list(
            "id_number_index", "id_type", "status", "region_code"
        )
        for index, id_type, status, region_code in found:
            numbers = wanted.get((index, id_type))
            if not numbers:
                continue
            visible = actor is None or has_perm(actor, P.VIEW_PEOPLE, region_code)
            if status == PersonStatus.MOVED_OUT:
                message, code = (
                    _(
                        "This person moved out of the area earlier: record their move in instead of "
                        "importing them again."
                    ),
                    "moved_out",
                )
            elif not visible:
                message, code = (
                    _("A person with this ID number is already registered in another community."),
                    "registered_elsewhere",
                )
            elif status == PersonStatus.DECEASED:
                message, code = _("A person with this ID number is recorded as deceased."), "deceased"
            else:
                message, code = (
                    _("A person with this ID number is already registered here (%(region)s).")
                    % {"region": _region_name(region_code, names)},
                    "duplicate_id",
                )
            for row in numbers:
                row.add("id_number", message, code)
                bad.add(row.number)
    return bad


# --- Checking: houses ---------------------------------------------------------------------------


@dataclass
class HousePlan:
    number: int
    building_ref: tuple[str, ...]  # key of an existing or new building
    building: BuildingRef | None  # existing building
    building_data: dict[str, Any]  # for a new building
    grid: Region
    road_name: str
    unit_number: str
    house_data: dict[str, Any]


def _grid_lookup(region: Region) -> dict[str, Region]:
    grids = Region.objects.filter(code__startswith=region.code, level=RegionLevel.GRID)
    out: dict[str, Region] = {}
    for g in grids:
        out[squash(g.code)] = g
        out.setdefault(squash(g.name), g)
    return out


def _check_house(
    row: Row, region: Region, grids: Mapping[str, Region], index: HouseIndex
) -> HousePlan | None:
    building_data_in = {
        "door_number": row.text("door_number"),
        "estate": row.text("estate"),
        "number": bare_number(row.text("building"), _BUILDING_SUFFIXES),
        "name": row.text("building_name"),
        "type": choice_value(BuildingType, row.cells.get("building_type")),
        "floors": row.text("floors"),
    }
    try:
        building_data = services.clean_building_data(building_data_in)
    except ValidationError as exc:
        _apply_errors(row, exc, {"number": "building", "name": "building_name", "type": "building_type"})
        building_data = {}
    number = bare_number(row.text("number"), _ROOM_SUFFIXES)
    floor_text = row.text("floor")
    if not floor_text and re.fullmatch(r"\d{3,4}", number):
        floor_text = number[:-2]  # 301 is on the third floor
    house_in = {
        "number": number,
        "floor": floor_text,
        "area": row.text("area"),
        "use": choice_value(HouseUse, row.cells.get("use")),
        "property_type": choice_value(PropertyType, row.cells.get("property_type")),
    }
    try:
        house_data = services.clean_house_data(house_in)
    except ValidationError as exc:
        _apply_errors(row, exc)
        house_data = {}
    unit_number = bare_number(row.text("unit"), _UNIT_SUFFIXES)
    if len(unit_number) > 20:
        row.add("unit", _("Use at most %(n)d characters.") % {"n": 20}, "max_length")
    road_name = row.text("road")
    if len(road_name) > 60:
        row.add("road", _("Use at most %(n)d characters.") % {"n": 60}, "max_length")
    grid = region
    if not is_blank(row.cells.get("grid")):
        found = grids.get(squash(row.text("grid")))
        if found is None:
            row.add("grid", _("No grid of this name or code in the chosen region."), "unknown_grid")
        else:
            grid = found
    _improve_choice_errors(
        row, {"building_type": BuildingType, "use": HouseUse, "property_type": PropertyType}
    )
    if row.problems:
        return None
    # An existing building: same number (or name) and, where the ledger gives them, same road,
    # door number and estate.
    candidates = [
        b
        for b in index.load().find_buildings(building_data.get("number") or building_data.get("name"))
        if (not road_name or squash(b.road_name) == squash(road_name))
        and (
            not building_data["door_number"] or squash(b.door_number) == squash(building_data["door_number"])
        )
        and (not building_data["estate"] or squash(b.estate) == squash(building_data["estate"]))
        and b.region_code.startswith(grid.code)
    ]
    if len(candidates) > 1:
        row.add(
            "building",
            _("Several buildings match: add the road, door number or estate columns."),
            "ambiguous_building",
        )
        return None
    building = candidates[0] if candidates else None
    if (
        building is None
        and grid.level != RegionLevel.GRID
        and Region.objects.filter(parent=grid, level=RegionLevel.GRID).exists()
    ):
        row.add(
            "building",
            _("This is a new building: choose its grid (the grid column or the region)."),
            "no_grid",
        )
        return None
    ref = (
        ("id", str(building.pk))
        if building is not None
        else (
            grid.code,
            squash(road_name),
            squash(building_data["door_number"]),
            squash(building_data["estate"]),
            building_key(building_data["number"] or building_data["name"]),
        )
    )
    if building is not None:
        existing = index.houses.get((building.pk, unit_key(unit_number), room_key(number)))
        if existing is not None:
            row.add("number", _("This house is already registered."), "duplicate_house")
            return None
    row.key = (ref, unit_key(unit_number), room_key(number))
    return HousePlan(
        number=row.number,
        building_ref=ref,
        building=building,
        building_data=building_data,
        grid=grid,
        road_name=road_name,
        unit_number=unit_number,
        house_data=house_data,
    )


# --- Checking: organizations --------------------------------------------------------------------


@dataclass
class OrganizationPlan:
    number: int
    cleaned: dict[str, Any]
    house: HouseRef | None


_ORG_CHOICES: dict[str, type[models.TextChoices]] = {"type": OrganizationType, "status": OrganizationStatus}


def _check_organization(row: Row, index: HouseIndex) -> OrganizationPlan | None:
    data: dict[str, Any] = {}
    for key in (
        "name",
        "uscc",
        "type",
        "legal_representative",
        "contact_name",
        "staff_count",
        "industry",
        "status",
        "address",
    ):
        if key in row.cells:
            choices = _ORG_CHOICES.get(key)
            data[key] = choice_value(choices, row.cells[key]) if choices else cell_text(row.cells[key])
    if "contact_phone" in row.cells:
        data["contact_phone"] = phone_text(row.cells["contact_phone"])
    try:
        cleaned: dict[str, Any] | None = services.clean_organization_data(data)
    except ValidationError as exc:
        _apply_errors(row, exc)
        cleaned = None
    _improve_choice_errors(row, _ORG_CHOICES)
    with contextlib.suppress(ValidationError):  # reported by clean_organization_data
        row.key = cleaned["uscc"] if cleaned is not None else v.clean_uscc(data.get("uscc"))
    house = _resolve_house(row, index)
    if row.problems or cleaned is None:
        return None
    return OrganizationPlan(number=row.number, cleaned=cleaned, house=house)


def _orgs_in_db(rows: Sequence[Row], actor: Any) -> set[int]:
    wanted: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.key:
            wanted[row.key].append(row)
    bad: set[int] = set()
    codes = list(wanted)
    for start in range(0, len(codes), CHECK_CHUNK):
        for uscc, region_code in Organization.objects.filter(
            uscc__in=codes[start : start + CHECK_CHUNK]
        ).values_list("uscc", "region_code"):
            visible = actor is None or has_perm(actor, P.VIEW_PLACES, region_code)
            message = (
                _("An organization with this credit code is already registered.")
                if visible
                else _("An organization with this credit code is already registered in another community.")
            )
            for row in wanted[uscc]:
                row.add("uscc", message, "duplicate_uscc")
                bad.add(row.number)
    return bad


# --- Using every CPU for big files --------------------------------------------------------------


def _check_people_range(span: tuple[int, int]) -> list[tuple[list[Problem], Any, PersonPlan | None]]:
    rows, exact, index, today, language = fork_state()
    out = []
    with translation.override(language):
        for row in rows[span[0] : span[1]]:
            person = _check_person(row, exact, index, today)
            _improve_choice_errors(row, _PERSON_CHOICE_FIELDS)
            out.append((row.problems, row.key, person))
    return out


# --- The dry run --------------------------------------------------------------------------------


@dataclass
class Plan:
    """A checked file: the report, and what a commit would write (valid rows only)."""

    report: Report
    region: Region
    rows: list[Any] = field(default_factory=list)


def _required_missing(header: Header, kind: str) -> list[Col]:
    keys = {c.key for c in header.columns if c.key}
    return [c for c in COLUMNS[kind] if c.required and c.key not in keys]


def check_region(*, actor: Any, region: Region, kind: str) -> None:
    """The region an import goes to: a grid or community (a street or community for houses, where
    the grid column says where new buildings go) in the importer's scope."""
    if kind not in COLUMNS:
        raise ValidationError({"kind": _("Choose what the file holds: people, houses or organizations.")})
    if region.level not in (RegionLevel.GRID, RegionLevel.COMMUNITY):
        raise ValidationError({"region": _("Choose a grid or a community.")})
    if actor is not None and not has_perm(actor, P.IMPORT, region.code):
        raise PermissionDenied(_("You may not import data into this region."))


def check(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any = None,
    sheet: str | None = None,
    today: dt.date | None = None,
    workers: int = 1,
) -> Plan:
    """The dry run: read and validate every row, against the file itself and the database. Writes
    nothing. ``workers`` > 1 validates big files in that many processes (commands and benchmarks;
    web requests keep to their own process)."""
    with paused_gc():
        return _check(
            content=content,
            filename=filename,
            kind=kind,
            region=region,
            actor=actor,
            sheet=sheet,
            today=today,
            workers=workers,
        )


def _check(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any,
    sheet: str | None,
    today: dt.date | None,
    workers: int,
) -> Plan:
    check_region(actor=actor, region=region, kind=kind)
    report = Report(kind=kind, filename=filename[:200], region_code=region.code)
    plan = Plan(report=report, region=region)
    try:
        table = read_table(content, filename, sheet)
    except ImportFileError as exc:
        report.problems.append(Problem(None, "", None, exc.message, exc.code))
        return plan
    report.sheet = table.sheet
    header = find_header(table, kind)
    if header is None:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _(
                    "No header row was found in the first %(n)d rows: the columns need names such as "
                    "%(names)s."
                )
                % {
                    "n": HEADER_SCAN_ROWS,
                    "names": "、".join(str(c.title) for c in COLUMNS[kind] if c.required),
                },
                "no_header",
            )
        )
        return plan
    report.header_rows = [table.row_number(r) for r in header.rows]
    report.columns = [
        {
            "col": c.index,
            "title": c.title,
            "field": c.key,
            "label": str(next((col.title for col in COLUMNS[kind] if col.key == c.key), "")),
        }
        for c in header.columns
    ]
    missing = _required_missing(header, kind)
    for col in missing:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _("The file has no “%(title)s” column (also recognised: %(names)s).")
                % {"title": str(col.title), "names": "、".join(col.synonyms[:4])},
                "missing_column",
            )
        )
    if missing:
        return plan
    today = today or timezone.localdate()
    rows = list(data_rows(table, header, report))
    report.data_rows = len(rows)
    if len(rows) > MAX_DATA_ROWS:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _("The sheet has more than %(n)d rows: split it into several files.") % {"n": MAX_DATA_ROWS},
                "too_many_rows",
            )
        )
        return plan
    index = HouseIndex(region.code)
    plans: dict[int, Any] = {}
    if kind == ImportKind.PEOPLE:
        exact: dict[int, Any] = {}
        id_cols = header.by_key().get("id_number", [])
        for column in id_cols:
            if any(
                isinstance(r.cells.get("id_number"), float) and r.cells["id_number"] >= 1e15 for r in rows
            ):
                exact.update(exact_numbers(table, column.index))
                break
        index.load()  # before any fork: workers share it
        state = (rows, exact, index, today, translation.get_language())
        for (start, _stop), results in fork_map(_check_people_range, state, len(rows), workers):
            for row, (problems, key, person) in zip(rows[start:], results, strict=False):
                row.problems, row.key = problems, key
                if person is not None:
                    plans[row.number] = person
        bad = duplicates_in_file(
            rows, "id_number", _("The same ID number is also in row %(rows)s."), "duplicate_in_file"
        )
        bad |= _people_in_db(rows, actor, plans)
    elif kind == ImportKind.HOUSES:
        grids = _grid_lookup(region)
        for row in rows:
            house = _check_house(row, region, grids, index)
            if house is not None:
                plans[row.number] = house
        bad = duplicates_in_file(
            rows, "number", _("The same house is also in row %(rows)s."), "duplicate_in_file"
        )
    else:
        for row in rows:
            org = _check_organization(row, index)
            if org is not None:
                plans[row.number] = org
        bad = duplicates_in_file(
            rows, "uscc", _("The same credit code is also in row %(rows)s."), "duplicate_in_file"
        )
        bad |= _orgs_in_db(rows, actor)
    for n in bad:
        plans.pop(n, None)
    if kind == ImportKind.PEOPLE:
        report.plan = {
            "people": len(plans),
            "residences": sum(1 for p in plans.values() if p.house is not None),
        }
    elif kind == ImportKind.HOUSES:
        report.plan = _house_counts(list(plans.values()), index)
    else:
        report.plan = {"organizations": len(plans)}
    for row in rows:
        report.problems.extend(row.problems)
    report.problems.sort(key=lambda p: (p.row or 0, p.col if p.col is not None else -1))
    valid = sorted(plans)
    report.valid_count = len(valid)
    report.valid_digest = _digest(valid)
    plan.rows = [plans[n] for n in valid]
    return plan


def _house_counts(plans: Sequence[HousePlan], index: HouseIndex) -> dict[str, int]:
    new_buildings = {p.building_ref for p in plans if p.building is None}
    units = {(p.building_ref, unit_key(p.unit_number)) for p in plans if p.unit_number}
    existing = {
        (("id", str(building_id)), unit_key(unit))
        for building_id, unit in Unit.objects.filter(
            building_id__in={p.building.pk for p in plans if p.building is not None}
        ).values_list("building_id", "number")
    }
    roads = {p.road_name for p in plans if p.road_name and p.building is None}
    return {
        "houses": len(plans),
        "buildings": len(new_buildings),
        "units": len(units - existing),
        "roads": len(roads),
    }


# --- Writing ------------------------------------------------------------------------------------


def _actor_name(actor: Any) -> str:
    return (getattr(actor, "username", "") or "") if actor is not None else ""


def _timeline_row(
    object_type: str,
    object_id: int,
    region_code: str,
    actor: Any,
    action: str,
    params: dict[str, Any],
    now: dt.datetime,
) -> TimelineEntry:
    return TimelineEntry(
        object_type=object_type,
        object_id=object_id,
        region_code=region_code,
        at=now,
        actor=actor,
        actor_name=_actor_name(actor),
        action=action,
        params=params,
    )


def _id_range(objs: Sequence[models.Model]) -> tuple[int, int]:
    ids = [int(o.pk) for o in objs]
    return (min(ids), max(ids))


_cached_pinyin = functools.lru_cache(maxsize=200_000)(name_pinyin)


def person_row(
    cleaned: Mapping[str, Any], *, region_id: int, region_code: str, house_id: int | None
) -> dict[str, Any]:
    """The row ``services.person_build`` makes, as plain values (a test keeps the two equal)."""
    full, initials = _cached_pinyin(cleaned["name"])
    return {
        **cleaned,
        "region_id": region_id,
        "region_code": region_code,
        "house_id": house_id,
        "name_pinyin": full,
        "name_initials": initials,
    }


def _write_people(
    plan: Plan, *, actor: Any, batch_id: int | None, workers: int = 1
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    now = timezone.now()
    stamps = {"created_at": now, "updated_at": now}
    rows: list[PersonPlan] = plan.rows
    people = [
        {
            **person_row(
                p.cleaned,
                region_id=p.house.region_id if p.house else plan.region.pk,
                region_code=p.house.region_code if p.house else plan.region.code,
                house_id=p.house.pk if p.house else None,
            ),
            **stamps,
            **({"id_number_index": p.id_index} if p.id_index else {}),
        }
        for p in rows
    ]
    ids = insert_rows(Person, people, workers=workers)
    prefix = addresses.region_prefix(plan.region.code)
    source = {"source": "import", "batch": batch_id}
    actor_id, actor_name = getattr(actor, "pk", None), _actor_name(actor)
    residences: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []

    def entry(
        object_type: str, object_id: int, region_code: str, action: str, params: dict[str, Any]
    ) -> None:
        entries.append(
            {
                "object_type": object_type,
                "object_id": object_id,
                "region_code": region_code,
                "at": now,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "action": action,
                "params": params,
            }
        )

    for p, person, pk in zip(rows, people, ids, strict=True):
        house = p.house
        since = str(p.since)
        address = house.address if house is not None else prefix
        entry(
            "person",
            pk,
            person["region_code"],
            "person.register",
            {"address": address, "date": since, **source},
        )
        if house is None:
            continue
        residences.append(
            {
                "person_id": pk,
                "house_id": house.pk,
                "relation": p.relation,
                "lives_here": True,
                "start_date": p.since,
                "region_code": house.region_code,
                **stamps,
            }
        )
        entry(
            "house",
            house.pk,
            house.region_code,
            "residence.start",
            {"name": person["name"], "relation": p.relation, "date": since, "person_id": pk},
        )
    residence_ids = insert_rows(Residence, residences, workers=workers)
    insert_rows(TimelineEntry, entries, workers=workers)
    created = {"people": len(ids), "residences": len(residence_ids)}
    ranges = {"person": (min(ids), max(ids))}
    if residence_ids:
        ranges["residence"] = (min(residence_ids), max(residence_ids))
    return created, ranges


def _write_houses(
    plan: Plan, *, actor: Any, batch_id: int | None, workers: int = 1
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    now = timezone.now()
    stamps = {"created_at": now, "updated_at": now}
    rows: list[HousePlan] = plan.rows
    # Roads of new buildings: found in the community (or its street), else created in the community.
    community = plan.region.code[:12]
    road_names = {p.road_name for p in rows if p.building is None and p.road_name}
    roads: dict[str, Road] = {}
    for road in Road.objects.filter(region_code__in=[community, community[:9]], name__in=road_names):
        roads.setdefault(squash(road.name), road)
    community_region = Region.objects.get(code=community)
    new_roads = []
    for name in sorted(road_names):
        if squash(name) not in roads:
            road = Road(region=community_region, region_code=community, name=name, **stamps)
            roads[squash(name)] = road
            new_roads.append(road)
    bulk_insert(Road, new_roads)
    names = addresses.region_names([plan.region.code])
    # Every building as plain values (existing ones from the index, new ones from the file).
    buildings: dict[tuple[str, ...], BuildingRef] = {}
    new_buildings: list[dict[str, Any]] = []
    new_refs: list[tuple[tuple[str, ...], dict[str, Any], str]] = []
    pending: set[tuple[str, ...]] = set()
    for p in rows:
        if p.building is not None:
            buildings[p.building_ref] = p.building
        elif p.building_ref not in pending:
            pending.add(p.building_ref)
            site = roads.get(squash(p.road_name)) if p.road_name else None
            data = {
                **p.building_data,
                "road_id": site.pk if site else None,
                "region_id": p.grid.pk,
                "region_code": p.grid.code,
                **stamps,
            }
            data["address"] = addresses.compose(
                region_part=addresses.region_prefix(p.grid.code, names),
                road=site.name if site else "",
                door_number=data["door_number"],
                estate=data["estate"],
                building=data["number"] or data["name"],
            )
            new_buildings.append(data)
            new_refs.append((p.building_ref, data, site.name if site else ""))
    for pk, (ref, data, road_name) in zip(insert_rows(Building, new_buildings), new_refs, strict=True):
        buildings[ref] = BuildingRef(
            pk,
            data["number"],
            data["name"],
            data["estate"],
            data["door_number"],
            road_name,
            data["region_id"],
            data["region_code"],
        )
    units: dict[tuple[int, str], int] = {}
    for unit_pk, building_id, number in Unit.objects.filter(
        building_id__in=[b.pk for b in buildings.values()]
    ).values_list("pk", "building_id", "number"):
        units.setdefault((building_id, unit_key(number)), unit_pk)
    new_units: list[dict[str, Any]] = []
    unit_keys: list[tuple[int, str]] = []
    pending_units: set[tuple[int, str]] = set()
    for p in rows:
        b = buildings[p.building_ref]
        k = (b.pk, unit_key(p.unit_number))
        if p.unit_number and k not in units and k not in pending_units:
            new_units.append(
                {"building_id": b.pk, "number": p.unit_number, "region_code": b.region_code, **stamps}
            )
            unit_keys.append(k)
            pending_units.add(k)
    units.update(zip(unit_keys, insert_rows(Unit, new_units), strict=True))
    houses: list[dict[str, Any]] = []
    for p in rows:
        b = buildings[p.building_ref]
        data = {
            **p.house_data,
            "building_id": b.pk,
            "unit_id": units[(b.pk, unit_key(p.unit_number))] if p.unit_number else None,
            "region_id": b.region_id,
            "region_code": b.region_code,
            **stamps,
        }
        data["address"] = addresses.compose(
            region_part=addresses.region_prefix(b.region_code, names),
            road=b.road_name,
            door_number=b.door_number,
            estate=b.estate,
            building=b.number or b.name,
            unit=p.unit_number,
            house=data["number"],
        )
        houses.append(data)
    house_ids = insert_rows(House, houses)
    building_ids = [buildings[ref].pk for ref, _data, _road in new_refs]
    source = {"source": "import", "batch": batch_id}
    actor_id, actor_name = getattr(actor, "pk", None), _actor_name(actor)
    common = {"at": now, "actor_id": actor_id, "actor_name": actor_name, "action": "place.create"}
    entries = [
        {
            "object_type": "building",
            "object_id": pk,
            "region_code": data["region_code"],
            "params": dict(source),
            **common,
        }
        for pk, data in zip(building_ids, new_buildings, strict=True)
    ] + [
        {
            "object_type": "house",
            "object_id": pk,
            "region_code": data["region_code"],
            "params": {"use": data["use"], **source},
            **common,
        }
        for pk, data in zip(house_ids, houses, strict=True)
    ]
    insert_rows(TimelineEntry, entries)
    created = {
        "houses": len(houses),
        "buildings": len(new_buildings),
        "units": len(new_units),
        "roads": len(new_roads),
    }
    ranges = {"house": (min(house_ids), max(house_ids))}
    if building_ids:
        ranges["building"] = (min(building_ids), max(building_ids))
    return created, ranges


def _write_organizations(
    plan: Plan, *, actor: Any, batch_id: int | None, workers: int = 1
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    now = timezone.now()
    rows: list[OrganizationPlan] = plan.rows
    regions = Region.objects.in_bulk({p.house.region_id for p in rows if p.house is not None})
    houses = House.objects.select_related("building").in_bulk({p.house.pk for p in rows if p.house})
    orgs: list[Organization] = []
    for p in rows:
        data = dict(p.cleaned)
        house = houses[p.house.pk] if p.house is not None else None
        if house is not None:
            data.update(house=house, building=house.building, address=house.address)
            region = regions[house.region_id]
        else:
            region = plan.region
        orgs.append(
            Organization(**data, region=region, region_code=region.code, created_at=now, updated_at=now)
        )
    bulk_insert(Organization, orgs)
    source = {"source": "import", "batch": batch_id}
    bulk_insert(
        TimelineEntry,
        [
            _timeline_row("organization", o.pk, o.region_code, actor, "place.create", dict(source), now)
            for o in orgs
        ],
    )
    return {"organizations": len(orgs)}, {"organization": _id_range(orgs)}


WRITERS: dict[str, Callable[..., tuple[dict[str, int], dict[str, tuple[int, int]]]]] = {
    ImportKind.PEOPLE: _write_people,
    ImportKind.HOUSES: _write_houses,
    ImportKind.ORGANIZATIONS: _write_organizations,
}


@dataclass
class CommitResult:
    """``status``: committed; nothing (no valid row); changed (the file no longer checks the same
    as when the user confirmed it: nothing written); refused (the database refused a row: nothing
    written); invalid (the file itself is unusable)."""

    status: str
    report: Report
    created: dict[str, int] = field(default_factory=dict)
    message: str = ""


def _refusal_message(exc: IntegrityError) -> str:
    text = str(exc)
    if "registry_person_unique_id_number" in text or "id_number_index" in text:
        return _(
            "Someone registered one of these people while the import ran; nothing was imported. "
            "Check the file again."
        )
    if "uscc" in text:
        return _(
            "Someone registered one of these organizations while the import ran; nothing was imported. "
            "Check the file again."
        )
    return _(
        "The database refused one of the rows (it conflicts with data saved meanwhile); nothing was "
        "imported. Check the file again."
    )


def commit(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any = None,
    sheet: str | None = None,
    expect: tuple[int, str] | None = None,
    batch: ImportBatch | None = None,
    request: HttpRequest | None = None,
    today: dt.date | None = None,
    workers: int = 1,
) -> CommitResult:
    """Check the file again and write every valid row in one transaction, or nothing. ``expect``
    (valid row count, digest) is what the user confirmed: a file that now checks differently (a
    person registered meanwhile, a house removed) is not written."""
    with paused_gc():
        return _commit(
            content=content,
            filename=filename,
            kind=kind,
            region=region,
            actor=actor,
            sheet=sheet,
            expect=expect,
            batch=batch,
            request=request,
            today=today,
            workers=workers,
        )


def _commit(
    *,
    content: bytes,
    filename: str,
    kind: str,
    region: Region,
    actor: Any,
    sheet: str | None,
    expect: tuple[int, str] | None,
    batch: ImportBatch | None,
    request: HttpRequest | None,
    today: dt.date | None,
    workers: int,
) -> CommitResult:
    plan = check(
        content=content,
        filename=filename,
        kind=kind,
        region=region,
        actor=actor,
        sheet=sheet,
        today=today,
        workers=workers,
    )
    report = plan.report
    if not report.ok:
        return CommitResult("invalid", report, message=report.file_problems[0].reason)
    if expect is not None and (report.valid_count, report.valid_digest) != tuple(expect):
        return CommitResult(
            "changed",
            report,
            message=_(
                "The file no longer checks the same as when you confirmed it (data changed meanwhile); "
                "nothing was imported. Review the new report."
            ),
        )
    if not plan.rows:
        return CommitResult("nothing", report, message=_("No row can be imported."))
    batch_id = batch.pk if batch is not None else None
    detail = {
        "kind": kind,
        "file": report.filename,
        "rows": report.data_rows,
        "skipped_rows": len(report.error_rows),
        "problems": len(report.problems),
    }
    try:
        with transaction.atomic():
            created, ranges = WRITERS[kind](plan, actor=actor, batch_id=batch_id, workers=workers)
            audit.record(
                "registry.import",
                actor=actor,
                request=request,
                region_code=region.code,
                object_type="registry.importbatch",
                object_id=batch_id or "",
                fields=sorted({c["field"] for c in report.columns if c["field"]}),
                detail={**detail, "created": created},
            )
            emit(
                events.RegistryImported(
                    actor_id=getattr(actor, "pk", None),
                    kind=kind,
                    region_code=region.code,
                    batch_id=batch_id,
                    created=created,
                    id_ranges=ranges,
                )
            )
            if batch is not None:
                batch.status = ImportStatus.COMMITTED
                batch.committed_at = timezone.now()
                # The file stays (encrypted) until it expires, for the download of the rows to correct.
                batch.report = report.to_json()
                batch.result = {"created": created}
                batch.save(update_fields=["status", "committed_at", "report", "result"])
    except IntegrityError as exc:
        audit.record(
            "registry.import",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="registry.importbatch",
            object_id=batch_id or "",
            result=AuditResult.FAILURE,
            detail={**detail, "why": "integrity"},
        )
        return CommitResult("refused", report, message=_refusal_message(exc))
    return CommitResult("committed", report, created=created)


# --- Uploads kept between the dry run and the commit ---------------------------------------------


def _pack(content: bytes) -> str:
    import zlib

    return base64.b64encode(zlib.compress(content, 6)).decode()


def _unpack(text: str) -> bytes:
    import zlib

    return zlib.decompress(base64.b64decode(text))


def purge_expired_batches(now: dt.datetime | None = None) -> int:
    """Drop the files of expired uploads (their reports stay); uploads never committed are marked
    expired."""
    now = now or timezone.now()
    stale = list(ImportBatch.objects.filter(expires_at__lte=now).exclude(content="").only("pk", "status"))
    for batch in stale:
        batch.content = ""
        if batch.status == ImportStatus.CHECKED:
            batch.status = ImportStatus.EXPIRED
        batch.save(update_fields=["content", "status"])
    return len(stale)


def batch_create(
    *,
    actor: Any,
    kind: str,
    region: Region,
    filename: str,
    content: bytes,
    sheet: str | None = None,
    request: HttpRequest | None = None,
) -> ImportBatch:
    """Check an upload (the dry run) and keep it, encrypted, with its report for the commit.
    Registry data is not touched; the check is audited (it tells whether ID numbers are known)."""
    try:
        check_region(actor=actor, region=region, kind=kind)
    except PermissionDenied:
        audit.record(
            "registry.import_check",
            actor=actor,
            request=request,
            region_code=region.code,
            result=AuditResult.DENIED,
            detail={"kind": kind, "why": "no import right in this region"},
        )
        raise
    purge_expired_batches()
    plan = check(content=content, filename=filename, kind=kind, region=region, actor=actor, sheet=sheet)
    report = plan.report
    with transaction.atomic():
        batch = ImportBatch(
            kind=kind,
            region=region,
            region_code=region.code,
            created_by=actor,
            expires_at=timezone.now() + BATCH_TTL,
            filename=filename[:200],
            options={"sheet": sheet} if sheet else {},
            report=report.to_json(),
        )
        # Kept for the commit and for the workbook of rows to correct.
        batch.content = _pack(content) if report.ok else ""
        batch.save()
        audit.record(
            "registry.import_check",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="registry.importbatch",
            object_id=batch.pk,
            detail={
                "kind": kind,
                "file": batch.filename,
                "rows": report.data_rows,
                "valid": report.valid_count,
                "problems": len(report.problems),
            },
        )
    return batch


def batch_report(batch: ImportBatch) -> Report:
    return Report.from_json(batch.report)


def batch_for(viewer: Any, pk: Any) -> ImportBatch:
    """An upload of ``viewer``'s own, in a region where they still may import; 404 otherwise."""
    from django.http import Http404

    try:
        batch = ImportBatch.objects.select_related("region").get(pk=int(pk), created_by=viewer)
    except (ImportBatch.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise Http404 from exc
    if not has_perm(viewer, P.IMPORT, batch.region_code):
        raise Http404
    return batch


def batch_commit(
    *, actor: Any, batch: ImportBatch, expect_count: int, request: HttpRequest | None = None
) -> CommitResult:
    """Import the valid rows of a checked upload: the user confirmed ``expect_count`` rows."""
    report = batch_report(batch)
    if batch.status != ImportStatus.CHECKED or not batch.content or batch.expires_at <= timezone.now():
        message = (
            _("This file was imported already.")
            if batch.status == ImportStatus.COMMITTED
            else _("This upload has expired: upload the file again.")
        )
        return CommitResult("invalid", report, message=message)
    if expect_count != report.valid_count:
        return CommitResult("changed", report, message=_("Confirm the number of rows shown on the report."))
    with transaction.atomic():
        # One commit per upload, even when the button is pressed twice.
        locked = (
            ImportBatch.objects.select_for_update().filter(pk=batch.pk, status=ImportStatus.CHECKED).first()
        )
        if locked is None:
            return CommitResult("invalid", report, message=_("This file was imported already."))
        result = commit(
            content=_unpack(batch.content),
            filename=batch.filename,
            kind=batch.kind,
            region=batch.region,
            actor=actor,
            sheet=(batch.options or {}).get("sheet"),
            expect=(report.valid_count, report.valid_digest),
            batch=locked,
            request=request,
        )
        if result.status == "changed":
            locked.report = result.report.to_json()
            locked.save(update_fields=["report"])
    batch.refresh_from_db()
    return result


def batch_file(batch: ImportBatch) -> bytes:
    return _unpack(batch.content) if batch.content else b""


# --- Workbooks: templates and error reports -----------------------------------------------------

KIND_TITLES: dict[str, StrOrPromise] = {
    ImportKind.PEOPLE: gettext_lazy("Actual population import template"),
    ImportKind.HOUSES: gettext_lazy("Actual houses import template"),
    ImportKind.ORGANIZATIONS: gettext_lazy("Actual organizations import template"),
}
TEMPLATE_BLANK_ROWS = 300


def template_workbook(kind: str) -> bytes:
    """The import template of ``kind``: a title, the header (required columns marked *), an example
    row marked in the first column, pre-formatted text rows, and a notes sheet on every column."""
    cols = COLUMNS[kind]
    columns = [excel.Column(_("No."), 8)] + [
        excel.Column(
            str(c.title) + ("*" if c.required else ""),
            22 if c.key in ("id_number", "hukou_address", "address", "name") else 14,
        )
        for c in cols
    ]
    example = [_("Example")] + [c.example for c in cols]
    blank = [[""] * len(columns) for _ in range(TEMPLATE_BLANK_ROWS)]
    data = excel.Sheet(
        name=str(_("Data")),
        title=str(KIND_TITLES[kind]),
        info=_(
            "One row per record from row 5 on; the example row is not imported. Columns marked * are "
            "required. Keep ID and phone numbers as text."
        ),
        columns=columns,
        rows=[example, *blank],
    )
    notes = excel.Sheet(
        name=str(_("Notes")),
        title=_("How to fill in the template"),
        info=_("Headers may also use the names common in ledgers (for example 身份证号码 or 公民身份号码)."),
        columns=[
            excel.Column(_("Column"), 22),
            excel.Column(_("Required"), 10),
            excel.Column(_("What to enter"), 60),
            excel.Column(_("Allowed values"), 60),
        ],
        rows=[
            [
                str(c.title),
                _("yes") if c.required else _("no"),
                str(c.help),
                allowed_values(c.choices) if c.choices else "",
            ]
            for c in cols
        ],
    )
    return excel.workbook_bytes([data, notes])


def error_workbook(*, content: bytes, report: Report, actor: Any = None) -> bytes:
    """The rows with problems, as in the file, bad cells in red with the reason as a comment, and a
    second sheet listing every problem; correct the rows and import them again."""
    problems_by_row: dict[int, list[Problem]] = defaultdict(list)
    for p in report.problems:
        if p.row is not None:
            problems_by_row[p.row].append(p)
    file_columns = sorted(report.columns, key=lambda c: c["col"])
    rows: list[list[Any]] = []
    marks: dict[tuple[int, int], str] = {}
    if content and problems_by_row:
        table = read_table(content, report.filename, report.sheet or None)
        position = {c["col"]: i + 1 for i, c in enumerate(file_columns)}
        for n in sorted(problems_by_row):
            index = n - table.first_row
            raw = table.rows[index] if 0 <= index < len(table.rows) else []
            out_row = [n] + [cell_text(raw[c["col"]]) if c["col"] < len(raw) else "" for c in file_columns]
            out_row.append("；".join(p.reason for p in problems_by_row[n]))
            r = len(rows)
            for p in problems_by_row[n]:
                at = (
                    position.get(p.col, len(file_columns) + 1) if p.col is not None else len(file_columns) + 1
                )
                marks[(r, at)] = (marks[(r, at)] + "\n" + p.reason) if (r, at) in marks else p.reason
            rows.append(out_row)
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    who = _actor_name(actor) or _("the platform")
    info = _(
        "Checked %(when)s by %(who)s for %(region)s · correct the red cells and import these rows again"
    ) % {"when": when, "who": who, "region": report.region_code}
    bad = excel.Sheet(
        name=str(_("Rows with problems")),
        title=_("Problems found in %(file)s") % {"file": report.filename},
        info=info,
        columns=[excel.Column(_("Row"), 6, text=False)]
        + [excel.Column(c["title"], 16) for c in file_columns]
        + [excel.Column(_("Problems"), 60)],
        rows=rows,
        marks=marks,
    )
    listing = excel.Sheet(
        name=str(_("All problems")),
        title=_("Problems found in %(file)s") % {"file": report.filename},
        info=info,
        columns=[
            excel.Column(_("Row"), 6, text=False),
            excel.Column(_("Column"), 8),
            excel.Column(_("Title"), 18),
            excel.Column(_("Reason"), 80),
            excel.Column(_("Code"), 20),
        ],
        rows=[[p.row or "", p.column_letter, p.column, p.reason, p.code] for p in report.problems],
    )
    return excel.workbook_bytes([bad, listing])


def kind_label(kind: str) -> str:
    return str(dict(ImportKind.choices).get(kind, kind))


__all__ = [
    "COLUMNS",
    "CommitResult",
    "ImportFileError",
    "Plan",
    "Problem",
    "Report",
    "batch_commit",
    "batch_create",
    "batch_for",
    "check",
    "commit",
    "error_workbook",
    "read_table",
    "template_workbook",
]
