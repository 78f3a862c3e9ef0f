"""Reads of the open-item subledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from o2c.receivables import calculations, locks
from o2c.receivables.calculations import RateLeft, TaxKey
from o2c.receivables.models import (
    Allocation,
    ApprovalPolicy,
    ApprovalState,
    Document,
    DocumentLine,
    DocumentType,
    TaxLine,
)


def document_list(
    *,
    entity_ids: list[int],
    customer_id: int | None = None,
    search: str = "",
    document_type: str = "",
    open_only: bool = False,
) -> QuerySet[Document]:
    documents = Document.objects.filter(entity_id__in=entity_ids).select_related("customer", "entity")
    if customer_id is not None:
        documents = documents.filter(customer_id=customer_id)
    if search.strip():
        term = search.strip()
        documents = documents.filter(Q(number__istartswith=term) | Q(po_number__istartswith=term))
    if document_type:
        documents = documents.filter(document_type=document_type)
    if open_only:
        documents = documents.filter(status=Document.Status.ISSUED).exclude(open_minor=0)
    return documents.order_by("-issue_date", "-pk")


def document_get(*, entity_ids: list[int], document_id: int) -> Document:
    return (
        Document.objects.select_related(
            "customer", "entity", "corrects", "series", "rebills", "created_by", "approval_decided_by"
        )
        .prefetch_related("lines", "tax_lines", "corrections")
        .get(entity_id__in=entity_ids, pk=document_id)
    )


def document_allocations(*, document_id: int) -> QuerySet[Allocation]:
    return (
        Allocation.objects.filter(Q(document_id=document_id) | Q(source_document_id=document_id))
        .select_related("document", "source_document", "created_by")
        .order_by("posting_date", "pk")
    )


@dataclass(frozen=True)
class Balance:
    currency: str
    open_minor: int
    overdue_minor: int
    items: int


def customer_balances(*, customer_id: int, as_of: date) -> list[Balance]:
    """Open items per currency today (cached open amounts), with what is past due as of the date."""
    rows = (
        Document.objects.filter(customer_id=customer_id, status=Document.Status.ISSUED)
        .exclude(open_minor=0)
        .values("currency")
        .annotate(
            open=Sum("open_minor"),
            overdue=Sum("open_minor", filter=Q(due_date__lt=as_of)),
            items=Count("pk"),
        )
        .order_by("currency")
    )
    return [
        Balance(
            currency=r["currency"], open_minor=r["open"], overdue_minor=r["overdue"] or 0, items=r["items"]
        )
        for r in rows
    ]


def open_amount_as_of(*, document: Document, as_of: date) -> int:
    """Open amount as of a date: total less the allocations posted on or before it."""
    if document.issue_date > as_of or document.status != Document.Status.ISSUED:
        return 0
    settled = (
        Allocation.objects.filter(
            Q(document=document) | Q(source_document=document), posting_date__lte=as_of
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    return calculations.open_amount(document.total_minor, settled)


@dataclass(frozen=True)
class OpenItemsSummary:
    entity_id: int
    currency: str
    open_minor: int
    overdue_minor: int
    items: int


def open_items_summary(*, entity_ids: list[int], as_of: date) -> list[OpenItemsSummary]:
    """Per entity and currency: open receivables (cached open amounts), count of open items, and what
    is past due as of the date. One grouped query; for the back-office dashboard."""
    rows = (
        Document.objects.filter(entity_id__in=entity_ids, status=Document.Status.ISSUED)
        .exclude(open_minor=0)
        .values("entity_id", "currency")
        .annotate(
            open=Sum("open_minor"),
            overdue=Sum("open_minor", filter=Q(due_date__lt=as_of)),
            items=Count("pk"),
        )
        .order_by("entity_id", "currency")
    )
    return [
        OpenItemsSummary(
            entity_id=r["entity_id"],
            currency=r["currency"],
            open_minor=r["open"],
            overdue_minor=r["overdue"] or 0,
            items=r["items"],
        )
        for r in rows
    ]


# --- corrections -----------------------------------------------------------------------------------


def corrections_counted(invoice_id: int) -> QuerySet[Document]:
    """The credit memos that take something off an invoice: issued ones, and drafts that may still be
    issued (a rejected draft never is, so it reserves nothing)."""
    return Document.objects.filter(corrects_id=invoice_id).exclude(approval_state=ApprovalState.REJECTED)


@dataclass(frozen=True)
class LineLeft:
    """One invoice line and what earlier credit memos took of it."""

    line: DocumentLine
    credited_quantity: Decimal
    credited_net_minor: int

    @property
    def quantity_left(self) -> Decimal:
        return self.line.quantity - self.credited_quantity

    @property
    def net_left_minor(self) -> int:
        return self.line.net_minor - self.credited_net_minor


@dataclass(frozen=True)
class CreditPosition:
    """What is left to credit on an issued invoice: per line, per tax rate, and in total (gross).
    `has_unlinked_credits` says whether an earlier credit memo credited an amount not tied to a line
    (an amount spread over the rates, or a credit memo of an older version), so lines alone no longer
    tell what is left."""

    invoice: Document
    lines: list[LineLeft]
    rates: dict[TaxKey, RateLeft]
    credited_total_minor: int
    has_unlinked_credits: bool

    @property
    def total_left_minor(self) -> int:
        return self.invoice.total_minor - self.credited_total_minor

    def line(self, line_id: int) -> LineLeft | None:
        return next((left for left in self.lines if left.line.pk == line_id), None)


def invoice_credit_position(*, invoice: Document) -> CreditPosition:
    """Four queries, whatever the number of lines: the invoice's lines and tax lines, and the lines and
    tax lines of the credit memos counted against it. Quantities are summed here, never in SQL."""
    corrections = corrections_counted(invoice.pk)
    credited_total = -sum(corrections.values_list("total_minor", flat=True))
    invoice_lines = list(DocumentLine.objects.filter(document_id=invoice.pk).order_by("position"))
    quantities: dict[int, Decimal] = defaultdict(Decimal)
    nets: dict[int, int] = defaultdict(int)
    unlinked = False
    for line_id, quantity, net_minor in DocumentLine.objects.filter(document__in=corrections).values_list(
        "credits_line_id", "credited_quantity", "net_minor"
    ):
        if line_id is None:
            unlinked = True
            continue
        quantities[line_id] += quantity
        nets[line_id] += net_minor
    credited_by_rate: dict[TaxKey, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for rate, category, base_minor, tax_minor in TaxLine.objects.filter(document__in=corrections).values_list(
        "rate", "category", "base_minor", "tax_minor"
    ):
        key = calculations.tax_key(rate, category)
        base, tax = credited_by_rate[key]
        credited_by_rate[key] = (base + base_minor, tax + tax_minor)
    rates = {}
    for tax_line in TaxLine.objects.filter(document_id=invoice.pk).order_by("rate", "category"):
        key = calculations.tax_key(tax_line.rate, tax_line.category)
        base, tax = credited_by_rate.get(key, (0, 0))
        rates[key] = RateLeft(base_minor=tax_line.base_minor - base, tax_minor=tax_line.tax_minor - tax)
    return CreditPosition(
        invoice=invoice,
        lines=[
            LineLeft(line=line, credited_quantity=quantities[line.pk], credited_net_minor=nets[line.pk])
            for line in invoice_lines
        ],
        rates=rates,
        credited_total_minor=credited_total,
        has_unlinked_credits=unlinked,
    )


def approval_policy_for(*, entity_id: int, document_type: str, currency: str) -> ApprovalPolicy | None:
    return ApprovalPolicy.objects.filter(
        entity_id=entity_id, document_type=document_type, currency=currency
    ).first()


def approval_policy_list(*, entity_ids: list[int]) -> QuerySet[ApprovalPolicy]:
    return (
        ApprovalPolicy.objects.filter(entity_id__in=entity_ids)
        .select_related("entity", "changed_by")
        .order_by("entity__code", "document_type", "currency")
    )


def credit_memo_pending_list(*, entity_ids: list[int]) -> QuerySet[Document]:
    """Credit memos waiting for a second person's approval, oldest first (the approvals queue)."""
    return (
        Document.objects.filter(
            entity_id__in=entity_ids,
            document_type=DocumentType.CREDIT_MEMO,
            approval_state=ApprovalState.PENDING,
        )
        .select_related("customer", "entity", "corrects", "created_by")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True, slots=True)
class OpenItem:
    """What cash application needs of a document: who owes it, how much is open, its terms."""

    id: int
    customer_id: int
    number: str
    currency: str
    total_minor: int
    open_minor: int
    issue_date: date
    due_date: date
    discount_date: date | None
    discount_percent: Decimal
    po_number: str
    document_type: str


_OPEN_ITEM_FIELDS = (
    "pk",
    "customer_id",
    "number",
    "currency",
    "total_minor",
    "open_minor",
    "issue_date",
    "due_date",
    "discount_date",
    "discount_percent",
    "po_number",
    "document_type",
)


_ID_CHUNK = 50_000
"""Ids per query (one array parameter, see o2c.core.lookups)."""


def open_items_by_ids(*, entity_id: int, document_ids: set[int], lock: bool = False) -> dict[int, OpenItem]:
    """Issued documents by id (paid ones too: a payment may name an invoice paid already). With `lock`,
    their rows are locked in pk order until the caller's transaction ends."""
    documents = locks.document_qs_for_update() if lock else Document.objects.all()
    ordered = sorted(document_ids)
    found: dict[int, OpenItem] = {}
    for offset in range(0, len(ordered), _ID_CHUNK):  # ascending chunks keep the lock order
        rows = documents.filter(
            entity_id=entity_id,
            pk__any=frozenset(ordered[offset : offset + _ID_CHUNK]),
            status=Document.Status.ISSUED,
        ).values_list(*_OPEN_ITEM_FIELDS)
        found.update((row[0], OpenItem(*row)) for row in rows)
    return found


def draft_count_dated(*, entity_id: int, first: date, last: date) -> int:
    """Draft documents of the entity with an issue date from `first` to `last`."""
    return Document.objects.filter(
        entity_id=entity_id, status=Document.Status.DRAFT, issue_date__gte=first, issue_date__lte=last
    ).count()


def numbers_of(*, entity_id: int, document_ids: list[int]) -> list[tuple[int, str | None]]:
    """(pk, number) of the issued documents among these ids."""
    ordered = sorted(document_ids)
    found: list[tuple[int, str | None]] = []
    for offset in range(0, len(ordered), _ID_CHUNK):
        found += Document.objects.filter(
            entity_id=entity_id,
            pk__any=frozenset(ordered[offset : offset + _ID_CHUNK]),
            status=Document.Status.ISSUED,
        ).values_list("pk", "number")
    return found


def open_items_for_matching(
    *,
    entity_id: int,
    document_ids: set[int],
    customer_reach: Mapping[int, int],
    limit: int = 500,
    lock: bool = False,
) -> tuple[dict[int, OpenItem], dict[int, list[int]]]:
    """In one locking query (one lock order): the issued documents by id (paid ones too: a payment may
    name an invoice paid already), and for each customer of `customer_reach` its open invoices and debit
    memos (positive open amount) up to the reach given, found first by id through the (entity, customer,
    open amount) index. Returns the items by id, and per customer the ids of its open items within
    reach, oldest due first, at most `limit` each (a payment names so many at most; more is a case for a
    person). With `lock`, every row returned is locked in pk order until the caller's transaction ends."""
    wanted = set(document_ids)
    if customer_reach:
        # ids first, from the (entity, customer, open amount) index: only what is within reach is read whole
        for customer_id, pk, open_minor in Document.objects.filter(
            entity_id=entity_id,
            status=Document.Status.ISSUED,
            customer_id__any=frozenset(customer_reach),
            open_minor__gt=0,
            open_minor__lte=max(customer_reach.values()),
        ).values_list("customer_id", "pk", "open_minor"):
            if open_minor <= customer_reach[customer_id]:
                wanted.add(pk)
    documents = locks.document_qs_for_update() if lock else Document.objects.all()
    rows = documents.filter(
        pk__any=frozenset(wanted), entity_id=entity_id, status=Document.Status.ISSUED
    ).values_list(*_OPEN_ITEM_FIELDS)
    items = {row[0]: OpenItem(*row) for row in rows}
    by_customer: dict[int, list[OpenItem]] = {}
    for item in items.values():
        if 0 < item.open_minor <= customer_reach.get(item.customer_id, 0):
            by_customer.setdefault(item.customer_id, []).append(item)
    customer_items = {
        customer_id: [item.id for item in sorted(found, key=lambda item: (item.due_date, item.id))[:limit]]
        for customer_id, found in by_customer.items()
    }
    return items, customer_items


def numbered_open_items_without(*, entity_id: int, indexed: QuerySet[Any]) -> QuerySet[Document]:
    """Open issued documents of the entity that no row of `indexed` (rows with a `document_id`) names.
    NOT EXISTS, not NOT IN: PostgreSQL runs it as an anti-join, where NOT IN over millions of ids that
    do not fit work_mem would rescan the subquery for every document."""
    return (
        Document.objects.filter(entity_id=entity_id, status=Document.Status.ISSUED)
        .exclude(open_minor=0)
        .exclude(Exists(indexed.filter(document_id=OuterRef("pk"))))
        .only("pk", "number")
    )


def cash_applied_by_payment(*, payment_ids: list[int] | None = None) -> dict[int, int]:
    """Net cash each payment settled (its payment allocations less their reversals)."""
    allocations = Allocation.objects.filter(payment_id__isnull=False, kind=Allocation.Kind.PAYMENT)
    if payment_ids is not None:
        allocations = allocations.filter(payment_id__in=payment_ids)
    return {
        row["payment_id"]: row["total"]
        for row in allocations.values("payment_id").annotate(total=Sum("amount_minor")).order_by()
    }


def currencies_of(*, document_ids: set[int]) -> dict[int, str]:
    """Each document's currency (documents that do not exist are left out)."""
    return dict(Document.objects.filter(pk__in=document_ids).values_list("pk", "currency"))


def write_offs_between(*, entity_id: int, after: date, through: date) -> list[tuple[int, date, int]]:
    """The write-off allocations of the entity posted after `after` and on or before `through` as
    (document id, posting date, amount minor), a reversal with its negative amount."""
    return list(
        Allocation.objects.filter(
            entity_id=entity_id,
            kind=Allocation.Kind.WRITE_OFF,
            posting_date__gt=after,
            posting_date__lte=through,
        )
        .order_by("pk")
        .values_list("document_id", "posting_date", "amount_minor")
    )
