"""Checking organization rows."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from shequ.core import validators as v
from shequ.core.permissions import has_perm
from shequ.core.spreadsheets import Row, cell_text, phone_text
from shequ.registry import services
from shequ.registry.imports._common import CHECK_CHUNK, _apply_errors, _improve_choice_errors
from shequ.registry.imports.columns import choice_value
from shequ.registry.imports.places import HouseIndex, HouseRef, _resolve_house
from shequ.registry.models import (
    Organization,
    OrganizationStatus,
    OrganizationType,
)
from shequ.registry.permissions import RegistryPerm as P

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
