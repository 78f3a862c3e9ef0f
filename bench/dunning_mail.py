"""The dunning bench's e-mail part alone: how many notices a second are rendered (template and statement of
account PDF) and sent, in one process and in worker processes.

    O2C_PG_SERVER_OPTIONS="-c shared_buffers=2GB -c max_wal_size=4GB" \\
        scripts/with-postgres .venv/bin/python -m bench.dunning_mail --mail 300

The book is `bench.dunning`'s at a smaller size (default 4,000 customers, 40,000 open items, so the run
that writes the notices takes seconds); the run's e-mail is handed over after commit but not sent. Then
two samples of `--mail` e-mail notices each (the first ones, then the next ones) are sent through
`collections.delivery.notices_send`, as a run sends them after commit, through Django's SMTP backend to
a real SMTP server on loopback (aiosmtpd): the first sample in one process, the second with `--workers`
worker processes (default: the CPUs). Figures go to stdout and bench/results/dunning_mail_<database>.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _say(message: str) -> None:
    print(f"[dunning-mail] {message}", flush=True)


_NEUTRAL = {
    "character varying": "''",
    "text": "''",
    "boolean": "false",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "numeric": "0",
    "jsonb": "'{}'",
}


def _neutral_defaults(cursor: Any) -> None:
    """Columns the apps added since `bench.dunning`'s loader was written (NOT NULL, no default) get a
    neutral default for the load, so its INSERTs still fit the tables."""
    cursor.execute(
        """
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_name IN ('customers_customer', 'receivables_document') AND is_nullable = 'NO'
            AND column_default IS NULL AND is_identity = 'NO' AND column_name <> 'id'
        """
    )
    for table, column, data_type in cursor.fetchall():
        if data_type in _NEUTRAL:
            cursor.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {_NEUTRAL[data_type]}')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--items", type=int, default=40_000)
    parser.add_argument("--mail", type=int, default=300, help="e-mail notices per sample (default 300)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if not os.environ.get("O2C_DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.dunning_mail needs O2C_DATABASE_URL pointing at PostgreSQL")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.dunning import AS_OF, _free_port, _load
    from bench.run import _write as write_results
    from bench.run import machine
    from o2c.collections import delivery, services
    from o2c.collections.models import DunningNotice
    from o2c.ledger.models import LegalEntity

    started = machine()
    call_command("migrate", verbosity=0)
    entity = LegalEntity.objects.get(is_default=True)
    with transaction.atomic(), connection.cursor() as cursor:
        _neutral_defaults(cursor)
        _load(cursor, entity_id=entity.pk, customers=args.customers, items=args.items)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 6, 0, tzinfo=UTC)
    handed: list[int] = []
    deliver = delivery.notices_deliver
    delivery.notices_deliver = lambda *, notice_ids, **_: handed.extend(notice_ids)  # type: ignore[assignment]
    try:
        result = services.dunning_run(entity=entity, as_of=AS_OF, dry_run=False, actor=None, now=now)
    finally:
        delivery.notices_deliver = deliver  # type: ignore[assignment]
    _say(f"{len(result.notices):,} notices written, {len(handed):,} of them e-mail")
    if len(handed) < 2 * args.mail:
        raise SystemExit(f"bench: only {len(handed)} e-mail notices, fewer than two samples of {args.mail}")

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
    figures: dict[str, Any] = {}
    try:
        for label, workers, sample in (
            ("one_process", 1, handed[: args.mail]),
            ("workers", args.workers, handed[args.mail : 2 * args.mail]),
        ):
            began = time.perf_counter()
            delivery.notices_send(notice_ids=sample, now=now, workers=workers)
            seconds = round(time.perf_counter() - began, 2)
            sent = DunningNotice.objects.filter(pk__in=sample, status="sent").count()
            rate = round(sent / seconds, 1) if seconds else None
            figures[label] = {"workers": workers, "sent": sent, "seconds": seconds, "per_second": rate}
            _say(f"{label}: {sent:,} of {len(sample):,} sent in {seconds} s ({rate}/s), {workers} workers")
    finally:
        controller.stop()
    ended = machine()
    result_json = {
        "name": f"dunning_mail_{connection.vendor}",
        "machine": started,
        "load_average_at_end": ended.get("load_average_at_start"),
        "data": {"customers": args.customers, "open_items": args.items, "as_of": AS_OF.isoformat()},
        "e_mail_notices": len(handed),
        "mail": figures,
        "received": Received.count,
    }
    path = write_results(str(result_json["name"]), result_json)
    _say(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
