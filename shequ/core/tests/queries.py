"""Query-count assertions, as Zulip's ``assert_database_query_count``: a list page or API list
loaded with N rows and again with 3N must not run more queries — an N+1 (a query per row) fails.

Comparing two loads, not a magic constant, keeps the tests honest when a page gains a fixed query
and strict about the only thing that matters at scale: growth with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of(load: Callable[[], Any]) -> list[str]:
    """The SQL statements ``load()`` runs."""
    with CaptureQueriesContext(connection) as ctx:
        load()
    return [q["sql"] for q in ctx.captured_queries]


def assert_flat_queries(load: Callable[[], Any], grow: Callable[[], Any], *, label: str = "") -> int:
    """Load once to warm per-process caches, count a load, ``grow()`` the rows (to about 3N), count
    again: the second count must not exceed the first. Returns the count, for a report."""
    load()
    before = queries_of(load)
    grow()
    after = queries_of(load)
    if len(after) > len(before):
        extra = "\n".join(after[len(before) - len(after) :] if before else after)
        raise AssertionError(
            f"{label or 'load'}: {len(before)} queries with N rows, {len(after)} with 3N — a query per "
            f"row (N+1)?\nThe last statements:\n{extra}"
        )
    return len(after)
