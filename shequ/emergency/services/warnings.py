"""Warnings: drafted (by staff, the risk model or an IoT alert), issued to the residents and staff
of their area through the messaging service (in-app and SMS), updated, lifted.

Every step needs ``emergency.warn`` over the whole area (a refusal is audited), writes its timeline
entry and audit entry in the same transaction, and publishes once per revision (the dedupe key is
the warning and its revision, so a retried step sends nothing twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core import audit, geo, messaging, outbox
from shequ.core.models import Channel, Region, User, common_region_code
from shequ.core.permissions import has_perm
from shequ.emergency.events import WarningIssued, WarningLifted
from shequ.emergency.models import (
    Level,
    TargetKind,
    Warning,
    WarningEntry,
    WarningSource,
    WarningStatus,
    WarningStep,
    WarningType,
)
from shequ.emergency.permissions import EmergencyPerm
from shequ.emergency.services.answers import short_text
from shequ.emergency.services.mobilization import Addressee, Target, addressees, notify_people

TOPIC = "emergency.warning"
TEXT_MAX = 1000
AREA_MAX = 50


def _deny(actor: User, action: str, code: str, request: HttpRequest | None, object_id: Any = "") -> None:
    audit.record(
        action,
        actor=actor,
        request=request,
        region_code=code,
        object_type="emergency.warning",
        object_id=object_id or code,
        result="denied",
    )
    raise PermissionDenied(_("You may not issue warnings for this area."))


def _clean(
    *, kind: str, level: Any, title: str, text: str, area_codes: Sequence[str], area_polygon: Any
) -> tuple[str, int, str, str, list[str], dict[str, Any] | None, Region]:
    errors: dict[str, Any] = {}
    if kind not in WarningType.values:
        errors["kind"] = _("Choose the type of warning.")
    try:
        level = int(level)
    except (TypeError, ValueError):
        level = 0
    if level not in Level.values:
        errors["level"] = _("Choose a level: blue, yellow, orange or red.")
    try:
        title = short_text(title, 100, "title")
        if not title:
            errors["title"] = _("Give the warning a title.")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    text = (text or "").strip()
    if not text:
        errors["text"] = _("Say what people should do.")
    elif len(text) > TEXT_MAX:
        errors["text"] = _("At most %(n)d characters.") % {"n": TEXT_MAX}
    codes = sorted({str(c).strip() for c in area_codes if str(c).strip()})
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    if not codes:
        errors["area_codes"] = _("Choose the regions the warning covers.")
    elif len(codes) > AREA_MAX:
        errors["area_codes"] = _("At most %(n)d regions.") % {"n": AREA_MAX}
    elif len(regions) != len(codes):
        unknown = ", ".join(c for c in codes if c not in regions)[:100]
        errors["area_codes"] = _("Unknown region: %(codes)s.") % {"codes": unknown}
    polygon = None
    if area_polygon not in (None, "", {}):
        try:
            polygon = geo.validate(area_polygon)
        except geo.GeometryError as exc:
            errors["area_polygon"] = _("The area drawn on the map is not valid: %(why)s.") % {"why": exc}
    if errors:
        raise ValidationError(errors)
    # Covered regions nested in others add nothing.
    codes = [c for c in codes if not any(c != o and c.startswith(o) for o in codes)]
    prefix = common_region_code(codes)
    region = Region.objects.filter(code=prefix).first()
    if region is None:
        raise ValidationError({"area_codes": _("The regions lie in no common region.")})
    return kind, level, title, text, codes, polygon, region


def warning_draft(
    *,
    actor: User | None,
    kind: str,
    level: Any,
    title: str,
    text: str,
    area_codes: Sequence[str],
    area_polygon: Any = None,
    is_drill: bool = False,
    source: str = WarningSource.MANUAL,
    source_ref: str = "",
    reasons: Iterable[dict[str, Any]] = (),
    request: HttpRequest | None = None,
) -> Warning:
    """A draft warning (nothing is sent until it is issued)."""
    kind, level, title, text, codes, polygon, region = _clean(
        kind=kind, level=level, title=title, text=text, area_codes=area_codes, area_polygon=area_polygon
    )
    if actor is not None:
        for code in codes:
            if not has_perm(actor, EmergencyPerm.WARN, code):
                _deny(actor, "emergency.warning_draft", code, request)
    steps: dict[str, str] = {
        WarningSource.RISK_MODEL: WarningStep.PROPOSED,
        WarningSource.IOT: WarningStep.RAISED,
    }
    step = steps.get(source, WarningStep.DRAFTED)
    with transaction.atomic():
        warning = Warning.objects.create(
            region=region,
            region_code=region.code,
            kind=kind,
            level=level,
            title=title,
            text=text,
            area_codes=codes,
            area_polygon=polygon,
            source=source,
            source_ref=source_ref[:64],
            reasons=list(reasons),
            is_drill=is_drill,
            created_by=actor,
        )
        WarningEntry.objects.create(warning=warning, step=step, actor=actor, level=level)
        audit.record(
            "emergency.warning_draft",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="emergency.warning",
            object_id=warning.pk,
            detail={"kind": kind, "level": level, "area": codes, "source": source, "drill": is_drill},
        )
    return warning


def warning_propose(
    *,
    source: str,
    source_ref: str,
    kind: str,
    level: int,
    title: str,
    text: str,
    area_codes: Sequence[str],
    reasons: Iterable[dict[str, Any]],
) -> Warning | None:
    """A platform proposal (risk model, IoT alert): a draft for staff to issue, unless this source
    already has a live draft or warning (then its draft's level and reasons are brought up to date)."""
    live = Warning.objects.filter(
        source_ref=source_ref, status__in=[WarningStatus.DRAFT, WarningStatus.ISSUED]
    ).first()
    if live is not None:
        if live.status == WarningStatus.DRAFT and (live.level, live.reasons) != (level, list(reasons)):
            Warning.objects.filter(pk=live.pk).update(
                level=max(live.level, level), reasons=list(reasons), updated_at=timezone.now()
            )
        return None
    try:
        with transaction.atomic():
            return warning_draft(
                actor=None,
                kind=kind,
                level=level,
                title=title,
                text=text,
                area_codes=area_codes,
                source=source,
                source_ref=source_ref,
                reasons=reasons,
            )
    except IntegrityError:  # another worker proposed it a moment ago
        return None


def _require(actor: User | None, warning: Warning, action: str, request: HttpRequest | None) -> None:
    if actor is None:
        return
    for code in warning.area_codes or [warning.region_code]:
        if not has_perm(actor, EmergencyPerm.WARN, code):
            _deny(actor, action, code, request, warning.pk)


def warning_text(warning: Warning) -> tuple[str, str]:
    """(subject, body) of the warning's notice, in Chinese (it goes out by SMS)."""
    with override("zh-hans"):
        drill = _("[Drill]") if warning.is_drill else ""
        if warning.status == WarningStatus.LIFTED:
            subject = drill + _("Lifted: %(title)s") % {"title": warning.title}
            body = _("The %(level)s warning “%(title)s” is lifted. %(reason)s") % {
                "level": Level(warning.level).label,
                "title": warning.title,
                "reason": warning.lift_reason,
            }
            return subject[:200], body.strip()
        label = _("%(level)s %(kind)s warning") % {
            "level": Level(warning.level).label,
            "kind": WarningType(warning.kind).label,
        }
        update = _("(update %(n)d)") % {"n": warning.revision - 1} if warning.revision > 1 else ""
        subject = f"{drill}【{label}】{warning.title}{update}"
        body = warning.text
        if warning.is_drill:
            body = _("This is a drill.") + " " + body
    return subject[:200], body


def area_people(warning: Warning) -> list[Addressee]:
    """Everyone a publication of the warning reaches now: the staff and residents of its area
    (inside its zone when one is drawn). A read; the issue page counts it."""
    targets = [Target(TargetKind.STAFF, region=c) for c in warning.area_codes]
    targets += [Target(TargetKind.RESIDENTS, region=c) for c in warning.area_codes]
    return addressees(targets, within=warning.area_polygon)


def _publish(warning: Warning, actor: User | None, dedupe: str) -> int:
    people = area_people(warning)
    subject, body = warning_text(warning)
    return notify_people(
        people,
        sender=actor,
        subject=subject,
        body=body,
        link=f"/emergency/warnings/{warning.pk}/",
        channels=[Channel.INBOX, Channel.SMS],
        region_code=warning.region_code,
        topic=TOPIC,
        topic_ref=str(warning.pk),
        dedupe_key=f"emergency.warning:{warning.pk}:{dedupe}",
        thread_key=messaging.thread_key("emergency.warning", warning.pk),
    )


def _step(
    warning: Warning,
    step: str,
    actor: User | None,
    request: HttpRequest | None,
    note: str = "",
    recipients: int = 0,
) -> None:
    WarningEntry.objects.create(
        warning=warning, step=step, actor=actor, level=warning.level, note=note[:500], recipients=recipients
    )
    audit.record(
        f"emergency.warning_{step}",
        actor=actor,
        request=request,
        region_code=warning.region_code,
        object_type="emergency.warning",
        object_id=warning.pk,
        detail={
            "level": warning.level,
            "revision": warning.revision,
            "recipients": recipients,
            "note": note[:200],
        },
    )


def warning_issue(*, actor: User | None, warning: Warning, request: HttpRequest | None = None) -> Warning:
    """Bring a draft into force and publish it to everyone in its area."""
    _require(actor, warning, "emergency.warning_issued", request)
    if warning.status != WarningStatus.DRAFT:
        raise ValidationError(_("Only a draft can be issued."))
    now = timezone.now()
    with transaction.atomic():
        updated = Warning.objects.filter(pk=warning.pk, status=WarningStatus.DRAFT).update(
            status=WarningStatus.ISSUED, revision=1, issued_at=now, updated_at=now
        )
        if not updated:
            raise ValidationError(_("Only a draft can be issued."))
        warning.refresh_from_db()
        reached = _publish(warning, actor, "1")
        Warning.objects.filter(pk=warning.pk).update(recipients=reached)
        _step(warning, WarningStep.ISSUED, actor, request, recipients=reached)
        outbox.emit(_issued_event(warning))
    warning.refresh_from_db()
    return warning


def _issued_event(warning: Warning) -> WarningIssued:
    return WarningIssued(
        warning_id=warning.pk,
        region_code=warning.region_code,
        kind=warning.kind,
        level=warning.level,
        revision=warning.revision,
        is_drill=warning.is_drill,
    )


def warning_update(
    *,
    actor: User | None,
    warning: Warning,
    level: Any,
    title: str,
    text: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Warning:
    """Change a warning in force (level, title, what to do) and publish the update."""
    _require(actor, warning, "emergency.warning_updated", request)
    if warning.status != WarningStatus.ISSUED:
        raise ValidationError(_("Only a warning in force can be updated."))
    _kind, level, title, text, _codes, _poly, _region = _clean(
        kind=warning.kind,
        level=level,
        title=title,
        text=text,
        area_codes=warning.area_codes,
        area_polygon=warning.area_polygon,
    )
    note = short_text(note, 200, "note")
    if (level, title, text) == (warning.level, warning.title, warning.text):
        raise ValidationError(_("Nothing changed: change the level, the title or what to do."))
    with transaction.atomic():
        warning.level, warning.title, warning.text = level, title, text
        warning.revision += 1
        warning.updated_at = timezone.now()
        warning.save(update_fields=["level", "title", "text", "revision", "updated_at"])
        reached = _publish(warning, actor, str(warning.revision))
        Warning.objects.filter(pk=warning.pk).update(recipients=reached)
        _step(warning, WarningStep.UPDATED, actor, request, note=note, recipients=reached)
        outbox.emit(_issued_event(warning))
    warning.refresh_from_db()
    return warning


def warning_lift(
    *, actor: User | None, warning: Warning, reason: str, request: HttpRequest | None = None
) -> Warning:
    """End a warning in force and tell everyone it reached."""
    _require(actor, warning, "emergency.warning_lifted", request)
    if warning.status != WarningStatus.ISSUED:
        raise ValidationError(_("Only a warning in force can be lifted."))
    reason = short_text(reason, 200, "reason")
    if not reason:
        raise ValidationError({"reason": _("Say why the warning is lifted.")})
    now = timezone.now()
    with transaction.atomic():
        Warning.objects.filter(pk=warning.pk).update(
            status=WarningStatus.LIFTED, lifted_at=now, updated_at=now, lift_reason=reason
        )
        warning.refresh_from_db()
        reached = _publish(warning, actor, "lifted")
        _step(warning, WarningStep.LIFTED, actor, request, note=reason, recipients=reached)
        outbox.emit(
            WarningLifted(warning_id=warning.pk, region_code=warning.region_code, is_drill=warning.is_drill)
        )
    return warning


def warning_discard(*, actor: User | None, warning: Warning, request: HttpRequest | None = None) -> Warning:
    """Drop a draft (a proposal staff judged unfounded); the proposal may come again later."""
    _require(actor, warning, "emergency.warning_discarded", request)
    if warning.status != WarningStatus.DRAFT:
        raise ValidationError(_("Only a draft can be discarded."))
    with transaction.atomic():
        Warning.objects.filter(pk=warning.pk).update(
            status=WarningStatus.DISCARDED, updated_at=timezone.now()
        )
        warning.refresh_from_db()
        _step(warning, WarningStep.DISCARDED, actor, request)
    return warning
