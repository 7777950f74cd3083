"""The region's own part of a report and its way up: manual fields, submission, review.

Rules (docs/reports.md):

- The filler (``reports.fill`` in the instance's region) types the manual fields, each checked
  against the definition; one wrong field saves nothing.
- Submission freezes a snapshot (a new revision each time; earlier ones are kept with their
  outcome). Required manual fields must be filled. Above the filling level a region may submit
  only when every child region's report is approved: its numbers are the sums of those approved
  snapshots, recomputed at that moment. At the receiving level (where the roll-up ends) nobody is
  above to review: the submission is final (approved at once).
- The reviewer (``reports.review`` in the region above) approves or returns with a reason. A
  returned report goes back to the filler, who fixes and resubmits it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, outbox
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, Region, User
from shequ.core.permissions import Viewer
from shequ.core.text import bounded_text
from shequ.reports.definitions import Definition, Manual, Row, parse
from shequ.reports.events import InstanceApproved, InstanceReturned, InstanceSubmitted
from shequ.reports.models import (
    InstanceStatus,
    ReportInstance,
    ReportSnapshot,
    SnapshotOutcome,
)
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.services._common import (
    child_level,
    parent_code,
    plain,
    require_filler,
    user_of,
    with_ratios,
)
from shequ.reports.services.filling import EDITABLE, recompute

REASON_MAX = 500
_INT_RE = re.compile(r"^[+-]?\d+$")


def _lock(instance: ReportInstance) -> ReportInstance:
    return (
        ReportInstance.objects.select_for_update(of=("self",)).select_related("template").get(pk=instance.pk)
    )


def editable_manual_rows(definition: Definition, instance: ReportInstance) -> list[Row]:
    """The manual rows this region types: all of them at the filling level; above it, those that
    are not the sums of the children's."""
    at_fill_level = instance.level == instance.template.fill_level
    return [
        row
        for row in definition.manual_rows()
        if row.manual is not None and (at_fill_level or row.manual.rollup != "sum")
    ]


def _parse_manual(row: Row, spec: Manual, raw: str) -> Any:
    """One manual value from what was typed (None when blank), or ValueError with the reason."""
    text = (raw or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    if spec.type == "int":
        if not _INT_RE.match(text):
            raise ValueError(_("Enter a whole number."))
        number: Decimal = Decimal(text)
    elif spec.type == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(_("Enter a number.")) from exc
        if not number.is_finite() or number.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError(_("Enter a number with at most two decimals."))
    elif spec.type == "choice":
        if text not in spec.options:
            raise ValueError(_("Choose one of: %(options)s.") % {"options": "、".join(spec.options)})
        return text
    else:
        cleaned = (raw or "").strip()
        if len(cleaned) > spec.max_length:
            raise ValueError(_("At most %(n)s characters.") % {"n": spec.max_length})
        return cleaned
    if spec.min is not None and number < spec.min:
        raise ValueError(_("Must be at least %(min)s.") % {"min": spec.min})
    if spec.max is not None and number > spec.max:
        raise ValueError(_("Must be at most %(max)s.") % {"max": spec.max})
    return plain(number)


def instance_save_manual(
    *, actor: Viewer, instance: ReportInstance, manual: Mapping[str, str]
) -> ReportInstance:
    """Check and store the region's manual fields (only those given). Errors: ``ValidationError``
    with {row key: message}; nothing is saved when any field is wrong."""
    require_filler(actor, instance.region_code, action="reports.instance_save", object_id=instance.pk)
    with transaction.atomic():
        locked = _lock(instance)
        if locked.status not in EDITABLE:
            raise ValidationError(_("This report has been submitted and can no longer be changed."))
        definition = parse(locked.template.definition)
        rows = {row.key: row for row in editable_manual_rows(definition, locked)}
        errors: dict[str, str] = {}
        parsed: dict[str, Any] = {}
        for key, raw in manual.items():
            row = rows.get(key)
            if row is None or row.manual is None:
                errors[key] = _("This report has no field %(key)s to fill in.") % {"key": key}
                continue
            try:
                parsed[key] = _parse_manual(row, row.manual, raw if isinstance(raw, str) else str(raw))
            except ValueError as exc:
                errors[key] = f"{row.title}：{exc}"
        if errors:
            raise ValidationError(errors)
        values = {**locked.manual, **parsed}
        locked.manual = {k: v for k, v in values.items() if v is not None}
        locked.values = with_ratios(definition, locked.values, locked.manual)
        locked.save(update_fields=["manual", "values"])
        audit.record(
            "reports.instance_save",
            actor=actor,
            region_code=locked.region_code,
            object_type="reports.instance",
            object_id=locked.pk,
            fields=sorted(parsed),
        )
    return locked


def _event_fields(instance: ReportInstance, actor: Viewer | None, revision: int) -> dict[str, Any]:
    return {
        "actor_id": getattr(actor, "pk", None),
        "instance_id": instance.pk,
        "template_key": instance.template.key,
        "region_code": instance.region_code,
        "period_start": instance.period_start.isoformat(),
        "revision": revision,
    }


def missing_children(instance: ReportInstance) -> list[str]:
    """Names of the regions directly below whose report is not approved yet (in code order)."""
    below = child_level(instance.level)
    if instance.level == instance.template.fill_level or below is None:
        return []
    approved = set(
        ReportInstance.objects.filter(
            template=instance.template,
            period_start=instance.period_start,
            level=below,
            region_code__startswith=instance.region_code,
            status=InstanceStatus.APPROVED,
        ).values_list("region_code", flat=True)
    )
    children = Region.objects.filter(parent__code=instance.region_code, level=below).order_by("code")
    return [region.name for region in children if region.code not in approved]


def instance_submit(*, actor: Viewer, instance: ReportInstance) -> ReportSnapshot:
    """Freeze the region's report as a new snapshot and send it to the region above."""
    require_filler(actor, instance.region_code, action="reports.instance_submit", object_id=instance.pk)
    with transaction.atomic():
        locked = _lock(instance)
        template = locked.template
        if locked.status not in EDITABLE:
            raise ValidationError(_("This report has already been submitted."))
        definition = parse(template.definition)
        missing = {
            row.key: _("%(title)s must be filled in before submitting.") % {"title": row.title}
            for row in editable_manual_rows(definition, locked)
            if row.manual is not None and row.manual.required and locked.manual.get(row.key) in (None, "")
        }
        if missing:
            raise ValidationError(missing)
        waiting = missing_children(locked)
        if waiting:
            raise ValidationError(
                _("Not every report below is approved yet: %(names)s.") % {"names": "、".join(waiting)}
            )
        if locked.level != template.fill_level:
            recompute(locked)  # the sums of the approved snapshots, as of now
        now = timezone.now()
        final = locked.level == template.receive_level
        locked.revision += 1
        snapshot = ReportSnapshot.objects.create(
            instance=locked,
            revision=locked.revision,
            values=locked.values,
            manual=locked.manual,
            submitted_by=user_of(actor),
            submitted_at=now,
            outcome=SnapshotOutcome.APPROVED if final else SnapshotOutcome.NONE,
            outcome_by=user_of(actor) if final else None,
            outcome_at=now if final else None,
        )
        locked.status = InstanceStatus.APPROVED if final else InstanceStatus.SUBMITTED
        locked.submitted_at, locked.submitted_by = now, user_of(actor)
        locked.return_reason = ""
        if final:
            locked.reviewed_at, locked.reviewed_by = now, user_of(actor)
        locked.save()
        audit.record(
            "reports.instance_submit",
            actor=actor,
            region_code=locked.region_code,
            object_type="reports.instance",
            object_id=locked.pk,
            detail={
                "template": template.key,
                "period": locked.period_start.isoformat(),
                "revision": locked.revision,
            },
        )
        fields = _event_fields(locked, actor, locked.revision)
        outbox.emit(InstanceApproved(**fields) if final else InstanceSubmitted(**fields))
    return snapshot


def _check_reviewer(actor: Viewer, instance: ReportInstance, action: str) -> None:
    """Outside the transaction: a refusal's audit entry must survive the PermissionDenied."""
    above = parent_code(instance.region_code, instance.level)
    if not above:
        raise ValidationError(_("Nobody reviews this report."))
    require_actor(
        actor, P.REVIEW, above, action=action, object_type="reports.instance", object_id=instance.pk
    )


def _reviewable(instance: ReportInstance) -> ReportInstance:
    locked = _lock(instance)
    if locked.status != InstanceStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted report awaiting review can be approved or returned."))
    return locked


def _latest(instance: ReportInstance) -> ReportSnapshot:
    return ReportSnapshot.objects.select_for_update().filter(instance=instance).order_by("-revision").first()  # type: ignore[return-value]


def _own_submission(actor: Viewer, instance: ReportInstance) -> bool:
    return isinstance(actor, User) and instance.submitted_by_id == actor.pk


def instance_approve(*, actor: Viewer, instance: ReportInstance) -> ReportInstance:
    """Approve a submitted report; nobody approves their own submission (one person holding both the
    region's filling and the region above's review is possible)."""
    _check_reviewer(actor, instance, "reports.instance_approve")
    own = _own_submission(actor, ReportInstance.objects.get(pk=instance.pk))
    if own:
        audit.record(
            "reports.instance_approve",
            actor=user_of(actor),
            region_code=instance.region_code,
            object_type="reports.instance",
            object_id=instance.pk,
            result=AuditResult.DENIED,
            detail={"why": "own submission"},
        )
    with transaction.atomic():
        locked = _reviewable(instance)
        if own or _own_submission(actor, locked):
            raise PermissionDenied(_("Nobody approves their own submission: another reviewer decides."))
        now = timezone.now()
        snapshot = _latest(locked)
        snapshot.outcome, snapshot.outcome_by, snapshot.outcome_at = (
            SnapshotOutcome.APPROVED,
            user_of(actor),
            now,
        )
        snapshot.save(update_fields=["outcome", "outcome_by", "outcome_at"])
        locked.status = InstanceStatus.APPROVED
        locked.reviewed_at, locked.reviewed_by = now, user_of(actor)
        locked.save(update_fields=["status", "reviewed_at", "reviewed_by"])
        audit.record(
            "reports.instance_approve",
            actor=actor,
            region_code=locked.region_code,
            object_type="reports.instance",
            object_id=locked.pk,
            detail={"revision": locked.revision},
        )
        outbox.emit(InstanceApproved(**_event_fields(locked, actor, locked.revision)))
    return locked


def instance_return(*, actor: Viewer, instance: ReportInstance, reason: str) -> ReportInstance:
    reason = bounded_text(reason, "reason", REASON_MAX, required=True, label=_("Reason"), multiline=True)
    _check_reviewer(actor, instance, "reports.instance_return")
    with transaction.atomic():
        locked = _reviewable(instance)
        now = timezone.now()
        snapshot = _latest(locked)
        snapshot.outcome, snapshot.outcome_reason = SnapshotOutcome.RETURNED, reason
        snapshot.outcome_by, snapshot.outcome_at = user_of(actor), now
        snapshot.save(update_fields=["outcome", "outcome_reason", "outcome_by", "outcome_at"])
        locked.status = InstanceStatus.RETURNED
        locked.reviewed_at, locked.reviewed_by = now, user_of(actor)
        locked.return_reason = reason
        locked.save(update_fields=["status", "reviewed_at", "reviewed_by", "return_reason"])
        audit.record(
            "reports.instance_return",
            actor=actor,
            region_code=locked.region_code,
            object_type="reports.instance",
            object_id=locked.pk,
            reason=reason,
            detail={"revision": locked.revision},
        )
        outbox.emit(InstanceReturned(**_event_fields(locked, actor, locked.revision), reason=reason))
    return locked
