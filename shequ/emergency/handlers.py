"""The emergency app's reactions and periodic jobs (imported by EmergencyConfig.ready())."""

from __future__ import annotations

from datetime import timedelta

from shequ.core.events import MessageAcknowledged
from shequ.core.outbox import handles, periodic
from shequ.emergency.models import Answer, MobilizationStatus, Recipient, Response, Via
from shequ.emergency.services import answers, mobilization


@periodic("emergency.chase", every=timedelta(minutes=1))
def chase_the_silent() -> None:
    """Re-send to those who have not answered a call-out, then pass their names to their grid worker."""
    mobilization.chase()


@handles(MessageAcknowledged)
def acknowledged_in_inbox(event: MessageAcknowledged) -> None:
    """The inbox's "Acknowledge" button answers a call-out that asks only for an acknowledgement
    (one asking "safe or need help?" is answered on its page)."""
    if event.topic != answers.TOPIC or not event.topic_ref.isdigit() or event.recipient_id is None:
        return
    recipient = (
        Recipient.objects.select_related("mobilization", "user")
        .filter(mobilization_id=int(event.topic_ref), user_id=event.recipient_id)
        .first()
    )
    if recipient is None or recipient.answered:
        return
    call_out = recipient.mobilization
    if call_out.status != MobilizationStatus.OPEN or call_out.response != Response.ACK:
        return
    answers.record([answers.Given(recipient, Answer.ACK, Via.INBOX)])


# --- Risk-model proposals and IoT alerts (appended by the risk model's part) ----------------------

from shequ.emergency import proposals  # noqa: E402 (the risk model's jobs, kept apart)
from shequ.iot.events import AlertRaised  # noqa: E402


@periodic("emergency.risk_proposals", every=timedelta(minutes=5))
def propose_from_risk() -> None:
    """Assess the communities with hazard devices and propose a draft warning (for staff to issue)
    for each warning type whose level is reached; a live proposal is brought up to date instead."""
    proposals.propose_from_risk()


@handles(AlertRaised)
def alert_raised(event: AlertRaised) -> None:
    """A major or critical gas, smoke or water alert proposes a draft warning for its community."""
    proposals.propose_from_alert(event)


@periodic("emergency.checkins", every=timedelta(minutes=5))
def send_checkin_rounds() -> None:
    """Send each running daily check-in's round at its time; close the rounds of earlier days."""
    from shequ.emergency.services import checkins

    checkins.rounds_due()
