"""Every emergency notice renders in Chinese with every value filled (as grid/tests/test_notices.py
does for the grid's): the grid worker's list of the silent, the call-out SMS, the warning texts."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from shequ.emergency import notices
from shequ.emergency.models import Level, Recipient, WarningType
from shequ.emergency.services import mobilization, warnings
from shequ.emergency.tests.conftest import COMMUNITY_A, GRID_A, Registry

pytestmark = pytest.mark.django_db
GAPS = re.compile(r"%\(|\{\w*\}|None|“”|（）|：$")


def clean(text: str) -> None:
    assert text and not GAPS.search(text), text


def test_every_notice_is_filled(town: Registry) -> None:
    head = town.world["head_a"]
    call = mobilization.mobilization_start(
        actor=head,
        title="暴雨转移",
        body="低洼处住户请转移。",
        response="status",
        targets=[{"kind": "residents", "region": COMMUNITY_A}],
        is_drill=True,
    )
    silent = list(Recipient.objects.filter(mobilization=call, region_code=GRID_A))
    with translation.override("zh-hans"):
        notice = notices.silent_people(call, GRID_A, silent)
        assert all(notice.fields.values())
        clean(notice.subject)
        clean(notice.body)
        assert notice.subject.startswith("【演练】") and "第一网格" in notice.subject
        assert "张三（" in notice.body and "湖南省" not in notice.body  # short local addresses
        clean(mobilization.subject_of(call))
        clean(mobilization.body_of(call))
        assert "本次为演练" in mobilization.body_of(call)
    warning = warnings.warning_draft(
        actor=head,
        kind=WarningType.RAINSTORM,
        level=Level.RED,
        title="特大暴雨",
        text="请立即转移。",
        area_codes=[COMMUNITY_A],
    )
    warning = warnings.warning_issue(actor=head, warning=warning)
    for texts in (
        warnings.warning_text(warning),
        warnings.warning_text(warnings.warning_lift(actor=head, warning=warning, reason="雨停，积水已退")),
    ):
        for part in texts:
            clean(part)
    subject, body = warnings.warning_text(warning)
    assert subject.startswith("解除") and "红色" in body and "雨停" in body
