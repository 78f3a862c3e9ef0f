"""Use cases of the open-item subledger: documents, issuing, credit memos, allocations, migration import.

Documents and allocations are created only here; every one posts its journal entry through the
ledger's services and leaves an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q, Sum

from o2c.audit import services as audit_services
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency, format_with_currency
from o2c.customers.models import Customer
from o2c.customers.terms import parse_terms
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType
from o2c.ledger.rules import LineIn as PostingLine
from o2c.receivables import calculations, locks, numbering, selectors
from o2c.receivables.calculations import LineIn, RateLeft, TaxKey
from o2c.receivables.errors import (
    UnableToAllocate,
    UnableToCreateDocument,
    UnableToDecideApproval,
    UnableToIssueDocument,
    UnableToSetApprovalPolicy,
)
from o2c.receivables.functional import ReceivableRelief, at_rate
from o2c.receivables.models import (
    Allocation,
    ApprovalPolicy,
    ApprovalState,
    Document,
    DocumentLine,
    DocumentType,
    ReasonCode,
    TaxLine,
)

DOCUMENTS_ISSUED = "receivables.documents_issued"
"""Documents got their numbers: payload `entity_id`, `document_ids`."""


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
    totals are stored negative so a customer's open items add up.

    Credit memos made here (billing runs' re-rating, imports, the demo) need no approval and carry no
    reason code; people correct invoices through `credit_memo_for_lines`, `credit_memo_for_amount`,
    `credit_memo_full` and `credit_and_rebill`, which require a reason and apply maker-checker."""
    return _document_create(
        customer=customer,
        document_type=document_type,
        issue_date=issue_date,
        lines=lines,
        actor=actor,
        now=now,
        currency=currency,
        po_number=po_number,
        payment_terms=payment_terms,
        corrects=corrects,
        notes=notes,
        origin=origin,
    )


def _document_create(
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
    totals: calculations.DocumentTotals | None = None,
    reason_code: str = "",
    reason: str = "",
    approval_state: str = ApprovalState.NOT_REQUIRED,
    rebills: Document | None = None,
) -> Document:
    """`document_create` with what corrections add: totals worked out by the caller (credit memos
    reverse the invoice's tax exactly), a reason code and reason, the approval state, the invoice a
    rebill replaces."""
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
    credited_line_ids = {line.credits_line_id for line in lines if line.credits_line_id is not None}
    if credited_line_ids and (
        corrects is None
        or DocumentLine.objects.filter(pk__in=credited_line_ids, document=corrects).count()
        != len(credited_line_ids)
    ):
        raise UnableToCreateDocument(
            "a credit memo line credits a line of the invoice it corrects", code="bad_correction"
        )
    if totals is None and corrects is not None:
        # at the invoice's rates, never more tax than is left at a rate: several partial credits of
        # one invoice (a billing run's, an import's) reverse its tax to the cent, not a cent more
        totals = calculations.credit_totals(
            lines, doc_currency, selectors.invoice_credit_position(invoice=corrects).rates
        )
    if totals is None:
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
        rebills=rebills,
        reason_code=reason_code,
        approval_state=approval_state,
        notes=notes,
        origin=origin,
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    line_rows, tax_rows = document_rows(document, lines, totals)
    DocumentLine.objects.bulk_create(line_rows)
    TaxLine.objects.bulk_create(tax_rows)
    changes: dict[str, tuple[object, object]] = {
        "total": (None, format_with_currency(document.total_minor, doc_currency))
    }
    if reason_code:
        changes["reason_code"] = (None, reason_code)
    if corrects is not None and reason_code:
        changes["corrects"] = (None, corrects.number)
    if rebills is not None:
        changes["rebills"] = (None, rebills.number)
    if approval_state != ApprovalState.NOT_REQUIRED:
        changes["approval_state"] = (None, approval_state)
    audit_services.record(
        actor=actor,
        action="receivables.document.created",
        object_type="document",
        object_id=document.pk,
        object_label=f"{document_type} draft",
        entity_id=document.entity_id,
        changes=changes,
        reason=reason,
        now=now,
    )
    return document


def document_rows(
    document: Document, lines: Sequence[LineIn], totals: calculations.DocumentTotals
) -> tuple[list[DocumentLine], list[TaxLine]]:
    """A document's line and tax line rows, as `document_create` and the bulk path write them."""
    line_rows = [
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
            credits_line_id=line.credits_line_id,
            credited_quantity=line.credited_quantity,
        )
        for position, (line, net_minor) in enumerate(zip(lines, totals.line_net_minor, strict=True), start=1)
    ]
    tax_rows = [
        TaxLine(
            document=document,
            rate=tax.rate,
            category=tax.category,
            base_minor=tax.base_minor,
            tax_minor=tax.tax_minor,
        )
        for tax in totals.taxes
    ]
    return line_rows, tax_rows


def _credited_minor(invoice: Document) -> int:
    """What issued or draft credit memos already take off an invoice (positive minor units); a
    rejected draft is never issued, so it takes nothing."""
    return -sum(selectors.corrections_counted(invoice.pk).values_list("total_minor", flat=True))


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


def _posting_date(entity_id: int, day: date) -> date:
    """The day the ledger posts an entry of this date on (later when its period is closed): documents
    and allocations record it, so the subledger as of any day is what the ledger holds then."""
    return ledger_selectors.posting_dates_for(entity_id=entity_id, days=[day])[day]


@transaction.atomic
def document_issue(
    *, document_id: int, actor: User | None, now: datetime, net_account_id: int | None = None
) -> Document:
    """Give a draft its gapless number, post it to the ledger and make it immutable. The net posts to
    the entity's revenue account, or to `net_account_id` (late-payment interest and fees: other income)."""
    document = locks.document_qs_for_update().select_related("entity", "customer").get(pk=document_id)
    if document.status != Document.Status.DRAFT:
        raise UnableToIssueDocument(f"{document} is issued already", code="not_draft")
    if document.total_minor == 0:
        raise UnableToIssueDocument("a document with a zero total is not issued", code="zero_total")
    if document.approval_state == ApprovalState.PENDING:
        raise UnableToIssueDocument(
            f"{document} waits for approval by a second person", code="approval_pending"
        )
    if document.approval_state == ApprovalState.REJECTED:
        raise UnableToIssueDocument(f"{document} was rejected and is never issued", code="approval_rejected")
    if document.rebills_id is not None:
        _ensure_replaced_invoice_credited(document)
    entity = document.entity
    series, number = numbering.next_number(
        entity=entity, document_type=document.document_type, year=document.issue_date.year
    )
    document.number = number
    document.series = series
    document.status = Document.Status.ISSUED
    document.issued_at = now
    document.posting_date = _posting_date(entity.pk, document.issue_date)
    document.save(update_fields=["number", "series", "status", "issued_at", "posting_date"])
    ledger_services.journal_entry_post(
        entity=entity,
        lines=issue_postings(
            document,
            receivable_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE),
            revenue_id=net_account_id
            or ledger_selectors.account_id_for(entity=entity, type=AccountType.REVENUE),
            tax_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.TAX),
        ),
        posting_date=document.issue_date,
        description=f"{document.get_document_type_display()} {number} {document.customer.number}",
        source_type="document",
        source_id=document.pk,
        idempotency_key=f"document-issue:{document.pk}",
        now=now,
        created_by_id=actor_id(actor),
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
    # cash application indexes the new number after commit, without searching for unindexed documents
    events.publish_on_commit(DOCUMENTS_ISSUED, entity_id=entity.pk, document_ids=[document.pk])
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


def _tax_moved(
    counter: PostingLine, parts: Sequence[tuple[int, str]], *, document: Document, tax_id: int
) -> list[PostingLine]:
    """The counter line less the tax parts, which move to the tax account on the same side (the output
    VAT is corrected): one line per part with its memo."""
    amount = counter.debit_minor or counter.credit_minor
    moved = sum(part for part, _ in parts)
    if not moved:
        return [counter]
    debit = bool(counter.debit_minor)
    return [
        counter._replace(
            debit_minor=amount - moved if debit else 0, credit_minor=0 if debit else amount - moved
        ),
        *(
            PostingLine(
                account_id=tax_id,
                currency=counter.currency,
                debit_minor=part if debit else 0,
                credit_minor=0 if debit else part,
                document_id=document.pk,
                memo=memo,
            )
            for part, memo in parts
            if part
        ),
    ]


def discount_lines(
    counter: PostingLine, *, document: Document, country: str, tax_id: int
) -> list[PostingLine]:
    """An early-payment discount's side of the posting: where the seller's country says a discount lowers
    the taxable amount, its VAT share moves from the discount account to the tax account (the output VAT
    is corrected), so the discount account holds the net. A credit memo's discount mirrors it."""
    if country not in calculations.DISCOUNT_CORRECTS_VAT:
        return [counter]
    amount = counter.debit_minor or counter.credit_minor
    tax_part = calculations.discount_tax_part(
        discount_minor=amount, tax_minor=abs(document.tax_minor), total_minor=abs(document.total_minor)
    )
    return _tax_moved(
        counter, [(tax_part, "VAT on early-payment discount")], document=document, tax_id=tax_id
    )


def write_off_tax_parts(*, document: Document, amount_minor: int) -> list[tuple[TaxKey, int]]:
    """The VAT inside `amount_minor` written off a document, per tax rate, in the document's own
    proportions (`calculations.tax_parts_by_rate`)."""
    rates = [
        (calculations.tax_key(rate, category), abs(base), abs(tax))
        for rate, category, base, tax in TaxLine.objects.filter(document_id=document.pk)
        .order_by("rate", "category")
        .values_list("rate", "category", "base_minor", "tax_minor")
    ]
    return calculations.tax_parts_by_rate(amount_minor=amount_minor, rates=rates)


def write_off_relief_lines(counter: PostingLine, *, document: Document, tax_id: int) -> list[PostingLine]:
    """A write-off's side of the posting with bad-debt VAT relief: the VAT inside the written-off amount,
    per rate, corrects the output VAT (the tax account), and the write-off account holds the net."""
    amount = counter.debit_minor or counter.credit_minor
    parts = write_off_tax_parts(document=document, amount_minor=amount)
    return _tax_moved(
        counter,
        [(part, f"VAT {key[0]}% relief on write-off") for key, part in parts],
        document=document,
        tax_id=tax_id,
    )


def _post_allocation(
    allocation: Allocation,
    *,
    document: Document,
    source: Document | None,
    actor: User | None,
    now: datetime,
    counter_customer_id: int | None = None,
    counter_fx_rate: Decimal | None = None,
    vat_relief: bool = False,
) -> None:
    """The settled document's receivable shrinks; the other side is the credit memo's receivable
    or the account of what settled it (unapplied cash, discount, write-off, migration clearing), under
    `counter_customer_id` when given (the payer of the cash, who may not be the document's customer),
    valued at `counter_fx_rate` when given (cash at the rate it was received at). Receivables in a foreign
    currency are relieved at the rates they were booked at; the ledger posts the rest as realised FX."""
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
            customer_id=counter_customer_id or document.customer_id,
            document_id=document.pk,
        )
        description = f"{allocation.get_kind_display()} on {document.number}"
    relief = ReceivableRelief(
        entity=entity, receivable_id=receivable_id, documents=[document, *([source] if source else [])]
    )
    settled = relief.pinned(settled)
    counter = (
        relief.pinned(counter)
        if source is not None
        else at_rate(counter, counter_fx_rate, functional_currency=entity.currency)
    )
    counters = [counter]
    if allocation.kind == Allocation.Kind.DISCOUNT:
        counters = discount_lines(
            counter,
            document=document,
            country=entity.country,
            tax_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.TAX),
        )
    elif allocation.kind == Allocation.Kind.WRITE_OFF and vat_relief:
        counters = write_off_relief_lines(
            counter,
            document=document,
            tax_id=ledger_selectors.account_id_for(entity=entity, type=AccountType.TAX),
        )
    ledger_services.journal_entry_post(
        entity=entity,
        lines=[*counters, settled],
        posting_date=allocation.posting_date,
        description=description,
        source_type="allocation",
        source_id=allocation.pk,
        idempotency_key=f"allocation:{allocation.pk}",
        now=now,
        created_by_id=actor_id(actor),
    )


def _refresh_settlement(document: Document) -> None:
    """Recompute the cached open amount and state from the allocations, inside the locking transaction."""
    on_it = Allocation.objects.filter(Q(document=document) | Q(source_document=document)).aggregate(
        settled=Sum("amount_minor", default=0), latest=Max("posting_date")
    )
    open_minor = calculations.open_amount(document.total_minor, on_it["settled"])
    kinds = set(
        Allocation.objects.filter(
            document=document, reverses__isnull=True, reversed_by__isnull=True
        ).values_list("kind", flat=True)
    )
    document.open_minor = open_minor
    document.settlement = calculations.settlement_state(
        total_minor=document.total_minor, open_minor=open_minor, kinds=kinds
    )
    document.last_allocation_date = on_it["latest"]
    document.save(update_fields=["open_minor", "settlement", "last_allocation_date"])


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
    payment_id: int | None = None,
    counter_customer_id: int | None = None,
    counter_fx_rate: Decimal | None = None,
    vat_relief: bool = False,
) -> Allocation:
    """Settle part of a document. Locks the documents in pk order; never lets an open amount cross zero.
    Cash names its `payment_id` and, when the payer is another customer, `counter_customer_id`. A
    write-off with `vat_relief` (the caller decides where the seller's country allows bad-debt relief)
    posts the VAT inside it against the tax account and only the net to the write-off account."""
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
        posting_date=_posting_date(document.entity_id, posting_date),
        payment_id=payment_id,
        reason=reason,
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    _post_allocation(
        allocation,
        document=document,
        source=source,
        actor=actor,
        now=now,
        counter_customer_id=counter_customer_id,
        counter_fx_rate=counter_fx_rate,
        vat_relief=vat_relief,
    )
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
def allocation_reverse(
    *, allocation_id: int, posting_date: date, reason: str, actor: User | None, now: datetime
) -> Allocation:
    """Undo an allocation: a reversing allocation of the negated amount, its journal entry mirrored,
    the documents' open amounts restored. The original stays as it was."""
    original = Allocation.objects.get(pk=allocation_id)
    ids = sorted(
        {original.document_id, *([original.source_document_id] if original.source_document_id else [])}
    )
    locked = {d.pk: d for d in locks.document_qs_for_update().select_related("entity").filter(pk__in=ids)}
    if original.reverses_id is not None:
        raise UnableToAllocate("a reversal cannot be reversed", code="reversal_of_reversal")
    if Allocation.objects.filter(reverses=original).exists():
        raise UnableToAllocate(f"allocation {original.pk} is reversed already", code="already_reversed")
    document = locked[original.document_id]
    posting_date = _posting_date(original.entity_id, max(posting_date, original.posting_date))
    reversal = Allocation.objects.create(
        entity_id=original.entity_id,
        document=document,
        kind=original.kind,
        source_document_id=original.source_document_id,
        payment_id=original.payment_id,
        currency=original.currency,
        amount_minor=-original.amount_minor,
        posting_date=posting_date,
        reverses=original,
        reason=reason[:300],
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    entry_id = ledger_selectors.entry_id_by_key(idempotency_key=f"allocation:{original.pk}")
    if entry_id is not None:
        ledger_services.journal_entry_reverse(
            entry_id=entry_id, posting_date=posting_date, reason=reason, now=now, actor=actor
        )
    before = document.open_minor
    if original.source_document_id:
        _refresh_settlement(locked[original.source_document_id])
    _refresh_settlement(document)
    audit_services.record(
        actor=actor,
        action="receivables.allocation.reversed",
        object_type="document",
        object_id=document.pk,
        object_label=document.number or "",
        entity_id=document.entity_id,
        changes={
            "open_amount": (
                format_with_currency(before, document.currency),
                format_with_currency(document.open_minor, document.currency),
            )
        },
        reason=reason,
        now=now,
    )
    return reversal


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


# --- corrections: credit memos, credit-and-rebill, maker-checker ----------------------------------


@dataclass(frozen=True, slots=True)
class CreditLineIn:
    """One line of an issued invoice to credit: a quantity of it, or a net amount of it (not both)."""

    line_id: int
    quantity: Decimal | None = None
    amount: Decimal | None = None


def _invoice_to_credit(invoice_id: int) -> Document:
    """The invoice, locked: credit memos of one invoice are made one after the other, so two people
    crediting the same line at once cannot both take what is left of it."""
    invoice = locks.document_qs_for_update().select_related("entity", "customer").get(pk=invoice_id)
    if invoice.document_type != DocumentType.INVOICE or invoice.status != Document.Status.ISSUED:
        raise UnableToCreateDocument(
            f"{invoice}: only an issued invoice can be credited", code="bad_correction"
        )
    return invoice


def _ensure_reason(reason_code: str, reason: str) -> None:
    if reason_code not in ReasonCode.values:
        raise UnableToCreateDocument(
            f"'{reason_code}' is not a reason code ({', '.join(ReasonCode.values)})", code="bad_reason_code"
        )
    if not reason.strip():
        raise UnableToCreateDocument("say why the invoice is credited", code="reason_required")


def _net_minor(amount: Decimal, currency: str, *, what: str) -> int:
    """A positive net amount already rounded to the currency, in minor units."""
    if amount <= 0:
        raise UnableToCreateDocument(f"{what}: the amount must be positive", code="bad_amount")
    money = Money(amount, currency)
    if money.round_half_up() != money:
        raise UnableToCreateDocument(
            f"{what}: {amount} has more decimals than {currency} allows", code="too_many_decimals"
        )
    return money.to_minor()


def _credit_line(left: selectors.LineLeft, credit: CreditLineIn, currency: str) -> LineIn:
    """A credit memo line for part of an invoice line, at the line's own tax rate and category, with its
    description, item code and service period."""
    line = left.line
    what = f"line {line.position}"
    if (credit.quantity is None) == (credit.amount is None):
        raise UnableToCreateDocument(f"{what}: credit a quantity or an amount", code="quantity_or_amount")
    if credit.quantity is not None:
        if credit.quantity <= 0:
            raise UnableToCreateDocument(f"{what}: the quantity must be positive", code="bad_quantity")
        if credit.quantity > left.quantity_left:
            raise UnableToCreateDocument(
                f"{what}: {credit.quantity.normalize()} is more than the {left.quantity_left.normalize()} "
                "left to credit",
                code="exceeds_line",
            )
        net_minor = calculations.credit_net_for_quantity(
            line_net_minor=line.net_minor,
            line_quantity=line.quantity,
            quantity=credit.quantity,
            quantity_left=left.quantity_left,
            net_left_minor=left.net_left_minor,
        )
        quantity, unit_price, discount = credit.quantity, line.unit_price, line.discount_percent
        credited_quantity = credit.quantity
    else:
        assert credit.amount is not None
        net_minor = _net_minor(credit.amount, currency, what=what)
        quantity, unit_price, discount = Decimal(1), credit.amount, Decimal(0)
        credited_quantity = Decimal(0)
    if net_minor > left.net_left_minor:
        raise UnableToCreateDocument(
            f"{what}: {format_with_currency(net_minor, currency)} is more than the "
            f"{format_with_currency(left.net_left_minor, currency)} left to credit",
            code="exceeds_line",
        )
    return LineIn(
        description=line.description,
        quantity=quantity,
        unit_price=unit_price,
        tax_rate=line.tax_rate,
        discount_percent=discount,
        net=Money.from_minor(net_minor, currency).amount,
        tax_category=line.tax_category,
        item_code=line.item_code,
        period_start=line.period_start,
        period_end=line.period_end,
        credits_line_id=line.pk,
        credited_quantity=credited_quantity,
    )


def _rate_line(invoice: Document, key: TaxKey, net_minor: int, description: str) -> LineIn:
    amount = Money.from_minor(net_minor, invoice.currency).amount
    rate, category = key
    return LineIn(
        description=description or f"Credit on invoice {invoice.number}",
        quantity=Decimal(1),
        unit_price=amount,
        tax_rate=rate,
        net=amount,
        tax_category=category,
    )


def _approval_state_for(*, entity_id: int, currency: str, total_minor: int) -> str:
    """Pending when the entity's policy for credit memos in this currency has a threshold below the
    credit memo's absolute gross total; nothing is converted, so a policy in another currency, or no
    policy at all, needs no approval."""
    policy = selectors.approval_policy_for(
        entity_id=entity_id, document_type=DocumentType.CREDIT_MEMO, currency=currency
    )
    if policy is not None and abs(total_minor) > policy.threshold_minor:
        return ApprovalState.PENDING
    return ApprovalState.NOT_REQUIRED


def _credit_memo_create(
    *,
    invoice: Document,
    position: selectors.CreditPosition,
    lines: list[LineIn],
    reason_code: str,
    reason: str,
    actor: User | None,
    now: datetime,
    issue_date: date,
    issue: bool,
) -> Document:
    """The credit memo of a locked invoice: tax reversed at the invoice's rates, never more than is left
    at a rate or on the invoice; pending approval above the entity's threshold, else issued at once
    (unless `issue` is False)."""
    totals = calculations.credit_totals(lines, invoice.currency, position.rates)
    for tax in totals.taxes:
        rest = position.rates.get(calculations.tax_key(tax.rate, tax.category), RateLeft(0, 0))
        if tax.base_minor > rest.base_minor:
            raise UnableToCreateDocument(
                f"the credit memo exceeds what is left to credit on {invoice.number} at "
                f"{tax.rate.normalize()} %: {format_with_currency(rest.base_minor, invoice.currency)} net",
                code="exceeds_invoice",
            )
    if totals.total_minor > position.total_left_minor:
        raise UnableToCreateDocument(
            f"the credit memo exceeds what is left to credit on {invoice.number}", code="exceeds_invoice"
        )
    approval_state = _approval_state_for(
        entity_id=invoice.entity_id, currency=invoice.currency, total_minor=totals.total_minor
    )
    credit_memo = _document_create(
        customer=invoice.customer,
        document_type=DocumentType.CREDIT_MEMO,
        issue_date=issue_date,
        lines=lines,
        actor=actor,
        now=now,
        currency=invoice.currency,
        po_number=invoice.po_number,
        payment_terms=invoice.payment_terms,
        corrects=invoice,
        notes=reason.strip(),
        totals=totals,
        reason_code=reason_code,
        reason=reason.strip(),
        approval_state=approval_state,
    )
    if issue and approval_state == ApprovalState.NOT_REQUIRED:
        return document_issue(document_id=credit_memo.pk, actor=actor, now=now)
    return credit_memo


@transaction.atomic
def credit_memo_for_lines(
    *,
    invoice_id: int,
    lines: Sequence[CreditLineIn],
    reason_code: str,
    reason: str,
    actor: User | None,
    now: datetime,
    issue_date: date,
    issue: bool = True,
) -> Document:
    """Credit chosen lines of an issued invoice, each by a quantity (at most what earlier credit memos
    left of it) or by a net amount (at most the net left of it), at the line's original tax rate and
    category. Issued at once unless it needs approval; `issue=False` keeps it a draft."""
    _ensure_reason(reason_code, reason)
    invoice = _invoice_to_credit(invoice_id)
    if not lines:
        raise UnableToCreateDocument("choose at least one line to credit", code="no_lines")
    if len({credit.line_id for credit in lines}) != len(lines):
        raise UnableToCreateDocument(
            "each invoice line is credited once per credit memo", code="duplicate_line"
        )
    position = selectors.invoice_credit_position(invoice=invoice)
    credit_lines = []
    for credit in lines:
        left = position.line(credit.line_id)
        if left is None:
            raise UnableToCreateDocument(
                f"line {credit.line_id} is not a line of {invoice.number}", code="unknown_line"
            )
        credit_lines.append(_credit_line(left, credit, invoice.currency))
    return _credit_memo_create(
        invoice=invoice,
        position=position,
        lines=credit_lines,
        reason_code=reason_code,
        reason=reason,
        actor=actor,
        now=now,
        issue_date=issue_date,
        issue=issue,
    )


@transaction.atomic
def credit_memo_full(
    *,
    invoice_id: int,
    reason_code: str,
    reason: str,
    actor: User | None,
    now: datetime,
    issue_date: date,
    issue: bool = True,
    description: str = "",
) -> Document:
    """Credit all that is left of an invoice: every line at its remaining quantity and net. When an
    earlier credit memo credited an amount not tied to a line, the lines no longer tell what is left,
    so the credit memo has one line per tax rate with what is left of that rate's base instead
    (`description`, default 'Credit on invoice <number>'). Either way the invoice's tax is reversed
    to the cent, so the invoice ends fully credited."""
    _ensure_reason(reason_code, reason)
    invoice = _invoice_to_credit(invoice_id)
    position = selectors.invoice_credit_position(invoice=invoice)
    if position.has_unlinked_credits:
        lines = [
            _rate_line(invoice, key, rest.base_minor, description)
            for key, rest in sorted(position.rates.items())
            if rest.base_minor > 0
        ]
    else:
        lines = [
            _credit_line(
                left,
                CreditLineIn(left.line.pk, quantity=left.quantity_left)
                if left.quantity_left > 0
                else CreditLineIn(
                    left.line.pk, amount=Money.from_minor(left.net_left_minor, invoice.currency).amount
                ),
                invoice.currency,
            )
            for left in position.lines
            if left.net_left_minor > 0
        ]
    if not lines:
        raise UnableToCreateDocument(
            f"nothing is left to credit on {invoice.number}", code="nothing_to_credit"
        )
    return _credit_memo_create(
        invoice=invoice,
        position=position,
        lines=lines,
        reason_code=reason_code,
        reason=reason,
        actor=actor,
        now=now,
        issue_date=issue_date,
        issue=issue,
    )


@transaction.atomic
def credit_memo_for_amount(
    *,
    invoice_id: int,
    net_amount: Decimal,
    reason_code: str,
    reason: str,
    actor: User | None,
    now: datetime,
    issue_date: date,
    tax_rate: Decimal | None = None,
    description: str = "",
    issue: bool = True,
) -> Document:
    """Credit a net amount of an invoice, spread over its tax rates in proportion to what is left of
    their bases (largest remainder, so the parts sum to the amount exactly), one line per rate; with
    `tax_rate`, all of it at that one rate of the invoice. Tax at each rate as on any credit memo."""
    _ensure_reason(reason_code, reason)
    invoice = _invoice_to_credit(invoice_id)
    net_minor = _net_minor(net_amount, invoice.currency, what="the credit")
    position = selectors.invoice_credit_position(invoice=invoice)
    rates = position.rates
    if tax_rate is not None:
        rates = {key: rest for key, rest in rates.items() if key[0] == tax_rate.normalize()}
        if not rates:
            raise UnableToCreateDocument(
                f"{invoice.number} has no tax rate of {tax_rate.normalize()} %", code="unknown_rate"
            )
    base_left = sum(max(rest.base_minor, 0) for rest in rates.values())
    if net_minor > base_left:
        raise UnableToCreateDocument(
            f"the credit memo exceeds what is left to credit on {invoice.number}: "
            f"{format_with_currency(base_left, invoice.currency)} net",
            code="exceeds_invoice",
        )
    lines = [
        _rate_line(invoice, key, part, description)
        for key, part in calculations.spread_over_rates(net_minor, rates)
    ]
    return _credit_memo_create(
        invoice=invoice,
        position=position,
        lines=lines,
        reason_code=reason_code,
        reason=reason,
        actor=actor,
        now=now,
        issue_date=issue_date,
        issue=issue,
    )


@transaction.atomic
def credit_and_rebill(
    *,
    invoice_id: int,
    lines: Sequence[LineIn],
    reason_code: str,
    reason: str,
    actor: User | None,
    now: datetime,
    issue_date: date,
) -> tuple[Document, Document]:
    """In one step: a credit memo of all that is left of the invoice (issued at once unless it needs
    approval) and a draft invoice with the corrected lines for the same customer, currency, payment
    terms, PO number and notes, linked to the invoice it replaces. The replacement is issued from its
    page once the credit memo is issued (`document_issue` refuses it before)."""
    credit_memo = credit_memo_full(
        invoice_id=invoice_id,
        reason_code=reason_code,
        reason=reason,
        actor=actor,
        now=now,
        issue_date=issue_date,
    )
    invoice = Document.objects.select_related("customer").get(pk=invoice_id)
    rebill = _document_create(
        customer=invoice.customer,
        document_type=DocumentType.INVOICE,
        issue_date=issue_date,
        lines=lines,
        actor=actor,
        now=now,
        currency=invoice.currency,
        po_number=invoice.po_number,
        payment_terms=invoice.payment_terms,
        notes=invoice.notes,
        reason=reason.strip(),
        rebills=invoice,
    )
    audit_services.record(
        actor=actor,
        action="receivables.document.rebilled",
        object_type="document",
        object_id=invoice.pk,
        object_label=invoice.number or "",
        entity_id=invoice.entity_id,
        changes={
            "reason_code": (None, reason_code),
            "credit_memo": (None, credit_memo.number or f"draft {credit_memo.pk}"),
            "rebill": (None, f"draft {rebill.pk}"),
        },
        reason=reason.strip(),
        now=now,
    )
    return credit_memo, rebill


def _ensure_replaced_invoice_credited(rebill: Document) -> None:
    assert rebill.rebills_id is not None
    replaced = Document.objects.get(pk=rebill.rebills_id)
    credited = -sum(
        Document.objects.filter(corrects=replaced, status=Document.Status.ISSUED).values_list(
            "total_minor", flat=True
        )
    )
    if credited < replaced.total_minor:
        raise UnableToIssueDocument(
            f"{rebill} replaces {replaced.number}, which is not credited in full yet",
            code="rebill_not_credited",
        )


def _approval_decide(
    *, document_id: int, actor: User | None, now: datetime, reason: str, decision: str
) -> Document:
    document = locks.document_qs_for_update().get(pk=document_id)
    if actor is None or not actor.is_authenticated:
        raise UnableToDecideApproval("a person approves or rejects a credit memo", code="approver_required")
    if (
        document.document_type != DocumentType.CREDIT_MEMO
        or document.status != Document.Status.DRAFT
        or document.approval_state != ApprovalState.PENDING
    ):
        raise UnableToDecideApproval(f"{document} does not wait for approval", code="not_pending")
    if document.created_by_id == actor.pk:
        raise UnableToDecideApproval(
            "the person who made a credit memo cannot approve or reject it: a second person must",
            code="same_person",
        )
    if decision == ApprovalState.REJECTED and not reason.strip():
        raise UnableToDecideApproval("say why the credit memo is rejected", code="reason_required")
    document.approval_state = decision
    document.approval_decided_at = now
    document.approval_decided_by = actor
    document.save(update_fields=["approval_state", "approval_decided_at", "approval_decided_by"])
    audit_services.record(
        actor=actor,
        action=f"receivables.credit_memo.{decision}",
        object_type="document",
        object_id=document.pk,
        object_label=f"credit_memo draft {document.pk}",
        entity_id=document.entity_id,
        changes={"approval_state": (ApprovalState.PENDING.value, decision)},
        reason=reason.strip(),
        now=now,
    )
    return document


@transaction.atomic
def credit_memo_approve(*, document_id: int, actor: User | None, now: datetime, reason: str) -> Document:
    """The checker approves a pending credit memo; it can then be issued. The maker cannot approve it."""
    return _approval_decide(
        document_id=document_id, actor=actor, now=now, reason=reason, decision=ApprovalState.APPROVED
    )


@transaction.atomic
def credit_memo_reject(*, document_id: int, actor: User | None, now: datetime, reason: str) -> Document:
    """The checker rejects a pending credit memo, saying why: it stays a draft that is never issued and
    no longer counts against what is left to credit on its invoice."""
    return _approval_decide(
        document_id=document_id, actor=actor, now=now, reason=reason, decision=ApprovalState.REJECTED
    )


@transaction.atomic
def approval_policy_set(
    *,
    entity_id: int,
    currency: str,
    threshold: Decimal | None,
    actor: User | None,
    now: datetime,
    reason: str,
    document_type: str = DocumentType.CREDIT_MEMO,
) -> ApprovalPolicy | None:
    """Set the entity's approval threshold for credit memos in a currency (gross, in major units);
    None removes it, so no approval is needed in that currency. Audited."""
    try:
        ensure_currency(currency)
    except UnableToHandleMoney as error:
        raise UnableToSetApprovalPolicy(error.message, code="bad_currency") from None
    if document_type != DocumentType.CREDIT_MEMO:
        raise UnableToSetApprovalPolicy("approval applies to credit memos", code="bad_document_type")
    existing = (
        ApprovalPolicy.objects.select_for_update()
        .filter(entity_id=entity_id, document_type=document_type, currency=currency)
        .first()
    )
    old = existing.threshold_minor if existing is not None else None
    policy: ApprovalPolicy | None
    if threshold is None:
        if existing is not None:
            existing.delete()
        policy, new = None, None
    else:
        money = Money(threshold, currency)
        if threshold < 0 or money.round_half_up() != money:
            raise UnableToSetApprovalPolicy(
                f"{threshold} is not a positive amount in {currency}", code="bad_threshold"
            )
        new = money.to_minor()
        policy, _ = ApprovalPolicy.objects.update_or_create(
            entity_id=entity_id,
            document_type=document_type,
            currency=currency,
            defaults={
                "threshold_minor": new,
                "changed_at": now,
                "changed_by": actor if actor_id(actor) else None,
            },
        )
    if old != new:
        audit_services.record(
            actor=actor,
            action="receivables.approval_policy.changed",
            object_type="approval_policy",
            object_id=policy.pk if policy is not None else None,
            object_label=f"{document_type} {currency}",
            entity_id=entity_id,
            changes={"threshold": (format_with_currency(old, currency), format_with_currency(new, currency))},
            reason=reason,
            now=now,
        )
    return policy
