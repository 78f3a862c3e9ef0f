"""Invoice delivery: render an issued document as PDF in the customer's language and e-mail it to the
billing contacts. Runs after the issuing transaction commits (a domain event handler), never inside a
run's transaction, so a slow or failing mail server cannot hold or undo a billing run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.core.mail import get_connection

from o2c.billing.models import InvoiceDelivery, InvoiceProfile
from o2c.core import clock, events
from o2c.core.money import Money
from o2c.documents import statement
from o2c.documents.invoice_pdf import (
    BankPrint,
    DocumentType,
    InvoicePrint,
    Language,
    LinePrint,
    PartyPrint,
    TaxPrint,
    render_invoice_pdf,
)
from o2c.documents.mail import invoice_message
from o2c.documents.references import rf_reference
from o2c.ledger.models import EntityBankAccount, LegalEntity, TaxRegistration
from o2c.receivables.models import Document

logger = logging.getLogger(__name__)

INVOICE_ISSUED = "billing.invoice_issued"
LANGUAGES = ("en", "de", "fr", "es")
EXPLAINED_CATEGORIES = frozenset({"AE", "K", "G", "O", "E"})


def _amount(minor: int, currency: str) -> Decimal:
    return Money.from_minor(abs(minor), currency).amount


def seller_print(entity: LegalEntity) -> PartyPrint:
    """The entity as its documents print the seller: its invoice profile's address and e-mail, its VAT
    ID in its own country and its other tax numbers."""
    profile = InvoiceProfile.objects.filter(entity=entity).first()
    registrations = list(TaxRegistration.objects.filter(entity=entity).order_by("pk"))
    vat_id = next((r.number for r in registrations if r.scheme == "vat" and r.country == entity.country), "")
    return PartyPrint(
        name=entity.name,
        address_lines=tuple(profile.address.splitlines()) if profile else (),
        country=entity.country,
        vat_id=vat_id,
        tax_numbers=tuple(r.number for r in registrations if r.number != vat_id),
        email=profile.email if profile else "",
    )


def invoice_print(document: Document) -> InvoicePrint:
    """The plain data the documents app renders, read from an issued document and its seller."""
    if document.number is None:
        raise ValueError(f"draft {document.pk} has no number yet")
    entity, customer, currency = document.entity, document.customer, document.currency
    profile = InvoiceProfile.objects.filter(entity=entity).first()
    # an account the customer can pay to: with an IBAN, else (a US account) with an account number
    banks = EntityBankAccount.objects.filter(entity=entity, currency=currency).exclude(
        iban="", account_number=""
    )
    bank = banks.order_by("pk").first()
    notes = tuple(line for line in document.notes.splitlines() if line.strip())
    tax_lines = list(document.tax_lines.order_by("rate", "category"))
    explained = any(t.category in EXPLAINED_CATEGORIES for t in tax_lines)
    return InvoicePrint(
        language=cast(Language, customer.language if customer.language in LANGUAGES else "en"),
        document_type=cast(DocumentType, document.document_type),
        number=document.number,
        issue_date=document.issue_date,
        due_date=None if document.total_minor < 0 else document.due_date,
        currency=currency,
        seller=seller_print(entity),
        buyer=PartyPrint(
            name=customer.name,
            address_lines=tuple(line for line in customer.address.splitlines() if line.strip()),
            country=customer.country,
            vat_id=customer.vat_id,
            email=customer.email,
        ),
        customer_number=customer.number,
        lines=tuple(
            LinePrint(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                net=_amount(line.net_minor, currency),
                tax_rate=line.tax_rate,
                discount_percent=line.discount_percent,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in document.lines.order_by("position")
        ),
        taxes=tuple(
            TaxPrint(
                rate=t.rate,
                base=_amount(t.base_minor, currency),
                tax=_amount(t.tax_minor, currency),
                category_code=t.category,
                # the billing run's legal note in the customer's language, printed once with its tax
                note="\n".join(notes) if t.category in EXPLAINED_CATEGORIES else "",
            )
            for t in tax_lines
        ),
        net=_amount(document.net_minor, currency),
        tax=_amount(document.tax_minor, currency),
        total=_amount(document.total_minor, currency),
        payment_terms=document.payment_terms if document.total_minor > 0 else "",
        payment_reference=rf_reference(document.number) if document.total_minor > 0 else "",
        bank=BankPrint(
            iban=bank.iban,
            bic=bank.bic,
            bank_name=bank.name,
            account_number="" if bank.iban else bank.account_number,
            routing_number="" if bank.iban else bank.routing_number,
        )
        if bank
        else None,
        po_number=document.po_number,
        corrects_number=document.corrects.number or "" if document.corrects else "",
        notes=() if explained else notes,
        seller_register_court=profile.register_court if profile else "",
        seller_register_number=profile.register_number if profile else "",
        seller_managing_directors=profile.managing_directors if profile else "",
    )


def recipients_of(document: Document) -> list[str]:
    """The customer's billing contacts, else the customer's own address."""
    customer = document.customer
    contacts = [c.email for c in customer.contacts.filter(is_billing=True).order_by("pk") if c.email]
    return contacts or ([customer.email] if customer.email else [])


def deliver_invoice(*, document_id: int, now: datetime | None = None) -> InvoiceDelivery:
    """Render and e-mail one issued document; the outcome is recorded, a failure never raises."""
    at = now or clock.now()
    document = Document.objects.select_related("entity", "customer", "corrects").get(pk=document_id)
    recipients = recipients_of(document)
    if not recipients:
        return InvoiceDelivery.objects.create(
            document=document, status=InvoiceDelivery.Status.NO_RECIPIENT, attempted_at=at
        )
    try:
        data = invoice_print(document)
        pdf = render_invoice_pdf(data)
        profile = InvoiceProfile.objects.filter(entity=document.entity).first()
        sender = (profile.email if profile and profile.email else "") or settings.DEFAULT_FROM_EMAIL
        message = invoice_message(data, to=recipients, from_email=sender, pdf=pdf)
        get_connection().send_messages([message])
    except Exception as error:  # the mail server or the renderer: recorded for a person to follow up
        logger.warning("delivery of %s failed: %s", document.number, error)
        return InvoiceDelivery.objects.create(
            document=document,
            status=InvoiceDelivery.Status.FAILED,
            recipients=", ".join(recipients)[:500],
            error=str(error)[:500],
            attempted_at=at,
        )
    return InvoiceDelivery.objects.create(
        document=document,
        status=InvoiceDelivery.Status.SENT,
        recipients=", ".join(recipients)[:500],
        attempted_at=at,
    )


def on_invoice_issued(*, document_id: int, deliver: bool = True) -> None:
    if deliver and settings.O2C_DELIVER_INVOICES:
        deliver_invoice(document_id=document_id)


def register() -> None:
    events.subscribe(INVOICE_ISSUED, on_invoice_issued)
    statement.seller_register(seller_print)
