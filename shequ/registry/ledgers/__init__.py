"""Standard ledgers (台账) of the base data: generated from the registry, never retyped.

Each ledger is a :class:`~shequ.core.components.Ledger` declared in the app's manifest, so the
pages here and the reports of other apps read the same rows:

* ``query(viewer, filters)`` returns the rows in the viewer's scope. Filters are a mapping:
  ``region`` (a region code inside the scope, '' for the whole scope), ``as_of`` (the date ages and
  tag validity are computed at; default today), and per ledger ``age_min``/``age_max``, ``sex``,
  ``disability_type``/``disability_grade``, ``category``, ``org_type``/``org_status``,
  ``place_kind``/``risk_level``. Values are already validated (see ``shequ.reports.views_ledgers``). Houses,
  organizations and key places are listed as they are now (no "as of").
* ``row(obj, filters, full)`` gives one row by column key; ID and phone numbers are masked unless
  ``full`` (the caller checked the reveal permission, asked for a reason and audited it).
* ``record_view(viewer, rows, request, context)`` audits rows shown that reveal a restricted tag.

Ledgers list the people living in the area now (moved-out and deceased people never appear); the
"as of" date sets the day ages are counted on and tags must be valid on: a tag counts from its
``valid_from`` through its ``valid_to`` (inclusive); an ended tag stops counting on the day it
ended. The special-population ledger exists only for users with a tag grant: the others see no
menu entry, no count, and get 404.

The package: shared helpers (``_common``), the rows of people and place ledgers (``people``,
``places``), their own filter fields (``filters``) and the declarations (``declarations``). Their
pages, Excel export and scheduled runs are the reports app's, common to every app's ledgers.
"""

from __future__ import annotations

from shequ.registry.ledgers._common import (
    AGE_MAX,
    AGE_MIN,
    AS_OF,
    CATEGORY,
    DISABILITY_GRADE,
    DISABILITY_GRADES,
    DISABILITY_TYPE,
    DISABILITY_TYPES,
    ELDERLY_AGE,
    GRID,
    NOTES,
    OLDEST_OLD_AGE,
    ORG_STATUS,
    ORG_TYPE,
    PEOPLE_FILTERS,
    PERSON_HEAD,
    PLACE_KIND,
    REGION,
    RISK_LEVEL,
    SEX,
    Filters,
    age_on,
    as_of,
    disability_type_label,
    special_categories,
    tag_in_effect_q,
    visible_category_codes,
    years_before,
)
from shequ.registry.ledgers.declarations import BY_KEY, LEDGERS, SINCE, ledger_for, ledgers_visible_to
from shequ.registry.ledgers.people import HOUSEHOLD_COLUMNS, RowChain
from shequ.registry.ledgers.places import CURRENT_ORG_STATUSES, HOUSE_HEAD, HOUSE_OWNER, HOUSE_TAIL, TENANTS

__all__ = [
    "AGE_MAX",
    "AGE_MIN",
    "AS_OF",
    "BY_KEY",
    "CATEGORY",
    "CURRENT_ORG_STATUSES",
    "DISABILITY_GRADE",
    "DISABILITY_GRADES",
    "DISABILITY_TYPE",
    "DISABILITY_TYPES",
    "ELDERLY_AGE",
    "GRID",
    "HOUSEHOLD_COLUMNS",
    "HOUSE_HEAD",
    "HOUSE_OWNER",
    "HOUSE_TAIL",
    "LEDGERS",
    "NOTES",
    "OLDEST_OLD_AGE",
    "ORG_STATUS",
    "ORG_TYPE",
    "PEOPLE_FILTERS",
    "PERSON_HEAD",
    "PLACE_KIND",
    "REGION",
    "RISK_LEVEL",
    "SEX",
    "SINCE",
    "TENANTS",
    "Filters",
    "RowChain",
    "age_on",
    "as_of",
    "disability_type_label",
    "ledger_for",
    "ledgers_visible_to",
    "special_categories",
    "tag_in_effect_q",
    "visible_category_codes",
    "years_before",
]
