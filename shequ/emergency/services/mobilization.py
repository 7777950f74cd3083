"""One-click mobilization (一键动员、全员响应): choose targets, send once, watch the roll-call, chase
the silent.

``mobilization_start`` resolves the targets to people (accounts by in-app message and SMS, registry
people by SMS), sends through ``messaging.notify`` in one transaction (deliveries queued in batches)
and audits the call-out once: who sent what to which targets, how many. ``chase`` (every minute, in
the worker) re-sends to those who have not answered and then passes their names to their grid
worker. ``mobilization_close`` ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core import audit, bulk, messaging
from shequ.core.models import Channel, Region, Role, User, common_region_code
from shequ.core.permissions import has_perm
from shequ.core.selectors import members_under, region_staff
from shequ.emergency.models import (
    Answer,
    CheckInCampaign,
    Mobilization,
    MobilizationEntry,
    MobilizationKind,
    MobilizationStatus,
    MobilizationStep,
    Recipient,
    Response,
    TargetKind,
    Warning,
)
from shequ.emergency.permissions import EmergencyPerm
from shequ.emergency.services.answers import TOPIC, short_text
from shequ.registry import outreach

STAFF_ROLES: list[str] = [Role.GRID_WORKER, Role.COMMUNITY_WORKER, Role.COMMUNITY_HEAD, Role.STREET_OFFICER]
ANSWER_PATH = "/emergency/answer/{token}/"
MINUTES_MAX = 24 * 60
RESENDS_MAX = 5


@dataclass(frozen=True)
class Target:
    kind: str
    region: str = ""  # the region it reaches (every kind but buildings and assistance)
    ids: tuple[int, ...] = ()  # building ids, or the assistance list's person ids
    warning: int | None = None  # the assistance list's warning

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.region:
            out["region"] = self.region
        if self.ids:
            out["ids"] = list(self.ids)
        if self.warning is not None:
            out["warning"] = self.warning
        return out


@dataclass(frozen=True)
class Addressee:
    """One person to reach: an account or a registry person (never both)."""

    user: User | None
    person_id: int | None
    name: str
    region_code: str
    phone_index: str
    place: str
    target: str


# Targets -------------------------------------------------------------------------------------


def clean_targets(
    *, actor: User | None, raw: Iterable[dict[str, Any]], request: HttpRequest | None = None
) -> list[Target]:
    """The targets as chosen, each checked against the actor's scope (``actor=None``: the platform).
    A target outside the scope is refused (audited) and nothing is sent."""
    from shequ.emergency import assistance

    targets: list[Target] = []
    for item in raw:
        kind = str(item.get("kind", ""))
        if kind not in TargetKind.values:
            raise ValidationError({"targets": _("Unknown kind of target: %(kind)s.") % {"kind": kind[:20]}})
        if kind == TargetKind.BUILDINGS:
            ids = tuple(sorted({int(i) for i in item.get("ids", []) if str(i).isdigit()}))
            regions = outreach.building_regions(ids)
            if not ids or len(regions) != len(ids):
                raise ValidationError({"targets": _("Choose buildings that exist.")})
            codes = sorted(set(regions.values()))
            targets.append(Target(kind, ids=ids))
        elif kind == TargetKind.ASSISTANCE:
            warning_id = str(item.get("warning", ""))
            warning = Warning.objects.filter(pk=int(warning_id)).first() if warning_id.isdigit() else None
            if warning is None:
                raise ValidationError({"targets": _("The assistance list belongs to a warning: choose one.")})
            codes = [warning.region_code]
            people = tuple(p.person_id for p in assistance.assistance_people(warning=warning))
            targets.append(Target(kind, ids=people, warning=warning.pk))
        else:
            code = str(item.get("region", ""))
            if not Region.objects.filter(code=code).exists():
                raise ValidationError({"targets": _("Unknown region: %(code)s.") % {"code": code[:15]}})
            codes = [code]
            targets.append(Target(kind, region=code))
        if actor is not None:
            refused = [c for c in codes if not has_perm(actor, EmergencyPerm.MOBILIZE, c)]
            if refused:
                audit.record(
                    "emergency.mobilize",
                    actor=actor,
                    request=request,
                    region_code=refused[0],
                    object_type="region",
                    object_id=refused[0],
                    result="denied",
                )
                raise PermissionDenied(_("You may not call out people outside your regions."))
    if not targets:
        raise ValidationError({"targets": _("Choose whom to call out.")})
    return targets


def addressees(
    targets: Sequence[Target], *, exclude_user: User | None = None, within: dict[str, Any] | None = None
) -> list[Addressee]:
    """Everyone the targets reach, once: an account before a registry person with the same number,
    and one message per number (a household sharing one phone answers once). ``within``: residents
    only inside this polygon (a warning's area drawn on the map)."""
    out: list[Addressee] = []
    users_seen: set[int] = set()
    phones_seen: set[str] = set()

    def add_user(user: User, code: str, target: str) -> None:
        if user.pk in users_seen or (exclude_user is not None and user.pk == exclude_user.pk):
            return
        users_seen.add(user.pk)
        if user.phone_index:
            phones_seen.add(user.phone_index)
        out.append(Addressee(user, None, user.name, code, user.phone_index, "", target))

    for t in targets:
        if t.kind == TargetKind.STAFF:
            for user, code in members_under(t.region, STAFF_ROLES):
                add_user(user, code, t.kind)
        elif t.kind == TargetKind.VOLUNTEERS:
            for user, code in members_under(t.region, [Role.VOLUNTEER]):
                add_user(user, code, t.kind)
    people: list[tuple[outreach.Reachable, str]] = []
    for t in targets:
        if t.kind in (TargetKind.RESIDENTS, TargetKind.PARTY):
            found = outreach.people_to_reach(
                region_codes=[t.region], party_only=t.kind == TargetKind.PARTY, within=within
            )
        elif t.kind == TargetKind.BUILDINGS:
            found = outreach.people_to_reach(building_ids=t.ids)
        elif t.kind == TargetKind.ASSISTANCE:
            found = outreach.people_to_reach(person_ids=t.ids)
        else:
            continue
        people += [(p, t.kind) for p in found]
    for person, kind in people:
        if person.phone_index in phones_seen:
            continue
        phones_seen.add(person.phone_index)
        out.append(
            Addressee(
                None,
                person.person_id,
                person.name,
                person.region_code,
                person.phone_index,
                person.place,
                kind,
            )
        )
    return out


# Sending -------------------------------------------------------------------------------------


def subject_of(mobilization: Mobilization) -> str:
    with override("zh-hans"):
        prefix = _("[Drill]") if mobilization.is_drill else ""
        label = _("[Check-in]") if mobilization.kind == MobilizationKind.CHECKIN else _("[Call-out]")
    return f"{prefix}{label}{mobilization.title}"


def body_of(mobilization: Mobilization) -> str:
    from shequ.emergency.replies import keywords_hint

    with override("zh-hans"):
        hint = keywords_hint(mobilization)
        drill = _("This is a drill.") + " " if mobilization.is_drill else ""
    return f"{drill}{mobilization.body}\n{hint}"


def notify_people(people: Sequence[Addressee], **notice: Any) -> int:
    """Send one notice to everyone in ``people``: accounts in the app and by SMS, registry people by
    SMS as contacts. ``notice`` is ``messaging.notify``'s arguments. Returns how many were sent."""
    users = [a.user for a in people if a.user is not None]
    contacts = [
        messaging.Contact(ref=f"{outreach.CONTACT_KIND}:{a.person_id}", name=a.name)
        for a in people
        if a.user is None and a.person_id is not None
    ]
    return len(messaging.notify(recipients=users, contacts=contacts, **notice))


def _send(
    mobilization: Mobilization, people: Sequence[Addressee], *, sender: User | None, dedupe_key: str
) -> int:
    return notify_people(
        people,
        sender=sender,
        subject=subject_of(mobilization),
        body=body_of(mobilization),
        link=ANSWER_PATH,
        channels=mobilization.channels or [Channel.INBOX, Channel.SMS],
        region_code=mobilization.region_code,
        topic=TOPIC,
        topic_ref=str(mobilization.pk),
        requires_ack=True,
        dedupe_key=dedupe_key,
    )


def _region_of(targets: Sequence[Target], people: Sequence[Addressee]) -> Region:
    """The smallest region holding every target: the call-out's scope key."""
    codes = [t.region for t in targets if t.region] + [a.region_code for a in people if a.region_code]
    prefix = common_region_code(codes)
    region = Region.objects.filter(code=prefix).first() if prefix else None
    if region is None:
        raise ValidationError({"targets": _("The targets lie in no common region.")})
    return region


def _minutes(value: Any, field: str, low: int = 1) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: _("Enter a number of minutes.")}) from None
    if not low <= minutes <= MINUTES_MAX:
        raise ValidationError(
            {field: _("Between %(low)d and %(high)d minutes.") % {"low": low, "high": MINUTES_MAX}}
        )
    return minutes


def mobilization_start(
    *,
    actor: User | None,
    title: str,
    body: str,
    response: str,
    targets: Iterable[dict[str, Any]],
    warning: Warning | None = None,
    is_drill: bool = False,
    resend_after_minutes: int = 10,
    resends: int = 1,
    escalate_after_minutes: int = 20,
    kind: str = MobilizationKind.CALL_OUT,
    campaign: CheckInCampaign | None = None,
    round_date: date | None = None,
    request: HttpRequest | None = None,
) -> Mobilization:
    """Call out everyone the targets reach. Audited once for the whole call-out."""
    errors: dict[str, Any] = {}
    try:
        title = short_text(title, 60, "title")
        if not title:
            errors["title"] = _("Give the call-out a title.")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    body = (body or "").strip()
    if not body:
        errors["body"] = _("Write the message people will receive.")
    elif len(body) > 400:
        errors["body"] = _("At most %(n)d characters: it goes by SMS.") % {"n": 400}
    if response not in Response.values:
        errors["response"] = _("Choose the answer you ask for.")
    try:
        resend_after_minutes = _minutes(resend_after_minutes, "resend_after_minutes")
        escalate_after_minutes = _minutes(escalate_after_minutes, "escalate_after_minutes")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not isinstance(resends, int) or not 0 <= resends <= RESENDS_MAX:
        errors["resends"] = _("Between 0 and %(n)d re-sends.") % {"n": RESENDS_MAX}
    if errors:
        raise ValidationError(errors)
    if warning is not None and is_drill != warning.is_drill:
        raise ValidationError({"is_drill": _("A call-out for a drill warning is a drill, and only then.")})
    cleaned = clean_targets(actor=actor, raw=targets, request=request)
    people = addressees(cleaned, exclude_user=actor)
    if not people:
        raise ValidationError(
            {"targets": _("Nobody the targets name can be reached (no account or mobile number).")}
        )
    region = _region_of(cleaned, people)
    now = timezone.now()
    with transaction.atomic():
        mobilization = Mobilization.objects.create(
            region=region,
            region_code=region.code,
            kind=kind,
            warning=warning,
            campaign=campaign,
            round_date=round_date,
            title=title,
            body=body,
            response=response,
            targets=[t.as_json() for t in cleaned],
            channels=[Channel.INBOX, Channel.SMS],
            is_drill=is_drill,
            resend_after_minutes=resend_after_minutes,
            resends=resends,
            escalate_after_minutes=escalate_after_minutes,
            total=len(people),
            created_by=actor,
            created_at=now,
        )
        _send(mobilization, people, sender=actor, dedupe_key=f"emergency:{mobilization.pk}:1")
        # Plain rows, no model instances: building 100,000 of them cost more than writing them.
        bulk.insert_rows(
            Recipient,
            [
                {
                    "mobilization_id": mobilization.pk,
                    "user_id": a.user.pk if a.user is not None else None,
                    "person_id": a.person_id,
                    "name": a.name[:50],
                    "place": a.place[:100],
                    "region_code": a.region_code,
                    "phone_index": a.phone_index,
                    "target": a.target,
                    "last_sent_at": now,
                }
                for a in people
            ],
        )
        MobilizationEntry.objects.create(
            mobilization=mobilization, step=MobilizationStep.SENT, actor=actor, count=len(people), at=now
        )
        counts: dict[str, int] = {}
        for a in people:
            counts[a.target] = counts.get(a.target, 0) + 1
        audit.record(
            "emergency.mobilize",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="emergency.mobilization",
            object_id=mobilization.pk,
            detail={
                "title": title,
                "response": response,
                "targets": mobilization.targets,
                "recipients": len(people),
                "by_target": counts,
                "accounts": sum(a.user is not None for a in people),
                "drill": is_drill,
                "warning": warning.pk if warning else None,
            },
        )
    return mobilization


def mobilization_close(
    *, actor: User | None, mobilization: Mobilization, request: HttpRequest | None = None
) -> Mobilization:
    """End the call-out: answers are no longer taken, nothing more is re-sent or escalated."""
    if actor is not None and not has_perm(actor, EmergencyPerm.MOBILIZE, mobilization.region_code):
        audit.record(
            "emergency.mobilization_close",
            actor=actor,
            request=request,
            region_code=mobilization.region_code,
            object_type="emergency.mobilization",
            object_id=mobilization.pk,
            result="denied",
        )
        raise PermissionDenied(_("You may not close call-outs of this region."))
    if not mobilization.is_open:
        raise ValidationError(_("This call-out is already closed."))
    now = timezone.now()
    with transaction.atomic():
        closed = Mobilization.objects.filter(pk=mobilization.pk, status=MobilizationStatus.OPEN).update(
            status=MobilizationStatus.CLOSED, closed_at=now, closed_by=actor
        )
        if not closed:
            raise ValidationError(_("This call-out is already closed."))
        pending = Recipient.objects.filter(mobilization=mobilization, answer=Answer.PENDING).count()
        MobilizationEntry.objects.create(
            mobilization=mobilization, step=MobilizationStep.CLOSED, actor=actor, count=pending, at=now
        )
        audit.record(
            "emergency.mobilization_close",
            actor=actor,
            request=request,
            region_code=mobilization.region_code,
            object_type="emergency.mobilization",
            object_id=mobilization.pk,
            detail={"unanswered": pending, "total": mobilization.total},
        )
        if mobilization.kind == MobilizationKind.CHECKIN:
            from shequ.emergency.services.checkins import follow_up

            follow_up(mobilization)
    mobilization.refresh_from_db()
    return mobilization


# Chasing the silent ----------------------------------------------------------------------------


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    """Ids in slices an IN list can take on every database (SQLite refuses 100,000 parameters)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _pending(mobilization: Mobilization) -> Any:
    return Recipient.objects.filter(mobilization=mobilization, answer=Answer.PENDING)


def resend_due(mobilization: Mobilization, *, now: Any = None) -> int:
    """Send again to those who have not answered ``resend_after_minutes`` after the last sending,
    up to ``resends`` times. Returns how many were sent again."""
    now = now or timezone.now()
    due = list(
        _pending(mobilization)
        .filter(
            sends__lte=mobilization.resends,
            last_sent_at__lte=now - timedelta(minutes=mobilization.resend_after_minutes),
        )
        .select_related("user")
    )
    if not due:
        return 0
    by_round: dict[int, list[Recipient]] = {}
    for r in due:
        by_round.setdefault(r.sends + 1, []).append(r)
    with transaction.atomic():
        for send_no, recipients in by_round.items():
            people = [
                Addressee(r.user, r.person_id, r.name, r.region_code, r.phone_index, r.place, r.target)
                for r in recipients
            ]
            _send(mobilization, people, sender=None, dedupe_key=f"emergency:{mobilization.pk}:{send_no}")
            for chunk in _chunks([r.pk for r in recipients]):
                Recipient.objects.filter(pk__in=chunk, answer=Answer.PENDING).update(
                    sends=send_no, last_sent_at=now
                )
        MobilizationEntry.objects.create(
            mobilization=mobilization, step=MobilizationStep.RESENT, count=len(due), at=now
        )
    return len(due)


def _grid_staff(code: str, silent: set[int]) -> list[User]:
    """Who answers for the people of a grid: its grid workers, else the nearest region's staff
    (skipping staff who are themselves among the silent)."""
    for length in (15, 12, 9):
        if len(code) >= length:
            found = [
                u for u in region_staff(code[:length], EmergencyPerm.ASSIST, exact=True) if u.pk not in silent
            ]
            if found:
                return found
    return []


def escalate_due(mobilization: Mobilization, *, now: Any = None) -> int:
    """Pass the names of those still silent ``escalate_after_minutes`` after the call-out to their
    grid worker, once per person. Returns how many people were passed on."""
    now = now or timezone.now()
    if mobilization.created_at > now - timedelta(minutes=mobilization.escalate_after_minutes):
        return 0
    silent = list(
        _pending(mobilization).filter(escalated_at__isnull=True).order_by("region_code", "name", "pk")
    )
    if not silent:
        return 0
    by_grid: dict[str, list[Recipient]] = {}
    for r in silent:
        by_grid.setdefault(r.region_code, []).append(r)
    from shequ.emergency import notices

    with transaction.atomic():
        for code, people in by_grid.items():
            staff = _grid_staff(code, {r.user_id for r in silent if r.user_id is not None})
            if not staff:
                continue
            notice = notices.silent_people(mobilization, code, people)
            messaging.notify(
                sender=None,
                recipients=staff,
                subject=notice.subject,
                body=notice.body,
                link=f"/emergency/callouts/{mobilization.pk}/?grid={code}",
                channels=[Channel.INBOX, Channel.SMS],
                region_code=code,
                topic="emergency.escalation",
                topic_ref=str(mobilization.pk),
                dedupe_key=f"emergency:{mobilization.pk}:escalate:{code}",
                thread_key=messaging.thread_key("emergency.mobilization", mobilization.pk),
            )
        for chunk in _chunks([r.pk for r in silent]):
            Recipient.objects.filter(pk__in=chunk, answer=Answer.PENDING).update(escalated_at=now)
        MobilizationEntry.objects.create(
            mobilization=mobilization,
            step=MobilizationStep.ESCALATED,
            count=len(silent),
            at=now,
            note=", ".join(sorted(by_grid))[:500],
        )
    return len(silent)


def chase(*, now: Any = None) -> dict[str, int]:
    """Re-send and escalate for every open call-out (the worker runs it every minute)."""
    totals = {"resent": 0, "escalated": 0}
    for mobilization in Mobilization.objects.filter(status=MobilizationStatus.OPEN).order_by("pk"):
        totals["resent"] += resend_due(mobilization, now=now)
        totals["escalated"] += escalate_due(mobilization, now=now)
    return totals
