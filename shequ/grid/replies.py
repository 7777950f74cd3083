"""Acknowledging an urgent alert by SMS reply: the person on duty at 3 a.m. answers "1" (or "收到",
"确认") to the alert's SMS instead of opening the app.

``route`` is the grid's reply router for the core inbound service (``core.inbound``). It claims an
SMS only when its text is an acknowledgement and its number belongs to exactly one active account
that an open urgent alert has reached; anything else is left to the other routers (a call-out's
"1" is the emergency app's). The acknowledgement is the same as the app's button
(``services.alert_acknowledge``, via "sms"), so the climb stops and the reporter is told.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core.inbound import Received, Routed
from shequ.core.models import InboundOutcome, User
from shequ.grid import services
from shequ.grid.models import AlertState, UrgentAlert

ACK_WORDS = frozenset({"1", "0", "收到", "确认", "好", "ok"})


def is_ack(text: str) -> bool:
    return unicodedata.normalize("NFKC", text or "").strip().strip("。.!！").lower() in ACK_WORDS


def route(batch: Sequence[Received]) -> dict[int, Routed]:
    wanted = [sms for sms in batch if sms.phone_index and is_ack(sms.text)]
    if not wanted:
        return {}
    accounts: dict[str, list[User]] = {}
    for user in User.objects.filter(phone_index__in={s.phone_index for s in wanted}, is_active=True):
        accounts.setdefault(user.phone_index, []).append(user)
    open_alerts = list(
        UrgentAlert.objects.filter(state=AlertState.OPEN).select_related("ticket").order_by("-raised_at")
    )
    verdicts: dict[int, Routed] = {}
    for sms in wanted:
        owners = accounts.get(sms.phone_index, [])
        if len(owners) != 1:  # a number shared by two accounts names nobody
            continue
        user = owners[0]
        reached = [a for a in open_alerts if any(user.pk in step.get("users", []) for step in a.reached)]
        if not reached:
            continue
        for alert in reached:
            services.alert_acknowledge(actor=user, alert=alert, via="sms")
        with override("zh-hans"):
            tickets = "、".join(f"#{a.ticket_id}" for a in reached)
            reply = _(
                "Acknowledged: urgent ticket %(tickets)s is yours. The reporter is told someone is coming."
            ) % {"tickets": tickets}
        verdicts[sms.id] = Routed(InboundOutcome.ANSWERED, reply)
    return verdicts
