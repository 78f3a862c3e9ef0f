"""Revenue schedules: billing in advance defers revenue and releases it month by month (ratably, as
ASC 606 / IFRS 15 require for services delivered over time).

When a billing document is issued, each line whose service period runs past the issue month gets a
schedule: its net spread over the service days, summed per month (parts add up to the line). The
parts of later months move from revenue to deferred revenue in one entry on the issue date; each
month's part is released back to revenue on the month's first day by `recognize`. A credit memo's
lines carry negative schedules, so cancelling a prepaid service also undoes its deferral.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Sum

from o2c.billing import rating
from o2c.billing.models import RevenueRelease, RevenueSchedule
from o2c.core.money import allocate
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger import services as ledger_services
from o2c.ledger.models import AccountType, LegalEntity
from o2c.ledger.rules import LineIn as PostingLine
from o2c.receivables.models import Document, DocumentLine


def month_parts(amount_minor: int, first: date, last: date) -> list[tuple[date, int]]:
    """A line's net spread over its service days, summed per calendar month; the parts sum to it."""
    months = rating.periods_overlapping(first, last, "month")
    days = [(min(m.end, last) - max(m.start, first)).days + 1 for m in months]
    return list(zip([m.start for m in months], allocate(amount_minor, days), strict=True))


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _side(
    account_id: int,
    currency: str,
    amount: int,
    *,
    customer_id: int | None = None,
    document_id: int | None = None,
) -> PostingLine:
    # a positive amount is a debit
    return PostingLine(
        account_id=account_id,
        currency=currency,
        debit_minor=max(amount, 0),
        credit_minor=max(-amount, 0),
        customer_id=customer_id,
        document_id=document_id,
    )


def defer_documents(*, documents: Sequence[Document], now: datetime, created_by_id: int | None = None) -> int:
    """Schedule issued billing documents' lines and defer the parts after each one's issue month.

    Returns how many documents deferred revenue. Runs inside the issuing transaction."""
    by_id = {document.pk: document for document in documents}
    lines = (
        DocumentLine.objects.filter(
            document_id__in=by_id, period_start__isnull=False, period_end__isnull=False
        )
        .order_by("document_id", "position")
        .values_list("document_id", "position", "net_minor", "period_start", "period_end")
    )
    schedules: list[RevenueSchedule] = []
    parts_of: list[list[tuple[date, int]]] = []
    deferred: dict[int, int] = defaultdict(int)
    for document_id, position, net_minor, first, last in lines:
        if first is None or last is None:
            continue
        document = by_id[document_id]
        issue_month = document.issue_date.replace(day=1)
        if last < _next_month(issue_month):
            continue  # served by the end of the issue month: nothing to defer
        sign = -1 if document.total_minor < 0 else 1
        later = [
            (month, part)
            for month, part in month_parts(sign * net_minor, first, last)
            if month > issue_month and part != 0
        ]
        if not later:
            continue
        schedules.append(
            RevenueSchedule(
                document_id=document_id,
                line_position=position,
                customer_id=document.customer_id,
                currency=document.currency,
                amount_minor=sign * net_minor,
                service_start=first,
                service_end=last,
            )
        )
        parts_of.append(later)
        deferred[document_id] += sum(part for _, part in later)
    if not schedules:
        return 0
    RevenueSchedule.objects.bulk_create(schedules, batch_size=5_000)
    RevenueRelease.objects.bulk_create(
        [
            RevenueRelease(schedule=schedule, month=month, currency=schedule.currency, amount_minor=part)
            for schedule, later in zip(schedules, parts_of, strict=True)
            for month, part in later
        ],
        batch_size=5_000,
    )
    entries: dict[int, list[ledger_services.EntryIn]] = defaultdict(list)
    entities: dict[int, LegalEntity] = {}
    for document_id, amount in deferred.items():
        document = by_id[document_id]
        if not amount:
            continue
        if document.entity_id not in entities:
            entities[document.entity_id] = document.entity
        entity = entities[document.entity_id]
        revenue = ledger_selectors.account_id_for(entity=entity, type=AccountType.REVENUE)
        deferred_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.DEFERRED_REVENUE)
        customer, currency = document.customer_id, document.currency
        entries[entity.pk].append(
            ledger_services.EntryIn(
                posting_date=document.issue_date,
                description=f"Revenue deferred: {document.number}",
                source_type="document",
                source_id=document.pk,
                idempotency_key=f"revenue-deferral:{document.pk}",
                lines=[
                    _side(revenue, currency, amount, customer_id=customer, document_id=document.pk),
                    _side(deferred_id, currency, -amount, customer_id=customer, document_id=document.pk),
                ],
            )
        )
    for entity_id, entity_entries in entries.items():
        ledger_services.journal_entries_post_bulk(
            entity=entities[entity_id], entries=entity_entries, now=now, created_by_id=created_by_id
        )
    return len(deferred)


@dataclass(frozen=True)
class Recognised:
    entries: int
    releases: int


def recognize(*, entity: LegalEntity, as_of: date, now: datetime) -> Recognised:
    """Release every month's deferred revenue due by `as_of`: one entry per month and currency, with a
    line per customer, so the deferred balance stays traceable to customers and documents."""
    entries = released = 0
    revenue = ledger_selectors.account_id_for(entity=entity, type=AccountType.REVENUE)
    deferred_id = ledger_selectors.account_id_for(entity=entity, type=AccountType.DEFERRED_REVENUE)
    due_months = (
        RevenueRelease.objects.filter(released=False, month__lte=as_of, schedule__document__entity=entity)
        .values_list("month", "currency")
        .distinct()
        .order_by("month", "currency")
    )
    for month, currency in list(due_months):
        with transaction.atomic():
            due = list(
                RevenueRelease.objects.select_for_update()
                .filter(
                    released=False,
                    month=month,
                    currency=currency,
                    schedule__document__entity=entity,
                )
                .select_related("schedule")
                .order_by("pk")
            )
            if not due:
                continue
            per_customer: dict[int, int] = defaultdict(int)
            for release in due:
                per_customer[release.schedule.customer_id] += release.amount_minor
            lines = [
                _side(deferred_id, currency, amount, customer_id=customer_id)
                for customer_id, amount in sorted(per_customer.items())
                if amount
            ]
            total = sum(per_customer.values())
            if total:
                lines.append(_side(revenue, currency, -total))
            if lines:
                ledger_services.journal_entry_post(
                    entity=entity,
                    lines=lines,
                    posting_date=month,
                    description=f"Revenue released for {month:%Y-%m} ({currency})",
                    source_type="revenue_release",
                    source_id=due[0].pk,
                    idempotency_key=f"revenue-release:{entity.pk}:{currency}:{month}:{due[-1].pk}",
                    now=now,
                )
                entries += 1
            RevenueRelease.objects.filter(pk__in=[r.pk for r in due]).update(released=True)
            released += len(due)
    return Recognised(entries, released)


@dataclass(frozen=True)
class DeferredBalance:
    customer_id: int
    currency: str
    amount_minor: int  # positive: revenue still to be recognised


def deferred_balances(*, entity: LegalEntity, as_of: date) -> list[DeferredBalance]:
    """Deferred revenue per customer and currency as of a date, from the schedules: the parts of
    months after the date, of documents issued by then."""
    rows = (
        RevenueRelease.objects.filter(
            schedule__document__entity=entity,
            schedule__document__issue_date__lte=as_of,
            month__gt=as_of,
        )
        .values("schedule__customer_id", "schedule__currency")
        .annotate(total=Sum("amount_minor"))
        .order_by("schedule__customer_id", "schedule__currency")
    )
    return [
        DeferredBalance(row["schedule__customer_id"], row["schedule__currency"], row["total"])
        for row in rows
        if row["total"]
    ]
