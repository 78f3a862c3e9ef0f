"""`make bench-dunning`: a dunning run over a large book of open items, then the e-mail apart.

    scripts/with-postgres .venv/bin/python -m bench.dunning                  # 100,000 / 1,000,000
    scripts/with-postgres .venv/bin/python -m bench.dunning --items 100000 --mail 1000

The book is loaded with set-based SQL: N customers (a quarter German, French, Spanish and English
speaking), M issued invoices all open, due from 10 days ahead to 64 days past (so every level of the
standard plan is reached, and the pre-due reminder), one in 97 disputed. Then, in this process through
the same service the command calls (`collections.services.dunning_run`):

- a dry run (reads and decides, writes nothing);
- the run itself, committed (notices, their items and audit rows written), the e-mail handed over after
  commit but not sent here: the issue measures sending apart;
- the same run again on the same day (sends nothing twice);
- sending the first `--mail` e-mail notices through Django's SMTP backend to a real SMTP server on
  loopback (aiosmtpd), reported as notices per second;
- a collector's worklist (`collections.selectors.worklist`, what `GET /api/collections/worklist` reads):
  the customers are split between 20 collectors, the median of five reads of one portfolio; and her
  worklist page (`GET /collections/`, the first 50 lines rendered; the day's tasks come in by a
  request of their own), the median of five.

Figures go to stdout and to bench/results/dunning_<database>.json. Targets (issue 6): the run over
100,000 customers and 1,000,000 open items in at most 60 s on PostgreSQL; a collector's worklist under
200 ms server time at 1,000,000 open items.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 10, 30)
TARGET_SECONDS = 60.0
WORKLIST_TARGET_MS = 200.0
COLLECTORS = 20


def _say(message: str) -> None:
    print(f"[dunning] {message}", flush=True)


def _load(cursor: Any, *, entity_id: int, customers: int, items: int) -> None:
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET LOCAL session_replication_role = replica")  # generated consistent (bench.reporting)
    cursor.execute(
        """
        INSERT INTO customers_customer (id, number, name, country, currency, language, payment_terms,
            email, vat_id, status, crm_id, erp_id, address, created_at, updated_at, entity_id, region)
        SELECT 1000000 + g, 'D' || lpad(g::text, 7, '0'), 'Customer ' || g,
            (ARRAY['DE', 'FR', 'ES', 'GB'])[1 + g %% 4], 'EUR', (ARRAY['de', 'fr', 'es', 'en'])[1 + g %% 4],
            'NET30', 'ap' || g || '@example.com', '', 'active', '', '', '', now(), now(), %s, ''
        FROM generate_series(1, %s) AS g
        """,
        [entity_id, customers],
    )
    # due from 10 days ahead (g %% 75 = 0) to 64 days past; amounts 10.00 to 5,009.99
    cursor.execute(
        """
        INSERT INTO receivables_document (id, document_type, status, number, currency, net_minor, tax_minor,
            total_minor, open_minor, settlement, issue_date, due_date, discount_percent, payment_terms,
            po_number, is_disputed, is_migrated, notes, created_at, issued_at, customer_id, entity_id, origin,
            approval_state, reason_code)
        SELECT 20000000 + g, 'invoice', 'issued', 'D-' || g, 'EUR', t, 0, t, t, 'open',
            %s::date + 10 - (g %% 75)::int - 30, %s::date + 10 - (g %% 75)::int, 0, 'NET30', '',
            g %% 97 = 0, false, '', now(), now(), 1000001 + (g %% %s), %s, 'manual', 'not_required', ''
        FROM (
            SELECT g, 1000 + (g * 7919) %% 500000 AS t FROM generate_series(1::bigint, %s::bigint) AS g
        ) AS s
        """,
        [AS_OF, AS_OF, customers, entity_id, items],
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _worklist_page(collector: Any, entity: Any, now: datetime) -> float:
    """The collector's worklist page as she sees it (`GET /collections/`: the worklist, the first 50
    lines rendered) through django.test.Client: the median of five requests, in ms."""
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.test.utils import setup_test_environment

    from o2c.ledger import services as ledger_services

    setup_test_environment()
    collector.groups.add(Group.objects.get(name="collector"))
    ledger_services.entity_grant(user=collector, entity=entity, now=now, actor=None)
    client = Client()
    client.force_login(collector)
    timings = []
    for _ in range(6):
        began = time.perf_counter()
        response = client.get("/collections/")
        timings.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"bench: GET /collections/ answered {response.status_code}")
    return round(statistics.median(timings[1:]), 1)  # the first warms the session and the templates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument(
        "--mail", type=int, default=2_000, help="e-mail notices to send apart (default 2,000)"
    )
    args = parser.parse_args(argv)
    if not os.environ.get("O2C_DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.dunning needs O2C_DATABASE_URL pointing at PostgreSQL")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.run import _write as write_results
    from bench.run import machine
    from o2c.collections import delivery, selectors, services
    from o2c.collections.models import DunningNotice
    from o2c.ledger.models import LegalEntity

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    entity = LegalEntity.objects.get(is_default=True)
    with transaction.atomic(), connection.cursor() as cursor:
        _load(cursor, entity_id=entity.pk, customers=args.customers, items=args.items)
    collectors = [User.objects.create_user(f"collector{n:02d}") for n in range(COLLECTORS)]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer SET collector_id = (%s::bigint[])[1 + id %% %s] WHERE entity_id = %s",
            [[user.pk for user in collectors], COLLECTORS, entity.pk],
        )
        cursor.execute("VACUUM ANALYZE")
    loaded = round(time.perf_counter() - started, 1)
    _say(f"{args.items:,} open items of {args.customers:,} customers in {loaded} s")
    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 6, 0, tzinfo=UTC)

    def timed(dry_run: bool) -> tuple[float, Any]:
        began = time.perf_counter()
        result = services.dunning_run(entity=entity, as_of=AS_OF, dry_run=dry_run, actor=None, now=now)
        return round(time.perf_counter() - began, 2), result

    handed: list[int] = []
    deliver = delivery.notices_deliver
    delivery.notices_deliver = lambda *, notice_ids, **_: handed.extend(notice_ids)
    try:
        dry_seconds, dry = timed(True)
        _say(f"dry run: {len(dry.notices):,} notices in {dry_seconds} s")
        run_seconds, result = timed(False)
        items = sum(len(notice.items) for notice in result.notices)
        _say(f"run: {len(result.notices):,} notices of {items:,} items written in {run_seconds} s")
        again_seconds, again = timed(False)
        _say(f"again on the same day: {len(again.notices)} notices in {again_seconds} s")
    finally:
        delivery.notices_deliver = deliver

    class Received:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Received.count += 1
            return "250 OK"

    port = _free_port()
    controller = Controller(Received(), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    sample = handed[: args.mail]
    try:
        began = time.perf_counter()
        delivery.notices_send(notice_ids=sample, now=now)
        mail_seconds = round(time.perf_counter() - began, 2)
    finally:
        controller.stop()
    reads = []
    for _ in range(5):
        began = time.perf_counter()
        lines = selectors.worklist(entity_ids=[entity.pk], collector_id=collectors[0].pk, today=AS_OF)
        reads.append((time.perf_counter() - began) * 1000)
    worklist_ms = round(statistics.median(reads), 1)
    _say(f"worklist: {len(lines):,} customers of one collector in {worklist_ms} ms (median of 5)")
    page_ms = _worklist_page(collectors[0], entity, now)
    _say(f"worklist page GET /collections/ (50 lines rendered) in {page_ms} ms (median of 5)")
    sent = DunningNotice.objects.filter(pk__in=sample, status="sent").count()
    rate = round(sent / mail_seconds, 1) if mail_seconds else None
    _say(
        f"e-mail: {sent:,} of {len(sample):,} notices sent in {mail_seconds} s ({rate}/s), "
        f"{Received.count} received"
    )
    result_json: dict[str, Any] = {
        "name": f"dunning_{connection.vendor}",
        "machine": machine(),
        "data": {"customers": args.customers, "open_items": args.items, "as_of": AS_OF.isoformat()},
        "load_seconds": loaded,
        "dry_run_seconds": dry_seconds,
        "run_seconds": run_seconds,
        "notices": len(result.notices),
        "notice_items": items,
        "e_mail_notices": len(handed),
        "again_seconds": again_seconds,
        "again_notices": len(again.notices),
        "mail": {"sent": sent, "seconds": mail_seconds, "per_second": rate, "received": Received.count},
        "worklist": {
            "collectors": COLLECTORS,
            "lines": len(lines),
            "milliseconds": worklist_ms,
            "page_milliseconds": page_ms,
        },
        "targets": {"run_seconds": TARGET_SECONDS, "worklist_milliseconds": WORKLIST_TARGET_MS},
    }
    path = write_results(result_json["name"], result_json)
    _say(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
