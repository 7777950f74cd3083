"""The materials items ask for, and the registry fact that fills each one when it can.

A material with a ``source`` is filled from the registry (``registry.prefill``) when the person's
record holds that fact; otherwise the applicant uploads it (online, kiosk) or brings it (counter).
The catalog stores full material entries, so staff may add their own; this vocabulary is where the
seeded catalog and the catalog editor take their names from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language

from shequ.registry import prefill


@dataclass(frozen=True)
class MaterialKind:
    code: str
    name: str
    name_zh: str
    source: str = ""  # a registry fact (``prefill.FACTS`` or ``tag:<code>``); empty: uploaded or brought


KINDS: tuple[MaterialKind, ...] = (
    # Filled from the registry when it holds the fact.
    MaterialKind("id_card", "Resident identity card", "居民身份证", prefill.IDENTITY),
    MaterialKind("hukou_book", "Household register (hukou booklet)", "户口簿", prefill.HUKOU),
    MaterialKind("residence", "Proof of actual residence", "实际居住信息", prefill.RESIDENCE),
    MaterialKind("household", "Household members", "家庭成员信息", prefill.HOUSEHOLD),
    MaterialKind("birth", "Date of birth (age)", "出生日期（年龄）", prefill.BIRTH),
    MaterialKind("phone", "Contact number", "联系电话", prefill.PHONE),
    MaterialKind("marital", "Marital status", "婚姻状况", prefill.MARITAL),
    MaterialKind("education", "Education", "文化程度", prefill.EDUCATION),
    MaterialKind("employment", "Work unit and occupation", "工作单位及职业", prefill.EMPLOYMENT),
    MaterialKind("disability_cert", "Disability certificate", "残疾人证", "tag:disabled"),
    MaterialKind("dibao_cert", "Minimum living allowance certificate", "低保证", "tag:low_income"),
    MaterialKind(
        "tekun_cert", "Extreme-poverty support certificate", "特困人员救助供养证", "tag:extreme_poverty"
    ),
    MaterialKind("unemployed_cert", "Unemployment registration", "失业登记信息", "tag:unemployed"),
    MaterialKind("veteran_cert", "Veteran's certificate", "退役证件", "tag:veteran"),
    MaterialKind(
        "care_assessment", "Care-needs assessment (失能评估)", "失能等级评估", "tag:disabled_elderly"
    ),
    MaterialKind(
        "child_status", "Child-in-difficulty registration", "困境儿童认定信息", "tag:child_in_difficulty"
    ),
    # Uploaded online or brought to the counter.
    MaterialKind("bank_card", "Bank card or social security card", "本人银行卡或社保卡"),
    MaterialKind("photo", "Recent ID photo", "近期免冠照片"),
    MaterialKind("income_proof", "Household income statement", "家庭收入证明或承诺书"),
    MaterialKind("medical_cert", "Hospital diagnosis", "医院诊断证明"),
    MaterialKind("medical_invoices", "Medical invoices", "医疗费用票据"),
    MaterialKind("property_deed", "Property deed or lease", "房产证或租赁合同"),
    MaterialKind("birth_cert", "Medical birth certificate", "出生医学证明"),
    MaterialKind("marriage_cert", "Marriage certificate", "结婚证"),
    MaterialKind("labour_end", "Proof the employment ended", "解除或终止劳动合同证明"),
    MaterialKind("labour_contract", "Employment contract", "劳动合同"),
    MaterialKind("incident_proof", "Proof of the accident or disaster", "事故或灾情证明"),
    MaterialKind("death_cert", "Death certificate", "死亡证明"),
    MaterialKind("residence_permit", "Residence permit", "居住证"),
    MaterialKind("school_notice", "School's admission notice", "学校入学通知"),
)

BY_CODE: dict[str, MaterialKind] = {k.code: k for k in KINDS}


def entry(code: str, *, required: bool = True) -> dict[str, object]:
    """A catalog material entry for a known kind."""
    kind = BY_CODE[code]
    return {
        "code": kind.code,
        "name": kind.name,
        "name_zh": kind.name_zh,
        "required": required,
        "source": kind.source,
    }


def label(material: dict[str, object]) -> str:
    """The material's name in the page's language."""
    zh = (get_language() or "").startswith("zh")
    return str(material.get("name_zh") if zh and material.get("name_zh") else material.get("name", ""))


def valid_source(source: str) -> bool:
    return (
        source == ""
        or source in prefill.FACTS
        or (source.startswith(prefill.TAG_PREFIX) and len(source) > len(prefill.TAG_PREFIX))
    )
