"""Pure document arithmetic: line totals, tax per rate, settlement state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from o2c.core.money import Money, allocate


@dataclass(frozen=True, slots=True)
class LineIn:
    """A document line as entered. A rated line (billing: prorated, tiered) brings its own `net`, already
    rounded to the currency; `tax_category` is the UNCL5305 code (S standard, AE reverse charge, G export,
    E exempt, Z zero rated, O not subject to tax). A credit memo line may name the invoice line it credits
    (`credits_line_id`) and the quantity of it that it takes back (`credited_quantity`, 0 for an amount)."""

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
    credits_line_id: int | None = None
    credited_quantity: Decimal = Decimal(0)


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


# --- corrections -----------------------------------------------------------------------------------

TaxKey = tuple[Decimal, str]  # (rate, UNCL5305 category)


@dataclass(frozen=True, slots=True)
class RateLeft:
    """What is left to credit at one tax rate of an invoice: its base and its tax, less earlier credits."""

    base_minor: int
    tax_minor: int


def tax_key(rate: Decimal, category: str) -> TaxKey:
    return (rate.normalize(), category)


def credit_net_for_quantity(
    *,
    line_net_minor: int,
    line_quantity: Decimal,
    quantity: Decimal,
    quantity_left: Decimal,
    net_left_minor: int,
) -> int:
    """The net a quantity credit takes off an invoice line: the line's own net in proportion to the
    quantity (so prorated and rated lines credit what they billed), rounded half up like any line;
    the credit that takes the last of the quantity takes exactly what is left of the net, so partial
    credits add up to the line to the cent."""
    if quantity == quantity_left:
        return net_left_minor
    share = Decimal(line_net_minor) * quantity / line_quantity
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def credit_totals(lines: Sequence[LineIn], currency: str, left: Mapping[TaxKey, RateLeft]) -> DocumentTotals:
    """A credit memo's totals at its invoice's rates: tax per rate on the credited base, rounded half
    up, but never more than the tax left at that rate, and exactly the tax left when the credit takes
    the last of the rate's base. So credit memos reverse the invoice's tax to the cent: a full credit
    after partial ones leaves nothing open, whatever the roundings of the partial ones were."""
    totals = document_totals(lines, currency)
    taxes = []
    for tax in totals.taxes:
        rest = left.get(tax_key(tax.rate, tax.category))
        if rest is None:
            taxes.append(tax)
            continue
        exact = rest.tax_minor if tax.base_minor == rest.base_minor else min(tax.tax_minor, rest.tax_minor)
        taxes.append(replace(tax, tax_minor=max(exact, 0)))
    tax_minor = sum(tax.tax_minor for tax in taxes)
    return replace(totals, taxes=tuple(taxes), tax_minor=tax_minor, total_minor=totals.net_minor + tax_minor)


def spread_over_rates(net_minor: int, left: Mapping[TaxKey, RateLeft]) -> list[tuple[TaxKey, int]]:
    """A net amount spread over the tax rates in proportion to what is left of their bases, with the
    largest-remainder method (ties to the lower rate), so the parts sum to the amount exactly; rates
    with nothing left get nothing."""
    keys = sorted(key for key, rest in left.items() if rest.base_minor > 0)
    if not keys:
        return []
    parts = allocate(net_minor, [left[key].base_minor for key in keys])
    return [(key, part) for key, part in zip(keys, parts, strict=True) if part != 0]


def functional_relief(*, open_minor: int, open_functional_minor: int, amount_minor: int) -> int:
    """The functional amount settling `amount_minor` of an item takes off its receivable: all that is left
    when it settles the item, else the same share of it, rounded half up. Signed like the open amounts, so
    the functional balance of a settled item is exactly zero and the realised FX difference is the rest."""
    if amount_minor == open_minor or not open_minor:
        return open_functional_minor
    exact = Decimal(open_functional_minor) * Decimal(amount_minor) / Decimal(open_minor)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Where an early-payment discount lowers the taxable amount, so the seller's output VAT is corrected
# with it: the EU (VAT Directive art. 90; DE UStG section 17, FR CGI art. 272, ES LIVA art. 80), and the
# UK, Switzerland and Norway likewise. US sales tax is left as invoiced.
DISCOUNT_CORRECTS_VAT = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "GB",
        "CH",
        "NO",
    }
)


def discount_tax_part(*, discount_minor: int, tax_minor: int, total_minor: int) -> int:
    """The VAT inside a gross early-payment discount: the document's tax share of it, rounded half up."""
    if not tax_minor or not total_minor:
        return 0
    exact = Decimal(discount_minor) * Decimal(tax_minor) / Decimal(total_minor)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_parts_by_rate(
    *, amount_minor: int, rates: Sequence[tuple[TaxKey, int, int]]
) -> list[tuple[TaxKey, int]]:
    """The VAT inside a gross amount taken off a document, per tax rate: the amount spread over the
    document's rates in proportion to their gross (base + tax) with the largest-remainder method, then
    each rate's part at that rate's share of tax in its gross, rounded half up. `rates` are the document's
    (key, base, tax) per rate; rates with no tax get none (they are left out)."""
    weighted = [(key, base + tax, tax) for key, base, tax in rates if base + tax > 0]
    if not weighted or not amount_minor:
        return []
    parts = allocate(amount_minor, [gross for _, gross, _ in weighted])
    found = []
    for (key, gross, tax), part in zip(weighted, parts, strict=True):
        exact = Decimal(part) * Decimal(tax) / Decimal(gross)
        tax_part = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if tax_part:
            found.append((key, tax_part))
    return found
