"""`o2c report trial-balance|aging|kpis --as-of DATE [--format ...] [--entity CODE]`.

- trial-balance `[--format table|csv|json] [--functional]`: one row per ledger account and currency.
- aging `[--basis due|invoice] [--format table|csv|json|xlsx] [--output FILE]`: one row per customer and
  currency, as of any date (docs/reporting.md).
- kpis `[--format table|json]`: DSO, CEI and the rest in the entity's functional currency (docs/kpis.md).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from rich.console import Console
from rich.table import Table

from o2c.core.cli import O2CCommand
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale, date_human
from o2c.core.money import format_minor
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import exports, selectors

FORMATS = {
    "trial-balance": ("table", "csv", "json"),
    "aging": ("table", "csv", "json", "xlsx"),
    "kpis": ("table", "json"),
}


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            _("%(option)s: '%(value)s' is not an ISO 8601 date (YYYY-MM-DD)")
            % {"option": "--as-of", "value": text}
        ) from None


def _language(locale: str) -> str:
    """The interface language of a reader's locale (de_AT -> de), English when O2C does not speak it."""
    language = locale.split("_")[0]
    return language if language in dict(settings.LANGUAGES) else "en"


def _entity(code: str | None) -> LegalEntity:
    """--entity CODE, else the default entity (DESIGN: the only entity, or the settings' default)."""
    if code:
        try:
            return ledger_selectors.entity_get(code=code)
        except LegalEntity.DoesNotExist:
            raise InputError(
                _("--entity: unknown legal entity '%(code)s'") % {"code": code}, code="unknown_entity"
            ) from None
    entity = ledger_selectors.entity_default()
    if entity is None:
        raise InputError(_("there is no legal entity yet: run o2c migrate"), code="unknown_entity")
    return entity


class Command(O2CCommand):
    help = (
        "Reports. trial-balance: one row per ledger account and transaction currency; aging: open items "
        "and unapplied cash per customer and currency by age; kpis: DSO, CEI, percent current and more."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("report", choices=list(FORMATS))
        parser.add_argument("--as-of", required=True)
        parser.add_argument(
            "--format", choices=["table", "csv", "json", "xlsx"], default="table", help="default table"
        )
        parser.add_argument(
            "--functional", action="store_true", help="trial-balance: add functional-currency columns"
        )
        parser.add_argument(
            "--basis",
            choices=list(selectors.BASES),
            default=selectors.DUE,
            help="aging: due (default) or invoice",
        )
        parser.add_argument(
            "--output", metavar="FILE", help="aging: write the report to FILE instead of stdout"
        )
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        report = options["report"]
        if options["format"] not in FORMATS[report]:
            with translation.override(_language(cli_locale())):
                raise InputError(
                    _("--format: %(report)s is written as %(formats)s, not %(format)s")
                    % {"report": report, "formats": ", ".join(FORMATS[report]), "format": options["format"]}
                )
        if report == "trial-balance":
            self._trial_balance(options)
            return
        with translation.override(_language(cli_locale())):
            as_of = _as_of(options["as_of"])
            entity = _entity(options["entity"])
            if report == "aging":
                self._aging(entity, as_of, options)
            else:
                self._kpis(entity, as_of, options["format"])

    def _trial_balance(self, options: dict[str, Any]) -> None:
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

    # --- aging ----------------------------------------------------------------------------------------

    def _aging(self, entity: LegalEntity, as_of: date, options: dict[str, Any]) -> None:
        fmt, basis, output = options["format"], options["basis"], options["output"]
        report = selectors.aging(entity_ids=[entity.pk], as_of=as_of, basis=basis)
        if fmt == "xlsx":
            data = exports.aging_workbook(
                report,
                selectors.aging_items(entity_ids=[entity.pk], as_of=as_of, basis=basis),
                entity_names={entity.code: entity.name},
            )
            if output:
                Path(output).write_bytes(data)
                self.note(_("%(file)s: aging as of %(date)s written") % {"file": output, "date": as_of})
            elif sys.stdout.isatty():
                raise InputError(_("--format xlsx: redirect stdout to a file or name one with --output FILE"))
            else:
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            return
        if fmt == "table":
            self._aging_table(report, entity)
            return
        if fmt == "json":
            text = json.dumps(exports.aging_json(report), ensure_ascii=False, indent=2) + "\n"
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(exports.AGING_COLUMNS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(exports.aging_record(row) for row in report.rows)
            text = buffer.getvalue()
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)

    def _aging_table(self, report: selectors.AgingReport, entity: LegalEntity) -> None:
        locale = cli_locale()
        labels = exports.bucket_labels()
        basis = _("due date") if report.basis == selectors.DUE else _("invoice date")
        table = Table(
            title=_("Aging of %(entity)s as of %(date)s by %(basis)s")
            % {"entity": entity.code, "date": date_human(report.as_of, locale), "basis": basis}
        )
        table.add_column(_("Customer"))
        table.add_column(_("Currency"))
        for key in (*selectors.BUCKETS, "unapplied", "total"):
            table.add_column(labels[key], justify="right")
        for row in report.rows:
            table.add_row(
                row.customer_number or _("(not identified)"),
                row.currency,
                *(amount_human(minor, row.currency, locale) for minor in row.buckets),
                amount_human(row.unapplied_minor, row.currency, locale),
                amount_human(row.total_minor, row.currency, locale),
            )
        totals = report.totals_by_currency()
        if totals:
            table.add_section()
            for total in totals.values():
                table.add_row(
                    pgettext("aging", "Total"),
                    total.currency,
                    *(amount_human(minor, total.currency, locale) for minor in total.buckets),
                    amount_human(total.unapplied_minor, total.currency, locale),
                    amount_human(total.total_minor, total.currency, locale),
                    style="bold",
                )
        if not report.rows:
            table.caption = _("Nothing open and no unapplied cash at that date.")
        Console(width=200).print(table)

    # --- KPIs -----------------------------------------------------------------------------------------

    def _kpis(self, entity: LegalEntity, as_of: date, fmt: str) -> None:
        report = selectors.kpis(entity=entity, as_of=as_of)
        if fmt == "json":
            sys.stdout.write(exports.kpis_json(report) + "\n")
            return
        locale = cli_locale()
        table = Table(
            title=_("KPIs of %(entity)s as of %(date)s (%(currency)s)")
            % {"entity": entity.code, "date": date_human(as_of, locale), "currency": report.currency}
        )
        table.add_column(_("KPI"))
        table.add_column(_("Value"), justify="right")
        for label, value in exports.kpi_lines(report, locale):
            table.add_row(label, value)
        Console(width=120).print(table)
