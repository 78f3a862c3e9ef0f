"""Remittance advices: what a customer says a payment pays, read from the CSV or XLSX list they send or from
the text of their e-mail (.eml, with such a list attached or the invoice numbers in the body).

Pure code: bytes in, an `Advice` out, or `UnableToReadAdvice` naming the file, row or column at fault.

A list has one row per invoice with a header row naming the columns, in English, German, French or Spanish
(case, accents and punctuation ignored): the invoice number (`invoice`, `invoice_number`, `document`,
`rechnung`, `rechnungsnummer`, `belegnummer`, `facture`, `numero_facture`, `factura`), the amount paid on it
(`amount`, `paid`, `payment`, `betrag`, `zahlbetrag`, `montant`, `importe`), optionally the deduction taken
(`deduction`, `short_pay`, `abzug`, `kuerzung`, `retenue`, `deduccion`) and its reason (`reason`, `grund`,
`motif`, `motivo`). Payment-level columns are optional and read from the first row that has them:
`payment_reference` (`reference`, `referenz`, `zahlungsreferenz`, `référence`, `referencia`), `payer`
(`customer`, `kunde`, `client`, `cliente`), `payment_date` (`date`, `datum`, `fecha`), `currency` (`währung`,
`devise`, `moneda`). CSV delimiter `,`, `;` or tab; amounts with a decimal point or comma ("1.234,56",
"1,234.56"); dates ISO or day first ("03.11.2026", "03/11/2026").
"""

from __future__ import annotations

import csv
import email
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from email import policy
from email.message import EmailMessage

from o2c.cash.errors import UnableToReadAdvice

MAX_ADVICE_BYTES = 16 * 1024 * 1024

_COLUMNS = {
    "invoice": {"invoice", "invoicenumber", "invoiceno", "document", "documentnumber", "rechnung",
                "rechnungsnummer", "rechnungsnr", "belegnummer", "beleg", "facture", "numerofacture",
                "nfacture", "factura", "numerofactura", "nfactura"},
    "amount": {"amount", "paid", "payment", "amountpaid", "paidamount", "betrag", "zahlbetrag",
               "gezahlt", "montant", "montantpaye", "importe", "importepagado", "pagado"},
    "deduction": {"deduction", "shortpay", "shortpaid", "abzug", "kuerzung", "retenue", "deduccion",
                  "descuento"},
    "reason": {"reason", "deductionreason", "grund", "motif", "motivo", "comment", "bemerkung"},
    "reference": {"paymentreference", "reference", "referenz", "zahlungsreferenz", "referencia",
                  "referencedupaiement", "referenciadelpago"},
    "payer": {"payer", "customer", "kunde", "zahler", "client", "cliente", "pagador"},
    "payment_date": {"paymentdate", "date", "datum", "zahlungsdatum", "datedepaiement", "fecha",
                     "fechadepago"},
    "currency": {"currency", "waehrung", "wahrung", "devise", "moneda"},
}  # fmt: skip

_REFERENCE_AND_AMOUNT = re.compile(
    r"(?P<number>[A-Za-z]{0,6}[-/ ]?\d[\w/.-]{2,30}?)\s*[:;=|-]?\s+"
    r"(?P<amount>-?\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2}|-?\d+[.,]\d{2})(?!\d)"
)


@dataclass(frozen=True, slots=True)
class AdviceLine:
    invoice_number: str
    amount: Decimal | None
    deduction: Decimal | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Advice:
    source: str
    kind: str
    """csv, xlsx or eml."""
    lines: tuple[AdviceLine, ...]
    payer: str = ""
    reference: str = ""
    payment_date: date | None = None
    currency: str | None = None
    text: str = ""
    """An e-mail's subject and body: the matcher reads invoice numbers in it too."""

    @property
    def total(self) -> Decimal | None:
        amounts = [line.amount for line in self.lines]
        if not amounts or any(amount is None for amount in amounts):
            return None
        return sum((amount for amount in amounts if amount is not None), Decimal(0))


def _key(header: str) -> str:
    decomposed = unicodedata.normalize(
        "NFKD", header.replace("ä", "ae").replace("ü", "ue").replace("ö", "oe")
    )
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z]", "", plain)


def _columns(header: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _key(name or "")
        for column, names in _COLUMNS.items():
            if key in names and column not in found:
                found[column] = index
                break
    return found


def parse_amount(text: str, *, where: str) -> Decimal | None:
    """ "1.234,56", "1,234.56", "1234.56", "1 234,56", "-12,00" -> Decimal; "" -> None."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    for symbol in ("EUR", "USD", "GBP", "€", "$", "£"):
        cleaned = cleaned.replace(symbol, "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif "," in cleaned:
        decimal_mark = "," if len(cleaned) - cleaned.rfind(",") - 1 != 3 or cleaned.count(",") == 1 else ""
    else:
        decimal_mark = "."
    cleaned = cleaned.replace(".", "").replace(",", ".") if decimal_mark == "," else cleaned.replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise UnableToReadAdvice(f"{where}: '{text.strip()}' is not an amount", code="bad_amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise UnableToReadAdvice(f"{where}: '{text.strip()}' is not an amount", code="bad_amount")
    return amount


def _parse_date(text: str, *, where: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text[:10])
    day_first = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if day_first:
            return date(int(day_first[3]), int(day_first[2]), int(day_first[1]))
    except ValueError:
        pass
    raise UnableToReadAdvice(f"{where}: '{text}' is not a date (YYYY-MM-DD or DD.MM.YYYY)", code="bad_date")


def _from_rows(rows: Iterable[Sequence[object]], *, source: str, kind: str) -> Advice:
    header: dict[str, int] | None = None
    lines: list[AdviceLine] = []
    payment: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        cells = ["" if cell is None else str(cell).strip() for cell in row]
        if not any(cells):
            continue
        if header is None:
            columns = _columns(cells)
            if "invoice" in columns:
                header = columns
                if "amount" not in header:
                    raise UnableToReadAdvice(f"{source}: row {number}: no amount column", code="no_amount")
            continue

        known: dict[str, int] = header

        def cell(column: str, cells: list[str] = cells, columns: dict[str, int] = known) -> str:
            index = columns.get(column)
            return cells[index] if index is not None and index < len(cells) else ""

        where = f"{source}: row {number}"
        for column in ("reference", "payer", "payment_date", "currency"):
            if cell(column) and column not in payment:
                payment[column] = cell(column)
        invoice = cell("invoice")
        if not any(ch.isdigit() for ch in invoice):
            continue  # a totals row ("Summe", "Total"), a blank one, or the payment's own facts
        lines.append(
            AdviceLine(
                invoice_number=invoice[:60],
                amount=parse_amount(cell("amount"), where=f"{where}, amount"),
                deduction=parse_amount(cell("deduction"), where=f"{where}, deduction"),
                reason=cell("reason")[:300],
            )
        )
    if header is None:
        raise UnableToReadAdvice(
            f"{source}: no header row naming an invoice column (invoice, rechnung, facture, factura)",
            code="no_header",
        )
    if not lines:
        raise UnableToReadAdvice(f"{source}: no invoice lines", code="no_lines")
    currency = payment.get("currency", "").upper() or None
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise UnableToReadAdvice(
            f"{source}: currency '{currency}' is not an ISO 4217 code", code="bad_currency"
        )
    return Advice(
        source=source,
        kind=kind,
        lines=tuple(lines),
        payer=payment.get("payer", "")[:200],
        reference=payment.get("reference", "")[:140],
        payment_date=_parse_date(payment.get("payment_date", ""), where=f"{source}: payment date"),
        currency=currency,
    )


def _csv_rows(data: bytes, *, source: str) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _xlsx_rows(data: bytes, *, source: str) -> list[tuple[object, ...]]:
    from openpyxl import load_workbook  # heavy: only for spreadsheets

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise UnableToReadAdvice(
            f"{source}: not a readable XLSX workbook ({error})", code="bad_xlsx"
        ) from None
    sheet = workbook.worksheets[0]
    rows = [tuple(_cell_text(value) for value in row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _cell_text(value: object) -> object:
    if isinstance(value, float):
        return f"{Decimal(repr(value)):.2f}"  # spreadsheet numbers are floats: to cents, once
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_email(data: bytes, *, source: str) -> Advice:
    message = email.message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage) or not (message.get("From") or message.get("Subject")):
        raise UnableToReadAdvice(f"{source}: not an e-mail message", code="bad_eml")
    subject = str(message.get("Subject") or "")
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = body_part.get_content() if body_part is not None else ""
    if body_part is not None and body_part.get_content_type() == "text/html":
        body = re.sub(r"<[^>]+>", " ", body)
    for part in message.iter_attachments():
        name = (part.get_filename() or "").lower()
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and name.endswith((".csv", ".xlsx", ".txt")):
            attached = read_advice(payload, source=f"{source}/{part.get_filename()}")
            return Advice(
                source=source,
                kind="eml",
                lines=attached.lines,
                payer=attached.payer or str(message.get("From") or "")[:200],
                reference=attached.reference,
                payment_date=attached.payment_date,
                currency=attached.currency,
                text=f"{subject}\n{body}"[:4000],
            )
    lines = [
        AdviceLine(invoice_number=match["number"].strip(), amount=parse_amount(match["amount"], where=source))
        for match in _REFERENCE_AND_AMOUNT.finditer(body)
    ]
    return Advice(
        source=source,
        kind="eml",
        lines=tuple(lines),
        payer=str(message.get("From") or "")[:200],
        text=f"{subject}\n{body}"[:4000],
    )


def read_advice(data: bytes, *, source: str) -> Advice:
    """A remittance advice from its bytes: XLSX (a zip), an e-mail (headers first), else CSV."""
    if len(data) > MAX_ADVICE_BYTES:
        raise UnableToReadAdvice(
            f"{source}: larger than {MAX_ADVICE_BYTES // (1024 * 1024)} MiB", code="too_large"
        )
    if not data.strip():
        raise UnableToReadAdvice(f"{source}: the file is empty", code="empty")
    if data[:4] == b"PK\x03\x04":
        return _from_rows(_xlsx_rows(data, source=source), source=source, kind="xlsx")
    head = data[:2000].decode("utf-8", errors="replace")
    if source.lower().endswith(".eml") or re.match(
        r"(?im)^(from|received|return-path|message-id|subject):", head
    ):
        return _from_email(data, source=source)
    return _from_rows(_csv_rows(data, source=source), source=source, kind="csv")
