"""Answers to call-outs by SMS reply: "1" or "安全" is safe, "2" or "求助" needs help, "0" or "收到"
acknowledges; what follows the keyword is where the person is ("2 5栋301 腿受伤了").

``parse`` reads one text; ``route`` is the reply router the core inbound service calls with each
batch of SMS from the gateway (``core.inbound``): it claims the SMS whose number it is waiting for
(a recipient of an open call-out, the newest one first), records the answers in bulk and says what
to reply. A text it cannot read changes nothing and is answered with the keywords to use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core.inbound import Received, Routed
from shequ.core.models import InboundOutcome
from shequ.emergency.models import Answer, Mobilization, MobilizationStatus, Recipient, Response, Via

LOCATION_MAX = 200

# Keyword → answer. Longest keywords first, so that "不安全" is read before "安全".
_KEYWORDS: list[tuple[str, str]] = sorted(
    [
        ("0", Answer.ACK),
        ("收到", Answer.ACK),
        ("确认", Answer.ACK),
        ("已收到", Answer.ACK),
        ("ok", Answer.ACK),
        ("1", Answer.SAFE),
        ("安全", Answer.SAFE),
        ("平安", Answer.SAFE),
        ("我安全", Answer.SAFE),
        ("safe", Answer.SAFE),
        ("2", Answer.HELP),
        ("求助", Answer.HELP),
        ("救命", Answer.HELP),
        ("需要帮助", Answer.HELP),
        ("帮助", Answer.HELP),
        ("不安全", Answer.HELP),
        ("help", Answer.HELP),
        ("sos", Answer.HELP),
    ],
    key=lambda pair: -len(pair[0]),
)
# Check-in rounds: "1" all well, "2" something wrong.
_CHECKIN: dict[str, str] = {
    Answer.SAFE: Answer.NORMAL,
    Answer.ACK: Answer.NORMAL,
    Answer.HELP: Answer.ABNORMAL,
}
_SEPARATORS = re.compile(r"^[\s,，.。:：;；、!！#＃\-]+")


@dataclass(frozen=True)
class Parsed:
    answer: str  # an Answer, or "" when the text was not understood
    location: str = ""


def parse(text: str) -> Parsed:
    """Read one reply. Full-width digits and letters count ("２"); a keyword must be followed by
    nothing, a separator or the place ("2 5栋301"); "12" or "好的吧" are not understood."""
    folded = unicodedata.normalize("NFKC", text or "").strip()
    lowered = folded.lower()
    for keyword, answer in _KEYWORDS:
        if not lowered.startswith(keyword):
            continue
        rest = folded[len(keyword) :]
        if rest and keyword.isascii() and (rest[0].isascii() and rest[0].isalnum()):
            continue  # "12", "okay": not this keyword
        location = _SEPARATORS.sub("", rest).strip()
        return Parsed(answer, " ".join(location.split())[:LOCATION_MAX])
    return Parsed("")


def _fits(mobilization: Mobilization, answer: str) -> str:
    """The answer as this call-out asks for it, or "" when it does not fit (e.g. "收到" to a
    call-out asking whether the person is safe)."""
    if mobilization.response == Response.CHECKIN:
        return _CHECKIN.get(answer, "")
    if mobilization.response == Response.STATUS:
        return answer if answer in (Answer.SAFE, Answer.HELP) else ""
    return Answer.ACK if answer in (Answer.ACK, Answer.SAFE) else answer if answer == Answer.HELP else ""


def keywords_hint(mobilization: Mobilization) -> str:
    """What to reply, as the call-out's SMS and every "not understood" answer say it."""
    if mobilization.response == Response.STATUS:
        return _("Reply 1 if you are safe, 2 if you need help (add where you are: 2 Building 5 room 301).")
    if mobilization.response == Response.CHECKIN:
        return _("Reply 1 if all is well, 2 if something is wrong (add what: 2 fever).")
    return _("Reply 0 to confirm you received this; 2 if you need help.")


def route(batch: Sequence[Received]) -> dict[int, Routed]:
    """The core inbound service's router: claim the SMS from numbers an open call-out waits on."""
    from shequ.emergency.services import answers

    indexes = {sms.phone_index for sms in batch if sms.phone_index}
    if not indexes:
        return {}
    # The newest open call-out of each number (a person in two call-outs answers the latest).
    latest: dict[str, Recipient] = {}
    candidates = (
        Recipient.objects.filter(phone_index__in=indexes, mobilization__status=MobilizationStatus.OPEN)
        .select_related("mobilization")
        .order_by("phone_index", "-mobilization__created_at", "-pk")
    )
    for recipient in candidates:
        latest.setdefault(recipient.phone_index, recipient)
    verdicts: dict[int, Routed] = {}
    taken: list[answers.Given] = []
    with override("zh-hans"):
        for sms in batch:
            found = latest.get(sms.phone_index)
            if found is None:
                continue
            recipient = found
            mobilization = recipient.mobilization
            parsed = parse(sms.text)
            answer = _fits(mobilization, parsed.answer) if parsed.answer else ""
            if not answer:
                verdicts[sms.id] = Routed(
                    InboundOutcome.MALFORMED,
                    _("Not understood: nothing was recorded. %(hint)s")
                    % {"hint": keywords_hint(mobilization)},
                )
                continue
            try:
                given = answers.clean_given(
                    answers.Given(
                        recipient=recipient,
                        answer=answer,
                        via=Via.SMS,
                        location=parsed.location,
                        at=sms.received_at,
                    )
                )
            except ValidationError:  # e.g. a control character in the place: not recorded
                verdicts[sms.id] = Routed(
                    InboundOutcome.MALFORMED,
                    _("Not understood: nothing was recorded. %(hint)s")
                    % {"hint": keywords_hint(mobilization)},
                )
                continue
            taken.append(given)
            verdicts[sms.id] = Routed(InboundOutcome.ANSWERED, answers.confirmation(mobilization, answer))
        answers.record(taken)
    return verdicts
