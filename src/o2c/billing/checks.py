"""Billing invariants for `o2c ledger verify`: deferred revenue in the ledger equals the schedules."""

from collections import defaultdict

from django.db.models import Sum

from o2c.billing.models import RevenueRelease
from o2c.core import checks
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType


def deferred_revenue_equals_schedules() -> list[str]:
    """Per entity, customer and currency: the deferred revenue account's credit balance equals the
    months of revenue schedules not yet released."""
    ledger: dict[tuple[int, int | None, str], int] = defaultdict(int)
    for row in (
        ledger_selectors.posted_lines()
        .filter(account__type=AccountType.DEFERRED_REVENUE)
        .values("entry__entity_id", "customer_id", "currency")
        .annotate(debit=Sum("debit_minor"), credit=Sum("credit_minor"))
        .order_by()
    ):
        ledger[(row["entry__entity_id"], row["customer_id"], row["currency"])] += row["credit"] - row["debit"]
    scheduled: dict[tuple[int, int | None, str], int] = defaultdict(int)
    for row in (
        RevenueRelease.objects.filter(released=False)
        .values("schedule__document__entity_id", "schedule__customer_id", "schedule__currency")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    ):
        key = (row["schedule__document__entity_id"], row["schedule__customer_id"], row["schedule__currency"])
        scheduled[key] += row["total"]
    problems = []
    for key in sorted(set(ledger) | set(scheduled), key=str):
        if ledger.get(key, 0) != scheduled.get(key, 0):
            entity_id, customer_id, currency = key
            problems.append(
                f"entity {entity_id} customer {customer_id} {currency}: deferred revenue {ledger.get(key, 0)}"
                f" != unreleased schedules {scheduled.get(key, 0)} (minor units)"
            )
    return problems[:50]


def register() -> None:
    checks.register(
        "billing.deferred_revenue",
        "deferred revenue equals the unreleased months of revenue schedules",
        deferred_revenue_equals_schedules,
    )
