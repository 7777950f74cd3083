"""The import templates."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import excel
from shequ.core.spreadsheets import StrOrPromise
from shequ.registry.imports.columns import COLUMNS, allowed_values
from shequ.registry.models import (
    ImportKind,
)

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


def kind_label(kind: str) -> str:
    return str(dict(ImportKind.choices).get(kind, kind))
