"""After a dunning run commits, its e-mail notices are rendered from the step's template in the customer's
language, amounts and dates in the customer's locale, and sent through a real SMTP server; what was sent
and any failure is kept on the notice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings

from o2c.billing.models import InvoiceProfile
from o2c.collections import delivery, services
from o2c.collections.models import DunningNotice, DunningTemplate
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.django_db


def _customer(entity: LegalEntity, number: str, **overrides: Any) -> Customer:
    return customer_services.customer_create(
        entity=entity, data=customer_in(number, **overrides), actor=None, now=NOW
    )


def _invoice(customer: Customer, amount: str = "1234.50") -> Document:
    # NET30: issued 2 January, due 1 February 2026
    return issued_invoice(
        customer,
        issue_date=date(2026, 1, 2),
        lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))],
    )


def _run(entity: LegalEntity, as_of: date, capture: Any) -> services.DunningRunResult:
    with capture(execute=True):
        return services.dunning_run(entity=entity, as_of=as_of, dry_run=False, actor=None, now=NOW)


def test_a_notice_is_mailed_in_the_customers_language_and_locale(
    entity: LegalEntity,
    customer: Customer,
    smtp_settings: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    InvoiceProfile.objects.create(entity=entity, email="forderungen@o2c-demo.example")
    invoice = _invoice(customer)

    _run(entity, date(2026, 2, 2), django_capture_on_commit_callbacks)

    [mail] = smtp_settings.received
    assert mail.rcpt_tos == ("ap@mueller.example",)
    assert mail.message["From"] == "forderungen@o2c-demo.example"
    assert mail.message["Subject"] == "Zahlungserinnerung: Kunde C-1000"
    assert mail.message["Content-Language"] == "de"
    body = _text(mail.message)
    assert body.startswith("Sehr geehrte Damen und Herren,\n\nnach unseren Unterlagen sind")
    assert f"- {invoice.number}, fällig am 01.02.2026: 1.234,50\xa0€\n" in body
    assert "Gesamtbetrag: 1.234,50\xa0€." in body
    assert body.rstrip().endswith("Mit freundlichen Grüßen\nO2C Demo GmbH")
    notice = DunningNotice.objects.get()
    assert (notice.status, notice.delivery_error) == ("sent", "")
    assert notice.sent_at is not None
    assert (notice.subject, notice.body) == (mail.message["Subject"], body)
    # the statement of account goes with it
    [statement] = list(mail.message.iter_attachments())
    assert statement.get_content_type() == "application/pdf"
    assert statement.get_filename() == "statement-C-1000-2026-02-02.pdf"
    assert statement.get_content().startswith(b"%PDF-")


def _text(message: Any) -> str:
    """A received message's text with the line ends it had before SMTP (CRLF on the wire)."""
    return str(message.get_body(preferencelist=("plain",)).get_content()).replace("\r\n", "\n")


def test_each_customer_gets_its_own_language_and_english_where_there_is_no_template(
    entity: LegalEntity, smtp_settings: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    french = _customer(entity, "C-FR", language="fr", country="FR", email="compta@dupont.example")
    swiss = _customer(entity, "C-CH", language="de", country="CH", email="kreditoren@huber.example")
    italian = _customer(entity, "C-IT", language="it", country="IT", email="contabilita@rossi.example")
    for customer in (french, swiss, italian):
        _invoice(customer)
    DunningTemplate.objects.filter(step__level=1, language="fr").update(
        subject="Relance {{ customer_number }}"
    )

    _run(entity, date(2026, 2, 2), django_capture_on_commit_callbacks)

    mails = {mail.rcpt_tos[0]: mail.message for mail in smtp_settings.received}
    texts = {address: _text(message) for address, message in mails.items()}
    assert {address: message["Subject"] for address, message in mails.items()} == {
        "compta@dupont.example": "Relance C-FR",
        "kreditoren@huber.example": "Zahlungserinnerung: Kunde C-CH",
        "contabilita@rossi.example": "Payment reminder: customer C-IT",
    }
    assert "échéance le 1 févr. 2026 : 1\u202f234,50\xa0€" in texts["compta@dupont.example"]
    assert "fällig am 01.02.2026: EUR\xa01’234.50" in texts["kreditoren@huber.example"]
    # English in Italy (CLDR's en_IT): Italian number format
    assert "due 1 Feb 2026: 1.234,50\xa0€" in texts["contabilita@rossi.example"]


def test_call_tasks_are_not_mailed_and_a_run_twice_on_a_day_mails_nothing_twice(
    entity: LegalEntity,
    customer: Customer,
    smtp_settings: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _invoice(customer)

    _run(entity, date(2026, 3, 3), django_capture_on_commit_callbacks)  # 30 days: the collector calls
    _run(entity, date(2026, 3, 3), django_capture_on_commit_callbacks)

    assert smtp_settings.received == []
    assert list(DunningNotice.objects.values_list("channel", "status")) == [("call_task", "pending")]


def test_a_failed_delivery_is_recorded_on_its_notice_and_the_others_are_sent(
    entity: LegalEntity,
    customer: Customer,
    smtp_settings: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    nobody = _customer(entity, "C-2000", email="")
    _invoice(customer)
    _invoice(nobody)

    _run(entity, date(2026, 2, 2), django_capture_on_commit_callbacks)

    assert [mail.rcpt_tos for mail in smtp_settings.received] == [("ap@mueller.example",)]
    assert dict(DunningNotice.objects.values_list("customer__number", "status")) == {
        "C-1000": "sent",
        "C-2000": "failed",
    }
    failed = DunningNotice.objects.get(customer=nobody)
    assert (failed.delivery_error, failed.sent_at) == ("the customer has no e-mail address", None)
    assert failed.subject == "Zahlungserinnerung: Kunde C-2000"


def test_a_mail_server_that_cannot_be_reached_fails_the_notices_not_the_run(
    entity: LegalEntity, customer: Customer, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    _invoice(customer)

    result = _run(entity, date(2026, 2, 2), django_capture_on_commit_callbacks)

    assert len(result.notices) == 1
    notice = DunningNotice.objects.get()
    assert notice.status == "failed"
    assert notice.delivery_error.startswith("mail server: ")


@pytest.mark.postgres_only
@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="worker processes need committed data in a database they can share (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_processes_send_each_notice_once_and_record_each_failure(
    entity: LegalEntity, smtp_settings: SmtpServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DUNNING_MAIL_WORKERS = 2
    monkeypatch.setattr(delivery, "BATCH", 2)  # six notices: three batches over two processes
    addresses = [f"ap{n}@kunde{n}.example" for n in range(1, 6)]
    for n, address in enumerate([*addresses, ""], start=1):
        _invoice(_customer(entity, f"C-{n}", email=address))
    totals: list[int] = []
    done: list[int] = []
    assert delivery.worker_count(None, 6) == 2

    services.dunning_run(
        entity=entity,
        as_of=date(2026, 2, 2),
        dry_run=False,
        actor=None,
        now=NOW,
        on_mail_total=totals.append,
        mail_progress=done.append,
    )

    assert (totals, sum(done)) == ([6], 6)
    received = {mail.rcpt_tos: mail.message["Message-ID"] for mail in smtp_settings.received}
    assert sorted(received) == [(address,) for address in sorted(addresses)]
    assert len(smtp_settings.received) == 5
    notices = {notice.recipient: notice for notice in DunningNotice.objects.all()}
    assert {address: notices[address].message_id for address in addresses} == {
        address: received[(address,)] for address in addresses
    }
    assert [
        (notice.status, notice.delivery_error) for notice in notices.values() if not notice.recipient
    ] == [("failed", "the customer has no e-mail address")]
    assert {notices[address].status for address in addresses} == {"sent"}
