"""The disclosure area's domain events; its handlers (``handlers``) turn them into notices."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class DisclosureItemChanged(DomainEvent):
    """An item was drafted, edited, published or withdrawn, or its list or attachments changed."""

    name: ClassVar[str] = "participation.disclosure_item_changed"
    actor_id: int | None
    item_id: int
    region_code: str
    action: str


@register_event
class DisclosureDue(DomainEvent):
    """An expected item is due soon or overdue: a period of a periodic kind (``period_key``) or a
    decided matter's draft (``item_id``)."""

    name: ClassVar[str] = "participation.disclosure_due"
    actor_id: int | None
    region_code: str
    kind: str
    period_key: str = ""
    item_id: int | None = None
    due_at: dt.datetime
    overdue: bool


@register_event
class DisclosureQuestionChanged(DomainEvent):
    """A question or challenge was asked or answered, or its deadline is near or past."""

    name: ClassVar[str] = "participation.disclosure_question_changed"
    actor_id: int | None
    question_id: int
    region_code: str
    action: str  # ask, answer, warn, overdue
