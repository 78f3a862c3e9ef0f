"""Read BAI2 (BTRS version 2) cash management balance reports: one statement per account.

A BAI2 file is comma-separated records, each opened by a two-digit record code: 01 file header, 02 group
(one as-of date, one originating bank), 03 account with its summary amounts, 16 transaction detail,
49 account trailer, 98 group trailer, 99 file trailer; an 88 record continues the record before it.
Records end with '/', several may share a line (moov sample3) and one may run over a line break; some
banks end them with the line instead (moov sample4). The text of a 16 is the rest of the record, commas
and slashes included. Amounts are integers in the currency's minor units: USD 12345 is 123.45.

A return's amounts, which BAI2 has no field for, are read from the text: the original amount of a
returned item written as `OAMT`, `ORIG AMT` or `ORIGINAL AMOUNT` (a decimal point, commas grouping
thousands, a currency or `$` before it allowed: `ORIG AMT: USD 1,000.00`) becomes
`TransactionDetails.original_amount`, so the debit less it is the bank's charge; and the debit record
right after a returned item (type 555-557), not itself one, whose text names a return fee or charge
(`RETURN ITEM FEE`, `RETURNED CHECK CHARGE`) is that return's charge, booked apart in its own entry
(`Charge` with `included` false on the return). Text that does not say so leaves the return as it is.

Every trailer's control total and record count is checked, so a file that lost or gained records is
refused instead of half-imported. Pure code: bytes in, frozen dataclasses out; no database, no clock.
Every refusal is one `UnableToReadBankFile` naming the file, the record (1-based, 88s counted, as the
trailers count them) and the problem. Money is `Decimal` built from the integer text, never float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import (
    CLOSING_CODES,
    OPENING_CODES,
    Balance,
    Charge,
    Entry,
    Statement,
    TransactionDetails,
    first_balance,
)
from o2c.core.money import UnableToHandleMoney, currency_decimals, parse_amount

DEFAULT_CURRENCY = "USD"
"""BAI2's rule when neither the 03 account nor the 02 group names a currency."""

# BAI status codes that have an ISO 20022 balance type; every other summary is kept as BAI<code>.
BALANCE_CODES = {"010": "OPBD", "015": "CLBD", "040": "OPAV", "045": "CLAV"}

_KNOWN_RECORDS = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
_CONTINUED = frozenset({"01", "02", "03", "16"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A record after the '/' that ends another on the same line (moov sample3: "2/   02,...").
_SAME_LINE = re.compile(r"(?<=/)\s+(?=(?:01|02|03|16|49|88|98|99),)")
_RECORD_START = re.compile(r"\d{2}(?=,|/?$)")
_TYPE_CODE = re.compile(r"\d{3}")
_SIGNED = re.compile(r"[+-]?\d{1,20}")
_UNSIGNED = re.compile(r"\d{1,20}")
_COUNT = re.compile(r"\d{1,9}")
_DATE = re.compile(r"\d{6}")
# HHMM as BAI2 writes it; NatWest writes HH:MM:SS.
_TIME = re.compile(r"(\d{2}):?(\d{2})(?::?(\d{2}))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9 ]{10,40}")
_SIMPLE_FUNDS_TYPES = frozenset({"", "Z", "0", "1", "2"})
# The payer in the usual US text styles; the name ends at a comma, a run of spaces or the next
# upper-case label ("ACME CORP ORIG ID:123" gives ACME CORP).
# The original amount of a returned item in the text: OAMT, ORIG AMT, ORIGINAL AMOUNT, then the amount
# with a decimal point (commas group thousands), a currency code or $ before it allowed.
_ORIGINAL_AMOUNT = re.compile(
    r"\b(?:OAMT|ORIG(?:INAL)?\.? ?AMT|ORIGINAL AMOUNT)\b\s*[:=]?\s*(?P<currency>[A-Z]{3})?\s*\$?\s*"
    r"(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d]|[.,]\d)",
    re.IGNORECASE,
)
RETURN_TYPE_CODES = frozenset({"555", "556", "557"})
"""Deposited items returned (a bounced cheque) and their kind: the returns a fee record may follow."""
# The bank's fee for a return, booked in a debit record of its own right after the return.
_RETURN_FEE = re.compile(r"\bRETURN(?:ED)?\b.{0,30}?\b(?:FEES?|CHARGES?)\b", re.IGNORECASE)
_COUNTERPARTY = re.compile(
    r"(?i:ORIG CO NAME|ORIGINATOR|BY ORDER OF|B/O)\s*:\s*(?P<name>.+?)"
    r"(?=,|\s{2,}|\s+[A-Z][A-Z0-9#]*(?:\s[A-Z][A-Z0-9#]*)?\s?:|$)"
)


def parse_bai2(data: bytes, *, source: str) -> list[Statement]:
    """One statement per account (03 to 49) of a BAI2 file, in file order, after checking every trailer."""
    physical = _physical_records(_decode(data), source=source)
    if not physical:
        raise UnableToReadBankFile("the file is empty", source=source)
    return _Reader(source, _logical_records(physical)).read()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # BAI2 is ASCII; an odd byte in a text field should not make the whole file unreadable.
        return data.decode("latin-1")


# --- records ---


@dataclass(frozen=True, slots=True)
class _Physical:
    number: int
    """1-based, 88s included: the numbering the trailers' record counts use."""
    code: str
    raw: str
    """After the code and its comma, trailing spaces removed, the '/' terminator still on."""

    @property
    def terminated(self) -> bool:
        return self.raw.endswith("/")

    @property
    def body(self) -> str:
        return self.raw[:-1] if self.terminated else self.raw


@dataclass(frozen=True, slots=True)
class _Record:
    """A record with its 88 continuations."""

    parts: tuple[_Physical, ...]

    @property
    def code(self) -> str:
        return self.parts[0].code

    @property
    def number(self) -> int:
        return self.parts[0].number

    @property
    def where(self) -> str:
        return f"record {self.number} ({self.code})"

    def fields(self) -> _Fields:
        return _Fields([part.body for part in self.parts])


def _physical_records(text: str, *, source: str) -> list[_Physical]:
    records: list[_Physical] = []
    for line_number, line in enumerate(_LINE_BREAK.split(text), start=1):
        for piece in _SAME_LINE.split(line.rstrip()):
            if not piece.strip():
                continue
            if _RECORD_START.match(piece):
                records.append(_Physical(len(records) + 1, piece[:2], piece[2:].removeprefix(",")))
            elif records and not records[-1].terminated:
                # A record that runs over a line break without an 88 (moov sample3): it goes on here.
                last = records[-1]
                records[-1] = _Physical(last.number, last.code, last.raw + piece)
            else:
                raise UnableToReadBankFile(
                    "not a BAI2 record (a record starts with a two-digit record code and a comma)",
                    source=source,
                    where=f"line {line_number}",
                )
    return records


def _logical_records(physical: list[_Physical]) -> list[_Record]:
    records: list[list[_Physical]] = []
    for record in physical:
        if record.code == "88" and records and records[-1][0].code in _CONTINUED:
            records[-1].append(record)
        else:
            # A misplaced 88 stays a record of its own; the reader refuses it in its place.
            records.append([record])
    return [_Record(tuple(parts)) for parts in records]


class _Fields:
    """The comma-separated fields of a record and its 88 continuations, read in order.

    A field never runs over into an 88 (the BAI2 rule), so each continuation starts a new field; only the
    text of a 16 goes on from one to the next.
    """

    def __init__(self, bodies: Sequence[str]) -> None:
        self._bodies = bodies
        self._part = 0
        self._position = 0
        """In the current body; past its end once its last field is read."""

    def next(self) -> str | None:
        while self._part < len(self._bodies):
            body = self._bodies[self._part]
            if self._position <= len(body):
                end = body.find(",", self._position)
                end = len(body) if end < 0 else end
                field = body[self._position : end]
                self._position = end + 1
                return field.strip()
            self._part += 1
            self._position = 0
        return None

    def ended_its_part(self) -> bool:
        """Whether the field just read was the last one of its physical record."""
        return self._part >= len(self._bodies) or self._position > len(self._bodies[self._part])

    def all(self) -> list[str]:
        return list(iter(self.next, None))

    def rest(self) -> str:
        """The rest of the record as text: commas kept, each continuation joined with a space."""
        pieces = list(self._bodies[self._part + 1 :])
        if self._part < len(self._bodies) and self._position <= len(self._bodies[self._part]):
            pieces.insert(0, self._bodies[self._part][self._position :])
        return " ".join(piece.strip() for piece in pieces if piece.strip())


def _field(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


# --- the reader ---


@dataclass(frozen=True, slots=True)
class _Header:
    message_id: str
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Group:
    as_of: date
    as_of_text: str
    currency: str | None


class _Reader:
    def __init__(self, source: str, records: list[_Record]) -> None:
        self.source = source
        self.records = records
        self._index = 0
        self._position = 0
        self.statements: list[Statement] = []

    def error(self, record: _Record, message: str, *, code: str = "bad_bank_file") -> UnableToReadBankFile:
        return UnableToReadBankFile(message, source=self.source, where=record.where, code=code)

    def _next(self, codes: tuple[str, ...], *, expected: str, missing: str) -> _Record:
        if self._index >= len(self.records):
            last = self.records[-1].parts[-1]
            raise UnableToReadBankFile(
                f"the file ends after this record without {missing} (truncated)",
                source=self.source,
                where=f"record {last.number} ({last.code})",
            )
        record = self.records[self._index]
        if record.code not in _KNOWN_RECORDS:
            raise self.error(record, "unknown record code")
        if record.code == "88":
            raise self.error(record, "an 88 continuation must follow a 01, 02, 03 or 16 record")
        if record.code not in codes:
            raise self.error(record, f"a {record.code} record cannot come here: expected {expected}")
        self._index += 1
        return record

    def read(self) -> list[Statement]:
        first = self.records[0]
        if first.code != "01":
            raise self.error(first, "the file does not start with a 01 file header")
        self._index = 1
        header = self._file_header(first)
        group_totals: list[int] = []
        while True:
            record = self._next(
                ("02", "99"),
                expected="a 02 group header or the 99 file trailer",
                missing="the 99 file trailer",
            )
            if record.code == "99":
                break
            group_totals.append(self._group(record, header))
        self._check_file_trailer(record, first=first, group_totals=group_totals)
        if self._index < len(self.records):
            raise self.error(self.records[self._index], "a record after the 99 file trailer")
        return self.statements

    def _file_header(self, record: _Record) -> _Header:
        fields = record.fields().all()
        version = _field(fields, 7)
        if version != "2":
            raise self.error(
                record,
                f"BAI version '{version}' is not supported (only version 2, BAI2, is read)",
                code="unsupported_bank_file",
            )
        sender, created, created_time, file_id = (_field(fields, index) for index in (0, 2, 3, 4))
        created_date = self._date(record, created, "creation date")
        return _Header(
            message_id=f"{sender}/{created}/{created_time}/{file_id}",
            created_at=self._moment(record, created_date, created_time),
        )

    def _group(self, header_record: _Record, header: _Header) -> int:
        fields = header_record.fields().all()
        as_of_text = _field(fields, 3)
        group = _Group(
            as_of=self._date(header_record, as_of_text, "as-of date"),
            as_of_text=as_of_text,
            currency=self._currency(header_record, _field(fields, 5)),
        )
        account_totals: list[int] = []
        while True:
            record = self._next(
                ("03", "98"), expected="a 03 account or the 98 group trailer", missing="the 98 group trailer"
            )
            if record.code == "98":
                break
            account_totals.append(self._account(record, header, group))
        fields = record.fields().all()
        total = self._signed(record, _field(fields, 0), "group control total")
        accounts = self._count(record, _field(fields, 1), "number of accounts")
        records = self._count(record, _field(fields, 2), "number of records")
        if total != sum(account_totals):
            raise self.error(
                record,
                f"group control total {total} does not equal the sum {sum(account_totals)} "
                "of its 49 account control totals",
            )
        if accounts != len(account_totals):
            raise self.error(
                record, f"number of accounts {accounts} does not equal the {len(account_totals)} accounts"
            )
        self._check_count(record, records, first=header_record, scope="group", span="02 to 98")
        return total

    def _check_file_trailer(self, record: _Record, *, first: _Record, group_totals: list[int]) -> None:
        fields = record.fields().all()
        total = self._signed(record, _field(fields, 0), "file control total")
        groups = self._count(record, _field(fields, 1), "number of groups")
        records = self._count(record, _field(fields, 2), "number of records")
        if total != sum(group_totals):
            raise self.error(
                record,
                f"file control total {total} does not equal the sum {sum(group_totals)} "
                "of its 98 group control totals",
            )
        if groups != len(group_totals):
            raise self.error(
                record, f"number of groups {groups} does not equal the {len(group_totals)} groups"
            )
        self._check_count(record, records, first=first, scope="file", span="01 to 99")

    def _check_count(self, trailer: _Record, count: int, *, first: _Record, scope: str, span: str) -> None:
        # Trailers take no continuation, so the scope's records run from its header to the trailer.
        actual = trailer.number - first.number + 1
        if count != actual:
            raise self.error(
                trailer,
                f"{scope} record count {count} does not equal the {actual} records of the {scope} ({span})",
            )

    # --- one account ---

    def _account(self, account_record: _Record, header: _Header, group: _Group) -> int:
        fields = account_record.fields()
        account = fields.next() or ""
        if not account:
            raise self.error(account_record, "the customer account number is missing")
        currency = self._currency(account_record, fields.next() or "") or group.currency or DEFAULT_CURRENCY
        balances, summary_total = self._summaries(account_record, fields, currency, group.as_of)
        entries: list[Entry] = []
        entry_total = 0
        while True:
            record = self._next(
                ("16", "49"),
                expected="a 16 transaction or the 49 account trailer",
                missing=f"the 49 account trailer of account {account}",
            )
            if record.code == "49":
                break
            entry, written = self._entry(record, currency, group.as_of)
            if entries and _is_return_fee(entry, returned=entries[-1]):
                entries[-1] = _with_charge_apart(entries[-1], fee=entry)
            entries.append(entry)
            entry_total += written
        trailer = record.fields().all()
        total = self._signed(record, _field(trailer, 0), "account control total")
        records = self._count(record, _field(trailer, 1), "number of records")
        if total != summary_total + entry_total:
            raise self.error(
                record,
                f"account control total {total} does not equal the sum {summary_total + entry_total} "
                "of the account's 03 and 16 amounts",
            )
        self._check_count(record, records, first=account_record, scope="account", span="03 to 49")
        opening = first_balance(balances, OPENING_CODES)
        closing = first_balance(balances, CLOSING_CODES)
        self.statements.append(
            Statement(
                message="bai2",
                version=2,
                namespace="",
                message_id=header.message_id,
                statement_id=f"{group.as_of_text}/{account}",
                account_iban=_iban(account),
                account_other_id=account,
                currency=currency,
                opening_balance=opening.amount if opening else None,
                closing_balance=closing.amount if closing else None,
                created_at=header.created_at,
                balances=balances,
                entries=tuple(entries),
            )
        )
        return total

    def _summaries(
        self, record: _Record, fields: _Fields, currency: str, as_of: date
    ) -> tuple[tuple[Balance, ...], int]:
        """The 03's (type code, amount, item count, funds type) groups, and the sum of their amounts."""
        balances: list[Balance] = []
        total = 0
        while (type_code := fields.next()) is not None:
            if not type_code and fields.ended_its_part():
                # Citi and SVB write ",,,/": an empty field before the '/', not a summary of its own.
                continue
            amount, item_count, funds_type = (fields.next() or "" for _ in range(3))
            self._funds(record, fields, funds_type)
            if not type_code:
                if amount:
                    raise self.error(record, f"summary amount {amount} has no type code")
                continue
            if not _TYPE_CODE.fullmatch(type_code):
                raise self.error(record, f"summary type code '{type_code}' is not three digits")
            if item_count:
                self._count(record, item_count, f"item count of type code {type_code}")
            if not amount:
                continue  # a type code reported without an amount gives no balance
            minor = self._signed(record, amount, f"amount of type code {type_code}")
            total += minor
            balances.append(
                Balance(
                    code=BALANCE_CODES.get(type_code, f"BAI{type_code}"),
                    amount=_decimal(minor, currency),
                    currency=currency,
                    balance_date=as_of,
                )
            )
        return tuple(balances), total

    def _entry(self, record: _Record, currency: str, as_of: date) -> tuple[Entry, int]:
        """The entry of a 16 record and its amount as written (for the account control total)."""
        self._position += 1
        fields = record.fields()
        type_code = fields.next() or ""
        if not _TYPE_CODE.fullmatch(type_code):
            raise self.error(record, f"type code '{type_code}' is not three digits")
        if 100 <= int(type_code) <= 399:
            is_credit = True
        elif 400 <= int(type_code) <= 699:
            is_credit = False
        else:
            raise self.error(
                record,
                f"type code {type_code} is neither a credit (100-399) nor a debit (400-699) transaction",
            )
        written = fields.next() or ""
        if not _UNSIGNED.fullmatch(written):
            raise self.error(
                record, f"amount '{written}' is not an unsigned number" if written else "no amount"
            )
        minor = int(written)
        value_date = self._funds(record, fields, fields.next() or "")
        bank_reference = fields.next() or None
        customer_reference = fields.next() or None
        text = fields.rest()
        amount = _decimal(minor if is_credit else -minor, currency)
        detail = TransactionDetails(
            is_credit=is_credit,
            amount=amount,
            currency=currency,
            bank_reference=bank_reference,
            end_to_end_id=None,
            counterparty_name=_counterparty(text),
            counterparty_iban=None,
            remittance_unstructured=(text,) if text else (),
            remittance_structured_refs=(),
            original_amount=None if is_credit else _original_amount(text, currency),
        )
        entry = Entry(
            position=self._position,
            amount=amount,
            currency=currency,
            booking_date=as_of,
            booked_at=None,
            value_date=value_date or as_of,
            status="BOOK",
            entry_reference=customer_reference,
            bank_reference=bank_reference,
            bank_transaction_code=f"BAI{type_code}",
            proprietary_bank_transaction_code=None,
            is_reversal=False,
            batch_count=None,
            details=(detail,),
        )
        return entry, minor

    def _funds(self, record: _Record, fields: _Fields, funds_type: str) -> date | None:
        """Read the fields a funds type brings with it; the value date of a 'V'."""
        if funds_type in _SIMPLE_FUNDS_TYPES:
            return None
        if funds_type == "V":
            value_date = self._date(record, fields.next() or "", "value date")
            fields.next()  # the value time: optional, and the date is what is booked
            return value_date
        if funds_type == "S":
            for name in ("immediate", "one-day", "two-or-more-day"):
                availability = fields.next() or ""
                if availability:
                    self._signed(record, availability, f"{name} availability")
            return None
        if funds_type == "D":
            count = self._count(record, fields.next() or "", "number of distributions")
            for number in range(1, count + 1):
                days, distributed = fields.next(), fields.next()
                if days is None or distributed is None:
                    raise self.error(record, f"distribution {number} of {count} is missing")
                self._count(record, days, f"days of distribution {number}")
                self._signed(record, distributed, f"amount of distribution {number}")
            return None
        raise self.error(record, f"funds type '{funds_type}' is not one of Z, 0, 1, 2, V, S, D")

    # --- values ---

    def _signed(self, record: _Record, text: str, name: str) -> int:
        if not text:
            raise self.error(record, f"{name} is missing")
        if not _SIGNED.fullmatch(text):
            raise self.error(record, f"{name} '{text}' is not a number")
        return int(text)

    def _count(self, record: _Record, text: str, name: str) -> int:
        if not text:
            raise self.error(record, f"{name} is missing")
        if not _COUNT.fullmatch(text):
            raise self.error(record, f"{name} '{text}' is not a number")
        return int(text)

    def _date(self, record: _Record, text: str, name: str) -> date:
        if not text:
            raise self.error(record, f"{name} is missing")
        parsed = _yymmdd(text)
        if parsed is None:
            raise self.error(record, f"{name} '{text}' is not a date (YYMMDD)")
        return parsed

    def _moment(self, record: _Record, day: date, text: str) -> datetime | None:
        if not text:
            return None
        match = _TIME.fullmatch(text)
        hour, minute, second = (int(part or 0) for part in match.groups()) if match else (-1, 0, 0)
        if (hour, minute, second) == (24, 0, 0):
            return datetime.combine(day + timedelta(days=1), time())  # 2400: the end of the day
        if 0 <= hour < 24 and minute < 60 and second < 60:
            return datetime.combine(day, time(hour, minute, second))
        raise self.error(record, f"creation time '{text}' is not a time (HHMM)")

    def _currency(self, record: _Record, text: str) -> str | None:
        if not text:
            return None
        if _CURRENCY.fullmatch(text):
            try:
                currency_decimals(text)
                return text
            except UnableToHandleMoney:
                pass
        raise self.error(record, f"currency '{text}' is not an ISO 4217 code")


def _yymmdd(text: str) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        # Two-digit years are this century's: BAI2 files from before 2000 are not imported any more.
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None


def _decimal(minor: int, currency: str) -> Decimal:
    """BAI2 amounts carry no decimal point: the currency's minor units (2 for USD, 0 for JPY)."""
    decimals = currency_decimals(currency)
    return Decimal(minor).scaleb(-decimals).quantize(Decimal(1).scaleb(-decimals))


def _iban(account: str) -> str | None:
    if not _IBAN_SHAPE.fullmatch(account):
        return None
    try:
        return str(IBAN(account).compact)
    except SchwiftyException:
        return None


def _original_amount(text: str, currency: str) -> Decimal | None:
    """The original amount a debit's text states (OAMT, ORIG AMT): None when none is stated, it is in
    another currency, or it has more decimals than the currency."""
    match = _ORIGINAL_AMOUNT.search(text)
    if match is None or (match["currency"] or currency).upper() != currency:
        return None
    try:
        amount = parse_amount(match["amount"].replace(",", ""), currency)
    except UnableToHandleMoney:
        return None
    return amount.quantize(Decimal(1).scaleb(-currency_decimals(currency))) if amount else None


def _is_return_fee(entry: Entry, *, returned: Entry) -> bool:
    """Whether a debit is the bank's fee for the returned item (`returned`, the record before it): its
    text says so, and it is not a returned item itself."""
    return (
        (returned.bank_transaction_code or "")[3:] in RETURN_TYPE_CODES
        and (entry.bank_transaction_code or "")[3:] not in RETURN_TYPE_CODES
        and entry.amount < 0
        and entry.currency == returned.currency
        and any(_RETURN_FEE.search(text) for text in entry.remittance_unstructured)
    )


def _with_charge_apart(returned: Entry, *, fee: Entry) -> Entry:
    """The return with the fee record's amount as its charge, booked apart (not in its own debit)."""
    (details,) = returned.details
    charge = Charge(
        amount=fee.amount, currency=fee.currency, included=False, type_code=fee.bank_transaction_code
    )
    return replace(returned, details=(replace(details, charges=(*details.charges, charge)),))


def _counterparty(text: str) -> str | None:
    match = _COUNTERPARTY.search(text)
    return match.group("name").strip() or None if match else None


__all__ = ["BALANCE_CODES", "DEFAULT_CURRENCY", "RETURN_TYPE_CODES", "parse_bai2"]
