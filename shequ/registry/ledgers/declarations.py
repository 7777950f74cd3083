"""The ledgers themselves, as declared in the registry's manifest, and who may see which."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Ledger, LedgerColumn
from shequ.core.permissions import Viewer
from shequ.registry.ledgers._common import (
    AGE_MIN,
    AS_OF,
    CATEGORY,
    DISABILITY_GRADE,
    DISABILITY_TYPE,
    ELDERLY_AGE,
    GRID,
    NOTES,
    OLDEST_OLD_AGE,
    ORG_STATUS,
    ORG_TYPE,
    PEOPLE_FILTERS,
    PLACE_KIND,
    REGION,
    RISK_LEVEL,
    _col,
    _person_columns,
)
from shequ.registry.ledgers.filters import check_ages, fields_for
from shequ.registry.ledgers.people import (
    HOUSEHOLD_COLUMNS,
    _aged,
    _disabled_row,
    _floating,
    _floating_row,
    _household_row,
    _households,
    _person_row,
    _special,
    _special_audit,
    _special_row,
    _special_visible,
    _tag_audit,
    _tag_visible,
    _tagged,
    _tagged_row,
)
from shequ.registry.ledgers.places import (
    HOUSE_HEAD,
    HOUSE_OWNER,
    HOUSE_TAIL,
    _key_place_row,
    _key_places,
    _organization_row,
    _organizations,
    _rented,
    _rented_row,
    _vacant,
    _vacant_row,
)
from shequ.registry.permissions import RegistryPerm as P

# --- The declarations ---------------------------------------------------------------------------


def _tag_ledger(
    key: str,
    code: str,
    title: Any,
    description: Any,
    *extra: LedgerColumn,
    row: Any = _tagged_row,
    filters: tuple[str, ...] = PEOPLE_FILTERS,
) -> Ledger:
    return Ledger(
        key=key,
        title=title,
        description=description,
        columns=_person_columns(*extra),
        query=_tagged(code),
        row=row,
        filters=filters,
        perm=P.VIEW_PEOPLE,
        visible=_tag_visible(code),
        record_view=_tag_audit(code),
    )


SINCE = _col("since", pgettext_lazy("ledger column", "Since"), 12, text=False)

_DECLARED: tuple[Ledger, ...] = (
    Ledger(
        key="elderly_60",
        # Translators: 60周岁以上老年人台账
        title=_("Register of elderly people aged 60 and over"),
        description=_("Everyone living here who is 60 or older on the date of the ledger."),
        columns=_person_columns(),
        query=_aged(ELDERLY_AGE),
        row=_person_row,
        filters=PEOPLE_FILTERS,
        perm=P.VIEW_PEOPLE,
    ),
    Ledger(
        key="elderly_80",
        # Translators: 80周岁以上高龄老人台账
        title=_("Register of the oldest old aged 80 and over"),
        description=_("Everyone living here who is 80 or older on the date of the ledger (高龄)."),
        columns=_person_columns(),
        query=_aged(OLDEST_OLD_AGE),
        row=_person_row,
        filters=PEOPLE_FILTERS,
        perm=P.VIEW_PEOPLE,
    ),
    _tag_ledger(
        "living_alone",
        "living_alone",
        # Translators: 独居老人台账
        _("Register of elderly people living alone"),
        _("People with a valid 'living alone' tag."),
        SINCE,
    ),
    _tag_ledger(
        "empty_nest",
        "empty_nest",
        # Translators: 空巢老人台账
        _("Register of empty-nest elderly"),
        _("People with a valid 'empty nest' tag."),
        SINCE,
    ),
    _tag_ledger(
        "disabled",
        "disabled",
        # Translators: 残疾人台账
        _("Register of persons with disabilities"),
        _("People with a valid disability tag, with the kind and grade of disability."),
        _col("subtype", pgettext_lazy("ledger column", "Kind of disability"), 10),
        _col("grade", pgettext_lazy("ledger column", "Disability grade"), 8),
        row=_disabled_row,
        filters=(*PEOPLE_FILTERS, DISABILITY_TYPE, DISABILITY_GRADE),
    ),
    Ledger(
        key="low_income",
        # Translators: 低保户台账
        title=_("Register of minimum living allowance (dibao) households"),
        description=_(
            "One row per household with a member who receives the minimum living allowance, "
            "with the household size."
        ),
        columns=HOUSEHOLD_COLUMNS,
        query=_households("low_income"),
        row=_household_row,
        filters=(REGION, AS_OF),
        perm=P.VIEW_PEOPLE,
        visible=_tag_visible("low_income"),
    ),
    Ledger(
        key="extreme_poverty",
        # Translators: 特困供养户台账
        title=_("Register of extreme poverty support (tekun) households"),
        description=_(
            "One row per household with a member who receives extreme poverty support, with the "
            "household size."
        ),
        columns=HOUSEHOLD_COLUMNS,
        query=_households("extreme_poverty"),
        row=_household_row,
        filters=(REGION, AS_OF),
        perm=P.VIEW_PEOPLE,
        visible=_tag_visible("extreme_poverty"),
    ),
    _tag_ledger(
        "left_behind_children",
        "left_behind_child",
        # Translators: 留守儿童台账
        _("Register of left-behind children"),
        _("Children with a valid 'left-behind child' tag."),
        _col("subtype", pgettext_lazy("ledger column", "Situation"), 12),
        SINCE,
    ),
    _tag_ledger(
        "children_in_difficulty",
        "child_in_difficulty",
        # Translators: 困境儿童台账
        _("Register of children in difficulty"),
        _("Children with a valid 'child in difficulty' tag, with the kind of difficulty."),
        _col("subtype", pgettext_lazy("ledger column", "Kind of difficulty"), 12),
        SINCE,
    ),
    _tag_ledger(
        "veterans",
        "veteran",
        # Translators: 退役军人台账
        _("Register of veterans"),
        _("People with a valid veteran tag."),
        _col("subtype", pgettext_lazy("ledger column", "Category"), 12),
        SINCE,
    ),
    Ledger(
        key="floating_population",
        # Translators: 流动人口台账
        title=_("Register of the floating population"),
        description=_("People living here whose residence type is 'floating population'."),
        columns=_person_columns(
            _col("hukou_address", pgettext_lazy("ledger column", "Household registration place"), 30),
            _col("relation", pgettext_lazy("ledger column", "Lives here as"), 8),
            _col("arrived", pgettext_lazy("ledger column", "Living here since"), 12, text=False),
            _col("work_unit", pgettext_lazy("ledger column", "Work unit and occupation"), 20),
        ),
        query=_floating,
        row=_floating_row,
        filters=PEOPLE_FILTERS,
        perm=P.VIEW_PEOPLE,
    ),
    Ledger(
        key="rented_houses",
        # Translators: 出租房屋及承租人台账
        title=_("Register of rented houses and their tenants"),
        description=_(
            "Houses registered as rented or with a current tenant, with the owner and the tenants "
            "(people are shown to those who may see people)."
        ),
        columns=(
            *HOUSE_HEAD,
            *HOUSE_TAIL,
            *HOUSE_OWNER,
            _col("tenants", pgettext_lazy("ledger column", "Tenants"), 10),
            _col("tenant_id_numbers", pgettext_lazy("ledger column", "Tenants' ID numbers"), 21),
            _col("tenant_phones", pgettext_lazy("ledger column", "Tenants' phones"), 14),
            _col("tenant_count", pgettext_lazy("ledger column", "Number of tenants"), 8, text=False),
            _col("since", pgettext_lazy("ledger column", "Rented since"), 12, text=False),
            GRID,
            NOTES,
        ),
        query=_rented,
        row=_rented_row,
        filters=(REGION,),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="vacant_houses",
        # Translators: 空置房屋台账
        title=_("Register of vacant houses"),
        description=_("Houses registered as vacant, with their owner."),
        columns=(
            *HOUSE_HEAD,
            _col("building", pgettext_lazy("ledger column", "Building"), 8),
            _col("unit", pgettext_lazy("ledger column", "Unit"), 6),
            _col("number", pgettext_lazy("ledger column", "House number"), 8),
            *HOUSE_TAIL,
            *HOUSE_OWNER,
            GRID,
            NOTES,
        ),
        query=_vacant,
        row=_vacant_row,
        filters=(REGION,),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="organizations",
        # Translators: 实有单位台账
        title=_("Register of organizations"),
        description=_("Companies, shops, agencies and associations in the area (operating or suspended)."),
        columns=(
            _col("name", pgettext_lazy("ledger column", "Name of the organization"), 28),
            _col("uscc", pgettext_lazy("ledger column", "Unified social credit code"), 21),
            _col("type", pgettext_lazy("ledger column", "Type"), 12),
            _col("industry", pgettext_lazy("ledger column", "Industry"), 12),
            _col("address", pgettext_lazy("ledger column", "Address"), 36),
            _col("legal_representative", pgettext_lazy("ledger column", "Legal representative"), 10),
            _col("contact_name", pgettext_lazy("ledger column", "Contact person"), 10),
            _col("contact_phone", pgettext_lazy("ledger column", "Contact phone"), 14),
            _col("staff_count", pgettext_lazy("ledger column", "Staff"), 8, text=False),
            _col("status", pgettext_lazy("ledger column", "Status"), 8),
            GRID,
            NOTES,
        ),
        query=_organizations,
        row=_organization_row,
        filters=(REGION, ORG_TYPE, ORG_STATUS),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="key_places",
        # Translators: 重点场所台账
        title=_("Register of key places"),
        description=_("Schools, markets, hazardous goods sites and other places grid workers inspect."),
        columns=(
            _col("name", pgettext_lazy("ledger column", "Name of the place"), 24),
            _col("kind", pgettext_lazy("ledger column", "Kind"), 12),
            _col("address", pgettext_lazy("ledger column", "Address"), 36),
            _col("organization", pgettext_lazy("ledger column", "Organization"), 20),
            _col("risk_level", pgettext_lazy("ledger column", "Risk level"), 8),
            _col("risk_notes", pgettext_lazy("ledger column", "Risk notes"), 30),
            GRID,
            NOTES,
        ),
        query=_key_places,
        row=_key_place_row,
        filters=(REGION, PLACE_KIND, RISK_LEVEL),
        perm=P.VIEW_PLACES,
    ),
    Ledger(
        key="special_populations",
        # Translators: 特殊人群台账
        title=_("Register of special populations"),
        description=_(
            "People of the special groups you are granted to see. Every view and export is recorded "
            "in the audit log."
        ),
        columns=_person_columns(_col("category", pgettext_lazy("ledger column", "Group"), 14), SINCE),
        query=_special,
        row=_special_row,
        filters=(*PEOPLE_FILTERS, CATEGORY),
        perm=P.VIEW_PEOPLE,
        restricted=True,
        visible=_special_visible,
        record_view=_special_audit,
    ),
)

# Every registry ledger: its own filter fields; exported masked with ``registry.export_masked``,
# with full ID and phone numbers with ``registry.export`` (and the reveal permission).
LEDGERS: tuple[Ledger, ...] = tuple(
    replace(
        ledger,
        filter_fields=fields_for(ledger.filters),
        check_filters=check_ages if AGE_MIN in ledger.filters else None,
        export_perm=P.EXPORT_MASKED,
        reveal_perm=P.EXPORT,
        reveal_fields=("id_number", "phone"),
    )
    for ledger in _DECLARED
)

BY_KEY: dict[str, Ledger] = {ledger.key: ledger for ledger in LEDGERS}


def ledger_for(user: Viewer, key: str) -> Ledger | None:
    """The ledger ``key`` if the user may know it exists (None for unknown and hidden ones)."""
    ledger = BY_KEY.get(key)
    if ledger is None or (ledger.restricted and not ledger.is_visible_to(user)):
        return None
    return ledger


def ledgers_visible_to(user: Viewer) -> list[Ledger]:
    return [ledger for ledger in LEDGERS if ledger.is_visible_to(user)]
