"""The demo disclosure on the test town (岳麓街道's two communities with staff, the registry's
residents): a year of finances and four quarters of affairs per community with some published late
and a gap left overdue, major matters (one a draft past its due date), a 低保 list stored masked,
questions answered and open with an overdue challenge the street sees; made through the services
(audited); run again: left alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from shequ.core.models import AuditEntry
from shequ.participation import selectors_disclosure as sel
from shequ.participation.demo.disclosure import DisclosureSummary, generate_disclosure
from shequ.participation.models import (
    DisclosureItem,
    DisclosureKind,
    DisclosureListRow,
    DisclosureQuestion,
    DisclosureStatus,
    QuestionStatus,
)
from shequ.participation.services.disclosure import rules
from shequ.participation.tests.fixtures_disclosure import Disc
from shequ.registry.models import Person
from shequ.registry.tests.conftest import COMMUNITY_A, COMMUNITY_B

pytestmark = pytest.mark.django_db


def test_demo_disclosure(disc: Disc) -> None:
    now = timezone.make_aware(dt.datetime(2026, 12, 7, 10, 0))
    summary = generate_disclosure(seed=7, now=now)
    assert isinstance(summary, DisclosureSummary) and not summary.skipped
    assert summary.communities == 2  # the other street's community has no disclosure staff in the demo
    items = DisclosureItem.objects.all()
    assert items.count() == summary.items
    for code in (COMMUNITY_A, COMMUNITY_B):
        mine = items.filter(region_code=code)
        finances = mine.filter(kind=DisclosureKind.FINANCE, status=DisclosureStatus.PUBLISHED).count()
        assert 9 <= finances <= 11, (code, finances)
        assert mine.filter(kind=DisclosureKind.AFFAIRS).count() >= 2
        assert mine.filter(kind=DisclosureKind.MAJOR, status=DisclosureStatus.DRAFT).count() == 1
        entries = sel.community_schedule(disc.world.regions[code], now=now)
        states = {e.state for e in entries}
        assert rules.State.OVERDUE in states and rules.State.PUBLISHED in states, (code, states)
    assert set(summary.by_kind) == set(DisclosureKind.values)
    # Every item's timestamps are in the past and consistent with its clock.
    for item in items.filter(status=DisclosureStatus.PUBLISHED):
        assert item.published_at is not None and item.published_at <= now
        assert item.created_at <= item.published_at
    # The 低保 list is masked: no full ID number of the registry is in the table.
    rows = DisclosureListRow.objects.all()
    assert rows.count() == summary.list_rows > 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM participation_disclosurelistrow")
        stored = " ".join(" ".join(map(str, r)) for r in cursor.fetchall())
    for person in Person.objects.all():
        assert person.id_number not in stored and person.name not in stored
    assert all("********" in r.id_masked for r in rows)
    # Questions: answered ones on the board, an open challenge overdue for the street.
    questions = DisclosureQuestion.objects.all()
    assert questions.count() == summary.questions and summary.answered >= 4
    assert questions.filter(status=QuestionStatus.ANSWERED).count() == summary.answered
    overdue = sel.overdue_challenges(viewer=disc["street"])
    assert overdue and all(q.due_at < timezone.now() for q in overdue)
    assert (
        AuditEntry.objects.filter(action="participation.disclosure_publish").count()
        == items.filter(status=DisclosureStatus.PUBLISHED).count()
    )
    assert "disclosure:" in summary.line()
    again = generate_disclosure(seed=7, now=now)
    assert again.skipped and DisclosureItem.objects.count() == summary.items
