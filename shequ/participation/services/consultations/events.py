"""The consultations area's domain events; its own handlers (``handlers.py``) turn them into notices
through ``core.messaging``."""

from __future__ import annotations

from typing import ClassVar

from shequ.core.outbox import DomainEvent, register_event


@register_event
class TopicChanged(DomainEvent):
    """A step of a topic: ``action`` as on its timeline, the stage it set."""

    name: ClassVar[str] = "participation.topic_changed"
    actor_id: int | None
    topic_id: int
    region_code: str
    action: str
    to_stage: str


@register_event
class CommentModerated(DomainEvent):
    """A comment hidden (automatically after reports, or by a moderator), restored, appealed, or
    its appeal decided."""

    name: ClassVar[str] = "participation.comment_moderated"
    actor_id: int | None
    comment_id: int
    region_code: str
    action: str
