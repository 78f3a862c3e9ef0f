"""Pure rating: calendar billing periods, price models, daily proration. No database, no clock.

Rounding points: a period's full price is rounded to the minor unit once (after the price model and
the percentage discount); a partial period gets the sum of that rounded price's daily parts, so the
parts of a period always add up to its full price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from o2c.core.money import Money

PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
HUNDRED = Decimal(100)


class UnableToRate(ValueError):
    """A price definition that cannot rate a quantity (bad tiers, missing price)."""


@dataclass(frozen=True, slots=True)
class Tier:
    upper: Decimal | None  # None: no upper bound (`*`)
    price: Decimal


@dataclass(frozen=True, slots=True)
class PriceDefinition:
    price_model: str
    currency: str
    unit_price: Decimal
    tiers: tuple[Tier, ...] = ()
    minimum_minor: int = 0


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar billing period; `start` and `end` inclusive."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_tiers(text: str) -> tuple[Tier, ...]:
    """`1000:0.10|*:0.05`: upper bounds ascending, the last one open (`*`). For packages, `SIZE:PRICE`."""
    tiers: list[Tier] = []
    for part in (p.strip() for p in text.split("|")):
        bound, sep, price = part.partition(":")
        if not sep:
            raise UnableToRate(f"tier '{part}' is not UPPER:PRICE")
        try:
            upper = None if bound.strip() == "*" else Decimal(bound.strip())
            amount = Decimal(price.strip())
        except InvalidOperation:
            raise UnableToRate(f"tier '{part}' has a bound or price that is not a number") from None
        if amount < 0 or (upper is not None and upper <= 0):
            raise UnableToRate(f"tier '{part}' must have a positive bound and a price not below zero")
        if tiers and (tiers[-1].upper is None or (upper is not None and upper <= tiers[-1].upper)):
            raise UnableToRate("tier bounds must ascend and only the last may be '*'")
        tiers.append(Tier(upper, amount))
    if not tiers:
        raise UnableToRate("no tiers given")
    return tuple(tiers)


def period_of(day: date, billing_period: str) -> Period:
    """The calendar period (month, quarter, year) that contains `day`."""
    months = PERIOD_MONTHS[billing_period]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    next_month = first_month + months
    following = date(day.year + 1, 1, 1) if next_month > 12 else date(day.year, next_month, 1)
    return Period(start, following - timedelta(days=1))


def periods_overlapping(first: date, last: date, billing_period: str) -> list[Period]:
    """Calendar periods that overlap [first, last], in order."""
    periods: list[Period] = []
    if last < first:
        return periods
    period = period_of(first, billing_period)
    while period.start <= last:
        periods.append(period)
        period = period_of(period.end + timedelta(days=1), billing_period)
    return periods


def price_amount(definition: PriceDefinition, quantity: Decimal) -> Decimal:
    """A period's price for `quantity` under the price model, not yet rounded."""
    model, unit = definition.price_model, definition.unit_price
    if model == "flat":
        return unit
    if model == "per_unit":
        return unit * quantity
    if not definition.tiers:
        raise UnableToRate(f"the {model} price model needs tiers")
    if model == "tiered":
        # graduated: each tier prices the units that fall inside it
        amount, below = Decimal(0), Decimal(0)
        for tier in definition.tiers:
            if quantity <= below:
                break
            upper = quantity if tier.upper is None else min(quantity, tier.upper)
            amount += (upper - below) * tier.price
            below = upper if tier.upper is None else tier.upper
        if definition.tiers[-1].upper is not None and quantity > definition.tiers[-1].upper:
            raise UnableToRate(f"quantity {quantity.normalize():f} is above the last tier")
        return amount
    if model == "volume":
        for tier in definition.tiers:
            if tier.upper is None or quantity <= tier.upper:
                return quantity * tier.price
        raise UnableToRate(f"quantity {quantity.normalize():f} is above the last volume tier")
    if model == "package":
        size, price = definition.tiers[0].upper, definition.tiers[0].price
        if size is None:
            raise UnableToRate("a package price needs a package size")
        packages = (quantity / size).to_integral_value(rounding=ROUND_CEILING)
        return packages * price
    raise UnableToRate(f"unknown price model '{model}'")


def period_price_minor(
    definition: PriceDefinition, quantity: Decimal, *, discount_percent: Decimal = Decimal(0)
) -> int:
    """A period's full price in minor units: model, minimum, percentage discount, rounded once."""
    amount = price_amount(definition, quantity)
    if definition.minimum_minor:
        amount = max(amount, Money.from_minor(definition.minimum_minor, definition.currency).amount)
    if discount_percent:
        amount = amount * (HUNDRED - discount_percent) / HUNDRED
    return Money(amount, definition.currency).round_half_up().to_minor()


def discounted_minor(amount_minor: int, discount_percent: Decimal, currency: str) -> int:
    """An amount in minor units less a percentage discount, rounded half up (a minimum commitment:
    `period_price_minor` of a flat price of zero with that minimum)."""
    if not discount_percent:
        return amount_minor
    amount = Money.from_minor(amount_minor, currency).amount * (HUNDRED - discount_percent) / HUNDRED
    return Money(amount, currency).round_half_up().to_minor()


def prorate(full_minor: int, period: Period, first: date, last: date) -> int:
    """The part of a period's price for the days [first, last] inside it.

    The price is spread over the period's days as integer minor units (the first days take the
    rounding residue, as `core.money.allocate` does), and the covered days' parts are added up.
    """
    if first < period.start or last > period.end or last < first:
        raise UnableToRate(f"{first}..{last} is not inside the period {period.start}..{period.end}")
    if first == period.start and last == period.end:
        return full_minor
    sign = -1 if full_minor < 0 else 1
    base, residue = divmod(abs(full_minor), period.days)
    lo = (first - period.start).days
    hi = (last - period.start).days + 1
    return sign * (base * (hi - lo) + max(0, min(hi, residue) - lo))


def micro_to_quantity(micro: int) -> Decimal:
    return Decimal(micro).scaleb(-6).normalize() if micro else Decimal(0)


def quantity_to_micro(quantity: Decimal) -> int:
    scaled = quantity.scaleb(6)
    if scaled != scaled.to_integral_value():
        raise UnableToRate(f"quantity {quantity} has more than 6 decimals")
    return int(scaled)


def list_unit_price(definition: PriceDefinition, quantity: Decimal, currency: str) -> Decimal:
    """The unit price a line of a quantity-priced product shows: `unit_price_shown` of the period's
    list price (before discounts), computed only where the model has no list price of its own."""
    if definition.price_model in ("flat", "per_unit"):
        return definition.unit_price
    return unit_price_shown(period_price_minor(definition, quantity), quantity, currency, definition)


def unit_price_shown(
    full_minor: int, quantity: Decimal, currency: str, definition: PriceDefinition
) -> Decimal:
    """The unit price an invoice line shows: the list price where the model has one, else the average."""
    if definition.price_model in ("flat", "per_unit"):
        return definition.unit_price
    if definition.price_model == "volume" and quantity > 0:
        for tier in definition.tiers:
            if tier.upper is None or quantity <= tier.upper:
                return tier.price
    if quantity <= 0:
        return Money.from_minor(full_minor, currency).amount
    average = Money.from_minor(full_minor, currency).amount / quantity
    return average.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
