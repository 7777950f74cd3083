"""The platform's template filters (core/templatetags/shequ.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from shequ.core.templatetags.shequ import days_ago


@pytest.mark.parametrize(
    ("back", "zh", "en"),
    [
        (0, "今天", "today"),
        (1, "昨天", "yesterday"),
        (2, "2 天前", "2 days ago"),
        (30, "30 天前", "30 days ago"),
    ],
)
def test_days_ago_in_words(back: int, zh: str, en: str) -> None:
    day = timezone.localdate() - timedelta(days=back)
    with translation.override("zh-hans"):
        assert days_ago(day) == zh
    with translation.override("en"):
        assert days_ago(day) == en


def test_days_ago_counts_calendar_days_of_the_local_zone() -> None:
    today = timezone.localdate()
    late_yesterday = timezone.make_aware(datetime.combine(today - timedelta(days=1), time(23, 59)))
    early_today = timezone.make_aware(datetime.combine(today, time(0, 0)))
    with translation.override("zh-hans"):
        assert days_ago(late_yesterday) == "昨天"  # less than a day back, yet yesterday
        assert days_ago(early_today) == "今天"
        assert days_ago(timezone.now()) == "今天"
        assert days_ago(timezone.now() + timedelta(minutes=1)) == "今天"  # a clock a little ahead
        assert days_ago(None) == ""
        page = Template("{% load shequ %}{{ when|days_ago }}").render(Context({"when": today}))
    assert page == "今天"
