"""Filling report instances: a community's numbers from the apps' statistics, a higher region's
as the sums of its children's latest submitted snapshots.

``fill_period`` fills every community of an area at once: each computed cell is ONE grouped query
over the whole area (``Stat.compute`` with the community's code length), whatever the number of
communities, then the instances are written in bulk. Only draft and returned instances change: a
submitted or approved instance keeps what was submitted (its snapshot is frozen anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.components import StatQuery, stats_all
from shequ.core.models import LEVEL_CODE_LENGTH, Region
from shequ.core.permissions import Viewer
from shequ.reports.definitions import Definition, parse
from shequ.reports.models import InstanceStatus, ReportInstance, ReportSnapshot, ReportTemplate
from shequ.reports.services._common import (
    child_level,
    levels_between,
    plain,
    require_filler,
    summed,
    with_ratios,
)

EDITABLE = (InstanceStatus.DRAFT, InstanceStatus.RETURNED)
COUNTED = (InstanceStatus.SUBMITTED, InstanceStatus.APPROVED)
BATCH = 500


def computed_values(
    definition: Definition, *, root: str, group_length: int, start: date, end: date
) -> dict[str, dict[str, Any]]:
    """{region code (``group_length`` digits): {cell key: number}} of every computed cell, in one
    grouped query per cell for the whole of ``root``. Regions without rows are absent (zero)."""
    stats = stats_all()
    out: dict[str, dict[str, Any]] = {}
    for row, column in definition.cells():
        if not row.computed:
            continue
        query = StatQuery(
            root=root,
            group_length=group_length,
            start=start,
            end=end,
            filters=definition.filters_of(row, column),
        )
        cell = f"{row.key}:{column.key}"
        for code, value in stats[row.stat].compute(query).items():
            out.setdefault(code, {})[cell] = plain(value)
    return out


def _zeros(definition: Definition) -> dict[str, Any]:
    return {f"{row.key}:{col}": 0 for row in definition.rows if row.computed for col in row.columns}


def fill_period(*, template: ReportTemplate, period_start: date, root: str = "") -> int:
    """Create or refresh the draft/returned instances of ``template`` for the period starting on
    (or holding) ``period_start``, for every community under ``root`` (all when ""), and create the
    instances of the levels above up to the receiving level (their sums of what was submitted).
    Answers how many instances it wrote."""
    definition = parse(template.definition)
    start, end = template.period_of(period_start)
    fill_length = LEVEL_CODE_LENGTH[template.fill_level]
    computed = computed_values(definition, root=root, group_length=fill_length, start=start, end=end)
    zeros = _zeros(definition)
    levels = levels_between(template.fill_level, template.receive_level)
    regions = list(
        Region.objects.filter(code__startswith=root, level__in=levels)
        .only("pk", "code", "level")
        .order_by("code")
    )
    now = timezone.now()
    written = 0
    with transaction.atomic():
        existing = {
            inst.region_code: inst
            for inst in ReportInstance.objects.filter(
                template=template, period_start=start, region_code__startswith=root
            ).only("pk", "region_code", "status", "manual", "level")
        }
        above = [r for r in regions if r.level != template.fill_level]
        sums = _aggregates(template, definition, start, [r.code for r in above])
        new: list[ReportInstance] = []
        changed: list[ReportInstance] = []
        for region in regions:
            inst = existing.get(region.code)
            if inst is not None and inst.status not in EDITABLE:
                continue
            manual = dict(inst.manual) if inst is not None else {}
            if region.level == template.fill_level:
                values = {**zeros, **computed.get(region.code, {})}
            else:
                values, rolled = sums[region.code]
                manual.update(rolled)
            values = with_ratios(definition, values, manual)
            if inst is None:
                new.append(
                    ReportInstance(
                        template=template,
                        region_id=region.pk,
                        region_code=region.code,
                        level=region.level,
                        period_start=start,
                        period_end=end,
                        values=values,
                        manual=manual,
                        filled_at=now,
                    )
                )
            else:
                inst.values, inst.manual, inst.filled_at = values, manual, now
                changed.append(inst)
        ReportInstance.objects.bulk_create(new, batch_size=BATCH)
        ReportInstance.objects.bulk_update(changed, ["values", "manual", "filled_at"], batch_size=BATCH)
        written = len(new) + len(changed)
        audit.record(
            "reports.fill",
            actor=None,
            region_code=root,
            object_type="reports.template",
            object_id=template.pk,
            detail={
                "template": template.key,
                "period": start.isoformat(),
                "created": len(new),
                "refreshed": len(changed),
            },
        )
    return written


def _latest_counted(
    template: ReportTemplate, start: date, codes: Iterable[str], level: str
) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(region code, values, manual) of the latest snapshot of every submitted or approved instance
    at ``level`` under any of ``codes``."""
    codes = list(codes)
    if not codes:
        return []
    prefix = min(codes, key=len)
    common = prefix if all(c.startswith(prefix) for c in codes) else ""
    rows = (
        ReportSnapshot.objects.filter(
            instance__template=template,
            instance__period_start=start,
            instance__level=level,
            instance__status__in=COUNTED,
            instance__region_code__startswith=common,
        )
        .order_by("instance_id", "-revision")
        .values_list("instance_id", "instance__region_code", "values", "manual")
    )
    seen: set[int] = set()
    out = []
    for instance_id, code, values, manual in rows:
        if instance_id not in seen:
            seen.add(instance_id)
            out.append((code, values, manual))
    return out


def _aggregates(
    template: ReportTemplate, definition: Definition, start: date, codes: list[str]
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """{region code: (summed values, summed manual)} for regions above the filling level: the sums
    of their direct children's latest submitted (or approved) snapshots."""
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    by_level: dict[int, list[str]] = {}
    for code in codes:
        by_level.setdefault(len(code), []).append(code)
    for length, group in by_level.items():
        level = next(lv for lv, n in LEVEL_CODE_LENGTH.items() if n == length)
        below = child_level(level)
        snapshots = _latest_counted(template, start, group, below) if below else []
        children: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {code: [] for code in group}
        for code, values, manual in snapshots:
            parent = code[:length]
            if parent in children:
                children[parent].append((values, manual))
        for code, parts in children.items():
            out[code] = summed(definition, parts)
    return out


def recompute(instance: ReportInstance) -> None:
    """Set ``instance.values`` (and the summed manual rows above the filling level) from the data
    now; the caller saves. Shared by ``instance_refresh`` and the handlers."""
    template = instance.template
    definition = parse(template.definition)
    manual = dict(instance.manual)
    if instance.level == template.fill_level:
        computed = computed_values(
            definition,
            root=instance.region_code,
            group_length=len(instance.region_code),
            start=instance.period_start,
            end=instance.period_end,
        )
        values = {**_zeros(definition), **computed.get(instance.region_code, {})}
    else:
        values, rolled = _aggregates(template, definition, instance.period_start, [instance.region_code])[
            instance.region_code
        ]
        manual.update(rolled)
    instance.values = with_ratios(definition, values, manual)
    instance.manual = manual
    instance.filled_at = timezone.now()


def instance_refresh(*, actor: Viewer | None, instance: ReportInstance) -> ReportInstance:
    """Recompute one draft or returned instance (a community's from the data; above, the sums of
    its children's latest submitted snapshots plus its own manual fields)."""
    require_filler(actor, instance.region_code, action="reports.instance_refresh", object_id=instance.pk)
    with transaction.atomic():
        locked = ReportInstance.objects.select_for_update().select_related("template").get(pk=instance.pk)
        if locked.status not in EDITABLE:
            raise ValidationError(_("This report has been submitted: its numbers no longer change."))
        recompute(locked)
        locked.save(update_fields=["values", "manual", "filled_at"])
        audit.record(
            "reports.instance_refresh",
            actor=actor,
            region_code=locked.region_code,
            object_type="reports.instance",
            object_id=locked.pk,
        )
    return locked


def refresh_parent(instance: ReportInstance) -> ReportInstance | None:
    """After a child's submission or review: recompute the editable instance of the region above
    (creating it when the filling job has not yet), unless the child is at the receiving level."""
    template = instance.template
    if instance.level == template.receive_level:
        return None
    from shequ.reports.services._common import parent_code

    code = parent_code(instance.region_code, instance.level)
    region = Region.objects.filter(code=code).first()
    if region is None:
        return None
    parent, _created = ReportInstance.objects.select_for_update().get_or_create(
        template=template,
        region_code=code,
        period_start=instance.period_start,
        defaults={"region": region, "level": region.level, "period_end": instance.period_end},
    )
    if parent.status not in EDITABLE:
        return parent
    recompute(parent)
    parent.save(update_fields=["values", "manual", "filled_at"])
    return parent
