"""The e-mail that carries an invoice, credit memo or debit memo PDF (or a statement of account) to the
billing contacts.

Only the message is built here, in the document's language; the caller sends it (Django's
`get_connection()` / `send()`) as background work after its transaction commits.
"""

from __future__ import annotations

import re

from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import pgettext

from o2c.core.formatting import date_human
from o2c.documents.invoice_pdf import InvoicePrint, date_text, money_text, payment_sentence
from o2c.documents.statement import Statement
from o2c.documents.statement import attachment_filename as statement_attachment_filename

PDF_MIMETYPE = "application/pdf"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def invoice_message(data: InvoicePrint, *, to: list[str], from_email: str, pdf: bytes) -> EmailMessage:
    """Subject and body in the document's language, the PDF attached as `<number>.pdf`.

    Characters a file name cannot safely hold ("/" in "2026/0042") become "-". Raises ValueError when
    there is nobody to send to or `pdf` is not a PDF.
    """
    recipients = [address.strip() for address in to if address.strip()]
    if not recipients:
        raise ValueError(f"{data.number} has no billing contact to send it to")
    if not pdf.startswith(b"%PDF-"):
        raise ValueError(f"the attachment for {data.number} is not a PDF")
    with translation.override(data.language):
        message = EmailMessage(
            subject=_subject(data),
            body=_body(data),
            from_email=from_email,
            to=recipients,
            headers={"Content-Language": data.language},
        )
    message.attach(attachment_filename(data), pdf, PDF_MIMETYPE)
    return message


def attachment_filename(data: InvoicePrint) -> str:
    """`RE-2026-000042.pdf`; "2026/0042" becomes `2026-0042.pdf`."""
    return f"{_UNSAFE_IN_FILENAME.sub('-', data.number).strip('-.') or 'document'}.pdf"


def _subject(data: InvoicePrint) -> str:
    values = {"number": data.number, "seller": data.seller.name}
    subjects = {
        "invoice": pgettext("invoice email", "Invoice %(number)s from %(seller)s"),
        "credit_memo": pgettext("invoice email", "Credit memo %(number)s from %(seller)s"),
        "debit_memo": pgettext("invoice email", "Debit memo %(number)s from %(seller)s"),
    }
    return subjects[data.document_type] % values


def _body(data: InvoicePrint) -> str:
    locale = translation.to_locale(data.language)
    values = {
        "number": data.number,
        "date": date_text(data.issue_date, locale),
        "amount": money_text(data.total, data.currency, locale),
        "invoice": data.corrects_number,
    }
    attached = {
        "invoice": pgettext(
            "invoice email", "Please find attached our invoice %(number)s of %(date)s for %(amount)s."
        ),
        "credit_memo": pgettext(
            "invoice email", "Please find attached our credit memo %(number)s of %(date)s for %(amount)s."
        ),
        "debit_memo": pgettext(
            "invoice email", "Please find attached our debit memo %(number)s of %(date)s for %(amount)s."
        ),
    }
    paragraphs = [pgettext("invoice email", "Dear Sir or Madam,"), attached[data.document_type] % values]
    if data.corrects_number:
        paragraphs.append(pgettext("invoice email", "It corrects invoice %(invoice)s.") % values)
    sentence = payment_sentence(data)
    if sentence:
        paragraphs.append(sentence)
    regards = pgettext("invoice email", "Kind regards")
    paragraphs.append(f"{regards}\n{data.seller.name}")
    return "\n\n".join(paragraphs) + "\n"


def statement_message(data: Statement, *, to: list[str], from_email: str, pdf: bytes) -> EmailMessage:
    """A statement of account in the customer's language, the PDF attached; ValueError as above."""
    recipients = [address.strip() for address in to if address.strip()]
    if not recipients:
        raise ValueError(f"customer {data.customer_number} has no billing contact to send it to")
    if not pdf.startswith(b"%PDF-"):
        raise ValueError(f"the statement for {data.customer_number} is not a PDF")
    values = {
        "number": data.customer_number,
        "seller": data.seller.name,
        "date": date_human(data.as_of, data.locale),
    }
    with translation.override(data.language):
        paragraphs = [
            pgettext("invoice email", "Dear Sir or Madam,"),
            pgettext(
                "statement email",
                "Please find attached the statement of your account %(number)s with us as of %(date)s.",
            )
            % values,
            pgettext(
                "statement email",
                "If anything on it does not match your records, please let us know.",
            ),
            f"{pgettext('invoice email', 'Kind regards')}\n{data.seller.name}",
        ]
        message = EmailMessage(
            subject=pgettext("statement email", "Statement of account %(number)s from %(seller)s") % values,
            body="\n\n".join(paragraphs) + "\n",
            from_email=from_email,
            to=recipients,
            headers={"Content-Language": data.language},
        )
    message.attach(statement_attachment_filename(data), pdf, PDF_MIMETYPE)
    return message
