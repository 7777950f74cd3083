"""Webhook subscriptions' outbox handlers: each subscribable domain event is fanned out to one
delivery per matching subscription (a database handler, in the worker's transaction), and each
delivery is sent signed by an external handler (leases, retries with backoff, a dead letter after
the last attempt).

Only the events below are delivered (``DELIVERED``), however many a resource lists in the catalog:
every handler here adds an outbox task to each emission of its event, so frequent events (a place
changed by an import, every step of an application) are left out until a department needs them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shequ.core.outbox import handles
from shequ.grid.events import TicketClosed
from shequ.iot.events import AlertCleared, AlertRaised
from shequ.registry.events import PersonDied, PersonMovedIn, PersonMovedOut
from shequ.sharing.events import WebhookDue
from shequ.sharing.services import subscriptions

EVENT_LABELS = {
    PersonMovedOut.name: _("A resident moved out"),
    PersonMovedIn.name: _("A resident moved in"),
    PersonDied.name: _("A resident died"),
    TicketClosed.name: _("A grid ticket was closed"),
    AlertRaised.name: _("A device alert was raised"),
    AlertCleared.name: _("A device alert was cleared"),
}
DELIVERED = frozenset(EVENT_LABELS)


@handles(PersonMovedOut)
def person_moved_out(event: PersonMovedOut) -> None:
    subscriptions.fan_out(event.name, "people", event.person_id, event.region_code)


@handles(PersonMovedIn)
def person_moved_in(event: PersonMovedIn) -> None:
    subscriptions.fan_out(event.name, "people", event.person_id, event.region_code)


@handles(PersonDied)
def person_died(event: PersonDied) -> None:
    subscriptions.fan_out(event.name, "people", event.person_id, event.region_code)


@handles(TicketClosed)
def ticket_closed(event: TicketClosed) -> None:
    subscriptions.fan_out(event.name, "tickets", event.ticket_id, event.region_code)


@handles(AlertRaised)
def alert_raised(event: AlertRaised) -> None:
    subscriptions.fan_out(event.name, "alerts", event.alert_id, event.region_code)


@handles(AlertCleared)
def alert_cleared(event: AlertCleared) -> None:
    subscriptions.fan_out(event.name, "alerts", event.alert_id, event.region_code)


def _give_up(event: WebhookDue, error: str) -> None:
    subscriptions.delivery_give_up(event.delivery_id, error)


@handles(WebhookDue, external=True, on_give_up=_give_up)
def send_webhook(event: WebhookDue) -> None:
    subscriptions.deliver(event.delivery_id)
