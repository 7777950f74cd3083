"""``shequ backup verify`` runs the grid's consistency check: a copy whose statistics rollup no
longer matches its tickets fails, by name (issue 8)."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.db import connection

from shequ.core import backup
from shequ.grid.models import TicketDay


@pytest.mark.django_db(transaction=True)
def test_verify_fails_a_copy_whose_rollup_differs_from_the_tickets(tmp_path: Path) -> None:
    # A rollup row no ticket accounts for (what a bulk load without 'grid rollup --rebuild' leaves).
    TicketDay.objects.create(
        day=dt.date(2026, 1, 5), region_code="430104002001", category_key=-1, submitted=3
    )
    file, _manifest = backup.create(tmp_path / f"b.{backup.EXTENSIONS[connection.vendor]}")
    out = StringIO()
    assert not backup.verify(file, out)
    report = out.getvalue()
    assert "FAIL  grid: statistics rollup matches the tickets: no, 1 problem(s)" in report, report
    assert "statistics rollup differs: TicketDay" in report and "430104002001" in report
    assert "PASS  audit chain" in report and "PASS  row counts" in report
