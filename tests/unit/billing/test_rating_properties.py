"""Properties of the price models, for any tiers and quantities (proration: see test_rating.py)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2c.billing import rating
from o2c.billing.rating import PriceDefinition

prices = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=4)
quantities = st.decimals(min_value=Decimal(0), max_value=Decimal(20_000), places=3)
bounds = st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=5, unique=True).map(sorted)


@st.composite
def tier_texts(draw: st.DrawFn, *, open_ended: bool) -> str:
    """`UPPER:PRICE|...`, bounds ascending; the last one `*` when open-ended."""
    uppers: list[str] = [str(bound) for bound in draw(bounds)]
    if open_ended:
        uppers[-1] = "*"
    return "|".join(f"{upper}:{draw(prices)}" for upper in uppers)


def definition(model: str, tiers: str) -> PriceDefinition:
    return PriceDefinition(model, "EUR", Decimal(0), rating.parse_tiers(tiers))


@given(tier_texts(open_ended=True), quantities, quantities)
def test_a_graduated_price_never_falls_as_the_quantity_grows(tiers: str, a: Decimal, b: Decimal) -> None:
    price = definition("tiered", tiers)
    low, high = sorted((a, b))
    assert rating.price_amount(price, low) <= rating.price_amount(price, high)
    assert rating.period_price_minor(price, low) <= rating.period_price_minor(price, high)


@given(tier_texts(open_ended=True), quantities)
def test_a_graduated_price_is_the_sum_of_its_bands(tiers: str, quantity: Decimal) -> None:
    price = definition("tiered", tiers)
    expected, lower = Decimal(0), Decimal(0)
    for tier in price.tiers:
        top = quantity if tier.upper is None else min(quantity, tier.upper)
        expected += max(Decimal(0), top - lower) * tier.price
        lower = tier.upper if tier.upper is not None else lower
    assert rating.price_amount(price, quantity) == expected


@given(tier_texts(open_ended=True), quantities)
def test_a_volume_price_is_the_quantity_times_the_price_of_the_tier_it_reaches(
    tiers: str, quantity: Decimal
) -> None:
    price = definition("volume", tiers)
    reached = next(t for t in price.tiers if t.upper is None or quantity <= t.upper)
    assert rating.price_amount(price, quantity) == quantity * reached.price


@given(tier_texts(open_ended=False), quantities)
def test_a_volume_quantity_above_the_last_bound_cannot_be_rated(tiers: str, quantity: Decimal) -> None:
    price = definition("volume", tiers)
    last = price.tiers[-1].upper
    assert last is not None
    with pytest.raises(rating.UnableToRate, match="above the last volume tier"):
        rating.price_amount(price, last + quantity + Decimal("0.001"))


@given(st.integers(min_value=1, max_value=10_000), prices, quantities)
def test_a_package_price_is_the_started_packages_times_the_package_price(
    size: int, package_price: Decimal, quantity: Decimal
) -> None:
    price = definition("package", f"{size}:{package_price}")
    packages = math.ceil(Fraction(quantity) / size)  # exact: every started package counts
    assert rating.price_amount(price, quantity) == packages * package_price


@given(tier_texts(open_ended=True), quantities, st.sampled_from(["tiered", "volume"]))
def test_a_discount_never_raises_the_period_price(tiers: str, quantity: Decimal, model: str) -> None:
    price = definition(model, tiers)
    full = rating.period_price_minor(price, quantity)
    assert 0 <= rating.period_price_minor(price, quantity, discount_percent=Decimal("12.5")) <= full
    assert rating.period_price_minor(price, quantity, discount_percent=Decimal(100)) == 0


def test_a_graduated_quantity_above_the_last_bound_is_not_billed_free() -> None:
    # docs/billing.md: tiered bounds ascend, "the last `*`"; volume refuses a quantity above its last bound
    price = definition("tiered", "100:1.00")
    with pytest.raises(rating.UnableToRate):
        rating.price_amount(price, Decimal(150))  # today: 100.00, the 50 units above 100 cost nothing
