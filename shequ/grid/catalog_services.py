"""Writes to the grid catalog: a category's names, deadlines and default department kind, and the
holiday calendar the working-day deadlines count on. Both are province-wide settings: they need
``grid.catalog``, and every change is audited with what it was before.

A change applies to what happens next: tickets already running keep the deadlines they were given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import AuditResult, DepartmentKind
from shequ.core.permissions import Viewer, has_perm
from shequ.core.text import control_character
from shequ.grid.models import Category, Holiday
from shequ.grid.permissions import GridPerm as P

# Bounds that keep a typo from setting a deadline of years (or of nothing).
LIMITS: dict[str, tuple[int, int]] = {
    "response_hours": (1, 720),
    "resolution_days": (1, 365),
    "urgent_response_hours": (1, 72),
    "urgent_resolution_hours": (1, 720),
}
TEXT_LIMITS: dict[str, int] = {"name": 80, "name_zh": 40, "keywords": 300}
CATEGORY_FIELDS = (*TEXT_LIMITS, *LIMITS, "department_kind", "is_active")


def require_catalog(
    actor: Viewer | None, action: str, object_type: str, object_id: Any, request: HttpRequest | None
) -> None:
    if actor is None or has_perm(actor, P.CATALOG):
        return
    audit.record(
        action,
        actor=actor,
        request=request,
        object_type=object_type,
        object_id=object_id,
        result=AuditResult.DENIED,
        detail={"why": "no grid.catalog"},
    )
    raise PermissionDenied(_("Only the province's catalog administrators change the catalog."))


def _clean_category_changes(category: Category, changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(CATEGORY_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field in TEXT_LIMITS:
            text = str(value or "").strip()
            refused = control_character(text, multiline=False)
            if refused is not None:
                errors[field] = _refused(refused)
            elif field != "keywords" and not text:
                errors[field] = _("This name cannot be empty.")
            elif len(text) > TEXT_LIMITS[field]:
                errors[field] = _("At most %(n)d characters.") % {"n": TEXT_LIMITS[field]}
            else:
                clean[field] = " ".join(text.split()) if field == "keywords" else text
        elif field in LIMITS:
            low, high = LIMITS[field]
            try:
                number = int(value)
            except (TypeError, ValueError):
                errors[field] = _("Enter a whole number.")
                continue
            if not low <= number <= high:
                errors[field] = _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}
            else:
                clean[field] = number
        elif field == "department_kind":
            kind = str(value or "")
            if kind and kind not in DepartmentKind.values:
                errors[field] = _("Unknown department kind.")
            else:
                clean[field] = kind
        else:  # is_active
            clean[field] = bool(value)
    if (
        clean.get("is_active") is False
        and category.parent_id is None
        and category.children.filter(is_active=True).exists()
    ):
        errors["is_active"] = _("Deactivate the categories of this main type first.")
    if clean.get("is_active") is True and category.parent is not None and not category.parent.is_active:
        errors["is_active"] = _("Activate its main type first.")
    if errors:
        raise ValidationError(errors)
    return clean


def category_update(
    *,
    actor: Viewer | None,
    category: Category,
    changes: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Category:
    """Change a category's names, deadlines, usual department kind or active flag."""
    require_catalog(actor, "grid.category_update", "grid.category", category.pk, request)
    with transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        clean = _clean_category_changes(category, changes)
        diff = {
            field: {"old": getattr(category, field), "new": value}
            for field, value in clean.items()
            if getattr(category, field) != value
        }
        if not diff:
            return category
        for field, change in diff.items():
            setattr(category, field, change["new"])
        category.save(update_fields=list(diff))
        audit.record(
            "grid.category_update",
            actor=actor,
            request=request,
            object_type="grid.category",
            object_id=category.pk,
            fields=sorted(diff),
            detail={"code": category.code, "changes": diff},
        )
    return category


def category_create(
    *,
    actor: Viewer | None,
    parent: Category | None,
    code: str,
    values: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Category:
    """A new main type (``parent`` None) or a new category under a main type. The code is the
    parent's code and a slug (``safety.lift``), kept for ever: the classifier and Open311 use it."""
    require_catalog(actor, "grid.category_create", "grid.category", "", request)
    slug = str(code or "").strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", slug):
        raise ValidationError(
            {"code": _("Use 2 to 31 lower-case letters, digits or _, starting with a letter.")}
        )
    if parent is not None and parent.parent_id is not None:
        raise ValidationError({"parent": _("Categories have two levels: choose a main type.")})
    full = f"{parent.code}.{slug}" if parent is not None else slug
    with transaction.atomic():
        if Category.objects.filter(code=full).exists():
            raise ValidationError({"code": _("A category with this code exists.")})
        category = Category(parent=parent, code=full, name=full, name_zh=full)
        clean = _clean_category_changes(category, {"is_active": True, **values})
        for field, value in clean.items():
            setattr(category, field, value)
        siblings = Category.objects.filter(parent=parent)
        last = max((c.sort_order for c in siblings), default=parent.sort_order if parent else 0)
        category.sort_order = last + (1 if parent is not None else 100)
        category.save()
        audit.record(
            "grid.category_create",
            actor=actor,
            request=request,
            object_type="grid.category",
            object_id=category.pk,
            detail={"code": full, **{k: v for k, v in clean.items() if k != "is_active"}},
        )
    return category


def _refused(char: str) -> str:
    # The same words as core.text.clean_text, for these per-field error dicts.
    return _("Remove the line break or invisible control character (%(char)s) from this text.") % {
        "char": char
    }


def holiday_set(
    *,
    actor: Viewer | None,
    date: dt.date,
    name: str,
    is_workday: bool = False,
    request: HttpRequest | None = None,
) -> Holiday:
    """Add a day to the calendar, or change the one on that date: a public holiday (a day off) or
    a weekend day worked in exchange (调休)."""
    require_catalog(actor, "grid.holiday_set", "grid.holiday", date.isoformat(), request)
    refused = control_character(str(name or ""), multiline=False)
    name = " ".join(str(name or "").split())
    errors: dict[str, str] = {}
    if refused is not None:
        errors["name"] = _refused(refused)
    elif not name:
        errors["name"] = _("Give the day a name, e.g. 国庆节.")
    elif len(name) > 40:
        errors["name"] = _("At most %(n)d characters.") % {"n": 40}
    if is_workday and date.weekday() < 5:
        errors["is_workday"] = _(
            "A day worked in exchange falls on a Saturday or Sunday; %(day)s is a weekday."
        ) % {"day": date.isoformat()}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = Holiday.objects.select_for_update().filter(date=date).first()
        holiday, _created = Holiday.objects.update_or_create(
            date=date, defaults={"name": name, "is_workday": is_workday}
        )
        audit.record(
            "grid.holiday_set",
            actor=actor,
            request=request,
            object_type="grid.holiday",
            object_id=date.isoformat(),
            detail={
                "name": name,
                "is_workday": is_workday,
                "before": {"name": before.name, "is_workday": before.is_workday} if before else None,
            },
        )
    return holiday


def holiday_remove(*, actor: Viewer | None, date: dt.date, request: HttpRequest | None = None) -> None:
    require_catalog(actor, "grid.holiday_remove", "grid.holiday", date.isoformat(), request)
    with transaction.atomic():
        holiday = Holiday.objects.select_for_update().filter(date=date).first()
        if holiday is None:
            raise ValidationError({"date": _("%(day)s is not in the calendar.") % {"day": date.isoformat()}})
        audit.record(
            "grid.holiday_remove",
            actor=actor,
            request=request,
            object_type="grid.holiday",
            object_id=date.isoformat(),
            detail={"name": holiday.name, "is_workday": holiday.is_workday},
        )
        holiday.delete()
