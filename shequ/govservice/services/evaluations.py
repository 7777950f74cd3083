"""好差评: the applicant's rating of a handled application, and the rectification a bad one opens.

A rating of 1 or 2 stars opens a rectification for the answerable unit (the department that
decided, else the community) due in 15 working days: the unit verifies what happened, puts it right
and writes the feedback the applicant receives; the level above reviews it and closes it or sends it
back for another round (5 working days).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from shequ.core import audit
from shequ.core.models import Region
from shequ.core.outbox import emit
from shequ.core.permissions import Viewer, has_perm
from shequ.govservice import events
from shequ.govservice.models import (
    Application,
    Channel,
    Evaluation,
    Rectification,
    RectStatus,
    Status,
)
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import _common as c

# The reasons of the national 好差评 standard, good and bad, as the applicant ticks them.
GOOD_REASONS: dict[str, object] = {
    "polite": gettext_lazy("Friendly, patient staff"),
    "fast": gettext_lazy("Handled quickly"),
    "once": gettext_lazy("Done in one visit (or none)"),
    "few_materials": gettext_lazy("Few materials asked for"),
    "clear": gettext_lazy("Clear guidance"),
}
BAD_REASONS: dict[str, object] = {
    "attitude": gettext_lazy("Unfriendly or impatient staff"),
    "slow": gettext_lazy("Took too long"),
    "many_trips": gettext_lazy("Had to come back several times"),
    "many_materials": gettext_lazy("Too many materials asked for"),
    "not_told": gettext_lazy("Not told everything at once"),
    "result": gettext_lazy("Unhappy with the result"),
    "fees": gettext_lazy("Unexpected fees"),
}
REASONS = {**GOOD_REASONS, **BAD_REASONS}
RATED_STATUSES = frozenset({Status.CLOSED, Status.REJECTED})


def is_bad(stars: int) -> bool:
    return stars <= c.LOW_STARS


def evaluation_submit(
    *,
    actor: Viewer | None,
    application: Application,
    stars: object,
    reasons: Sequence[str] = (),
    comment: str = "",
    channel: str = Channel.ONLINE,
    by_token: bool = False,
    request: HttpRequest | None = None,
) -> Evaluation:
    """The applicant rates a closed (or refused) application once. ``by_token``: the rating page
    opened from the SMS link sent to the applicant (no account needed); the caller checked it."""
    if not by_token and (actor is None or application.applicant_user_id != getattr(actor, "pk", None)):
        c.refuse(actor, application, "rate", "only the applicant rates an application", request=request)
    try:
        value = int(str(stars))
    except ValueError as exc:
        raise ValidationError({"stars": _("Choose 1 to 5 stars.")}) from exc
    if not 1 <= value <= 5:
        raise ValidationError({"stars": _("Choose 1 to 5 stars.")})
    chosen = list(dict.fromkeys(str(r) for r in reasons))
    allowed = BAD_REASONS if is_bad(value) else REASONS
    if any(r not in allowed for r in chosen):
        raise ValidationError({"reasons": _("Choose reasons from the list.")})
    comment = c.text(comment, "comment", 500)
    if is_bad(value) and not chosen and not comment:
        raise ValidationError({"reasons": _("Say what went wrong: tick a reason or write a few words.")})
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    with transaction.atomic():
        application = c.lock(application)
        c.allow(application, RATED_STATUSES, pgettext("application step", "rated"))
        if Evaluation.objects.filter(application=application).exists():
            raise c.TransitionError(_("This application has already been rated."))
        now = c.now()
        evaluation = Evaluation.objects.create(
            application=application,
            item=application.item,
            region_code=application.region_code,
            department=application.department,
            stars=value,
            reasons=chosen,
            comment=comment,
            channel=channel,
            at=now,
        )
        application.rating = value
        c.save(application, "rating")
        c.record(
            application,
            actor=actor,
            action="rate",
            from_status=application.status,
            note=comment,
            params={"stars": value, "reasons": chosen},
            request=request,
        )
        if is_bad(value):
            _open_rectification(evaluation, application)
    return evaluation


def _open_rectification(evaluation: Evaluation, application: Application) -> Rectification:
    now = c.now()
    warn_at, due_at = c.working_days_from(now, c.RECTIFY_DAYS)
    if application.department_id is not None:
        unit_region = application.department.region  # type: ignore[union-attr]
        supervisor = unit_region.code  # the government of the department's region supervises it
    else:
        unit_region = Region.objects.get(code=c.community_code(application.region_code))
        supervisor = c.parent_code(unit_region.code)  # the street supervises its communities
    rect = Rectification.objects.create(
        evaluation=evaluation,
        region=application.region,
        region_code=application.region_code,
        department_id=application.department_id,
        supervisor_code=supervisor,
        opened_at=now,
        warn_at=warn_at,
        due_at=due_at,
    )
    audit.record(
        "govservice.rectification_open",
        region_code=rect.region_code,
        object_type="govservice.rectification",
        object_id=rect.pk,
        detail={"application": application.pk, "stars": evaluation.stars, "unit_region": unit_region.code},
    )
    emit(
        events.RectificationChanged(
            actor_id=None, rectification_id=rect.pk, region_code=rect.region_code, action="open"
        )
    )
    return rect


def _lock_rect(rect: Rectification) -> Rectification:
    return (
        Rectification.objects.select_for_update(of=("self",))
        .select_related("evaluation", "evaluation__application", "department")
        .get(pk=rect.pk)
    )


def can_rectify(actor: Viewer | None, rect: Rectification) -> bool:
    """The answerable unit: the department's staff, or the community's staff."""
    if actor is None:
        return False
    if rect.department_id is not None:
        return rect.department_id in c.department_ids(actor) and has_perm(actor, P.RECTIFY)
    return has_perm(actor, P.RECTIFY, rect.region_code) and has_perm(actor, P.HANDLE, rect.region_code)


def can_review(actor: Viewer | None, rect: Rectification) -> bool:
    return actor is not None and has_perm(actor, P.SUPERVISE, rect.supervisor_code)


def rectification_feedback(
    *,
    actor: Viewer | None,
    rect: Rectification,
    finding: str,
    measures: str,
    feedback: str,
    request: HttpRequest | None = None,
) -> Rectification:
    """The unit says what it found, what it put right, and what the applicant is told."""
    if not can_rectify(actor, rect):
        c.refuse(actor, rect, "rectify", "not the answerable unit", request=request)
    finding = c.text(finding, "finding", c.NOTE_MAX, required=True, label=_("What was found"))
    measures = c.text(measures, "measures", c.NOTE_MAX, required=True, label=_("What was put right"))
    feedback = c.text(feedback, "feedback", 500, required=True, label=_("The feedback to the applicant"))
    with transaction.atomic():
        rect = _lock_rect(rect)
        if rect.status != RectStatus.OPEN:
            raise c.TransitionError(_("This rectification is not waiting for the unit."))
        now = c.now()
        rect.status = RectStatus.FED_BACK
        rect.finding, rect.measures, rect.feedback = finding, measures, feedback
        rect.fed_back_at = now
        rect.fed_back_by = actor  # type: ignore[assignment]
        rect.save(update_fields=["status", "finding", "measures", "feedback", "fed_back_at", "fed_back_by"])
        application = rect.evaluation.application
        c.record(
            application,
            actor=actor,
            action="rectify",
            from_status=application.status,
            note=feedback,
            params={"rectification": rect.pk, "round": rect.rounds},
            request=request,
        )
        emit(
            events.RectificationChanged(
                actor_id=getattr(actor, "pk", None),
                rectification_id=rect.pk,
                region_code=rect.region_code,
                action="fed_back",
            )
        )
    return rect


def rectification_review(
    *,
    actor: Viewer | None,
    rect: Rectification,
    accepted: bool,
    note: str = "",
    request: HttpRequest | None = None,
) -> Rectification:
    """The level above closes the rectification, or sends it back with what is still wrong."""
    if not can_review(actor, rect):
        c.refuse(actor, rect, "review", "not a supervisor of the unit", request=request)
    note = c.text(note, "note", c.NOTE_MAX, required=not accepted, label=_("What is still wrong"))
    with transaction.atomic():
        rect = _lock_rect(rect)
        if rect.status != RectStatus.FED_BACK:
            raise c.TransitionError(_("This rectification is not waiting for review."))
        now = c.now()
        rect.review_note = note
        rect.reviewed_by = actor  # type: ignore[assignment]
        fields = ["status", "review_note", "reviewed_by"]
        if accepted:
            rect.status = RectStatus.DONE
            rect.closed_at = now
            fields.append("closed_at")
        else:
            rect.status = RectStatus.OPEN
            rect.rounds += 1
            rect.warn_at, rect.due_at = c.working_days_from(now, c.RECTIFY_AGAIN_DAYS)
            rect.warned_at = None
            fields += ["rounds", "warn_at", "due_at", "warned_at"]
        rect.save(update_fields=fields)
        audit.record(
            "govservice.rectification_review",
            actor=actor,
            request=request,
            region_code=rect.region_code,
            object_type="govservice.rectification",
            object_id=rect.pk,
            detail={"accepted": accepted, "round": rect.rounds},
        )
        emit(
            events.RectificationChanged(
                actor_id=getattr(actor, "pk", None),
                rectification_id=rect.pk,
                region_code=rect.region_code,
                action="closed" if accepted else "sent_back",
            )
        )
    return rect
