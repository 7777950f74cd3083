"""``shequ reports <subcommand>``: the report templates and their filling.

shequ reports seed                                   # publish the official templates (idempotent)
shequ reports fill                                   # the current and last period of every active template
shequ reports fill --template grid_tickets --period 2026-11
shequ reports fill --root 430104002                  # only the communities of one street
"""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from shequ.reports.handlers import fill_due
from shequ.reports.models import ReportTemplate
from shequ.reports.services import fill_period, seed_templates

PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$|^(\d{4})Q([1-4])$")


def parse_period(text: str) -> date:
    """A day of the period: ``2026-11`` (a month), ``2026Q3`` (a quarter) or ``2026`` (a year)."""
    match = PERIOD_RE.match(text.strip())
    if not match:
        raise CommandError(f"--period {text!r}: write 2026-11, 2026Q3 or 2026.")
    if match.group(3):
        return date(int(match.group(3)), (int(match.group(4)) - 1) * 3 + 1, 1)
    month = int(match.group(2) or 1)
    if not 1 <= month <= 12:
        raise CommandError(f"--period {text!r}: no month {month}.")
    return date(int(match.group(1)), month, 1)


class Command(BaseCommand):
    help = "Report templates: `seed` publishes the official ones, `fill` fills communities' reports."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("seed", help="publish the official templates that are missing or changed")
        fill = sub.add_parser("fill", help="fill the draft and returned reports from the data")
        fill.add_argument("--template", default="", help="the template's key (default: every active one)")
        fill.add_argument("--period", default="", help="2026-11, 2026Q3 or 2026 (default: current and last)")
        fill.add_argument("--root", default="", help="only the regions under this code")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["subcommand"] == "seed":
            written = seed_templates()
            active = ReportTemplate.objects.filter(active=True).count()
            self.stdout.write(f"{written} template versions published; {active} templates active.")
            return
        self.fill(key=opts["template"], period=opts["period"], root=opts["root"])

    def fill(self, *, key: str, period: str, root: str) -> None:
        templates = ReportTemplate.objects.filter(active=True).order_by("key")
        if key:
            templates = templates.filter(key=key)
            if not templates.exists():
                raise CommandError(f"No active template {key!r}: see `shequ reports seed`.")
        started = time.monotonic()
        if not period and not root:
            written = fill_due(timezone.localdate(), key=key)
        else:
            day = parse_period(period) if period else timezone.localdate()
            written = 0
            for template in templates:
                with transaction.atomic():
                    written += fill_period(template=template, period_start=day, root=root)
        self.stdout.write(f"{written} reports filled in {time.monotonic() - started:.1f} s.")
