"""Read SWIFT MT940 customer statements into the common statement model.

One `Statement` per message (:20: to :62F:/:62M:), in file order; one `Entry` per :61: with the :86: that
follows it. SWIFT headers ({1:...}{2:...}{4:), trailers (-} and {5:...}), the SOH/ETX framing some banks
add, CRLF or LF, blank lines, trailing spaces and a missing final newline are tolerated. MT942 interim
reports are refused (their entries are not final and come again in the day's MT940).

The :86: field is read in three forms: the German/SEPA structured one (GVC, ?00 ... ?63 subfields, with
the SEPA keywords EREF+, SVWZ+, ... inside the remittance lines), the /CODE/value form of Dutch banks
(ING, ABN AMRO: /EREF/, /CNTP/, /NAME/, /IBAN/, /REMI/, ...), and anything else as one remittance line.

The amounts of a return are read where banks state them: SWIFT's /OCMT/ (original amount) and /CHGS/
(charges), each a currency and an amount, in the :61: supplementary details (its second line, or after
the references on the first) and in the :86:; the DK's OAMT+ (original amount) and COAM+ (compensation
amount: the charges the returning bank claims) in the structured :86:. The first place that states one
wins, in that order. They become `TransactionDetails.original_amount` (only in the entry's currency) and
`charges` (signed: a charge to the account holder is negative; whether it is in the entry's amount the
file does not say). An amount that cannot be read is left out, never a refusal: the text stays.

Pure code: bytes in, frozen dataclasses out; no database, no clock. Every refusal is one
`UnableToReadBankFile` whose message names the file, the line (1-based) and the field. Money is `Decimal`
parsed from the text (decimal comma), never float.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from schwifty import IBAN

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import BOOKED, Balance, Charge, Entry, Statement, TransactionDetails
from o2c.core.money import UnableToHandleMoney, currency_decimals, known_currencies, parse_amount

# Field tags that start a field; any other ":NN:" at the start of a line is text of the field before it
# (banks wrap :86: anywhere, e.g. inside a time "13:12:11").
_MT940_TAGS = frozenset(
    {"20", "21", "25", "25P", "28", "28C", "60F", "60M", "61", "86", "62F", "62M", "64", "65", "NS"}
)
_MT942_TAGS = frozenset({"13D", "34F", "90D", "90C"})
# Where each field may stand in a message; :61: repeats, :65: repeats, :86: and :NS: are placed apart.
_RANK = {
    "20": 0, "21": 1, "25": 2, "25P": 2, "28": 3, "28C": 3, "60F": 4, "60M": 4,
    "61": 5, "62F": 6, "62M": 6, "64": 7, "65": 8,
}  # fmt: skip
_REPEATABLE = frozenset({"61", "65"})
_REQUIRED = (
    (("25", "25P"), ":25: account identification"),
    (("28", "28C"), ":28C: statement number"),
    (("60F", "60M"), ":60F:/:60M: opening balance"),
    (("62F", "62M"), ":62F:/:62M: closing balance"),
)
_BALANCE_CODES = {"60F": "OPBD", "60M": "PRCD", "62F": "CLBD", "62M": "ITBD", "64": "CLAV", "65": "FWAV"}

_NEWLINE = re.compile(r"\r\n|\r|\n")
# C0 controls other than TAB, LF, CR, SOH/ETX (message framing) and SUB (DOS end of file).
_NOT_TEXT = re.compile(r"[\x00\x02\x04-\x08\x0b\x0c\x0e-\x19\x1b-\x1f]")
_FIELD_START = re.compile(r":([0-9]{2}[A-Z]?|NS):")
_BLOCK = re.compile(r"\{[1-5]:")
_APPLICATION_HEADER = re.compile(r"\{2:[IO](\d{3})")
_TRAILER = re.compile(r"-(\}.*)?")
_BALANCE = re.compile(r"([CD])(\d{6})([A-Z]{3})(.*)")
_AMOUNT = re.compile(r"(\d+),(\d*)")
_STATEMENT_LINE = re.compile(r"(\d{6})(\d{4}| {4})?(R?[CD])([A-Z](?=\d))?([0-9][0-9.,]*)(.*)")
_TRANSACTION_TYPE = re.compile(r"[A-Z][A-Z0-9 ]{3}")

LINE_LENGTH = 65
"""SWIFT's width of an :86: line. A bank cuts a longer text at exactly this width, so a full line goes on
in the next one without a space; a shorter line ended at a space the bank dropped as trailing."""

# German structured :86: (DK "Datenformate" / SEPA mapping): GVC, then ?NN subfields.
_STRUCTURED = re.compile(r"\s*(\d{3})((?:\?\d{2}.*)?)", re.DOTALL)
_SUBFIELD = re.compile(r"\?(\d{2})")
# The remittance subfields, each with the one its text goes on in.
_NEXT_REMITTANCE = {
    "20": "21", "21": "22", "22": "23", "23": "24", "24": "25", "25": "26", "26": "27", "27": "28",
    "28": "29", "29": "60", "60": "61", "61": "62", "62": "63", "63": "",
}  # fmt: skip
SUBFIELD_LENGTH = 27
"""Width of a ?20-?29/?60-?63 subfield."""
_SEPA_KEYWORD = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|PURP|MDAT|SQTP|ORCR|ORMR|DDAT|COAM|OAMT)\+"
)
# The /CODE/value form of ING, ABN AMRO, Rabobank (SWIFT's "structured 86" of the Dutch banks).
_SLASH_CODE = re.compile(
    r"/(TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|CNTP|ORDP|BENM|ULTD|ULTC|ULTB|PURP|RTRN|ADDR|ISDT|PREF"
    r"|OCMT|CHGS)(?=/)"
)
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
# SWIFT's codes of :61: subfield 9 (and of :86:) for a return's amounts: /OCMT/EUR123,45/ the original
# amount, /CHGS/EUR2,50/ the charges.
_SWIFT_AMOUNT = re.compile(r"/(OCMT|CHGS)/([A-Z]{3})(\d{1,15}),(\d*)/?")
# The value of the DK's OAMT+ / COAM+: an amount with a decimal comma, a currency before or after it.
_DK_AMOUNT = re.compile(r"(?:([A-Z]{3}) ?)?(\d{1,15})(?:,(\d*))?(?: ?([A-Z]{3}))?")


def parse_mt940(data: bytes, *, source: str) -> list[Statement]:
    """Every statement (MT940 message) of the file, in file order."""
    reader = _Reader(source)
    statements = [reader.statement(message) for message in _messages(_decode(data, source=source), source)]
    if not statements:
        raise UnableToReadBankFile("the file is empty", source=source)
    return statements


# --- text, lines and fields ---


def _decode(data: bytes, *, source: str) -> str:
    """UTF-8, else cp1252, else latin-1: SWIFT files are often in a Windows or ISO 8859 code page, and
    the code page only matters to names and remittance text, never to amounts or dates."""
    text = ""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    control = _NOT_TEXT.search(text)
    if control is not None:
        line = len(_NEWLINE.split(text[: control.start()]))
        raise UnableToReadBankFile(
            f"not a text file (control character 0x{ord(control.group()):02x})",
            source=source,
            where=f"line {line}",
            code="unsupported_bank_file",
        )
    return text


@dataclass
class _Field:
    tag: str
    line: int
    lines: list[str]
    """The text after the tag, then each continuation line as written."""

    @property
    def label(self) -> str:
        return f":{self.tag}:"

    @property
    def where(self) -> str:
        return f"line {self.line}"


@dataclass
class _Message:
    line: int
    fields: list[_Field] = field(default_factory=list)


def _messages(text: str, source: str) -> Iterator[_Message]:
    """Split the text into messages of fields, dropping SWIFT blocks, framing and blank lines."""
    message: _Message | None = None
    current: _Field | None = None
    seen_field = False
    for number, raw in enumerate(_NEWLINE.split(text), start=1):
        line = raw.strip("\x01\x03\x1a")
        if _BLOCK.match(line):
            header = _APPLICATION_HEADER.search(line)
            if header is not None and header.group(1) != "940":
                raise UnableToReadBankFile(
                    f"the SWIFT header says MT{header.group(1)}: only MT940 statements are read",
                    source=source,
                    where=f"line {number}",
                    code="unsupported_bank_file",
                )
            if line.startswith("{1:") and message is not None:
                yield message
                message, current = None, None
            body = line.find("{4:")
            if body < 0:
                continue
            line = line[body + 3 :]
        if _TRAILER.fullmatch(line.strip()):
            if message is not None:
                yield message
            message, current = None, None
            continue
        start = _FIELD_START.match(line)
        tag = start.group(1) if start else None
        if tag in _MT942_TAGS:
            raise UnableToReadBankFile(
                f":{tag}: is an MT942 field: MT942 interim reports are not imported (not final), "
                "import the MT940",
                source=source,
                where=f"line {number}",
                code="unsupported_bank_file",
            )
        if start is not None and tag in _MT940_TAGS:
            seen_field = True
            current = _Field(tag=start.group(1), line=number, lines=[line[start.end() :]])
            if tag == "20":
                if message is not None:
                    yield message
                message = _Message(line=number)
            if message is None:
                raise UnableToReadBankFile(
                    f"{current.label} is outside a message (no :20: transaction reference before it)",
                    source=source,
                    where=f"line {number}",
                )
            message.fields.append(current)
        elif current is not None:
            current.lines.append(line)
        elif line.strip():
            if not seen_field:
                raise UnableToReadBankFile(
                    f"not an MT940 file: expected a field such as :20:, found '{_clip(line)}'",
                    source=source,
                    where=f"line {number}",
                    code="unsupported_bank_file",
                )
            raise UnableToReadBankFile(
                f"text outside a message: '{_clip(line)}'", source=source, where=f"line {number}"
            )
    if message is not None:
        yield message


def _clip(text: str, width: int = 30) -> str:
    text = text.strip()
    return text if len(text) <= width else text[:width] + "..."


def _unwrap(lines: list[str], *, first_offset: int) -> str:
    """The text of a multi-line field as one string, the bank's line breaks taken out (see LINE_LENGTH).

    No space is added before a line that starts a ?NN subfield (the bank broke the line there on purpose)
    or with ':' (no line may start with one: the text was cut before it, as in a time 13:12:11).
    """
    text = ""
    previous_length = LINE_LENGTH
    for index, line in enumerate(lines):
        length = len(line) + (first_offset if index == 0 else 0)
        if not line.strip():
            previous_length = 0
            continue
        if (
            text
            and previous_length < LINE_LENGTH
            and not text[-1].isspace()
            and not line[0].isspace()
            and not line.startswith(":")
            and not _SUBFIELD.match(line)
        ):
            text += " "
        text += line
        previous_length = length
    return text


# --- the statement ---


@dataclass(frozen=True, slots=True)
class _Stated:
    """An amount the bank states for an entry besides the entry's own: OCMT/OAMT the original amount,
    CHGS/COAM charges. Unsigned; `currency` None when the text gives none (the entry's)."""

    code: str
    currency: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class _Info:
    """What an :86: says about one entry."""

    gvc: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    counterparty_account: str | None = None
    end_to_end_id: str | None = None
    remittance: tuple[str, ...] = ()
    structured_refs: tuple[str, ...] = ()
    return_reason: str | None = None
    swift_amounts: tuple[_Stated, ...] = ()
    """/OCMT/ and /CHGS/ anywhere in the :86:."""
    dk_amounts: tuple[_Stated, ...] = ()
    """OAMT+ and COAM+ of the structured form."""


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self._position = 0

    def error(self, where: str, message: str) -> UnableToReadBankFile:
        return UnableToReadBankFile(message, source=self.source, where=where)

    def statement(self, message: _Message) -> Statement:
        fields = self._ordered(message)
        by_tag: dict[str, _Field] = {}
        for item in fields:
            by_tag.setdefault(item.tag, item)
        for tags, name in _REQUIRED:
            if not any(tag in by_tag for tag in tags):
                raise self.error(f"line {message.line}", f"the message has no {name}")
        reference = self._single_line(by_tag["20"])
        account_field = by_tag.get("25") or by_tag["25P"]
        account = self._single_line(account_field, lines=2 if account_field.tag == "25P" else 1)
        statement_id = self._single_line(by_tag.get("28C") or by_tag["28"])
        balances = tuple(self._balance(item) for item in fields if item.tag in _BALANCE_CODES)
        opening = balances[0]
        entries: list[Entry] = []
        for index, item in enumerate(fields):
            if item.tag == "61":
                following = fields[index + 1] if index + 1 < len(fields) else None
                info = following if following is not None and following.tag == "86" else None
                entries.append(self._entry(item, info, currency=opening.currency))
        iban = _valid_iban(account)
        return Statement(
            message="mt940",
            version=None,
            namespace="",
            message_id=reference,
            statement_id=statement_id,
            account_iban=iban,
            account_other_id=None if iban else account,
            currency=opening.currency,
            opening_balance=opening.amount,
            closing_balance=next(b.amount for b in balances if b.code in ("CLBD", "ITBD")),
            created_at=None,
            balances=balances,
            entries=tuple(entries),
        )

    def _ordered(self, message: _Message) -> list[_Field]:
        """The fields that make up the statement, in order; refuses one out of place.

        :NS: (bank-specific, non-SWIFT) fields are dropped. An :86: right after a :61: (only :NS: between)
        is that entry's; any other :86: after the opening balance is information for the account owner
        about the whole statement, which the model has no place for, and is dropped.
        """
        kept: list[_Field] = []
        last: _Field | None = None
        for item in message.fields:
            if item.tag == "NS":
                continue
            if item.tag == "86":
                if kept and kept[-1].tag == "61":
                    kept.append(item)
                elif kept and kept[-1].tag == "86":
                    raise self.error(item.where, f":86: follows the :86: of line {kept[-1].line}")
                elif last is None or _RANK[last.tag] < _RANK["60F"]:
                    raise self.error(item.where, f":86: is out of place after {_label(last)}")
                continue
            rank = _RANK[item.tag]
            if last is not None:
                if rank == _RANK[last.tag] and item.tag not in _REPEATABLE:
                    raise self.error(item.where, f"{item.label} repeats {last.label} of line {last.line}")
                if rank < _RANK[last.tag] or (item.tag == "61" and _RANK[last.tag] < _RANK["60F"]):
                    raise self.error(
                        item.where, f"{item.label} is out of place after {last.label} of line {last.line}"
                    )
            kept.append(item)
            last = item
        return kept

    def _single_line(self, item: _Field, *, lines: int = 1) -> str:
        for offset, extra in enumerate(item.lines[lines:], start=lines):
            if extra.strip():
                raise self.error(
                    f"line {item.line + offset}", f"unexpected text in {item.label} '{_clip(extra)}'"
                )
        value = item.lines[0].strip()
        if not value:
            raise self.error(item.where, f"{item.label} is empty")
        return value

    def _balance(self, item: _Field) -> Balance:
        text = self._single_line(item)
        match = _BALANCE.fullmatch(text)
        if match is None:
            raise self.error(
                item.where,
                f"{item.label} '{_clip(text)}' is not a balance (C or D, date YYMMDD, currency, amount)",
            )
        mark, day, currency, amount = match.groups()
        value = self._amount(amount.strip(), currency, item)
        return Balance(
            code=_BALANCE_CODES[item.tag],
            amount=-value if mark == "D" and value else value,
            currency=currency,
            balance_date=self._date(day, item, "date"),
        )

    def _amount(self, text: str, currency: str, item: _Field) -> Decimal:
        if currency not in known_currencies():
            raise self.error(item.where, f"{item.label} currency '{currency}' is not an ISO 4217 code")
        match = _AMOUNT.fullmatch(text)
        if match is None:
            raise self.error(
                item.where, f"{item.label} amount '{text}' is not an amount with a decimal comma"
            )
        whole, fraction = match.groups()
        try:
            return parse_amount(f"{whole}.{fraction}" if fraction else whole, currency)
        except UnableToHandleMoney:
            raise self.error(
                item.where,
                f"{item.label} amount '{text}' has more decimals than {currency} allows "
                f"({currency_decimals(currency)})",
            ) from None

    def _date(self, text: str, item: _Field, name: str) -> date:
        year = int(text[:2])
        # YY: 80-99 are 1980-1999, 00-79 are 2000-2079 (no clock to take the century from).
        return self._day(year + (1900 if year >= 80 else 2000), text[2:], item, name, text)

    def _day(self, year: int, month_day: str, item: _Field, name: str, text: str) -> date:
        month, day = int(month_day[:2]), int(month_day[2:])
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise self.error(item.where, f"{item.label} {name} '{text}' is not a date")
        # Banks that count interest 30/360 book on "30 February" (and the 31st of short months): read as
        # the month's last day, the day the money was actually booked.
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def _entry(self, item: _Field, info_field: _Field | None, *, currency: str) -> Entry:
        self._position += 1
        # Subfield 9 (supplementary details) is the line after the statement line: only the return's
        # amounts are read from it (/OCMT/, /CHGS/), the rest has no place in the model.
        match = _STATEMENT_LINE.fullmatch(item.lines[0].rstrip())
        supplementary = item.lines[1:]
        if match is None and len(item.lines) > 1:
            # Some banks wrap the statement line itself, e.g. between the mark and the amount.
            match = _STATEMENT_LINE.fullmatch(item.lines[0].strip() + item.lines[1].strip())
            supplementary = item.lines[2:]
        if match is None:
            raise self.error(
                item.where,
                f":61: '{_clip(item.lines[0])}' is not a statement line "
                "(date YYMMDD, entry date MMDD, C/D/RC/RD, amount, type, reference)",
            )
        value_text, entry_text, mark, _funds, amount_text, rest = match.groups()
        value_date = self._date(value_text, item, "value date")
        booking_date = None
        if entry_text and entry_text.strip():
            booking_date = self._entry_date(value_date, entry_text, item)
        unsigned = self._amount(amount_text, currency, item)
        is_credit = mark in ("C", "RD")
        amount = unsigned if is_credit or not unsigned else -unsigned
        transaction_type = rest[:4]
        if not _TRANSACTION_TYPE.fullmatch(transaction_type):
            raise self.error(
                item.where, f":61: transaction type '{transaction_type}' is not a letter and 3 characters"
            )
        # Some banks write /OCMT/ and /CHGS/ right after the references instead of on a line of their own.
        references = rest[4:]
        on_first_line = _SWIFT_AMOUNT.search(references)
        if on_first_line is not None:
            references, inline = references[: on_first_line.start()], references[on_first_line.start() :]
            supplementary = [inline, *supplementary]
        customer, _, bank = references.partition("//")
        customer = customer.strip()
        info = _read_86(info_field) if info_field is not None else _Info()
        # where a return's amounts may be stated, the surest first
        stated = (_swift_amounts(" ".join(supplementary)), info.swift_amounts, info.dk_amounts)
        bank_reference = bank.strip() or None
        details = TransactionDetails(
            is_credit=is_credit,
            amount=amount,
            currency=currency,
            bank_reference=bank_reference,
            end_to_end_id=info.end_to_end_id,
            counterparty_name=info.counterparty_name,
            counterparty_iban=info.counterparty_iban,
            counterparty_account=info.counterparty_account,
            remittance_unstructured=info.remittance,
            remittance_structured_refs=info.structured_refs,
            return_reason=info.return_reason,
            charges=_charges(stated, currency),
            original_amount=_original_amount(stated, currency),
        )
        return Entry(
            position=self._position,
            amount=amount,
            currency=currency,
            booking_date=booking_date,
            booked_at=None,
            value_date=value_date,
            status=BOOKED,
            entry_reference=None if customer in ("", "NONREF") else customer,
            bank_reference=bank_reference,
            bank_transaction_code=transaction_type.strip(),
            proprietary_bank_transaction_code=info.gvc,
            is_reversal=mark.startswith("R"),
            batch_count=None,
            details=(details,),
        )

    def _entry_date(self, value_date: date, text: str, item: _Field) -> date:
        """MMDD in the year that puts it nearest the value date: an entry booked on 2 January for a value
        date of 31 December is in the next year, one booked on 31 December for 2 January in the one before."""
        candidates = [
            self._day(value_date.year + shift, text, item, "entry date", text) for shift in (-1, 0, 1)
        ]
        return min(candidates, key=lambda day: abs((day - value_date).days))


def _label(item: _Field | None) -> str:
    return f"{item.label} of line {item.line}" if item else "the start of the message"


# --- :86: ---


def _read_86(item: _Field) -> _Info:
    text = _unwrap(item.lines, first_offset=len(item.label)).strip()
    structured = _STRUCTURED.fullmatch(text)
    if structured is not None:
        info = _read_structured(structured.group(1), structured.group(2))
    elif _SLASH_CODE.match(text):
        info = _read_slash_codes(text)
    else:
        info = _Info(remittance=(text,) if text else ())
    return replace(info, swift_amounts=_swift_amounts(text))


def _read_structured(gvc: str, body: str) -> _Info:
    """The German structured form: ?00 posting text, ?10 primanota, ?20-?29 and ?60-?63 remittance,
    ?30 bank code/BIC, ?31 account/IBAN, ?32-?33 name, ?34 text key extension, ?38 IBAN (some banks)."""
    parts = _SUBFIELD.split(body)
    subfields: list[tuple[str, str]] = list(zip(parts[1::2], parts[2::2], strict=True))
    values: dict[str, str] = {}
    for number, value in subfields:
        values.setdefault(number, value)
    remittance = [(number, value) for number, value in subfields if number in _NEXT_REMITTANCE]
    keywords = _sepa_keywords(_runs(remittance))
    # The name runs on from ?32 into ?33 like the remittance does: without a space after a full ?32.
    first, second = values.get("32", ""), values.get("33", "")
    name = " ".join((first + ("" if len(first) >= SUBFIELD_LENGTH else " ") + second).split()) or None
    account = "".join(values.get("31", "").split()) or None
    candidates = (account, "".join(values.get("38", "").split()), keywords.get("IBAN"))
    iban = next((found for found in map(_valid_iban, candidates) if found), None)
    lines = tuple(line for line in (value.strip() for _, value in remittance) if line)
    return _Info(
        gvc=gvc,
        counterparty_name=name,
        counterparty_iban=iban,
        counterparty_account=account if account and account != iban else None,
        end_to_end_id=keywords.get("EREF") or None,
        remittance=(keywords["SVWZ"],) if keywords.get("SVWZ") else lines,
        dk_amounts=_dk_amounts(keywords),
    )


def _runs(subfields: list[tuple[str, str]]) -> list[str]:
    """The remittance subfields joined into the texts the bank split: a full subfield (27 characters) goes
    on in the next-numbered one without a separator; a shorter one ended its text."""
    runs: list[str] = []
    open_after: str | None = None
    for number, value in subfields:
        if runs and open_after is not None and _NEXT_REMITTANCE[open_after] == number:
            runs[-1] += value
        else:
            runs.append(value)
        open_after = number if len(value) >= SUBFIELD_LENGTH else None
    return runs


def _sepa_keywords(runs: list[str]) -> dict[str, str]:
    """EREF+, SVWZ+, ... each up to the next keyword or the end of its text. SVWZ+ (the remittance) runs
    on over the following texts up to the next keyword, joined without a separator as SEPA's 140
    characters are (an invoice number cut between two subfields stays whole). The first of a keyword wins."""
    found: dict[str, str] = {}
    remittance_open = False
    for run in runs:
        matches = list(_SEPA_KEYWORD.finditer(run))
        head = run[: matches[0].start() if matches else len(run)]
        if remittance_open and head:
            found["SVWZ"] += head
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(run)
            keyword = match.group(1)
            remittance_open = keyword == "SVWZ" and keyword not in found
            found.setdefault(keyword, run[match.end() : end])
    return {keyword: value.strip() for keyword, value in found.items()}


def _read_slash_codes(text: str) -> _Info:
    """/CODE/value pairs; a value runs to the next known code. ING's /CNTP/ is IBAN/BIC/name/city, its
    /REMI/ is USTD//text or STRD/CUR/reference."""
    matches = list(_SLASH_CODE.finditer(text))
    codes: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        codes.setdefault(match.group(1), text[match.end() + 1 : end].strip().strip("/").strip())
    counterparty = codes.get("CNTP", "").split("/")
    account = "".join((codes.get("IBAN") or counterparty[0]).split()) or None
    iban = _valid_iban(account)
    name = codes.get("NAME") or (counterparty[2].strip() if len(counterparty) > 2 else "")
    remittance: tuple[str, ...] = (text,)
    structured: tuple[str, ...] = ()
    if "REMI" in codes:
        kind, _, rest = codes["REMI"].partition("/")
        if kind == "USTD":
            remittance = (rest.strip("/").strip(),) if rest.strip("/").strip() else ()
        elif kind == "STRD":
            remittance, structured = (), tuple(part for part in rest.split("/")[-1:] if part)
        else:
            remittance = (codes["REMI"],) if codes["REMI"] else ()
    return _Info(
        counterparty_name=name or None,
        counterparty_iban=iban,
        counterparty_account=None if iban else account,
        end_to_end_id=codes.get("EREF") or None,
        remittance=remittance,
        structured_refs=structured,
        return_reason=codes.get("RTRN") or None,
    )


def _swift_amounts(text: str) -> tuple[_Stated, ...]:
    """/OCMT/ and /CHGS/ with their currency and amount, in text order."""
    return tuple(
        _Stated(code=code, currency=currency, amount=Decimal(f"{whole}.{fraction or 0}"))
        for code, currency, whole, fraction in _SWIFT_AMOUNT.findall(text)
    )


def _dk_amounts(keywords: dict[str, str]) -> tuple[_Stated, ...]:
    """The DK's OAMT+ and COAM+ as stated amounts; a value that is not an amount is left out."""
    found = []
    for keyword in ("OAMT", "COAM"):
        match = _DK_AMOUNT.fullmatch(keywords.get(keyword, ""))
        if match is None:
            continue
        before, whole, fraction, after = match.groups()
        if before and after and before != after:
            continue
        amount = Decimal(f"{whole}.{fraction or 0}")
        found.append(_Stated(code=keyword, currency=before or after, amount=amount))
    return tuple(found)


def _in_currency(stated: _Stated, currency: str) -> Decimal | None:
    """The amount with its currency's decimals; None when it has more, or the currency is not one."""
    code = stated.currency or currency
    try:
        return parse_amount(str(stated.amount), code).quantize(Decimal(1).scaleb(-currency_decimals(code)))
    except UnableToHandleMoney:
        return None


def _original_amount(sources: tuple[tuple[_Stated, ...], ...], currency: str) -> Decimal | None:
    """The original amount of the first place that states one (OCMT, OAMT), when in the entry's currency."""
    originals = [item for source in sources for item in source if item.code in ("OCMT", "OAMT")]
    if not originals or (originals[0].currency or currency) != currency:
        return None
    return _in_currency(originals[0], currency) or None


def _charges(sources: tuple[tuple[_Stated, ...], ...], currency: str) -> tuple[Charge, ...]:
    """The charges of the first place that states any (CHGS, COAM), each a debit to the account holder
    (negative); whether they are in the entry's amount the file does not say."""
    for source in sources:
        stated = [item for item in source if item.code in ("CHGS", "COAM")]
        if stated:
            charges = []
            for item in stated:
                amount = _in_currency(item, currency)
                if amount:
                    charges.append(
                        Charge(amount=-amount, currency=item.currency or currency, type_code=item.code)
                    )
            return tuple(charges)
    return ()


def _valid_iban(text: str | None) -> str | None:
    """The IBAN when `text` is one with a valid checksum; sample files are full of dummies that are not."""
    if not text or not _IBAN_SHAPE.fullmatch(text):
        return None
    try:
        return str(IBAN(text).compact)
    except ValueError:
        return None


__all__ = ["LINE_LENGTH", "SUBFIELD_LENGTH", "parse_mt940"]
