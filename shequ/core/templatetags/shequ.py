"""Template filters of the platform: ``{% load shequ %}``."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import gettext, ngettext

register = template.Library()


@register.filter
def days_ago(value: date | datetime | None) -> str:
    """今天 / 昨天 / N 天前 for a past moment, in calendar days of the local time zone (so a change at
    23:50 reads 昨天 ten minutes after midnight, and one an hour ago never reads "0 days ago")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    days = (timezone.localdate() - value).days
    if days <= 0:
        return gettext("today")
    if days == 1:
        return gettext("yesterday")
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}


@register.filter
def error_target(field: BoundField) -> str:
    """The id of the control an error summary's link moves to: the field's input, or the first
    of its radio buttons or check boxes (a group has no single control)."""
    if field.widget_type in ("radioselect", "checkboxselectmultiple"):
        return f"{field.auto_id}_0"
    return str(field.id_for_label or field.auto_id)
