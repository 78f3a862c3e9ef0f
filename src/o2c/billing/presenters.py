"""How a billing run's documents travel as JSON: the shape of `o2c billing run --format json` and of
`POST /api/billing/runs`. Money as locale-free decimal strings with the currency's decimals, quantities
and prices as plain decimal strings, dates ISO 8601."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from o2c.billing.runs import RunDocument
from o2c.core.money import currency_decimals, format_minor


def price_text(price: Decimal, currency: str) -> str:
    """A unit price with at least the currency's decimals, more only where the price has them."""
    decimals = max(currency_decimals(currency), -min(0, price.normalize().as_tuple().exponent))  # type: ignore[operator]
    return str(price.quantize(Decimal(1).scaleb(-decimals)))


def quantity_text(quantity: Decimal) -> str:
    normalized = quantity.normalize()
    return (
        str(normalized.quantize(Decimal(1)))
        if normalized == normalized.to_integral_value()
        else str(normalized)
    )


def document_json(document: RunDocument) -> dict[str, Any]:
    currency = document.currency
    return {
        "invoice_number": document.number,
        "document_type": document.document_type,
        "customer_number": document.customer_number,
        "currency": currency,
        "net": format_minor(document.net_minor, currency),
        "tax": format_minor(document.tax_minor, currency),
        "gross": format_minor(document.total_minor, currency),
        "lines": [
            {
                "product_code": line.product_code,
                "description": line.description,
                "quantity": quantity_text(line.quantity),
                "unit_price": price_text(line.unit_price, currency),
                "amount": format_minor(line.amount_minor, currency),
                "period_start": line.period_start.isoformat() if line.period_start else None,
                "period_end": line.period_end.isoformat() if line.period_end else None,
            }
            for line in document.lines
        ],
    }
