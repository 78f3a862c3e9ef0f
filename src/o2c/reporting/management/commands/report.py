"""`o2c report trial-balance --as-of DATE [--format table|csv|json] [--functional]`."""

from __future__ import annotations

import csv
import json
import sys
from argparse import ArgumentParser
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale
from o2c.core.money import format_minor
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of: '{text}' is not an ISO 8601 date (YYYY-MM-DD)") from None


class Command(O2CCommand):
    help = "Reports. trial-balance: one row per ledger account and transaction currency."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("report", choices=["trial-balance"])
        parser.add_argument("--as-of", required=True)
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument("--functional", action="store_true", help="add functional-currency columns")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        as_of = _as_of(options["as_of"])
        # --entity CODE, else the default entity (DESIGN: the only entity, or the settings' default)
        entity = (
            LegalEntity.objects.filter(code=options["entity"]).first()
            if options["entity"]
            else ledger_selectors.entity_default()
        )
        if entity is None:
            raise InputError(f"--entity: unknown legal entity '{options['entity']}'")
        entity_ids = [entity.pk]
        rows = ledger_selectors.trial_balance(entity_ids=entity_ids, as_of=as_of)
        functional = options["functional"]
        records = []
        for row in rows:
            record: dict[str, Any] = {
                "entity": row.entity_code,
                "account": row.account_code,
                "name": row.account_name,
                "type": row.account_type,
                "currency": row.currency,
                "debit": format_minor(row.debit_minor, row.currency),
                "credit": format_minor(row.credit_minor, row.currency),
            }
            if functional:
                record["functional_currency"] = row.functional_currency
                record["functional_debit"] = format_minor(row.functional_debit_minor, row.functional_currency)
                record["functional_credit"] = format_minor(
                    row.functional_credit_minor, row.functional_currency
                )
            records.append(record)
        fmt = options["format"]
        if fmt == "json":
            sys.stdout.write(
                json.dumps({"as_of": as_of.isoformat(), "accounts": records}, ensure_ascii=False, indent=2)
            )
            sys.stdout.write("\n")
        elif fmt == "csv":
            columns = ["entity", "account", "name", "type", "currency", "debit", "credit"]
            if functional:
                columns += ["functional_currency", "functional_debit", "functional_credit"]
            writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
        else:
            self._table(rows, as_of, functional)

    def _table(self, rows: list[ledger_selectors.TrialBalanceRow], as_of: date, functional: bool) -> None:
        locale = cli_locale()
        table = Table(title=f"Trial balance as of {as_of.isoformat()}")
        for column in ("Entity", "Account", "Name", "Type", "Currency", "Debit", "Credit"):
            table.add_column(column, justify="right" if column in {"Debit", "Credit"} else "left")
        if functional:
            table.add_column("Functional debit", justify="right")
            table.add_column("Functional credit", justify="right")
        for row in rows:
            cells = [
                row.entity_code,
                row.account_code,
                row.account_name,
                row.account_type,
                row.currency,
                amount_human(row.debit_minor, row.currency, locale),
                amount_human(row.credit_minor, row.currency, locale),
            ]
            if functional:
                cells += [
                    amount_human(row.functional_debit_minor, row.functional_currency, locale),
                    amount_human(row.functional_credit_minor, row.functional_currency, locale),
                ]
            table.add_row(*cells)
        Console(width=160).print(table)
