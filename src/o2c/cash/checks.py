"""Cash invariants for `o2c ledger verify`: unapplied cash in the ledger equals the payments' unapplied
amounts, and each payment's cached
unapplied amount equals its amount less what it settled."""

from collections import defaultdict

from django.db.models import Sum

from o2c.cash import conversions
from o2c.cash.models import Payment, Refund
from o2c.core import checks
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType
from o2c.receivables import selectors as receivables_selectors


def unapplied_cash_equals_payments() -> list[str]:
    ledger = ledger_selectors.credit_balances_by_customer(account_type=AccountType.UNAPPLIED_CASH)
    payments: dict[tuple[int, int | None, str], int] = defaultdict(int)
    for row in (
        Payment.objects.exclude(unapplied_minor=0)
        .values("entity_id", "customer_id", "currency")
        .annotate(total=Sum("unapplied_minor"))
        .order_by()
    ):
        payments[(row["entity_id"], row["customer_id"], row["currency"])] += row["total"]
    problems = []
    for key in sorted(set(ledger) | set(payments), key=str):
        if ledger.get(key, 0) != payments.get(key, 0):
            entity_id, customer_id, currency = key
            problems.append(
                f"entity {entity_id} customer {customer_id} {currency}: ledger unapplied cash "
                f"{ledger.get(key, 0)} != payments' unapplied {payments.get(key, 0)} (minor units)"
            )
    return problems[:50]


def payment_unapplied_equals_allocations() -> list[str]:
    applied = receivables_selectors.cash_applied_by_payment()
    # cash settling documents of another currency is counted in the payment's currency
    for pk, (taken, given) in conversions.converted_cash().items():
        applied[pk] = applied.get(pk, 0) - given + taken
    refunded = dict(
        Refund.objects.values("payment_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("payment_id", "total")
    )
    problems = []
    for pk, reference, amount, unapplied, status in Payment.objects.values_list(
        "pk", "entry_reference", "amount_minor", "unapplied_minor", "status"
    ).iterator(chunk_size=20000):
        # a returned payment went back to the bank: nothing of it is left to apply
        expected = (
            0 if status == Payment.Status.RETURNED else amount - applied.get(pk, 0) - refunded.get(pk, 0)
        )
        if expected != unapplied:
            problems.append(f"payment {reference or pk}: cached unapplied {unapplied} != {expected} expected")
            if len(problems) >= 50:
                break
    return problems


def register() -> None:
    checks.register(
        "cash.unapplied_tie_out",
        "unapplied cash accounts equal the payments' unapplied amounts per customer and currency",
        unapplied_cash_equals_payments,
    )
    checks.register(
        "cash.payment_unapplied",
        "each payment's unapplied amount equals its amount less its allocations",
        payment_unapplied_equals_allocations,
    )
