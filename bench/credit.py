"""`make bench-credit`: credit checks against a large book, exposure read from the summary tables.

    scripts/with-postgres .venv/bin/python -m bench.credit                     # 100,000 / 1,000,000 / 100,000
    scripts/with-postgres .venv/bin/python -m bench.credit --items 200000 --orders 20000 --customers 20000

The book is loaded with set-based SQL: N customers in groups of ten (the first of each ten the parent of
the other nine), each with a credit limit loaded as the customer import loads it (a group limit on the
parents, own limits on the subsidiaries), M issued invoices all open (the exposure triggers fill the
summary as the rows go in: their cost is in the load time), and K released open orders counted in the
summary. Then, in this process through the same services the command and the API call:

- one credit check (`credit.orders.what_if`, what `o2c credit check` runs): the median and the 95th
  percentile of 500 checks of random customers, each reading its group's exposure from the summary;
- 10,000 new orders checked and taken in one batch (`credit.orders.orders_receive`, what
  `o2c credit orders-import` runs), committed;
- `o2c ledger verify`'s exposure check over the whole book.

Figures go to stdout and to bench/results/credit.json. Targets (issue 7): a credit check under 5 ms at
1,000,000 open items and 100,000 open orders; 10,000 orders checked in a batch in at most 10 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 10, 30)
NOW = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
CHECK_TARGET_MS = 5.0
BATCH_TARGET_SECONDS = 10.0


def _say(message: str) -> None:
    print(f"[credit] {message}", flush=True)


def _load(cursor: Any, *, entity_id: int, customers: int, items: int, orders: int) -> None:
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET LOCAL session_replication_role = replica")  # generated consistent
    # parents first (g % 10 = 1), then their nine subsidiaries; limits as the customer import loads them
    cursor.execute(
        """
        INSERT INTO customers_customer (id, number, name, country, currency, language, payment_terms,
            email, vat_id, status, crm_id, erp_id, address, created_at, updated_at, entity_id, region,
            parent_id, credit_limit_minor, risk_class)
        SELECT 1000000 + g, 'K' || lpad(g::text, 7, '0'), 'Customer ' || g, 'DE', 'EUR', 'en', 'NET30',
            '', '', 'active', '', '', '', now(), now(), %s, '',
            CASE WHEN g %% 10 = 1 THEN NULL ELSE 1000000 + g - ((g - 1) %% 10) END,
            CASE WHEN g %% 10 = 1 THEN 60000000 ELSE 9000000 END, ''
        FROM generate_series(1, %s) AS g ORDER BY g %% 10 <> 1, g
        """,
        [entity_id, customers],
    )
    # due from 10 days ahead to 45 days past (inside the 60 days); amounts 10.00 to 5,009.99
    cursor.execute(
        """
        INSERT INTO receivables_document (id, document_type, status, number, currency, net_minor, tax_minor,
            total_minor, open_minor, settlement, issue_date, due_date, discount_percent, payment_terms,
            po_number, is_disputed, is_migrated, notes, created_at, issued_at, customer_id, entity_id, origin,
            approval_state, reason_code)
        SELECT 30000000 + g, 'invoice', 'issued', 'K-' || g, 'EUR', t, 0, t, t, 'open',
            %s::date + 10 - (g %% 56)::int - 30, %s::date + 10 - (g %% 56)::int, 0, 'NET30', '',
            false, false, '', now(), now(), 1000001 + (g %% %s), %s, 'manual', 'not_required', ''
        FROM (
            SELECT g, 1000 + (g * 7919) %% 500000 AS t FROM generate_series(1::bigint, %s::bigint) AS g
        ) AS s
        """,
        [AS_OF, AS_OF, customers, entity_id, items],
    )
    cursor.execute(
        """
        INSERT INTO credit_salesorder (entity_id, customer_id, number, currency, amount_minor, requested_date,
            status, source, hold_reasons, received_at, checked_at, decided_at, release_date, decision_reason)
        SELECT %s, 1000001 + (g %% %s), 'B-' || g, 'EUR', 5000 + (g * 104729) %% 200000, %s::date + 7,
            'released', 'csv', '[]'::jsonb, now(), now(), now(), %s::date, ''
        FROM generate_series(1::bigint, %s::bigint) AS g
        """,
        [entity_id, customers, AS_OF, AS_OF, orders],
    )
    cursor.execute(
        """
        INSERT INTO credit_customerexposure
            (customer_id, currency, receivables_minor, orders_minor, shipped_minor, unbilled_minor)
        SELECT customer_id, currency, 0, SUM(amount_minor), 0, 0 FROM credit_salesorder
        WHERE status = 'released' GROUP BY customer_id, currency
        ON CONFLICT (customer_id, currency)
        DO UPDATE SET orders_minor = credit_customerexposure.orders_minor + excluded.orders_minor
        """
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=500)
    args = parser.parse_args(argv)
    if not os.environ.get("O2C_DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.credit needs O2C_DATABASE_URL pointing at PostgreSQL")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.run import _write as write_results
    from bench.run import machine
    from o2c.credit import checks, orders
    from o2c.customers.models import Customer
    from o2c.ledger.models import LegalEntity

    call_command("migrate", verbosity=0)
    entity = LegalEntity.objects.get(is_default=True)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _load(cursor, entity_id=entity.pk, customers=args.customers, items=args.items, orders=args.orders)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    loaded = round(time.perf_counter() - started, 2)
    _say(
        f"loaded {args.customers:,} customers, {args.items:,} open items, {args.orders:,} open orders"
        f" in {loaded} s (the exposure triggers included)"
    )

    rng = random.Random(7)
    ids = list(Customer.objects.filter(entity=entity).values_list("pk", flat=True))
    sample = [rng.choice(ids) for _ in range(args.checks)]
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=set(sample))}
    timings = []
    decisions = {"release": 0, "hold": 0}
    for pk in sample:
        began = time.perf_counter()
        decision = orders.what_if(
            customer=customers[pk], amount=Decimal("2500.00"), currency="EUR", as_of=AS_OF
        )
        timings.append((time.perf_counter() - began) * 1000)
        decisions[decision.decision] += 1
    timings.sort()
    check_ms = round(statistics.median(timings), 2)
    p95_ms = round(timings[int(len(timings) * 0.95) - 1], 2)
    _say(f"credit check: median {check_ms} ms, 95th percentile {p95_ms} ms over {len(timings)} ({decisions})")

    numbers = {c.pk: c.number for c in Customer.objects.filter(entity=entity).only("pk", "number")}
    rows = [
        orders.OrderIn(
            f"N-{n}", numbers[rng.choice(ids)], Decimal(rng.randint(100, 900_000)) / 100, "EUR", AS_OF
        )
        for n in range(args.batch)
    ]
    began = time.perf_counter()
    result = orders.orders_receive(entity=entity, rows=rows, source="csv", actor=None, now=NOW)
    batch_seconds = round(time.perf_counter() - began, 2)
    released = sum(1 for o in result.created if o.status == "released")
    taken = len(result.created)
    _say(f"batch: {taken:,} orders checked and taken in {batch_seconds} s ({released:,} released)")

    began = time.perf_counter()
    problems = checks.exposure_summary_equals_truth()
    verify_seconds = round(time.perf_counter() - began, 2)
    _say(f"verify: the exposure summary checked in {verify_seconds} s, {len(problems)} problems")

    figures: dict[str, Any] = {
        "name": "credit",
        "machine": machine(),
        "data": {
            "customers": args.customers,
            "groups": (args.customers + 9) // 10,
            "open_items": args.items,
            "open_orders": args.orders,
            "as_of": AS_OF.isoformat(),
        },
        "load_seconds": loaded,
        "check": {"checks": len(timings), "median_ms": check_ms, "p95_ms": p95_ms, "decisions": decisions},
        "batch": {"orders": len(result.created), "released": released, "seconds": batch_seconds},
        "verify": {"seconds": verify_seconds, "problems": len(problems)},
        "targets": {"check_ms": CHECK_TARGET_MS, "batch_seconds": BATCH_TARGET_SECONDS},
    }
    path = write_results("credit", figures)
    _say(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
