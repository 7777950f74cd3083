"""The texts of the IoT app's notices, in the active language (see ``core.messaging.Notice``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.messaging import Notice
from shequ.iot import labels
from shequ.iot.models import Alert, Severity


def _when(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def alert_raised(alert: Alert, *, place: str) -> Notice:
    """To the staff of the alert's grid and community who handle alerts."""
    severity = str(Severity(alert.severity).label)
    fields = {
        "severity": severity,
        "title": alert.title,
        # An event rule's detail is the event's code ("alarm"): said in words, as on the alert page.
        "detail": labels.alert_detail(alert.detail, alert.rule.kind) or "-",
        "place": place or "-",
        "when": _when(alert.first_at),
    }
    subject = _("[%(severity)s] IoT alert: %(title)s") % fields
    body = (
        _("%(title)s\nWhat: %(detail)s\nWhere: %(place)s\nSince: %(when)s") % fields
        + "\n"
        + (
            _("A ticket is being made for the grid worker; acknowledge the alert in the alert console.")
            if alert.rule.ticket_category
            else _("Acknowledge it in the alert console, clear it with a reason, or open a ticket from it.")
        )
    )
    return Notice(subject=subject, body=body, fields=fields)
