"""A customer's statement of account: what is open on its account on a day, per currency, as plain facts
and as a PDF in the customer's language (amounts and dates in the customer's locale).

The facts are read in a fixed number of set-based queries whatever the number of documents: the issued
documents still open (their cached `open_minor`, so the statement is as of today, the entity's business
date, not of an arbitrary past day), the customer's unapplied cash (the credit balance of the unapplied
cash accounts under the customer, as the aging reads it), and the seller as the invoices print it.

The seller's printed data (address, sender e-mail) is the invoice profile of the billing app, which sits
above this one: billing registers a provider for it (`seller_register`) from its app config, as the
higher apps register event handlers; without one the entity's name and country are printed.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from babel import Locale
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import pgettext

from o2c.core.exceptions import InputError
from o2c.core.formatting import customer_language, date_human, locale_of, money_human
from o2c.customers.models import Customer
from o2c.documents.invoice_pdf import ExternalResourceRefused, Language, PartyPrint
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, LegalEntity
from o2c.receivables import selectors as receivable_selectors

TEMPLATE = "documents/statement.html"
STYLESHEET = "documents/statement.css"
# the aging columns of the statement: the contract's (`o2c report aging`), days past due
AGING_BOUNDS = (30, 60, 90, 120)
AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "91_120", "over_120")

SellerProvider = Callable[[LegalEntity], PartyPrint]
_seller_provider: list[SellerProvider] = []


def seller_register(provider: SellerProvider) -> None:
    """Set how a legal entity is printed as the seller (billing's invoice profile); the last one wins."""
    _seller_provider[:] = [provider]


def seller_of(entity: LegalEntity) -> PartyPrint:
    """The seller as the invoices print it, else the entity's name and country."""
    if _seller_provider:
        return _seller_provider[0](entity)
    return PartyPrint(name=entity.name, address_lines=(), country=entity.country)


@dataclass(frozen=True, slots=True)
class StatementItem:
    """One open document; `open_minor` is negative for a credit memo, `days_overdue` 0 when not due."""

    document_type: str
    number: str
    issue_date: date
    due_date: date
    days_overdue: int
    open_minor: int


@dataclass(frozen=True, slots=True)
class CurrencySection:
    """One currency of the statement, in minor units: the open items, their sum, the unapplied cash on
    account (positive), the open items' aging (in AGING_BUCKETS order) and the balance (open items
    less unapplied cash)."""

    currency: str
    items: tuple[StatementItem, ...]
    open_items_minor: int
    unapplied_minor: int
    aging: tuple[int, ...]
    balance_minor: int


@dataclass(frozen=True, slots=True)
class Statement:
    as_of: date
    language: Language
    locale: str
    seller: PartyPrint
    customer_number: str
    customer_name: str
    customer_address_lines: tuple[str, ...]
    customer_country: str
    sections: tuple[CurrencySection, ...]


def aging_bucket(days_overdue: int) -> int:
    """The index in AGING_BUCKETS of an item so many days past due (0 or less: current)."""
    if days_overdue <= 0:
        return 0
    for index, last in enumerate(AGING_BOUNDS, start=1):
        if days_overdue <= last:
            return index
    return len(AGING_BOUNDS) + 1


def statement_customer(*, entity_ids: list[int], number: str, entity_code: str = "") -> Customer:
    """The customer of that number among the entities (one of them, by code, when given); a one-line
    error when there is none, or when several entities have one and no code says which."""
    found = list(
        Customer.objects.filter(entity_id__in=entity_ids, number=number)
        .select_related("entity")
        .filter(**({"entity__code": entity_code} if entity_code else {}))[:2]
    )
    if not found:
        raise Customer.DoesNotExist(number)
    if len(found) > 1:
        raise InputError(
            pgettext("statement", "customer %(number)s exists in several legal entities: name one")
            % {"number": number},
            code="ambiguous_customer",
        )
    return found[0]


def statement_facts(*, customer: Customer, as_of: date) -> Statement:
    """The customer's statement as of `as_of`, its business date today (see the module's note)."""
    entity = customer.entity
    rows = (
        receivable_selectors.document_list(entity_ids=[entity.pk], customer_id=customer.pk, open_only=True)
        .order_by("currency", "due_date", "number", "pk")
        .values_list("document_type", "number", "issue_date", "due_date", "currency", "open_minor")
    )
    items: dict[str, list[StatementItem]] = defaultdict(list)
    for document_type, number, issue_date, due_date, currency, open_minor in rows:
        items[currency].append(
            StatementItem(
                document_type=document_type,
                number=number or "",
                issue_date=issue_date,
                due_date=due_date,
                days_overdue=max((as_of - due_date).days, 0),
                open_minor=open_minor,
            )
        )
    cash = {
        currency: balance
        for (_, _, currency), balance in ledger_selectors.credit_balances_by_customer(
            account_type=AccountType.UNAPPLIED_CASH,
            entity_ids=[entity.pk],
            as_of=as_of,
            customer_id=customer.pk,
        ).items()
        if balance
    }
    sections = []
    for currency in sorted(set(items) | set(cash)):
        aging = [0] * len(AGING_BUCKETS)
        for item in items[currency]:
            aging[aging_bucket(item.days_overdue)] += item.open_minor
        open_items = sum(item.open_minor for item in items[currency])
        unapplied = cash.get(currency, 0)
        sections.append(
            CurrencySection(
                currency=currency,
                items=tuple(items[currency]),
                open_items_minor=open_items,
                unapplied_minor=unapplied,
                aging=tuple(aging),
                balance_minor=open_items - unapplied,
            )
        )
    language = cast(Language, customer_language(customer.language))
    return Statement(
        as_of=as_of,
        language=language,
        locale=locale_of(language, customer.country),
        seller=seller_of(entity),
        customer_number=customer.number,
        customer_name=customer.name,
        customer_address_lines=tuple(line for line in customer.address.splitlines() if line.strip()),
        customer_country=customer.country,
        sections=tuple(sections),
    )


def render_statement_html(statement: Statement, *, inline_css: bool = True) -> str:
    """The statement as a self-contained A4 HTML page in the customer's language (without its
    stylesheet when `inline_css` is false: the PDF is rendered with the parsed one)."""
    with translation.override(statement.language):
        return render_to_string(TEMPLATE, {**_context(statement), "inline_css": inline_css})


def render_statement_pdf(statement: Statement) -> bytes:
    """The statement as PDF. A dunning run renders one with every e-mail, so what WeasyPrint can reuse
    from one statement to the next is kept per process: the stylesheet parsed once per language and the
    font configuration. Nothing is fetched, as `html_to_pdf` says."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    fonts, stylesheet = _stylesheet(statement.language)
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    html = render_statement_html(statement, inline_css=False)
    try:
        pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet], font_config=fonts
        )
    except FatalURLFetchingError as error:  # a BaseException: an ordinary error for callers
        raise ExternalResourceRefused(f"{error}: {error.__cause__}") from error
    assert isinstance(pdf, bytes)
    return pdf


@functools.cache
def _stylesheet(language: str) -> tuple[Any, Any]:
    """WeasyPrint's font configuration and the statement's stylesheet in `language`, parsed once."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    with translation.override(language):
        text = render_to_string(STYLESHEET)
    fonts = FontConfiguration()
    return fonts, CSS(string=text, font_config=fonts)


def statement_pdf(*, customer: Customer, as_of: date) -> bytes:
    """The customer's statement as of its entity's business date `as_of`, as PDF bytes."""
    return render_statement_pdf(statement_facts(customer=customer, as_of=as_of))


def statement_title(statement: Statement) -> str:
    """ "Statement of account C-1000" in the active language."""
    return pgettext("statement", "Statement of account %(number)s") % {"number": statement.customer_number}


def attachment_filename(statement: Statement) -> str:
    """`statement-C-1000-2026-03-16.pdf` (characters a file name cannot hold become "-")."""
    number = "".join(c if c.isalnum() or c in "._-" else "-" for c in statement.customer_number)
    return f"statement-{number.strip('-.') or 'customer'}-{statement.as_of.isoformat()}.pdf"


def _document_type(document_type: str) -> str:
    labels = {
        "invoice": pgettext("invoice document", "Invoice"),
        "credit_memo": pgettext("invoice document", "Credit memo"),
        "debit_memo": pgettext("invoice document", "Debit memo"),
    }
    return labels.get(document_type, document_type)


def _country(code: str, locale: str) -> str:
    return str(Locale.parse(locale).territories.get(code.upper(), code)) if code else ""


def _context(statement: Statement) -> dict[str, Any]:
    locale = statement.locale
    seller, as_of = statement.seller, date_human(statement.as_of, locale)
    aging_labels = (
        pgettext("statement", "Current"),
        pgettext("statement", "1–30 days"),
        pgettext("statement", "31–60 days"),
        pgettext("statement", "61–90 days"),
        pgettext("statement", "91–120 days"),
        pgettext("statement", "Over 120 days"),
    )
    sections = []
    for section in statement.sections:
        currency = section.currency

        def money(minor: int, currency: str = currency) -> str:
            return money_human(minor, currency, locale)

        sections.append(
            {
                "heading": pgettext("statement", "Open items in %(currency)s") % {"currency": currency},
                "items": [
                    {
                        "type": _document_type(item.document_type),
                        "number": item.number,
                        "issue_date": date_human(item.issue_date, locale),
                        "due_date": date_human(item.due_date, locale),
                        # a credit is not overdue: its days count for the aging only
                        "days_overdue": str(item.days_overdue)
                        if item.days_overdue and item.open_minor > 0
                        else "",
                        "open": money(item.open_minor),
                    }
                    for item in section.items
                ],
                "open_items": money(section.open_items_minor),
                "unapplied": money(-section.unapplied_minor) if section.unapplied_minor else "",
                "balance": money(section.balance_minor),
                "aging": list(zip(aging_labels, (money(minor) for minor in section.aging), strict=True)),
            }
        )
    return {
        "language": statement.language,
        "title": statement_title(statement),
        "seller": {
            "name": seller.name,
            "address_lines": seller.address_lines,
            "country": _country(seller.country, locale),
            "email": seller.email,
        },
        "buyer": {
            "name": statement.customer_name,
            "address_lines": statement.customer_address_lines,
            "country": (
                _country(statement.customer_country, locale)
                if statement.customer_country != seller.country
                else ""
            ),
        },
        "facts": [
            (pgettext("statement", "Statement date"), as_of),
            (pgettext("invoice document", "Customer number"), statement.customer_number),
        ],
        "as_of_sentence": pgettext(
            "statement",
            "The items open on your account on %(date)s. Payments on their way to us may not be shown yet.",
        )
        % {"date": as_of},
        "sections": sections,
        "nothing_open": pgettext("statement", "Nothing is open on your account.")
        if not statement.sections
        else "",
    }
