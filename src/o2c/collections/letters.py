"""Dunning letters: the notices of the `letter` channel as printable PDF letters (WeasyPrint, as the
statement of account), for a window envelope.

A4 in the DIN 5008 form B layout: the entity as sender on top and in the return-address line, the
customer's address in the envelope window (20 mm from the left edge, 45 mm from the top, 85 x 45 mm),
the information block on the right (customer number, date in the customer's locale), then the step's
template subject and body in the notice's language, the table of its items and the totals per
currency. Fold marks at 105 and 210 mm and the punch mark at 148.5 mm sit in the left margin.

`letters_print` renders the pending letters of a day and `letters_mark_sent` records them printed
(`sent`, `sent_at`), audited; the command writes the files in between (docs/dunning-delivery.md)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel import Locale
from django.contrib.auth.models import User
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, pgettext

from o2c.audit import services as audit_services
from o2c.collections import delivery
from o2c.collections.models import Channel, DunningNotice, DunningNoticeItem
from o2c.core.formatting import date_human, locale_of, money_human
from o2c.documents.invoice_pdf import ExternalResourceRefused, html_to_pdf
from o2c.documents.statement import seller_of

TEMPLATE = "collections/dunning_letter.html"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LetterPrint:
    """One rendered letter: its notice, the file name it is written under, its HTML and PDF."""

    notice_id: int
    customer_number: str
    filename: str
    subject: str
    body: str
    html: str


def letter_notices(*, entity_ids: list[int], as_of: date) -> list[DunningNotice]:
    """The letters of that day still to print (pending), by customer number."""
    return list(
        DunningNotice.objects.filter(
            entity_id__in=entity_ids, as_of=as_of, channel=Channel.LETTER, status=DunningNotice.Status.PENDING
        )
        .select_related("customer", "entity")
        .order_by("customer__number", "level", "pk")
    )


def letter_html(notice: DunningNotice, items: list[DunningNoticeItem] | None = None) -> LetterPrint:
    """The notice as a letter (HTML, self-contained); LookupError or TemplateSyntaxError when its
    step's template is missing or broken."""
    if items is None:
        items = _items([notice.pk])[notice.pk]
    subject, body = delivery.template_of(notice)
    rendered = delivery.render(subject, body, delivery.notice_context(notice, items))
    with translation.override(notice.language):
        html = render_to_string(TEMPLATE, _context(notice, items, rendered))
    return LetterPrint(
        notice_id=notice.pk,
        customer_number=notice.customer.number,
        filename=letter_filename(notice),
        subject=rendered.subject[:300],
        body=rendered.body,
        html=html,
    )


def letter_pdf(notice: DunningNotice) -> bytes:
    return pdf_of(letter_html(notice))


def pdf_of(letter: LetterPrint) -> bytes:
    return html_to_pdf(letter.html)


def letter_filename(notice: DunningNotice) -> str:
    """`letter-C-1000-2026-03-05-2.pdf`: customer, day, level."""
    number = _UNSAFE_IN_FILENAME.sub("-", notice.customer.number).strip("-.") or "customer"
    return f"letter-{number}-{notice.as_of.isoformat()}-{notice.level}.pdf"


def letters_print(*, notices: list[DunningNotice]) -> list[LetterPrint]:
    """Render these letters (nothing is recorded: `letters_mark_sent` does once they are written)."""
    items = _items([notice.pk for notice in notices])
    return [letter_html(notice, items[notice.pk]) for notice in notices]


def pdfs_merged(htmls: list[str]) -> bytes:
    """One PDF of all these letters, each starting on a new page (with its own page numbers)."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    try:
        documents = [HTML(string=html, base_url=None, url_fetcher=fetcher).render() for html in htmls]
    except FatalURLFetchingError as error:
        raise ExternalResourceRefused(f"{error}: {error.__cause__}") from error
    pages = [page for document in documents for page in document.pages]
    pdf = documents[0].copy(pages).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


@transaction.atomic
def letters_mark_sent(*, letters: list[LetterPrint], actor: User | None, now: datetime) -> int:
    """Record these letters printed: `sent` with `sent_at` and the subject and body as printed, audited.
    A letter recorded meanwhile (another print) is left as it is. Returns how many were recorded."""
    printed = {letter.notice_id: letter for letter in letters}
    notices = list(
        DunningNotice.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk__in=printed, channel=Channel.LETTER, status=DunningNotice.Status.PENDING)
        .order_by("pk")
    )
    for notice in notices:
        letter = printed[notice.pk]
        notice.status, notice.sent_at = DunningNotice.Status.SENT, now
        notice.subject, notice.body = letter.subject, letter.body
        notice.save(update_fields=["status", "sent_at", "subject", "body"])
    audit_services.record_for_each(
        actor=actor,
        action="collections.letter.printed",
        object_type="customer",
        now=now,
        objects=(
            (
                notice.customer_id,
                notice.customer.number,
                notice.entity_id,
                {"notice": (None, notice.pk), "status": ("pending", "sent")},
            )
            for notice in notices
        ),
    )
    return len(notices)


def _items(notice_ids: list[int]) -> dict[int, list[DunningNoticeItem]]:
    items: dict[int, list[DunningNoticeItem]] = defaultdict(list)
    for item in (
        DunningNoticeItem.objects.filter(notice_id__in=notice_ids)
        .select_related("document")
        .order_by("document__due_date", "document__number")
    ):
        items[item.notice_id].append(item)
    return items


def _country(code: str, locale: str) -> str:
    return str(Locale.parse(locale).territories.get(code.upper(), code)) if code else ""


def _lists_items(paragraph: str, numbers: set[str]) -> bool:
    """Whether the paragraph is the text's list of the items (each line "- " and an item's number), which
    the letter's table shows instead, with the days overdue and the total."""
    lines = [line.strip() for line in paragraph.strip().splitlines()]
    return bool(numbers) and all(
        line.startswith("- ") and any(number and number in line for number in numbers) for line in lines
    )


def _context(notice: DunningNotice, items: list[DunningNoticeItem], rendered: Any) -> dict[str, Any]:
    customer = notice.customer
    locale = locale_of(notice.language, customer.country)
    seller = seller_of(notice.entity)
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        totals[item.currency] += item.open_minor
    return {
        "language": notice.language,
        "title": rendered.subject,
        "seller": {
            "name": seller.name,
            "address_lines": seller.address_lines,
            "country": _country(seller.country, locale),
            "email": seller.email,
        },
        "return_address": " · ".join((seller.name, *seller.address_lines)),
        "recipient": {
            "name": customer.name,
            "address_lines": [line.strip() for line in customer.address.splitlines() if line.strip()],
            "country": _country(customer.country, locale) if customer.country != seller.country else "",
        },
        "facts": [
            (pgettext("invoice document", "Customer number"), customer.number),
            (gettext("Date"), date_human(notice.as_of, locale)),
        ],
        "subject": rendered.subject,
        "paragraphs": [
            part.strip("\n")
            for part in re.split(r"\n\s*\n", rendered.body)
            if part.strip() and not _lists_items(part, {item.document.number or "" for item in items})
        ],
        "items": [
            {
                "number": item.document.number,
                "due_date": date_human(item.document.due_date, locale),
                "days_overdue": str(item.days_overdue) if item.days_overdue > 0 else "",
                "open": money_human(item.open_minor, item.currency, locale),
            }
            for item in items
        ],
        "totals": [money_human(minor, currency, locale) for currency, minor in sorted(totals.items())],
    }
