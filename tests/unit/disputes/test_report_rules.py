"""The pure parts of the root-cause report: a case's amount spread over its invoice's products, and the
months of a range."""

from __future__ import annotations

from datetime import date

from o2c.disputes.calculations import spread_over_products
from o2c.disputes.rules import months_between


class TestSpreadOverProducts:
    def test_the_amount_splits_by_the_lines_nets_and_the_parts_sum_to_it(self):
        assert spread_over_products(23800, [("VALVE-1", 60000), ("PUMP-2", 40000)]) == {
            "VALVE-1": 14280,
            "PUMP-2": 9520,
        }
        assert spread_over_products(10001, [("VALVE-1", 60000), ("PUMP-2", 40000)]) == {
            "VALVE-1": 6001,
            "PUMP-2": 4000,
        }

    def test_lines_of_one_product_add_up_and_a_negative_line_takes_no_part(self):
        assert spread_over_products(1000, [("A", 100), ("B", 100), ("A", 100), ("DISC", -50)]) == {
            "A": 667,
            "B": 333,
        }

    def test_without_a_positive_net_the_first_lines_product_takes_it_all(self):
        assert spread_over_products(500, [("A", 0), ("B", -10)]) == {"A": 500}
        assert spread_over_products(500, []) == {"": 500}


class TestMonthsBetween:
    def test_the_months_from_the_first_days_month_through_the_last_days(self):
        assert months_between(date(2025, 11, 30), date(2026, 2, 1)) == [
            "2025-11",
            "2025-12",
            "2026-01",
            "2026-02",
        ]
        assert months_between(date(2026, 3, 16), date(2026, 3, 16)) == ["2026-03"]
