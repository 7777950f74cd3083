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

The stages live in their own modules: the spreadsheet reading in ``shequ/core/spreadsheets.py``,
the columns of each kind (``columns``), checking per kind (``people``, ``houses``,
``organizations``, with ``places`` finding houses), the dry run (``dry_run``), the bulk writers
(``writers``), the commit (``committing``), uploads kept between them (``batches``) and the
templates (``workbooks``). This package re-exports their public names.
"""

from __future__ import annotations

from shequ.core.spreadsheets import (
    EXCEL_EPOCH,
    HEADER_SCAN_ROWS,
    MAX_DATA_ROWS,
    MAX_FILE_BYTES,
    ROW_NUMBER_HEADERS,
    Col,
    DamagedNumber,
    Header,
    HeaderColumn,
    ImportFileError,
    PartialDate,
    Problem,
    Report,
    Row,
    StrOrPromise,
    Table,
    cell_text,
    data_rows,
    duplicates_in_file,
    error_workbook,
    exact_numbers,
    find_header_by,
    header_lookup,
    id_text,
    is_blank,
    parse_date,
    phone_text,
    read_table,
    squash,
)
from shequ.registry.imports._common import BATCH_TTL, CHECK_CHUNK
from shequ.registry.imports.batches import (
    batch_commit,
    batch_create,
    batch_file,
    batch_for,
    batch_report,
    purge_expired_batches,
)
from shequ.registry.imports.columns import (
    COLUMNS,
    HOUSE_COLUMNS,
    IGNORED_HEADERS,
    ORGANIZATION_COLUMNS,
    PEOPLE_COLUMNS,
    VALUE_SYNONYMS,
    allowed_values,
    choice_value,
    find_header,
)
from shequ.registry.imports.committing import CommitResult, commit
from shequ.registry.imports.dry_run import Plan, check, check_region
from shequ.registry.imports.houses import HousePlan
from shequ.registry.imports.organizations import OrganizationPlan
from shequ.registry.imports.people import PersonPlan
from shequ.registry.imports.places import (
    BuildingRef,
    HouseIndex,
    HouseRef,
    address_parts,
    bare_number,
    building_key,
    room_key,
    unit_key,
)
from shequ.registry.imports.workbooks import KIND_TITLES, TEMPLATE_BLANK_ROWS, kind_label, template_workbook
from shequ.registry.imports.writers import WRITERS, person_row

__all__ = [
    "BATCH_TTL",
    "CHECK_CHUNK",
    "COLUMNS",
    "EXCEL_EPOCH",
    "HEADER_SCAN_ROWS",
    "HOUSE_COLUMNS",
    "IGNORED_HEADERS",
    "KIND_TITLES",
    "MAX_DATA_ROWS",
    "MAX_FILE_BYTES",
    "ORGANIZATION_COLUMNS",
    "PEOPLE_COLUMNS",
    "ROW_NUMBER_HEADERS",
    "TEMPLATE_BLANK_ROWS",
    "VALUE_SYNONYMS",
    "WRITERS",
    "BuildingRef",
    "Col",
    "CommitResult",
    "DamagedNumber",
    "Header",
    "HeaderColumn",
    "HouseIndex",
    "HousePlan",
    "HouseRef",
    "ImportFileError",
    "OrganizationPlan",
    "PartialDate",
    "PersonPlan",
    "Plan",
    "Problem",
    "Report",
    "Row",
    "StrOrPromise",
    "Table",
    "address_parts",
    "allowed_values",
    "bare_number",
    "batch_commit",
    "batch_create",
    "batch_file",
    "batch_for",
    "batch_report",
    "building_key",
    "cell_text",
    "check",
    "check_region",
    "choice_value",
    "commit",
    "data_rows",
    "duplicates_in_file",
    "error_workbook",
    "exact_numbers",
    "find_header",
    "find_header_by",
    "header_lookup",
    "id_text",
    "is_blank",
    "kind_label",
    "parse_date",
    "person_row",
    "phone_text",
    "purge_expired_batches",
    "read_table",
    "room_key",
    "squash",
    "template_workbook",
    "unit_key",
]
