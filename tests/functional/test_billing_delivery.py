"""An issuing billing run mails each invoice as a PDF in the customer's language to its billing
contacts, through a real SMTP server, after the run's transactions committed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from o2c.billing import delivery, runs, services
from o2c.billing.models import InvoiceDelivery, InvoiceProfile
from o2c.customers import services as customer_services
from o2c.documents.invoice_pdf import BankPrint
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, EntityBankAccount, LegalEntity, validate_routing_number
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in
from tests.integration.test_billing_runs import product, run, subscribe
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivering(settings: Any, smtp_settings: SmtpServer) -> SmtpServer:
    settings.O2C_DELIVER_INVOICES = True
    return smtp_settings


@pytest.fixture
def billed_customer(entity: LegalEntity) -> None:
    InvoiceProfile.objects.create(
        entity=entity, address="Hauptstraße 1\n10115 Berlin", email="rechnung@o2c-demo.example"
    )
    customer = customer_services.customer_create(
        entity=entity, data=customer_in("C-DE", language="de"), actor=None, now=NOW
    )
    customer_services.contact_add(
        customer_id=customer.pk,
        name="Petra Buchhaltung",
        email="buchhaltung@mueller.example",
        phone="",
        role="AP",
        is_billing=True,
        actor=None,
        now=NOW,
    )
    services.products_import(entity=entity, products=[product("BASE", "flat", "100.00")], actor=None, now=NOW)
    subscribe(entity, "S-1", "C-DE", "BASE", "1", date(2026, 1, 1))


def test_an_issued_invoice_is_mailed_as_a_pdf_in_the_customers_language(
    entity, billed_customer, delivering, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [invoice] = run(entity, date(2026, 1, 1)).documents
    # after the commit, not inside the run's transaction: the delivery; the numbers indexed for matching
    assert len(callbacks) == 2
    [mail] = delivering.received
    assert mail.rcpt_tos == ("buchhaltung@mueller.example",)
    assert mail.message["From"] == "rechnung@o2c-demo.example"
    assert "Rechnung INV-2026-000001" in mail.message["Subject"]
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "INV-2026-000001.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    recorded = InvoiceDelivery.objects.get(document_id=invoice.document_id)
    assert (recorded.status, recorded.recipients) == ("sent", "buchhaltung@mueller.example")


def test_a_preview_mails_nothing(
    entity, billed_customer, delivering, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run(entity, date(2026, 1, 1), issue=False)
    assert delivering.received == []
    assert InvoiceDelivery.objects.count() == 0


def test_a_run_told_not_to_deliver_issues_without_mailing(
    entity, billed_customer, delivering, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [invoice] = runs.billing_run(
            entity=entity, as_of=date(2026, 1, 1), issue=True, actor=None, now=NOW, deliver=False
        ).documents
    assert Document.objects.get(pk=invoice.document_id).status == "issued"
    assert delivering.received == []
    assert InvoiceDelivery.objects.count() == 0


def test_a_mail_server_that_refuses_leaves_the_invoice_issued_and_the_failure_recorded(
    entity, billed_customer, settings, django_capture_on_commit_callbacks
) -> None:
    settings.O2C_DELIVER_INVOICES = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        [invoice] = run(entity, date(2026, 1, 1)).documents
    assert Document.objects.get(pk=invoice.document_id).status == "issued"
    recorded = InvoiceDelivery.objects.get(document_id=invoice.document_id)
    assert recorded.status == "failed"
    assert recorded.error


def test_the_print_data_carries_seller_buyer_tax_and_the_rf_reference(entity, billed_customer) -> None:
    [invoice] = run(entity, date(2026, 1, 1)).documents
    data = delivery.invoice_print(Document.objects.get(pk=invoice.document_id))
    assert (data.language, data.number, data.customer_number) == ("de", "INV-2026-000001", "C-DE")
    assert data.seller.address_lines == ("Hauptstraße 1", "10115 Berlin")
    assert (str(data.net), str(data.tax), str(data.total)) == ("100.00", "19.00", "119.00")
    assert data.payment_reference.startswith("RF")
    assert data.lines[0].period_start == date(2026, 1, 1)


def test_an_account_without_iban_is_printed_by_account_and_routing_number(entity, billed_customer) -> None:
    bank = ledger_selectors.account_for(entity=entity, type=AccountType.BANK)
    EntityBankAccount.objects.create(
        entity=entity,
        name="JPMorgan Chase Bank, N.A.",
        account_number="482019374601",
        routing_number="021000021",
        bic="CHASUS33",
        currency="EUR",
        ledger_account=bank,
    )
    [invoice] = run(entity, date(2026, 1, 1)).documents
    data = delivery.invoice_print(Document.objects.get(pk=invoice.document_id))
    assert data.bank == BankPrint(
        iban="",
        bic="CHASUS33",
        bank_name="JPMorgan Chase Bank, N.A.",
        account_number="482019374601",
        routing_number="021000021",
    )


def test_a_routing_number_is_checked() -> None:
    validate_routing_number("021000021")
    with pytest.raises(ValidationError, match="not a valid ABA routing number"):
        validate_routing_number("021000022")
