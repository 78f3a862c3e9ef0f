"""Reads of the open-item subledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet, Sum

from o2c.receivables import calculations
from o2c.receivables.models import Allocation, Document


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
        Document.objects.select_related("customer", "entity", "corrects", "series")
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
