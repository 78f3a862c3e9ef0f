"""Pure arithmetic of cases on integer minor units."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def credit_net_for_gross(*, gross_minor: int, document_net_minor: int, document_total_minor: int) -> int:
    """The net amount of a credit memo meant to take `gross_minor` (tax included) off a document: the
    gross at the document's own ratio of net to total, rounded half up to the minor unit (the credit
    memo then adds tax per rate as any credit memo does, so its total can differ from the gross by a
    minor unit or two; the person resolving may give the net instead)."""
    if document_total_minor <= 0 or document_net_minor == document_total_minor:
        return gross_minor
    net = Decimal(gross_minor) * Decimal(document_net_minor) / Decimal(document_total_minor)
    return int(net.quantize(Decimal(1), rounding=ROUND_HALF_UP))
