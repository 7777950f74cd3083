"""Demo reports for 岳麓街道: the official templates, filled for the street's communities for the
current and the last period, and last period's reports on their way up.

For the last period of 社区基本情况统计表 and 网格事件办理情况统计表: 枇杷塘社区 typed its manual fields
and submitted, the street approved; 泽盛社区 submitted, was returned with a reason, corrected and
submitted again (awaiting the street's review: its history shows both snapshots). The other
communities and templates are drafts filled from the data, waiting for their community.

Everything goes through the reports services, as the clicks would. Idempotent: a street whose
reports already have a snapshot is left alone (the fill itself is refreshed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from shequ.core.models import User
from shequ.reports.models import ReportInstance, ReportSnapshot, ReportTemplate
from shequ.reports.services import (
    fill_period,
    instance_approve,
    instance_return,
    instance_save_manual,
    instance_submit,
    seed_templates,
)

STREET = "430104002"  # 岳麓街道
COMMUNITY_A = "430104002001"  # 枇杷塘社区
COMMUNITY_B = "430104002003"  # 泽盛社区
SHOWN = ("community_basic", "grid_tickets")

# Manual fields as a community types them: {template: {community: {row: value}}}.
MANUAL = {
    "community_basic": {
        COMMUNITY_A: {"staff": "14", "grid_workers": "4", "office_area": "680"},
        COMMUNITY_B: {"staff": "11", "grid_workers": "3", "office_area": "420.5"},
    },
    "grid_tickets": {
        COMMUNITY_A: {"patrols": "236", "grid_meetings": "2"},
        COMMUNITY_B: {"patrols": "64", "grid_meetings": "1"},
    },
}
WRONG = {"community_basic": {"staff": "110"}, "grid_tickets": {"patrols": "6400"}}
RETURN_REASON = {
    "community_basic": "社区工作者人数与花名册不符（多填了一个0），请核实后重新上报。",
    "grid_tickets": "网格员巡查次数明显偏高，请与巡查记录核对后重新上报。",
}


@dataclass
class ReportsSummary:
    templates: int = 0
    filled: int = 0
    submitted: int = 0

    def line(self) -> str:
        return (
            f"reports: {self.templates} official templates, {self.filled} instances filled from the data "
            f"(this and last period, the demo street), {self.submitted} submitted on their way up "
            "— /reports/ (worker_a fills, street reviews), ledgers at /reports/ledgers/"
        )


def generate_reports() -> ReportsSummary:
    summary = ReportsSummary()
    seed_templates()
    templates = list(ReportTemplate.objects.filter(active=True).order_by("key"))
    summary.templates = len(templates)
    today = timezone.localdate()
    for template in templates:
        current, _end = template.period_of(today)
        for start in (current, template.period_of(current - timedelta(days=1))[0]):
            summary.filled += fill_period(template=template, period_start=start, root=STREET)
    if ReportSnapshot.objects.filter(instance__region_code__startswith=STREET).exists():
        return summary
    worker_a = User.objects.filter(username="worker_a").first()
    head_b = User.objects.filter(username="head_b").first()
    street = User.objects.filter(username="street").first()
    if worker_a is None or head_b is None or street is None:
        return summary
    for template in templates:
        if template.key not in SHOWN:
            continue
        current, _end = template.period_of(today)
        last = template.period_of(current - timedelta(days=1))[0]

        def instance(code: str, template: ReportTemplate = template, last: date = last) -> ReportInstance:
            return ReportInstance.objects.select_related("template").get(
                template=template, region_code=code, period_start=last
            )

        manual = MANUAL[template.key]
        instance_save_manual(actor=worker_a, instance=instance(COMMUNITY_A), manual=manual[COMMUNITY_A])
        instance_submit(actor=worker_a, instance=instance(COMMUNITY_A))
        instance_approve(actor=street, instance=instance(COMMUNITY_A))
        instance_save_manual(
            actor=head_b,
            instance=instance(COMMUNITY_B),
            manual={**manual[COMMUNITY_B], **WRONG[template.key]},
        )
        instance_submit(actor=head_b, instance=instance(COMMUNITY_B))
        instance_return(actor=street, instance=instance(COMMUNITY_B), reason=RETURN_REASON[template.key])
        instance_save_manual(actor=head_b, instance=instance(COMMUNITY_B), manual=manual[COMMUNITY_B])
        instance_submit(actor=head_b, instance=instance(COMMUNITY_B))
        summary.submitted += 3
    return summary
