"""Receivables invariants for `o2c ledger verify`: the subledger ties to the ledger, caches to the truth."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Max, Q, Sum

from o2c.core import checks
from o2c.ledger import selectors as ledger_selectors
from o2c.receivables import calculations
from o2c.receivables.models import Allocation, Document


def receivables_equal_open_items() -> list[str]:
    ledger = ledger_selectors.receivable_balances()
    items: dict[tuple[int, int | None, str], int] = defaultdict(int)
    totals = (
        Document.objects.filter(status=Document.Status.ISSUED)
        .exclude(open_minor=0)
        .values("entity_id", "customer_id", "currency")
        .annotate(open=Sum("open_minor"))
        .order_by()
    )
    for t in totals:
        if t["open"]:
            items[(t["entity_id"], t["customer_id"], t["currency"])] = t["open"]
    problems = []
    for key in sorted(set(ledger) | set(items), key=str):
        if ledger.get(key, 0) != items.get(key, 0):
            entity_id, customer_id, currency = key
            problems.append(
                f"entity {entity_id} customer {customer_id} {currency}:"
                f" ledger receivable {ledger.get(key, 0)}"
                f" != open items {items.get(key, 0)} (minor units)"
            )
    return problems[:50]


def open_amounts_equal_allocations() -> list[str]:
    settled: dict[int, int] = defaultdict(int)
    latest: dict[int, date] = {}

    def add(rows: Iterable[tuple[int, int, date]]) -> None:
        for pk, amount, posted in rows:
            settled[pk] += amount
            if pk not in latest or posted > latest[pk]:
                latest[pk] = posted

    add(
        Allocation.objects.values("document_id")
        .annotate(s=Sum("amount_minor"), latest=Max("posting_date"))
        .order_by()
        .values_list("document_id", "s", "latest")
    )
    add(
        Allocation.objects.filter(source_document__isnull=False)
        .values("source_document_id")
        .annotate(s=Sum("amount_minor"), latest=Max("posting_date"))
        .order_by()
        .values_list("source_document_id", "s", "latest")
    )
    problems = []
    documents = Document.objects.filter(Q(status=Document.Status.ISSUED)).values_list(
        "pk", "number", "total_minor", "open_minor", "last_allocation_date"
    )
    for pk, number, total, open_minor, last_allocation_date in documents.iterator(chunk_size=20000):
        expected = calculations.open_amount(total, settled.get(pk, 0))
        if expected != open_minor:
            problems.append(
                f"document {number}: cached open amount {open_minor} != {expected} from its allocations"
            )
        if last_allocation_date != latest.get(pk):
            problems.append(
                f"document {number}: cached last allocation date {last_allocation_date} "
                f"!= {latest.get(pk)} from its allocations"
            )
        if len(problems) >= 50:
            break
    return problems


def register() -> None:
    checks.register(
        "receivables.tie_out",
        "receivable accounts equal open items per customer and currency",
        receivables_equal_open_items,
    )
    checks.register(
        "receivables.open_amounts",
        "each document's open amount equals its total less its allocations, and its last allocation date "
        "their latest posting date",
        open_amounts_equal_allocations,
    )
