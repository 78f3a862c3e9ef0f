"""The KPI formulas on plain numbers: exact Decimals, and None where a ratio is undefined."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.reporting import calculations
from o2c.reporting.calculations import Period
from o2c.reporting.selectors import month_periods


class TestDso:
    def test_receivables_over_sales_times_the_days(self):
        # 1,000.00 / 3,000.00 x 90 = 30
        assert calculations.dso(100000, 300000) == Decimal(30)

    @pytest.mark.parametrize("sales", [0, -5000])
    def test_without_positive_sales_it_is_undefined(self, sales):
        assert calculations.dso(100000, sales) is None


class TestCountback:
    def test_a_month_that_covers_what_is_left_counts_its_share_of_days(self):
        # 1,500: the first month's 1,000 (30 days), then 500 of the second's 2,000 over 31 days = 7.75
        assert calculations.dso_countback(150000, [Period(30, 100000), Period(31, 200000)]) == Decimal(
            "37.75"
        )

    def test_a_month_without_sales_counts_all_its_days(self):
        assert calculations.dso_countback(100000, [Period(30, 0), Period(31, 200000)]) == Decimal("45.5")

    def test_receivables_beyond_all_months_count_every_day_walked(self):
        assert calculations.dso_countback(900000, [Period(30, 100000), Period(31, 200000)]) == Decimal(61)

    def test_nothing_receivable_is_zero_days_and_no_sales_is_undefined(self):
        assert calculations.dso_countback(0, [Period(30, 100000)]) == Decimal(0)
        assert calculations.dso_countback(-100, [Period(30, 100000)]) == Decimal(0)
        assert calculations.dso_countback(100000, [Period(30, 0), Period(31, -100)]) is None


class TestCei:
    def test_collected_over_collectible(self):
        # (2,000 + 1,000 - 1,500) / (2,000 + 1,000 - 500) x 100 = 1,500 / 2,500 x 100 = 60
        assert calculations.cei(
            beginning_minor=200000, sales_minor=100000, ending_total_minor=150000, ending_current_minor=50000
        ) == Decimal(60)

    def test_nothing_collectible_is_undefined(self):
        assert (
            calculations.cei(beginning_minor=0, sales_minor=0, ending_total_minor=0, ending_current_minor=0)
            is None
        )


class TestRounding:
    @pytest.mark.parametrize(
        ("value", "shown"),
        [(Decimal("64.4210526"), "64.42"), (Decimal("0.005"), "0.01"), (Decimal(63), "63.00")],
    )
    def test_two_decimals_half_up(self, value, shown):
        assert str(calculations.rounded(value)) == shown

    def test_undefined_stays_undefined(self):
        assert calculations.rounded(None) is None


class TestMonths:
    def test_on_a_month_end_the_months_are_calendar_months(self):
        assert month_periods(date(2026, 3, 31), 3) == [
            (date(2026, 3, 1), date(2026, 3, 31)),
            (date(2026, 2, 1), date(2026, 2, 28)),
            (date(2026, 1, 1), date(2026, 1, 31)),
        ]

    def test_on_another_day_a_month_ends_on_the_same_day_of_the_month(self):
        assert month_periods(date(2026, 3, 15), 2) == [
            (date(2026, 2, 16), date(2026, 3, 15)),
            (date(2026, 1, 16), date(2026, 2, 15)),
        ]

    def test_29_february_of_a_leap_year_is_a_month_end(self):
        assert month_periods(date(2028, 2, 29), 2) == [
            (date(2028, 2, 1), date(2028, 2, 29)),
            (date(2028, 1, 1), date(2028, 1, 31)),
        ]
