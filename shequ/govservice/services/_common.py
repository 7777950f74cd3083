"""Helpers shared by the government-service services: permission checks and refusals, the row
lock, the step record (timeline, audit, event) and the deadline clock (the grid's engine)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import LEVEL_CODE_LENGTH, AuditResult, Region, RegionLevel, Role, User
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer, active_memberships, has_perm
from shequ.core.text import bounded_text as text  # noqa: F401 (the services call c.text)
from shequ.govservice import events
from shequ.govservice.models import Application, ApplicationStep, Status
from shequ.grid import deadlines

NOTE_MAX = 2000
# An online or kiosk submission is accepted or returned within one working day (受理时限).
ACCEPT_DAYS = 1
# 好差评: a bad rating is put right and fed back within 15 working days; a rectification the
# review sends back gets 5 more.
RECTIFY_DAYS = 15
RECTIFY_AGAIN_DAYS = 5
LOW_STARS = 2  # 1 and 2 stars (不满意, 非常不满意) are bad ratings
COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]


class TransitionError(ValidationError):
    """The step is not allowed from the application's present status (nothing was changed)."""


def now() -> dt.datetime:
    return timezone.now()


def allow(application: Application, allowed: Iterable[str], step: str) -> None:
    if application.status not in set(allowed):
        raise TransitionError(
            _("This application cannot be %(step)s: it is %(status)s.")
            % {"step": step, "status": Status(application.status).label}
        )


def department_ids(actor: Viewer | None) -> set[int]:
    """The departments whose forwarded applications the actor decides."""
    return {
        m.department_id
        for m in active_memberships(actor)
        if m.department_id is not None and m.role == Role.DEPARTMENT_STAFF
    }


def refuse(
    actor: Viewer | None, obj: Any, action: str, why: str, *, request: HttpRequest | None = None
) -> None:
    """Audit a refused attempt and raise PermissionDenied (the page answers 403 or 404)."""
    audit.record(
        f"govservice.{action}",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        request=request,
        region_code=getattr(obj, "region_code", ""),
        object_type=f"govservice.{type(obj).__name__.lower()}",
        object_id=getattr(obj, "pk", ""),
        result=AuditResult.DENIED,
        reason=why,
    )
    raise PermissionDenied(why)


def require(actor: Viewer | None, perm: str, obj: Any, action: str, request: HttpRequest | None) -> None:
    if actor is None or not has_perm(actor, perm, obj.region_code):
        refuse(actor, obj, action, f"needs {perm} for the region", request=request)


def lock(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("item", "department")
        .get(pk=application.pk)
    )


def actor_name(actor: Viewer | None) -> str:
    if actor is None:
        return ""
    return str(getattr(actor, "display_name", "") or getattr(actor, "username", ""))


def record(
    application: Application,
    *,
    actor: Viewer | None,
    action: str,
    from_status: str,
    note: str = "",
    public: bool = True,
    params: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
    audit_detail: Mapping[str, Any] | None = None,
) -> ApplicationStep:
    """The timeline row, the audit entry and the event of one step."""
    step = ApplicationStep.objects.create(
        application=application,
        at=now(),
        actor=actor if isinstance(actor, User) else None,
        actor_name=actor_name(actor),
        action=action,
        from_status=from_status,
        to_status=application.status,
        note=note,
        public=public,
        params=dict(params or {}),
    )
    audit.record(
        f"govservice.{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=application.region_code,
        object_type="govservice.application",
        object_id=application.pk,
        detail={"from": from_status, "to": application.status, **dict(audit_detail or {})},
    )
    emit(
        events.ApplicationChanged(
            actor_id=getattr(actor, "pk", None),
            application_id=application.pk,
            region_code=application.region_code,
            action=action,
            to_status=application.status,
            due_at=application.due_at,
        )
    )
    return step


def save(application: Application, *fields: str) -> None:
    application.updated_at = now()
    application.save(update_fields=[*dict.fromkeys(fields), "updated_at"])


def start_clock(application: Application, start: dt.datetime, working_days: int) -> None:
    """The deadline of ``working_days`` working days after ``start`` (the holiday calendar's)."""
    due = deadlines.Calendar.load().add_working_days(start, working_days)
    application.due_at = due
    application.warn_at = deadlines.warn_point(start, due)
    application.warned_at = None
    application.overdue_at = None


def stop_clock(application: Application) -> None:
    application.due_at = None
    application.warn_at = None


CLOCK_FIELDS = ("due_at", "warn_at", "warned_at", "overdue_at")


def working_days_from(start: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    """(warn point, deadline) of ``days`` working days after ``start``."""
    due = deadlines.Calendar.load().add_working_days(start, days)
    return deadlines.warn_point(start, due), due


def community_code(code: str) -> str:
    return code[:COMMUNITY_LENGTH]


def parent_code(code: str) -> str:
    lengths = sorted({n for n in LEVEL_CODE_LENGTH.values() if n < len(code)})
    return code[: lengths[-1]] if lengths else code


def application_region(code: str) -> Region:
    """The counter that takes an application: the community of a grid, or the community itself."""
    region = Region.objects.filter(code=community_code(code)).first()
    if region is None or region.level != RegionLevel.COMMUNITY:
        raise ValidationError({"region": _("Applications are taken by a community: choose one.")})
    return region
