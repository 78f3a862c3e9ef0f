"""Pure document arithmetic: line totals, tax per rate, settlement state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from o2c.core.money import Money


@dataclass(frozen=True, slots=True)
class LineIn:
    """A document line as entered. A rated line (billing: prorated, tiered) brings its own `net`, already
    rounded to the currency; `tax_category` is the UNCL5305 code (S standard, AE reverse charge, G export,
    E exempt, Z zero rated, O not subject to tax)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = Decimal(0)
    discount_percent: Decimal = Decimal(0)
    net: Decimal | None = None
    tax_category: str = "S"
    item_code: str = ""
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class TaxAmount:
    rate: Decimal
    base_minor: int
    tax_minor: int
    category: str = "S"


@dataclass(frozen=True, slots=True)
class DocumentTotals:
    line_net_minor: tuple[int, ...]
    taxes: tuple[TaxAmount, ...]
    net_minor: int
    tax_minor: int
    total_minor: int


HUNDRED = Decimal(100)


def line_net(line: LineIn, currency: str) -> Money:
    """Quantity × price less the line discount, rounded half up once per line (the invoice shows it)."""
    if line.net is not None:
        return Money(line.net, currency)
    gross = line.quantity * line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED
    return Money(gross, currency).round_half_up()


def document_totals(lines: Sequence[LineIn], currency: str) -> DocumentTotals:
    """Tax is computed per rate on the sum of the rounded line nets (EN 16931 BT-117), rounded half up."""
    nets = [line_net(line, currency) for line in lines]
    base_by_rate: dict[tuple[Decimal, str], Money] = defaultdict(lambda: Money.zero(currency))
    for line, net in zip(lines, nets, strict=True):
        key = (line.tax_rate.normalize(), line.tax_category)
        base_by_rate[key] = base_by_rate[key] + net
    taxes = tuple(
        TaxAmount(
            rate=rate,
            base_minor=base.to_minor(),
            tax_minor=Money(base.amount * rate / HUNDRED, currency).round_half_up().to_minor(),
            category=category,
        )
        for (rate, category), base in sorted(base_by_rate.items())
    )
    net_minor = sum(net.to_minor() for net in nets)
    tax_minor = sum(tax.tax_minor for tax in taxes)
    return DocumentTotals(
        line_net_minor=tuple(net.to_minor() for net in nets),
        taxes=taxes,
        net_minor=net_minor,
        tax_minor=tax_minor,
        total_minor=net_minor + tax_minor,
    )


def open_amount(total_minor: int, settled_minor: int) -> int:
    """Open amount of a signed document after `settled_minor` (positive, reduces the absolute value)."""
    return total_minor - settled_minor if total_minor >= 0 else total_minor + settled_minor


def settlement_state(*, total_minor: int, open_minor: int, kinds: set[str]) -> str:
    """open, partially_paid, paid, credited or written_off, from the open amount and what settled it."""
    if open_minor == total_minor:
        return "open"
    if open_minor != 0:
        return "partially_paid"
    if kinds and kinds <= {"write_off"}:
        return "written_off"
    if kinds and kinds <= {"credit_memo"}:
        return "credited"
    return "paid"


def percent_of(amount_minor: int, percent: Decimal) -> int:
    """A percentage of minor units, rounded half up to a whole minor unit."""
    return int((Decimal(amount_minor) * percent / HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))
