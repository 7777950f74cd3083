"""The ledgers' background work (imported by ReportsConfig.ready()): a periodic job that queues the
runs of due schedules, and the task that makes each run's workbook."""

from __future__ import annotations

from datetime import timedelta

from shequ.core.outbox import handles, periodic
from shequ.reports.services_ledgers import LedgerRunRequested, ledger_run_generate, schedules_run_due


@periodic("reports.ledger_schedules", every=timedelta(minutes=15))
def run_due_schedules() -> None:
    """Queue a run (one task each) for every schedule whose day has come."""
    schedules_run_due()


@handles(LedgerRunRequested)
def generate_run(event: LedgerRunRequested) -> None:
    """Make the run's workbook; a run made already is left alone (retries are harmless)."""
    ledger_run_generate(run_id=event.run_id)
