"""Shapes of the invoices API (invoices, credit memos and debit memos). Money travels as locale-free
decimal strings with the currency's decimals, signed as stored (a credit memo's total is negative);
quantities, prices and rates as plain decimal strings; enumerations lowercase; dates ISO 8601."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from o2c.core.money import currency_decimals, format_minor
from o2c.customers.schemas import DecimalString, PageFilter
from o2c.receivables.models import Allocation, Document, DocumentLine, DocumentType, ReasonCode, TaxLine


def plain_decimal(value: Decimal, places: int = 0) -> str:
    """A decimal without exponent or trailing zeros, but with at least `places` decimals:
    10.000000 -> '10', 100.000000 with 2 -> '100.00', 0.335000 with 2 -> '0.335'."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        normalized = value.quantize(Decimal(1).scaleb(-places))
    return format(normalized, "f")


class InvoiceFilter(PageFilter):
    customer_id: int | None = None
    customer_number: str | None = None
    type: DocumentType | None = None
    status: Document.Status | None = None
    settlement: Document.Settlement | None = None
    open: bool | None = Field(None, description="true: issued with an open amount; false: all others")
    issue_date_from: date | None = None
    issue_date_to: date | None = None


class InvoiceLineIn(Schema):
    description: str = Field(..., min_length=1, max_length=300)
    quantity: DecimalString
    unit_price: DecimalString
    discount_percent: DecimalString = "0"
    tax_rate: DecimalString = "0"


class InvoiceIn(Schema):
    """A draft invoice or debit memo for a customer given by id, or by number (and entity code when
    the number exists in several of the caller's entities)."""

    customer_id: int | None = None
    customer_number: str | None = None
    entity: str | None = Field(None, description="legal entity code, to find customer_number")
    type: Literal["invoice", "debit_memo"] = "invoice"
    issue_date: date
    po_number: str = Field("", max_length=60)
    payment_terms: str = Field("", description="default: the customer's")
    notes: str = ""
    lines: list[InvoiceLineIn]


class CustomerRef(Schema):
    id: int
    number: str
    name: str


class InvoiceOut(Schema):
    id: int
    entity: str
    number: str | None = Field(..., description="null for a draft")
    type: str
    status: str
    settlement: str
    customer: CustomerRef
    currency: str
    net: str
    tax: str
    total: str
    open: str | None = Field(..., description="what is still open; null for a draft, not yet an open item")
    issue_date: date
    due_date: date
    po_number: str
    payment_terms: str
    is_disputed: bool
    created_at: datetime
    issued_at: datetime | None

    @staticmethod
    def fields_of(document: Document) -> dict[str, object]:
        currency = document.currency
        return {
            "id": document.pk,
            "entity": document.entity.code,
            "number": document.number,
            "type": document.document_type,
            "status": document.status,
            "settlement": document.settlement,
            "customer": CustomerRef(
                id=document.customer.pk, number=document.customer.number, name=document.customer.name
            ),
            "currency": currency,
            "net": format_minor(document.net_minor, currency),
            "tax": format_minor(document.tax_minor, currency),
            "total": format_minor(document.total_minor, currency),
            "open": (
                None
                if document.status == Document.Status.DRAFT
                else format_minor(document.open_minor, currency)
            ),
            "issue_date": document.issue_date,
            "due_date": document.due_date,
            "po_number": document.po_number,
            "payment_terms": document.payment_terms,
            "is_disputed": document.is_disputed,
            "created_at": document.created_at,
            "issued_at": document.issued_at,
        }

    @staticmethod
    def of(document: Document) -> InvoiceOut:
        """`document` with its entity and customer loaded (select_related)."""
        return InvoiceOut.model_validate(InvoiceOut.fields_of(document))


class InvoicePage(Schema):
    items: list[InvoiceOut]
    next_cursor: str | None


class LineOut(Schema):
    position: int
    description: str
    quantity: str
    unit_price: str
    discount_percent: str
    tax_rate: str
    net: str

    @staticmethod
    def of(line: DocumentLine, currency: str) -> LineOut:
        return LineOut(
            position=line.position,
            description=line.description,
            quantity=plain_decimal(line.quantity),
            unit_price=plain_decimal(line.unit_price, currency_decimals(currency)),
            discount_percent=plain_decimal(line.discount_percent),
            tax_rate=plain_decimal(line.tax_rate),
            net=format_minor(line.net_minor, currency),
        )


class TaxLineOut(Schema):
    rate: str
    base: str
    tax: str

    @staticmethod
    def of(tax_line: TaxLine, currency: str) -> TaxLineOut:
        return TaxLineOut(
            rate=plain_decimal(tax_line.rate),
            base=format_minor(tax_line.base_minor, currency),
            tax=format_minor(tax_line.tax_minor, currency),
        )


class AllocationOut(Schema):
    """What settled part of the document: a payment, credit memo, discount, write-off or migration.
    `amount` is positive; a reversal carries the negated amount of the allocation it undoes."""

    id: int
    kind: str
    amount: str
    posting_date: date
    document_number: str | None
    source_document_number: str | None
    reason: str

    @staticmethod
    def of(allocation: Allocation) -> AllocationOut:
        source = allocation.source_document
        return AllocationOut(
            id=allocation.pk,
            kind=allocation.kind,
            amount=format_minor(allocation.amount_minor, allocation.currency),
            posting_date=allocation.posting_date,
            document_number=allocation.document.number,
            source_document_number=source.number if source is not None else None,
            reason=allocation.reason,
        )


class InvoiceDetailOut(InvoiceOut):
    corrects: str | None = Field(..., description="number of the invoice a credit memo corrects")
    lines: list[LineOut]
    tax_lines: list[TaxLineOut]
    allocations: list[AllocationOut]

    @staticmethod
    def of_detail(document: Document, allocations: list[Allocation]) -> InvoiceDetailOut:
        """`document` from receivables.selectors.document_get (lines and tax lines prefetched)."""
        currency = document.currency
        return InvoiceDetailOut.model_validate(
            {
                **InvoiceOut.fields_of(document),
                "corrects": document.corrects.number if document.corrects is not None else None,
                "lines": [LineOut.of(line, currency) for line in sorted(document.lines.all(), key=_position)],
                "tax_lines": [
                    TaxLineOut.of(tax, currency) for tax in sorted(document.tax_lines.all(), key=_rate)
                ],
                "allocations": [AllocationOut.of(allocation) for allocation in allocations],
            }
        )


def _position(line: DocumentLine) -> int:
    return line.position


def _rate(tax_line: TaxLine) -> Decimal:
    return tax_line.rate


# --- corrections -----------------------------------------------------------------------------------


class CreditLineIn(Schema):
    """An invoice line to credit, by its position: a quantity of it, or a net amount of it."""

    position: int = Field(..., ge=1, description="the position of the invoice line")
    quantity: DecimalString | None = Field(None, description="at most what earlier credit memos left of it")
    amount: DecimalString | None = Field(None, description="a net amount, instead of a quantity")


class CreditMemoIn(Schema):
    """A credit memo of an issued invoice: give exactly one of `full` (all that is left of the invoice),
    `lines` (chosen lines, by quantity or amount) or `amount` (a net amount spread over the invoice's
    tax rates in proportion to what is left of their bases, or all at `tax_rate`). Tax is reversed at
    the invoice's own rates."""

    reason_code: ReasonCode
    reason: str = Field(..., min_length=1, max_length=300, description="why, for the audit trail")
    issue_date: date
    full: bool = False
    lines: list[CreditLineIn] | None = None
    amount: DecimalString | None = Field(None, description="net, before tax")
    tax_rate: DecimalString | None = Field(None, description="with `amount`: one rate of the invoice")


class RebillLineIn(InvoiceLineIn):
    tax_category: str = Field("S", pattern=r"^[A-Z]{1,2}$", description="UNCL5305 code")
    item_code: str = Field("", max_length=60)
    period_start: date | None = None
    period_end: date | None = None


class CreditAndRebillIn(Schema):
    """Credit all that is left of the invoice and draft its replacement with these lines (same customer,
    currency, payment terms and PO number)."""

    reason_code: ReasonCode
    reason: str = Field(..., min_length=1, max_length=300, description="why, for the audit trail")
    issue_date: date
    lines: list[RebillLineIn]


class ApprovalIn(Schema):
    reason: str = Field("", max_length=500, description="why; required to reject")


class CorrectionOut(InvoiceDetailOut):
    """A document with what corrections add: the reason code of a credit memo, its approval state
    (`not_required`, `pending`, `approved`, `rejected`) and who decided it, and for a replacement
    invoice the number of the invoice it replaces."""

    reason_code: str
    approval_state: str
    approval_decided_by: str | None
    approval_decided_at: datetime | None
    created_by: str | None
    rebills: str | None = Field(..., description="number of the invoice a replacement invoice replaces")

    @staticmethod
    def of_correction(document: Document, allocations: list[Allocation]) -> CorrectionOut:
        """`document` from receivables.selectors.document_get."""
        decided_by = document.approval_decided_by
        created_by = document.created_by
        return CorrectionOut.model_validate(
            {
                **InvoiceDetailOut.of_detail(document, allocations).model_dump(),
                "reason_code": document.reason_code,
                "approval_state": document.approval_state,
                "approval_decided_by": decided_by.get_username() if decided_by is not None else None,
                "approval_decided_at": document.approval_decided_at,
                "created_by": created_by.get_username() if created_by is not None else None,
                "rebills": document.rebills.number if document.rebills is not None else None,
            }
        )


class CreditAndRebillOut(Schema):
    credit_memo: CorrectionOut
    rebill: CorrectionOut
