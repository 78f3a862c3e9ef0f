from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2c.core.money import (
    Money,
    UnableToHandleMoney,
    allocate,
    currency_decimals,
    format_minor,
    parse_amount,
)


class TestCurrencyDecimals:
    @pytest.mark.parametrize(("currency", "decimals"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("BHD", 3)])
    def test_decimals_come_from_cldr(self, currency, decimals):
        assert currency_decimals(currency) == decimals

    def test_an_unknown_currency_is_refused(self):
        with pytest.raises(UnableToHandleMoney, match="unknown currency 'XXY'"):
            Money(Decimal(1), "XXY")


class TestMoney:
    def test_to_minor_refuses_an_amount_that_was_not_rounded(self):
        with pytest.raises(UnableToHandleMoney, match="not rounded"):
            Money(Decimal("1.005"), "EUR").to_minor()

    def test_round_half_up_rounds_half_away_from_zero(self):
        assert Money(Decimal("1.005"), "EUR").round_half_up().to_minor() == 101
        assert Money(Decimal("-1.005"), "EUR").round_half_up().to_minor() == -101
        assert Money(Decimal("2.5"), "JPY").round_half_up().to_minor() == 3

    def test_arithmetic_across_currencies_raises(self):
        with pytest.raises(UnableToHandleMoney, match="cannot combine EUR and USD"):
            _ = Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")

    def test_money_refuses_a_float(self):
        with pytest.raises(TypeError):
            Money(1.1, "EUR")  # type: ignore[arg-type]

    def test_from_minor_and_plain_output(self):
        assert Money.from_minor(123450, "EUR").plain() == "1234.50"
        assert format_minor(0, "EUR") == "0.00"
        assert format_minor(-5, "EUR") == "-0.05"
        assert format_minor(1234, "JPY") == "1234"
        assert format_minor(1234, "BHD") == "1.234"


class TestParseAmount:
    def test_parses_a_plain_decimal(self):
        assert parse_amount(" 1234.5 ", "EUR") == Decimal("1234.5")

    def test_refuses_more_decimals_than_the_currency_has(self):
        with pytest.raises(UnableToHandleMoney, match="more decimals than JPY allows"):
            parse_amount("10.5", "JPY")

    @pytest.mark.parametrize("text", ["abc", "1,5", "NaN", "Infinity", ""])
    def test_refuses_what_is_not_an_amount(self, text):
        with pytest.raises(UnableToHandleMoney):
            parse_amount(text, "EUR")


class TestAllocate:
    def test_splits_into_equal_thirds_with_the_residue_on_the_first(self):
        assert allocate(100, [1, 1, 1]) == [34, 33, 33]

    def test_negative_totals_split_the_same_way(self):
        assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]

    def test_largest_remainder_gets_the_extra_cent(self):
        assert allocate(1000, [Decimal("0.333"), Decimal("0.667")]) == [333, 667]
        assert allocate(5, [Decimal(3), Decimal(7)]) == [2, 3]  # a tie goes to the earlier part

    def test_refuses_zero_weights(self):
        with pytest.raises(UnableToHandleMoney):
            allocate(100, [0, 0])

    @given(
        total=st.integers(min_value=-(10**12), max_value=10**12),
        weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(any),
    )
    def test_parts_always_sum_to_the_whole(self, total, weights):
        parts = allocate(total, weights)
        assert sum(parts) == total
        assert len(parts) == len(weights)
        # no part strays more than one minor unit from its exact share
        weight_sum = sum(weights)
        for part, weight in zip(parts, weights, strict=True):
            assert abs(Decimal(part) - Decimal(total) * weight / weight_sum) < 1
