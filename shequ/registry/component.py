"""The registry's manifest: navigation, home tiles, permissions, events, ledgers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.permissions import Viewer, has_perm
from shequ.registry.indicators import STATS
from shequ.registry.ledgers import LEDGERS
from shequ.registry.permissions import ALL_PERMISSIONS
from shequ.registry.permissions import RegistryPerm as P
from shequ.registry.resources import RESOURCES


def tile_counts(user: Viewer) -> dict[str, int]:
    if not has_perm(user, P.VISIT):
        return {}
    from shequ.registry.selectors import overdue_follow_ups

    return {"follow_ups": overdue_follow_ups(viewer=user).count()}


AUDIT_LABELS = {
    "registry.person_register": _("Person registered"),
    "registry.person_correct": _("Person's data corrected"),
    "registry.person_death": _("Death recorded"),
    "registry.person_move": _("Person moved within the area"),
    "registry.person_move_in": _("Person moved in"),
    "registry.person_move_out": _("Person moved out"),
    "registry.residence_add": _("Residence added"),
    "registry.residence_end": _("Residence ended"),
    "registry.household_create": _("Household created"),
    "registry.household_add_member": _("Household member added"),
    "registry.household_remove_member": _("Household member removed"),
    "registry.household_set_head": _("Head of household changed"),
    "registry.household_set_relation": _("Relation to the head changed"),
    "registry.household_move": _("Household moved"),
    "registry.road_create": _("Road created"),
    "registry.building_create": _("Building created"),
    "registry.building_update": _("Building changed"),
    "registry.unit_create": _("Unit created"),
    "registry.house_create": _("House created"),
    "registry.house_update": _("House changed"),
    "registry.organization_create": _("Organization created"),
    "registry.organization_update": _("Organization changed"),
    "registry.key_place_create": _("Key place created"),
    "registry.key_place_update": _("Key place changed"),
    "registry.tag_add": _("Tag added"),
    "registry.tag_end": _("Tag ended"),
    "registry.tag_verify": _("Tag verified"),
    "registry.tag_view": _("Restricted tags viewed"),
    "registry.tag_grant": _("Tag access granted"),
    "registry.tag_grant_revoke": _("Tag access revoked"),
    "registry.visit_record": _("Visit recorded"),
    "registry.visit_follow_up": _("Visit follow-up done"),
    "registry.import": _("Data imported"),
    "registry.import_check": _("Import file checked"),
    "registry.import_errors": _("Import error list downloaded"),
    "registry.export": _("Data exported"),
    "registry.ledger_export": _("Ledger exported"),
    "registry.demo_load": _("Demo data loaded"),
}


COMPONENT = Component(
    name="registry",
    label=_("Base data"),
    resources=RESOURCES,
    nav=(
        NavEntry(
            _("My grid"),
            "registry:my_grid",
            perm=P.VISIT,
            order=25,
            icon="visit",
            tab=pgettext_lazy("tab", "Visits"),
            tab_rank=25,
        ),
        NavEntry(_("Grid map"), "registry:map", perm=P.VIEW_PLACES, order=26, icon="map"),
        NavEntry(_("Base data"), "registry:index", perm=P.VIEW_PLACES, order=30, icon="building"),
        NavEntry(
            _("Find a person"),
            "registry:search",
            perm=P.VIEW_PEOPLE,
            order=31,
            icon="search",
            tab=_("People"),
            tab_rank=30,
        ),
        NavEntry(_("Ledgers"), "reports:ledgers", perm=P.VIEW_PLACES, order=35, icon="table"),
    ),
    permissions=ALL_PERMISSIONS,
    events=(
        "registry.person_registered",
        "registry.person_moved_in",
        "registry.person_moved_out",
        "registry.person_moved",
        "registry.person_died",
        "registry.person_corrected",
        "registry.residence_changed",
        "registry.household_changed",
        "registry.tag_added",
        "registry.tag_ended",
        "registry.tag_verified",
        "registry.tag_grant_changed",
        "registry.place_changed",
        "registry.visit_recorded",
    ),
    tiles=(
        Tile(pgettext_lazy("tab", "Visits"), "registry:my_grid", "visit", perm=P.VISIT, order=20),
        Tile(
            _("Follow-up visits"),
            "registry:follow_ups",
            "calendar",
            perm=P.VISIT,
            order=21,
            count="follow_ups",
            tone="warn",
            hint=_("overdue"),
            hide_zero=True,
        ),
        Tile(_("Find a person"), "registry:search", "search", perm=P.VIEW_PEOPLE, order=22),
        Tile(_("Grid map"), "registry:map", "map", perm=P.VISIT, order=23),
        Tile(_("Base data"), "registry:index", "building", perm=P.VIEW_PLACES, order=30),
        Tile(_("Ledgers"), "reports:ledgers", "table", perm=P.VIEW_PLACES, order=31),
    ),
    tile_counts=tile_counts,
    ledgers=LEDGERS,
    stats=STATS,
    audit_labels=lambda: AUDIT_LABELS,
)
