"""PostgreSQL: a prefix search asks for the pattern index's own (byte) order, so that the index
scan that finds the prefix also yields the page, instead of a sort of every match of a common
surname (seconds at a million people)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shequ.registry.search import person_search
from shequ.registry.tests.conftest import Registry

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set SHEQU_DATABASE_URL)")


def plan_of_search(reg: Registry, persona: str, q: str) -> str:
    with CaptureQueriesContext(connection) as captured:
        person_search(viewer=reg.world[persona], q=q)
    sql = next(c["sql"] for c in captured.captured_queries if c["sql"].startswith('SELECT "registry_person"'))
    with connection.cursor() as cursor:
        # Tiny test tables would be scanned whole, and with a few rows any index may win (CI once
        # took the region index). Forbid scans and full sorts: the plan left is the one that gets
        # the order from an index, and there is one only if the order asked for is an index's own.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


# The varchar_pattern_ops indexes of the prefix searches (registry migration 0005).
PATTERN_INDEXES = {"name": "registry_person_name_idx", "name_pinyin": "registry_person_pinyin_idx"}


@pytest.mark.parametrize(("q", "column"), [("张", "name"), ("zhang", "name_pinyin"), ("z", "name_pinyin")])
def test_prefix_search_orders_by_the_pattern_index_it_filters_with(
    reg: Registry, q: str, column: str
) -> None:
    # The order asked for is the pattern index's own (USING ~<~), so the index scan that finds the
    # prefix also delivers the page, only the ties on id sorted (timed at a million people by the
    # benchmark). With an order of the column's collation no index presorts and a full sort is left.
    plan = plan_of_search(reg, "street", q)
    assert f"{PATTERN_INDEXES[column]} on registry_person" in plan, plan
    assert f"Presorted Key: registry_person.{column}" in plan, plan


def test_search_results_are_in_byte_order(reg: Registry) -> None:
    for name in ("张伟", "张三丰", "张丽"):
        reg.register(name, reg.houses["a"][1])
    names = [hit.name for hit in person_search(viewer=reg.world["street"], q="张").items]
    assert names == sorted(names, key=lambda n: n.encode())
