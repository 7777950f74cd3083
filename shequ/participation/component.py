"""The participation app's manifest: navigation, tiles, permissions, events and audit labels.

Each page area keeps its navigation and audit labels below, next to its route list (``urls_*.py``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.participation.permissions import ALL_PERMISSIONS, PartPerm

# Consultations (议事协商), urls_consult.py -----------------------------------------------------------
_RESIDENT = frozenset({Role.RESIDENT})
CONSULT_NAV: tuple[NavEntry, ...] = (
    NavEntry(
        _("Consultations"),
        "participation:consult_home",
        roles=_RESIDENT,
        order=24,
        icon="users",
        tab=pgettext_lazy("tab", "Consult"),
        tab_rank=40,
    ),
    NavEntry(
        _("Consultations"), "participation:consult_staff_list", perm=PartPerm.VIEW, order=62, icon="users"
    ),
    NavEntry(
        _("Comment moderation"),
        "participation:consult_moderation",
        perm=PartPerm.MODERATE,
        order=63,
        icon="flag",
    ),
)
CONSULT_TILES: tuple[Tile, ...] = (
    Tile(
        _("Community consultations"),
        "participation:consult_home",
        "users",
        roles=_RESIDENT,
        order=4,
        hint=_("topics, proposals, meetings and their results"),
    ),
    Tile(
        _("Consultations"),
        "participation:consult_staff_list",
        "users",
        perm=PartPerm.CONSULT,
        order=12,
        query="?stage=open",
        hint=_("collect opinions, meet, decide, carry out"),
    ),
)
CONSULT_AUDIT: dict[str, Any] = {
    "participation.consult_open": _("Consultation topic opened"),
    "participation.consult_propose": _("Consultation topic proposed by a resident"),
    "participation.consult_accept": _("Topic accepted: collecting opinions"),
    "participation.consult_decline": _("Proposed topic declined"),
    "participation.consult_meeting": _("Consultation meeting called"),
    "participation.consult_minutes": _("Meeting minutes recorded"),
    "participation.consult_decide": _("Consultation decision recorded"),
    "participation.consult_implement": _("Carrying out the decision started"),
    "participation.consult_progress": _("Progress update added"),
    "participation.consult_feedback_open": _("Residents asked for feedback"),
    "participation.consult_close": _("Consultation topic closed"),
    "participation.consult_proposal": _("Proposal added to a topic"),
    "participation.consult_support": _("Proposal supported"),
    "participation.consult_unsupport": _("Support of a proposal withdrawn"),
    "participation.consult_comment": _("Comment posted on a topic"),
    "participation.consult_feedback": _("Feedback given on a topic"),
    "participation.consult_report": _("Comment reported"),
    "participation.consult_auto_hide": _("Comment hidden after reports"),
    "participation.consult_hide": _("Comment hidden by a moderator"),
    "participation.consult_restore": _("Comment restored by a moderator"),
    "participation.consult_appeal": _("Appeal against a hidden comment"),
    "participation.consult_appeal_decide": _("Appeal against a hidden comment decided"),
    "participation.consult_file_read": _("Consultation attachment opened"),
}
CONSULT_EVENTS: tuple[str, ...] = ("participation.topic_changed", "participation.comment_moderated")


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
