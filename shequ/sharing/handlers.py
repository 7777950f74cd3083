"""Webhook subscriptions' outbox handlers: each subscribable domain event is fanned out to one
delivery per matching subscription (a database handler, in the worker's transaction), and each
delivery is sent signed by an external handler (leases, retries with backoff, a dead letter after
the last attempt).

The catalog names the events a department may subscribe to (``DataResource.events``); the grid's
ticket closing is ``grid.ticket_closed``, read from ``grid.ticket_changed`` when the ticket enters
the closed status (the grid has no event of its own for it).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.outbox import handles
from shequ.grid.events import TicketChanged
from shequ.iot.events import AlertRaised
from shequ.registry.events import PersonDied, PersonMovedIn, PersonMovedOut
from shequ.sharing.events import WebhookDue
from shequ.sharing.services import subscriptions

TICKET_CLOSED = "grid.ticket_closed"
CLOSED_STATUS = "closed"  # the grid's Status.CLOSED value
EVENT_LABELS = {
    "registry.person_moved_out": _("A resident moved out"),
    "registry.person_moved_in": _("A resident moved in"),
    "registry.person_died": _("A resident died"),
    TICKET_CLOSED: _("A grid ticket was closed"),
    "iot.alert_raised": _("A device alert was raised"),
}


@handles(PersonMovedOut)
def person_moved_out(event: PersonMovedOut) -> None:
    subscriptions.fan_out(event.name, event.person_id, event.region_code)


@handles(PersonMovedIn)
def person_moved_in(event: PersonMovedIn) -> None:
    subscriptions.fan_out(event.name, event.person_id, event.region_code)


@handles(PersonDied)
def person_died(event: PersonDied) -> None:
    subscriptions.fan_out(event.name, event.person_id, event.region_code)


@handles(TicketChanged)
def ticket_changed(event: TicketChanged) -> None:
    if event.to_status == CLOSED_STATUS and event.from_status != CLOSED_STATUS:
        subscriptions.fan_out(TICKET_CLOSED, event.ticket_id, event.region_code)


@handles(AlertRaised)
def alert_raised(event: AlertRaised) -> None:
    subscriptions.fan_out(event.name, event.alert_id, event.region_code)


def _give_up(event: WebhookDue, error: str) -> None:
    subscriptions.delivery_give_up(event.delivery_id, error)


@handles(WebhookDue, external=True, on_give_up=_give_up)
def send_webhook(event: WebhookDue) -> None:
    subscriptions.deliver(event.delivery_id)
