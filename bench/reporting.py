"""`make bench-reporting`: the aging and the KPIs over a large receivables history.

    scripts/with-postgres .venv/bin/python -m bench.reporting             # 10,000,000 invoices (PostgreSQL)
    .venv/bin/python -m bench.reporting --sqlite                            # 1,000,000 invoices (SQLite)
    scripts/with-postgres .venv/bin/python -m bench.reporting --invoices 1000000

The history is loaded with set-based SQL (the reports read documents, allocations and the ledger's
unapplied cash; the rows are what the services would have written, without their journal entries):
100,000 customers, N documents over three years (one in twenty a credit memo), and 1.5 allocations per
document (half the documents paid in full on one day, half paid a quarter twice). Then, each measured
three times (the median is reported), in this process through the same selectors the commands use:

- the aging by customer as of the last day of the history, and as of a date a year earlier;
- the KPIs as of the last day (`reporting.selectors.kpis`: every KPI in one call);
- the plainest SQL aggregation over the same tables (each customer's documents summed, and their
  allocations summed through a join to the documents): the physical limit the issue compares with.

Figures go to stdout and to bench/results/reporting_<database>.json. Targets (issue 5): each report at
most 10 s and within 3x of the plain aggregation on PostgreSQL at 10,000,000 invoices and 15,000,000
allocations; at most 10 s on SQLite at 1,000,000 invoices.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 10, 31)
DAYS = 3 * 365
CUSTOMERS = 100_000
RUNS = 3
TARGET_SECONDS = 10.0
TARGET_RATIO = 3.0


def _say(message: str) -> None:
    print(f"[reporting] {message}", flush=True)


def _load_postgresql(cursor: Any, *, entity_id: int, customers: int, invoices: int) -> None:
    first = AS_OF - timedelta(days=DAYS - 1)
    cursor.execute("SET synchronous_commit = off")
    # the rows are generated consistent: skip the per-row foreign-key triggers, whose queue for 25,000,000
    # rows the commit would work through one by one (the bench's cluster user may; see core.keychecks)
    cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute(
        """
        INSERT INTO customers_customer (id, number, name, country, currency, language, payment_terms,
            email, vat_id, status, crm_id, erp_id, address, created_at, updated_at, entity_id, region)
        SELECT 1000000 + g, 'B' || lpad(g::text, 7, '0'), 'Customer ' || g, 'DE', 'EUR', 'de', 'NET30',
            '', '', 'active', '', '', '', now(), now(), %s, ''
        FROM generate_series(1, %s) AS g
        """,
        [entity_id, customers],
    )
    # one in twenty a credit memo; amounts 10.00 to 5,009.99; issue dates spread over three years
    cursor.execute(
        """
        INSERT INTO receivables_document (id, document_type, status, number, currency, net_minor, tax_minor,
            total_minor, open_minor, settlement, issue_date, due_date, discount_percent, payment_terms,
            po_number, is_disputed, is_migrated, notes, created_at, issued_at, customer_id, entity_id, origin,
            approval_state, reason_code, last_allocation_date)
        SELECT 10000000 + g,
            CASE WHEN g %% 20 = 3 THEN 'credit_memo' ELSE 'invoice' END, 'issued', 'B-' || g, 'EUR',
            t, 0, t,
            CASE WHEN g %% 10 < 5 THEN 0 ELSE t - 2 * (t / 4) END,
            CASE WHEN g %% 10 < 5 THEN 'paid' ELSE 'partially_paid' END,
            %s::date + (g %% %s)::int, %s::date + (g %% %s)::int + 30, 0, 'NET30', '', g %% 97 = 0, false, '',
            now(), now(), 1000001 + (g %% %s), %s, 'manual', 'not_required', '',
            %s::date + (g %% %s)::int + CASE WHEN g %% 10 < 5 THEN ((10000000 + g) %% 60)::int ELSE 40 END
        FROM (
            SELECT g, (CASE WHEN g %% 20 = 3 THEN -1 ELSE 1 END) * (1000 + (g * 7919) %% 500000) AS t
            FROM generate_series(1::bigint, %s::bigint) AS g
        ) AS source
        """,
        [first, DAYS, first, DAYS, customers, entity_id, first, DAYS, invoices],
    )
    # half paid in full 0 to 59 days after issue, half paid a quarter twice (10 and 40 days after)
    cursor.execute(
        """
        INSERT INTO receivables_allocation (kind, payment_id, currency, amount_minor, posting_date, reason,
            created_at, entity_id, document_id)
        SELECT 'payment', NULL, 'EUR', part, issue_date + delay, '', now(), %s, id
        FROM (
            SELECT id, issue_date, abs(total_minor) AS part, (id %% 60)::int AS delay
            FROM receivables_document WHERE id > 10000000 AND id %% 10 < 5
            UNION ALL
            SELECT id, issue_date, abs(total_minor) / 4, 10 FROM receivables_document
            WHERE id > 10000000 AND id %% 10 >= 5
            UNION ALL
            SELECT id, issue_date, abs(total_minor) / 4, 40 FROM receivables_document
            WHERE id > 10000000 AND id %% 10 >= 5
        ) AS parts
        WHERE part > 0
        """,
        [entity_id],
    )


def _load_sqlite(connection: Any, *, entity_id: int, customers: int, invoices: int) -> None:
    first = AS_OF - timedelta(days=DAYS - 1)
    cursor = connection.connection.cursor()
    cursor.executemany(
        "INSERT INTO customers_customer (id, number, name, country, currency, language, payment_terms, "
        "email, vat_id, status, crm_id, erp_id, address, created_at, updated_at, entity_id, region) "
        "VALUES (?, ?, ?, 'DE', 'EUR', 'de', 'NET30', '', '', 'active', '', '', '', '2026-01-01', "
        "'2026-01-01', ?, '')",
        ((1000000 + g, f"B{g:07d}", f"Customer {g}", entity_id) for g in range(1, customers + 1)),
    )

    def documents() -> Any:
        for g in range(1, invoices + 1):
            total = (-1 if g % 20 == 3 else 1) * (1000 + (g * 7919) % 500000)
            issue = first + timedelta(days=g % DAYS)
            yield (
                10000000 + g,
                "credit_memo" if g % 20 == 3 else "invoice",
                f"B-{g}",
                total,
                total,
                0 if g % 10 < 5 else total - 2 * int(total / 4),
                "paid" if g % 10 < 5 else "partially_paid",
                issue.isoformat(),
                (issue + timedelta(days=30)).isoformat(),
                g % 97 == 0,
                1000001 + g % customers,
                entity_id,
                (issue + timedelta(days=(10000000 + g) % 60 if g % 10 < 5 else 40)).isoformat(),
            )

    cursor.executemany(
        "INSERT INTO receivables_document (id, document_type, status, number, currency, net_minor, "
        "tax_minor, total_minor, open_minor, settlement, issue_date, due_date, discount_percent, "
        "payment_terms, po_number, is_disputed, is_migrated, notes, created_at, issued_at, customer_id, "
        "entity_id, origin, approval_state, reason_code, last_allocation_date) "
        "VALUES (?, ?, 'issued', ?, 'EUR', ?, 0, ?, ?, ?, ?, ?, 0, 'NET30', '', "
        "?, 0, '', '2026-01-01', '2026-01-01', ?, ?, 'manual', 'not_required', '', ?)",
        documents(),
    )

    def allocations() -> Any:
        for g in range(1, invoices + 1):
            total = abs(1000 + (g * 7919) % 500000)
            issue = first + timedelta(days=g % DAYS)
            parts = [(total, (10000000 + g) % 60)] if g % 10 < 5 else [(total // 4, 10), (total // 4, 40)]
            for amount, delay in parts:
                yield (amount, (issue + timedelta(days=delay)).isoformat(), entity_id, 10000000 + g)

    cursor.executemany(
        "INSERT INTO receivables_allocation (kind, currency, amount_minor, posting_date, reason, created_at, "
        "entity_id, document_id) VALUES ('payment', 'EUR', ?, ?, '', '2026-01-01', ?, ?)",
        allocations(),
    )
    cursor.close()


def _median(measure: Callable[[], Any]) -> float:
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        measure()
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds), 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file, 1,000,000 invoices")
    parser.add_argument("--invoices", type=int, help="documents (default 10,000,000; 1,000,000 on SQLite)")
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    args = parser.parse_args(argv)
    temporary = None
    if args.sqlite:
        temporary = tempfile.TemporaryDirectory()
        os.environ["O2C_DATABASE_URL"] = f"sqlite:///{temporary.name}/bench.sqlite3"
    elif not os.environ.get("O2C_DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.reporting needs O2C_DATABASE_URL pointing at PostgreSQL, or --sqlite")
    invoices = args.invoices or (1_000_000 if args.sqlite else 10_000_000)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.run import _write as write_results
    from bench.run import machine
    from o2c.ledger.models import LegalEntity
    from o2c.reporting import selectors

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    entity = LegalEntity.objects.get(is_default=True)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                _load_postgresql(cursor, entity_id=entity.pk, customers=args.customers, invoices=invoices)
        else:
            _load_sqlite(connection, entity_id=entity.pk, customers=args.customers, invoices=invoices)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        cursor.execute("SELECT count(*) FROM receivables_allocation")
        allocation_count = cursor.fetchone()[0]
    loaded = round(time.perf_counter() - started, 1)
    _say(
        f"{invoices:,} documents, {allocation_count:,} allocations, {args.customers:,} customers "
        f"in {loaded} s"
    )

    def plain() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT customer_id, currency, sum(total_minor) FROM receivables_document "
                "WHERE status = 'issued' GROUP BY customer_id, currency"
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT d.customer_id, d.currency, sum(a.amount_minor) FROM receivables_allocation a "
                "JOIN receivables_document d ON d.id = a.document_id GROUP BY d.customer_id, d.currency"
            )
            cursor.fetchall()

    year_back = AS_OF - timedelta(days=365)
    figures: dict[str, Any] = {}
    figures["plain_aggregation_seconds"] = _median(plain)
    _say(f"plain SQL aggregation: {figures['plain_aggregation_seconds']} s")
    reports: dict[str, Callable[[], Any]] = {
        "aging": lambda: selectors.aging(entity_ids=[entity.pk], as_of=AS_OF),
        "aging_year_back": lambda: selectors.aging(entity_ids=[entity.pk], as_of=year_back),
        "kpis": lambda: selectors.kpis(entity=entity, as_of=AS_OF),
    }
    rows = len(selectors.aging(entity_ids=[entity.pk], as_of=AS_OF).rows)
    for name, measure in reports.items():
        seconds = _median(measure)
        ratio = round(seconds / figures["plain_aggregation_seconds"], 2)
        figures[name] = {"seconds": seconds, "ratio_to_plain": ratio}
        _say(f"{name}: {seconds} s ({ratio}x the plain aggregation)")
    database = connection.vendor
    result = {
        "name": f"reporting_{database}",
        "machine": machine(),
        "data": {
            "documents": invoices,
            "allocations": allocation_count,
            "customers": args.customers,
            "as_of": AS_OF.isoformat(),
            "aging_rows": rows,
        },
        "load_seconds": loaded,
        "runs": RUNS,
        **figures,
        "targets": {
            "seconds": TARGET_SECONDS,
            "ratio_to_plain": TARGET_RATIO if database != "sqlite" else None,
        },
    }
    path = write_results(result["name"], result)
    _say(f"written {path.relative_to(ROOT)}")
    if temporary is not None:
        connection.close()
        temporary.cleanup()


if __name__ == "__main__":
    main()
