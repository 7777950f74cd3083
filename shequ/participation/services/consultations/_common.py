"""Helpers shared by the consultation services: refusals, text cleaning, the row lock, the step
record (timeline, audit, event), who a resident is and whether they live in a topic's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import LEVEL_CODE_LENGTH, AuditResult, RegionLevel, User
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer, has_perm
from shequ.core.selectors import resident_regions
from shequ.core.text import bounded_text
from shequ.participation.models import Stage, Topic, TopicStep
from shequ.participation.services.consultations import events
from shequ.registry.models import Person
from shequ.registry.selectors import person_for_account

TITLE_MAX = 100
TEXT_MAX = 5000
COMMENT_MAX = 1000
REASON_MAX = 500
COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]
# Distinct reporters after whom a comment is hidden until a moderator looks at it.
DEFAULT_HIDE_AFTER_REPORTS = 3


def hide_after_reports() -> int:
    return max(1, int(getattr(settings, "PARTICIPATION_HIDE_AFTER_REPORTS", DEFAULT_HIDE_AFTER_REPORTS)))


class TransitionError(ValidationError):
    """The step is not allowed at the topic's present stage (nothing was changed)."""


def now() -> dt.datetime:
    return timezone.now()


# Texts written in a box keep their line breaks (minutes, comments, reasons …); titles, places and
# links are one line.
MULTILINE = frozenset(
    {"description", "body", "comment", "note", "reason", "participants", "minutes", "decision", "text"}
)


def text(value: Any, field: str, max_length: int, *, required: bool = False, label: str = "") -> str:
    return bounded_text(
        value, field, max_length, required=required, label=label, multiline=field in MULTILINE
    )


def allow(topic: Topic, allowed: Iterable[str], step: str) -> None:
    if topic.stage not in set(allowed):
        raise TransitionError(
            _("This topic cannot be %(step)s: it is at the stage “%(stage)s”.")
            % {"step": step, "stage": Stage(topic.stage).label}
        )


def refuse(
    actor: Viewer | None,
    obj: Any,
    action: str,
    why: str,
    *,
    request: HttpRequest | None = None,
    message: str = "",
) -> None:
    """Audit a refused attempt and raise PermissionDenied (the page answers 403 with ``message``)."""
    audit.record(
        f"participation.{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=getattr(obj, "region_code", ""),
        object_type=f"participation.{type(obj).__name__.lower()}"
        if obj is not None
        else "participation.topic",
        object_id=getattr(obj, "pk", ""),
        result=AuditResult.DENIED,
        reason=why,
    )
    raise PermissionDenied(message or _("You may not do this here."))


def require(
    actor: Viewer | None, perm: str, obj: Any, action: str, request: HttpRequest | None = None
) -> None:
    if actor is None or not has_perm(actor, perm, obj.region_code):
        refuse(actor, obj, action, f"needs {perm} for the region", request=request)


def lock(topic: Topic) -> Topic:
    return Topic.objects.select_for_update(of=("self",)).select_related("region").get(pk=topic.pk)


def actor_name(actor: Viewer | None) -> str:
    if actor is None:
        return ""
    return str(getattr(actor, "display_name", "") or getattr(actor, "username", ""))


def save(topic: Topic, *fields: str) -> None:
    topic.updated_at = now()
    topic.save(update_fields=[*dict.fromkeys(fields), "updated_at"])


def record(
    topic: Topic,
    *,
    actor: Viewer | None,
    action: str,
    from_stage: str,
    note: str = "",
    public: bool = True,
    request: HttpRequest | None = None,
    detail: Mapping[str, Any] | None = None,
) -> TopicStep:
    """The timeline row, the audit entry and the event of one step."""
    step = TopicStep.objects.create(
        topic=topic,
        at=now(),
        actor=actor if isinstance(actor, User) else None,
        actor_name=actor_name(actor),
        action=action,
        from_stage=from_stage,
        to_stage=topic.stage,
        note=note,
        public=public,
    )
    audit.record(
        f"participation.consult_{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=topic.region_code,
        object_type="participation.topic",
        object_id=topic.pk,
        detail={"from": from_stage, "to": topic.stage, **dict(detail or {})},
    )
    emit(
        events.TopicChanged(
            actor_id=getattr(actor, "pk", None),
            topic_id=topic.pk,
            region_code=topic.region_code,
            action=action,
            to_stage=topic.stage,
        )
    )
    return step


def move(topic: Topic, stage: str) -> str:
    """Set the new stage and its start; returns the old one."""
    before = topic.stage
    topic.stage = stage
    topic.stage_at = now()
    return before


# --- Residents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resident:
    """A signed-in resident acting as themselves: the account and its registry person."""

    user: User
    person: Person

    @property
    def home_code(self) -> str:
        return self.person.house.region_code if self.person.house is not None else ""

    @property
    def community_code(self) -> str:
        return self.home_code[:COMMUNITY_LENGTH]


def resident_of(user: Viewer | None) -> Resident | None:
    """The account's registry person (linked by mobile number, ``person_for_account``), or None:
    an account without a resident membership or a unique registry record cannot take part."""
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    regions = resident_regions(user)
    if not regions:
        return None
    person = person_for_account(user, [r.code for r in regions])
    if person is None or person.house is None:
        return None
    return Resident(user=user, person=person)


def in_scope(person: Person, topic: Topic) -> bool:
    """Whether the person's home lies in the topic's region and, when it names buildings, in one
    of them."""
    house = person.house
    if house is None or not house.region_code.startswith(topic.region_code):
        return False
    building_ids = set(topic.buildings.values_list("pk", flat=True))
    return not building_ids or house.building_id in building_ids


def scope_words(topic: Topic) -> str:
    names = [str(b) for b in topic.buildings.all()]
    if names:
        return _("%(region)s, buildings: %(buildings)s") % {
            "region": topic.region.name,
            "buildings": "、".join(names),
        }
    return str(topic.region.name)


def require_in_scope(
    user: Viewer | None, topic: Topic, action: str, request: HttpRequest | None = None
) -> Resident:
    """The acting resident, when their registry home lies in the topic's scope; otherwise the
    refusal is audited and a PermissionDenied says who may take part."""
    resident = resident_of(user)
    if resident is None:
        refuse(
            user,
            topic,
            action,
            "not a resident linked to the registry",
            request=request,
            message=_(
                "Only residents whose account is linked to their registry record take part. Ask your "
                "community to check your mobile number in the registry."
            ),
        )
        raise AssertionError  # refuse raised
    if not in_scope(resident.person, topic):
        refuse(
            user,
            topic,
            action,
            "home outside the topic's scope",
            request=request,
            message=_(
                "This topic is for residents of %(scope)s. Your home is not there, so you can read it but "
                "not comment, propose, support or give feedback."
            )
            % {"scope": scope_words(topic)},
        )
    return resident
