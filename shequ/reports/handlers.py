"""The reports app's reactions and periodic job (imported by ReportsConfig.ready()).

- A report submitted: the reviewers of the region above are told (inbox), and that region's own
  report, the sum of what its children submitted, is recomputed.
- Returned: the person who submitted it is told why (inbox and SMS: the community worker must fix
  it); approved: they are told it passed. Both recompute the region above too.
- ``reports.fill`` fills the current and the just-ended period of every active template (only draft
  and returned reports change; submitted ones keep their snapshot).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import outbox
from shequ.core.messaging import Notice, notify, thread_key
from shequ.core.models import LEVEL_CODE_LENGTH, Channel, Membership, RegionLevel, Role, User
from shequ.core.outbox import handles, periodic
from shequ.core.selectors import region_staff
from shequ.reports.events import InstanceApproved, InstanceReturned, InstanceSubmitted
from shequ.reports.models import ReportInstance, ReportTemplate
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.selectors_reports import period_label
from shequ.reports.services._common import parent_code
from shequ.reports.services.filling import fill_period, refresh_parent

THREAD_KIND = "reports.instance"
FILLING_ROLES = (Role.COMMUNITY_WORKER, Role.COMMUNITY_HEAD, Role.GRID_WORKER)
COUNTY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COUNTY]
COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]
FILL_EVERY = timedelta(hours=6)


def _instance(pk: int) -> ReportInstance | None:
    return ReportInstance.objects.select_related("template", "region").filter(pk=pk).first()


def _link(instance: ReportInstance) -> str:
    try:
        return reverse("reports:instance", args=[instance.pk])
    except NoReverseMatch:  # the pages are not mounted (an engine-only deployment)
        return ""


def label(instance: ReportInstance) -> str:
    """「2026年11月 网格事件办理情况统计表（东塘社区）」"""
    period = period_label(instance.template.periodicity, instance.period_start)
    return f"{period} {instance.template.title}（{instance.region.name}）"


def submitted_notice(instance: ReportInstance, who: str) -> Notice:
    fields = {"label": label(instance), "who": who}
    return Notice(
        subject=_("Report to review: %(label)s") % fields,
        body=_("%(who)s submitted this report. Please check it, then approve it or return it with a reason.")
        % fields,
        fields=fields,
    )


def returned_notice(instance: ReportInstance, reason: str) -> Notice:
    fields = {"label": label(instance), "reason": reason}
    return Notice(
        subject=_("Report returned: %(label)s") % fields,
        body=_("Reason for returning: %(reason)s\nPlease correct the report and submit it again.") % fields,
        fields=fields,
    )


def approved_notice(instance: ReportInstance) -> Notice:
    fields = {"label": label(instance)}
    return Notice(
        subject=_("Report approved: %(label)s") % fields,
        body=_("The report was approved. Nothing more to do for this period.") % fields,
        fields=fields,
    )


def _send(instance: ReportInstance, users: list[User], notice: Notice, *, channels: tuple[str, ...]) -> None:
    if not users:
        return
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=_link(instance),
        channels=channels,
        region_code=instance.region_code,
        topic=THREAD_KIND,
        topic_ref=str(instance.pk),
        dedupe_key=outbox.current_event_id(),
        thread_key=thread_key(THREAD_KIND, instance.pk),
    )


def _filler(instance: ReportInstance) -> list[User]:
    """Who submitted it; if that account is gone, the region's fillers."""
    if instance.submitted_by is not None and instance.submitted_by.is_active:
        return [instance.submitted_by]
    return region_staff(instance.region_code, P.FILL)


@handles(InstanceSubmitted)
def on_submitted(event: InstanceSubmitted) -> None:
    instance = _instance(event.instance_id)
    if instance is None:
        return
    refresh_parent(instance)
    reviewers = region_staff(parent_code(instance.region_code, instance.level), P.REVIEW)
    who = instance.submitted_by.name if instance.submitted_by is not None else instance.region.name
    with translation.override("zh-hans"):
        _send(instance, reviewers, submitted_notice(instance, who), channels=(Channel.INBOX,))


@handles(InstanceReturned)
def on_returned(event: InstanceReturned) -> None:
    instance = _instance(event.instance_id)
    if instance is None:
        return
    refresh_parent(instance)
    with translation.override("zh-hans"):
        notice = returned_notice(instance, event.reason)
        _send(instance, _filler(instance), notice, channels=(Channel.INBOX, Channel.SMS))


@handles(InstanceApproved)
def on_approved(event: InstanceApproved) -> None:
    instance = _instance(event.instance_id)
    if instance is None:
        return
    refresh_parent(instance)
    if event.actor_id is not None and instance.submitted_by_id == event.actor_id:
        return  # the final level approves its own submission: nobody to tell
    with translation.override("zh-hans"):
        _send(instance, _filler(instance), approved_notice(instance), channels=(Channel.INBOX,))


def served_counties() -> list[str]:
    """The counties where communities use the platform: those with community or grid staff.

    A province's whole division tree is loaded (29,000 communities) wherever the platform runs; the
    periodic job fills the areas it serves, not 600,000 empty reports every few hours."""
    codes = Membership.objects.filter(revoked_at__isnull=True, role__in=FILLING_ROLES).values_list(
        "region_code", flat=True
    )
    return sorted({code[:COUNTY_LENGTH] for code in codes if len(code) >= COMMUNITY_LENGTH})


def fill_due(today: date | None = None, *, key: str = "") -> int:
    """Fill the current and the just-ended period of every active template (or of ``key``) in the
    counties the platform serves."""
    today = today or timezone.localdate()
    templates = ReportTemplate.objects.filter(active=True).order_by("key")
    if key:
        templates = templates.filter(key=key)
    roots = served_counties()
    written = 0
    for template in templates:
        start, _end = template.period_of(today)
        for period_start in (start, template.period_of(start - timedelta(days=1))[0]):
            for root in roots:
                with transaction.atomic():
                    written += fill_period(template=template, period_start=period_start, root=root)
    return written


@periodic("reports.fill", FILL_EVERY)
def fill_job() -> None:
    fill_due()
