"""``shequ registry_import <file> --kind people --region <code> [--commit]``: import a ledger as an
operator (the platform itself is the actor, as in the audit log).

Without ``--commit`` this is the dry run: every problem is printed by row, column and reason and
nothing is written. With ``--commit`` the file is checked again and all valid rows are written in
one transaction (rows with problems are skipped and listed). ``--errors out.xlsx`` writes the rows
with problems, bad cells marked, for correction.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core.models import Region
from shequ.registry import imports
from shequ.registry.models import ImportKind


class Command(BaseCommand):
    help = "Check (and with --commit, import) a ledger of people, houses or organizations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=".xlsx, .xls, .ods or .csv file")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--region", required=True, help="code of the grid or community to import into")
        parser.add_argument("--sheet", default=None, help="sheet name (default: the first sheet with data)")
        parser.add_argument("--commit", action="store_true", help="write the valid rows (default: dry run)")
        parser.add_argument("--errors", default="", help="write the rows with problems to this .xlsx file")
        parser.add_argument("--limit", type=int, default=200, help="problems to print (0: all)")
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="processes that validate and encrypt big files (default: one per CPU)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        region = Region.objects.filter(code=opts["region"]).first()
        if region is None:
            raise CommandError(f"no region with code {opts['region']}")
        content = path.read_bytes()
        started = time.perf_counter()
        common = {
            "workers": max(1, opts["workers"]),
            "content": content,
            "filename": path.name,
            "kind": opts["kind"],
            "region": region,
            "sheet": opts["sheet"],
        }
        try:
            if opts["commit"]:
                result = imports.commit(**common)
                report = result.report
            else:
                report = imports.check(**common).report
                result = None
        except Exception as exc:  # a refusal (wrong region level) is a usage error here
            if hasattr(exc, "messages"):
                raise CommandError("; ".join(exc.messages)) from exc
            raise
        elapsed = time.perf_counter() - started
        self._print_report(report, opts["limit"])
        if opts["errors"] and report.problems:
            Path(opts["errors"]).write_bytes(imports.error_workbook(content=content, report=report))
            self.stdout.write(f"rows with problems written to {opts['errors']}")
        rate = report.data_rows / elapsed if elapsed else 0
        if result is None:
            self.stdout.write(
                f"dry run: {report.valid_count} of {report.data_rows} rows can be imported "
                f"({elapsed:.1f} s, {rate:,.0f} rows/s); nothing was written"
            )
        elif result.status == "committed":
            created = ", ".join(f"{k} {n}" for k, n in result.created.items())
            self.stdout.write(f"imported: {created} ({elapsed:.1f} s, {rate:,.0f} rows/s)")
        else:
            raise CommandError(f"nothing was imported: {result.message}")
        if not report.ok:
            raise CommandError("the file cannot be imported")

    def _print_report(self, report: imports.Report, limit: int) -> None:
        if report.header_rows:
            mapped = ", ".join(f"{c['title']}→{c['field']}" for c in report.columns if c["field"])
            self.stdout.write(f"sheet {report.sheet or '-'}, header row(s) {report.header_rows}: {mapped}")
        shown = report.problems if limit <= 0 else report.problems[:limit]
        for p in shown:
            where = f"row {p.row}" if p.row is not None else "file"
            column = f" {p.column_letter} {p.column}" if p.col is not None else ""
            self.stdout.write(f"{where}{column}: {p.reason} [{p.code}]")
        if len(shown) < len(report.problems):
            self.stdout.write(f"… and {len(report.problems) - len(shown)} more problems")
        for s in report.skipped:
            self.stdout.write(f"row {s['row']}: skipped ({s['why']})")
