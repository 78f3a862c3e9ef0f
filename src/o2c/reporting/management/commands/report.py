"""`o2c report trial-balance|aging|kpis --as-of DATE [--format ...] [--entity CODE]`.

- trial-balance `[--format table|csv|json] [--functional]`: one row per ledger account and currency.
- aging `[--basis due|invoice] [--format table|csv|json|xlsx] [--output FILE] [--buckets 30,60,90]
  [--reporting-currency CCY] [--deductions]`: one row per customer and currency, as of any date
  (docs/reporting.md).
- kpis `[--format table|json]`: DSO, CEI and the rest in the entity's functional currency (docs/kpis.md).
- rollforward `--period YYYY-MM [--format table|csv|json] [--movement M [--currency CCY]] [--functional]`:
  the AR rollforward of a month per currency, or the journal lines behind one movement; with
  `--functional` in the functional currency with the FX revaluation and a total (docs/close.md).
- tie-out `--as-of DATE [--format table|csv|json]`: open items against the receivable accounts per
  customer and currency, the differences (docs/close.md).
- snapshots `[--through DATE]`: take the weekly aging snapshot of every week missing up to the date
  (default: the last week that is over), for cron (docs/reporting.md, Dashboard).
- risk `--as-of DATE [--format table|csv|json] [--all]`: high-risk accounts with their reasons, and each
  account's days to pay and days late over the last 90 days and the 90 before (docs/kpis.md).
- collectors `--period YYYY-MM [--as-of DATE] [--format table|csv|json]`: the portfolio review, per
  collector and currency what the portfolio owes and what was collected in the month against the
  collector's target (docs/kpis.md).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from argparse import ArgumentParser
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from rich.console import Console
from rich.table import Table

from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option
from o2c.core.exceptions import DomainError, InputError
from o2c.core.formatting import amount_human, cli_language, cli_locale, date_human
from o2c.core.money import format_minor
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.errors import UnableToConvertCurrency
from o2c.ledger.models import LegalEntity
from o2c.ledger.options import entities_option, entity_option
from o2c.reporting import calculations, collectors, exports, risk, rollforward, selectors, snapshots
from o2c.reporting.rollforward import month_start

FORMATS = {
    "trial-balance": ("table", "csv", "json"),
    "aging": ("table", "csv", "json", "xlsx"),
    "kpis": ("table", "json"),
    "rollforward": ("table", "csv", "json"),
    "tie-out": ("table", "csv", "json"),
    "risk": ("table", "csv", "json"),
    "snapshots": ("table",),
    "collectors": ("table", "csv", "json"),
}


def _as_of(text: str, option: str = "--as-of") -> date:
    return date_option(option, text)


class Command(O2CCommand):
    help = (
        "Reports. trial-balance: one row per ledger account and transaction currency; aging: open items "
        "and unapplied cash per customer and currency by age; kpis: DSO, CEI, percent current and more."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("report", choices=list(FORMATS))
        parser.add_argument("--as-of", help="the report date (all but rollforward)")
        parser.add_argument("--period", metavar="YYYY-MM", help="rollforward, collectors: the month")
        parser.add_argument(
            "--movement",
            choices=list(rollforward.MOVEMENTS),
            help="rollforward: list the journal lines behind this movement",
        )
        parser.add_argument("--currency", metavar="CCY", help="rollforward --movement: only this currency")
        parser.add_argument(
            "--all",
            action="store_true",
            help="risk: every account with its payment behaviour, not only flagged",
        )
        parser.add_argument(
            "--format", choices=["table", "csv", "json", "xlsx"], default="table", help="default table"
        )
        parser.add_argument(
            "--functional",
            action="store_true",
            help="trial-balance: add functional-currency columns; rollforward: in the functional currency, "
            "with the FX revaluation",
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
        parser.add_argument(
            "--group-by",
            choices=list(selectors.GROUPINGS),
            default="customer",
            help="aging: one row per customer (default), parent (its group), collector, entity, or currency "
            "(every entity together)",
        )
        parser.add_argument(
            "--buckets",
            metavar="DAYS",
            help="aging: the buckets' day boundaries, rising, 1 to 8 of them (default 30,60,90,120)",
        )
        parser.add_argument(
            "--reporting-currency",
            metavar="CCY",
            help="aging: every amount converted into CCY at the FX rates of the report date",
        )
        parser.add_argument(
            "--deductions",
            action="store_true",
            help="aging --format xlsx: a deduction column in the Data sheet (short pays left open)",
        )
        parser.add_argument(
            "--entity",
            help="legal entity code (default: the default entity); aging: several codes, comma-separated, "
            "or all",
        )
        parser.add_argument(
            "--through", help="snapshots: take the weeks ending up to this date (default: the last week over)"
        )

    def run(self, *args: Any, **options: Any) -> None:
        report = options["report"]
        if options["format"] not in FORMATS[report]:
            with translation.override(cli_language()):
                raise InputError(
                    _("--format: %(report)s is written as %(formats)s, not %(format)s")
                    % {"report": report, "formats": ", ".join(FORMATS[report]), "format": options["format"]}
                )
        with translation.override(cli_language()):
            if report == "rollforward":
                if not options["period"]:
                    raise InputError(_("--period: the rollforward needs the month, YYYY-MM"))
                self._rollforward(entity_option(options["entity"]), options)
                return
            if report == "snapshots":
                self._snapshots(entity_option(options["entity"]), options["through"])
                return
            if report == "collectors":
                if not options["period"]:
                    raise InputError(_("--period: the portfolio review needs the month, YYYY-MM"))
                self._collectors(entity_option(options["entity"]), options)
                return
            if not options["as_of"]:
                raise InputError(_("--as-of: the report needs its date, YYYY-MM-DD"))
        if report == "trial-balance":
            self._trial_balance(options)
            return
        with translation.override(cli_language()):
            as_of = _as_of(options["as_of"])
            if report == "aging":
                # the aging may cover several legal entities (a shared-service centre's clients)
                self._aging(entities_option(options["entity"]), as_of, options)
                return
            entity = entity_option(options["entity"])
            if report == "risk":
                self._risk(entity, as_of, options)
                return
            if report == "tie-out":
                self._tie_out(entity, as_of, options["format"])
                return
            self._kpis(entity, as_of, options["format"])

    def _trial_balance(self, options: dict[str, Any]) -> None:
        as_of = _as_of(options["as_of"])
        entity_ids = [entity_option(options["entity"]).pk]
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

    def _aging(self, entities: list[LegalEntity], as_of: date, options: dict[str, Any]) -> None:
        fmt, basis, output = options["format"], options["basis"], options["output"]
        bounds = (
            calculations.parse_bucket_bounds(options["buckets"])
            if options["buckets"] is not None
            else selectors.DEFAULT_BOUNDS
        )
        currency = (
            calculations.parse_reporting_currency(options["reporting_currency"])
            if options["reporting_currency"] is not None
            else None
        )
        deductions = options["deductions"]
        if deductions and fmt != "xlsx":
            raise InputError(
                _("--deductions: the deductions are a column of the Excel Data sheet: add --format xlsx")
            )
        entity_ids = [entity.pk for entity in entities]
        unconverted = report = selectors.aging(entity_ids=entity_ids, as_of=as_of, basis=basis, bounds=bounds)
        if currency is not None:
            try:
                report = selectors.aging_in_currency(report, currency)
            except UnableToConvertCurrency as error:
                raise InputError(f"--reporting-currency: {error.message}", code=error.code) from None
        group_by = options["group_by"]
        if fmt != "xlsx":
            report = selectors.aging_grouped(report, group_by)
        if fmt == "xlsx":
            data = exports.aging_workbook(
                report,
                selectors.aging_items(
                    entity_ids=entity_ids,
                    as_of=as_of,
                    basis=basis,
                    bounds=bounds,
                    with_deductions=deductions,
                ),
                entity_names={entity.code: entity.name for entity in entities},
                deductions=deductions,
                unconverted=unconverted if currency is not None else None,
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
            self._aging_table(report, entities, group_by)
            return
        if fmt == "json":
            text = json.dumps(exports.aging_json(report, group_by), ensure_ascii=False, indent=2) + "\n"
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(
                buffer, fieldnames=exports.aging_columns(group_by, report.bucket_names), lineterminator="\n"
            )
            writer.writeheader()
            writer.writerows(exports.aging_record(row, group_by) for row in report.rows)
            text = buffer.getvalue()
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)

    def _aging_table(self, report: selectors.AgingReport, entities: list[LegalEntity], group_by: str) -> None:
        locale = cli_locale()
        labels = exports.bucket_labels(report.bucket_names)
        basis = _("due date") if report.basis == selectors.DUE else _("invoice date")
        codes = ", ".join(entity.code for entity in entities)
        values = {"entity": codes, "date": date_human(report.as_of, locale), "basis": basis}
        title = (
            _("Aging of %(entity)s as of %(date)s by %(basis)s in %(currency)s")
            % {**values, "currency": report.reporting_currency}
            if report.reporting_currency
            else _("Aging of %(entity)s as of %(date)s by %(basis)s") % values
        )
        table = Table(title=title)
        several = len(entities) > 1
        heading = {
            "customer": _("Customer"),
            "parent": _("Group (parent)"),
            "collector": _("Collector"),
            "entity": _("Customers"),
            "currency": _("Customers"),
        }[group_by]
        if several:
            table.add_column(_("Entity"))
        table.add_column(heading)
        table.add_column(_("Currency"))
        for key in (*report.bucket_names, "unapplied", "total"):
            table.add_column(labels[key], justify="right")
        for row in report.rows:
            table.add_row(
                *((row.entity_code,) if several else ()),
                row.customer_number
                or (
                    _("all")
                    if group_by in ("entity", "currency")
                    else "—"
                    if group_by == "collector"
                    else _("(not identified)")
                ),
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
                    *((total.entity_code,) if several else ()),
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

    # --- weekly aging snapshots -------------------------------------------------------------------------

    def _snapshots(self, entity: LegalEntity, through_text: str | None) -> None:
        now = clock.now()
        through = _as_of(through_text, "--through") if through_text else clock.today_in(entity.time_zone)
        taken = snapshots.snapshots_take(entity=entity, through=through, now=now)
        if taken:
            self.note(
                ngettext(
                    "%(entity)s: %(count)d weekly aging snapshot taken (%(first)s to %(last)s)",
                    "%(entity)s: %(count)d weekly aging snapshots taken (%(first)s to %(last)s)",
                    len(taken),
                )
                % {
                    "entity": entity.code,
                    "count": len(taken),
                    "first": taken[0].isoformat(),
                    "last": taken[-1].isoformat(),
                }
            )
        else:
            self.note(_("%(entity)s: the weekly aging snapshots are up to date") % {"entity": entity.code})

    # --- rollforward and tie-out ------------------------------------------------------------------------

    def _write(
        self, fmt: str, document: dict[str, Any], rows: list[dict[str, Any]], columns: list[str]
    ) -> None:
        if fmt == "json":
            sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
            return
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    def _rollforward(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        try:
            start = month_start(options["period"])
        except DomainError as error:
            raise InputError(f"--period: {error.message}") from None
        fmt, locale = options["format"], cli_locale()
        if options["functional"]:
            if options["movement"]:
                raise InputError(
                    _("--functional: the lines of a movement are listed in transaction currency")
                )
            self._rollforward_functional(entity, start, fmt, locale)
            return
        if options["movement"]:
            lines = rollforward.rollforward_lines(
                entity=entity, start=start, movement=options["movement"], currency=options["currency"]
            )
            records = [
                {
                    "entity": entity.code,
                    "entry": line.entry_id,
                    "posting_date": line.posting_date.isoformat(),
                    "dated": line.dated.isoformat() if line.dated else "",
                    "description": line.description,
                    "customer_number": line.customer_number,
                    "document_number": line.document_number,
                    "currency": line.currency,
                    "amount": format_minor(line.amount_minor, line.currency),
                }
                for line in lines
            ]
            if fmt != "table":
                document = {"period": f"{start:%Y-%m}", "movement": options["movement"], "lines": records}
                self._write(fmt, document, records, list(ROLLFORWARD_LINE_COLUMNS))
                return
            table = Table(
                title=_("%(movement)s of %(entity)s in %(period)s")
                % {
                    "movement": rollforward.movement_labels()[options["movement"]],
                    "entity": entity.code,
                    "period": f"{start:%Y-%m}",
                }
            )
            for column in (_("Entry"), _("Posted"), _("Dated"), _("Customer"), _("Document"), _("Amount")):
                table.add_column(column, justify="right" if column == _("Amount") else "left")
            for line in lines:
                table.add_row(
                    f"JE{line.entry_id}",
                    date_human(line.posting_date, locale),
                    date_human(line.dated, locale) if line.dated else "",
                    line.customer_number,
                    line.document_number,
                    amount_human(line.amount_minor, line.currency, locale),
                )
            Console(width=160).print(table)
            return
        report = rollforward.rollforward(entity=entity, start=start)
        rows = [
            {
                "entity": row.entity_code,
                "currency": row.currency,
                "opening": format_minor(row.opening_minor, row.currency),
                **{
                    name: format_minor(row.movements_minor[name], row.currency)
                    for name in rollforward.MOVEMENTS
                },
                "closing": format_minor(row.closing_minor, row.currency),
                "subledger_closing": format_minor(row.subledger_closing_minor, row.currency),
                "difference": format_minor(row.difference_minor, row.currency),
            }
            for row in report.rows
        ]
        late = [
            {
                "entry": item.entry_id,
                "dated": item.dated.isoformat(),
                "posting_date": item.posting_date.isoformat(),
                "description": item.description,
                "currency": item.currency,
                "amount": format_minor(item.receivable_minor, item.currency),
            }
            for item in report.late_entries
        ]
        if fmt != "table":
            document = {
                "entity": entity.code,
                "period": f"{start:%Y-%m}",
                "first": report.start.isoformat(),
                "last": report.end.isoformat(),
                "rows": rows,
                "late_entries": late,
            }
            self._write(
                fmt,
                document,
                rows,
                [
                    "entity",
                    "currency",
                    "opening",
                    *rollforward.MOVEMENTS,
                    "closing",
                    "subledger_closing",
                    "difference",
                ],
            )
            return
        labels = rollforward.movement_labels()
        table = Table(
            title=_("AR rollforward of %(entity)s, %(first)s to %(last)s")
            % {
                "entity": entity.code,
                "first": date_human(report.start, locale),
                "last": date_human(report.end, locale),
            }
        )
        table.add_column("")
        for row in report.rows:
            table.add_column(row.currency, justify="right")
        figures: list[tuple[str, list[int]]] = [
            (labels["opening"], [row.opening_minor for row in report.rows])
        ]
        figures += [
            (labels[name], [row.movements_minor[name] for row in report.rows])
            for name in rollforward.MOVEMENTS
        ]
        figures += [
            (labels["closing"], [row.closing_minor for row in report.rows]),
            (labels["subledger_closing"], [row.subledger_closing_minor for row in report.rows]),
            (labels["difference"], [row.difference_minor for row in report.rows]),
        ]
        for label, amounts in figures:
            table.add_row(
                label,
                *(
                    amount_human(minor, row.currency, locale)
                    for minor, row in zip(amounts, report.rows, strict=True)
                ),
            )
        if not report.rows:
            table.caption = _("No receivables in that month.")
        Console(width=160).print(table)
        for item in report.late_entries:
            self.note(
                _("late entry JE%(entry)s dated %(dated)s posted %(posted)s: %(amount)s")
                % {
                    "entry": item.entry_id,
                    "dated": date_human(item.dated, locale),
                    "posted": date_human(item.posting_date, locale),
                    "amount": amount_human(item.receivable_minor, item.currency, locale),
                }
            )

    def _rollforward_functional(self, entity: LegalEntity, start: date, fmt: str, locale: str) -> None:
        report = rollforward.rollforward_functional(entity=entity, start=start)
        functional = report.functional_currency

        def record(row: rollforward.FunctionalRow) -> dict[str, str]:
            return {
                "entity": entity.code,
                "currency": row.currency,
                "opening": format_minor(row.opening_minor, functional),
                **{
                    name: format_minor(row.movements_minor[name], functional)
                    for name in rollforward.FUNCTIONAL_MOVEMENTS
                },
                "closing": format_minor(row.closing_minor, functional),
            }

        rows = [record(row) for row in report.rows]
        if fmt != "table":
            document = {
                "entity": entity.code,
                "period": f"{start:%Y-%m}",
                "first": report.start.isoformat(),
                "last": report.end.isoformat(),
                "functional_currency": functional,
                "rows": rows,
                "total": record(report.total),
            }
            columns = ["entity", "currency", "opening", *rollforward.FUNCTIONAL_MOVEMENTS, "closing"]
            self._write(fmt, document, rows, columns)
            return
        labels = rollforward.movement_labels()
        table = Table(
            title=_("AR rollforward of %(entity)s in %(currency)s, %(first)s to %(last)s")
            % {
                "entity": entity.code,
                "currency": functional,
                "first": date_human(report.start, locale),
                "last": date_human(report.end, locale),
            }
        )
        table.add_column("")
        for row in report.rows:
            table.add_column(row.currency, justify="right")
        table.add_column(_("Total"), justify="right")
        shown = [*report.rows, report.total]
        figures = [
            ("opening", [row.opening_minor for row in shown]),
            *(
                (name, [row.movements_minor[name] for row in shown])
                for name in rollforward.FUNCTIONAL_MOVEMENTS
            ),
            ("closing", [row.closing_minor for row in shown]),
        ]
        for name, amounts in figures:
            table.add_row(labels[name], *(amount_human(minor, functional, locale) for minor in amounts))
        Console(width=160).print(table)

    def _collectors(self, entity: LegalEntity, options: dict[str, Any]) -> None:
        try:
            month = month_start(options["period"])
        except DomainError as error:
            raise InputError(f"--period: {error.message}") from None
        # a month not over yet is reviewed as of today (or --as-of)
        as_of = (
            _as_of(options["as_of"])
            if options["as_of"]
            else min(collectors.month_last(month), clock.today_in(entity.time_zone))
        )
        if as_of < month:
            raise InputError(
                _("--as-of: %(date)s is before the month %(month)s")
                % {"date": as_of.isoformat(), "month": options["period"]}
            )
        found = collectors.portfolio_review(entity_ids=[entity.pk], month=month, as_of=as_of)
        rows = [
            {
                "entity": row.entity_code,
                "collector": row.collector,
                "currency": row.currency,
                "customers": row.customers,
                "receivable": format_minor(row.receivable_minor, row.currency),
                "past_due": format_minor(row.past_due_minor, row.currency),
                "over_90": format_minor(row.over_90_minor, row.currency),
                "disputed": format_minor(row.disputed_minor, row.currency),
                "unapplied": format_minor(row.unapplied_minor, row.currency),
                "collected": format_minor(row.collected_minor, row.currency),
                "target": "" if row.target_minor is None else format_minor(row.target_minor, row.currency),
                "percent_of_target": "" if row.percent_of_target is None else str(row.percent_of_target),
            }
            for row in found
        ]
        fmt = options["format"]
        if fmt == "json":
            document = {
                "entity": entity.code,
                "period": options["period"],
                "as_of": as_of.isoformat(),
                "collectors": [
                    {
                        **row,
                        "target": row["target"] or None,
                        "percent_of_target": None
                        if item.percent_of_target is None
                        else row["percent_of_target"],
                    }
                    for row, item in zip(rows, found, strict=True)
                ],
            }
            self._write("json", document, [], [])
            return
        if fmt == "csv":
            self._write("csv", {}, rows, list(COLLECTOR_COLUMNS))
            return
        locale = cli_locale()
        table = Table(
            title=_("Portfolio review, %(entity)s, %(period)s as of %(date)s")
            % {"entity": entity.code, "period": options["period"], "date": date_human(as_of, locale)}
        )
        amounts = (_("Open"), _("Past due"), _("Disputed"), _("Unapplied"), _("Collected"), _("Target"))
        for column in (_("Collector"), _("Currency"), _("Customers"), *amounts, _("% of target")):
            table.add_column(column, justify="left" if column in (_("Collector"), _("Currency")) else "right")
        for item in found:
            table.add_row(
                item.collector or _("(no collector)"),
                item.currency,
                format_decimal(item.customers, locale=locale),
                amount_human(item.receivable_minor, item.currency, locale),
                amount_human(item.past_due_minor, item.currency, locale),
                amount_human(item.disputed_minor, item.currency, locale),
                amount_human(item.unapplied_minor, item.currency, locale),
                amount_human(item.collected_minor, item.currency, locale),
                "" if item.target_minor is None else amount_human(item.target_minor, item.currency, locale),
                ""
                if item.percent_of_target is None
                else format_decimal(item.percent_of_target, format="#,##0.00", locale=locale),
            )
        Console(width=180).print(table)

    def _risk(self, entity: LegalEntity, as_of: date, options: dict[str, Any]) -> None:
        found = risk.accounts(entity_ids=[entity.pk], as_of=as_of, flagged_only=not options["all"])

        def days(value: Decimal | None) -> str:
            return "" if value is None else str(value)

        rows = [
            {
                "entity": item.entity_code,
                "customer_number": item.customer_number,
                "currency": item.currency,
                "open": format_minor(item.open_minor, item.currency),
                "over_90": format_minor(item.over_90_minor, item.currency),
                "credit_limit": ""
                if item.credit_limit_minor is None
                else format_minor(item.credit_limit_minor, item.currency),
                "days_to_pay": days(item.recent.days_to_pay if item.recent else None),
                "days_late": days(item.recent.days_late if item.recent else None),
                "days_late_before": days(item.previous.days_late if item.previous else None),
                "flags": " ".join(item.flags),
                "reasons": "; ".join(risk.reasons(item)),
            }
            for item in found
        ]
        if options["format"] == "json":
            accounts = [
                {**row, "flags": item.flags, "reasons": risk.reasons(item)}
                for row, item in zip(rows, found, strict=True)
            ]
            self._write(
                "json", {"entity": entity.code, "as_of": as_of.isoformat(), "accounts": accounts}, [], []
            )
            return
        if options["format"] == "csv":
            self._write("csv", {}, rows, list(RISK_COLUMNS))
            return
        locale = cli_locale()
        table = Table(
            title=_("Accounts for review, %(entity)s as of %(date)s")
            % {"entity": entity.code, "date": date_human(as_of, locale)}
        )
        for column in (
            _("Customer"),
            _("Currency"),
            _("Open"),
            _("Over 90 days"),
            _("Days late"),
            _("Reasons"),
        ):
            table.add_column(column, justify="right" if column in (_("Open"), _("Over 90 days")) else "left")
        for item in found:
            table.add_row(
                item.customer_number,
                item.currency,
                amount_human(item.open_minor, item.currency, locale),
                amount_human(item.over_90_minor, item.currency, locale),
                ""
                if item.recent is None or item.recent.days_late is None
                else format_decimal(item.recent.days_late, locale=locale),
                "\n".join(risk.reasons(item, locale)),
            )
        if not found:
            table.caption = _("No account needs review.")
        Console(width=180).print(table)

    def _tie_out(self, entity: LegalEntity, as_of: date, fmt: str) -> None:
        differences = rollforward.tie_out(entity=entity, as_of=as_of)
        rows = [
            {
                "entity": entity.code,
                "customer_number": row.customer_number,
                "currency": row.currency,
                "subledger": format_minor(row.subledger_minor, row.currency),
                "ledger": format_minor(row.ledger_minor, row.currency),
                "difference": format_minor(row.difference_minor, row.currency),
            }
            for row in differences
        ]
        if fmt != "table":
            document = {"entity": entity.code, "as_of": as_of.isoformat(), "differences": rows}
            self._write(
                fmt,
                document,
                rows,
                ["entity", "customer_number", "currency", "subledger", "ledger", "difference"],
            )
            return
        locale = cli_locale()
        if not differences:
            sys.stdout.write(
                _("%(entity)s as of %(date)s: open items equal the receivable accounts for every customer\n")
                % {"entity": entity.code, "date": date_human(as_of, locale)}
            )
            return
        table = Table(
            title=_("Open items against the receivable accounts, %(entity)s as of %(date)s")
            % {"entity": entity.code, "date": date_human(as_of, locale)}
        )
        for column in (_("Customer"), _("Currency"), _("Open items"), _("Ledger"), _("Difference")):
            table.add_column(column, justify="left" if column in (_("Customer"), _("Currency")) else "right")
        for row in differences:
            table.add_row(
                row.customer_number or _("(no customer)"),
                row.currency,
                amount_human(row.subledger_minor, row.currency, locale),
                amount_human(row.ledger_minor, row.currency, locale),
                amount_human(row.difference_minor, row.currency, locale),
            )
        Console(width=160).print(table)


COLLECTOR_COLUMNS = (
    "entity",
    "collector",
    "currency",
    "customers",
    "receivable",
    "past_due",
    "over_90",
    "disputed",
    "unapplied",
    "collected",
    "target",
    "percent_of_target",
)

RISK_COLUMNS = (
    "entity",
    "customer_number",
    "currency",
    "open",
    "over_90",
    "credit_limit",
    "days_to_pay",
    "days_late",
    "days_late_before",
    "flags",
    "reasons",
)

ROLLFORWARD_LINE_COLUMNS = (
    "entity",
    "entry",
    "posting_date",
    "dated",
    "description",
    "customer_number",
    "document_number",
    "currency",
    "amount",
)
