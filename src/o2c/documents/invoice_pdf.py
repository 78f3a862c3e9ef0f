"""Invoices, credit memos and debit memos as HTML and PDF, from plain data, in the reader's language.

The caller maps its own models to these frozen dataclasses (amounts as shown to the reader: a credit memo
carries positive amounts), so this module depends on nothing above core. Amounts and dates are formatted
with Babel in the document's language; the PDF is rendered by WeasyPrint without touching the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import pgettext, pgettext_lazy
from stdnum import iso11649

from o2c.core.money import currency_decimals, known_currencies

Language = Literal["en", "de", "fr", "es"]
DocumentType = Literal["invoice", "credit_memo", "debit_memo"]

TEMPLATE = "documents/invoice.html"
HUNDRED = Decimal(100)


class ExternalResourceRefused(RuntimeError):
    """The HTML refers to something outside itself (a URL other than `data:`): nothing is fetched."""


@dataclass(frozen=True, slots=True)
class PartyPrint:
    """A seller or buyer as printed: name, postal address lines, ISO 3166 country, tax identifiers."""

    name: str
    address_lines: tuple[str, ...]
    country: str
    vat_id: str = ""
    tax_numbers: tuple[str, ...] = ()
    email: str = ""


@dataclass(frozen=True, slots=True)
class BankPrint:
    """The seller's account the customer pays to: by IBAN, or (a US account) by account and routing
    number."""

    iban: str = ""
    bic: str = ""
    bank_name: str = ""
    account_number: str = ""
    routing_number: str = ""


@dataclass(frozen=True, slots=True)
class LinePrint:
    """One line; `net` is the line's rounded net amount as the caller computed it."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    tax_rate: Decimal
    discount_percent: Decimal = Decimal(0)
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class TaxPrint:
    """Tax per rate and category (EN 16931 VAT category code: S, Z, E, AE, K, G, O, ...).

    `note` is the exemption reason or legal mention; when empty, the standard mention of the category
    (reverse charge, intra-community supply, export, not subject to VAT) is printed in the document's
    language.
    """

    rate: Decimal
    base: Decimal
    tax: Decimal
    category_code: str = "S"
    note: str = ""


@dataclass(frozen=True, slots=True)
class InvoicePrint:
    """Everything an invoice, credit memo or debit memo shows, as plain values.

    Amounts are Decimals in `currency`, rounded to its minor unit and signed as the reader sees them
    (a credit memo shows positive amounts). The document must add up: the lines' nets and the tax bases
    sum to `net`, the taxes to `tax`, and `net + tax == total`; otherwise it is refused with ValueError,
    so a document that does not add up is never sent.
    """

    language: Language
    document_type: DocumentType
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    seller: PartyPrint
    buyer: PartyPrint
    customer_number: str
    lines: tuple[LinePrint, ...]
    taxes: tuple[TaxPrint, ...]
    net: Decimal
    tax: Decimal
    total: Decimal
    payment_terms: str = ""
    payment_reference: str = ""
    bank: BankPrint | None = None
    discount_text: str = ""
    po_number: str = ""
    corrects_number: str = ""
    delivery_date: date | None = None
    notes: tuple[str, ...] = ()
    seller_register_court: str = ""
    seller_register_number: str = ""
    seller_managing_directors: str = ""

    def __post_init__(self) -> None:
        if self.language not in get_args(Language):
            raise ValueError(f"unsupported language '{self.language}'")
        if self.document_type not in get_args(DocumentType):
            raise ValueError(f"unknown document type '{self.document_type}'")
        if not self.number:
            raise ValueError("a document without a number cannot be printed")
        if self.currency not in known_currencies():
            raise ValueError(f"unknown currency '{self.currency}'")
        if not self.lines:
            raise ValueError(f"{self.number} has no lines")
        if self.payment_reference and not iso11649.is_valid(self.payment_reference):
            raise ValueError(f"'{self.payment_reference}' is not a valid ISO 11649 reference")
        amounts = [self.net, self.tax, self.total]
        amounts += [line.net for line in self.lines]
        amounts += [amount for tax in self.taxes for amount in (tax.base, tax.tax)]
        quantum = Decimal(1).scaleb(-currency_decimals(self.currency))
        for amount in amounts:
            if not isinstance(amount, Decimal) or amount != amount.quantize(quantum):
                raise ValueError(f"{amount!r} is not a {self.currency} amount rounded to {quantum}")
        checks = {
            "the lines' net amounts": (sum((line.net for line in self.lines), Decimal(0)), self.net),
            "the tax bases": (sum((tax.base for tax in self.taxes), Decimal(0)), self.net),
            "the taxes per rate": (sum((tax.tax for tax in self.taxes), Decimal(0)), self.tax),
            "net plus tax": (self.net + self.tax, self.total),
        }
        for what, (actual, expected) in checks.items():
            if actual != expected:
                raise ValueError(f"{self.number} does not add up: {what} make {actual}, not {expected}")


# Legal mentions per EN 16931 VAT category, printed when the caller gives no note of its own.
STANDARD_TAX_NOTES: dict[str, Promise] = {
    "AE": pgettext_lazy("invoice document", "Reverse charge: the recipient is liable for the VAT."),
    "K": pgettext_lazy("invoice document", "Intra-community supply exempt from VAT."),
    "G": pgettext_lazy("invoice document", "Export outside the EU, exempt from VAT."),
    "O": pgettext_lazy("invoice document", "Not subject to VAT."),
}


def render_invoice_html(data: InvoicePrint) -> str:
    """The document as a self-contained A4 HTML page in its own language (no external resources)."""
    with translation.override(data.language):
        return render_to_string(TEMPLATE, _context(data))


def render_invoice_pdf(data: InvoicePrint) -> bytes:
    """The document as PDF bytes (A4, fonts from the system, nothing fetched)."""
    return html_to_pdf(render_invoice_html(data))


def html_to_pdf(html: str) -> bytes:
    """PDF bytes from self-contained HTML with WeasyPrint.

    Nothing is fetched: a URL other than `data:` (a stylesheet, image or font from the network or the
    file system) stops the rendering with ExternalResourceRefused instead of sending a request or
    silently printing without it.
    """
    # WeasyPrint loads Pango through cffi when imported: only the processes that render pay for it.
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    try:
        pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    except FatalURLFetchingError as error:  # a BaseException: turned into an ordinary error for callers
        raise ExternalResourceRefused(f"{error}: {error.__cause__}") from error
    assert isinstance(pdf, bytes)
    return pdf


def document_title(data: InvoicePrint) -> str:
    """The title in the active language: Invoice, Credit memo or Debit memo."""
    titles = {
        "invoice": pgettext("invoice document", "Invoice"),
        "credit_memo": pgettext("invoice document", "Credit memo"),
        "debit_memo": pgettext("invoice document", "Debit memo"),
    }
    return titles[data.document_type]


def payment_sentence(data: InvoicePrint) -> str:
    """What the reader is asked to do with the amount, in the active language ("" when nothing)."""
    locale = _locale(data)
    if data.document_type == "credit_memo":
        return pgettext("invoice document", "We will offset this amount against open invoices or refund it.")
    if data.due_date is None or data.total <= 0:
        return ""
    values = {
        "amount": money_text(data.total, data.currency, locale),
        "date": date_text(data.due_date, locale),
        "reference": _reference(data),
    }
    if data.payment_reference:
        return (
            pgettext(
                "invoice document",
                "Please pay %(amount)s by %(date)s, quoting the payment reference %(reference)s.",
            )
            % values
        )
    return pgettext("invoice document", "Please pay %(amount)s by %(date)s.") % values


def money_text(amount: Decimal, currency: str, locale: str) -> str:
    """An amount with its currency in the locale's format ("1.234,56 €" in German).

    Unit prices may carry more decimals than the currency; they are shown, never rounded away.
    """
    return format_currency(amount.normalize(), currency, locale=locale, decimal_quantization=False)


def date_text(value: date, locale: str) -> str:
    """A date in the locale's medium format ("22.11.2026" in German, "Nov 22, 2026" in English)."""
    return format_date(value, format="medium", locale=locale)


def _locale(data: InvoicePrint) -> str:
    return translation.to_locale(data.language)


def _reference(data: InvoicePrint) -> str:
    """The RF reference in groups of four, however the caller spelled it."""
    return str(iso11649.format(data.payment_reference))


def _number(value: Decimal, locale: str) -> str:
    return format_decimal(value.normalize(), locale=locale, decimal_quantization=False)


def _percent(rate: Decimal, locale: str) -> str:
    return format_percent(rate / HUNDRED, locale=locale, decimal_quantization=False)


def _iban(iban: str) -> str:
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _country(code: str, locale: str) -> str:
    return str(Locale.parse(locale).territories.get(code.upper(), code))


def _labelled(label: str, value: str) -> str:
    """ "VAT ID: DE123456789"; French typography puts a space before the colon."""
    return pgettext("invoice document", "%(label)s: %(value)s") % {"label": label, "value": value}


def _party(party: PartyPrint, locale: str, *, show_country: bool) -> dict[str, Any]:
    return {
        "name": party.name,
        "address_lines": party.address_lines,
        "country": _country(party.country, locale) if show_country else "",
        "vat_id": _labelled(pgettext("invoice document", "VAT ID"), party.vat_id) if party.vat_id else "",
    }


def _number_label(data: InvoicePrint) -> str:
    labels = {
        "invoice": pgettext("invoice document", "Invoice number"),
        "credit_memo": pgettext("invoice document", "Credit memo number"),
        "debit_memo": pgettext("invoice document", "Debit memo number"),
    }
    return labels[data.document_type]


def _facts(data: InvoicePrint, locale: str) -> list[tuple[str, str]]:
    facts = [
        (_number_label(data), data.number),
        (pgettext("invoice document", "Issue date"), date_text(data.issue_date, locale)),
    ]
    if data.delivery_date is not None:
        facts.append((pgettext("invoice document", "Delivery date"), date_text(data.delivery_date, locale)))
    if data.due_date is not None and data.document_type != "credit_memo":
        facts.append((pgettext("invoice document", "Due date"), date_text(data.due_date, locale)))
    facts.append((pgettext("invoice document", "Customer number"), data.customer_number))
    if data.po_number:
        facts.append((pgettext("invoice document", "Your order"), data.po_number))
    if data.payment_reference:
        facts.append((pgettext("invoice document", "Payment reference"), _reference(data)))
    return facts


def _lines(lines: Sequence[LinePrint], currency: str, locale: str) -> list[dict[str, str]]:
    rows = []
    for line in lines:
        period = ""
        if line.period_start is not None and line.period_end is not None:
            period = pgettext("invoice document", "Period %(start)s – %(end)s") % {
                "start": date_text(line.period_start, locale),
                "end": date_text(line.period_end, locale),
            }
        rows.append(
            {
                "description": line.description,
                "period": period,
                "quantity": _number(line.quantity, locale),
                "unit_price": money_text(line.unit_price, currency, locale),
                "discount": _percent(line.discount_percent, locale) if line.discount_percent else "",
                "tax_rate": _percent(line.tax_rate, locale),
                "net": money_text(line.net, currency, locale),
            }
        )
    return rows


def _tax_rows(data: InvoicePrint, locale: str) -> tuple[list[tuple[str, str]], list[str]]:
    rows, notes = [], []
    for tax in data.taxes:
        label = pgettext("invoice document", "VAT %(rate)s on %(base)s") % {
            "rate": _percent(tax.rate, locale),
            "base": money_text(tax.base, data.currency, locale),
        }
        rows.append((label, money_text(tax.tax, data.currency, locale)))
        standard = STANDARD_TAX_NOTES.get(tax.category_code.upper())
        note = tax.note or (str(standard) if standard is not None else "")
        if note and note not in notes:
            notes.append(note)
    return rows, notes


def _legal(data: InvoicePrint) -> list[str]:
    legal: list[tuple[str, str]] = []
    register = " ".join(part for part in (data.seller_register_court, data.seller_register_number) if part)
    if register:
        legal.append((pgettext("invoice document", "Commercial register"), register))
    if data.seller_managing_directors:
        legal.append((pgettext("invoice document", "Managing directors"), data.seller_managing_directors))
    if data.seller.vat_id:
        legal.append((pgettext("invoice document", "VAT ID"), data.seller.vat_id))
    legal.extend((pgettext("invoice document", "Tax number"), number) for number in data.seller.tax_numbers)
    if data.seller.email:
        legal.append((pgettext("invoice document", "E-mail"), data.seller.email))
    return [_labelled(label, value) for label, value in legal]


def _context(data: InvoicePrint) -> dict[str, Any]:
    locale = _locale(data)
    title = document_title(data)
    tax_rows, tax_notes = _tax_rows(data, locale)
    corrects = ""
    if data.corrects_number:
        corrects = pgettext("invoice document", "Corrects invoice %(number)s") % {
            "number": data.corrects_number
        }
    bank = None
    if data.bank is not None:
        bank = {
            "holder": data.seller.name,
            "iban": _iban(data.bank.iban) if data.bank.iban else "",
            "bic": data.bank.bic,
            "bank_name": data.bank.bank_name,
            "account_number": data.bank.account_number,
            "routing_number": data.bank.routing_number,
        }
    return {
        "language": data.language,
        "title": title,
        "number": data.number,
        "document_name": f"{title} {data.number}",
        "seller": _party(data.seller, locale, show_country=True),
        "buyer": _party(data.buyer, locale, show_country=data.buyer.country != data.seller.country),
        "facts": _facts(data, locale),
        "corrects": corrects,
        "lines": _lines(data.lines, data.currency, locale),
        "has_discounts": any(line.discount_percent for line in data.lines),
        "net": money_text(data.net, data.currency, locale),
        "tax_rows": tax_rows,
        "total": money_text(data.total, data.currency, locale),
        "tax_notes": tax_notes,
        "payment_sentence": payment_sentence(data),
        "payment_terms": (
            _labelled(pgettext("invoice document", "Payment terms"), data.payment_terms)
            if data.payment_terms
            else ""
        ),
        "discount_text": data.discount_text,
        "bank": bank,
        "notes": data.notes,
        "legal": _legal(data),
    }
