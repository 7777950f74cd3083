"""Template definitions: every mistake is refused with a message naming the row and what is wrong;
periods; the management command."""

from __future__ import annotations

from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from shequ.reports.definitions import parse
from shequ.reports.management.commands.reports import parse_period
from shequ.reports.models import ReportTemplate, period_of
from shequ.reports.selectors_reports import period_label, periods

PEOPLE = {"key": "people", "title": "实有人口", "stat": "registry.residents"}


def refused(definition: Any) -> str:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        parse(definition)
    return " ".join(caught.value.messages)


@pytest.mark.django_db
def test_a_good_definition_parses_with_cells_ratios_and_defaults() -> None:
    definition = parse(
        {
            "columns": [
                {"key": "total", "title": "合计"},
                {"key": "f", "title": "女", "filters": {"gender": "female"}},
            ],
            "rows": [
                {"key": "h", "title": "一、人口", "heading": True},
                PEOPLE,
                {**PEOPLE, "key": "old", "title": "老年人", "filters": {"age": "60+"}},
                {"key": "hh", "title": "户数", "stat": "registry.households", "columns": ["total"]},
                {"key": "r", "title": "老年人口占比", "ratio": ["old", "people"]},
                {"key": "per_hh", "title": "户均", "ratio": ["people", "hh"]},
                {"key": "staff", "title": "社区工作者", "manual": {"type": "int", "min": 0, "rollup": "sum"}},
            ],
        }
    )
    assert [c.key for c in definition.columns] == ["total", "f"]
    assert definition.by_key["people"].unit == "人"  # the statistic's unit by default (zh-Hans)
    assert definition.by_key["r"].columns == ("total", "f") and definition.by_key["r"].unit == "%"
    assert definition.by_key["per_hh"].columns == ("total",)  # only where both parts have cells
    assert definition.filters_of(definition.by_key["old"], definition.column("f")) == {
        "age": "60+",
        "gender": "female",
    }
    assert definition.cell("old:f") is not None and definition.cell("hh:f") is None
    single = parse({"rows": [PEOPLE]})
    assert [c.key for c in single.columns] == ["value"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (
            {"rows": [{"key": "x", "title": "X", "stat": "registry.nothing"}]},
            "unknown statistic “registry.nothing”",
        ),
        ({"rows": [{**PEOPLE, "filters": {"colour": "red"}}]}, "has no breakdown “colour”"),
        ({"rows": [{**PEOPLE, "filters": {"tag": "no_such_tag"}}]}, "“no_such_tag” is not a value of tag"),
        ({"rows": [{**PEOPLE, "filters": {"age": "60-200"}}]}, "is not a value of age"),
        (
            {"rows": [PEOPLE, {"key": "r", "title": "R", "ratio": ["people", "gone"]}]},
            "refers to “gone”, which is not a row",
        ),
        ({"rows": [PEOPLE, {**PEOPLE, "title": "again"}]}, "the key is used twice"),
        (
            {"rows": [PEOPLE], "columns": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]},
            "is used twice",
        ),
        ({"rows": [{"key": "Bad Key", "title": "X", "heading": True}]}, "must be lower-case letters"),
        (
            {"rows": [{"key": "x", "title": "X", "stat": "registry.residents", "manual": {"type": "int"}}]},
            "exactly one of",
        ),
        ({"rows": [{"key": "x", "title": "X", "manual": {"type": "float"}}]}, "manual type must be one of"),
        (
            {"rows": [{"key": "x", "title": "X", "manual": {"type": "int", "min": 5, "max": 1}}]},
            "min is above max",
        ),
        (
            {"rows": [{"key": "x", "title": "X", "manual": {"type": "text", "rollup": "sum"}}]},
            "only a number can be summed",
        ),
        (
            {"rows": [{"key": "x", "title": "X", "manual": {"type": "choice"}}]},
            "a choice needs a list of options",
        ),
        (
            {
                "columns": [{"key": "m", "title": "男", "filters": {"gender": "male"}}],
                "rows": [{**PEOPLE, "filters": {"gender": "female"}}],
            },
            "contradict those of the column m",
        ),
        (
            {
                "columns": [{"key": "m", "title": "男", "filters": {"gender": "male"}}],
                "rows": [{"key": "hh", "title": "户", "stat": "registry.households"}],
            },
            "has no breakdown “gender”",
        ),
        (
            {
                "rows": [
                    PEOPLE,
                    {"key": "h", "title": "H", "heading": True},
                    {"key": "r", "title": "R", "ratio": ["people", "h"]},
                ]
            },
            "must be a computed or numeric manual row",
        ),
        ({"rows": []}, "Rows must be a list"),
        ({"rows": [PEOPLE], "extra": 1}, "Unknown parts of the definition: extra"),
        ({"rows": [{**PEOPLE, "colour": "red"}]}, "unknown settings: colour"),
        ([], "must be an object"),
    ],
)
def test_bad_definitions_are_refused_with_a_specific_reason(definition: Any, words: str) -> None:
    assert words in refused(definition)


def test_periods_and_labels() -> None:
    assert period_of("monthly", date(2026, 12, 7)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_of("quarterly", date(2026, 11, 7)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_of("yearly", date(2024, 2, 29)) == (date(2024, 1, 1), date(2024, 12, 31))
    assert period_label("monthly", date(2026, 11, 1)) == "2026年11月"
    assert period_label("quarterly", date(2026, 7, 1)) == "2026年第3季度"
    assert period_label("yearly", date(2026, 1, 1)) == "2026年"
    template = ReportTemplate(periodicity="quarterly")
    recent = periods(template, today=date(2026, 2, 10))
    assert [(s, label) for s, _e, label in recent] == [
        (date(2026, 1, 1), "2026年第1季度"),
        (date(2025, 10, 1), "2025年第4季度"),
        (date(2025, 7, 1), "2025年第3季度"),
        (date(2025, 4, 1), "2025年第2季度"),
    ]
    assert parse_period("2026-11") == date(2026, 11, 1)
    assert parse_period("2026Q3") == date(2026, 7, 1)
    assert parse_period("2026") == date(2026, 1, 1)
    for bad in ("2026-13", "11/2026", "2026Q5"):
        with pytest.raises(CommandError):
            parse_period(bad)


def test_the_command_seeds_and_fills(world: Any) -> None:
    out = StringIO()
    call_command("reports", "seed", stdout=out)
    assert "templates active" in out.getvalue()
    call_command("reports", "fill", "--template", "grid_tickets", "--period", "2026-11", stdout=out)
    assert "6 reports filled" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("reports", "fill", "--template", "nope", stdout=out)
