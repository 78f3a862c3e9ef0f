"""Use cases of the open-item subledger: documents, issuing, credit memos, allocations, migration import.

Documents and allocations are created only here; every one posts its journal entry through the
ledger's services and leaves an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from o2c.audit import services as audit_services
from o2c.core.money import format_with_currency
from o2c.customers.models import Customer
from o2c.customers.terms import parse_terms
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType
from o2c.ledger.rules import LineIn as PostingLine
from o2c.receivables import calculations, locks, numbering
from o2c.receivables.calculations import LineIn
from o2c.receivables.errors import UnableToAllocate, UnableToCreateDocument, UnableToIssueDocument
from o2c.receivables.models import Allocation, Document, DocumentLine, DocumentType, TaxLine


def _actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None and actor.is_authenticated else None


@transaction.atomic
def document_create(
    *,
    customer: Customer,
    document_type: str,
    issue_date: date,
    lines: Sequence[LineIn],
    actor: User | None,
    now: datetime,
    currency: str | None = None,
    po_number: str = "",
    payment_terms: str = "",
    corrects: Document | None = None,
    notes: str = "",
    origin: str = Document.Origin.MANUAL,
) -> Document:
    """A draft invoice, credit memo or debit memo. Line amounts are entered positive; a credit memo's
    totals are stored negative so a customer's open items add up."""
    if not lines:
        raise UnableToCreateDocument("a document needs at least one line", code="no_lines")
    for position, line in enumerate(lines, start=1):
        if line.quantity < 0 or (line.quantity == 0 and line.net is None):
            raise UnableToCreateDocument(f"line {position}: quantity must be positive", code="bad_quantity")
        if line.net is not None and line.net < 0:
            raise UnableToCreateDocument(f"line {position}: the amount is negative", code="bad_price")
        if line.unit_price < 0:
            raise UnableToCreateDocument(f"line {position}: unit price is negative", code="bad_price")
        if not Decimal(0) <= line.tax_rate <= Decimal(100) or not Decimal(
            0
        ) <= line.discount_percent <= Decimal(100):
            raise UnableToCreateDocument(
                f"line {position}: percentages run from 0 to 100", code="bad_percent"
            )
    if customer.status == Customer.Status.BLOCKED and document_type != DocumentType.CREDIT_MEMO:
        raise UnableToCreateDocument(f"customer {customer.number} is blocked", code="customer_blocked")
    doc_currency = currency or customer.currency
    if corrects is not None:
        if document_type != DocumentType.CREDIT_MEMO or corrects.document_type != DocumentType.INVOICE:
            raise UnableToCreateDocument("only a credit memo corrects an invoice", code="bad_correction")
        if corrects.customer_id != customer.pk or corrects.currency != doc_currency:
            raise UnableToCreateDocument(
                "a credit memo has the customer and currency of the invoice it corrects",
                code="bad_correction",
            )
        if corrects.status != Document.Status.ISSUED:
            raise UnableToCreateDocument("only an issued invoice can be credited", code="bad_correction")
    totals = calculations.document_totals(lines, doc_currency)
    sign = -1 if document_type == DocumentType.CREDIT_MEMO else 1
    if corrects is not None and totals.total_minor > corrects.total_minor - _credited_minor(corrects):
        raise UnableToCreateDocument(
            f"the credit memo exceeds what is left to credit on {corrects.number}", code="exceeds_invoice"
        )
    terms = parse_terms(payment_terms or customer.payment_terms)
    document = Document.objects.create(
        entity=customer.entity,
        customer=customer,
        document_type=document_type,
        currency=doc_currency,
        net_minor=sign * totals.net_minor,
        tax_minor=sign * totals.tax_minor,
        total_minor=sign * totals.total_minor,
        open_minor=sign * totals.total_minor,
        issue_date=issue_date,
        due_date=issue_date if sign < 0 else terms.due_date(issue_date),
        discount_date=None if sign < 0 else terms.discount_date(issue_date),
        discount_percent=0 if sign < 0 else terms.discount_percent,
        payment_terms=terms.code,
        po_number=po_number.strip(),
        corrects=corrects,
        notes=notes,
        origin=origin,
        created_at=now,
        created_by=actor if _actor_id(actor) else None,
    )
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=document,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
            tax_category=line.tax_category,
            net_minor=net_minor,
            item_code=line.item_code,
            period_start=line.period_start,
            period_end=line.period_end,
        )
        for position, (line, net_minor) in enumerate(zip(lines, totals.line_net_minor, strict=True), start=1)
    )
    TaxLine.objects.bulk_create(
        TaxLine(
            document=document,
            rate=tax.rate,
            category=tax.category,
            base_minor=tax.base_minor,
            tax_minor=tax.tax_minor,
        )
        for tax in totals.taxes
    )
    audit_services.record(
        actor=actor,
        action="receivables.document.created",
        object_type="document",
        object_id=document.pk,
        object_label=f"{document_type} draft",
        entity_id=document.entity_id,
        changes={"total": (None, format_with_currency(document.total_minor, doc_currency))},
        now=now,
    )
    return document


def _credited_minor(invoice: Document) -> int:
    """What issued or draft credit memos already take off an invoice (positive minor units)."""
    return -sum(invoice.corrections.values_list("total_minor", flat=True))


def issue_postings(
    document: Document, *, receivable_id: int, revenue_id: int, tax_id: int
) -> list[PostingLine]:
    """Receivable against revenue and tax; a credit memo mirrors its invoice."""

    def side(amount: int, account_id: int, customer_id: int | None = None) -> PostingLine:
        # positive amounts are debits on the receivable and credits on revenue and tax
        return PostingLine(
            account_id=account_id,
            currency=document.currency,
            debit_minor=max(amount, 0),
            credit_minor=max(-amount, 0),
            customer_id=customer_id,
            document_id=document.pk,
        )

    lines = [side(document.total_minor, receivable_id, customer_id=document.customer_id)]
    if document.net_minor:
        lines.append(side(-document.net_minor, revenue_id))
    if document.tax_minor:
        lines.append(side(-document.tax_minor, tax_id))
    return lines


@transaction.atomic
def document_issue(*, document_id: int, actor: User | None, now: datetime) -> Document:
    """Give a draft its gapless number, post it to the ledger and make it immutable."""
    document = locks.document_qs_for_update().select_related("entity", "customer").get(pk=document_id)
    if document.status != Document.Status.DRAFT:
        raise UnableToIssueDocument(f"{document} is issued already", code="not_draft")
    if document.total_minor == 0:
        raise UnableToIssueDocument("a document with a zero total is not issued", code="zero_total")
    entity = document.entity
    series, number = numbering.next_number(
        entity=entity, document_type=document.document_type, year=document.issue_date.year
    )
    document.number = number
    document.series = series
    document.status = Document.Status.ISSUED
    document.issued_at = now
    document.save(update_fields=["number", "series", "status", "issued_at"])
    ledger_services.journal_entry_post(
        entity=entity,
        lines=issue_postings(
            document,
            receivable_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE),
            revenue_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.REVENUE),
            tax_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.TAX),
        ),
        posting_date=document.issue_date,
        description=f"{document.get_document_type_display()} {number} {document.customer.number}",
        source_type="document",
        source_id=document.pk,
        idempotency_key=f"document-issue:{document.pk}",
        now=now,
        created_by_id=_actor_id(actor),
    )
    audit_services.record(
        actor=actor,
        action="receivables.document.issued",
        object_type="document",
        object_id=document.pk,
        object_label=number,
        entity_id=entity.pk,
        changes={"status": ("draft", "issued"), "number": (None, number)},
        now=now,
    )
    if document.corrects_id is not None:
        _apply_credit_memo_to_corrected(document, actor=actor, now=now)
    return document


def _apply_credit_memo_to_corrected(credit_memo: Document, *, actor: User | None, now: datetime) -> None:
    assert credit_memo.corrects_id is not None
    invoice = Document.objects.get(pk=credit_memo.corrects_id)
    amount = min(invoice.open_minor, -credit_memo.open_minor)
    if amount > 0:
        allocation_create(
            document_id=invoice.pk,
            kind=Allocation.Kind.CREDIT_MEMO,
            amount_minor=amount,
            posting_date=max(credit_memo.issue_date, invoice.issue_date),
            source_document_id=credit_memo.pk,
            actor=actor,
            now=now,
            reason=f"credit memo {credit_memo.number}",
        )


COUNTER_ACCOUNT: dict[str, AccountType] = {
    Allocation.Kind.PAYMENT: AccountType.UNAPPLIED_CASH,
    Allocation.Kind.DISCOUNT: AccountType.DISCOUNT,
    Allocation.Kind.WRITE_OFF: AccountType.WRITE_OFF,
    Allocation.Kind.MIGRATION: AccountType.CLEARING,
}


def _post_allocation(
    allocation: Allocation,
    *,
    document: Document,
    source: Document | None,
    actor: User | None,
    now: datetime,
) -> None:
    """The settled document's receivable shrinks; the other side is the credit memo's receivable
    or the account of what settled it (unapplied cash, discount, write-off, migration clearing)."""
    entity = document.entity
    amount = allocation.amount_minor if document.total_minor > 0 else -allocation.amount_minor
    receivable_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE)
    settled = PostingLine(
        account_id=receivable_id,
        currency=document.currency,
        debit_minor=max(-amount, 0),
        credit_minor=max(amount, 0),
        customer_id=document.customer_id,
        document_id=document.pk,
    )
    if source is not None:
        counter = PostingLine(
            account_id=receivable_id,
            currency=document.currency,
            debit_minor=max(amount, 0),
            credit_minor=max(-amount, 0),
            customer_id=source.customer_id,
            document_id=source.pk,
        )
        description = f"{source.number} applied to {document.number}"
    else:
        counter_id = ledger_selectors.account_id_for(entity=entity, type=COUNTER_ACCOUNT[allocation.kind])
        counter = PostingLine(
            account_id=counter_id,
            currency=document.currency,
            debit_minor=max(amount, 0),
            credit_minor=max(-amount, 0),
            customer_id=document.customer_id,
            document_id=document.pk,
        )
        description = f"{allocation.get_kind_display()} on {document.number}"
    ledger_services.journal_entry_post(
        entity=entity,
        lines=[counter, settled],
        posting_date=allocation.posting_date,
        description=description,
        source_type="allocation",
        source_id=allocation.pk,
        idempotency_key=f"allocation:{allocation.pk}",
        now=now,
        created_by_id=_actor_id(actor),
    )


def _refresh_settlement(document: Document) -> None:
    """Recompute the cached open amount and state from the allocations, inside the locking transaction."""
    settled = sum(Allocation.objects.filter(document=document).values_list("amount_minor", flat=True))
    settled += sum(Allocation.objects.filter(source_document=document).values_list("amount_minor", flat=True))
    open_minor = calculations.open_amount(document.total_minor, settled)
    kinds = set(
        Allocation.objects.filter(
            document=document, reverses__isnull=True, reversed_by__isnull=True
        ).values_list("kind", flat=True)
    )
    document.open_minor = open_minor
    document.settlement = calculations.settlement_state(
        total_minor=document.total_minor, open_minor=open_minor, kinds=kinds
    )
    document.save(update_fields=["open_minor", "settlement"])


@transaction.atomic
def allocation_create(
    *,
    document_id: int,
    kind: str,
    amount_minor: int,
    posting_date: date,
    actor: User | None,
    now: datetime,
    source_document_id: int | None = None,
    reason: str = "",
) -> Allocation:
    """Settle part of a document. Locks the documents in pk order; never lets an open amount cross zero."""
    ids = sorted({document_id, *([source_document_id] if source_document_id else [])})
    locked = {d.pk: d for d in locks.document_qs_for_update().select_related("entity").filter(pk__in=ids)}
    document = locked[document_id]
    if amount_minor <= 0:
        raise UnableToAllocate("an allocation amount is positive", code="bad_amount")
    if document.status != Document.Status.ISSUED:
        raise UnableToAllocate(f"{document} is not issued", code="not_issued")
    if amount_minor > abs(document.open_minor):
        raise UnableToAllocate(
            f"{document.number}: {amount_minor} exceeds the open amount {abs(document.open_minor)}",
            code="over_application",
        )
    source = locked.get(source_document_id) if source_document_id else None
    if kind == Allocation.Kind.CREDIT_MEMO:
        if (
            source is None
            or source.document_type != DocumentType.CREDIT_MEMO
            or source.status != Document.Status.ISSUED
        ):
            raise UnableToAllocate(
                "a credit memo allocation needs an issued credit memo", code="no_credit_memo"
            )
        if source.customer_id != document.customer_id or source.currency != document.currency:
            raise UnableToAllocate("credit memo and invoice differ in customer or currency", code="mismatch")
        if amount_minor > -source.open_minor:
            raise UnableToAllocate(
                f"{source.number}: {amount_minor} exceeds its open credit {-source.open_minor}",
                code="over_application",
            )
    allocation = Allocation.objects.create(
        entity=document.entity,
        document=document,
        kind=kind,
        source_document=source,
        currency=document.currency,
        amount_minor=amount_minor,
        posting_date=posting_date,
        reason=reason,
        created_at=now,
        created_by=actor if _actor_id(actor) else None,
    )
    _post_allocation(allocation, document=document, source=source, actor=actor, now=now)
    if source is not None:
        _refresh_settlement(source)
    _refresh_settlement(document)
    audit_services.record(
        actor=actor,
        action="receivables.allocation.created",
        object_type="document",
        object_id=document.pk,
        object_label=document.number or "",
        entity_id=document.entity_id,
        changes={
            "open_amount": (
                format_with_currency(
                    document.open_minor + (amount_minor if document.total_minor > 0 else -amount_minor),
                    document.currency,
                ),
                format_with_currency(document.open_minor, document.currency),
            )
        },
        reason=reason or kind,
        now=now,
    )
    return allocation


@transaction.atomic
def disputed_flag_set(
    *, document_id: int, is_disputed: bool, reason: str, actor: User | None, now: datetime
) -> Document:
    document = locks.document_qs_for_update().get(pk=document_id)
    if document.is_disputed != is_disputed:
        Document.objects.filter(pk=document.pk).update(is_disputed=is_disputed)
        audit_services.record(
            actor=actor,
            action="receivables.document.dispute_flag",
            object_type="document",
            object_id=document.pk,
            object_label=document.number or "",
            entity_id=document.entity_id,
            changes={"is_disputed": (document.is_disputed, is_disputed)},
            reason=reason,
            now=now,
        )
        document.is_disputed = is_disputed
    return document
