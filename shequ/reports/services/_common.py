"""Helpers of the reports services: levels, numbers, ratios and the sums of the levels above."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.guards import require_actor
from shequ.core.models import LEVEL_CODE_LENGTH, LEVEL_ORDER, AuditResult, User
from shequ.core.permissions import ROLE_PERMISSIONS, Viewer, active_memberships
from shequ.reports.definitions import Definition
from shequ.reports.permissions import ReportPerm as P

Number = int | float


def user_of(actor: Viewer | None) -> User | None:
    """The account to record as having acted (None for the platform itself)."""
    return actor if isinstance(actor, User) else None


def is_filler(viewer: Viewer, region_code: str) -> bool:
    """Whether ``viewer`` fills the region's own report: ``reports.fill`` on exactly this region (a
    reviewer above holds the code by prefix, but does not fill the reports it reviews)."""
    return any(
        m.region_code == region_code and P.FILL in ROLE_PERMISSIONS.get(m.role, frozenset())
        for m in active_memberships(viewer)
    )


def require_filler(actor: Viewer | None, region_code: str, *, action: str, object_id: Any) -> None:
    """The services' check for changing or submitting a region's report (``None``: the platform)."""
    require_actor(
        actor, P.FILL, region_code, action=action, object_type="reports.instance", object_id=object_id
    )
    if actor is None or is_filler(actor, region_code):
        return
    audit.record(
        action,
        actor=user_of(actor),
        region_code=region_code,
        object_type="reports.instance",
        object_id=object_id,
        result=AuditResult.DENIED,
        detail={"why": "not the region's own filler"},
    )
    raise PermissionDenied(_("Only the region's own staff fill and submit its report."))


def child_level(level: str) -> str | None:
    """The level directly below (None under a grid)."""
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def parent_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index - 1] if index > 0 else None


def parent_code(region_code: str, level: str) -> str:
    """The code of the region above (``""`` at the top)."""
    above = parent_level(level)
    return region_code[: LEVEL_CODE_LENGTH[above]] if above else ""


def levels_between(low: str, high: str) -> list[str]:
    """The levels from ``low`` (who fills from data) up to ``high`` (who receives), both included,
    lowest first."""
    lo, hi = LEVEL_ORDER.index(low), LEVEL_ORDER.index(high)
    return [LEVEL_ORDER[i] for i in range(lo, hi - 1, -1)]


def plain(value: Any) -> Number | None:
    """A cell's number as JSON keeps it: an int when whole, else a float of two decimals."""
    if value is None:
        return None
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return int(number)
    return float(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def percent(numerator: Any, denominator: Any) -> float | None:
    """``numerator / denominator`` in percent with one decimal (None without a denominator)."""
    num, den = _decimal(numerator), _decimal(denominator)
    if num is None or den is None or den == 0:
        return None
    return float((num * 100 / den).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def with_ratios(
    definition: Definition, values: Mapping[str, Any], manual: Mapping[str, Any]
) -> dict[str, Any]:
    """``values`` with every ratio cell (re)computed from its parts' cells — at every level from the
    summed parts, never an average of the children's ratios."""
    out = dict(values)
    by_key = definition.by_key
    for row in definition.rows:
        if row.ratio is None:
            continue
        num_row, den_row = (by_key[k] for k in row.ratio)
        for col in row.columns:
            num = manual.get(num_row.key) if num_row.manual else values.get(f"{num_row.key}:{col}")
            den = manual.get(den_row.key) if den_row.manual else values.get(f"{den_row.key}:{col}")
            out[f"{row.key}:{col}"] = percent(num, den)
    return out


def summed(
    definition: Definition, parts: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sums of the children's (values, manual): every computed cell, and the manual rows that
    roll up by sum; ratios are then computed from these sums (``with_ratios``)."""
    cells = [f"{row.key}:{col}" for row in definition.rows if row.computed for col in row.columns]
    rolled = [row.key for row in definition.manual_rows() if row.manual and row.manual.rollup == "sum"]
    totals: dict[str, Decimal | None] = dict.fromkeys(cells + rolled)
    for values, manual in parts:
        for key in cells:
            number = _decimal(values.get(key))
            if number is not None:
                totals[key] = (totals[key] or Decimal(0)) + number
        for key in rolled:
            number = _decimal(manual.get(key))
            if number is not None:
                totals[key] = (totals[key] or Decimal(0)) + number
    values_out = {key: plain(totals[key]) for key in cells}
    manual_out = {key: plain(totals[key]) for key in rolled}
    return values_out, manual_out
