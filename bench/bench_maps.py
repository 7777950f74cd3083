"""The maps' GeoJSON on the demo street: payload (raw and gzipped), features and time per viewer.

Baseline, measured in the same run: the same viewer's list page of the same things (the region
page of their area for buildings, the ticket list for tickets), through the same middleware; the
ratio says what a map's data costs next to a page the viewer already opens. Needs the demo data
(``SHEQU_DEMO=1 .venv/bin/shequ demo``), e.g.
``SHEQU_DEMO=1 .venv/bin/python bench/bench_maps.py``.
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")

import django

django.setup()

from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from shequ.core.models import User  # noqa: E402
from shequ.core.permissions import scopes_for  # noqa: E402

RUNS = 5


def timed(fn: Callable[[], Any]) -> float:
    fn()  # warm
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    setup_test_environment()
    cases = [
        ("grid_a", "/registry/map/data.geojson", "buildings"),
        ("head_a", "/registry/map/data.geojson", "buildings"),
        ("street", "/registry/map/data.geojson", "buildings"),
        ("grid_a", "/grid/map/data.geojson?layer=tickets", "tickets"),
        ("head_a", "/grid/map/data.geojson", "tickets"),
        ("street", "/grid/map/data.geojson", "tickets"),
        ("county", "/grid/map/data.geojson", "tickets"),
    ]
    print("| viewer | endpoint | bytes | gzipped | features | time | list page | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for username, url, rows in cases:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        body = client.get(url).content
        features = len(json.loads(body)["features"])
        took = timed(lambda client=client, url=url: client.get(url))
        if rows == "buildings":
            listing = f"/registry/regions/{scopes_for(user, 'registry.view_places')[0]}/"
        else:
            listing = "/grid/tickets/"
        assert client.get(listing).status_code == 200, listing

        def base(client: Client = client, listing: str = listing) -> Any:
            return client.get(listing)

        baseline = timed(base)
        print(
            f"| {username} | `{url}` | {len(body):,} | {len(gzip.compress(body)):,} | {features} "
            f"| {took:.0f} ms | {baseline:.0f} ms | {took / baseline:.1f}× |"
        )


if __name__ == "__main__":
    main()
