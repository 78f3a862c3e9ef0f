"""`o2c billing run|unbilled|deferred|reconcile-crm`.

- `run --as-of DATE [--issue] [--format table|json]`: bill every subscription period due by the date.
- `unbilled --as-of DATE [--format table|csv|json]`: service up to the date not yet invoiced, by age.
- `deferred --as-of DATE [--format table|csv|json]`: deferred revenue from the schedules against the
  ledger, per customer and currency.
- `reconcile-crm FILE.csv [--as-of DATE] [--format table|csv|json]`: a CRM bookings export against the
  subscriptions.

All take `--entity CODE` (default: the default entity).
"""

from __future__ import annotations

import csv
import json
import sys
from argparse import ArgumentParser
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from o2c.billing import presenters, reports, runs
from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option, progress_stages
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_locale, date_human
from o2c.core.money import UnableToHandleMoney, ensure_currency, format_minor, parse_amount
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.workspace.csvfiles import read_rows

UNBILLED_COLUMNS = [
    "entity",
    "customer_number",
    "subscription_number",
    "product_code",
    "currency",
    "amount",
    "service_from",
    "age_days",
    "bucket",
]
DEFERRED_COLUMNS = ["entity", "customer_number", "currency", "schedules", "ledger", "difference", "kind"]
CRM_COLUMNS = ["entity", "contract_number", "customer_number", "kind", "crm_value", "billing_value"]
CRM_REQUIRED = (
    "contract_number",
    "customer_number",
    "product_code",
    "quantity",
    "unit_price",
    "currency",
    "start_date",
    "end_date",
)


def _as_of(text: str) -> date:
    return date_option("--as-of", text)


class Command(O2CCommand):
    help = (
        "Billing. run: bill every subscription period due by --as-of (a preview unless --issue). "
        "unbilled: service up to --as-of not yet invoiced, by customer and age. "
        "deferred: deferred revenue from the schedules against the ledger. "
        "reconcile-crm FILE.csv: a CRM bookings export against the subscriptions."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["run", "unbilled", "deferred", "reconcile-crm"])
        parser.add_argument("file", nargs="?", help="reconcile-crm: the CRM bookings export (CSV)")
        parser.add_argument("--as-of", help="required except for reconcile-crm (default: today)")
        parser.add_argument("--issue", action="store_true", help="issue and post the invoices")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")

    def run(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if options["file"] is not None and action != "reconcile-crm":
            raise InputError(_("%(action)s takes no file") % {"action": action})
        if options["issue"] and action != "run":
            raise InputError(_("--issue is only for run"))
        if options["as_of"] is None and action != "reconcile-crm":
            raise InputError(_("--as-of is required"))
        as_of = _as_of(options["as_of"]) if options["as_of"] is not None else None
        entity = (
            LegalEntity.objects.filter(code=options["entity"]).first()
            if options["entity"]
            else ledger_selectors.entity_default()
        )
        if entity is None:
            raise InputError(f"--entity: unknown legal entity '{options['entity']}'")
        if action == "run":
            if options["format"] == "csv":
                raise InputError(_("--format: run writes table or json"))
            assert as_of is not None
            self._run(entity, as_of, options)
        elif action == "unbilled":
            assert as_of is not None
            self._unbilled(entity, as_of, options["format"])
        elif action == "deferred":
            assert as_of is not None
            self._deferred(entity, as_of, options["format"])
        else:
            if options["file"] is None:
                raise InputError(_("reconcile-crm needs the CRM export: o2c billing reconcile-crm FILE.csv"))
            self._reconcile_crm(
                entity,
                Path(options["file"]),
                as_of or clock.today_in(entity.time_zone),
                options["format"],
            )

    def _run(self, entity: LegalEntity, as_of: date, options: dict[str, Any]) -> None:
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

    # ── unbilled ──────────────────────────────────────────────────────────────────────────────────

    def _unbilled(self, entity: LegalEntity, as_of: date, fmt: str) -> None:
        errors: list[tuple[str, str]] = []
        rows = reports.unbilled_revenue(entity=entity, as_of=as_of, errors=errors)
        for number, message in errors:
            self.warn(_("subscription %(number)s: %(message)s") % {"number": number, "message": message})
        records = [
            {
                "entity": row.entity,
                "customer_number": row.customer_number,
                "subscription_number": row.subscription_number,
                "product_code": row.product_code,
                "currency": row.currency,
                "amount": format_minor(row.amount_minor, row.currency),
                "service_from": row.service_from.isoformat(),
                "age_days": row.age_days,
                "bucket": row.bucket,
            }
            for row in rows
        ]
        if fmt == "json":
            _write_json({"as_of": as_of.isoformat(), "rows": records})
        elif fmt == "csv":
            _write_csv(UNBILLED_COLUMNS, records)
        else:
            self._unbilled_table(rows, as_of)

    def _unbilled_table(self, rows: list[reports.UnbilledRow], as_of: date) -> None:
        locale = cli_locale()
        table = Table(title=_("Unbilled revenue as of %(date)s") % {"date": date_human(as_of, locale)})
        headings = [
            (_("Customer"), "left"),
            (_("Subscription"), "left"),
            (_("Product"), "left"),
            (_("Currency"), "left"),
            (_("Service from"), "left"),
            (_("Age (days)"), "right"),
            (_("0-30 days"), "right"),
            (_("31-60 days"), "right"),
            (_("61-90 days"), "right"),
            (_("Over 90 days"), "right"),
            (_("Total"), "right"),
        ]
        for heading, justify in headings:
            table.add_column(heading, justify="right" if justify == "right" else "left")
        groups: dict[tuple[str, str], list[reports.UnbilledRow]] = {}
        for row in rows:
            groups.setdefault((row.customer_number, row.currency), []).append(row)
        for (customer_number, currency), group in groups.items():
            totals = dict.fromkeys(reports.BUCKETS, 0)
            for row in group:
                totals[row.bucket] += row.amount_minor
                table.add_row(
                    customer_number,
                    row.subscription_number,
                    row.product_code,
                    currency,
                    date_human(row.service_from, locale),
                    str(row.age_days),
                    *[
                        amount_human(row.amount_minor, currency, locale) if bucket == row.bucket else ""
                        for bucket in reports.BUCKETS
                    ],
                    amount_human(row.amount_minor, currency, locale),
                )
            table.add_row(
                _("Total %(customer)s") % {"customer": customer_number},
                "",
                "",
                currency,
                "",
                "",
                *[amount_human(totals[bucket], currency, locale) for bucket in reports.BUCKETS],
                amount_human(sum(totals.values()), currency, locale),
                style="bold",
                end_section=True,
            )
        Console(width=180).print(table)

    # ── deferred ──────────────────────────────────────────────────────────────────────────────────

    def _deferred(self, entity: LegalEntity, as_of: date, fmt: str) -> None:
        rows = reports.deferred_revenue(entity=entity, as_of=as_of)
        totals = reports.deferred_totals(rows)
        differing = [row for row in rows if row.difference_minor != 0]
        if differing:
            self.warn(
                ngettext(
                    "deferred revenue differs from the ledger for %(count)d customer and currency; "
                    "revenue releases may not have run yet",
                    "deferred revenue differs from the ledger for %(count)d customers and currencies; "
                    "revenue releases may not have run yet",
                    len(differing),
                )
                % {"count": len(differing)}
            )
        if fmt == "json":
            _write_json(
                {
                    "as_of": as_of.isoformat(),
                    "rows": [_deferred_record(row) for row in rows],
                    "totals": [
                        {k: v for k, v in _deferred_record(row).items() if k != "customer_number"}
                        for row in totals
                    ],
                }
            )
        elif fmt == "csv":
            _write_csv(
                DEFERRED_COLUMNS,
                [_deferred_record(row) | {"kind": "customer"} for row in rows]
                + [_deferred_record(row) | {"kind": "total"} for row in totals],
            )
        else:
            self._deferred_table(rows, totals, as_of)

    def _deferred_table(
        self, rows: list[reports.DeferredRow], totals: list[reports.DeferredRow], as_of: date
    ) -> None:
        locale = cli_locale()
        table = Table(title=_("Deferred revenue as of %(date)s") % {"date": date_human(as_of, locale)})
        table.add_column(_("Customer"))
        table.add_column(_("Currency"))
        table.add_column(_("Schedules"), justify="right")
        table.add_column(_("Ledger"), justify="right")
        table.add_column(_("Difference"), justify="right")
        by_currency: dict[str, list[reports.DeferredRow]] = {}
        for row in rows:
            by_currency.setdefault(row.currency, []).append(row)
        for total in totals:
            for row in by_currency.get(total.currency, []):
                table.add_row(
                    row.customer_number or "—",
                    row.currency,
                    amount_human(row.schedules_minor, row.currency, locale),
                    amount_human(row.ledger_minor, row.currency, locale),
                    amount_human(row.difference_minor, row.currency, locale),
                )
            table.add_row(
                _("Total"),
                total.currency,
                amount_human(total.schedules_minor, total.currency, locale),
                amount_human(total.ledger_minor, total.currency, locale),
                amount_human(total.difference_minor, total.currency, locale),
                style="bold",
                end_section=True,
            )
        Console(width=160).print(table)

    # ── reconcile-crm ─────────────────────────────────────────────────────────────────────────────

    def _reconcile_crm(self, entity: LegalEntity, path: Path, as_of: date, fmt: str) -> None:
        contracts = _crm_contracts(path, entity_code=entity.code)
        differences = reports.crm_differences(entity=entity, contracts=contracts, as_of=as_of)
        self.note(
            _("%(contracts)d CRM contracts read, %(differences)d differences")
            % {"contracts": len(contracts), "differences": len(differences)}
        )
        records = [
            {
                "entity": d.entity,
                "contract_number": d.contract_number,
                "customer_number": d.customer_number,
                "kind": d.kind,
                "crm_value": d.crm_value,
                "billing_value": d.billing_value,
            }
            for d in differences
        ]
        if fmt == "json":
            _write_json({"as_of": as_of.isoformat(), "file": str(path), "rows": records})
        elif fmt == "csv":
            _write_csv(CRM_COLUMNS, records)
        else:
            locale = cli_locale()
            table = Table(
                title=_("CRM bookings against billing as of %(date)s") % {"date": date_human(as_of, locale)}
            )
            for heading in (_("Contract"), _("Customer"), _("Kind"), _("CRM"), _("Billing")):
                table.add_column(heading)
            for d in differences:
                table.add_row(d.contract_number, d.customer_number, d.kind, d.crm_value, d.billing_value)
            Console(width=160).print(table)


def _deferred_record(row: reports.DeferredRow) -> dict[str, Any]:
    return {
        "entity": row.entity,
        "customer_number": row.customer_number,
        "currency": row.currency,
        "schedules": format_minor(row.schedules_minor, row.currency),
        "ledger": format_minor(row.ledger_minor, row.currency),
        "difference": format_minor(row.difference_minor, row.currency),
    }


def _write_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def _write_csv(columns: list[str], records: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


# The CRM export is read here, not with `o2c.workspace.csvfiles`: billing sits below the workspace layer.
# Same rules: UTF-8 (BOM accepted), a header row, columns in any order, extra columns ignored, errors
# naming the file, `row N` (1-based, header not counted) and the column.


def _crm_contracts(path: Path, *, entity_code: str) -> list[reports.CrmContract]:
    """The CRM export's rows, read by the contract's CSV rules; a bad row names its row and column."""
    contracts: list[reports.CrmContract] = []
    seen: dict[str, int] = {}
    for row in read_rows(path, required=CRM_REQUIRED):
        row_entity = row.text("entity")
        if row_entity and row_entity != entity_code:
            continue  # a row of another legal entity
        contract_number = row.required("contract_number")
        if contract_number in seen:
            raise row.error(
                "contract_number",
                _("contract %(number)s appears twice (also row %(row)d)")
                % {"number": contract_number, "row": seen[contract_number]},
            )
        seen[contract_number] = row.number
        currency = row.required("currency").upper()
        try:
            ensure_currency(currency)
        except UnableToHandleMoney:
            raise row.error(
                "currency", _("'%(value)s' is not an ISO 4217 currency") % {"value": currency}
            ) from None
        amount: Decimal | None = None
        if row.text("amount"):
            try:
                amount = parse_amount(row.text("amount"), currency)
            except UnableToHandleMoney as problem:
                raise row.error("amount", problem.message) from None
        start_date = row.date("start_date")
        assert start_date is not None
        end_date = row.date("end_date", optional=True)
        if end_date is not None and end_date < start_date:
            raise row.error(
                "end_date",
                _("%(end)s is before the start date %(start)s")
                % {"end": end_date.isoformat(), "start": start_date.isoformat()},
            )
        quantity, unit_price = (
            row.decimal("quantity", optional=True),
            row.decimal("unit_price", optional=True),
        )
        for column, value in (("quantity", quantity), ("unit_price", unit_price)):
            if value is not None and value < 0:
                raise row.error(column, _("'%(value)s' is below zero") % {"value": row.text(column)})
        contracts.append(
            reports.CrmContract(
                contract_number=contract_number,
                customer_number=row.required("customer_number"),
                product_code=row.required("product_code"),
                currency=currency,
                start_date=start_date,
                quantity=quantity,
                unit_price=unit_price,
                end_date=end_date,
                amount=amount,
            )
        )
    return contracts
