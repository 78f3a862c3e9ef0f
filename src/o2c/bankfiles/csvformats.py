"""Read CSV payment files: bank lockbox files, card processor payouts, and any bank's CSV through a mapping.

Three readers, each returning `Statement`s like the camt, BAI2 and MT940 readers:

- `parse_lockbox_csv`: the O2C lockbox layout; each check (batch + item) becomes one entry whose stub
  lines (one row each) are the invoices it pays.
- `parse_card_payouts_csv`: a Stripe-shaped itemised payout reconciliation export; each payout becomes one
  entry of its net amount (what lands in the bank) with one detail per charge, refund, fee, dispute...
- `parse_mapped_csv`: a bank's own CSV export read through a saved `CsvMapping` (delimiter, encoding,
  decimal separator, date format, which column is what); each row becomes one entry.

Common rules (the layouts are documented for users in docs/bankfiles-csv.md): Python's `csv` module, a
header row, columns in any order matched case-insensitively after trimming, extra columns ignored, blank
lines skipped (still counted in row numbers). Amounts are `Decimal` parsed from the text, never float,
with at most the currency's decimals. Pure code: bytes in, frozen dataclasses out. Nothing is half-read:
every refusal is one `UnableToReadBankFile` naming the file, `row N` (1-based, the header not counted) or
`header`, the column and what is wrong, and a file with one bad row gives nothing.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import BOOKED, Entry, RemittedDocument, Statement, TransactionDetails
from o2c.core.money import UnableToHandleMoney, currency_decimals, known_currencies, parse_amount

MAX_AMOUNT_DIGITS = 18
"""Digits of an amount, both sides of the point: what integer minor units in a BIGINT hold."""

LOCKBOX_DEFAULT_CURRENCY = "USD"
LOCKBOX_REQUIRED_COLUMNS = (
    "lockbox",
    "deposit_date",
    "batch",
    "item",
    "check_number",
    "amount",
    "payer_name",
    "routing_number",
    "account_number",
)
LOCKBOX_OPTIONAL_COLUMNS = ("currency", "invoice_number", "invoice_amount")

CARD_REQUIRED_COLUMNS = (
    "payout_id",
    "balance_transaction_id",
    "reporting_category",
    "gross",
    "fee",
    "net",
    "currency",
    "description",
)
CARD_DATE_COLUMNS = ("payout_date", "effective_at")
"""The first one present in the header is the payout date."""
CARD_INVOICE_COLUMNS = ("invoice_number", "metadata[invoice_number]", "payment_metadata[invoice_number]")
"""Stripe exports metadata as `metadata[key]` (`payment_metadata[key]` in its reports); the first non-empty
one of a row is its invoice number."""
CARD_CHARGE_COLUMNS = ("charge_id", "source_id")
"""The charge a row belongs to (its `end_to_end_id`): Stripe's `charge_id` (on a charge row its own id, on a
refund or dispute the charge it gives back); a charge row without one names itself in `source_id` (on other
rows `source_id` is the refund's or dispute's own id, so it is read on charges only)."""
CARD_OPTIONAL_COLUMNS = (
    "customer_name",
    "customer_email",
    *CARD_INVOICE_COLUMNS,
    *CARD_CHARGE_COLUMNS,
    "dispute_reason",
)
CARD_KINDS = {
    "charge": "payment",
    "refund": "refund",
    "fee": "fee",
    "dispute": "chargeback",
    "dispute_reversal": "chargeback_reversal",
    "adjustment": "adjustment",
}
"""reporting_category -> TransactionDetails.kind; `payout` rows (the transfer itself) are skipped."""
CARD_SKIPPED_CATEGORIES = ("payout",)

MAPPED_ENCODINGS = frozenset({"utf-8", "cp1252", "iso8859-1", "iso8859-15"})
"""Python codec names (after `codecs.lookup`) a mapping may name: "latin-1" is iso8859-1."""

# Lockbox numbers, batches and items are joined with '-' into the entry's reference: letters and digits
# only keep that reference unambiguous.
_REFERENCE_PART = re.compile(r"[A-Za-z0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PLAIN_AMOUNT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
# Mapped files: the decimal separator given, the other one as an optional thousands separator in groups
# of three (1.234.567,89 or 1,234,567.89); an ungrouped 1234567,89 is read too.
_GROUPED_AMOUNT = {
    ".": re.compile(r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?"),
    ",": re.compile(r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+)(?:,[0-9]+)?"),
}
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


# --- the public readers ---


def parse_lockbox_csv(data: bytes, *, source: str) -> list[Statement]:
    """One statement per lockbox and deposit date (in order of first appearance), one entry per check."""
    table = _read_table(data, source=source)
    table.require_columns(LOCKBOX_REQUIRED_COLUMNS, optional=LOCKBOX_OPTIONAL_COLUMNS)
    table.ensure_rows()
    checks: dict[tuple[str, date, str, str], _Check] = {}
    for row in table.rows:
        check = _lockbox_row(table, row)
        known = checks.get(check.key)
        if known is None:
            checks[check.key] = check
        else:
            known.absorb(table, row, check)
    groups: dict[tuple[str, date], list[_Check]] = {}
    for check in checks.values():
        group = groups.setdefault((check.lockbox, check.deposit_date), [])
        if group and check.currency != group[0].currency:
            raise table.error(
                check.row,
                f"currency '{check.currency}' differs from '{group[0].currency}' in row {group[0].row} "
                f"of lockbox {check.lockbox} on {check.deposit_date.isoformat()}: a deposit has one currency",
            )
        group.append(check)
    statements: list[Statement] = []
    position = 0
    for (lockbox, deposit_date), group in groups.items():
        entries: list[Entry] = []
        for check in group:
            position += 1
            entries.append(check.entry(position))
        statements.append(
            _statement(
                message="lockbox",
                statement_id=f"{lockbox}/{deposit_date.isoformat()}",
                account_other_id=lockbox,
                currency=group[0].currency,
                entries=entries,
            )
        )
    return statements


def parse_card_payouts_csv(data: bytes, *, source: str) -> list[Statement]:
    """One statement for the file, one entry per payout (in order of first appearance) of its net sum."""
    table = _read_table(data, source=source)
    date_column = next((column for column in CARD_DATE_COLUMNS if table.has(column)), None)
    if date_column is None:
        raise table.error("header", "column 'payout_date' (or 'effective_at') is missing")
    table.require_columns(CARD_REQUIRED_COLUMNS, optional=(date_column, *CARD_OPTIONAL_COLUMNS))
    table.ensure_rows()
    payouts: dict[str, _Payout] = {}
    seen_transactions: dict[str, int] = {}
    currency: tuple[str, int] | None = None
    for row in table.rows:
        category = table.required(row, "reporting_category").lower()
        if category in CARD_SKIPPED_CATEGORIES:
            continue
        kind = CARD_KINDS.get(category)
        if kind is None:
            raise table.error(
                row,
                f"reporting_category '{category}' is not one of {', '.join(CARD_KINDS)} or payout",
            )
        payout_id = table.required(row, "payout_id")
        payout_date = _date_with_optional_time(table, row, date_column)
        transaction_id = table.required(row, "balance_transaction_id")
        if transaction_id in seen_transactions:
            earlier = seen_transactions[transaction_id]
            raise table.error(row, f"balance_transaction_id '{transaction_id}' is already in row {earlier}")
        seen_transactions[transaction_id] = row.number
        row_currency = _currency(table, row, "currency", table.required(row, "currency"))
        if currency is None:
            currency = (row_currency, row.number)
        elif row_currency != currency[0]:
            raise table.error(
                row,
                f"currency '{row_currency}' differs from '{currency[0]}' in row {currency[1]}: "
                "a payout file has one currency",
            )
        gross = _amount(table, row, "gross", row_currency)
        fee = _amount(table, row, "fee", row_currency)
        net = _amount(table, row, "net", row_currency)
        if gross - fee != net:
            raise table.error(
                row,
                f"net '{table.get(row, 'net')}' is not gross - fee ({gross} - {fee} = {gross - fee})",
            )
        payout = payouts.get(payout_id)
        if payout is None:
            payout = payouts[payout_id] = _Payout(
                payout_id=payout_id, payout_date=payout_date, row=row.number, currency=row_currency
            )
        elif payout_date != payout.payout_date:
            raise table.error(
                row,
                f"{date_column} '{table.get(row, date_column)}' differs from "
                f"{payout.payout_date.isoformat()} in row {payout.row} of payout {payout_id}",
            )
        payout.add(
            kind=kind,
            transaction_id=transaction_id,
            gross=gross,
            fee=fee,
            net=net,
            customer=table.get(row, "customer_name") or table.get(row, "customer_email"),
            description=table.get(row, "description"),
            invoice_number=next(
                (value for value in (table.get(row, name) for name in CARD_INVOICE_COLUMNS) if value), None
            ),
            charge_id=table.get(row, "charge_id")
            or (table.get(row, "source_id") if kind == "payment" else None),
            dispute_reason=table.get(row, "dispute_reason")
            if kind in ("chargeback", "chargeback_reversal")
            else None,
        )
    if not payouts:
        raise table.error(None, "the file has no rows other than payout rows")
    entries = [payout.entry(position) for position, payout in enumerate(payouts.values(), start=1)]
    return [
        _statement(
            message="card_payout",
            statement_id=_file_name(source).stem,
            account_other_id=None,
            currency=entries[0].currency,
            entries=entries,
        )
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvMapping:
    """How to read one bank's CSV export: its format and which column holds what.

    Column names are matched against the header case-insensitively after trimming. The amount is either
    one signed column (`amount`) or two unsigned ones (`credit` for money in, `debit` for money out).
    A mapping that cannot be right (no amount, both kinds of amount, an unknown currency or encoding)
    raises ValueError when built; columns it names that the file lacks refuse the file.
    """

    date: str
    """The booking date column; also the value date."""
    amount: str | None = None
    """A signed amount: positive money in, negative money out."""
    credit: str | None = None
    debit: str | None = None
    """Money out, written with or without a minus sign."""
    currency: str | None = None
    """The ISO 4217 currency column; `default_currency` is used where it is empty."""
    default_currency: str | None = None
    reference: str | None = None
    """The bank's reference of the booking."""
    payer_name: str | None = None
    payer_account: str | None = None
    """An IBAN (spaces allowed) becomes the counterparty IBAN, anything else the counterparty account."""
    text: str | tuple[str, ...] | None = None
    """The remittance text: one column, or several joined with a space."""
    date_format: str = "%Y-%m-%d"
    """A `time.strptime` format: "%d.%m.%Y", "%m/%d/%Y", ..."""
    decimal_separator: str = "."
    """"." or ","; the other one is then accepted as a thousands separator in groups of three."""
    delimiter: str = ","
    encoding: str = "utf-8"
    """utf-8 (a BOM is accepted), cp1252, latin-1 or iso-8859-15."""
    skip_rows: int = 0
    """Lines before the header (a bank's title, account and period lines)."""

    def __post_init__(self) -> None:
        if self.amount is not None and (self.credit is not None or self.debit is not None):
            raise ValueError("a CSV mapping names either an amount column or credit/debit columns, not both")
        if self.amount is None and self.credit is None and self.debit is None:
            raise ValueError("a CSV mapping needs an amount column, or credit and/or debit columns")
        if self.currency is None and self.default_currency is None:
            raise ValueError("a CSV mapping needs a currency column or a default currency")
        if self.default_currency is not None and self.default_currency not in known_currencies():
            raise ValueError(f"default currency '{self.default_currency}' is not an ISO 4217 code")
        for role, column in self.columns():
            if not column.strip():
                raise ValueError(f"the {role} column of a CSV mapping has no name")
        if self.decimal_separator not in _GROUPED_AMOUNT:
            raise ValueError(f"decimal separator '{self.decimal_separator}' is neither '.' nor ','")
        if len(self.delimiter) != 1 or self.delimiter in '\r\n"':
            raise ValueError(
                f"delimiter {self.delimiter!r} is not one character other than a quote or newline"
            )
        try:
            codec = codecs.lookup(self.encoding).name
        except LookupError:
            codec = self.encoding
        if codec not in MAPPED_ENCODINGS:
            raise ValueError(f"encoding '{self.encoding}' is not one of utf-8, cp1252, latin-1, iso-8859-15")
        if self.skip_rows < 0:
            raise ValueError(f"skip_rows {self.skip_rows} is negative")
        # Without all three, strptime fills in 1900 or the 1st: a wrong date, not a refused one.
        directives = set(re.findall(r"%(.)", self.date_format))
        if not (directives & {"Y", "y"} and directives & {"m", "b", "B"} and "d" in directives):
            raise ValueError(f"date format '{self.date_format}' needs a year, a month and a day")

    @property
    def text_columns(self) -> tuple[str, ...]:
        if self.text is None:
            return ()
        return (self.text,) if isinstance(self.text, str) else self.text

    def columns(self) -> list[tuple[str, str]]:
        """(role, column) of every column the mapping names, in the order of its fields."""
        named = [
            ("date", self.date),
            ("amount", self.amount),
            ("credit", self.credit),
            ("debit", self.debit),
            ("currency", self.currency),
            ("reference", self.reference),
            ("payer_name", self.payer_name),
            ("payer_account", self.payer_account),
            *(("text", column) for column in self.text_columns),
        ]
        return [(role, column) for role, column in named if column is not None]


def parse_mapped_csv(data: bytes, *, source: str, mapping: CsvMapping) -> list[Statement]:
    """One statement for the file, one entry per row (debits kept, negative), in file order."""
    table = _read_table(
        data,
        source=source,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        skip_rows=mapping.skip_rows,
        encoding_hint=True,
    )
    missing = [(role, column) for role, column in mapping.columns() if not table.has(column)]
    if missing:
        named = ", ".join(f"'{column}' ({role})" for role, column in missing)
        plural = "s" if len(missing) > 1 else ""
        raise table.error(
            "header",
            f"column{plural} {named} of the mapping {'are' if plural else 'is'} not in the header; "
            f"it has {table.describe_header()}",
        )
    table.require_columns((), optional=[column for _, column in mapping.columns()])
    table.ensure_rows()
    entries = [_mapped_entry(table, row, mapping, position) for position, row in enumerate(table.rows, 1)]
    currencies = {entry.currency for entry in entries}
    return [
        _statement(
            message="csv",
            statement_id=_file_name(source).name,
            account_other_id=None,
            currency=currencies.pop() if len(currencies) == 1 else None,
            entries=entries,
        )
    ]


MAPPING_HEAD_BYTES = 65_536
"""How much of a file is read to tell whether a mapping's columns are in its header."""

_MAPPING_REQUIRED_TEXT = ("date", "date_format", "decimal_separator", "delimiter", "encoding")
"""Fields that are text and cannot be null."""


def csv_mapping_from_json(fields: Mapping[str, object]) -> CsvMapping:
    """A CsvMapping from its fields by name as JSON holds them (`text`: one column name or a list).

    Raises ValueError naming the field: an unknown field, a value of the wrong type, or what
    CsvMapping itself refuses. `csv_mapping_to_json` gives back what this reads."""
    known = [item.name for item in dataclass_fields(CsvMapping)]
    unknown = [name for name in fields if name not in known]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ValueError(
            f"unknown field{plural} {', '.join(repr(name) for name in unknown)}; "
            f"a CSV mapping has {', '.join(known)}"
        )
    if fields.get("date") is None:
        raise ValueError("field 'date' (the column with the booking date) is required")
    values: dict[str, Any] = {}
    for name, value in fields.items():
        shown = json.dumps(value, ensure_ascii=False)
        if value is None:
            if name in _MAPPING_REQUIRED_TEXT or name == "skip_rows":
                raise ValueError(f"field '{name}' cannot be null")
        elif name == "skip_rows":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"field 'skip_rows': {shown} is not a whole number")
        elif name == "text":
            if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
                value = tuple(value)
            elif not isinstance(value, str):
                raise ValueError(f"field 'text': {shown} is neither a column name nor a list of column names")
        elif not isinstance(value, str):
            raise ValueError(f"field '{name}': {shown} is not text")
        values[name] = value
    return CsvMapping(**values)


def csv_mapping_to_json(mapping: CsvMapping) -> dict[str, Any]:
    """Every field of the mapping by name, JSON-ready (several text columns as a list)."""
    return {
        item.name: list(value) if isinstance(value := getattr(mapping, item.name), tuple) else value
        for item in dataclass_fields(CsvMapping)
    }


def mapped_header(data: bytes, *, mapping: CsvMapping) -> list[str] | None:
    """The header row the mapping would read (the first non-blank row after its `skip_rows`, in its
    encoding and delimiter), from the file's first 64 KiB; None when that is not text in the mapping's
    encoding or not CSV."""
    head = data[:MAPPING_HEAD_BYTES]
    codec = codecs.lookup(mapping.encoding).name
    decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)()
    try:
        # not final when the file goes on: a character cut at the end of the head is not an error
        text = decoder.decode(head, final=len(data) <= MAPPING_HEAD_BYTES)
    except UnicodeDecodeError:
        return None
    stream = io.StringIO(text.removeprefix("\ufeff"), newline="")
    for _ in range(mapping.skip_rows):
        stream.readline()
    try:
        for fields in csv.reader(stream, delimiter=mapping.delimiter, strict=True):
            if not _is_blank(fields):
                return [name.strip() for name in fields]
    except csv.Error:
        return None
    return None


def mapping_fits(data: bytes, *, mapping: CsvMapping) -> bool:
    """Every column the mapping names is in the file's header (case and surrounding spaces ignored)."""
    header = mapped_header(data, mapping=mapping)
    if header is None:
        return False
    names = {_key(name) for name in header}
    return all(_key(column) in names for _, column in mapping.columns())


# --- reading the table ---


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    """1-based, the header not counted; blank lines count, so row N is line N after the header."""
    fields: list[str]


class _Table:
    def __init__(self, *, source: str, header: list[str], rows: list[_Row]) -> None:
        self.source = source
        self.header = header
        self.rows = rows
        self._index: dict[str, int] = {}
        self._repeated: set[str] = set()
        for position, name in enumerate(header):
            key = _key(name)
            if key in self._index:
                self._repeated.add(key)
            else:
                self._index[key] = position

    def has(self, column: str) -> bool:
        return _key(column) in self._index

    def require_columns(self, required: tuple[str, ...], *, optional: tuple[str, ...] | list[str]) -> None:
        """Every required column is there, and no column that is read appears twice."""
        missing = [column for column in required if not self.has(column)]
        if missing:
            named = ", ".join(f"'{column}'" for column in missing)
            verb = "are" if len(missing) > 1 else "is"
            raise self.error(
                "header",
                f"column{'s' if len(missing) > 1 else ''} {named} {verb} missing; "
                f"it has {self.describe_header()}",
            )
        for column in (*required, *optional):
            if _key(column) in self._repeated:
                raise self.error("header", f"column '{column}' appears more than once")

    def ensure_rows(self) -> None:
        if not self.rows:
            raise self.error(None, "the file has no data rows")

    def describe_header(self) -> str:
        shown = ", ".join(f"'{name}'" for name in self.header[:12])
        more = f" and {len(self.header) - 12} more" if len(self.header) > 12 else ""
        return f"{len(self.header)} column{'s' if len(self.header) != 1 else ''}: {shown}{more}"

    def get(self, row: _Row, column: str) -> str | None:
        """The trimmed value, None when empty or when the header has no such column."""
        position = self._index.get(_key(column))
        if position is None:
            return None
        return row.fields[position].strip() or None

    def required(self, row: _Row, column: str) -> str:
        value = self.get(row, column)
        if value is None:
            raise self.error(row, f"{column} is empty")
        return value

    def error(self, where: _Row | int | str | None, message: str) -> UnableToReadBankFile:
        if isinstance(where, _Row):
            where = where.number
        if isinstance(where, int):
            where = f"row {where}"
        return UnableToReadBankFile(message, source=self.source, where=where)


def _key(column: str) -> str:
    return column.strip().lower()


def _read_table(
    data: bytes,
    *,
    source: str,
    encoding: str = "utf-8",
    delimiter: str = ",",
    skip_rows: int = 0,
    encoding_hint: bool = False,
) -> _Table:
    text = _decode(data, source=source, encoding=encoding, hint=encoding_hint)
    stream = io.StringIO(text, newline="")
    for _ in range(skip_rows):
        stream.readline()
    header: list[str] | None = None
    rows: list[_Row] = []
    number = 0
    try:
        for fields in csv.reader(stream, delimiter=delimiter, strict=True):
            if header is None:
                if not _is_blank(fields):
                    header = [name.strip() for name in fields]
                continue
            number += 1
            if _is_blank(fields):
                continue
            # A short row has lost fields (shifted values would be read into the wrong columns); extra
            # empty fields are trailing delimiters some exports write.
            if len(fields) < len(header) or any(value.strip() for value in fields[len(header) :]):
                raise UnableToReadBankFile(
                    f"{len(fields)} fields where the header has {len(header)}",
                    source=source,
                    where=f"row {number}",
                )
            rows.append(_Row(number=number, fields=fields))
    except csv.Error as error:
        where = "header" if header is None else f"row {number + 1}"
        raise UnableToReadBankFile(f"not valid CSV: {error}", source=source, where=where) from None
    if header is None:
        raise UnableToReadBankFile(
            "the file is empty (a header row naming the columns is required)", source=source
        )
    return _Table(source=source, header=header, rows=rows)


def _is_blank(fields: list[str]) -> bool:
    return not any(value.strip() for value in fields)


def _decode(data: bytes, *, source: str, encoding: str, hint: bool) -> str:
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    try:
        # utf-8-sig drops the BOM Excel writes; it reads a file without one the same as utf-8.
        text = data.decode("utf-8-sig" if is_utf8 else encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        label = "UTF-8" if is_utf8 else encoding
        advice = " (a cp1252 or latin-1 file needs that encoding in its mapping)" if hint and is_utf8 else ""
        raise UnableToReadBankFile(
            f"byte 0x{data[error.start]:02X} is not valid {label}{advice}",
            source=source,
            where=f"line {line}",
        ) from None
    return text.removeprefix("\ufeff")


# --- values ---


def _amount(
    table: _Table, row: _Row, column: str, currency: str, *, decimal_separator: str | None = None
) -> Decimal:
    """A required amount in the currency's decimals: strictly 1234.56 unless a mapped file's separator
    is given."""
    text = table.required(row, column)
    pattern = _PLAIN_AMOUNT if decimal_separator is None else _GROUPED_AMOUNT[decimal_separator]
    if not pattern.fullmatch(text):
        hint = " (decimal separator ',')" if decimal_separator == "," else ""
        raise table.error(row, f"{column} '{text}' is not a decimal amount{hint}")
    plain = text
    if decimal_separator == ",":
        plain = text.replace(".", "").replace(",", ".")
    elif decimal_separator == ".":
        plain = text.replace(",", "")
    if sum(character.isdigit() for character in plain) > MAX_AMOUNT_DIGITS:
        raise table.error(row, f"{column} '{text}' has more than {MAX_AMOUNT_DIGITS} digits")
    try:
        value = parse_amount(plain, currency)
    except UnableToHandleMoney:
        decimals = currency_decimals(currency)
        raise table.error(
            row, f"{column} '{text}' has more decimals than {currency} allows ({decimals})"
        ) from None
    # The currency's own decimals (100 -> 100.00, 1.500 -> 1.50: equal, only written alike); never -0.00.
    value = value.quantize(Decimal(1).scaleb(-currency_decimals(currency)))
    return abs(value) if value == 0 else value


def _currency(table: _Table, row: _Row, column: str, text: str) -> str:
    code = text.upper()
    if not _CURRENCY.fullmatch(code) or code not in known_currencies():
        raise table.error(row, f"{column} '{text}' is not an ISO 4217 currency code")
    return code


def _iso_date(table: _Table, row: _Row, column: str) -> date:
    text = table.required(row, column)
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise table.error(row, f"{column} '{text}' is not a date (YYYY-MM-DD)") from None


def _date_with_optional_time(table: _Table, row: _Row, column: str) -> date:
    """YYYY-MM-DD, or a timestamp after it (Stripe's effective_at): the date as written."""
    text = table.required(row, column)
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        if len(text) == len("YYYY-MM-DD"):
            return date.fromisoformat(text)
        # Validates the time; the date is kept as written, in the time zone the export was made in.
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise table.error(row, f"{column} '{text}' is not a date (YYYY-MM-DD, a time may follow)") from None


def _formatted_date(table: _Table, row: _Row, column: str, date_format: str) -> date:
    text = table.required(row, column)
    try:
        parsed = time.strptime(text, date_format)
    except ValueError:
        raise table.error(row, f"{column} '{text}' is not a date in the format {date_format}") from None
    return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)


def _file_name(source: str) -> PurePosixPath:
    return PurePosixPath(source.replace("\\", "/"))


def _statement(
    *,
    message: str,
    statement_id: str,
    account_other_id: str | None,
    currency: str | None,
    entries: list[Entry],
) -> Statement:
    return Statement(
        message=message,
        version=None,
        namespace="",
        message_id=None,
        statement_id=statement_id,
        account_iban=None,
        account_other_id=account_other_id,
        currency=currency,
        opening_balance=None,
        closing_balance=None,
        created_at=None,
        balances=(),
        entries=tuple(entries),
    )


# --- lockbox ---

# Columns that describe the check, not the stub line: equal on every row of one check.
_CHECK_COLUMNS = ("check_number", "payer_name", "routing_number", "account_number")


@dataclass(slots=True)
class _Check:
    row: int
    """The check's first row."""
    lockbox: str
    deposit_date: date
    batch: str
    item: str
    amount: Decimal
    amount_text: str
    currency: str
    written: dict[str, str | None]
    """_CHECK_COLUMNS as written in its first row."""
    remitted: list[RemittedDocument] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, date, str, str]:
        return (self.lockbox, self.deposit_date, self.batch, self.item)

    @property
    def reference(self) -> str:
        return f"{self.lockbox}-{self.deposit_date:%Y%m%d}-{self.batch}-{self.item}"

    def absorb(self, table: _Table, row: _Row, other: _Check) -> None:
        """Another stub line of this check: its check columns must repeat the first row's."""

        def differs(column: str, value: str | None, first: str | None) -> UnableToReadBankFile:
            return table.error(
                row,
                f"{column} '{value or ''}' differs from '{first or ''}' in row {self.row} "
                f"of the same check (batch {self.batch}, item {self.item})",
            )

        if other.amount != self.amount:
            raise differs("amount", other.amount_text, self.amount_text)
        if other.currency != self.currency:
            raise differs("currency", other.currency, self.currency)
        for column in _CHECK_COLUMNS:
            if other.written[column] != self.written[column]:
                raise differs(column, other.written[column], self.written[column])
        self.remitted.extend(other.remitted)

    def entry(self, position: int) -> Entry:
        routing, account = self.written["routing_number"], self.written["account_number"]
        counterparty_account = f"{routing}/{account}" if routing and account else account
        detail = TransactionDetails(
            is_credit=True,
            amount=self.amount,
            currency=self.currency,
            bank_reference=self.reference,
            end_to_end_id=None,
            counterparty_name=self.written["payer_name"],
            counterparty_iban=None,
            counterparty_account=counterparty_account,
            remittance_unstructured=(),
            remittance_structured_refs=tuple(document.number for document in self.remitted),
            remitted=tuple(self.remitted),
        )
        return Entry(
            position=position,
            amount=self.amount,
            currency=self.currency,
            booking_date=self.deposit_date,
            booked_at=None,
            value_date=self.deposit_date,
            status=BOOKED,
            entry_reference=self.written["check_number"],
            bank_reference=self.reference,
            bank_transaction_code="LOCKBOX-CHECK",
            proprietary_bank_transaction_code=None,
            is_reversal=False,
            batch_count=None,
            details=(detail,),
        )


def _lockbox_row(table: _Table, row: _Row) -> _Check:
    parts: dict[str, str] = {}
    for column in ("lockbox", "batch", "item"):
        value = table.required(row, column)
        if not _REFERENCE_PART.fullmatch(value):
            raise table.error(row, f"{column} '{value}' is not letters and digits only")
        parts[column] = value
    deposit_date = _iso_date(table, row, "deposit_date")
    written_currency = table.get(row, "currency")
    currency = (
        _currency(table, row, "currency", written_currency) if written_currency else LOCKBOX_DEFAULT_CURRENCY
    )
    amount = _amount(table, row, "amount", currency)
    if amount <= 0:
        raise table.error(row, f"amount '{table.get(row, 'amount')}' is not positive")
    invoice_number = table.get(row, "invoice_number")
    invoice_amount = None
    if table.get(row, "invoice_amount") is not None:
        if invoice_number is None:
            raise table.error(row, "invoice_amount is given without an invoice_number")
        invoice_amount = _amount(table, row, "invoice_amount", currency)
    return _Check(
        row=row.number,
        lockbox=parts["lockbox"],
        deposit_date=deposit_date,
        batch=parts["batch"],
        item=parts["item"],
        amount=amount,
        amount_text=table.required(row, "amount"),
        currency=currency,
        written={column: table.get(row, column) for column in _CHECK_COLUMNS},
        remitted=([RemittedDocument(number=invoice_number, amount=invoice_amount)] if invoice_number else []),
    )


# --- card payouts ---


@dataclass(slots=True)
class _Payout:
    payout_id: str
    payout_date: date
    row: int
    """The payout's first row."""
    currency: str
    net: Decimal = Decimal(0)
    rows: int = 0
    details: list[TransactionDetails] = field(default_factory=list)

    def add(
        self,
        *,
        kind: str,
        transaction_id: str,
        gross: Decimal,
        fee: Decimal,
        net: Decimal,
        customer: str | None,
        description: str | None,
        invoice_number: str | None,
        charge_id: str | None = None,
        dispute_reason: str | None = None,
    ) -> None:
        self.rows += 1
        self.net += net
        self.details.append(
            self._detail(
                kind=kind,
                amount=gross,
                transaction_id=transaction_id,
                customer=customer,
                remittance_unstructured=(description,) if description else (),
                remittance_structured_refs=(invoice_number,) if invoice_number else (),
                charge_id=charge_id,
                dispute_reason=dispute_reason,
            )
        )
        # The processor keeps its fee out of the gross: a detail of its own, so the details sum to the net.
        if fee:
            self.details.append(self._detail(kind="fee", amount=-fee, transaction_id=transaction_id))

    def _detail(
        self,
        *,
        kind: str,
        amount: Decimal,
        transaction_id: str,
        customer: str | None = None,
        remittance_unstructured: tuple[str, ...] = (),
        remittance_structured_refs: tuple[str, ...] = (),
        charge_id: str | None = None,
        dispute_reason: str | None = None,
    ) -> TransactionDetails:
        return TransactionDetails(
            is_credit=amount > 0,
            amount=amount,
            currency=self.currency,
            bank_reference=transaction_id,
            end_to_end_id=charge_id,
            counterparty_name=customer,
            counterparty_iban=None,
            remittance_unstructured=remittance_unstructured,
            remittance_structured_refs=remittance_structured_refs,
            kind=kind,
            dispute_reason=dispute_reason,
        )

    def entry(self, position: int) -> Entry:
        return Entry(
            position=position,
            amount=self.net,
            currency=self.currency,
            booking_date=self.payout_date,
            booked_at=None,
            value_date=self.payout_date,
            status=BOOKED,
            entry_reference=None,
            bank_reference=self.payout_id,
            bank_transaction_code="CARD-PAYOUT",
            proprietary_bank_transaction_code=None,
            is_reversal=False,
            batch_count=self.rows,
            details=tuple(self.details),
        )


# --- mapped bank CSV ---


def _mapped_entry(table: _Table, row: _Row, mapping: CsvMapping, position: int) -> Entry:
    booking_date = _formatted_date(table, row, mapping.date, mapping.date_format)
    written_currency = table.get(row, mapping.currency) if mapping.currency else None
    if written_currency is not None:
        currency = _currency(table, row, mapping.currency or "", written_currency)
    elif mapping.default_currency is not None:
        currency = mapping.default_currency
    else:
        raise table.error(row, f"{mapping.currency} is empty and the mapping has no default currency")
    amount = _mapped_amount(table, row, mapping, currency)
    reference = table.get(row, mapping.reference) if mapping.reference else None
    account = table.get(row, mapping.payer_account) if mapping.payer_account else None
    compact = re.sub(r"\s", "", account or "").upper()
    iban = compact if _IBAN_SHAPE.fullmatch(compact) else None
    text = " ".join(value for value in (table.get(row, column) for column in mapping.text_columns) if value)
    detail = TransactionDetails(
        is_credit=amount > 0,
        amount=amount,
        currency=currency,
        bank_reference=reference,
        end_to_end_id=None,
        counterparty_name=table.get(row, mapping.payer_name) if mapping.payer_name else None,
        counterparty_iban=iban,
        counterparty_account=None if iban else account,
        remittance_unstructured=(text,) if text else (),
        remittance_structured_refs=(),
    )
    return Entry(
        position=position,
        amount=amount,
        currency=currency,
        booking_date=booking_date,
        booked_at=None,
        value_date=booking_date,
        status=BOOKED,
        entry_reference=None,
        bank_reference=reference,
        bank_transaction_code="CSV",
        proprietary_bank_transaction_code=None,
        is_reversal=False,
        batch_count=None,
        details=(detail,),
    )


def _mapped_amount(table: _Table, row: _Row, mapping: CsvMapping, currency: str) -> Decimal:
    separator = mapping.decimal_separator
    if mapping.amount is not None:
        return _amount(table, row, mapping.amount, currency, decimal_separator=separator)
    credit = debit = None
    if mapping.credit is not None and table.get(row, mapping.credit) is not None:
        credit = _amount(table, row, mapping.credit, currency, decimal_separator=separator)
        if credit < 0:
            raise table.error(
                row, f"{mapping.credit} '{table.get(row, mapping.credit)}' is negative (money out is a debit)"
            )
    if mapping.debit is not None and table.get(row, mapping.debit) is not None:
        # Banks write money out with or without a minus sign in a debit column: it is out either way.
        debit = -abs(_amount(table, row, mapping.debit, currency, decimal_separator=separator))
    if credit is None and debit is None:
        if mapping.credit is not None and mapping.debit is not None:
            raise table.error(row, f"neither {mapping.credit} nor {mapping.debit} has an amount")
        raise table.error(row, f"{mapping.credit or mapping.debit} is empty")
    if credit and debit:
        raise table.error(row, f"both {mapping.credit} and {mapping.debit} have an amount")
    if credit:
        return credit
    if debit:
        return debit
    # 0.00 in one column and nothing (or 0.00) in the other: a zero booking, kept as the bank wrote it.
    zero = credit if credit is not None else debit
    return abs(zero) if zero is not None else Decimal(0)


__all__ = [
    "CARD_KINDS",
    "CsvMapping",
    "csv_mapping_from_json",
    "csv_mapping_to_json",
    "mapped_header",
    "mapping_fits",
    "parse_card_payouts_csv",
    "parse_lockbox_csv",
    "parse_mapped_csv",
]
