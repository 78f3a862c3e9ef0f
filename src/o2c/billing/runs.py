"""Billing runs: bill every subscription period due by a date, one invoice per bill-to customer and
currency, and optionally issue and post them.

Idempotent and resumable by construction: bill-to customers are billed in chunks, each chunk one
transaction that also records what it billed (`BilledLine`), moves the subscriptions' `billed_through`
and, when the run issues, numbers and posts the chunk's documents; earlier previews' drafts are issued
in chunks of their own first. A run killed at any point leaves only whole chunks billed and issued, so
running again finishes the work without billing or numbering anything twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Max, QuerySet, Sum, When
from django.db.models.functions import Cast
from django.utils import translation
from django.utils.translation import gettext as _

from o2c.audit.models import AuditEvent
from o2c.billing import delivery, rating, revenue, selectors
from o2c.billing.errors import UnableToBill
from o2c.billing.models import (
    Aggregation,
    BilledLine,
    BillingPeriod,
    BillingRun,
    Price,
    Product,
    Subscription,
    SubscriptionTerm,
    Timing,
    UsageEvent,
)
from o2c.core import events
from o2c.core.actors import actor_id
from o2c.core.db import insert_new_rows, update_rows
from o2c.core.exceptions import DomainError
from o2c.core.formatting import date_human
from o2c.core.keychecks import KeyChecks
from o2c.core.models import DomainEvent
from o2c.core.money import Money
from o2c.customers.models import Customer
from o2c.ledger.models import JournalEntry, JournalLine, LegalEntity
from o2c.receivables import bulk
from o2c.receivables import services as receivable_services
from o2c.receivables.bulk import DraftIn
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document, DocumentLine, DocumentType, TaxLine

BILLING_ORIGINS = (Document.Origin.AUTOMATED, Document.Origin.CONSOLIDATED)
# the tables a chunk writes many rows into: their foreign keys are checked once per chunk (KeyChecks)
CHUNK_TABLES = (
    Document,
    DocumentLine,
    TaxLine,
    BilledLine,
    JournalEntry,
    JournalLine,
    AuditEvent,
    DomainEvent,
)


@dataclass(frozen=True)
class RatedLine:
    subscription_id: int
    subscription_number: str
    customer_id: int
    product_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int  # signed: a negative amount credits what an earlier document billed
    period_start: date  # the calendar period's first day: the key of what was billed
    service_start: date
    service_end: date
    tax_category: str  # the product's (standard, reduced, ...)
    credits_document_id: int | None = None
    credits_tax_rate: Decimal | None = None
    credits_tax_code: str | None = None
    po_number: str = ""


@dataclass(frozen=True)
class RunLine:
    product_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class RunDocument:
    document_id: int
    document_type: str
    number: str | None
    customer_number: str
    currency: str
    net_minor: int
    tax_minor: int
    total_minor: int
    lines: tuple[RunLine, ...]


@dataclass
class RunResult:
    run_id: int
    as_of: date
    documents: list[RunDocument] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Billed:
    amount_minor: int
    last_document_id: int | None  # the latest charge: what a credit for the period corrects
    last_tax_rate: Decimal | None
    last_tax_code: str | None
    service_end: date  # the last day billed in the period so far
    # per document and tax rate that charged the period, latest first: (document, tax rate, tax code,
    # what it still holds for the period); a credit larger than the latest charge also corrects earlier ones
    charges: tuple[tuple[int, Decimal, str, int], ...] = ()


def billing_run(
    *,
    entity: LegalEntity,
    as_of: date,
    issue: bool,
    actor: User | None,
    now: datetime,
    on_progress: Callable[[str, int, int], None] | None = None,
    deliver: bool = True,
) -> RunResult:
    """Bill what is due by `as_of`; with `issue`, number and post every billing draft up to that date.
    Issued invoices are rendered and e-mailed after commit unless `deliver` is false (invoices to
    made-up customers, as in the demo) or the installation turns delivery off."""
    run = BillingRun.objects.create(
        entity=entity,
        as_of=as_of,
        issue=issue,
        started_at=now,
        started_by=actor if actor is not None and actor.is_authenticated else None,
    )
    result = RunResult(run_id=run.pk, as_of=as_of)
    issued: list[int] = []
    if issue:  # the drafts of earlier previews first, so the credits that correct them can follow
        issued += _issue_drafts(
            entity=entity, as_of=as_of, actor=actor, now=now, on_progress=on_progress, deliver=deliver
        )
    created, built = _bill(
        run=run,
        entity=entity,
        as_of=as_of,
        actor=actor,
        now=now,
        result=result,
        on_progress=on_progress,
        issue=issue,
        deliver=deliver,
    )
    if issue:  # the run's own documents were issued as they were billed
        issued += created
        revenue.recognize(entity=entity, as_of=as_of, now=now)
    listed = issued if issue else created
    read = {
        document.document_id: document for document in run_documents(pk for pk in listed if pk not in built)
    }
    result.documents = [built[pk] if pk in built else read[pk] for pk in listed]
    totals: dict[str, int] = defaultdict(int)
    for document in result.documents:
        totals[document.currency] += document.total_minor
    BillingRun.objects.filter(pk=run.pk).update(
        status=BillingRun.Status.COMPLETED,
        finished_at=now,
        invoices_created=len(created),
        invoices_issued=len(issued),
        totals=dict(totals),
        errors=[{"subscription_number": n, "message": m} for n, m in result.errors],
    )
    return result


def _candidate_qs(entity: LegalEntity, as_of: date) -> QuerySet[Subscription]:
    """Subscriptions that may have something due: started, and not billed to their end, or re-rated."""
    return Subscription.objects.filter(entity=entity, start_date__lte=as_of).exclude(
        billed_through__isnull=False, rerate_from__isnull=True, billed_through__gte=F("end_date")
    )


# Bookkeeping timestamps a run never reads: PostgreSQL's timestamps cost more to load than the other
# columns together (a run loads every candidate with its bill-to customer and terms).
_UNREAD = ("created_at", "updated_at")


def _candidates(entity: LegalEntity, as_of: date) -> list[Subscription]:
    """The candidates in bill-to customer, currency and number order, each with its bill-to customer
    (one instance per customer, loaded once)."""
    subscriptions = _candidate_qs(entity, as_of)
    found = list(subscriptions.defer(*_UNREAD).order_by("bill_to__number", "currency", "number"))
    bill_to = Customer.objects.filter(pk__in=subscriptions.values("bill_to_id")).defer(*_UNREAD).in_bulk()
    missing = {s.bill_to_id for s in found} - bill_to.keys()  # a bill-to changed between the two reads
    if missing:
        bill_to |= Customer.objects.defer(*_UNREAD).in_bulk(missing)
    for subscription in found:
        subscription.bill_to = bill_to[subscription.bill_to_id]
    return found


def _bill(
    *,
    run: BillingRun,
    entity: LegalEntity,
    as_of: date,
    actor: User | None,
    now: datetime,
    result: RunResult,
    on_progress: Callable[[str, int, int], None] | None,
    issue: bool,
    deliver: bool,
) -> tuple[list[int], dict[int, RunDocument]]:
    """Bill the candidates in chunks of bill-to customers, each chunk one transaction; a chunk that a
    document refuses is billed again customer by customer, so one bad customer stops only itself.
    With `issue`, each chunk's documents are numbered and posted in its transaction. Returns the
    documents made, in order, and those of them the run could describe from memory."""
    candidates = _candidates(entity, as_of)
    context = _Context(
        run=run,
        entity=entity,
        catalogue=_Catalogue(entity),
        terms=_terms_of(_candidate_qs(entity, as_of)),
        usage={},
        tax_for=selectors.TaxResolver(entity),
        as_of=as_of,
        actor=actor,
        now=now,
        issue=issue,
        deliver=deliver,
    )
    context.usage.update(_usage(candidates, context.terms, context.catalogue, as_of))
    groups = [list(g) for _, g in groupby(candidates, key=lambda s: (s.bill_to_id, s.currency))]
    created: list[int] = []
    built: dict[int, RunDocument] = {}
    billed_subscriptions = 0
    size = settings.O2C_BILLING_BATCH
    for offset in range(0, len(groups), size):
        chunk = groups[offset : offset + size]
        try:
            with transaction.atomic(), KeyChecks(connection, CHUNK_TABLES):
                errors: list[tuple[str, str]] = []
                documents, count, described = _bill_chunk(context, chunk, errors)
            result.errors.extend(errors)
        except DomainError:
            documents, count, described = [], 0, {}
            for group in chunk:
                try:
                    with transaction.atomic(), KeyChecks(connection, CHUNK_TABLES):
                        errors = []
                        one, one_count, one_described = _bill_chunk(context, [group], errors)
                    result.errors.extend(errors)
                except DomainError as error:
                    result.errors.extend((s.number, error.message) for s in group)
                    one, one_count, one_described = [], 0, {}
                documents += one
                count += one_count
                described |= one_described
        created += documents
        built |= described
        billed_subscriptions += count
        if on_progress:
            on_progress("billing", min(offset + size, len(groups)), len(groups))
    BillingRun.objects.filter(pk=run.pk).update(subscriptions_billed=billed_subscriptions)
    return created, built


@dataclass
class _Context:
    run: BillingRun
    entity: LegalEntity
    catalogue: _Catalogue
    terms: dict[int, list[SubscriptionTerm]]
    usage: dict[tuple[int, date], int]
    tax_for: selectors.TaxResolver
    as_of: date
    actor: User | None
    now: datetime
    issue: bool = False
    deliver: bool = True


class _Catalogue:
    def __init__(self, entity: LegalEntity) -> None:
        self.products = {p.pk: p for p in Product.objects.filter(entity=entity)}
        self.prices: dict[tuple[int, str], rating.PriceDefinition] = {}
        for price in Price.objects.filter(product__entity=entity):
            self.prices[(price.product_id, price.currency)] = rating.PriceDefinition(
                price_model=price.price_model,
                currency=price.currency,
                unit_price=price.unit_price,
                tiers=rating.parse_tiers(price.tiers) if price.tiers else (),
                minimum_minor=price.minimum_minor,
            )

    def price(self, product_id: int, currency: str) -> rating.PriceDefinition:
        found = self.prices.get((product_id, currency))
        if found is None:
            raise rating.UnableToRate(f"product {self.products[product_id].code} has no price in {currency}")
        return found


def _terms_of(subscriptions: list[int] | QuerySet[Subscription]) -> dict[int, list[SubscriptionTerm]]:
    """Each subscription's terms in date order, for a list of ids or for a query's subscriptions."""
    terms: dict[int, list[SubscriptionTerm]] = defaultdict(list)
    found = SubscriptionTerm.objects.defer("created_at").order_by("subscription_id", "effective_from")
    if isinstance(subscriptions, QuerySet):
        for term in found.filter(subscription__in=subscriptions):
            terms[term.subscription_id].append(term)
        return terms
    for offset in range(0, len(subscriptions), 5_000):
        for term in found.filter(subscription_id__in=subscriptions[offset : offset + 5_000]):
            terms[term.subscription_id].append(term)
    return terms


def _usage(
    candidates: list[Subscription],
    terms: dict[int, list[SubscriptionTerm]],
    catalogue: _Catalogue,
    as_of: date,
) -> dict[tuple[int, date], int]:
    """The aggregated quantity (millionths) per metered subscription and period: grouped queries over
    the periods a run can still bill (none before the earliest unbilled or re-rated one); sums and
    maxima in one pass, distinct counts (which must sort) only for the metrics that count."""
    # per metered subscription, each term's first day of service and aggregation: a period's usage is
    # aggregated as the term it is rated at says (the one in force on its first day; an upgrade may
    # change the aggregation), not as the latest term says
    metered: dict[int, list[tuple[date, str]]] = {}
    since: date | None = None
    for subscription in candidates:
        if not terms.get(subscription.pk):
            continue
        product = catalogue.products[terms[subscription.pk][-1].product_id]
        if product.metric:
            metered[subscription.pk] = [
                (
                    max(term.effective_from, subscription.start_date),
                    catalogue.products[term.product_id].aggregation,
                )
                for term in terms[subscription.pk]
            ]
            first = rating.period_of(_first_day(subscription), product.billing_period).start
            since = first if since is None or first < since else since
    if not metered or since is None:
        return {}
    found: dict[tuple[int, date], int] = {}
    counting = sorted(
        pk for pk, kinds in metered.items() if any(k == Aggregation.UNIQUE_COUNT for _, k in kinds)
    )
    adding = sorted(
        pk for pk, kinds in metered.items() if any(k != Aggregation.UNIQUE_COUNT for _, k in kinds)
    )
    distinct_value = Case(
        When(unique_key="", then=Cast("quantity_micro", CharField())), default=F("unique_key")
    )
    entity_id = candidates[0].entity_id
    for ids, aggregates in (
        (adding, {"total": Sum("quantity_micro"), "peak": Max("quantity_micro")}),
        (counting, {"unique": Count(distinct_value, distinct=True)}),
    ):
        for rows in _usage_rows(entity_id, ids, aggregates, since, as_of):
            for row in rows:
                kinds = metered.get(row["subscription_id"])
                if kinds is None:
                    continue  # not a candidate (read by the entity-wide query)
                served = max(row["period_start"], kinds[0][0])
                aggregation = [k for day, k in kinds if day <= served][-1]
                if (aggregation == Aggregation.UNIQUE_COUNT) != ("unique" in row):
                    continue  # the period is aggregated by the other query
                if aggregation == Aggregation.UNIQUE_COUNT:
                    value = row["unique"] * 1_000_000  # a count of whole units
                else:
                    value = row["peak"] if aggregation == Aggregation.MAX else row["total"]
                found[(row["subscription_id"], row["period_start"])] = int(value or 0)
    return found


# Above this many subscriptions, sums and maxima are read for the whole entity in one query: a
# parallel sequential scan reads each page once, where lookups by subscription visit one heap page per
# event (a subscription's events lie scattered between everyone else's).
_ENTITY_WIDE_FROM = 5_000


def _usage_rows(
    entity_id: int, ids: list[int], aggregates: dict[str, Any], since: date, as_of: date
) -> Iterator[Iterable[dict[str, Any]]]:
    """Grouped usage per (subscription, period) in the date range: by chunks of ids, or for the whole
    entity when there are many ids and no distinct count (which must sort every event)."""
    in_range = UsageEvent.objects.filter(period_start__gte=since, period_start__lte=as_of)
    if len(ids) > _ENTITY_WIDE_FROM and "unique" not in aggregates:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # one hash table for all groups, not batches on disk
                    cursor.execute("SET LOCAL work_mem = '128MB'")
            yield list(
                in_range.filter(entity_id=entity_id)
                .values("subscription_id", "period_start")
                .annotate(**aggregates)
                .order_by()
            )
        return
    for offset in range(0, len(ids), 5_000):
        yield (
            in_range.filter(subscription_id__in=ids[offset : offset + 5_000])
            .values("subscription_id", "period_start")
            .annotate(**aggregates)
            .order_by()
        )


def _billed_so_far(subscription_ids: list[int], since: date) -> dict[tuple[int, date], _Billed]:
    billed: dict[tuple[int, date], _Billed] = {}
    rows = (
        BilledLine.objects.filter(subscription_id__in=subscription_ids, period_start__gte=since)
        .order_by("subscription_id", "period_start", "pk")
        .values_list(
            "subscription_id",
            "period_start",
            "amount_minor",
            "document_id",
            "tax_rate",
            "tax_category",
            "service_end",
            "document__corrects_id",
        )
    )
    held: dict[tuple[int, date], dict[tuple[int, Decimal, str], int]] = defaultdict(dict)
    for sub_id, period_start, amount, document_id, tax_rate, tax_code, service_end, corrects_id in rows:
        charges = held[(sub_id, period_start)]
        if amount > 0:  # the latest charge last
            charges[(document_id, tax_rate, tax_code)] = (
                charges.pop((document_id, tax_rate, tax_code), 0) + amount
            )
        elif corrects_id is not None and (corrects_id, tax_rate, tax_code) in charges:
            charges[(corrects_id, tax_rate, tax_code)] += amount
        before = billed.get((sub_id, period_start))
        total = amount + (before.amount_minor if before else 0)
        last_end = max(service_end, before.service_end) if before else service_end
        if amount > 0 or before is None:
            billed[(sub_id, period_start)] = _Billed(total, document_id, tax_rate, tax_code, last_end)
        else:
            billed[(sub_id, period_start)] = _Billed(
                total, before.last_document_id, before.last_tax_rate, before.last_tax_code, last_end
            )
    return {
        key: replace(found, charges=tuple((*charge, left) for charge, left in reversed(held[key].items())))
        for key, found in billed.items()
    }


def _credit_parts(delta: int, billed: _Billed) -> list[tuple[int, int | None, Decimal | None, str | None]]:
    """A period's credit (a negative delta) over the charges that billed it, the latest first, each at
    most what it still holds: (amount, document it corrects, tax rate, tax code)."""
    parts: list[tuple[int, int | None, Decimal | None, str | None]] = []
    left = -delta
    for document_id, tax_rate, tax_code, held in billed.charges:
        take = min(left, held)
        if take > 0:
            parts.append((-take, document_id, tax_rate, tax_code))
            left -= take
    if left > 0:  # more than the charges hold: on the latest charge
        parts.append((-left, billed.last_document_id, billed.last_tax_rate, billed.last_tax_code))
    return parts


def _first_day(subscription: Subscription) -> date:
    first = (
        subscription.start_date
        if subscription.billed_through is None
        else subscription.billed_through + timedelta(days=1)
    )
    if subscription.rerate_from is not None:
        first = min(first, subscription.rerate_from)
    return max(first, subscription.start_date)


@dataclass(frozen=True)
class _Rated:
    lines: list[RatedLine]
    billed_through: date | None


def rate_subscription(
    subscription: Subscription,
    *,
    terms: list[SubscriptionTerm],
    catalogue: _Catalogue,
    usage: dict[tuple[int, date], int],
    billed: dict[tuple[int, date], _Billed],
    as_of: date,
    language: str,
) -> _Rated:
    """What to bill now: new periods in full or prorated, and the difference for re-rated periods."""
    product = catalogue.products[terms[-1].product_id]
    arrears = bool(product.metric) or product.timing == Timing.ARREARS
    end = subscription.end_date
    lines: list[RatedLine] = []
    billed_through = subscription.billed_through
    if product.billing_period == BillingPeriod.ONCE:
        periods = [rating.Period(subscription.start_date, subscription.start_date)]
    else:
        # up to the date, or as far as was billed, or to a re-rated day after both (a renewal)
        horizon = max(as_of, subscription.billed_through or as_of, _first_day(subscription))
        periods = rating.periods_overlapping(_first_day(subscription), horizon, product.billing_period)
    for period in periods:
        window_start = max(period.start, subscription.start_date)
        window_end = min(period.end, end) if end is not None else period.end
        previously = billed.get((subscription.pk, period.start))
        if window_start > window_end:  # after the end date: only what was billed before is credited
            if previously is None:
                continue  # one that billed nothing (no usage, a zero price) may have billed ones after it
            expected: list[RatedLine] = []
        else:
            due = window_end < as_of if arrears else window_start <= as_of
            if not due and previously is None:
                break
            expected = _expected(
                subscription, period, window_start, window_end, terms, catalogue, usage, language
            )
            billed_through = max(filter(None, [billed_through, window_end]))
        if previously is None:
            lines.extend(line for line in expected if line.amount_minor != 0)
            continue
        delta = sum(line.amount_minor for line in expected) - previously.amount_minor
        if delta == 0:
            continue
        with _Language(language):
            description = _("%(product)s: adjustment for %(start)s to %(end)s") % {
                "product": catalogue.products[terms[-1].product_id].name,
                "start": date_human(period.start, language),
                "end": date_human(period.end, language),
            }
        # the days the difference is for: from the first re-rated day to the last day now or before billed
        changed_from = max(filter(None, [period.start, subscription.rerate_from]))
        service_start = min(changed_from, period.end)
        service_end = max(window_end, previously.service_end) if delta < 0 else window_end
        service_end = min(max(service_end, service_start), period.end)
        parts = _credit_parts(delta, previously) if delta < 0 else [(delta, None, None, None)]
        for amount, document_id, tax_rate, tax_code in parts:
            lines.append(
                RatedLine(
                    subscription_id=subscription.pk,
                    subscription_number=subscription.number,
                    customer_id=subscription.customer_id,
                    product_code=product.code,
                    description=description,
                    quantity=Decimal(1),
                    unit_price=Money.from_minor(abs(amount), subscription.currency).amount,
                    amount_minor=amount,
                    period_start=period.start,
                    service_start=service_start,
                    service_end=service_end,
                    tax_category=product.tax_category,
                    po_number=subscription.po_number,
                    credits_document_id=document_id,
                    credits_tax_rate=tax_rate,
                    credits_tax_code=tax_code,
                )
            )
    return _Rated(lines, billed_through)


class _Language:
    """translation.override, without its cost when the language is active already (a run asks per line)."""

    __slots__ = ("language", "override")

    def __init__(self, language: str) -> None:
        self.language = language
        self.override: translation.override | None = None

    def __enter__(self) -> None:
        if translation.get_language() != self.language:
            self.override = translation.override(self.language)
            self.override.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.override is not None:
            self.override.__exit__(None, None, None)


def _expected(
    subscription: Subscription,
    period: rating.Period,
    window_start: date,
    window_end: date,
    terms: list[SubscriptionTerm],
    catalogue: _Catalogue,
    usage: dict[tuple[int, date], int],
    language: str,
) -> list[RatedLine]:
    """The period's charge as the subscription stands now: one line per term in force during it."""
    lines: list[RatedLine] = []
    # discounts run until `discount_until` (a period starting after it pays the list price)
    discounted = subscription.discount_until is None or period.start <= subscription.discount_until
    fixed_discount = subscription.discount_amount_minor if discounted else 0
    for index, term in enumerate(terms):
        term_end = (
            terms[index + 1].effective_from - timedelta(days=1) if index + 1 < len(terms) else window_end
        )
        first, last = max(window_start, term.effective_from), min(window_end, term_end)
        if first > last:
            continue
        product = catalogue.products[term.product_id]
        definition = catalogue.price(term.product_id, subscription.currency)
        if product.metric:
            # usage is rated once for the whole period (its minimum over all the days served), at the
            # first term in force in it
            first, last = window_start, window_end
            micro = usage.get((subscription.pk, period.start), 0)
            quantity = rating.micro_to_quantity(micro)
            discount = term.discount_percent if discounted else Decimal(0)
            used = rating.period_price_minor(
                replace(definition, minimum_minor=0) if definition.minimum_minor else definition,
                quantity,
                discount_percent=discount,
            )
            minimum = (
                rating.discounted_minor(definition.minimum_minor, discount, definition.currency)
                if definition.minimum_minor
                else 0
            )
            amount = max(used, rating.prorate(minimum, period, first, last))
            # the fixed discount comes off too, like the minimum for the days served in the period
            amount = max(0, amount - rating.prorate(fixed_discount, period, first, last))
        else:
            quantity = Decimal(1) if definition.price_model == "flat" else term.quantity
            full = rating.period_price_minor(
                definition,
                term.quantity,
                discount_percent=term.discount_percent if discounted else Decimal(0),
            )
            full = max(0, full - fixed_discount)
            amount = (
                full
                if product.billing_period == BillingPeriod.ONCE
                else rating.prorate(full, period, first, last)
            )
        with _Language(language):
            description = product.name
            if subscription.po_number:
                description += " · " + _("PO %(po)s") % {"po": subscription.po_number}
            if not product.metric and (first, last) != (period.start, period.end):
                description += " · " + _("prorated %(days)d of %(total)d days") % {
                    "days": (last - first).days + 1,
                    "total": period.days,
                }
        lines.append(
            RatedLine(
                subscription_id=subscription.pk,
                subscription_number=subscription.number,
                customer_id=subscription.customer_id,
                product_code=product.code,
                description=description,
                quantity=quantity,
                unit_price=(
                    rating.unit_price_shown(amount, quantity, subscription.currency, definition)
                    if product.metric
                    else rating.list_unit_price(definition, term.quantity, subscription.currency)
                ),
                amount_minor=amount,
                period_start=period.start,
                service_start=first,
                service_end=last,
                tax_category=product.tax_category,
                po_number=subscription.po_number,
            )
        )
        if product.metric:
            break  # usage is rated once per period, at the term in force at its start
    return lines


def _bill_chunk(
    context: _Context, groups: list[list[Subscription]], errors: list[tuple[str, str]]
) -> tuple[list[int], int, dict[int, RunDocument]]:
    """Bill bill-to customers (each in one currency): an invoice each for the charges, a credit memo per
    earlier document for the credits. Runs inside the caller's transaction. Returns the documents made,
    how many subscriptions were billed, and the invoices described as the run's result lists them."""
    candidates = {s.pk: s for group in groups for s in group}
    ids = list(candidates)
    # Another run may have billed these since the candidates were read: rate what the locked rows say.
    # A subscription changed since (its terms were read at the start) waits for the next run.
    locked: dict[int, Subscription] = {}
    for pk, billed_through, rerate_from, end_date in (
        Subscription.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "billed_through", "rerate_from", "end_date")
    ):
        subscription = candidates[pk]
        if (rerate_from, end_date) != (subscription.rerate_from, subscription.end_date):
            continue
        subscription.billed_through = billed_through
        locked[pk] = subscription
    if not locked:
        return [], 0, {}
    since = min(_first_day(s) for s in locked.values())
    billed = _billed_so_far(ids, rating.period_of(since, "year").start)
    issued = _issued_among(
        {line.last_document_id for line in billed.values() if line.last_document_id}
        | {charge[0] for line in billed.values() for charge in line.charges}
    )
    rated: dict[int, _Rated] = {}
    drafts: list[DraftIn] = []
    charged: list[list[RatedLine]] = []
    credited: list[tuple[Customer, list[RatedLine]]] = []
    for group in groups:
        bill_to = group[0].bill_to
        subscriptions = sorted((locked[s.pk] for s in group if s.pk in locked), key=lambda s: s.number)
        with translation.override(bill_to.language):  # descriptions in the bill-to's language
            for subscription in subscriptions:
                try:
                    if not context.terms.get(subscription.pk):
                        raise rating.UnableToRate("the subscription has no terms")
                    outcome = rate_subscription(
                        subscription,
                        terms=context.terms[subscription.pk],
                        catalogue=context.catalogue,
                        usage=context.usage,
                        billed=billed,
                        as_of=context.as_of,
                        language=bill_to.language,
                    )
                except rating.UnableToRate as error:
                    errors.append((subscription.number, str(error)))
                    continue
                if any(
                    line.amount_minor < 0 and line.credits_document_id not in issued for line in outcome.lines
                ):
                    continue  # its credit waits until the document it corrects is issued
                rated[subscription.pk] = outcome
        lines = [line for s in subscriptions if s.pk in rated for line in rated[s.pk].lines]
        charges = [line for line in lines if line.amount_minor > 0]
        if charges:
            drafts.append(_draft(context, bill_to, charges))
            charged.append(charges)
        credits = [line for line in lines if line.amount_minor < 0]
        if credits:
            credited.append((bill_to, credits))
    created: list[int] = []
    billed_lines: list[tuple[Any, ...]] = []
    try:
        invoices = bulk.invoices_create_bulk(
            drafts, actor=context.actor, now=context.now, issue=context.issue
        )
    except DomainError as error:
        raise UnableToBill(error.message, code=error.code) from None
    built: dict[int, RunDocument] = {}
    for document, draft, charges in zip(invoices, drafts, charged, strict=True):
        created.append(document.pk)
        billed_lines += _billed_lines(context.run, document, draft.lines, charges)
        # from what the run just wrote: an invoice's lines are charges, their nets the charged amounts
        built[document.pk] = _run_document(
            document,
            draft.customer.number,
            ((line, charge.amount_minor) for line, charge in zip(draft.lines, charges, strict=True)),
        )
    issued_now: list[Document] = list(invoices) if context.issue else []
    for bill_to, credits in credited:
        for document_id, same in groupby(
            sorted(credits, key=lambda line: line.credits_document_id or 0),
            key=lambda line: line.credits_document_id,
        ):
            credit_lines = list(same)
            document, document_lines = _credit_memo(
                context, bill_to, credit_lines, Document.objects.get(pk=document_id)
            )
            created.append(document.pk)
            billed_lines += _billed_lines(context.run, document, document_lines, credit_lines)
            if context.issue:
                issued_now.append(
                    receivable_services.document_issue(
                        document_id=document.pk, actor=context.actor, now=context.now
                    )
                )
    insert_new_rows(BilledLine, _BILLED_COLUMNS, billed_lines)
    update_rows(
        Subscription,
        ["billed_through", "rerate_from"],
        [(pk, r.billed_through, None) for pk, r in rated.items()],
    )
    if issued_now:
        _after_issue(issued_now, actor=context.actor, now=context.now, deliver=context.deliver)
    return created, len(rated), built


def _run_document(
    document: Document, customer_number: str, lines: Iterable[tuple[LineIn | DocumentLine, int]]
) -> RunDocument:
    """A document as the run's result lists it: its lines (as entered or as stored) with their signed nets."""
    return RunDocument(
        document_id=document.pk,
        document_type=document.document_type,
        number=document.number,
        customer_number=customer_number,
        currency=document.currency,
        net_minor=document.net_minor,
        tax_minor=document.tax_minor,
        total_minor=document.total_minor,
        lines=tuple(
            RunLine(
                product_code=line.item_code,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount_minor=amount_minor,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line, amount_minor in lines
        ),
    )


def _after_issue(documents: list[Document], *, actor: User | None, now: datetime, deliver: bool) -> None:
    """What issuing billing documents sets off, inside the issuing transaction: revenue deferral, and
    rendering and e-mailing once it commits (surviving a crash as unprocessed events)."""
    revenue.defer_documents(documents=documents, now=now, created_by_id=actor_id(actor))
    events.publish_many_on_commit(
        delivery.INVOICE_ISSUED, [{"document_id": d.pk, "deliver": deliver} for d in documents]
    )


def _issued_among(document_ids: set[int]) -> set[int]:
    return set(
        Document.objects.filter(pk__in=document_ids, status=Document.Status.ISSUED).values_list(
            "pk", flat=True
        )
    )


def _document_lines(
    context: _Context, bill_to: Customer, lines: list[RatedLine], *, credit: bool
) -> tuple[list[LineIn], list[str]]:
    """Invoice lines with the tax each line carries (a credit: the tax of the line it corrects), and the
    tax notes to print."""
    notes: list[str] = []
    document_lines: list[LineIn] = []
    for line in lines:
        if credit:
            rate, code = line.credits_tax_rate or Decimal(0), line.credits_tax_code or "S"
        else:
            tax = context.tax_for(customer=bill_to, tax_category=line.tax_category, on=context.as_of)
            rate, code = tax.rate, tax.category_code
            if tax.note and tax.note not in notes:
                notes.append(tax.note)
        document_lines.append(
            LineIn(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=rate,
                net=Money.from_minor(abs(line.amount_minor), bill_to.currency).amount,
                tax_category=code,
                item_code=line.product_code,
                period_start=line.service_start,
                period_end=line.service_end,
            )
        )
    return document_lines, notes


def _origin(bill_to: Customer, lines: list[RatedLine]) -> str:
    consolidated = any(line.customer_id != bill_to.pk for line in lines)
    return Document.Origin.CONSOLIDATED if consolidated else Document.Origin.AUTOMATED


def _draft(context: _Context, bill_to: Customer, lines: list[RatedLine]) -> DraftIn:
    document_lines, notes = _document_lines(context, bill_to, lines, credit=False)
    po_numbers = {line.po_number for line in lines}
    return DraftIn(
        customer=bill_to,
        issue_date=context.as_of,
        lines=document_lines,
        currency=bill_to.currency,
        po_number=po_numbers.pop() if len(po_numbers) == 1 else "",
        notes="\n".join(notes),
        origin=_origin(bill_to, lines),
    )


def _credit_memo(
    context: _Context, bill_to: Customer, lines: list[RatedLine], corrects: Document
) -> tuple[Document, list[LineIn]]:
    document_lines, _ = _document_lines(context, bill_to, lines, credit=True)
    try:
        document = receivable_services.document_create(
            customer=bill_to,
            document_type=DocumentType.CREDIT_MEMO,
            issue_date=context.as_of,
            lines=document_lines,
            actor=context.actor,
            now=context.now,
            currency=corrects.currency,
            corrects=corrects,
            origin=_origin(bill_to, lines),
        )
    except DomainError as error:
        raise UnableToBill(f"{bill_to.number}: {error.message}", code=error.code) from None
    return document, document_lines


_BILLED_COLUMNS = (
    "subscription",
    "period_start",
    "service_start",
    "service_end",
    "amount_minor",
    "quantity",
    "tax_rate",
    "tax_category",
    "document",
    "run",
)


def _billed_lines(
    run: BillingRun, document: Document, document_lines: Sequence[LineIn], lines: list[RatedLine]
) -> list[tuple[Any, ...]]:
    """What a document billed per subscription and period: `BilledLine` rows as plain values."""
    return [
        (
            line.subscription_id,
            line.period_start,
            line.service_start,
            line.service_end,
            line.amount_minor,
            line.quantity,
            document_line.tax_rate,
            document_line.tax_category,
            document.pk,
            run.pk,
        )
        for line, document_line in zip(lines, document_lines, strict=True)
    ]


def _issue_drafts(
    *,
    entity: LegalEntity,
    as_of: date,
    actor: User | None,
    now: datetime,
    on_progress: Callable[[str, int, int], None] | None,
    deliver: bool,
) -> list[int]:
    """Number and post the billing drafts in the order they were made, a chunk per transaction:
    invoices set-based, credit memos one by one (issuing one settles the invoice it corrects)."""
    drafts = list(
        Document.objects.filter(
            entity=entity, status=Document.Status.DRAFT, origin__in=BILLING_ORIGINS, issue_date__lte=as_of
        )
        .order_by("pk")
        .values_list("pk", "document_type")
    )
    issued: list[int] = []
    size = settings.O2C_BILLING_BATCH * 2
    for offset in range(0, len(drafts), size):
        chunk = drafts[offset : offset + size]
        with transaction.atomic():
            invoice_ids = [pk for pk, kind in chunk if kind == DocumentType.INVOICE]
            documents = bulk.invoices_issue_bulk(
                entity=entity, document_ids=invoice_ids, actor=actor, now=now
            )
            for pk, kind in chunk:
                if kind != DocumentType.INVOICE:
                    documents.append(receivable_services.document_issue(document_id=pk, actor=actor, now=now))
            _after_issue(documents, actor=actor, now=now, deliver=deliver)
        issued += [pk for pk, _ in chunk]
        if on_progress:
            on_progress("issuing", offset + len(chunk), len(drafts))
    return issued


def run_documents(document_ids: Iterable[int]) -> list[RunDocument]:
    ids = list(document_ids)
    documents = Document.objects.filter(pk__in=ids).select_related("customer").prefetch_related("lines")
    by_id = {d.pk: d for d in documents}
    found: list[RunDocument] = []
    for document_id in ids:
        document = by_id[document_id]
        sign = -1 if document.total_minor < 0 else 1
        lines = sorted(document.lines.all(), key=lambda line: line.position)
        found.append(
            _run_document(
                document, document.customer.number, ((line, sign * line.net_minor) for line in lines)
            )
        )
    return found


# Thin public wrappers over the rating internals, for the billing reports (`o2c.billing.reports`): they
# rate exactly as a run does, without writing anything.

Catalogue = _Catalogue
Billed = _Billed


def candidates(entity: LegalEntity, as_of: date) -> list[Subscription]:
    """Subscriptions a run as of the date would look at (bill-to, currency and number order)."""
    return _candidates(entity, as_of)


def catalogue_of(entity: LegalEntity) -> _Catalogue:
    return _Catalogue(entity)


def terms_of(subscription_ids: list[int]) -> dict[int, list[SubscriptionTerm]]:
    return _terms_of(subscription_ids)


def usage_of(
    subscriptions: list[Subscription],
    terms: dict[int, list[SubscriptionTerm]],
    catalogue: _Catalogue,
    as_of: date,
) -> dict[tuple[int, date], int]:
    return _usage(subscriptions, terms, catalogue, as_of)


def billed_so_far(subscription_ids: list[int], since: date) -> dict[tuple[int, date], _Billed]:
    return _billed_so_far(subscription_ids, since)


def first_unbilled_day(subscription: Subscription) -> date:
    return _first_day(subscription)


def expected_lines(
    subscription: Subscription,
    period: rating.Period,
    window_start: date,
    window_end: date,
    *,
    terms: list[SubscriptionTerm],
    catalogue: _Catalogue,
    usage: dict[tuple[int, date], int],
    language: str,
) -> list[RatedLine]:
    return _expected(subscription, period, window_start, window_end, terms, catalogue, usage, language)
