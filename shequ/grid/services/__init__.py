"""Every write to a ticket: one service per workflow step, each with its permission check, its
audit entry, its ``TicketAction`` and its domain event in one transaction. An illegal step (a
department resolving a ticket it never accepted, a rating on an open ticket) is refused with a
``TransitionError`` that says what the ticket's state allows; a refused permission is audited and
raises ``PermissionDenied``; bad input raises ``ValidationError`` and changes nothing.

``actor=None`` is the platform itself (imports, sensors, the deadline jobs, the demo).

The life of a ticket::

    submitted ──accept──▶ accepted ──dispatch──▶ dispatched ──dept_accept──▶ dept_accepted
        │                   │  ▲                     │                          │ respond
        │ close_on_spot     │  └──── dept_return ────┴──────────────────────────┤
        ▼                   │ handle (the community resolves it itself)         ▼
      closed ◀── rate ≥ 3 ── verified ◀── verify ── resolved ◀── resolve ── in_progress
                   │ rate ≤ 2
                   ▼
               reopened ──supervise──▶ dispatched / accepted / closed

One module per stage of that life (``intake``, ``urgent``, ``dispatch``, ``department``,
``extensions``, ``verification``, ``photos``, ``deadline_jobs``); shared helpers in ``_common``. This package
re-exports their public functions, so ``services.ticket_submit(...)`` keeps working.
"""

from __future__ import annotations

from shequ.grid.services._common import (
    COMMENT_MAX,
    EXTENSION_MAX_DAYS,
    LOW_RATING,
    MAX_PHOTOS,
    MAX_TICKET_PHOTOS,
    PHOTO_MAX_BYTES,
    PHOTO_MAX_PIXELS,
    PHOTO_TYPES,
    RATING_WINDOW_DAYS,
    STAFF_SOURCES,
    TEXT_MAX,
    TITLE_MAX,
    UNCOUNTED_ACTIONS,
    TransitionError,
    _community_code,
    default_department,
    resolve_due,
    response_due,
    route,
)
from shequ.grid.services.deadline_jobs import close_unrated, escalate_overdue, warn_due
from shequ.grid.services.department import (
    ticket_department_accept,
    ticket_department_return,
    ticket_resolve,
    ticket_respond,
)
from shequ.grid.services.dispatch import ticket_dispatch, ticket_handle
from shequ.grid.services.extensions import extension_decide, extension_request
from shequ.grid.services.intake import (
    classifier_suggestions,
    clean_category,
    record_suggestion,
    suggest,
    ticket_accept,
    ticket_close_on_spot,
    ticket_merge,
    ticket_recategorize,
    ticket_submit,
)
from shequ.grid.services.photos import ticket_add_photos
from shequ.grid.services.recipients import department_staff, region_staff
from shequ.grid.services.routing import routing_rule_delete, routing_rule_set
from shequ.grid.services.urgent import (
    alert_acknowledge,
    alert_clear,
    alert_reached,
    escalate_unacknowledged,
    urgent_ack_window,
)
from shequ.grid.services.verification import (
    Decision,
    ticket_comment,
    ticket_rate,
    ticket_supervise,
    ticket_verify,
)

__all__ = [
    "COMMENT_MAX",
    "EXTENSION_MAX_DAYS",
    "LOW_RATING",
    "MAX_PHOTOS",
    "MAX_TICKET_PHOTOS",
    "PHOTO_MAX_BYTES",
    "PHOTO_MAX_PIXELS",
    "PHOTO_TYPES",
    "RATING_WINDOW_DAYS",
    "STAFF_SOURCES",
    "TEXT_MAX",
    "TITLE_MAX",
    "UNCOUNTED_ACTIONS",
    "Decision",
    "TransitionError",
    "_community_code",
    "alert_acknowledge",
    "alert_clear",
    "alert_reached",
    "classifier_suggestions",
    "clean_category",
    "close_unrated",
    "default_department",
    "department_staff",
    "escalate_overdue",
    "escalate_unacknowledged",
    "extension_decide",
    "extension_request",
    "record_suggestion",
    "region_staff",
    "resolve_due",
    "response_due",
    "route",
    "routing_rule_delete",
    "routing_rule_set",
    "suggest",
    "ticket_accept",
    "ticket_add_photos",
    "ticket_close_on_spot",
    "ticket_comment",
    "ticket_department_accept",
    "ticket_department_return",
    "ticket_dispatch",
    "ticket_handle",
    "ticket_merge",
    "ticket_rate",
    "ticket_recategorize",
    "ticket_resolve",
    "ticket_respond",
    "ticket_submit",
    "ticket_supervise",
    "ticket_verify",
    "urgent_ack_window",
    "warn_due",
]
