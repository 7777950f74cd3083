"""The participation app's manifest: navigation, tiles, permissions, events and audit labels.

Each page area keeps its navigation and audit labels below, next to its route list (``urls_*.py``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.participation.permissions import ALL_PERMISSIONS

# Consultations (议事协商), urls_consult.py -----------------------------------------------------------
CONSULT_NAV: tuple[NavEntry, ...] = ()
CONSULT_TILES: tuple[Tile, ...] = ()
CONSULT_AUDIT: dict[str, Any] = {}
CONSULT_EVENTS: tuple[str, ...] = ()


# Disclosure and supervision (居务公开, 民主监督), urls_disclosure.py -------------------------------------
DISCLOSURE_NAV: tuple[NavEntry, ...] = ()
DISCLOSURE_TILES: tuple[Tile, ...] = ()
DISCLOSURE_AUDIT: dict[str, Any] = {}
DISCLOSURE_EVENTS: tuple[str, ...] = ()


# Polls, owners' votes and elections, urls_votes.py ------------------------------------------------
VOTE_NAV: tuple[NavEntry, ...] = ()
VOTE_TILES: tuple[Tile, ...] = ()
VOTE_AUDIT: dict[str, Any] = {}
VOTE_EVENTS: tuple[str, ...] = ()


def audit_labels() -> dict[str, Any]:
    return {**CONSULT_AUDIT, **DISCLOSURE_AUDIT, **VOTE_AUDIT}


COMPONENT = Component(
    name="participation",
    label=_("Participation"),
    nav=(*CONSULT_NAV, *DISCLOSURE_NAV, *VOTE_NAV),
    tiles=(*CONSULT_TILES, *DISCLOSURE_TILES, *VOTE_TILES),
    permissions=ALL_PERMISSIONS,
    events=(*CONSULT_EVENTS, *DISCLOSURE_EVENTS, *VOTE_EVENTS),
    audit_labels=audit_labels,
)
