"""Set-based document creation and issuing for billing runs, and settlement for cash application: the
rules of `document_create`, `document_issue` and `allocation_create`, applied to many documents in a
few statements.

Numbers stay gapless: a batch locks its series row, takes a block of consecutive numbers and
assigns them in document order inside the caller's transaction, so a rollback returns the whole
block. Postings go through the ledger's bulk path (same rules, same triggers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from o2c.audit import services as audit_services
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.db import insert_new_rows, insert_objects, update_rows
from o2c.core.money import format_with_currency
from o2c.customers.models import Customer
from o2c.customers.terms import PaymentTerms, parse_terms
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.ledger.services import EntryIn
from o2c.receivables import calculations, locks, numbering
from o2c.receivables.calculations import LineIn
from o2c.receivables.errors import UnableToAllocate, UnableToCreateDocument, UnableToIssueDocument
from o2c.receivables.functional import ReceivableRelief, at_rate
from o2c.receivables.models import Allocation, Document, DocumentLine, DocumentType, TaxLine
from o2c.receivables.services import COUNTER_ACCOUNT, DOCUMENTS_ISSUED, discount_lines, issue_postings

BATCH = 2_000

_LINE_COLUMNS = (
    "document",
    "position",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "tax_category",
    "net_minor",
    "item_code",
    "period_start",
    "period_end",
    "credits_line",
    "credited_quantity",
)


@dataclass(frozen=True)
class DraftIn:
    customer: Customer
    issue_date: date
    lines: Sequence[LineIn]
    currency: str
    po_number: str = ""
    notes: str = ""
    origin: str = Document.Origin.MANUAL


def invoices_create_bulk(
    drafts: Sequence[DraftIn], *, actor: User | None, now: datetime, issue: bool = False
) -> list[Document]:
    """Draft invoices, as `document_create` would make them one by one; with `issue`, numbered and
    posted as well, as `invoices_issue_bulk` would issue them (in one pass, without reading the drafts
    back). The caller holds the transaction."""
    documents: list[Document] = []
    totals_of: list[calculations.DocumentTotals] = []
    terms_of: dict[str, PaymentTerms] = {}
    for draft in drafts:
        customer = draft.customer
        if not draft.lines:
            raise UnableToCreateDocument(
                f"{customer.number}: a document needs at least one line", code="no_lines"
            )
        if customer.status == Customer.Status.BLOCKED:
            raise UnableToCreateDocument(f"customer {customer.number} is blocked", code="customer_blocked")
        for position, line in enumerate(draft.lines, start=1):
            if (
                line.quantity < 0
                or (line.quantity == 0 and line.net is None)
                or (line.net is not None and line.net < 0)
            ):
                raise UnableToCreateDocument(
                    f"{customer.number} line {position}: quantity and amount must not be negative",
                    code="bad_quantity",
                )
        totals = calculations.document_totals(draft.lines, draft.currency)
        terms = terms_of.get(customer.payment_terms) or terms_of.setdefault(
            customer.payment_terms, parse_terms(customer.payment_terms)
        )
        totals_of.append(totals)
        documents.append(
            Document(
                entity_id=customer.entity_id,
                customer=customer,
                document_type=DocumentType.INVOICE,
                currency=draft.currency,
                net_minor=totals.net_minor,
                tax_minor=totals.tax_minor,
                total_minor=totals.total_minor,
                open_minor=totals.total_minor,
                issue_date=draft.issue_date,
                due_date=terms.due_date(draft.issue_date),
                discount_date=terms.discount_date(draft.issue_date),
                discount_percent=terms.discount_percent,
                payment_terms=terms.code,
                po_number=draft.po_number.strip(),
                notes=draft.notes,
                origin=draft.origin,
                created_at=now,
                created_by_id=actor_id(actor),
            )
        )
    if issue:
        for document in documents:
            _check_issuable(document)
        _number(documents, now)
    insert_objects(Document, documents)
    # the rows `document_rows` makes, as plain values
    line_rows: list[tuple[Any, ...]] = []
    tax_rows: list[tuple[Any, ...]] = []
    for document, draft, totals in zip(documents, drafts, totals_of, strict=True):
        document_id = document.pk
        line_rows += [
            (
                document_id,
                position,
                line.description,
                line.quantity,
                line.unit_price,
                line.discount_percent,
                line.tax_rate,
                line.tax_category,
                net_minor,
                line.item_code,
                line.period_start,
                line.period_end,
                line.credits_line_id,
                line.credited_quantity,
            )
            for position, (line, net_minor) in enumerate(
                zip(draft.lines, totals.line_net_minor, strict=True), start=1
            )
        ]
        tax_rows += [
            (document_id, tax.rate, tax.category, tax.base_minor, tax.tax_minor) for tax in totals.taxes
        ]
    insert_new_rows(DocumentLine, _LINE_COLUMNS, line_rows)
    insert_new_rows(TaxLine, ("document", "rate", "category", "base_minor", "tax_minor"), tax_rows)
    audit_services.record_for_each(
        actor=actor,
        action="receivables.document.created",
        object_type="document",
        now=now,
        objects=(
            (
                document.pk,
                "invoice draft",
                document.entity_id,
                {"total": (None, format_with_currency(document.total_minor, document.currency))},
            )
            for document in documents
        ),
    )
    if issue:
        _post_issued(documents, actor=actor, now=now)
    return documents


def invoices_issue_bulk(
    *, entity: LegalEntity, document_ids: Sequence[int], actor: User | None, now: datetime
) -> list[Document]:
    """Number, post and freeze draft invoices in document order, as `document_issue` does one by one.
    The caller holds the transaction; a credit memo goes through `document_issue` (it settles its invoice)."""
    documents = list(
        locks.document_qs_for_update().select_related("customer").filter(pk__any=document_ids, entity=entity)
    )
    for document in documents:
        _check_issuable(document)
    _number(documents, now)
    update_rows(
        Document,
        ["number", "series", "status", "issued_at", "posting_date"],
        [(d.pk, d.number, d.series_id, d.status, d.issued_at, d.posting_date) for d in documents],
    )
    _post_issued(documents, actor=actor, now=now)
    return documents


def _check_issuable(document: Document) -> None:
    if document.status != Document.Status.DRAFT:
        raise UnableToIssueDocument(f"{document} is issued already", code="not_draft")
    if document.document_type != DocumentType.INVOICE:
        raise UnableToIssueDocument(f"{document} is not an invoice", code="not_invoice")
    if document.total_minor == 0:
        raise UnableToIssueDocument("a document with a zero total is not issued", code="zero_total")


def _number(documents: Sequence[Document], now: datetime) -> None:
    """Consecutive numbers in document order from each entity's series for the issue year."""
    batches: dict[tuple[int, int], list[Document]] = defaultdict(list)
    for document in documents:
        batches[(document.entity_id, document.issue_date.year)].append(document)
    entities = LegalEntity.objects.in_bulk({entity_id for entity_id, _ in batches})
    posting_on = {
        entity_id: ledger_selectors.posting_dates_for(
            entity_id=entity_id, days={d.issue_date for d in documents if d.entity_id == entity_id}
        )
        for entity_id in entities
    }
    for (entity_id, year), batch in sorted(batches.items()):
        series, numbers = numbering.next_numbers(
            entity=entities[entity_id], document_type=DocumentType.INVOICE, year=year, count=len(batch)
        )
        for document, number in zip(batch, numbers, strict=True):
            document.number, document.series, document.status, document.issued_at = (
                number,
                series,
                Document.Status.ISSUED,
                now,
            )
            document.posting_date = posting_on[entity_id][document.issue_date]


def _post_issued(documents: Sequence[Document], *, actor: User | None, now: datetime) -> None:
    """Post numbered invoices (receivable against revenue and tax) and audit their issue."""
    by_entity: dict[int, list[Document]] = defaultdict(list)
    for document in documents:
        by_entity[document.entity_id].append(document)
    for entity in LegalEntity.objects.filter(pk__in=by_entity).order_by("pk"):
        receivable_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE)
        revenue_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.REVENUE)
        tax_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.TAX)
        ledger_services.journal_entries_post_bulk(
            entity=entity,
            entries=[
                EntryIn(
                    posting_date=document.issue_date,
                    description=f"Invoice {document.number} {document.customer.number}",
                    source_type="document",
                    source_id=document.pk,
                    idempotency_key=f"document-issue:{document.pk}",
                    lines=issue_postings(
                        document, receivable_id=receivable_id, revenue_id=revenue_id, tax_id=tax_id
                    ),
                )
                for document in by_entity[entity.pk]
            ],
            now=now,
            created_by_id=actor_id(actor),
        )
        events.publish_on_commit(
            DOCUMENTS_ISSUED, entity_id=entity.pk, document_ids=[d.pk for d in by_entity[entity.pk]]
        )
    audit_services.record_for_each(
        actor=actor,
        action="receivables.document.issued",
        object_type="document",
        now=now,
        objects=(
            (
                document.pk,
                document.number or "",
                document.entity_id,
                {"status": ("draft", "issued"), "number": (None, document.number)},
            )
            for document in documents
        ),
    )


@dataclass(frozen=True, slots=True)
class AllocationIn:
    """A settlement for the set-based path: cash, a discount or a write-off on one document."""

    document_id: int
    kind: str
    amount_minor: int
    posting_date: date
    payment_id: int | None = None
    counter_customer_id: int | None = None
    """The customer of the counter line (the payer of the cash); default: the document's customer."""
    reason: str = ""
    counter_fx_rate: Decimal | None = None
    """The rate the counter line is valued at (cash at the rate it was received at); default: the day's."""


KIND_LABELS = dict(Allocation.Kind.choices)

_SETTLING_KINDS: tuple[str, ...] = (
    Allocation.Kind.PAYMENT,
    Allocation.Kind.DISCOUNT,
    Allocation.Kind.WRITE_OFF,
)


def allocations_create_bulk(
    *, entity: LegalEntity, allocations: Sequence[AllocationIn], actor: User | None, now: datetime
) -> list[int]:
    """`allocation_create`'s rules applied to a set: the documents are locked in pk order, every amount is
    checked against what is still open after the allocations before it (in the given order), and nothing
    is written unless all of them hold. Postings go through the ledger's bulk path. The caller holds the
    transaction. Returns the new allocations' ids in the given order."""
    if not allocations:
        return []
    documents = {
        document.pk: document
        for document in locks.document_qs_for_update()
        .filter(pk__any={allocation.document_id for allocation in allocations})
        .only(
            "pk",
            "entity_id",
            "customer_id",
            "currency",
            "number",
            "status",
            "total_minor",
            "tax_minor",
            "open_minor",
            "last_allocation_date",
        )
    }
    open_left = {pk: abs(document.open_minor) for pk, document in documents.items()}
    for allocation in allocations:
        document = documents.get(allocation.document_id)
        if document is None or document.entity_id != entity.pk:
            raise UnableToAllocate(
                f"document {allocation.document_id} is not in {entity.code}", code="not_found"
            )
        if allocation.kind not in _SETTLING_KINDS:
            raise UnableToAllocate(f"{allocation.kind} is not settled in bulk", code="bad_kind")
        if allocation.amount_minor <= 0:
            raise UnableToAllocate("an allocation amount is positive", code="bad_amount")
        if document.status != Document.Status.ISSUED:
            raise UnableToAllocate(f"{document} is not issued", code="not_issued")
        if allocation.amount_minor > open_left[document.pk]:
            raise UnableToAllocate(
                f"{document.number}: {allocation.amount_minor} exceeds the open amount "
                f"{open_left[document.pk]}",
                code="over_application",
            )
        open_left[document.pk] -= allocation.amount_minor
    # the ledger's day for each, as `allocation_create` records it (later when its period is closed)
    posting_on = ledger_selectors.posting_dates_for(
        entity_id=entity.pk, days={allocation.posting_date for allocation in allocations}
    )
    # plain rows, not model instances: a bank file brings thousands of allocations at once
    created = insert_new_rows(
        Allocation,
        [
            "entity",
            "document",
            "kind",
            "payment_id",
            "currency",
            "amount_minor",
            "posting_date",
            "reason",
            "created_at",
            "created_by",
        ],
        [
            (
                entity.pk,
                allocation.document_id,
                allocation.kind,
                allocation.payment_id,
                documents[allocation.document_id].currency,
                allocation.amount_minor,
                posting_on[allocation.posting_date],
                allocation.reason[:300],
                now,
                actor_id(actor),
            )
            for allocation in allocations
        ],
    )
    receivable_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.RECEIVABLE)
    counter_ids = {
        kind: ledger_selectors.account_id_for(entity=entity, type=COUNTER_ACCOUNT[kind])
        for kind in _SETTLING_KINDS
    }
    tax_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.TAX)
    relief = ReceivableRelief(entity=entity, receivable_id=receivable_id, documents=documents.values())

    def counter_lines(line: PostingLine, kind: str, document: Document) -> list[PostingLine]:
        if kind != Allocation.Kind.DISCOUNT:
            return [line]
        return discount_lines(line, document=document, country=entity.country, tax_id=tax_id)

    entries = []
    for allocation, allocation_id in zip(allocations, created, strict=True):
        document = documents[allocation.document_id]
        # a credit memo's receivable is a credit: settling it moves the other way
        amount = allocation.amount_minor if document.total_minor > 0 else -allocation.amount_minor
        counter_customer = allocation.counter_customer_id or document.customer_id
        entries.append(
            EntryIn(
                posting_date=allocation.posting_date,
                description=f"{KIND_LABELS[allocation.kind]} on {document.number}",
                source_type="allocation",
                source_id=allocation_id,
                idempotency_key=f"allocation:{allocation_id}",
                lines=[
                    *counter_lines(
                        at_rate(
                            PostingLine(
                                account_id=counter_ids[allocation.kind],
                                currency=document.currency,
                                debit_minor=max(amount, 0),
                                credit_minor=max(-amount, 0),
                                customer_id=counter_customer,
                                document_id=document.pk,
                            ),
                            allocation.counter_fx_rate,
                            functional_currency=entity.currency,
                        ),
                        allocation.kind,
                        document,
                    ),
                    relief.pinned(
                        PostingLine(
                            account_id=receivable_id,
                            currency=document.currency,
                            debit_minor=max(-amount, 0),
                            credit_minor=max(amount, 0),
                            customer_id=document.customer_id,
                            document_id=document.pk,
                        )
                    ),
                ],
            )
        )
    ledger_services.journal_entries_post_bulk(
        entity=entity, entries=entries, now=now, created_by_id=actor_id(actor)
    )
    kinds: dict[int, set[str]] = defaultdict(set)
    for document_id, kind in Allocation.objects.filter(
        document_id__any=frozenset(documents), reverses__isnull=True, reversed_by__isnull=True
    ).values_list("document_id", "kind"):
        kinds[document_id].add(kind)
    latest: dict[int, date] = {}
    for allocation in allocations:
        posted = posting_on[allocation.posting_date]
        if allocation.document_id not in latest or posted > latest[allocation.document_id]:
            latest[allocation.document_id] = posted
    changed = []
    audited = []
    for pk, document in documents.items():
        open_minor = open_left[pk] if document.total_minor >= 0 else -open_left[pk]
        if open_minor == document.open_minor:
            continue
        settlement = calculations.settlement_state(
            total_minor=document.total_minor, open_minor=open_minor, kinds=kinds[pk]
        )
        last_allocation_date = max(filter(None, (document.last_allocation_date, latest[pk])))
        changed.append((pk, open_minor, settlement, last_allocation_date))
        audited.append(
            (
                pk,
                document.number or "",
                entity.pk,
                {
                    "open_amount": (
                        format_with_currency(document.open_minor, document.currency),
                        format_with_currency(open_minor, document.currency),
                    )
                },
            )
        )
        document.open_minor = open_minor
        document.settlement = settlement
        document.last_allocation_date = last_allocation_date
    update_rows(Document, ("open_minor", "settlement", "last_allocation_date"), changed)
    audit_services.record_for_each(
        actor=actor, action="receivables.allocation.created", object_type="document", now=now, objects=audited
    )
    return created
