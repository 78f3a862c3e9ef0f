"""Credit reads: the effective limits, the exposure from the summary tables, the snapshot a credit check
runs on (`context_for`), the hold queue and the reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, QuerySet, Sum

from o2c.credit import defaults, rules
from o2c.credit.models import ApprovalThreshold, CreditLimit, CreditPolicy, CustomerExposure, SalesOrder
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document


def policy_of(entity_id: int) -> rules.Policy:
    """The entity's credit policy; the defaults for an entity that has none saved yet."""
    row = CreditPolicy.objects.filter(entity_id=entity_id).values_list(
        "past_due_days", "cutoff_time", "sales_email"
    )
    for days, cutoff, email in row:
        return rules.Policy(past_due_days=days, cutoff_time=cutoff, sales_email=email)
    return rules.Policy(past_due_days=defaults.PAST_DUE_DAYS, cutoff_time=defaults.CUTOFF_TIME)


def threshold_minor(entity: LegalEntity, currency: str) -> int | None:
    """The approval threshold of the entity in the currency; the default one in the entity's own
    currency while none is saved; None (every new limit or raise needs approval) in another currency."""
    row = ApprovalThreshold.objects.filter(entity=entity, currency=currency).values_list(
        "threshold_minor", flat=True
    )
    for value in row:
        return value
    if currency == entity.currency and not ApprovalThreshold.objects.filter(entity=entity).exists():
        return defaults.approval_threshold_minor(currency)
    return None


def effective_limits(customers: Iterable[tuple[int, str, int | None]]) -> dict[int, rules.Limit]:
    """The effective limit of each (customer id, currency, credit_limit_minor): the active version while
    `Customer.credit_limit_minor` still holds what it wrote there, else the field's value (loaded by the
    customer import, effective at once) in the customer's currency."""
    fields = {pk: (currency, minor) for pk, currency, minor in customers}
    active = {
        row.customer_id: row
        for row in CreditLimit.objects.filter(customer_id__in=list(fields), status=CreditLimit.Status.ACTIVE)
    }
    limits: dict[int, rules.Limit] = {}
    for pk, (currency, minor) in fields.items():
        row = active.get(pk)
        if row is not None and row.mirrored_minor == minor:
            limits[pk] = rules.Limit(
                row.amount_minor, row.currency, row.valid_until, row.next_review_date, row.source
            )
        elif minor is not None:
            limits[pk] = rules.Limit(minor, currency, source=CreditLimit.Source.MIGRATED)
    return limits


def limit_of(customer: Customer) -> rules.Limit | None:
    return effective_limits([(customer.pk, customer.currency, customer.credit_limit_minor)]).get(customer.pk)


def limit_history(customer: Customer) -> QuerySet[CreditLimit]:
    return (
        CreditLimit.objects.filter(customer=customer)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-pk")
    )


def pending_limits(entity_ids: list[int]) -> QuerySet[CreditLimit]:
    return (
        CreditLimit.objects.filter(customer__entity_id__in=entity_ids, status=CreditLimit.Status.PENDING)
        .select_related("customer", "requested_by")
        .order_by("requested_at", "pk")
    )


def _rate_cache(as_of: date) -> rules.Rate:
    """The project's FX rates (`ledger.selectors.fx_rate_on`): the rate of the day or the latest earlier
    one, the inverse of the opposite pair as fallback; memoised for one check or batch."""
    cache: dict[tuple[str, str], Decimal] = {}

    def rate(from_currency: str, to_currency: str) -> Decimal:
        if from_currency == to_currency:
            return Decimal(1)
        key = (from_currency, to_currency)
        if key not in cache:
            cache[key] = ledger_selectors.fx_rate_on(
                from_currency=from_currency, to_currency=to_currency, on=as_of
            )
        return cache[key]

    return rate


@dataclass
class CreditContext:
    """What the credit checks of a set of customers read: the customers with their ancestors and the
    groups above them, the effective limits, the exposure summary, the items past due, the policies."""

    as_of: date
    nodes: dict[int, rules.Node]
    limits: dict[int, rules.Limit]
    exposures: dict[int, dict[str, int]]
    past_due: dict[int, rules.PastDue]
    policies: dict[int, rules.Policy]
    rate: rules.Rate
    roots: set[int] = field(default_factory=set)

    def check(self, customer_id: int, amount_minor: int, currency: str) -> rules.Decision:
        customer = self.nodes[customer_id]
        return rules.check(
            customer=customer,
            amount_minor=amount_minor,
            currency=currency,
            nodes=self.nodes,
            limits=self.limits,
            exposures=self.exposures,
            past_due=self.past_due.get(customer_id),
            policy=self.policies[customer.entity_id],
            as_of=self.as_of,
            rate=self.rate,
        )

    def add_order(self, customer_id: int, amount_minor: int, currency: str) -> None:
        """A released order counts in the exposure of the checks that follow in the same batch."""
        per_currency = self.exposures.setdefault(customer_id, {})
        per_currency[currency] = per_currency.get(currency, 0) + amount_minor


_NODE_FIELDS = ("pk", "number", "currency", "status", "parent_id", "entity_id", "credit_limit_minor")


def context_for(customer_ids: Iterable[int], *, as_of: date) -> CreditContext:
    """The snapshot for checking orders of these customers as of the date: a fixed number of queries
    whatever the number of customers (plus one per level of the deepest group)."""
    nodes: dict[int, rules.Node] = {}
    fields: dict[int, tuple[str, int | None]] = {}

    def load(rows: Iterable[tuple[Any, ...]]) -> list[int]:
        new = []
        for pk, number, currency, status, parent_id, entity_id, limit in rows:
            if pk not in nodes:
                nodes[pk] = rules.Node(pk, number, currency, status, parent_id, entity_id)
                fields[pk] = (currency, limit)
                new.append(pk)
        return new

    wanted = sorted(set(customer_ids))
    for offset in range(0, len(wanted), 5000):
        load(Customer.objects.filter(pk__in=wanted[offset : offset + 5000]).values_list(*_NODE_FIELDS))
    # up: the ancestors
    todo = {n.parent_id for n in nodes.values() if n.parent_id is not None} - set(nodes)
    while todo:
        load(Customer.objects.filter(pk__in=sorted(todo)).values_list(*_NODE_FIELDS))
        todo = {n.parent_id for n in nodes.values() if n.parent_id is not None} - set(nodes)
    roots = {pk for pk, n in nodes.items() if n.parent_id is None}
    # down: every member of the groups the customers belong to
    level = sorted(nodes)
    while level:
        level = load(Customer.objects.filter(parent_id__in=level).values_list(*_NODE_FIELDS))
    for n in nodes.values():
        n.children = []
    for pk, n in sorted(nodes.items()):
        if n.parent_id is not None and n.parent_id in nodes:
            nodes[n.parent_id].children.append(pk)
    ids = sorted(nodes)
    limits = effective_limits((pk, currency, minor) for pk, (currency, minor) in fields.items())
    exposures = exposure_rows(ids)
    policies = {entity_id: policy_of(entity_id) for entity_id in {n.entity_id for n in nodes.values()}}
    past_due = past_due_of(wanted, nodes, policies, as_of)
    return CreditContext(as_of, nodes, limits, exposures, past_due, policies, _rate_cache(as_of), roots)


def exposure_rows(customer_ids: list[int]) -> dict[int, dict[str, int]]:
    """The summary per customer and currency: open receivables + released orders + shipped orders +
    unbilled usage, in minor units."""
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for offset in range(0, len(customer_ids), 5000):
        rows = CustomerExposure.objects.filter(
            customer_id__in=customer_ids[offset : offset + 5000]
        ).values_list(
            "customer_id", "currency", "receivables_minor", "orders_minor", "shipped_minor", "unbilled_minor"
        )
        for customer_id, currency, receivables, orders, shipped, unbilled in rows:
            total = receivables + orders + shipped + unbilled
            if total:
                totals[customer_id][currency] = total
    return dict(totals)


def past_due_of(
    customer_ids: list[int], nodes: dict[int, rules.Node], policies: dict[int, rules.Policy], as_of: date
) -> dict[int, rules.PastDue]:
    """Per customer, its open invoices and debit memos due more than the entity's days before the date."""
    by_entity: dict[int, list[int]] = defaultdict(list)
    for pk in customer_ids:
        by_entity[nodes[pk].entity_id].append(pk)
    result: dict[int, rules.PastDue] = {}
    for entity_id, ids in by_entity.items():
        before = date.fromordinal(as_of.toordinal() - policies[entity_id].past_due_days)
        found: dict[int, list[tuple[str, int, int, date]]] = defaultdict(list)
        for offset in range(0, len(ids), 5000):
            rows = (
                Document.objects.filter(
                    entity_id=entity_id,
                    customer_id__in=ids[offset : offset + 5000],
                    status=Document.Status.ISSUED,
                    open_minor__gt=0,
                    due_date__lt=before,
                )
                .values("customer_id", "currency")
                .annotate(n=Count("pk"), amount=Sum("open_minor"), oldest=Min("due_date"))
                .order_by()
                .values_list("customer_id", "currency", "n", "amount", "oldest")
            )
            for customer_id, currency, n, amount, oldest in rows:
                found[customer_id].append((currency, n, amount, oldest))
        for customer_id, parts in found.items():
            result[customer_id] = rules.PastDue(
                count=sum(p[1] for p in parts),
                oldest_due_date=min(p[3] for p in parts),
                amounts={p[0]: p[2] for p in parts},
            )
    return result


def exposure_in(customer_ids: list[int], currency: str, as_of: date) -> int:
    rate = _rate_cache(as_of)
    return sum(rules.total_in(amounts, currency, rate) for amounts in exposure_rows(customer_ids).values())


# ── the truth the summaries are checked against ───────────────────────────────────────────────────


def exposure_truth() -> dict[tuple[int, str], tuple[int, int, int]]:
    """(customer, currency) → (open receivables, released orders, shipped orders) from the documents and
    the orders themselves."""
    truth: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    receivables = (
        Document.objects.filter(status=Document.Status.ISSUED)
        .exclude(open_minor=0)
        .values("customer_id", "currency")
        .annotate(total=Sum("open_minor"))
        .order_by()
        .values_list("customer_id", "currency", "total")
    )
    for customer_id, currency, total in receivables:
        truth[(customer_id, currency)][0] += total
    orders = (
        SalesOrder.objects.filter(status__in=[SalesOrder.Status.RELEASED, SalesOrder.Status.SHIPPED])
        .values("customer_id", "currency", "status")
        .annotate(total=Sum("amount_minor"))
        .order_by()
        .values_list("customer_id", "currency", "status", "total")
    )
    for customer_id, currency, status, total in orders:
        truth[(customer_id, currency)][1 if status == SalesOrder.Status.RELEASED else 2] += total
    return {key: (v[0], v[1], v[2]) for key, v in truth.items()}


# ── orders, holds and reports ───────────────────────────────────────────────────────────────────────


def order_get(*, entity_ids: list[int], number: str) -> SalesOrder | None:
    return (
        SalesOrder.objects.filter(entity_id__in=entity_ids, number=number)
        .select_related("customer", "entity", "decided_by")
        .first()
    )


def order_list(*, entity_ids: list[int], status: str = "", customer_number: str = "") -> QuerySet[SalesOrder]:
    orders = SalesOrder.objects.filter(entity_id__in=entity_ids).select_related(
        "customer", "entity", "decided_by"
    )
    if status:
        orders = orders.filter(status=status)
    if customer_number:
        orders = orders.filter(customer__number=customer_number)
    return orders.order_by("-received_at", "-pk")


def hold_list(*, entity_ids: list[int], reason: str = "") -> list[SalesOrder]:
    """The hold queue: held orders, the oldest first; with `reason`, those held for that reason code."""
    held = (
        SalesOrder.objects.filter(entity_id__in=entity_ids, status=SalesOrder.Status.HELD)
        .select_related("customer", "entity")
        .order_by("held_at", "pk")
    )
    if not reason:
        return list(held)
    return [order for order in held if any(r.get("code") == reason for r in order.hold_reasons)]


def held_order_ids(customer_ids: Iterable[int]) -> list[int]:
    return list(
        SalesOrder.objects.filter(customer_id__in=list(customer_ids), status=SalesOrder.Status.HELD)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


AGE_BUCKETS = ((0, 1, "0-1"), (2, 3, "2-3"), (4, 7, "4-7"), (8, None, "8+"))


def age_bucket(days: int) -> str:
    for low, high, label in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[-1][2]


@dataclass(frozen=True)
class HoldReportRow:
    reason: str
    bucket: str
    orders: int
    amounts: dict[str, int]  # minor units per currency


def holds_by_reason_and_age(*, entity_ids: list[int], now: datetime) -> list[HoldReportRow]:
    """Held orders counted per reason code and age in days since held (an order held for two reasons
    counts under each)."""
    cells: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
    for order in hold_list(entity_ids=entity_ids):
        assert order.held_at is not None
        bucket = age_bucket((now - order.held_at).days)
        for code in sorted({r["code"] for r in order.hold_reasons}):
            count, amounts = cells.get((code, bucket), (0, {}))
            amounts[order.currency] = amounts.get(order.currency, 0) + order.amount_minor
            cells[(code, bucket)] = (count + 1, amounts)
    order_of = {label: i for i, (_, _, label) in enumerate(AGE_BUCKETS)}
    return [
        HoldReportRow(code, bucket, count, amounts)
        for (code, bucket), (count, amounts) in sorted(
            cells.items(), key=lambda kv: (kv[0][0], order_of[kv[0][1]])
        )
    ]


@dataclass(frozen=True)
class LimitUseRow:
    number: str
    name: str
    scope: str  # customer | group
    currency: str
    limit_minor: int
    exposure_minor: int

    @property
    def available_minor(self) -> int:
        return self.limit_minor - self.exposure_minor


def limit_use(*, entity_ids: list[int], as_of: date) -> list[LimitUseRow]:
    """Every customer with an effective limit: its exposure (its group's, for a customer with
    subsidiaries) against the limit, in the limit's currency, by customer number."""
    with_limit = set(
        Customer.objects.filter(entity_id__in=entity_ids, credit_limit_minor__isnull=False).values_list(
            "pk", flat=True
        )
    ) | set(
        CreditLimit.objects.filter(
            customer__entity_id__in=entity_ids, status=CreditLimit.Status.ACTIVE
        ).values_list("customer_id", flat=True)
    )
    context = context_for(with_limit, as_of=as_of)
    rows = []
    names = dict(Customer.objects.filter(pk__in=with_limit).values_list("pk", "name"))
    for pk in sorted(with_limit, key=lambda p: context.nodes[p].number):
        limit = context.limits.get(pk)
        if limit is None:
            continue
        node = context.nodes[pk]
        members = rules.subtree(node, context.nodes) if node.children else [pk]
        exposure = sum(
            rules.total_in(context.exposures.get(m, {}), limit.currency, context.rate) for m in members
        )
        rows.append(
            LimitUseRow(
                node.number,
                names[pk],
                "group" if node.children else "customer",
                limit.currency,
                limit.amount_minor,
                exposure,
            )
        )
    return rows


def customers_by_number(*, entity_ids: list[int], number: str) -> Customer | None:
    return Customer.objects.filter(entity_id__in=entity_ids, number=number).select_related("entity").first()
