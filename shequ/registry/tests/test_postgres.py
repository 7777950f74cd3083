"""PostgreSQL specifics for a million people: prefix searches on names, pinyin, initials and
region codes use an index under any collation (``varchar_pattern_ops``)."""

from __future__ import annotations

import pytest
from django.db import connection

from shequ.registry.models import Person
from shequ.registry.tests.conftest import Registry

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set SHEQU_DATABASE_URL)")


def _indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("column", ["name", "name_pinyin", "name_initials", "region_code"])
def test_prefix_search_columns_have_pattern_indexes(column: str) -> None:
    defs = _indexes("registry_person")
    # The column leads a pattern-ops index (alone, or before name_pinyin for the initials).
    assert any(f"({column} varchar_pattern_ops" in d for d in defs), defs


def test_id_number_lookups_use_the_unique_index() -> None:
    defs = _indexes("registry_person")
    assert any("UNIQUE" in d and "(id_number_index, id_type)" in d and "WHERE" in d for d in defs), defs
    assert not any(d.endswith("(id_number_index)") for d in defs)  # no second index on the same column


def test_orm_prefix_query_can_use_the_index(reg: Registry) -> None:
    qs = Person.objects.filter(name_pinyin__startswith="zhang", region_code__startswith="430104002001")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = qs.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index" in plan and "Seq Scan" not in plan, plan
