"""The geometry of the dashboard's server-side SVG charts (o2c.workspace.charts): round axis steps that
include zero, positive amounts stacked up and negative ones (open credit memos) down from zero, lines
broken where a value is missing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from o2c.workspace import charts


def _label(value: Decimal) -> str:
    return str(value)


class TestAxis:
    @pytest.mark.parametrize(
        ("low", "high", "expected"),
        [
            (0, 163500, (Decimal(0), Decimal(200000), Decimal(50000))),
            (-5000, 119000, (Decimal(-50000), Decimal(150000), Decimal(50000))),
            (Decimal("37.91"), Decimal("141.49"), (Decimal(0), Decimal(150), Decimal(50))),
            (0, 0, (Decimal(0), Decimal("1.0"), Decimal("0.2"))),
        ],
    )
    def test_an_axis_runs_on_round_steps_from_zero_or_below(self, low, high, expected):
        assert charts.nice_range(low, high) == expected


class TestStackedBars:
    def test_positive_amounts_stack_up_and_negative_ones_down_from_zero(self):
        chart = charts.stacked_bars(
            categories=["w1", "w2"],
            series=[
                charts.Series("current", "Current", "#111", [100, 0]),
                charts.Series("1_30", "1-30 days", "#222", [-50, 200]),
                charts.Series("31_60", "31-60 days", "#333", [100, None]),
            ],
            tick_label=_label,
            bar_title=lambda index, item, value: f"{item.key} {index} {value}",
        )
        assert [bar.title for bar in chart.bars] == [
            "current 0 100",
            "1_30 0 -50",
            "31_60 0 100",
            "1_30 1 200",
        ]
        zero = int(chart.zero_y)
        current, credit, older, second = chart.bars
        # the first week: 100 then 100 more on top of it, the -50 below zero
        assert int(current.y) + int(current.height) == zero
        assert int(older.y) + int(older.height) == int(current.y)
        assert int(credit.y) == zero
        assert int(credit.height) * 2 == pytest.approx(int(current.height), abs=1)
        assert int(second.height) == pytest.approx(int(current.height) * 2, abs=1)
        assert [item.label for item in chart.legend] == ["Current", "1-30 days", "31-60 days"]
        assert [tick.label for tick in chart.y_ticks] == ["-50", "0", "50", "100", "150", "200"]


class TestLines:
    def test_a_missing_value_breaks_the_line_and_has_no_point(self):
        chart = charts.lines(
            categories=["a", "b", "c", "d"],
            series=[charts.Series("dso", "DSO", "#000", [Decimal(10), None, Decimal(20), Decimal(30)])],
            tick_label=_label,
            point_title=lambda index, item, value: f"{index}: {value}",
        )
        assert [point.title for point in chart.points] == ["0: 10", "2: 20", "3: 30"]
        [line] = chart.lines
        assert line.path.count("M") == 2 and line.path.count("L") == 1
