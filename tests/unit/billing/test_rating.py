"""Rating by hand: calendar periods, price models, daily proration."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2c.billing import rating
from o2c.billing.rating import Period, PriceDefinition, Tier
from o2c.core.money import allocate


def eur(model: str, unit: str = "0", tiers: str = "", minimum_minor: int = 0) -> PriceDefinition:
    return PriceDefinition(
        model, "EUR", Decimal(unit), rating.parse_tiers(tiers) if tiers else (), minimum_minor
    )


def test_calendar_periods_are_months_quarters_and_years() -> None:
    assert rating.period_of(date(2026, 2, 15), "month") == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert rating.period_of(date(2028, 2, 15), "month") == Period(date(2028, 2, 1), date(2028, 2, 29))
    assert rating.period_of(date(2026, 8, 15), "quarter") == Period(date(2026, 7, 1), date(2026, 9, 30))
    assert rating.period_of(date(2026, 8, 15), "year") == Period(date(2026, 1, 1), date(2026, 12, 31))


def test_periods_overlapping_a_range_are_listed_in_order() -> None:
    periods = rating.periods_overlapping(date(2026, 1, 15), date(2026, 3, 1), "month")
    assert [p.start for p in periods] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def test_tiers_parse_and_refuse_descending_bounds() -> None:
    assert rating.parse_tiers("1000:0.10|*:0.05") == (
        Tier(Decimal(1000), Decimal("0.10")),
        Tier(None, Decimal("0.05")),
    )
    with pytest.raises(rating.UnableToRate, match="ascend"):
        rating.parse_tiers("1000:0.10|500:0.05")
    with pytest.raises(rating.UnableToRate, match="UPPER:PRICE"):
        rating.parse_tiers("1000")


def test_graduated_tiers_price_each_band_at_its_own_price() -> None:
    # 1,000 × 0.10 + 500 × 0.05 = 100.00 + 25.00
    assert rating.period_price_minor(eur("tiered", tiers="1000:0.10|*:0.05"), Decimal(1500)) == 12500
    assert rating.period_price_minor(eur("tiered", tiers="1000:0.10|*:0.05"), Decimal(800)) == 8000


def test_volume_tiers_price_every_unit_at_the_tier_the_total_reaches() -> None:
    # 1,500 × 0.05 = 75.00, although the first 1,000 would cost 0.10 each under graduated tiers
    assert rating.period_price_minor(eur("volume", tiers="1000:0.10|*:0.05"), Decimal(1500)) == 7500
    assert rating.period_price_minor(eur("volume", tiers="1000:0.10|*:0.05"), Decimal(1000)) == 10000


def test_packages_are_charged_per_started_package() -> None:
    # 250 units in packages of 100 at 5.00: three packages
    assert rating.period_price_minor(eur("package", tiers="100:5.00"), Decimal(250)) == 1500
    assert rating.period_price_minor(eur("package", tiers="100:5.00"), Decimal(200)) == 1000


def test_flat_ignores_quantity_and_per_unit_multiplies() -> None:
    assert rating.period_price_minor(eur("flat", "49.90"), Decimal(3)) == 4990
    assert rating.period_price_minor(eur("per_unit", "12.50"), Decimal(7)) == 8750


def test_percentage_discount_and_minimum_commitment_round_once() -> None:
    # 3 × 33.335 = 100.005, less 10 % = 90.0045 -> 90.00
    assert (
        rating.period_price_minor(eur("per_unit", "33.335"), Decimal(3), discount_percent=Decimal(10)) == 9000
    )
    # usage worth 20.00 under a 50.00 minimum commitment
    assert rating.period_price_minor(eur("per_unit", "0.10", minimum_minor=5000), Decimal(200)) == 5000


def test_proration_in_a_28_day_february() -> None:
    february = Period(date(2026, 2, 1), date(2026, 2, 28))
    # 100.00 over 28 days: 3.57 a day with 4 cents left, which the first four days take
    assert rating.prorate(10000, february, date(2026, 2, 15), date(2026, 2, 28)) == 4998
    assert rating.prorate(10000, february, date(2026, 2, 1), date(2026, 2, 14)) == 5002


def test_proration_in_a_leap_year_february() -> None:
    february = Period(date(2028, 2, 1), date(2028, 2, 29))
    # 100.00 over 29 days: 3.44 a day with 24 cents left for the first 24 days
    assert rating.prorate(10000, february, date(2028, 2, 15), date(2028, 2, 29)) == 5170
    assert rating.prorate(10000, february, date(2028, 2, 1), date(2028, 2, 14)) == 4830


def test_proration_in_months_of_30_and_31_days() -> None:
    # January: 100.00 / 31 = 3.22 a day, 18 cents left for days 1-18; 21 days from the 11th
    assert (
        rating.prorate(
            10000, Period(date(2026, 1, 1), date(2026, 1, 31)), date(2026, 1, 11), date(2026, 1, 31)
        )
        == 6770
    )
    # April: 100.00 / 30 = 3.33 a day, 10 cents left for days 1-10; the last 10 days
    assert (
        rating.prorate(
            10000, Period(date(2026, 4, 1), date(2026, 4, 30)), date(2026, 4, 21), date(2026, 4, 30)
        )
        == 3330
    )


@given(
    st.integers(min_value=-10_000_000, max_value=10_000_000),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(["month", "quarter", "year"]),
    st.lists(st.integers(min_value=1, max_value=365), max_size=6),
)
def test_prorated_parts_of_a_period_sum_to_its_full_price(
    full_minor: int, day: date, billing_period: str, cuts: list[int]
) -> None:
    period = rating.period_of(day, billing_period)
    boundaries = sorted({period.start + timedelta(days=c % period.days) for c in cuts} - {period.start})
    starts = [period.start, *boundaries]
    ends = [b - timedelta(days=1) for b in boundaries] + [period.end]
    parts = [rating.prorate(full_minor, period, s, e) for s, e in zip(starts, ends, strict=True)]
    assert sum(parts) == full_minor


@given(st.integers(min_value=0, max_value=10_000_000), st.integers(min_value=28, max_value=366))
def test_daily_parts_are_those_of_core_allocate(full_minor: int, days: int) -> None:
    period = Period(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=days - 1))
    daily = allocate(full_minor, [1] * days)
    for index in (0, days // 2, days - 1):
        day = period.start + timedelta(days=index)
        assert rating.prorate(full_minor, period, day, day) == daily[index]
