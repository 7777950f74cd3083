"""Time loading a province's division tree into the configured database.

Baseline, measured in the same run: reading and filtering the same CSV rows without touching the
database. Prints both times and their ratio. Run against a scratch database, e.g.
``SHEQU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shequ_bench .venv/bin/python bench/bench_regions.py``.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from shequ.core.models import Region  # noqa: E402
from shequ.core.regions import load_province, read_division  # noqa: E402


def main(province: str = "43") -> None:
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    rows = list(read_division(province))
    parse = time.perf_counter() - t0

    Region.objects.filter(code__startswith=province).update(parent=None)
    Region.objects.filter(code__startswith=province).delete()
    t0 = time.perf_counter()
    load_province(province)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_province(province)
    again = time.perf_counter() - t0

    print(f"database: {connection.vendor} ({settings.DATABASES['default']['NAME']})")
    print(f"province {province}: {len(rows)} regions")
    print(f"baseline (read + filter CSV only): {parse:.2f} s")
    print(f"load into an empty table:          {first:.2f} s  ratio {first / parse:.1f}x")
    print(f"reload (upsert, no changes):       {again:.2f} s  ratio {again / parse:.1f}x")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["43"]))
