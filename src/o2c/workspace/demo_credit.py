"""The demo's credit desk: customers scored at different times (some of them due for review), sales
orders checked on arrival (some held: over the limit, or the customer blocked), a few shipped and one
invoiced, and a raise request from sales for a customer whose order is held. Everything goes through
the credit services, as the API and the commands do."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from o2c.core.exceptions import DomainError
from o2c.core.money import Money
from o2c.credit import orders, reviews, scoring
from o2c.credit.models import CreditReview, SalesOrder
from o2c.credit.selectors import limit_of
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity

SCORED = 60
ORDERS = 36


@dataclass(frozen=True)
class CreditSummary:
    scored: int
    reviews_due: int
    orders: int
    held: int
    raise_requests: int


def demo_credit(
    *, entity: LegalEntity, users: dict[str, User], today: date, now: datetime, seed: int
) -> CreditSummary:
    rng = random.Random(seed + 7)
    customers = list(Customer.objects.filter(entity=entity).order_by("number"))
    analyst, sales = users["carmen"], users["berta"]
    scored = 0
    for customer in rng.sample(customers, min(SCORED, len(customers))):
        # scored some time ago: a class's review interval (A 12 months ... E 1) may have run out since
        as_of = today - timedelta(days=rng.choice((10, 45, 120, 200, 300, 400)))
        try:
            scoring.customer_score(customer_id=customer.pk, as_of=as_of, actor=analyst, now=now)
        except DomainError:  # nothing known about it yet
            continue
        scored += 1
    rows, limits = [], {}
    in_groups = {c.parent_id for c in customers if c.parent_id} | {c.pk for c in customers if c.parent_id}
    # customers outside groups: a group's members may keep other currencies than its limit
    for customer in (c for c in customers if c.pk not in in_groups):
        effective = limit_of(customer)
        if effective is not None and effective.currency == customer.currency:
            limits[customer.number] = effective
    numbers = sorted(limits)
    for index, number in enumerate(rng.sample(numbers, min(ORDERS, len(numbers)))):
        amount = Money.from_minor(limits[number].amount_minor, limits[number].currency).amount
        share = Decimal("1.4") if index % 6 == 0 else Decimal(rng.randint(2, 15)) / 100
        rows.append(
            orders.OrderIn(
                number=f"SO-{today.year}-{index + 1:05d}",
                customer_number=number,
                amount=(amount * share).quantize(Decimal("0.01")),
                currency=limits[number].currency,
                requested_date=today + timedelta(days=rng.randint(1, 20)),
            )
        )
    taken = orders.orders_receive(
        entity=entity, rows=rows, source=SalesOrder.Source.API, actor=sales, now=now
    )
    released = [order for order in taken.created if order.status == SalesOrder.Status.RELEASED]
    for order in released[:4]:
        orders.order_move(order_id=order.id, to=SalesOrder.Status.SHIPPED, reason="", actor=sales, now=now)
    held = [order for order in taken.created if order.status == SalesOrder.Status.HELD]
    raise_requests = 0
    if held:
        customer = Customer.objects.get(pk=held[0].customer_id)
        limit = limit_of(customer)
        if limit is not None:
            reviews.raise_request_create(
                customer=customer,
                requested_limit=Money.from_minor(limit.amount_minor * 2, limit.currency).amount,
                reason=f"Order {held[0].number} is held; the customer buys more every quarter.",
                actor=sales,
                now=now,
            )
            raise_requests = 1
    due = CreditReview.objects.filter(
        entity=entity, state=CreditReview.State.OPEN, due_date__lte=today
    ).count()
    return CreditSummary(
        scored=scored,
        reviews_due=due,
        orders=len(taken.created),
        held=len(held),
        raise_requests=raise_requests,
    )
