"""`o2c billing run --as-of DATE [--issue] [--format table|json] [--entity CODE]`."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from o2c.billing import presenters, runs
from o2c.core import clock
from o2c.core.cli import O2CCommand, progress_stages
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of: '{text}' is not an ISO 8601 date (YYYY-MM-DD)") from None


class Command(O2CCommand):
    help = "Billing runs. run: bill every subscription period due by --as-of (a preview unless --issue)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["run"])
        parser.add_argument("--as-of", required=True)
        parser.add_argument("--issue", action="store_true", help="issue and post the invoices")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        as_of = _as_of(options["as_of"])
        entity = (
            LegalEntity.objects.filter(code=options["entity"]).first()
            if options["entity"]
            else ledger_selectors.entity_default()
        )
        if entity is None:
            raise InputError(f"--entity: unknown legal entity '{options['entity']}'")
        with progress_stages() as stage:
            bars: dict[str, Any] = {}

            def progress(name: str, done: int, total: int) -> None:
                if name not in bars:
                    bars[name] = stage(name, total)
                bars[name](1)

            result = runs.billing_run(
                entity=entity,
                as_of=as_of,
                issue=options["issue"],
                actor=None,
                now=clock.now(),
                on_progress=progress,
            )
        for number, message in result.errors:
            self.warn(f"subscription {number}: {message}")
        if options["format"] == "json":
            payload = {
                "as_of": as_of.isoformat(),
                "invoices": [presenters.document_json(d) for d in result.documents],
            }
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
            return
        self._table(result, issued=options["issue"])

    def _table(self, result: runs.RunResult, *, issued: bool) -> None:
        locale = cli_locale()
        verb = "issued" if issued else "drafted (preview)"
        table = Table(title=f"Billing run as of {result.as_of.isoformat()}: {len(result.documents)} {verb}")
        for column in ("Number", "Type", "Customer", "Currency", "Lines", "Net", "Tax", "Gross"):
            table.add_column(
                column, justify="right" if column in {"Lines", "Net", "Tax", "Gross"} else "left"
            )
        for document in result.documents:
            table.add_row(
                document.number or "—",
                document.document_type,
                document.customer_number,
                document.currency,
                str(len(document.lines)),
                amount_human(document.net_minor, document.currency, locale),
                amount_human(document.tax_minor, document.currency, locale),
                amount_human(document.total_minor, document.currency, locale),
            )
        Console(width=160).print(table)
