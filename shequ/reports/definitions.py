"""A report template's definition: its columns and rows, checked before a version is stored.

The JSON (see docs/reports.md)::

    {"columns": [{"key": "total", "title": "合计"},
                 {"key": "male", "title": "男", "filters": {"gender": "male"}}],
     "rows": [
       {"key": "residents", "title": "实有人口", "unit": "人", "stat": "registry.residents",
        "filters": {"residence": "registered"}, "columns": ["total", "male"]},
       {"key": "elderly_ratio", "title": "老年人口占比", "unit": "%", "ratio": ["elderly", "residents"]},
       {"key": "staff", "title": "社区工作者人数", "unit": "人",
        "manual": {"type": "int", "min": 0, "max": 500, "required": true, "rollup": "sum"}},
       {"key": "s2", "title": "二、…", "heading": true}]}

A computed row has a cell per column (``"<row>:<column>"``), its filters merged with the column's;
``columns`` limits it to some of them (a household count has no 男/女). A ratio row divides the
numerator's cells by the denominator's, column by column, in percent with one decimal. A manual row
holds one value the region types in (``int``, ``decimal``, ``text`` or ``choice``); ``"rollup":
"sum"`` makes the levels above receive the sum of their children's values instead of typing their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shequ.core.components import Stat, stats_all

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MANUAL_TYPES = ("int", "decimal", "text", "choice")
MAX_ROWS = 200
MAX_COLUMNS = 12
DEFAULT_COLUMN = "value"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    filters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manual:
    type: str
    required: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int = 200
    options: tuple[str, ...] = ()
    rollup: str = ""  # "sum": the levels above receive the sum of their children's values

    @property
    def numeric(self) -> bool:
        return self.type in ("int", "decimal")


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    unit: str = ""
    stat: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # computed and ratio rows: the columns they have cells in
    ratio: tuple[str, str] | None = None
    manual: Manual | None = None
    heading: bool = False
    note: str = ""

    @property
    def computed(self) -> bool:
        return bool(self.stat)


@dataclass(frozen=True)
class Definition:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    @property
    def by_key(self) -> dict[str, Row]:
        return {row.key: row for row in self.rows}

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def cells(self) -> list[tuple[Row, Column]]:
        """Every computed and ratio cell, in row then column order."""
        return [(row, col) for row in self.rows for col in self.columns if col.key in row.columns]

    def cell(self, cell_key: str) -> tuple[Row, Column] | None:
        row_key, _sep, col_key = cell_key.partition(":")
        row = self.by_key.get(row_key)
        if row is None or col_key not in row.columns:
            return None
        return row, self.column(col_key)

    def filters_of(self, row: Row, column: Column) -> dict[str, str]:
        return {**row.filters, **column.filters}

    def manual_rows(self) -> list[Row]:
        return [row for row in self.rows if row.manual is not None]


def _text(value: Any, where: str, what: str, *, max_length: int = 120, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationError(_("%(where)s: %(what)s must be text.") % {"where": where, "what": what})
    if len(value) > max_length:
        raise ValidationError(
            _("%(where)s: %(what)s is longer than %(n)s characters.")
            % {"where": where, "what": what, "n": max_length}
        )
    return value.strip()


def _key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not KEY_RE.match(value):
        raise ValidationError(
            _(
                "%(where)s: the key “%(key)s” must be lower-case letters, digits and _ (at most 40), "
                "starting with a letter."
            )
            % {"where": where, "key": value}
        )
    return value


def _filters(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(_("%(where)s: filters must map dimension names to values.") % {"where": where})
    return dict(value)


def _check_filters(stat: Stat, filters: Mapping[str, str], where: str) -> None:
    dimensions = {d.key: d for d in stat.dimensions}
    for name, value in filters.items():
        dimension = dimensions.get(name)
        if dimension is None:
            raise ValidationError(
                _("%(where)s: the statistic %(stat)s has no breakdown “%(dim)s” (it has: %(known)s).")
                % {"where": where, "stat": stat.key, "dim": name, "known": ", ".join(dimensions) or "-"}
            )
        allowed = [str(v) for v, _label in dimension.values()]
        if value not in allowed:
            raise ValidationError(
                _("%(where)s: “%(value)s” is not a value of %(dim)s (one of: %(known)s).")
                % {"where": where, "value": value, "dim": name, "known": ", ".join(allowed[:30])}
            )


def _number(value: Any, where: str, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(_("%(where)s: %(what)s must be a number.") % {"where": where, "what": what})
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError(
            _("%(where)s: %(what)s must be a number.") % {"where": where, "what": what}
        ) from exc


def _manual(value: Any, where: str) -> Manual:
    if not isinstance(value, dict):
        raise ValidationError(_("%(where)s: manual must be an object.") % {"where": where})
    unknown = set(value) - {"type", "required", "min", "max", "max_length", "options", "rollup"}
    if unknown:
        raise ValidationError(
            _("%(where)s: unknown manual settings: %(keys)s.")
            % {"where": where, "keys": ", ".join(sorted(unknown))}
        )
    kind = value.get("type")
    if kind not in MANUAL_TYPES:
        raise ValidationError(
            _("%(where)s: the manual type must be one of %(types)s.")
            % {"where": where, "types": ", ".join(MANUAL_TYPES)}
        )
    low, high = _number(value.get("min"), where, "min"), _number(value.get("max"), where, "max")
    if low is not None and high is not None and low > high:
        raise ValidationError(_("%(where)s: min is above max.") % {"where": where})
    options = value.get("options") or []
    if kind == "choice" and (
        not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options)
    ):
        raise ValidationError(_("%(where)s: a choice needs a list of options.") % {"where": where})
    rollup = value.get("rollup", "")
    if rollup not in ("", "sum") or (rollup and kind not in ("int", "decimal")):
        raise ValidationError(_("%(where)s: only a number can be summed up the levels.") % {"where": where})
    max_length = value.get("max_length", 200)
    if not isinstance(max_length, int) or not 1 <= max_length <= 2000:
        raise ValidationError(_("%(where)s: max_length must be between 1 and 2000.") % {"where": where})
    return Manual(
        type=kind,
        required=bool(value.get("required", False)),
        min=low,
        max=high,
        max_length=max_length,
        options=tuple(options),
        rollup=rollup,
    )


def parse(definition: Any, *, stats: Mapping[str, Stat] | None = None) -> Definition:
    """The checked definition, or ``ValidationError`` naming the row and what is wrong."""
    stats = stats_all() if stats is None else stats
    if not isinstance(definition, dict):
        raise ValidationError(_("The definition must be an object with rows (and columns)."))
    unknown = set(definition) - {"columns", "rows"}
    if unknown:
        raise ValidationError(
            _("Unknown parts of the definition: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
        )
    raw_columns = definition.get("columns") or [{"key": DEFAULT_COLUMN, "title": _("Value")}]
    if not isinstance(raw_columns, list) or len(raw_columns) > MAX_COLUMNS:
        raise ValidationError(_("Columns must be a list of at most %(n)s.") % {"n": MAX_COLUMNS})
    columns: list[Column] = []
    for i, raw in enumerate(raw_columns, start=1):
        where = _("Column %(n)s") % {"n": i}
        if not isinstance(raw, dict):
            raise ValidationError(_("%(where)s must be an object.") % {"where": where})
        key = _key(raw.get("key"), where)
        if any(c.key == key for c in columns):
            raise ValidationError(
                _("%(where)s: the key “%(key)s” is used twice.") % {"where": where, "key": key}
            )
        columns.append(
            Column(
                key,
                _text(raw.get("title"), where, _("the title"), max_length=40),
                _filters(raw.get("filters"), where),
            )
        )
    raw_rows = definition.get("rows")
    if not isinstance(raw_rows, list) or not raw_rows or len(raw_rows) > MAX_ROWS:
        raise ValidationError(_("Rows must be a list of 1 to %(n)s rows.") % {"n": MAX_ROWS})
    rows: list[Row] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rows, start=1):
        where = _("Row %(n)s") % {"n": i}
        if not isinstance(raw, dict):
            raise ValidationError(_("%(where)s must be an object.") % {"where": where})
        key = _key(raw.get("key"), where)
        where = _("Row %(n)s (%(key)s)") % {"n": i, "key": key}
        if key in seen:
            raise ValidationError(_("%(where)s: the key is used twice.") % {"where": where})
        seen.add(key)
        rows.append(_row(raw, key, where, columns, stats))
    by_key = {row.key: row for row in rows}
    for row in rows:
        if row.ratio is None:
            continue
        where = _("Row %(key)s") % {"key": row.key}
        for part in row.ratio:
            other = by_key.get(part)
            if other is None:
                raise ValidationError(
                    _("%(where)s: the ratio refers to “%(part)s”, which is not a row.")
                    % {"where": where, "part": part}
                )
            if not (other.computed or (other.manual is not None and other.manual.numeric)):
                raise ValidationError(
                    _("%(where)s: the ratio's “%(part)s” must be a computed or numeric manual row.")
                    % {"where": where, "part": part}
                )
    return Definition(tuple(columns), tuple(_ratio_columns(r, by_key) for r in rows))


def _ratio_columns(row: Row, by_key: Mapping[str, Row]) -> Row:
    """A ratio has a cell wherever both of its parts have one (a manual part has every column)."""
    if row.ratio is None:
        return row
    num, den = (by_key[k] for k in row.ratio)
    cols = [c for c in row.columns if (num.manual or c in num.columns) and (den.manual or c in den.columns)]
    return replace(row, columns=tuple(cols))


def _row(
    raw: Mapping[str, Any], key: str, where: str, columns: Sequence[Column], stats: Mapping[str, Stat]
) -> Row:
    kinds = [k for k in ("stat", "ratio", "manual", "heading") if raw.get(k)]
    if len(kinds) != 1:
        raise ValidationError(
            _("%(where)s must have exactly one of stat, ratio, manual or heading.") % {"where": where}
        )
    allowed = {"key", "title", "unit", "note", "filters", "columns", kinds[0]}
    unknown = set(raw) - allowed
    if unknown:
        raise ValidationError(
            _("%(where)s: unknown settings: %(keys)s.") % {"where": where, "keys": ", ".join(sorted(unknown))}
        )
    title = _text(raw.get("title"), where, _("the title"))
    unit = _text(raw.get("unit"), where, _("the unit"), max_length=10, required=False)
    note = _text(raw.get("note"), where, _("the note"), max_length=300, required=False)
    column_keys = [c.key for c in columns]
    wanted = raw.get("columns")
    if wanted is not None:
        if not isinstance(wanted, list) or not wanted or any(c not in column_keys for c in wanted):
            raise ValidationError(
                _("%(where)s: columns must list some of %(known)s.")
                % {"where": where, "known": ", ".join(column_keys)}
            )
        cols = tuple(c for c in column_keys if c in wanted)
    else:
        cols = tuple(column_keys)
    if kinds[0] == "heading":
        return Row(key=key, title=title, heading=True, note=note)
    if kinds[0] == "manual":
        return Row(key=key, title=title, unit=unit, note=note, manual=_manual(raw["manual"], where))
    if kinds[0] == "ratio":
        ratio = raw["ratio"]
        if not isinstance(ratio, list) or len(ratio) != 2 or not all(isinstance(k, str) for k in ratio):
            raise ValidationError(
                _("%(where)s: a ratio is [numerator row, denominator row].") % {"where": where}
            )
        return Row(
            key=key, title=title, unit=unit or "%", note=note, ratio=(ratio[0], ratio[1]), columns=cols
        )
    stat = stats.get(raw["stat"]) if isinstance(raw["stat"], str) else None
    if stat is None:
        raise ValidationError(
            _("%(where)s: unknown statistic “%(stat)s”.") % {"where": where, "stat": raw["stat"]}
        )
    filters = _filters(raw.get("filters"), where)
    _check_filters(stat, filters, where)
    for col in columns:
        if col.key not in cols:
            continue
        both = set(filters) & set(col.filters)
        if any(filters[d] != col.filters[d] for d in both):
            raise ValidationError(
                _("%(where)s: its filters contradict those of the column %(col)s.")
                % {"where": where, "col": col.key}
            )
        _check_filters(stat, col.filters, f"{where} × {col.title}")
    return Row(
        key=key,
        title=title,
        unit=unit or str(stat.unit),
        note=note,
        stat=stat.key,
        filters=filters,
        columns=cols,
    )
