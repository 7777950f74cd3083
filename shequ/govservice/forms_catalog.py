"""The catalog editor's forms (事项库): one item's fields, and its materials and online form as
repeating rows that work without JavaScript (blank rows to fill, a button for more, a row with an
empty code or name is dropped). ``services.catalog.clean_item`` checks the whole and decides."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.core.models import DepartmentKind
from shequ.govservice import materials as material_kinds
from shequ.govservice.models import Domain, Mode, ServiceItem
from shequ.govservice.services import catalog
from shequ.registry import prefill

BLANK_ROWS = 2
MORE_ROWS = 3
MAX_ROWS = 60
FORM_KIND_CHOICES = [
    ("text", _("Short text")),
    ("textarea", _("Longer text")),
    ("number", _("Whole number")),
    ("choice", _("One of several options")),
    ("date", _("Date")),
]
_SPLIT = re.compile(r"[、,，;；\n]+")


class ItemForm(PlatformForm):
    code = forms.CharField(
        label=_("Item code"),
        max_length=60,
        help_text=_("Lower-case letters, digits and underscores; it cannot be changed later."),
    )
    name_zh = forms.CharField(label=_("Chinese name"), max_length=60)
    name = forms.CharField(label=_("English name"), max_length=100, required=False)
    domain = forms.ChoiceField(label=_("Domain"), choices=[("", "—"), *Domain.choices])
    mode = forms.ChoiceField(label=_("Handling in the community"), choices=[("", "—"), *Mode.choices])
    department_kind = forms.ChoiceField(
        label=_("Kind of owning department"), choices=[("", "—"), *DepartmentKind.choices]
    )
    department_name = forms.CharField(label=_("Owning department"), max_length=60)
    summary = forms.CharField(
        label=_("Who may apply and what for"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )
    legal_days = forms.IntegerField(label=_("Legal time limit (working days)"), min_value=1, max_value=365)
    promised_days = forms.IntegerField(
        label=_("Promised time limit (working days)"),
        min_value=1,
        max_value=365,
        help_text=_("Never longer than the legal time limit."),
    )
    fee = forms.DecimalField(label=_("Fee (yuan)"), min_value=0, max_digits=8, decimal_places=2, initial=0)
    instant = forms.BooleanField(label=_("Closed on receipt (即收即办)"), required=False)
    online = forms.BooleanField(label=_("Can be applied for online"), required=False, initial=True)
    care_plan = forms.BooleanField(label=_("Approval starts a home-care plan"), required=False)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    min_age = forms.IntegerField(
        label=_("Minimum age"),
        required=False,
        min_value=1,
        max_value=119,
        help_text=_("Leave empty for any age."),
    )
    tags_any = forms.CharField(
        label=_("Care tags (any of)"),
        required=False,
        max_length=300,
        help_text=_("Registry tag codes, separated by commas, e.g. disabled, low_income."),
    )

    def __init__(self, *args: Any, new: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not new:
            del self.fields["code"]

    def eligibility(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        if data.get("min_age"):
            out["min_age"] = data["min_age"]
        tags = [t.strip() for t in _SPLIT.split(data.get("tags_any") or "") if t.strip()]
        if tags:
            out["tags_any"] = tags
        return out


def item_initial(item: ServiceItem) -> dict[str, Any]:
    # The editable fields the form shows as plain inputs (materials, form and eligibility have rows).
    rows = {"materials", "form", "eligibility"}
    initial = {f: getattr(item, f) for f in catalog.EDITABLE if f not in rows}
    eligibility = item.eligibility or {}
    initial["min_age"] = eligibility.get("min_age")
    initial["tags_any"] = ", ".join(eligibility.get("tags_any") or [])
    return initial


def source_choices(extra: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Where the registry fills a material from: the facts and the care tags the vocabulary names
    (and any other source an item already uses)."""
    names = {
        k.source: material_kinds.label({"name": k.name, "name_zh": k.name_zh}) for k in material_kinds.KINDS
    }
    sources = list(
        dict.fromkeys([*prefill.FACTS, *(k.source for k in material_kinds.KINDS if k.source), *extra])
    )
    return [
        ("", str(_("Not from the registry: uploaded or brought"))),
        *((s, f"{names[s]} ({s})" if s in names else s) for s in sources if s),
    ]


class MaterialRowForm(PlatformForm):
    code = forms.CharField(label=_("Material code"), required=False, max_length=40)
    name_zh = forms.CharField(label=_("Chinese name"), required=False, max_length=40)
    name = forms.CharField(label=_("English name"), required=False, max_length=80)
    required = forms.BooleanField(label=_("Must be provided"), required=False)
    source = forms.ChoiceField(label=_("Filled from the registry"), required=False)

    def __init__(self, *args: Any, sources: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.fields["source"]
        assert isinstance(source, forms.ChoiceField)
        source.choices = list(sources)

    def row(self) -> dict[str, Any] | None:
        d = self.cleaned_data
        if not (d.get("code") or "").strip():
            return None
        return {
            "code": d["code"].strip(),
            "name_zh": d.get("name_zh", ""),
            "name": d.get("name", ""),
            "required": bool(d.get("required")),
            "source": d.get("source", ""),
        }


class FieldRowForm(PlatformForm):
    name = forms.CharField(
        label=_("Field name"), required=False, max_length=40, help_text=_("Letters, digits and underscores.")
    )
    label_zh = forms.CharField(label=_("Chinese label"), required=False, max_length=40)
    label = forms.CharField(label=_("English label"), required=False, max_length=80)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=FORM_KIND_CHOICES)
    required = forms.BooleanField(label=_("Must be answered"), required=False)
    choices = forms.CharField(
        label=_("Options"),
        required=False,
        max_length=400,
        help_text=_("For “one of several options”: the options, separated by 、 or commas."),
    )

    def row(self) -> dict[str, Any] | None:
        d = self.cleaned_data
        if not (d.get("name") or "").strip():
            return None
        return {
            "name": d["name"].strip(),
            "label_zh": d.get("label_zh", ""),
            "label": d.get("label", ""),
            "kind": d.get("kind") or "text",
            "required": bool(d.get("required")),
            "choices": [c.strip() for c in _SPLIT.split(d.get("choices") or "") if c.strip()],
        }


def row_count(data: Mapping[str, Any] | None, key: str, default: int) -> int:
    try:
        n = int((data or {}).get(key) or default)
    except (TypeError, ValueError):
        n = default
    return max(0, min(n, MAX_ROWS))


def material_initial(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "code": r.get("code", ""),
            "name_zh": r.get("name_zh", ""),
            "name": r.get("name", ""),
            "required": bool(r.get("required", True)),
            "source": r.get("source", ""),
        }
        for r in rows
    ]


def field_initial(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.get("name", ""),
            "label_zh": r.get("label_zh", ""),
            "label": r.get("label", ""),
            "kind": r.get("kind", "text"),
            "required": bool(r.get("required", True)),
            "choices": "、".join(r.get("choices") or []),
        }
        for r in rows
    ]


def posted_rows(
    data: Mapping[str, Any], prefix: str, count: int, names: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows as posted (for a page shown again with more blank rows, before anything is checked)."""
    rows = []
    for i in range(count):
        row = {n: data.get(f"{prefix}{i}-{n}", "") for n in names}
        if "required" in row:
            row["required"] = bool(row["required"])
        rows.append(row)
    return rows
