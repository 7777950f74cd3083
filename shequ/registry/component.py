"""The registry's manifest: permissions, events and what waits for a grid worker on the home page.
(Navigation entries, ledgers and stats are added with the pages.)"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, HomeItem, NavEntry
from shequ.core.permissions import Viewer, has_perm
from shequ.registry.ledgers import LEDGERS
from shequ.registry.permissions import ALL_PERMISSIONS
from shequ.registry.permissions import RegistryPerm as P


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def home_items(user: Viewer) -> list[HomeItem]:
    if not has_perm(user, P.VISIT):
        return []
    from shequ.registry.selectors import overdue_follow_ups

    overdue = overdue_follow_ups(viewer=user).count()
    return [
        HomeItem(
            _("Overdue follow-up visits to care residents"),
            overdue,
            _url("registry:follow_ups", "/registry/"),
            "warn",
        )
    ]


COMPONENT = Component(
    name="registry",
    label=_("Base data"),
    nav=(
        NavEntry(_("My grid"), "registry:my_grid", perm=P.VISIT, order=25, icon="grid"),
        NavEntry(_("Base data"), "registry:index", perm=P.VIEW_PLACES, order=30, icon="building"),
        NavEntry(_("Find a person"), "registry:search", perm=P.VIEW_PEOPLE, order=31, icon="search"),
        NavEntry(_("Ledgers"), "registry:ledgers", perm=P.VIEW_PLACES, order=35, icon="table"),
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
    home_items=home_items,
    ledgers=LEDGERS,
)
