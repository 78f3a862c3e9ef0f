"""The portfolio review: per collector and currency, what the portfolio owes at the end of a month and
what was collected in it, against the collector's target (`o2c report collectors`, docs/kpis.md).

A collector's portfolio is the customers assigned to them (`Customer.collector`, as assigned now: the
review of a past month reads today's assignment). Customers without a collector are a row of their own
with an empty collector. Collected is the cash applied in the month to the portfolio's documents
(allocations of kind payment posted in it, less the ones undone in it), not credit memos, discounts or
write-offs; the target is the collector's `collections.CollectionTarget` of the month and currency."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.db.models import Sum

from o2c.collections.models import CollectionTarget
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Allocation
from o2c.reporting import selectors

OVER_90 = 4  # the index of the first bucket past 90 days in the contract's buckets (91_120)


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    """One collector's portfolio in one currency, amounts in its minor units."""

    entity_code: str
    collector: str  # the user name, empty for customers without a collector
    currency: str
    customers: int  # with anything open, unapplied or collected in the currency
    receivable_minor: int  # open items at the end of the month (or the report date)
    past_due_minor: int
    over_90_minor: int
    disputed_minor: int
    unapplied_minor: int  # positive: cash on account
    collected_minor: int  # cash applied in the month
    target_minor: int | None

    @property
    def percent_of_target(self) -> Decimal | None:
        """Collected as a percentage of the target, two decimals half up; None without a target."""
        if not self.target_minor:
            return None
        return (Decimal(self.collected_minor) * 100 / Decimal(self.target_minor)).quantize(Decimal("0.01"))


def month_last(month: date) -> date:
    return month + relativedelta(day=31)


def portfolio_review(*, entity_ids: list[int], month: date, as_of: date | None = None) -> list[PortfolioRow]:
    """Every collector's portfolio per currency for the month starting on `month`: the open items and
    unapplied cash as of its last day (or `as_of`, an earlier day: a month not over yet), the cash
    collected from its first day to then, the target. By entity, collector (unassigned last), currency."""
    last = min(month_last(month), as_of) if as_of is not None else month_last(month)
    items = selectors.open_items_by_bucket(entity_ids=entity_ids, as_of=last)
    disputed = selectors.open_items_by_bucket(entity_ids=entity_ids, as_of=last, disputed_only=True)
    cash = selectors.unapplied_cash(entity_ids=entity_ids, as_of=last)
    collected = {
        (row["entity_id"], row["document__customer_id"], row["currency"]): int(row["total"])
        for row in Allocation.objects.filter(
            entity_id__in=entity_ids,
            kind=Allocation.Kind.PAYMENT,
            posting_date__gte=month,
            posting_date__lte=last,
        )
        .values("entity_id", "document__customer_id", "currency")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    }
    customer_ids = {customer for _, customer, _ in (*items, *cash, *collected) if customer is not None}
    collector_of = {
        pk: (collector_id, username or "")
        for pk, collector_id, username in Customer.objects.filter(pk__in=customer_ids).values_list(
            "pk", "collector_id", "collector__username"
        )
    }
    codes = dict(LegalEntity.objects.filter(pk__in=entity_ids).values_list("pk", "code"))
    Key = tuple[int, int | None, str]  # entity, collector, currency
    sums: defaultdict[Key, list[int]] = defaultdict(lambda: [0] * 7)
    names: dict[int | None, str] = {None: ""}
    members: dict[Key, set[int]] = defaultdict(set)

    def portfolio(entity_id: int, customer_id: int | None, currency: str) -> list[int] | None:
        if customer_id is None:
            return None  # cash nobody identified yet belongs to no portfolio
        collector_id, username = collector_of[customer_id]
        names[collector_id] = username
        members[(entity_id, collector_id, currency)].add(customer_id)
        return sums[(entity_id, collector_id, currency)]

    for (entity_id, customer_id, currency), buckets in items.items():
        values = portfolio(entity_id, customer_id, currency)
        if values is not None:
            values[0] += sum(buckets)
            values[1] += sum(buckets[1:])
            values[2] += sum(buckets[OVER_90:])
    for (entity_id, customer_id, currency), buckets in disputed.items():
        values = portfolio(entity_id, customer_id, currency)
        if values is not None:
            values[3] += sum(buckets)
    for (entity_id, customer_id, currency), balance in cash.items():
        values = portfolio(entity_id, customer_id, currency)
        if values is not None:
            values[4] += balance
    for (entity_id, customer_id, currency), amount in collected.items():
        values = portfolio(entity_id, customer_id, currency)
        if values is not None:
            values[5] += amount
    targets: dict[Key, int] = {
        (entity_id, collector_id, currency): amount
        for entity_id, collector_id, currency, amount in CollectionTarget.objects.filter(
            entity_id__in=entity_ids, month=month
        ).values_list("entity_id", "collector_id", "currency", "amount_minor")
    }
    every: dict[Key, list[int]] = {**{key: [0] * 7 for key in targets}, **sums}
    unnamed = {collector_id for _, collector_id, _ in targets if collector_id not in names}
    names.update(User.objects.filter(pk__in=unnamed).values_list("pk", "username"))
    rows = [
        PortfolioRow(
            entity_code=codes[entity_id],
            collector=names[collector_id],
            currency=currency,
            customers=len(members.get((entity_id, collector_id, currency), ())),
            receivable_minor=values[0],
            past_due_minor=values[1],
            over_90_minor=values[2],
            disputed_minor=values[3],
            unapplied_minor=values[4],
            collected_minor=values[5],
            target_minor=targets.get((entity_id, collector_id, currency)),
        )
        for (entity_id, collector_id, currency), values in every.items()
    ]
    rows.sort(key=lambda row: (row.entity_code, row.collector == "", row.collector, row.currency))
    return rows
