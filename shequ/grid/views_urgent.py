"""What the pages show of an urgent ticket's alert: for staff, why it is urgent and whom it reached;
for the reporter, whom to call now and what the community is doing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from shequ.core.models import Message, User
from shequ.grid import selectors
from shequ.grid.lifesafety import KINDS, Kind
from shequ.grid.models import AlertLevel, AlertState, UrgentAlert
from shequ.grid.services.urgent import urgent_ack_window

# The three emergency numbers, in the words people know them by.
CALLS: dict[str, Any] = {
    "119": _("Fire and rescue"),
    "110": _("Police"),
    "120": _("Ambulance"),
}
SET_ASIDE: dict[str, Any] = {
    "negated": _("not counted: negated"),
    "past": _("not counted: in the past"),
    "over": _("not counted: said to be over"),
}
WHY: dict[str, Any] = {
    "shift": _("on duty"),
    "fallback": _("fallback (nobody on shift)"),
    "community_head": _("community head"),
    "street": _("street"),
    "none": _("nobody could be reached"),
}


@dataclass(frozen=True)
class Reason:
    phrase: str
    by: str  # "rule" / "model"
    rule: str  # the rule's name (gas_smell …), as in the API
    kind_label: str
    score: float | None
    set_aside: str


def reasons(alert: UrgentAlert) -> list[Reason]:
    """What fired, for staff. The model's phrases can come out empty (no n-gram weighed for it):
    it then shows the words the rules matched, if any, rather than nothing."""
    raw = list(alert.reasons or [])
    rule_phrases = [
        str(r["phrase"]) for r in raw if r.get("by") == "rule" and r.get("phrase") and not r.get("set_aside")
    ]
    out = []
    for r in raw:
        kind = KINDS.get(str(r.get("kind", "")))
        phrase = str(r.get("phrase", ""))
        if not phrase.strip(" ·") and r.get("by") == "model":
            phrase = " · ".join(dict.fromkeys(rule_phrases))
        out.append(
            Reason(
                phrase=phrase,
                by=str(r.get("by", "")),
                rule=str(r.get("rule", "")),
                kind_label=str(kind.label) if kind else "",
                score=r.get("score"),
                set_aside=str(SET_ASIDE.get(str(r.get("set_aside", "")), "")),
            )
        )
    return out


def reached(alert: UrgentAlert) -> list[dict[str, Any]]:
    """Whom each level reached, with names (staff pages only)."""
    ids = {pk for step in alert.reached for pk in step.get("users", [])}
    names = {u.pk: u.name for u in User.objects.filter(pk__in=ids)}
    return [
        {
            "level": AlertLevel(step.get("level", 0)).label,
            "why": WHY.get(str(step.get("why", "")), ""),
            "at": step.get("at", ""),
            "names": [names[pk] for pk in step.get("users", []) if pk in names],
        }
        for step in alert.reached
    ]


def call_order(kind: Kind) -> list[str]:
    """All three numbers, the kind's own first."""
    return [*kind.call, *[n for n in CALLS if n not in kind.call]]


def call_now(alert: UrgentAlert | None) -> dict[str, Any] | None:
    """The reporter's box: the numbers to call (the kind's first), its advice, and the alert's state.
    None when there is no alert or it was cleared as a false alarm."""
    if alert is None or alert.state == AlertState.CLEARED:
        return None
    kind = KINDS.get(alert.kind) or KINDS["other"]
    order = call_order(kind)
    return {
        "alert": alert,
        "life_safety": alert.life_safety,
        "kind_label": kind.label if alert.life_safety else "",
        "advice": kind.advice,
        "calls": [(n, CALLS[n], i == 0) for i, n in enumerate(order)],
        "reached": bool(alert.reached),
        # It went past the on-duty level at once because nobody was on duty (not for lack of an
        # acknowledgement): the box says so rather than "the person on duty did not acknowledge".
        "straight": bool(alert.reached) and int(alert.reached[0].get("level", 0)) > AlertLevel.ON_DUTY,
    }


def summary(alert: UrgentAlert | None, *, staff: bool) -> dict[str, Any] | None:
    """The alert for the API: the numbers to call and what to do for everyone who sees the ticket,
    the reasons for its staff only."""
    if alert is None:
        return None
    kind = KINDS.get(alert.kind) or KINDS["other"]
    return {
        "state": alert.state,
        "level": alert.level,
        "life_safety": alert.life_safety,
        "kind": alert.kind,
        "call": call_order(kind),
        "advice": str(kind.advice),
        "raised_at": alert.raised_at,
        "acknowledged_at": alert.acknowledged_at,
        "reasons": list(alert.reasons or []) if staff else [],
    }


def reporter_panel(message: Message) -> str:
    """Under the reporter's urgent notice in the inbox: the same call box as the confirmation page
    (tap-to-call, the kind's number first, what the community is doing). Nothing once the alarm was
    cleared as a false alarm."""
    if not message.topic_ref.isdigit():
        return ""
    alert = selectors.urgent_alert_by_pk(int(message.topic_ref))
    call = call_now(alert)
    if call is None:
        return ""
    return render_to_string(
        "grid/_message_call_now.html",
        {"call": call, "ack_minutes": int(urgent_ack_window().total_seconds() // 60)},
    )
