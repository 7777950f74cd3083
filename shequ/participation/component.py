"""The participation app's manifest: navigation, tiles, permissions, events and audit labels.

Each page area keeps its navigation and audit labels below, next to its route list (``urls_*.py``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.participation.ledgers import LEDGERS
from shequ.participation.permissions import ALL_PERMISSIONS
from shequ.participation.permissions import PartPerm as P

# Consultations (议事协商), urls_consult.py -----------------------------------------------------------
_RESIDENT = frozenset({Role.RESIDENT})
CONSULT_NAV: tuple[NavEntry, ...] = (
    NavEntry(
        _("Consultations"),
        "participation:consult_home",
        roles=_RESIDENT,
        order=23,
        icon="users",
        tab=pgettext_lazy("tab", "Consult"),
        tab_rank=40,
    ),
    NavEntry(_("Consultations"), "participation:consult_staff_list", perm=P.VIEW, order=62, icon="users"),
    NavEntry(
        _("Comment moderation"),
        "participation:consult_moderation",
        perm=P.MODERATE,
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
        perm=P.CONSULT,
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
VOTE_NAV: tuple[NavEntry, ...] = (
    NavEntry(_("My votes"), "participation:my_votes", roles=_RESIDENT, order=25, icon="check"),
    NavEntry(_("Votes and elections"), "participation:votes", perm=P.VIEW, order=66, icon="check"),
)
VOTE_TILES: tuple[Tile, ...] = (
    Tile(
        _("Votes"),
        "participation:my_votes",
        "check",
        roles=_RESIDENT,
        order=5,
        count="open_votes",
        tone="warn",
        hint=_("decisions, owners' votes, elections"),
    ),
    Tile(
        _("Votes and elections"),
        "participation:votes",
        "check",
        perm=P.RUN_VOTES,
        order=30,
        count="votes_running",
        hint=_("being prepared, open or counting"),
    ),
)
VOTE_AUDIT: dict[str, Any] = {
    "participation.vote_create": _("Vote created"),
    "participation.vote_schedule": _("Voting times set"),
    "participation.option_add": _("Option or candidate added"),
    "participation.option_withdraw": _("Option or candidate removed"),
    "participation.candidates_finalize": _("Candidate list fixed"),
    "participation.trustee_add": _("Trustee named"),
    "participation.trustee_key": _("Trustee's key share registered"),
    "participation.roll_compute": _("Electorate computed from the registry"),
    "participation.roll_publish": _("Voter list published"),
    "participation.voter_add": _("Voter added to the list"),
    "participation.voter_remove": _("Voter removed from the list"),
    "participation.objection_file": _("Objection to the voter list"),
    "participation.objection_decide": _("Objection decided"),
    "participation.proxy_record": _("Written proxy recorded"),
    "participation.vote_open": _("Vote opened"),
    "participation.vote_close": _("Vote closed"),
    "participation.trustee_decrypt": _("Trustee's share of the count given"),
    "participation.vote_decided": _("Result announced"),
    "participation.by_election_create": _("By-election called"),
}
VOTE_EVENTS: tuple[str, ...] = ("participation.vote_changed",)


def vote_counts(user: Any) -> dict[str, int]:
    from shequ.core.permissions import has_perm
    from shequ.participation.models import VoteStatus
    from shequ.participation.selectors_votes import resident_votes, vote_list
    from shequ.participation.services.votes.casting import voted_in, voting_now

    counts: dict[str, int] = {}
    if has_perm(user, P.RUN_VOTES):
        running = (VoteStatus.DRAFT, VoteStatus.OPEN, VoteStatus.CLOSED)
        counts["votes_running"] = vote_list(viewer=user).filter(status__in=running).count()
    if getattr(user, "is_authenticated", False):
        found = [(vote, lines) for vote, lines in resident_votes(user, open_only=True) if voting_now(vote)]
        voted = voted_in([(vote, [v for v, _p in lines]) for vote, lines in found])
        counts["open_votes"] = sum(1 for _vote, lines in found if any(v.pk not in voted for v, _p in lines))
    return counts


def tile_counts(user: Any) -> dict[str, int]:
    return {**disclosure_tile_counts(user), **vote_counts(user)}


def audit_labels() -> dict[str, Any]:
    return {**CONSULT_AUDIT, **DISCLOSURE_AUDIT, **VOTE_AUDIT}


COMPONENT = Component(
    name="participation",
    label=_("Participation"),
    nav=(*CONSULT_NAV, *DISCLOSURE_NAV, *VOTE_NAV),
    tiles=(*CONSULT_TILES, *DISCLOSURE_TILES, *VOTE_TILES),
    tile_counts=tile_counts,
    ledgers=LEDGERS,
    permissions=ALL_PERMISSIONS,
    events=(*CONSULT_EVENTS, *DISCLOSURE_EVENTS, *VOTE_EVENTS),
    audit_labels=audit_labels,
)
