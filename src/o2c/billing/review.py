"""Reads for the billing analyst's screens: the review of a run date, a subscription's history, runs.

Pure reads, as frozen read models. The review of a run date compares what billing runs bill in the
month of the date with what they billed in the month before, per currency and per bill-to customer:

- *this period*: the billing drafts awaiting issue (a preview's invoices, issue date up to the run
  date), plus the billing documents issued in the month of the run date up to that date (an issuing
  run's invoices);
- *previous period*: the billing documents issued with an issue date in the previous month.

Billing documents are those a run made (origin `automated` or `consolidated`); credit memos a run made
for amendments and cancellations count with their negative totals, so the figures are what was billed
net. Amounts are integer minor units per currency; nothing is converted between currencies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Q, QuerySet, Sum

from o2c.billing.models import BilledLine, BillingRun, Subscription, SubscriptionTerm
from o2c.customers.models import Customer
from o2c.receivables.models import Document

BILLING_ORIGINS = (Document.Origin.AUTOMATED, Document.Origin.CONSOLIDATED)
DRAFTS_SHOWN = 100
CONTRACTS_SHOWN = 100
BIGGEST_CHANGES = 10


@dataclass(frozen=True)
class Period:
    """Closed: `start` and `end` inclusive."""

    start: date
    end: date


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    count: int
    total_minor: int


@dataclass(frozen=True)
class DraftRow:
    document_id: int
    document_type: str
    origin: str
    customer_id: int
    customer_number: str
    customer_name: str
    currency: str
    issue_date: date
    net_minor: int
    tax_minor: int
    total_minor: int


@dataclass(frozen=True)
class Comparison:
    """One currency: this period (pending drafts + issued) against the previous period."""

    currency: str
    pending_minor: int
    issued_minor: int
    current_minor: int
    previous_minor: int
    change_minor: int
    change_percent: Decimal | None  # None when nothing was billed in the previous period


@dataclass(frozen=True)
class CustomerChange:
    customer_id: int
    customer_number: str
    customer_name: str
    currency: str
    current_minor: int
    previous_minor: int
    change_minor: int


@dataclass(frozen=True)
class ContractRow:
    subscription_id: int
    number: str
    customer_number: str
    customer_name: str
    bill_to_number: str
    currency: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class RunError:
    subscription_id: int | None  # None when the subscription is no longer found
    subscription_number: str
    message: str


@dataclass(frozen=True)
class BillingReview:
    entity_id: int
    as_of: date
    period: Period
    previous_period: Period
    drafts: tuple[DraftRow, ...]  # the first DRAFTS_SHOWN
    draft_count: int
    draft_totals: tuple[CurrencyTotal, ...]
    comparison: tuple[Comparison, ...]
    changes: tuple[CustomerChange, ...]
    new_contracts: tuple[ContractRow, ...]  # the first CONTRACTS_SHOWN
    new_contract_count: int
    ended_contracts: tuple[ContractRow, ...]
    ended_contract_count: int
    latest_run: BillingRun | None
    running: BillingRun | None  # the newest run still marked running, if any
    exceptions: tuple[RunError, ...]


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    return Period(start, start + relativedelta(months=1) - timedelta(days=1))


def previous_month_of(day: date) -> Period:
    return month_of(day.replace(day=1) - timedelta(days=1))


def _billing_documents(entity_id: int) -> QuerySet[Document]:
    return Document.objects.filter(entity_id=entity_id, origin__in=BILLING_ORIGINS)


def _pending(entity_id: int, as_of: date) -> QuerySet[Document]:
    """What an issuing run on `as_of` would issue first: the billing drafts dated up to that day."""
    return _billing_documents(entity_id).filter(status=Document.Status.DRAFT, issue_date__lte=as_of)


def _issued_between(entity_id: int, first: date, last: date) -> QuerySet[Document]:
    return _billing_documents(entity_id).filter(
        status=Document.Status.ISSUED, issue_date__gte=first, issue_date__lte=last
    )


def _by_currency(documents: QuerySet[Document]) -> dict[str, tuple[int, int]]:
    """(count, sum of total_minor) per currency; integer sums, exact on every database."""
    rows = documents.order_by().values("currency").annotate(n=Count("pk"), total=Sum("total_minor"))
    return {row["currency"]: (int(row["n"]), int(row["total"] or 0)) for row in rows}


def _by_customer(documents: QuerySet[Document]) -> dict[tuple[int, str], int]:
    """The sum of total_minor per (customer, currency)."""
    rows = documents.order_by().values("customer_id", "currency").annotate(total=Sum("total_minor"))
    return {(row["customer_id"], row["currency"]): int(row["total"] or 0) for row in rows}


def _percent(change: int, previous: int) -> Decimal | None:
    if previous == 0:
        return None
    return (Decimal(change) * 100 / abs(previous)).quantize(Decimal("0.1"))


def billing_review(*, entity_id: int, as_of: date) -> BillingReview:
    """Everything the run review page shows for one legal entity and run date."""
    period = month_of(as_of)
    previous = previous_month_of(as_of)
    pending = _pending(entity_id, as_of)
    issued = _issued_between(entity_id, period.start, as_of)
    before = _issued_between(entity_id, previous.start, previous.end)

    draft_sums = _by_currency(pending)
    draft_totals = tuple(
        CurrencyTotal(currency=currency, count=n, total_minor=total)
        for currency, (n, total) in sorted(draft_sums.items())
    )
    drafts = tuple(
        DraftRow(
            document_id=d.pk,
            document_type=d.document_type,
            origin=d.origin,
            customer_id=d.customer_id,
            customer_number=d.customer.number,
            customer_name=d.customer.name,
            currency=d.currency,
            issue_date=d.issue_date,
            net_minor=d.net_minor,
            tax_minor=d.tax_minor,
            total_minor=d.total_minor,
        )
        for d in pending.select_related("customer").order_by("pk")[:DRAFTS_SHOWN]
    )

    issued_sums = _by_currency(issued)
    previous_sums = _by_currency(before)
    comparison: list[Comparison] = []
    for currency in sorted({*draft_sums, *issued_sums, *previous_sums}):
        pending_minor = draft_sums.get(currency, (0, 0))[1]
        issued_minor = issued_sums.get(currency, (0, 0))[1]
        previous_minor = previous_sums.get(currency, (0, 0))[1]
        current = pending_minor + issued_minor
        comparison.append(
            Comparison(
                currency=currency,
                pending_minor=pending_minor,
                issued_minor=issued_minor,
                current_minor=current,
                previous_minor=previous_minor,
                change_minor=current - previous_minor,
                change_percent=_percent(current - previous_minor, previous_minor),
            )
        )

    return BillingReview(
        entity_id=entity_id,
        as_of=as_of,
        period=period,
        previous_period=previous,
        drafts=drafts,
        draft_count=sum(t.count for t in draft_totals),
        draft_totals=draft_totals,
        comparison=tuple(comparison),
        changes=_biggest_changes(pending, issued, before),
        new_contracts=_contracts(entity_id, Q(start_date__gte=period.start, start_date__lte=period.end)),
        new_contract_count=Subscription.objects.filter(
            entity_id=entity_id, start_date__gte=period.start, start_date__lte=period.end
        ).count(),
        ended_contracts=_contracts(entity_id, Q(end_date__gte=period.start, end_date__lte=period.end)),
        ended_contract_count=Subscription.objects.filter(
            entity_id=entity_id, end_date__gte=period.start, end_date__lte=period.end
        ).count(),
        latest_run=_runs(entity_id).first(),
        running=_runs(entity_id).filter(status=BillingRun.Status.RUNNING).first(),
        exceptions=_exceptions(entity_id),
    )


def _biggest_changes(
    pending: QuerySet[Document], issued: QuerySet[Document], before: QuerySet[Document]
) -> tuple[CustomerChange, ...]:
    current: dict[tuple[int, str], int] = defaultdict(int)
    for source in (pending, issued):
        for key, total in _by_customer(source).items():
            current[key] += total
    previous = _by_customer(before)
    deltas = [
        (key, current.get(key, 0), previous.get(key, 0))
        for key in set(current) | set(previous)
        if current.get(key, 0) != previous.get(key, 0)
    ]
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in={key[0] for key, _, _ in deltas}).only("pk", "number", "name")
    }
    deltas.sort(key=lambda d: (-abs(d[1] - d[2]), customers[d[0][0]].number, d[0][1]))
    return tuple(
        CustomerChange(
            customer_id=customer_id,
            customer_number=customers[customer_id].number,
            customer_name=customers[customer_id].name,
            currency=currency,
            current_minor=now_minor,
            previous_minor=then_minor,
            change_minor=now_minor - then_minor,
        )
        for (customer_id, currency), now_minor, then_minor in deltas[:BIGGEST_CHANGES]
    )


def _contracts(entity_id: int, when: Q) -> tuple[ContractRow, ...]:
    rows = (
        Subscription.objects.filter(when, entity_id=entity_id)
        .select_related("customer", "bill_to")
        .order_by("start_date", "number")[:CONTRACTS_SHOWN]
    )
    return tuple(
        ContractRow(
            subscription_id=s.pk,
            number=s.number,
            customer_number=s.customer.number,
            customer_name=s.customer.name,
            bill_to_number=s.bill_to.number,
            currency=s.currency,
            start_date=s.start_date,
            end_date=s.end_date,
        )
        for s in rows
    )


def _runs(entity_id: int) -> QuerySet[BillingRun]:
    return BillingRun.objects.filter(entity_id=entity_id).select_related("started_by").order_by("-pk")


def _exceptions(entity_id: int) -> tuple[RunError, ...]:
    """The errors of the entity's latest finished run: the subscriptions it could not bill."""
    latest = _runs(entity_id).exclude(status=BillingRun.Status.RUNNING).first()
    if latest is None or not latest.errors:
        return ()
    numbers = [str(e.get("subscription_number", "")) for e in latest.errors]
    ids = dict(
        Subscription.objects.filter(entity_id=entity_id, number__in=numbers).values_list("number", "pk")
    )
    return tuple(
        RunError(
            subscription_id=ids.get(str(e.get("subscription_number", ""))),
            subscription_number=str(e.get("subscription_number", "")),
            message=str(e.get("message", "")),
        )
        for e in latest.errors
    )


# --- a subscription's history ---------------------------------------------------------------------


@dataclass(frozen=True)
class TermRow:
    effective_from: date
    effective_to: date | None  # the day before the next term; None for the term in force
    product_code: str
    product_name: str
    billing_period: str
    timing: str
    metric: str
    quantity: Decimal
    discount_percent: Decimal
    reason: str


@dataclass(frozen=True)
class BilledRow:
    period_start: date
    service_start: date
    service_end: date
    amount_minor: int  # signed net: a credit is negative
    quantity: Decimal
    tax_rate: Decimal
    document_id: int
    document_number: str | None  # None while the document is a draft
    document_type: str
    document_status: str
    run_id: int


@dataclass(frozen=True)
class BilledPeriod:
    period_start: date
    net_minor: int
    lines: tuple[BilledRow, ...]


@dataclass(frozen=True)
class SubscriptionDetail:
    subscription: Subscription  # with entity, customer and bill_to loaded
    terms: tuple[TermRow, ...]
    periods: tuple[BilledPeriod, ...]  # newest period first
    billed_net_minor: int


def subscription_detail(
    *,
    entity_ids: list[int],
    subscription_id: int | None = None,
    number: str | None = None,
    entity_code: str | None = None,
) -> SubscriptionDetail:
    """A subscription of the granted entities by id, or by number (and entity code where the number
    exists in several): its terms over time and what each period billed, with the documents.
    Raises Subscription.DoesNotExist, or MultipleObjectsReturned for an ambiguous number."""
    found = Subscription.objects.filter(entity_id__in=entity_ids).select_related(
        "entity", "customer", "bill_to"
    )
    if subscription_id is not None:
        found = found.filter(pk=subscription_id)
    if number is not None:
        found = found.filter(number=number)
    if entity_code:
        found = found.filter(entity__code=entity_code)
    subscription = found.get()
    terms = list(
        SubscriptionTerm.objects.filter(subscription=subscription)
        .select_related("product")
        .order_by("effective_from")
    )
    term_rows = tuple(
        TermRow(
            effective_from=term.effective_from,
            effective_to=(
                terms[index + 1].effective_from - timedelta(days=1) if index + 1 < len(terms) else None
            ),
            product_code=term.product.code,
            product_name=term.product.name,
            billing_period=term.product.billing_period,
            timing=term.product.timing,
            metric=term.product.metric,
            quantity=term.quantity,
            discount_percent=term.discount_percent,
            reason=term.reason,
        )
        for index, term in enumerate(terms)
    )
    by_period: dict[date, list[BilledRow]] = defaultdict(list)
    for line in (
        BilledLine.objects.filter(subscription=subscription)
        .select_related("document")
        .order_by("-period_start", "pk")
    ):
        by_period[line.period_start].append(
            BilledRow(
                period_start=line.period_start,
                service_start=line.service_start,
                service_end=line.service_end,
                amount_minor=line.amount_minor,
                quantity=line.quantity,
                tax_rate=line.tax_rate,
                document_id=line.document_id,
                document_number=line.document.number,
                document_type=line.document.document_type,
                document_status=line.document.status,
                run_id=line.run_id,
            )
        )
    periods = tuple(
        BilledPeriod(period_start=start, net_minor=sum(r.amount_minor for r in rows), lines=tuple(rows))
        for start, rows in by_period.items()
    )
    return SubscriptionDetail(
        subscription=subscription,
        terms=term_rows,
        periods=periods,
        billed_net_minor=sum(p.net_minor for p in periods),
    )


def subscription_current_terms(subscription_ids: list[int]) -> dict[int, SubscriptionTerm]:
    """The latest term of each subscription (with its product), for lists."""
    current: dict[int, SubscriptionTerm] = {}
    for term in (
        SubscriptionTerm.objects.filter(subscription_id__in=subscription_ids)
        .select_related("product")
        .order_by("subscription_id", "effective_from")
    ):
        current[term.subscription_id] = term
    return current


# --- runs ------------------------------------------------------------------------------------------


def run_list(*, entity_ids: list[int], entity_code: str | None = None) -> QuerySet[BillingRun]:
    """Billing runs of the granted entities, newest first, with their entity and who started them."""
    found = BillingRun.objects.filter(entity_id__in=entity_ids).select_related("entity", "started_by")
    if entity_code:
        found = found.filter(entity__code=entity_code)
    return found.order_by("-pk")
