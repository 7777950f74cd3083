"""Every write of the reports area: templates (versions, seeds), filling, the region's own fields,
submission and review. Import from here."""

from shequ.reports.services.filling import fill_period, instance_refresh, refresh_parent
from shequ.reports.services.review import (
    instance_approve,
    instance_return,
    instance_save_manual,
    instance_submit,
    missing_children,
)
from shequ.reports.services.templates import seed_templates, template_publish

__all__ = [
    "fill_period",
    "instance_approve",
    "instance_refresh",
    "instance_return",
    "instance_save_manual",
    "instance_submit",
    "missing_children",
    "refresh_parent",
    "seed_templates",
    "template_publish",
]
