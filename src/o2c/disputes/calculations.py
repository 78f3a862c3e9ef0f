"""Pure arithmetic of cases on integer minor units."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from o2c.core.money import allocate


def credit_net_for_gross(*, gross_minor: int, document_net_minor: int, document_total_minor: int) -> int:
    """The net amount of a credit memo meant to take `gross_minor` (tax included) off a document: the
    gross at the document's own ratio of net to total, rounded half up to the minor unit (the credit
    memo then adds tax per rate as any credit memo does, so its total can differ from the gross by a
    minor unit or two; the person resolving may give the net instead)."""
    if document_total_minor <= 0 or document_net_minor == document_total_minor:
        return gross_minor
    net = Decimal(gross_minor) * Decimal(document_net_minor) / Decimal(document_total_minor)
    return int(net.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def spread_over_products(amount_minor: int, lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """A case's amount by product: `lines` are (product, net) of its invoice's lines, or of the one line
    it names. The amount is split in proportion to the lines' nets with the largest-remainder method (ties
    to the earlier line), so the parts sum to the amount exactly; lines of one product add up. Lines with
    a negative net (a discount line) take no part; with no positive net at all, the amount goes to the
    first line's product (or "" without lines)."""
    weights = [max(net, 0) for _, net in lines]
    if not lines or not any(weights):
        return {lines[0][0] if lines else "": amount_minor}
    spread: dict[str, int] = {}
    for (product, _), part in zip(lines, allocate(amount_minor, weights), strict=True):
        if part:
            spread[product] = spread.get(product, 0) + part
    return spread
