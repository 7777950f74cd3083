"""Helpers shared by the import stages: batch limits, row errors from the cleaning functions,
the valid rows' digest, region names."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from shequ.core.models import Region
from shequ.core.spreadsheets import Row, cell_text
from shequ.registry.imports.columns import allowed_values

# An uploaded file waits this long for its commit, then it is dropped.
BATCH_TTL = dt.timedelta(hours=24)
# Rows per database round trip for duplicate checks.
CHECK_CHUNK = 2000


def _digest(rows: Iterable[int]) -> str:
    return hashlib.sha256(",".join(map(str, rows)).encode()).hexdigest()[:32]


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


def _region_name(code: str, cache: dict[str, str]) -> str:
    if code not in cache:
        cache[code] = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
    return cache[code]
