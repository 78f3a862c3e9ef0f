"""Credit reads: the effective limits, the exposure from the summary tables, the snapshot a credit check
runs on (`context_for`), the hold queue and the reports."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Sum

from o2c.credit import defaults, rules
from o2c.credit.models import (
    ApprovalThreshold,
    CreditApplication,
    CreditLimit,
    CreditPolicy,
    CreditScore,
    CustomerExposure,
    SalesOrder,
)
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
    cache: dict[int, dict[str, int]] = field(default_factory=dict)  # holder → currency → exposure

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
            cache=self.cache,
        )

    def add_order(self, customer_id: int, amount_minor: int, currency: str) -> None:
        """A released order counts in the exposure of the checks that follow in the same batch."""
        per_currency = self.exposures.setdefault(customer_id, {})
        per_currency[currency] = per_currency.get(currency, 0) + amount_minor
        node: rules.Node | None = self.nodes.get(customer_id)
        while node is not None:
            self.cache.pop(node.id, None)
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None


# the customers asked for, their ancestors, and every member of the groups under the top ancestors
_GROUP_SQL = """
WITH RECURSIVE up(id, parent_id) AS (
    SELECT id, parent_id FROM customers_customer WHERE {ids}
    UNION SELECT c.id, c.parent_id FROM customers_customer c JOIN up ON c.id = up.parent_id
), down(id) AS (
    SELECT id FROM up WHERE parent_id IS NULL
    UNION SELECT c.id FROM customers_customer c JOIN down ON c.parent_id = down.id
)
SELECT id FROM up UNION SELECT id FROM down
"""

# each one's active limit, its entity's policy and its exposure rows (the ids listed: the planner knows
# how few they are and reads the primary key)
_DETAILS_SQL = """
SELECT c.id, c.number, c.currency, c.status, c.parent_id, c.entity_id, c.credit_limit_minor,
    l.id, l.amount_minor, l.currency, l.valid_until, l.next_review_date, l.source, l.mirrored_minor,
    p.id, p.past_due_days, p.cutoff_time, p.sales_email,
    e.currency, e.receivables_minor + e.orders_minor + e.shipped_minor + e.unbilled_minor
FROM customers_customer c
LEFT JOIN credit_creditlimit l ON l.customer_id = c.id AND l.status = 'active'
LEFT JOIN credit_creditpolicy p ON p.entity_id = c.entity_id
LEFT JOIN credit_customerexposure e ON e.customer_id = c.id
WHERE {ids}
"""


def _any(column: str) -> str:
    """`column` among a list of ids given as one parameter (`_ids_param`): PostgreSQL's array, SQLite's
    JSON; a placeholder per id costs more to build and parse than the query costs to run."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])"
    return f"{column} IN (SELECT value FROM json_each(%s))"


def _ids_param(ids: list[int]) -> str:
    if connection.vendor == "postgresql":
        return "{" + ",".join(map(str, ids)) + "}"
    return json.dumps(ids)


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _time(value: Any) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


def context_for(customer_ids: Iterable[int], *, as_of: date) -> CreditContext:
    """The snapshot for checking orders of these customers as of the date: three queries per 5,000
    customers (their groups; the members' limits, policies and exposure; their items past due)."""
    nodes: dict[int, rules.Node] = {}
    limits: dict[int, rules.Limit] = {}
    exposures: dict[int, dict[str, int]] = {}
    policies: dict[int, rules.Policy] = {}
    wanted = sorted(set(customer_ids))
    with connection.cursor() as cursor:
        for offset in range(0, len(wanted), 5000):
            chunk = wanted[offset : offset + 5000]
            cursor.execute(_GROUP_SQL.format(ids=_any("id")), [_ids_param(chunk)])
            members = sorted({row[0] for row in cursor.fetchall()} - set(nodes))
            rows: list[tuple[Any, ...]] = []
            for start in range(0, len(members), 5000):
                part = members[start : start + 5000]
                cursor.execute(_DETAILS_SQL.format(ids=_any("c.id")), [_ids_param(part)])
                rows += cursor.fetchall()
            for row in rows:
                pk, number, currency, status, parent_id, entity_id, field_minor = row[:7]
                limit_id, amount, limit_currency, valid_until, review, source, mirrored = row[7:14]
                policy_id, days, cutoff, email, exposure_currency, exposure = row[14:]
                if pk not in nodes:
                    nodes[pk] = rules.Node(pk, number, currency, status, parent_id, entity_id)
                    if limit_id is not None and mirrored == field_minor:
                        limits[pk] = rules.Limit(
                            amount, limit_currency, _day(valid_until), _day(review), source
                        )
                    elif field_minor is not None:
                        limits[pk] = rules.Limit(field_minor, currency, source=CreditLimit.Source.MIGRATED)
                    if entity_id not in policies:
                        policies[entity_id] = (
                            rules.Policy(days, _time(cutoff), email)
                            if policy_id is not None
                            else policy_of(entity_id)
                        )
                if exposure_currency is not None and exposure:
                    exposures.setdefault(pk, {})[exposure_currency] = exposure
    for pk, n in sorted(nodes.items()):
        if n.parent_id is not None and n.parent_id in nodes:
            nodes[n.parent_id].children.append(pk)
    roots = {pk for pk, n in nodes.items() if n.parent_id is None}
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
            chunk = ids[offset : offset + 5000]
            # what the open items' partial index covers (issued, open amount not zero), read from it alone
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT customer_id, currency, COUNT(*), SUM(open_minor), MIN(due_date)"
                    " FROM receivables_document"
                    " WHERE entity_id = %s AND status = 'issued' AND open_minor <> 0"
                    f" AND {_any('customer_id')}"
                    " AND open_minor > 0 AND due_date < %s GROUP BY customer_id, currency",
                    [entity_id, _ids_param(chunk), before],
                )
                for customer_id, currency, n, amount, oldest in cursor.fetchall():
                    found[customer_id].append((currency, n, amount, _day(oldest) or before))
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


def applications_with_scores(
    *, entity_ids: list[int], limit: int = 200
) -> list[tuple[CreditApplication, CreditScore | None]]:
    """The newest applications with their latest score (by as-of date, then the last made). Two queries."""
    found = list(CreditApplication.objects.filter(entity_id__in=entity_ids).order_by("-pk")[:limit])
    latest: dict[int, CreditScore] = {}
    for score in CreditScore.objects.filter(application_id__in=[a.pk for a in found]).order_by(
        "application_id", "-as_of", "-pk"
    ):
        latest.setdefault(score.application_id or 0, score)
    return [(application, latest.get(application.pk)) for application in found]
