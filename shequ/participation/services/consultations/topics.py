"""A topic's life, one function per step: staff open a topic (or a resident proposes one, which
staff accept or decline), schedule and record the meeting, record the decision, carry it out with
progress updates, ask residents for feedback and close it. Each step checks the stage under the
row lock (a wrong stage is refused with the stage named, nothing written), writes its timeline
row, its audit entry and its event in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shequ.core.models import Region, RegionLevel, User
from shequ.core.permissions import Viewer
from shequ.participation.models import FileKind, ProgressUpdate, Stage, Topic
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.consultations import _common as c
from shequ.participation.services.consultations import files as topic_files
from shequ.registry.models import Building

SCOPE_LEVELS = frozenset({RegionLevel.GRID, RegionLevel.COMMUNITY})
MAX_BUILDINGS = 50


def _title_and_description(title: Any, description: Any) -> tuple[str, str]:
    title = c.text(title, "title", c.TITLE_MAX, required=True, label=pgettext("consultation", "Title"))
    description = c.text(description, "description", c.TEXT_MAX, required=True, label=_("Description"))
    return title, description


def _buildings(region: Region, buildings: Sequence[Building]) -> list[Building]:
    chosen = list({b.pk: b for b in buildings}.values())
    if len(chosen) > MAX_BUILDINGS:
        raise ValidationError({"buildings": _("Choose at most %(n)d buildings.") % {"n": MAX_BUILDINGS}})
    outside = [b for b in chosen if not b.region_code.startswith(region.code)]
    if outside:
        raise ValidationError(
            {
                "buildings": _("These buildings are not in %(region)s: %(names)s.")
                % {"region": region.name, "names": "、".join(str(b) for b in outside)}
            }
        )
    return chosen


def topic_open(
    *,
    actor: Viewer,
    region: Region,
    title: str,
    description: str,
    buildings: Sequence[Building] = (),
    request: HttpRequest | None = None,
) -> Topic:
    """Staff open a topic for opinions (征集意见) in a grid or community of theirs."""
    if region.level not in SCOPE_LEVELS:
        raise ValidationError({"region": _("A topic belongs to a grid or a community: choose one.")})
    c.require(actor, P.CONSULT, region, "consult_open", request)
    title, description = _title_and_description(title, description)
    chosen = _buildings(region, buildings)
    with transaction.atomic():
        now = c.now()
        topic = Topic.objects.create(
            region=region,
            region_code=region.code,
            title=title,
            description=description,
            proposer_user=actor if isinstance(actor, User) else None,
            proposer_name=c.actor_name(actor),
            stage=Stage.COLLECTING,
            stage_at=now,
            created_at=now,
            updated_at=now,
        )
        topic.buildings.set(chosen)
        c.record(
            topic,
            actor=actor,
            action="open",
            from_stage="",
            request=request,
            detail={"buildings": len(chosen)},
        )
    return topic


def topic_propose(
    *, actor: Viewer, title: str, description: str, request: HttpRequest | None = None
) -> Topic:
    """A resident proposes a topic for their community; it waits for staff to accept it."""
    resident = c.resident_of(actor)
    if resident is None:
        c.refuse(
            actor,
            None,
            "consult_propose",
            "not a resident linked to the registry",
            request=request,
            message=_(
                "Only residents whose account is linked to their registry record can propose a topic. "
                "Ask your community to check your mobile number in the registry."
            ),
        )
        raise AssertionError  # refuse raised
    title, description = _title_and_description(title, description)
    community = Region.objects.filter(code=resident.community_code, level=RegionLevel.COMMUNITY).first()
    if community is None:
        raise ValidationError(_("Your home is not in a community of the platform."))
    with transaction.atomic():
        now = c.now()
        topic = Topic.objects.create(
            region=community,
            region_code=community.code,
            title=title,
            description=description,
            proposer_person=resident.person,
            proposer_user=resident.user,
            proposer_name=resident.person.name,
            proposed_by_resident=True,
            stage=Stage.PROPOSED,
            stage_at=now,
            created_at=now,
            updated_at=now,
        )
        c.record(topic, actor=actor, action="propose", from_stage="", request=request)
    return topic


def topic_accept(*, actor: Viewer, topic: Topic, note: str = "", request: HttpRequest | None = None) -> Topic:
    c.require(actor, P.CONSULT, topic, "consult_accept", request)
    note = c.text(note, "note", c.REASON_MAX)
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.PROPOSED}, pgettext("consultation step", "accepted"))
        before = c.move(topic, Stage.COLLECTING)
        c.save(topic, "stage", "stage_at")
        c.record(topic, actor=actor, action="accept", from_stage=before, note=note, request=request)
    return topic


def topic_decline(*, actor: Viewer, topic: Topic, reason: str, request: HttpRequest | None = None) -> Topic:
    """Staff decline a resident's proposal with the reason the proposer reads."""
    c.require(actor, P.CONSULT, topic, "consult_decline", request)
    reason = c.text(reason, "reason", c.REASON_MAX, required=True, label=_("The reason"))
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.PROPOSED}, pgettext("consultation step", "declined"))
        before = c.move(topic, Stage.DECLINED)
        topic.decline_reason = reason
        c.save(topic, "stage", "stage_at", "decline_reason")
        c.record(topic, actor=actor, action="decline", from_stage=before, note=reason, request=request)
    return topic


def meeting_schedule(
    *,
    actor: Viewer,
    topic: Topic,
    at: dt.datetime | None,
    place: str = "",
    link: str = "",
    request: HttpRequest | None = None,
) -> Topic:
    """Close the collection of opinions and call the meeting (协商会议): when and where (a place,
    an online link, or both)."""
    c.require(actor, P.CONSULT, topic, "consult_meeting", request)
    if at is None:
        raise ValidationError({"meeting_at": _("Give the meeting's date and time.")})
    if timezone.is_naive(at):
        raise ValidationError({"meeting_at": _("Give the meeting's date and time.")})
    place = c.text(place, "meeting_place", 200, label=_("Place"))
    link = c.text(link, "meeting_link", 300, label=_("Online link"))
    if link and not link.startswith(("https://", "http://")):
        raise ValidationError({"meeting_link": _("The online link must start with https://.")})
    if not place and not link:
        raise ValidationError({"meeting_place": _("Give the place of the meeting or its online link.")})
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.COLLECTING}, pgettext("consultation step", "called to a meeting"))
        before = c.move(topic, Stage.MEETING)
        topic.meeting_at, topic.meeting_place, topic.meeting_link = at, place, link
        c.save(topic, "stage", "stage_at", "meeting_at", "meeting_place", "meeting_link")
        c.record(
            topic,
            actor=actor,
            action="meeting",
            from_stage=before,
            request=request,
            detail={"at": at.isoformat(), "online": bool(link)},
        )
    return topic


def meeting_record(
    *,
    actor: Viewer,
    topic: Topic,
    participants: str,
    participant_count: Any,
    minutes: str,
    files: Sequence[UploadedFile] = (),
    files_public: bool = False,
    request: HttpRequest | None = None,
) -> Topic:
    """Record who took part, how many, the minutes, and attachments (the sign-in sheet, the signed
    minutes); may be corrected until the decision is recorded."""
    c.require(actor, P.CONSULT, topic, "consult_minutes", request)
    participants = c.text(participants, "participants", 2000, required=True, label=_("Participants"))
    count = _count(participant_count, "participant_count", required=True)
    if count == 0:
        raise ValidationError({"participant_count": _("A meeting has at least one participant.")})
    minutes = c.text(minutes, "minutes", 20000, required=True, label=_("The minutes"))
    topic_files.check_count(files, "attachments")
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.MEETING}, pgettext("consultation step", "given minutes"))
        if topic.meeting_at and topic.meeting_at > c.now():
            raise c.TransitionError(_("The meeting has not taken place yet: record its minutes afterwards."))
        topic.participants, topic.participant_count, topic.minutes = participants, count, minutes
        c.save(topic, "participants", "participant_count", "minutes")
        for upload in files:
            topic_files.seal(
                topic, upload, kind=FileKind.MEETING, actor=actor, public=files_public, field="attachments"
            )
        c.record(
            topic,
            actor=actor,
            action="minutes",
            from_stage=topic.stage,
            request=request,
            detail={"participants": count, "files": len(files)},
        )
    return topic


def _count(value: Any, field: str, *, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise ValidationError({field: _("Give a number.")})
        return None
    try:
        number = int(str(value))
    except ValueError as exc:
        raise ValidationError({field: _("Give a whole number.")}) from exc
    if number < 0 or number > 1_000_000:
        raise ValidationError({field: _("Give a number from 0 up.")})
    return number


def topic_decide(
    *,
    actor: Viewer,
    topic: Topic,
    decision: str,
    votes_for: Any = None,
    votes_against: Any = None,
    votes_abstain: Any = None,
    request: HttpRequest | None = None,
) -> Topic:
    """The meeting's result (协商结果), and how the participants voted when they did."""
    c.require(actor, P.CONSULT, topic, "consult_decide", request)
    decision = c.text(decision, "decision", c.TEXT_MAX, required=True, label=_("The decision"))
    votes = {
        "votes_for": _count(votes_for, "votes_for"),
        "votes_against": _count(votes_against, "votes_against"),
        "votes_abstain": _count(votes_abstain, "votes_abstain"),
    }
    if any(v is not None for v in votes.values()) and any(v is None for v in votes.values()):
        raise ValidationError(
            {"votes_for": _("Give all three vote counts (for, against, abstained), or none.")}
        )
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.MEETING}, pgettext("consultation step", "decided"))
        if not topic.minutes:
            raise c.TransitionError(_("Record the meeting's participants and minutes before its decision."))
        total = sum(v or 0 for v in votes.values())
        if topic.participant_count is not None and total > topic.participant_count:
            raise ValidationError(
                {
                    "votes_for": _("%(total)d votes is more than the %(n)d participants of the meeting.")
                    % {"total": total, "n": topic.participant_count}
                }
            )
        before = c.move(topic, Stage.DECIDED)
        topic.decision = decision
        for name, value in votes.items():
            setattr(topic, name, value)
        c.save(topic, "stage", "stage_at", "decision", *votes)
        c.record(topic, actor=actor, action="decide", from_stage=before, request=request, detail=votes)
    return topic


def implementation_start(
    *, actor: Viewer, topic: Topic, note: str = "", request: HttpRequest | None = None
) -> Topic:
    """落实: the community starts carrying out the decision."""
    c.require(actor, P.CONSULT, topic, "consult_implement", request)
    note = c.text(note, "note", c.REASON_MAX)
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.DECIDED}, pgettext("consultation step", "put into effect"))
        before = c.move(topic, Stage.IMPLEMENTING)
        c.save(topic, "stage", "stage_at")
        c.record(topic, actor=actor, action="implement", from_stage=before, note=note, request=request)
    return topic


def progress_add(
    *,
    actor: Viewer,
    topic: Topic,
    on: dt.date | None,
    text: str,
    photos: Sequence[UploadedFile] = (),
    request: HttpRequest | None = None,
) -> ProgressUpdate:
    """A dated progress update, with photos (public: they show the work done)."""
    c.require(actor, P.CONSULT, topic, "consult_progress", request)
    if on is None:
        raise ValidationError({"on": _("Give the date of the work.")})
    if on > timezone.localdate():
        raise ValidationError({"on": _("The date cannot be in the future.")})
    text = c.text(text, "text", c.TEXT_MAX, required=True, label=_("What was done"))
    topic_files.check_count(photos, "photos")
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.IMPLEMENTING}, pgettext("consultation step", "given progress"))
        update = ProgressUpdate.objects.create(
            topic=topic, on=on, text=text, by=cast(User, actor), at=c.now()
        )
        for upload in photos:
            topic_files.seal(
                topic,
                upload,
                kind=FileKind.PROGRESS,
                actor=actor,
                public=True,
                progress=update,
                images_only=True,
                field="photos",
            )
        c.save(topic)
        c.record(
            topic,
            actor=actor,
            action="progress",
            from_stage=topic.stage,
            note=text,
            request=request,
            detail={"on": on.isoformat(), "photos": len(photos)},
        )
    return update


def feedback_open(*, actor: Viewer, topic: Topic, request: HttpRequest | None = None) -> Topic:
    """Ask the residents in scope whether they are satisfied (反馈评价)."""
    c.require(actor, P.CONSULT, topic, "consult_feedback_open", request)
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.IMPLEMENTING}, pgettext("consultation step", "opened for feedback"))
        if not topic.progress.exists():
            raise c.TransitionError(_("Record at least one progress update before asking for feedback."))
        before = c.move(topic, Stage.FEEDBACK)
        c.save(topic, "stage", "stage_at")
        c.record(topic, actor=actor, action="feedback_open", from_stage=before, request=request)
    return topic


def topic_close(*, actor: Viewer, topic: Topic, note: str = "", request: HttpRequest | None = None) -> Topic:
    c.require(actor, P.CONSULT, topic, "consult_close", request)
    note = c.text(note, "note", c.REASON_MAX)
    with transaction.atomic():
        topic = c.lock(topic)
        c.allow(topic, {Stage.FEEDBACK}, pgettext("consultation step", "closed"))
        before = c.move(topic, Stage.CLOSED)
        c.save(topic, "stage", "stage_at")
        c.record(topic, actor=actor, action="close", from_stage=before, note=note, request=request)
    return topic
