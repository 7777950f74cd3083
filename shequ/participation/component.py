"""The participation app's manifest: navigation, tiles, permissions, events and audit labels.

Each page area keeps its navigation and audit labels below, next to its route list (``urls_*.py``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.participation.permissions import ALL_PERMISSIONS
from shequ.participation.permissions import PartPerm as P

# Consultations (议事协商), urls_consult.py -----------------------------------------------------------
CONSULT_NAV: tuple[NavEntry, ...] = ()
CONSULT_TILES: tuple[Tile, ...] = ()
CONSULT_AUDIT: dict[str, Any] = {}
CONSULT_EVENTS: tuple[str, ...] = ()


# Disclosure and supervision (居务公开, 民主监督), urls_disclosure.py -------------------------------------
_RESIDENT = frozenset({Role.RESIDENT})
DISCLOSURE_NAV: tuple[NavEntry, ...] = (
    NavEntry(
        _("Community disclosure"), "participation:disclosure_mine", roles=_RESIDENT, order=24, icon="table"
    ),
    NavEntry(
        _("Disclosure (居务公开)"), "participation:disclosure_items", perm=P.VIEW, order=60, icon="table"
    ),
    NavEntry(
        _("Disclosure questions"), "participation:disclosure_questions", perm=P.VIEW, order=61, icon="inbox"
    ),
    NavEntry(
        _("Democratic supervision"),
        "participation:disclosure_supervision",
        perm=P.SUPERVISE,
        order=62,
        icon="check",
    ),
)
DISCLOSURE_TILES: tuple[Tile, ...] = (
    Tile(
        _("Community disclosure"),
        "participation:disclosure_mine",
        "table",
        roles=_RESIDENT,
        order=5,
        hint=_("finances and affairs made public; ask or challenge"),
    ),
    Tile(
        _("Disclosure questions to answer"),
        "participation:disclosure_questions",
        "inbox",
        perm=P.DISCLOSE,
        order=9,
        count="disclosure_questions",
        tone="warn",
        query="?status=open",
        hint=_("residents' questions and challenges"),
    ),
    Tile(
        _("Unanswered challenges"),
        "participation:disclosure_supervision",
        "check",
        perm=P.SUPERVISE,
        order=9,
        count="disclosure_overdue",
        tone="bad",
        hide_zero=True,
        hint=_("past their deadline"),
    ),
)
DISCLOSURE_AUDIT: dict[str, Any] = {
    "participation.disclosure_create": _("Disclosure draft written"),
    "participation.disclosure_update": _("Disclosure draft edited"),
    "participation.disclosure_delete": _("Disclosure draft deleted"),
    "participation.disclosure_list": _("Disclosed list entered (masked)"),
    "participation.disclosure_publish": _("Disclosure published"),
    "participation.disclosure_withdraw": _("Disclosure withdrawn"),
    "participation.disclosure_file_read": _("Disclosure attachment opened by staff"),
    "participation.disclosure_ask": _("Question or challenge raised on a disclosure"),
    "participation.disclosure_answer": _("Question or challenge answered"),
}
DISCLOSURE_EVENTS: tuple[str, ...] = (
    "participation.disclosure_item_changed",
    "participation.disclosure_due",
    "participation.disclosure_question_changed",
)


def disclosure_tile_counts(user: Any) -> dict[str, int]:
    """Open questions where the user answers them; overdue ones where the user supervises."""
    from django.utils import timezone

    from shequ.core.permissions import has_perm, scope_q
    from shequ.participation.models import DisclosureQuestion, QuestionStatus

    counts: dict[str, int] = {}
    open_ = DisclosureQuestion.objects.filter(status=QuestionStatus.OPEN)
    if has_perm(user, P.DISCLOSE):
        counts["disclosure_questions"] = open_.filter(scope_q(user, P.DISCLOSE)).count()
    if has_perm(user, P.SUPERVISE):
        counts["disclosure_overdue"] = open_.filter(
            scope_q(user, P.SUPERVISE), due_at__lt=timezone.now()
        ).count()
    return counts


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
    tile_counts=disclosure_tile_counts,
)
