"""`o2c cash import FILE [--format table|json]`, `o2c cash applications --format csv`,
`o2c cash unapplied [--as-of DATE] [--format table|csv|json]` and
`o2c cash reconcile --from DATE --to DATE [--format table|csv|json]`,
`o2c cash refunds [--payment REF ...] [--execution-date DATE] [--scheme S] --output FILE` and
`o2c cash collections --due-until DATE [--collection-date DATE] [--scheme S] --output FILE`,
`o2c cash import FILE --mapping NAME` (a bank's own CSV through a saved mapping),
`o2c cash csv-mapping NAME --from MAPPING.json --account IBAN_OR_NUMBER [--currency CCY]`,
`o2c cash csv-mapping NAME --delete` and `o2c cash csv-mappings [--format table|json]`."""

from __future__ import annotations

import csv
import json
import sys
from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from o2c.bankfiles import csvformats
from o2c.cash import csvmappings, mandates, reports, selectors, sepa, services, workbench
from o2c.core import clock
from o2c.core.cli import O2CCommand, date_option, progress_stages
from o2c.core.exceptions import InputError
from o2c.core.formatting import amount_human, cli_language, cli_locale, date_human, money_human
from o2c.core.money import format_minor
from o2c.ledger.models import LegalEntity
from o2c.ledger.options import entity_option


def _date(option: str, text: str) -> date:
    return date_option(option, text)


def _bucket_labels() -> tuple[str, ...]:
    return (
        _("Current"),
        _("1-30 days"),
        _("31-60 days"),
        _("61-90 days"),
        _("91-120 days"),
        _("Over 120 days"),
    )


def _kind_label(kind: str) -> str:
    return {reports.IDENTIFIED: _("Identified"), reports.UNIDENTIFIED: _("Unidentified")}.get(
        kind, _("Total")
    )


def _write_csv(columns: list[str], records: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def _write_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(
            _("%(file)s: cannot be read (%(problem)s)") % {"file": path, "problem": error.strerror}
        ) from None


def _mapping_json(path: Path) -> dict[str, Any]:
    """A CSV mapping's fields from a JSON file: one object, keys the field names."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(
            _("%(file)s: cannot be read (%(problem)s)") % {"file": path, "problem": error.strerror}
        ) from None
    except UnicodeDecodeError:
        raise InputError(_("%(file)s: not UTF-8 text") % {"file": path.name}) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            _("%(file)s: line %(line)d, column %(column)d: not valid JSON (%(problem)s)")
            % {"file": path.name, "line": error.lineno, "column": error.colno, "problem": error.msg}
        ) from None
    if not isinstance(document, dict):
        raise InputError(
            _("%(file)s: a JSON object with the mapping's fields is expected") % {"file": path.name}
        )
    return document


UNAPPLIED_COLUMNS = [
    "entity",
    "payment_id",
    "entry_reference",
    "customer_number",
    "customer_name",
    "payer_name",
    "currency",
    "value_date",
    "booking_date",
    "age_days",
    "bucket",
    "amount",
    "payment_amount",
]
RECONCILE_COLUMNS = [
    "entity",
    "date",
    "ledger_account",
    "bank_accounts",
    "currency",
    "bank",
    "ledger",
    "difference",
    "statement_movement",
]


def _unapplied_record(item: reports.UnappliedItem) -> dict[str, Any]:
    return {
        "entity": item.entity_code,
        "payment_id": item.payment_id,
        "entry_reference": item.entry_reference,
        "customer_number": item.customer_number,
        "customer_name": item.customer_name,
        "payer_name": item.payer_name,
        "currency": item.currency,
        "value_date": item.value_date.isoformat(),
        "booking_date": item.booking_date.isoformat(),
        "age_days": item.age_days,
        "bucket": item.bucket,
        "amount": format_minor(item.unapplied_minor, item.currency),
        "payment_amount": format_minor(item.payment_minor, item.currency),
    }


def _tie_out_record(line: reports.TieOut) -> dict[str, Any]:
    record: dict[str, Any] = {"entity": line.entity_code, "currency": line.currency}
    if line.customer_id is not None or line.customer_number:
        record["customer_number"] = line.customer_number
    return record | {
        "report": format_minor(line.report_minor, line.currency),
        "ledger": format_minor(line.ledger_minor, line.currency),
        "difference": format_minor(line.difference_minor, line.currency),
    }


def _deposit_record(day: reports.DepositDay) -> dict[str, Any]:
    return {
        "entity": day.entity_code,
        "date": day.day.isoformat(),
        "ledger_account": day.ledger_account,
        "bank_accounts": " ".join(day.bank_accounts),
        "currency": day.currency,
        "bank": format_minor(day.bank_minor, day.currency),
        "ledger": format_minor(day.ledger_minor, day.currency),
        "difference": format_minor(day.difference_minor, day.currency),
        "statement_movement": format_minor(day.statement_movement_minor, day.currency)
        if day.statement_movement_minor is not None
        else None,
    }


def _statement_record(statement: reports.UnbalancedStatement) -> dict[str, Any]:
    def amount(minor: int | None) -> str | None:
        return format_minor(minor, statement.currency) if minor is not None else None

    return {
        "entity": statement.entity_code,
        "file": statement.file_name,
        "statement_id": statement.statement_id,
        "bank_account": statement.bank_account,
        "currency": statement.currency,
        "statement_date": statement.statement_date.isoformat() if statement.statement_date else None,
        "opening": amount(statement.opening_minor),
        "closing": amount(statement.closing_minor),
        "difference": amount(statement.difference_minor),
    }


class Command(O2CCommand):
    help = (
        "Cash application. import: read, match and apply a bank file. "
        "applications: every allocation of a payment. "
        "unapplied: unapplied and unidentified cash aged as of a date, tied to the ledger. "
        "reconcile: the bank's statements against the bank ledger accounts, day by day. "
        "advice: a customer's remittance advice (CSV, XLSX or .eml) for the matcher. "
        "refunds: unapplied cash paid back as a SEPA credit transfer file (pain.001). "
        "collections: open invoices collected under SEPA mandates as a direct-debit file (pain.008). "
        "csv-mapping: save (or --delete) how to read a bank's own CSV export. "
        "csv-mappings: the saved CSV mappings. "
        "mandates: import SEPA direct-debit mandates from FILE (CSV), or list them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "action",
            choices=[
                "import",
                "applications",
                "unapplied",
                "reconcile",
                "advice",
                "refunds",
                "collections",
                "csv-mapping",
                "csv-mappings",
                "mandates",
            ],
        )
        parser.add_argument("file", nargs="?", metavar="FILE_OR_NAME", help="the file; csv-mapping: the name")
        parser.add_argument("--format", choices=["table", "json", "csv"], default=None)
        parser.add_argument("--entity", help="legal entity code (default: the default entity)")
        parser.add_argument("--as-of", metavar="DATE", help="unapplied: the report date (default: today)")
        parser.add_argument(
            "--from",
            dest="date_from",
            metavar="DATE_OR_FILE",
            help="reconcile: the first booking date; csv-mapping: the mapping's JSON file",
        )
        parser.add_argument("--to", dest="date_to", metavar="DATE", help="reconcile: the last booking date")
        parser.add_argument(
            "--payment",
            dest="payments",
            action="append",
            metavar="REF",
            help="refunds: a payment's bank reference (repeat)",
        )
        parser.add_argument(
            "--execution-date", metavar="DATE", help="refunds: when the bank pays (default: today)"
        )
        parser.add_argument(
            "--due-until", metavar="DATE", help="collections: collect invoices due on or before this date"
        )
        parser.add_argument(
            "--collection-date", metavar="DATE", help="collections: the due date (default: next weekday)"
        )
        parser.add_argument("--scheme", help="refunds: pain.001.001.03|09; collections: pain.008.001.02|08")
        parser.add_argument(
            "--bank-account",
            default="",
            metavar="IBAN",
            help="refunds, collections: own IBAN (default: first)",
        )
        parser.add_argument(
            "--output", type=Path, metavar="FILE", help="refunds, collections: the XML file to write"
        )
        parser.add_argument(
            "--mapping", metavar="NAME", help="import: the saved CSV mapping to read the file with"
        )
        parser.add_argument(
            "--account",
            metavar="IBAN_OR_NUMBER",
            help="csv-mapping: the own bank account the file's entries are booked on",
        )
        parser.add_argument(
            "--currency", metavar="CCY", help="csv-mapping: the account's currency when it is registered"
        )
        parser.add_argument("--delete", action="store_true", help="csv-mapping: delete the saved mapping")

    def run(self, *args: Any, **options: Any) -> None:
        entity = entity_option(options["entity"])
        name: str | None = options["file"]
        if options["action"] in ("csv-mapping", "csv-mappings"):
            with translation.override(cli_language()):
                self._csv_mapping(options["action"], name, entity, options)
            return
        options["file"] = Path(name) if name is not None else None
        if options["action"] == "import":
            with translation.override(cli_language()):
                self._import(options["file"], entity, options["format"] or "table", options["mapping"])
        elif options["action"] == "advice":
            self._advice(options["file"], entity, options["format"] or "table")
        elif options["action"] == "mandates":
            with translation.override(cli_language()):
                self._mandates(options["file"], entity, options["format"] or "table")
        elif options["action"] in ("refunds", "collections"):
            self._sepa_file(options["action"], entity, options)
        elif options["action"] in ("unapplied", "reconcile"):
            with translation.override(cli_language()):
                self._report(options["action"], entity, options)
        else:
            if (options["format"] or "csv") != "csv":
                raise InputError("--format: applications are written as csv")
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(selectors.APPLICATION_COLUMNS)
            for row in selectors.application_rows(entity_ids=[entity.pk]):
                writer.writerow(row.values())

    def _advice(self, path: Path | None, entity: LegalEntity, output: str) -> None:
        if output not in ("table", "json"):
            raise InputError("--format: advice prints table or json")
        if path is None:
            raise InputError("advice needs a FILE (CSV, XLSX or .eml)")
        data = _read_bytes(path)
        result = workbench.advice_receive(
            data=data, file_name=path.name, entity=entity, actor=None, now=clock.now()
        )
        if output == "json":
            sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
            return
        if result.already_imported:
            self.note(f"{path.name}: received before; nothing changed")
        linked = (
            f"linked to payment {result.payment} ({result.payment_status})"
            if result.payment
            else "waiting for its payment"
        )
        self.note(
            f"{path.name} ({result.kind}): {result.lines} invoices, total {result.total} "
            f"{result.currency}, {linked}"
        )

    def _mandates(self, path: Path | None, entity: LegalEntity, output: str) -> None:
        """With a FILE: import its mandates (one transaction); without: the entity's mandates."""
        if output not in ("table", "json"):
            raise InputError("--format: mandates prints table or json")
        if path is not None:
            data = _read_bytes(path)
            result = mandates.mandates_import(
                data=data, file_name=path.name, entity=entity, actor=None, now=clock.now()
            )
            if output == "json":
                sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
                return
            self.note(
                f"{path.name}: {result.rows} mandates, {result.created} created, {result.known} known already"
            )
            return
        rows = mandates.mandate_rows(entity=entity)
        if output == "json":
            sys.stdout.write(json.dumps({"entity": entity.code, "mandates": rows}, indent=2) + "\n")
            return
        table = Table(title=_("%(entity)s mandates") % {"entity": entity.code})
        for column in (_("customer"), _("reference"), _("IBAN"), _("signed"), _("sequence"), _("active")):
            table.add_column(column)
        for row in rows:
            table.add_row(
                str(row["customer_number"]),
                str(row["reference"]),
                str(row["iban"]),
                str(row["signature_date"]),
                str(row["sequence_type"]),
                _("yes") if row["active"] else _("no"),
            )
        Console().print(table)

    def _sepa_file(self, action: str, entity: LegalEntity, options: dict[str, Any]) -> None:
        """A pain.001 refund or pain.008 collection file; a file that cannot be written undoes it all."""
        output: Path | None = options["output"]
        if output is None:
            raise InputError(f"{action} needs --output FILE")
        if options["file"] is not None:
            raise InputError(f"{action} takes no FILE; the XML goes to --output")
        if (options["format"] or "table") not in ("table", "json"):
            raise InputError(f"--format: {action} prints table or json")
        with transaction.atomic():
            if action == "refunds":
                result = sepa.refund_file_create(
                    entity=entity,
                    payment_ids=sepa.payment_ids_for_references(entity=entity, references=options["payments"])
                    if options["payments"]
                    else None,
                    execution_date=_date("--execution-date", options["execution_date"])
                    if options["execution_date"]
                    else None,
                    actor=None,
                    now=clock.now(),
                    scheme=options["scheme"] or sepa.REFUND_SCHEMES[0],
                    bank_account_iban=options["bank_account"],
                )
            else:
                if not options["due_until"]:
                    raise InputError("collections needs --due-until DATE")
                result = sepa.collection_file_create(
                    entity=entity,
                    due_until=_date("--due-until", options["due_until"]),
                    collection_date=_date("--collection-date", options["collection_date"])
                    if options["collection_date"]
                    else None,
                    actor=None,
                    now=clock.now(),
                    scheme=options["scheme"] or sepa.COLLECTION_SCHEMES[0],
                    bank_account_iban=options["bank_account"],
                )
            try:
                output.write_bytes(result.xml)
            except OSError as error:
                raise InputError(f"{output}: cannot be written ({error.strerror})") from None
        for message in result.skipped:
            self.warn(message)
        if options["format"] == "json":
            sys.stdout.write(json.dumps(result.as_json() | {"file": str(output)}, indent=2) + "\n")
            return
        noun = ("refund", "refunds") if action == "refunds" else ("direct debit", "direct debits")
        self.note(
            f"{output}: {result.scheme}, message {result.message_id}: {result.transactions} "
            f"{noun[result.transactions != 1]}, {format_minor(result.total_minor, result.currency)} "
            f"{result.currency}"
        )

    def _import(self, path: Path | None, entity: LegalEntity, output: str, mapping: str | None) -> None:
        if output not in ("table", "json"):
            raise InputError("--format: import prints table or json")
        if path is None:
            raise InputError("import needs a FILE")
        data = _read_bytes(path)
        with progress_stages() as stage:
            advance: list[Any] = []
            result = services.bank_file_import(
                data=data,
                file_name=path.name,
                entity=entity,
                actor=None,
                now=clock.now(),
                on_total=lambda total: advance.append(stage("matching and applying payments", total)),
                progress=lambda done: advance[0](done) if advance else None,
                csv_mapping=mapping,
            )
        for warning in result.warnings:
            self.warn(f"{path.name}: {warning}")
        if output == "json":
            sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
            return
        if result.already_imported:
            self.note(f"{path.name}: imported before; nothing changed")
        locale = cli_locale()
        table = Table(title=f"{path.name} ({result.file_format})")
        table.add_column("")
        table.add_column("", justify="right")
        for label, value in (
            (_("statements"), result.statements),
            (_("entries"), result.entries),
            (_("payments created"), result.payments),
            (_("already imported"), result.duplicates),
            (_("not incoming cash"), result.ignored),
            (_("applied"), result.applied),
            (_("partially applied"), result.partially_applied),
            (_("on account"), result.on_account),
            (_("suggested (for a person)"), result.suggested),
            (_("unidentified"), result.unidentified),
            (_("returned"), result.returned),
        ):
            table.add_row(label, str(value))
        for currency, minor in sorted(result.amount_minor.items()):
            table.add_row(
                _("received %(currency)s") % {"currency": currency}, money_human(minor, currency, locale)
            )
            applied = result.applied_minor.get(currency, 0)
            table.add_row(
                _("applied %(currency)s") % {"currency": currency}, money_human(applied, currency, locale)
            )
        Console().print(table)

    # --- saved CSV mappings ---------------------------------------------------------------------------

    def _csv_mapping(
        self, action: str, name: str | None, entity: LegalEntity, options: dict[str, Any]
    ) -> None:
        if action == "csv-mappings":
            if name is not None:
                raise InputError(_("csv-mappings takes no name; csv-mapping NAME saves or deletes one"))
            self._csv_mapping_list(entity, options["format"] or "table")
            return
        if not name:
            raise InputError(_("csv-mapping needs a NAME"))
        if options["delete"]:
            if options["date_from"] or options["account"]:
                raise InputError(_("csv-mapping NAME --delete takes no --from or --account"))
            csvmappings.csv_mapping_delete(entity=entity, name=name, actor=None, now=clock.now())
            self.note(_("CSV mapping '%(name)s' deleted") % {"name": name})
            return
        if not options["date_from"]:
            raise InputError(
                _("csv-mapping NAME needs --from MAPPING.json and --account IBAN_OR_NUMBER (or --delete)")
            )
        if not options["account"]:
            raise InputError(
                _(
                    "csv-mapping needs --account IBAN_OR_NUMBER: the bank account the file's entries are "
                    "booked on"
                )
            )
        path = Path(options["date_from"])
        definition = _mapping_json(path)
        now = clock.now()
        record = csvmappings.csv_mapping_save(
            entity=entity,
            name=name,
            definition=definition,
            bank_account=options["account"],
            currency=options["currency"],
            actor=None,
            now=now,
            source=path.name,
        )
        if record.created_at == now:
            done = _("CSV mapping '%(name)s' saved: entries booked on %(account)s (%(currency)s)")
        elif record.changed_at == now:
            done = _("CSV mapping '%(name)s' changed: entries booked on %(account)s (%(currency)s)")
        else:
            done = _("CSV mapping '%(name)s' unchanged: entries booked on %(account)s (%(currency)s)")
        self.note(
            done
            % {"name": record.name, "account": record.bank_account, "currency": record.bank_account.currency}
        )

    def _csv_mapping_list(self, entity: LegalEntity, output: str) -> None:
        if output not in ("table", "json"):
            raise InputError(_("--format: csv-mappings prints table or json"))
        records = list(csvmappings.csv_mapping_list(entity_ids=[entity.pk]))
        if output == "json":
            _write_json(
                {
                    "entity": entity.code,
                    "mappings": [
                        {
                            "name": record.name,
                            "bank_account": str(record.bank_account),
                            "currency": record.bank_account.currency,
                            "changed_at": record.changed_at.isoformat(),
                            "mapping": csvformats.csv_mapping_to_json(csvmappings.csv_mapping_of(record)),
                        }
                        for record in records
                    ],
                }
            )
            return
        table = Table(title=_("Saved CSV mappings of %(entity)s") % {"entity": entity.code})
        for heading in (_("Name"), _("Bank account"), _("Currency"), _("Columns"), _("Format")):
            table.add_column(heading)
        for record in records:
            mapping = csvmappings.csv_mapping_of(record)
            table.add_row(
                record.name,
                str(record.bank_account),
                record.bank_account.currency,
                ", ".join(f"{role}: {column}" for role, column in mapping.columns()),
                _(
                    "delimiter %(delimiter)s, %(encoding)s, decimal separator %(separator)s, dates "
                    "%(date_format)s, %(skip)d lines before the header"
                )
                % {
                    "delimiter": repr(mapping.delimiter),
                    "encoding": mapping.encoding,
                    "separator": repr(mapping.decimal_separator),
                    "date_format": mapping.date_format,
                    "skip": mapping.skip_rows,
                },
            )
        Console(width=160).print(table)
        if not records:
            self.note(_("no CSV mapping is saved for %(entity)s") % {"entity": entity.code})

    # --- reports -------------------------------------------------------------------------------------

    def _report(self, action: str, entity: LegalEntity, options: dict[str, Any]) -> None:
        output = options["format"] or "table"
        if options["file"] is not None:
            raise InputError(_("%(action)s takes no file") % {"action": action})
        if action == "unapplied":
            if options["date_from"] is not None or options["date_to"] is not None:
                raise InputError(_("--from and --to are for reconcile; unapplied takes --as-of"))
            as_of = (
                _date("--as-of", options["as_of"])
                if options["as_of"] is not None
                else clock.today_in(entity.time_zone)
            )
            self._unapplied(reports.unapplied_cash_as_of(entity_ids=[entity.pk], as_of=as_of), output)
            return
        if options["as_of"] is not None:
            raise InputError(_("--as-of is for unapplied; reconcile takes --from and --to"))
        if options["date_from"] is None or options["date_to"] is None:
            raise InputError(_("reconcile needs --from DATE and --to DATE"))
        date_from = _date("--from", options["date_from"])
        date_to = _date("--to", options["date_to"])
        if date_from > date_to:
            raise InputError(
                _("--from %(start)s is after --to %(end)s")
                % {"start": date_from.isoformat(), "end": date_to.isoformat()}
            )
        self._reconcile(
            reports.deposit_reconciliation(entity_ids=[entity.pk], date_from=date_from, date_to=date_to),
            output,
        )

    def _unapplied(self, report: reports.UnappliedReport, output: str) -> None:
        # a difference to the ledger is a finding, not an error: said on stderr, exit 0
        for line in report.tie_out:
            if line.difference_minor:
                self.warn(self._tie_out_message(line.entity_code, line))
        for line in report.tie_out_differences:
            self.warn(self._tie_out_message(line.customer_number or _("unidentified"), line))
        if output == "csv":
            _write_csv(UNAPPLIED_COLUMNS, [_unapplied_record(item) for item in report.items])
            return
        if output == "json":
            _write_json(
                {
                    "as_of": report.as_of.isoformat(),
                    "buckets": list(reports.BUCKETS),
                    "payments": [_unapplied_record(item) for item in report.items],
                    "totals": [
                        {"entity": total.entity_code, "currency": total.currency, "kind": total.kind}
                        | {
                            bucket: format_minor(minor, total.currency)
                            for bucket, minor in total.by_bucket().items()
                        }
                        | {"total": format_minor(total.total_minor, total.currency)}
                        for total in report.totals
                    ],
                    "tie_out": [_tie_out_record(line) for line in report.tie_out],
                    "tie_out_differences": [_tie_out_record(line) for line in report.tie_out_differences],
                }
            )
            return
        locale = cli_locale()
        console = Console(width=160)
        payments = Table(
            title=_("Unapplied cash as of %(date)s") % {"date": date_human(report.as_of, locale)}
        )
        for heading, justify in (
            (_("Payment"), "left"),
            (_("Customer"), "left"),
            (_("Payer"), "left"),
            (_("Value date"), "left"),
            (_("Age (days)"), "right"),
            (_("Currency"), "left"),
            (_("Unapplied"), "right"),
        ):
            payments.add_column(heading, justify=justify)  # type: ignore[arg-type]
        for item in report.items:
            payments.add_row(
                item.entry_reference or str(item.payment_id),
                item.customer_number or _("unidentified"),
                item.payer_name,
                date_human(item.value_date, locale),
                str(item.age_days),
                item.currency,
                amount_human(item.unapplied_minor, item.currency, locale),
            )
        console.print(payments)
        totals = Table(title=_("Unapplied cash by age"))
        totals.add_column(_("Currency"))
        totals.add_column(_("Customers"))
        for label in (*_bucket_labels(), _("Total")):
            totals.add_column(label, justify="right")
        for total in report.totals:
            totals.add_row(
                total.currency,
                _kind_label(total.kind),
                *(
                    amount_human(minor, total.currency, locale)
                    for minor in (*total.buckets, total.total_minor)
                ),
            )
        console.print(totals)
        tie = Table(title=_("Against the ledger's unapplied cash accounts"))
        for heading in (_("Currency"), _("Report"), _("Ledger"), _("Difference")):
            tie.add_column(heading, justify="left" if heading == _("Currency") else "right")
        for line in report.tie_out:
            tie.add_row(
                line.currency,
                *(
                    amount_human(minor, line.currency, locale)
                    for minor in (line.report_minor, line.ledger_minor, line.difference_minor)
                ),
            )
        console.print(tie)

    def _reconcile(self, result: reports.DepositReconciliation, output: str) -> None:
        if output == "csv":
            for statement in result.unbalanced_statements:
                self.warn(self._unbalanced_message(statement))
            _write_csv(RECONCILE_COLUMNS, [_deposit_record(day) for day in result.days])
            return
        if output == "json":
            _write_json(
                {
                    "from": result.date_from.isoformat(),
                    "to": result.date_to.isoformat(),
                    "days": [_deposit_record(day) for day in result.days],
                    "differences": len(result.differences),
                    "unbalanced_statements": [_statement_record(s) for s in result.unbalanced_statements],
                }
            )
            return
        locale = cli_locale()
        console = Console(width=160)
        days = Table(
            title=_("Deposits from %(start)s to %(end)s against the ledger")
            % {"start": date_human(result.date_from, locale), "end": date_human(result.date_to, locale)}
        )
        for heading, justify in (
            (_("Date"), "left"),
            (_("Ledger account"), "left"),
            (_("Own bank accounts"), "left"),
            (_("Currency"), "left"),
            (_("Bank"), "right"),
            (_("Ledger"), "right"),
            (_("Difference"), "right"),
            (_("Statement movement"), "right"),
        ):
            days.add_column(heading, justify=justify)  # type: ignore[arg-type]
        for day in result.days:
            days.add_row(
                date_human(day.day, locale),
                day.ledger_account,
                ", ".join(day.bank_accounts),
                day.currency,
                amount_human(day.bank_minor, day.currency, locale),
                amount_human(day.ledger_minor, day.currency, locale),
                amount_human(day.difference_minor, day.currency, locale),
                amount_human(day.statement_movement_minor, day.currency, locale)
                if day.statement_movement_minor is not None
                else "",
                style="bold red" if day.difference_minor else None,
            )
        console.print(days)
        if result.unbalanced_statements:
            statements = Table(title=_("Statements whose balances do not add up"))
            for heading, justify in (
                (_("File"), "left"),
                (_("Statement"), "left"),
                (_("Bank account"), "left"),
                (_("Date"), "left"),
                (_("Opening"), "right"),
                (_("Closing"), "right"),
                (_("Difference"), "right"),
            ):
                statements.add_column(heading, justify=justify)  # type: ignore[arg-type]
            for statement in result.unbalanced_statements:
                statements.add_row(
                    statement.file_name,
                    statement.statement_id,
                    statement.bank_account,
                    date_human(statement.statement_date, locale) if statement.statement_date else "",
                    *(
                        amount_human(minor, statement.currency, locale) if minor is not None else ""
                        for minor in (
                            statement.opening_minor,
                            statement.closing_minor,
                            statement.difference_minor,
                        )
                    ),
                )
            console.print(statements)
        self.note(
            _(
                "days: %(days)d, with a difference: %(differences)d, "
                "statements that do not balance: %(statements)d"
            )
            % {
                "days": len(result.days),
                "differences": len(result.differences),
                "statements": len(result.unbalanced_statements),
            }
        )

    @staticmethod
    def _unbalanced_message(statement: reports.UnbalancedStatement) -> str:
        return _(
            "%(file)s: statement %(statement)s: opening balance plus entries differs from the "
            "closing balance by %(difference)s %(currency)s"
        ) % {
            "file": statement.file_name,
            "statement": statement.statement_id,
            "difference": format_minor(statement.difference_minor, statement.currency),
            "currency": statement.currency,
        }

    @staticmethod
    def _tie_out_message(who: str, line: reports.TieOut) -> str:
        return _("%(who)s %(currency)s: unapplied cash %(report)s, ledger %(ledger)s") % {
            "who": who,
            "currency": line.currency,
            "report": format_minor(line.report_minor, line.currency),
            "ledger": format_minor(line.ledger_minor, line.currency),
        }
