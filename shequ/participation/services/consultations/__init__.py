"""Every write of the consultations area (议事协商), one module per concern: topics and their stages
(``topics``), proposals, support, comments and feedback (``opinions``), moderation
(``moderation``), sealed files (``files``). The events and their notice handlers live here too;
importing the package registers the handlers (``ParticipationConfig.ready`` imports it)."""

from shequ.participation.services.consultations import handlers as _handlers  # noqa: F401 (registers)
from shequ.participation.services.consultations.moderation import (
    appeal_decide,
    comment_appeal,
    comment_hide,
    comment_report,
    comment_restore,
)
from shequ.participation.services.consultations.opinions import (
    comment_add,
    feedback_give,
    proposal_add,
    proposal_support,
    proposal_unsupport,
)
from shequ.participation.services.consultations.topics import (
    feedback_open,
    implementation_start,
    meeting_record,
    meeting_schedule,
    progress_add,
    topic_accept,
    topic_close,
    topic_decide,
    topic_decline,
    topic_open,
    topic_propose,
)

__all__ = [
    "appeal_decide",
    "comment_add",
    "comment_appeal",
    "comment_hide",
    "comment_report",
    "comment_restore",
    "feedback_give",
    "feedback_open",
    "implementation_start",
    "meeting_record",
    "meeting_schedule",
    "progress_add",
    "proposal_add",
    "proposal_support",
    "proposal_unsupport",
    "topic_accept",
    "topic_close",
    "topic_decide",
    "topic_decline",
    "topic_open",
    "topic_propose",
]
