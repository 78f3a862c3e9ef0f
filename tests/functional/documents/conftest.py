"""Printable documents as the billing caller would map them: plain data, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from o2c.documents.invoice_pdf import BankPrint, InvoicePrint, LinePrint, PartyPrint, TaxPrint
from o2c.documents.references import rf_reference

SELLER = PartyPrint(
    name="O2C Deutschland GmbH",
    address_lines=("Leopoldstraße 1", "80802 München"),
    country="DE",
    vat_id="DE123456789",
    tax_numbers=("143/123/45678",),
    email="billing@o2c.example",
)
BUYER = PartyPrint(
    name="Dupont Industrie SAS",
    address_lines=("12 rue de la Paix", "75002 Paris"),
    country="FR",
    vat_id="FR40303265045",
)


def sample_invoice(**overrides: Any) -> InvoicePrint:
    """A cross-border reverse-charge invoice over 1.234,56 € to a French customer, in German."""
    invoice = InvoicePrint(
        language="de",
        document_type="invoice",
        number="RE-2026-000042",
        issue_date=date(2026, 11, 22),
        due_date=date(2026, 12, 22),
        currency="EUR",
        seller=SELLER,
        buyer=BUYER,
        customer_number="C-1000",
        lines=(
            LinePrint(
                "Beratung",
                Decimal("10.000000"),
                Decimal("100.000000"),
                Decimal("1000.00"),
                Decimal("0.000"),
                period_start=date(2026, 11, 1),
                period_end=date(2026, 11, 30),
            ),
            LinePrint(
                "Lizenz", Decimal(2), Decimal("130.31"), Decimal("234.56"), Decimal(0), Decimal("10.000")
            ),
        ),
        taxes=(TaxPrint(Decimal(0), Decimal("1234.56"), Decimal("0.00"), category_code="AE"),),
        net=Decimal("1234.56"),
        tax=Decimal("0.00"),
        total=Decimal("1234.56"),
        payment_terms="30 Tage netto",
        payment_reference=rf_reference("RE-2026-000042"),
        bank=BankPrint("DE89370400440532013000", "COBADEFFXXX", "Commerzbank"),
        po_number="PO-4711",
        delivery_date=date(2026, 11, 30),
        notes=("Vielen Dank für Ihren Auftrag.",),
        seller_register_court="Amtsgericht München",
        seller_register_number="HRB 123456",
        seller_managing_directors="Erika Mustermann",
    )
    return replace(invoice, **overrides)


def sample_credit_memo(**overrides: Any) -> InvoicePrint:
    """A credit memo over 119,00 € (shown positive) that corrects RE-2026-000042."""
    values: dict[str, Any] = {
        "document_type": "credit_memo",
        "number": "GS-2026-000007",
        "due_date": None,
        "lines": (
            LinePrint("Gutschrift Beratung", Decimal(1), Decimal(100), Decimal("100.00"), Decimal(19)),
        ),
        "taxes": (TaxPrint(Decimal(19), Decimal("100.00"), Decimal("19.00")),),
        "net": Decimal("100.00"),
        "tax": Decimal("19.00"),
        "total": Decimal("119.00"),
        "payment_reference": "",
        "corrects_number": "RE-2026-000042",
    }
    values.update(overrides)
    return sample_invoice(**values)
