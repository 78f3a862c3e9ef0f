"""The billing run figures: a run over many subscriptions (mixed price models) with millions of usage
events, issued and posted, on PostgreSQL.

    scripts/with-postgres .venv/bin/python -m bench.billing                      # 100,000 / 10,000,000
    scripts/with-postgres .venv/bin/python -m bench.billing --subscriptions 5000 --events 500000

In a fresh database next to O2C_DATABASE_URL: `o2c migrate`, then the catalogue, customers and
subscriptions through the ORM's bulk inserts and the usage events with COPY (the benchmark may load
its data that way), and VACUUM ANALYZE; then, each in its own process: the usage aggregation alone, and
`o2c billing run --as-of 2026-11-01 --issue` (invoice PDFs and e-mail off: measured apart, for a
sample). Afterwards the rows the run wrote are copied with COPY into empty copies of their tables,
the raw insert rate of the same rows on the same machine. Figures to stdout and
bench/results/billing_postgresql.json. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.run import RESULTS, _fresh_postgres, _o2c, _run, _write, machine

AS_OF = "2026-11-01"
MODELS = (
    # code, price model, unit price, tiers, period, timing, metric, aggregation, share of subscriptions
    ("PLAT", "flat", "49.00", "", "month", "advance", "", "sum", 20),
    ("SEAT", "per_unit", "12.50", "", "month", "advance", "", "sum", 20),
    ("STOR", "volume", "0", "1000:0.10|10000:0.08|*:0.05", "month", "arrears", "", "sum", 10),
    ("SUPP", "flat", "1200.00", "", "year", "advance", "", "sum", 5),
    ("API", "tiered", "0", "10000:0.010|100000:0.008|*:0.005", "month", "arrears", "api_calls", "sum", 25),
    ("SMS", "package", "0", "100:4.00", "month", "arrears", "sms", "sum", 10),
    ("PEAK", "per_unit", "0.50", "", "month", "arrears", "peak_users", "max", 10),
)


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def load(url: str, subscriptions: int, events: int) -> dict[str, Any]:
    """Catalogue, customers and subscriptions through Django; usage events with COPY."""
    os.environ["O2C_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    import django

    django.setup()
    from decimal import Decimal

    from o2c.billing.models import Price, Product, Subscription, SubscriptionTerm
    from o2c.customers.models import Customer
    from o2c.ledger.models import LegalEntity

    entity = LegalEntity.objects.get(is_default=True)
    now = datetime.now(UTC)
    rng = random.Random(20261101)
    products = {}
    for code, model, unit, tiers, period, timing, metric, aggregation, _share in MODELS:
        product = Product.objects.create(
            entity=entity,
            code=code,
            name=code.title(),
            billing_period=period,
            timing=timing,
            metric=metric,
            aggregation=aggregation,
            created_at=now,
            updated_at=now,
        )
        Price.objects.create(
            product=product, currency="EUR", price_model=model, unit_price=Decimal(unit), tiers=tiers
        )
        products[code] = product
    # one customer per two subscriptions on average; every tenth customer is billed to a parent
    customer_count = max(1, subscriptions // 2)
    customers = Customer.objects.bulk_create(
        [
            Customer(
                entity=entity,
                number=f"B{n:07d}",
                name=f"Kunde {n} GmbH",
                country="DE",
                currency="EUR",
                language="de",
                payment_terms="NET30",
                created_at=now,
                updated_at=now,
            )
            for n in range(customer_count)
        ],
        batch_size=5000,
    )
    weights = [m[-1] for m in MODELS]
    codes = [m[0] for m in MODELS]
    start = date(2026, 10, 1)
    rows = []
    for n in range(subscriptions):
        customer = customers[n % customer_count]
        bill_to = customers[(n % customer_count) // 10 * 10] if n % 10 == 0 else customer
        code = rng.choices(codes, weights)[0]
        rows.append((n, customer, bill_to, code))
    subs = Subscription.objects.bulk_create(
        [
            Subscription(
                entity=entity,
                number=f"S{n:08d}",
                customer=customer,
                bill_to=bill_to,
                currency="EUR",
                start_date=start + timedelta(days=n % 20),
                created_at=now,
                updated_at=now,
            )
            for n, customer, bill_to, code in rows
        ],
        batch_size=5000,
    )
    SubscriptionTerm.objects.bulk_create(
        [
            SubscriptionTerm(
                subscription=sub,
                effective_from=sub.start_date,
                product=products[code],
                quantity=Decimal(1 + n % 25),
                discount_percent=Decimal(n % 4 * 5),
                created_at=now,
            )
            for sub, (n, _c, _b, code) in zip(subs, rows, strict=True)
        ],
        batch_size=5000,
    )
    metered = [
        (sub.pk, products[code].metric, sub.start_date)
        for sub, (_n, _c, _b, code) in zip(subs, rows, strict=True)
        if products[code].metric
    ]
    loaded_events = _copy_usage(url, entity.pk, metered, events, rng)
    return {"subscriptions": subscriptions, "customers": customer_count, "usage_events": loaded_events}


def _copy_usage(
    url: str, entity_id: int, metered: list[tuple[int, str, Any]], events: int, rng: random.Random
) -> int:
    if not metered or not events:
        return 0
    started = time.perf_counter()
    with _connect(url) as connection, connection.cursor() as cursor:
        columns = (
            "entity_id, event_id, subscription_id, metric, quantity_micro, unique_key, occurred_at, "
            "period_start, received_at"
        )
        with cursor.copy(f"COPY billing_usageevent ({columns}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for n in range(events):
                sub_id, metric, start = metered[n % len(metered)]
                day = start + timedelta(days=rng.randrange(0, 31 - start.day + 1))
                quantity = rng.randrange(1, 200) * 1_000_000
                buffer.write(
                    f"{entity_id}\tev{n:09d}\t{sub_id}\t{metric}\t{quantity}\t\t"
                    f"{day.isoformat()} 12:00:00+00\t2026-10-01\t2026-11-01 00:00:00+00\n"
                )
                if n % 100_000 == 99_999:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        # as autovacuum leaves tables loaded before a run: statistics, visibility map and hint bits
        # (on tables just loaded, the run's first reads set every row's hint bits: about 6 s at 10M
        # events)
        cursor.execute("VACUUM ANALYZE")
    sys.stderr.write(
        f"bench: {events:,} usage events loaded with COPY in {time.perf_counter() - started:.1f} s\n"
    )
    return events


AGGREGATE = """
import os, time, json, django
django.setup()
from datetime import date
from o2c.billing import runs
from o2c.ledger.models import LegalEntity
entity = LegalEntity.objects.get(is_default=True)
as_of = date.fromisoformat(os.environ["BENCH_AS_OF"])
candidates = runs._candidates(entity, as_of)
catalogue = runs._Catalogue(entity)
terms = runs._terms_of([s.pk for s in candidates])
started = time.perf_counter()
usage = runs._usage(candidates, terms, catalogue, as_of)
print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "periods": len(usage)}))
"""


PDF = """
import json, time, django
django.setup()
from o2c.billing import delivery
from o2c.documents.invoice_pdf import render_invoice_pdf
from o2c.receivables.models import Document
documents = list(
    Document.objects.filter(status="issued").select_related("entity", "customer").order_by("pk")[:40]
)
started = time.perf_counter()
size = 0
for document in documents:
    size += len(render_invoice_pdf(delivery.invoice_print(document)))
seconds = time.perf_counter() - started
print(json.dumps({"documents": len(documents), "seconds": round(seconds, 2),
                  "per_second": round(len(documents) / seconds, 1) if seconds else None,
                  "average_kb": round(size / max(len(documents), 1) / 1024, 1)}))
"""


def raw_insert_seconds(url: str) -> dict[str, Any]:
    """COPY the rows the run wrote into empty copies of their tables: the physical insert limit."""
    tables = [
        "receivables_document",
        "receivables_documentline",
        "receivables_taxline",
        "billing_billedline",
        "ledger_journalentry",
        "ledger_journalline",
        "audit_auditevent",
        "core_domainevent",
    ]
    rows = 0
    seconds = 0.0
    with _connect(url) as connection, connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
            data = io.BytesIO()
            with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    data.write(chunk)
            count = data.getvalue().count(b"\n")
            started = time.perf_counter()
            with cursor.copy(f"COPY bench_copy_{table} FROM STDIN") as copy:
                copy.write(data.getvalue())
            seconds += time.perf_counter() - started
            rows += count
    return {"rows": rows, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--subscriptions", type=int, default=int(os.environ.get("BENCH_SUBSCRIPTIONS", 100_000))
    )
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 10_000_000)))
    args = parser.parse_args()
    base = os.environ.get("O2C_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench.billing needs O2C_DATABASE_URL pointing at PostgreSQL (scripts/with-postgres)"
        )
    url, drop = _fresh_postgres(base)
    env = {
        **os.environ,
        "O2C_DATABASE_URL": url,
        "O2C_DELIVER_INVOICES": "0",
        "BENCH_AS_OF": AS_OF,
        "DJANGO_SETTINGS_MODULE": "o2c.config.settings",
    }
    try:
        _run([_o2c(), "migrate", "--verbosity", "0"], env=env)
        started = time.perf_counter()
        loaded = _run(
            [
                sys.executable,
                "-c",
                "from bench.billing import load; import json; "
                f"print(json.dumps(load({url!r}, {args.subscriptions}, {args.events})))",
            ],
            env=env,
        )
        data = json.loads(loaded.stdout.strip().splitlines()[-1])
        load_seconds = round(time.perf_counter() - started, 2)
        aggregation = _run([sys.executable, "-c", AGGREGATE], env=env)
        aggregated = json.loads(aggregation.stdout.strip().splitlines()[-1])
        billing = _run([_o2c(), "billing", "run", "--as-of", AS_OF, "--issue", "--format", "json"], env=env)
        invoices = len(json.loads(billing.stdout)["invoices"])
        raw = raw_insert_seconds(url)
        pdf = json.loads(_run([sys.executable, "-c", PDF], env=env).stdout.strip().splitlines()[-1])
        verify = _run([_o2c(), "ledger", "verify"], env=env, check=False)
    finally:
        drop()
    figures = {
        "machine": machine(),
        "data": data | {"load_seconds": load_seconds},
        "usage_aggregation": {
            "seconds": aggregated["seconds"],
            "periods": aggregated["periods"],
            "target_seconds": 15,
        },
        "billing_run": {
            "seconds": billing.seconds,
            "peak_rss_mb": billing.peak_rss_mb,
            "invoices": invoices,
            "invoices_per_second": round(invoices / billing.seconds, 1) if billing.seconds else None,
            "target_seconds": 120,
            "target_peak_rss_mb": 3072,
        },
        "raw_copy_of_written_rows": raw
        | {"rows_per_second": round(raw["rows"] / raw["seconds"]) if raw["seconds"] else None},
        "ledger_verify_exit_status": verify.exit_status,
        "pdf_rendering_measured_apart": pdf,
    }
    path = _write("billing_postgresql", figures)
    print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=2))
    sys.stderr.write(f"bench: figures written to {path.relative_to(RESULTS.parent.parent)}\n")


if __name__ == "__main__":
    main()
