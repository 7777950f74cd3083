"""Editing the service item catalog (事项库): each edit checked whole, versioned and audited.

The catalog is shared by the whole province, so it is edited by county officers and above
(``govservice.catalog``); an application keeps the materials and form of the version it was made
under, so an edit never changes what a resident already sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import DepartmentKind, User
from shequ.core.permissions import Viewer, has_perm
from shequ.govservice import materials as material_kinds
from shequ.govservice.models import Domain, Mode, ServiceItem
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import _common as c

FORM_KINDS = frozenset({"text", "textarea", "number", "choice", "date"})
EDITABLE = (
    "name",
    "name_zh",
    "domain",
    "department_kind",
    "department_name",
    "mode",
    "summary",
    "materials",
    "form",
    "eligibility",
    "legal_days",
    "promised_days",
    "fee",
    "instant",
    "online",
    "care_plan",
    "is_active",
)


def _clean_materials(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ValidationError({"materials": _("List at least one material.")})
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for m in value:
        if not isinstance(m, Mapping):
            raise ValidationError({"materials": _("Each material needs a code and a name.")})
        code = str(m.get("code", "")).strip()
        name_zh = c.text(m.get("name_zh", ""), "materials", 40)
        name = c.text(m.get("name", ""), "materials", 80) or name_zh
        source = str(m.get("source", "") or "")
        if not code or not code.replace("_", "").isalnum() or len(code) > 40 or not name_zh:
            raise ValidationError({"materials": _("Each material needs a code and a Chinese name.")})
        if code in seen:
            raise ValidationError({"materials": _("Material %(code)s is listed twice.") % {"code": code}})
        if not material_kinds.valid_source(source):
            raise ValidationError(
                {"materials": _("Material %(code)s names an unknown registry fact.") % {"code": code}}
            )
        seen.add(code)
        rows.append(
            {
                "code": code,
                "name": name,
                "name_zh": name_zh,
                "required": bool(m.get("required", True)),
                "source": source,
            }
        )
    return rows


def _clean_form(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValidationError({"form": _("The form must be a list of fields.")})
    rows: list[dict[str, Any]] = []
    names: set[str] = set()
    for f in value:
        if not isinstance(f, Mapping):
            raise ValidationError({"form": _("Each form field needs a name, a label and a kind.")})
        name = str(f.get("name", "")).strip()
        kind = str(f.get("kind", "text"))
        label_zh = c.text(f.get("label_zh", ""), "form", 40)
        choices = [c.text(x, "form", 40) for x in (f.get("choices") or [])]
        if not name.isidentifier() or name in names or kind not in FORM_KINDS or not label_zh:
            raise ValidationError(
                {"form": _("Each form field needs a unique name, a Chinese label and a known kind.")}
            )
        if kind == "choice" and len([x for x in choices if x]) < 2:
            raise ValidationError({"form": _("A choice field needs at least two options.")})
        names.add(name)
        rows.append(
            {
                "name": name,
                "label_zh": label_zh,
                "label": c.text(f.get("label", ""), "form", 80) or label_zh,
                "kind": kind,
                "required": bool(f.get("required", True)),
                "choices": [x for x in choices if x],
            }
        )
    return rows


def _clean_eligibility(value: Any) -> dict[str, Any]:
    if not value:
        return {}
    if not isinstance(value, Mapping) or set(value) - {"min_age", "tags_any"}:
        raise ValidationError({"eligibility": _("Eligibility may name a minimum age and care tags only.")})
    out: dict[str, Any] = {}
    if value.get("min_age") not in (None, ""):
        try:
            age = int(value["min_age"])
        except (TypeError, ValueError) as exc:
            raise ValidationError({"eligibility": _("The minimum age must be a whole number.")}) from exc
        if not 0 < age < 120:
            raise ValidationError({"eligibility": _("The minimum age must be between 1 and 119.")})
        out["min_age"] = age
    if value.get("tags_any"):
        out["tags_any"] = [str(t) for t in value["tags_any"]]
    return out


def clean_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every editable field checked; raises one ValidationError naming each bad field."""
    errors: dict[str, Any] = {}
    out: dict[str, Any] = {}

    def take(field: str, fn: Any) -> None:
        try:
            out[field] = fn()
        except ValidationError as exc:
            errors.update(exc.message_dict if hasattr(exc, "error_dict") else {field: exc.messages})

    take(
        "name_zh", lambda: c.text(data.get("name_zh"), "name_zh", 60, required=True, label=_("Chinese name"))
    )
    take("name", lambda: c.text(data.get("name"), "name", 100) or c.text(data.get("name_zh"), "name", 100))
    take("summary", lambda: c.text(data.get("summary"), "summary", 300, required=True, label=_("Summary")))
    take(
        "department_name",
        lambda: c.text(
            data.get("department_name"), "department_name", 60, required=True, label=_("Owning department")
        ),
    )
    for field, choices, message in (
        ("domain", Domain.values, _("Choose the domain.")),
        ("mode", Mode.values, _("Choose how the community handles it.")),
        ("department_kind", DepartmentKind.values, _("Choose the kind of owning department.")),
    ):
        if data.get(field) in choices:
            out[field] = data[field]
        else:
            errors[field] = [message]
    for field in ("legal_days", "promised_days"):
        try:
            out[field] = int(data.get(field))  # type: ignore[arg-type]
            if not 1 <= out[field] <= 365:
                raise ValueError
        except (TypeError, ValueError):
            errors[field] = [_("Enter a number of working days from 1 to 365.")]
    if "legal_days" in out and "promised_days" in out and out["promised_days"] > out["legal_days"]:
        errors["promised_days"] = [_("The promise cannot be longer than the legal time limit.")]
    try:
        fee = Decimal(str(data.get("fee") or "0"))
        if fee < 0 or fee > Decimal("99999"):
            raise InvalidOperation
        out["fee"] = fee.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors["fee"] = [_("Enter the fee in yuan (0 when free).")]
    take("materials", lambda: _clean_materials(data.get("materials")))
    take("form", lambda: _clean_form(data.get("form") or []))
    take("eligibility", lambda: _clean_eligibility(data.get("eligibility")))
    for flag in ("instant", "online", "care_plan", "is_active"):
        out[flag] = bool(data.get(flag, flag in {"online", "is_active"}))
    if out.get("mode") == Mode.CONSULT and out.get("care_plan"):
        errors["care_plan"] = [_("A consultation cannot start a care plan.")]
    if errors:
        raise ValidationError(errors)
    return out


def item_save(
    *,
    actor: Viewer | None,
    data: Mapping[str, Any],
    item: ServiceItem | None = None,
    code: str = "",
    request: HttpRequest | None = None,
) -> ServiceItem:
    """Create (``code``) or edit an item; an edit raises its version."""
    if actor is None or not has_perm(actor, P.CATALOG):
        c.refuse(actor, item or ServiceItem(), "catalog", "needs govservice.catalog", request=request)
    fields = clean_item(data)
    with transaction.atomic():
        if item is None:
            code = code.strip()
            if not code or not code.replace("_", "").isalnum() or len(code) > 60 or code != code.lower():
                raise ValidationError({"code": _("Use lower-case letters, digits and underscores.")})
            if ServiceItem.objects.filter(code=code).exists():
                raise ValidationError({"code": _("An item with this code exists.")})
            item = ServiceItem(code=code, version=1, **fields)
            changed = list(fields)
        else:
            item = ServiceItem.objects.select_for_update().get(pk=item.pk)
            changed = [f for f in EDITABLE if getattr(item, f) != fields[f]]
            if not changed:
                return item
            for f in changed:
                setattr(item, f, fields[f])
            item.version += 1
        item.updated_at = c.now()
        item.updated_by = actor if isinstance(actor, User) else None
        item.save()
        audit.record(
            "govservice.item_save",
            actor=actor,
            request=request,
            object_type="govservice.serviceitem",
            object_id=item.pk,
            fields=changed,
            detail={"code": item.code, "version": item.version},
        )
    return item
