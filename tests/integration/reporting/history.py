"""A hand-built receivables history for the reporting tests, made by calling the services.

Entity MAIN (EUR), customers C-1000 and C-2000 (NET30):

- INV-A  C-1000 issued 2026-01-02, due 2026-02-01, 1,190.00: paid in two parts, 500.00 by P1 on
  2026-02-05 (a partial payment) and 690.00 by P2 on 2026-02-20
- INV-B  C-1000 issued 2026-01-15, due 2026-02-14, 595.00: credited 100.00 by CM-1 on 2026-02-10
- INV-C  C-2000 issued 2026-02-01, due 2026-03-03, 1,190.00: 400.00 applied from P3 on 2026-03-01,
  reversed (misapplied) on 2026-03-05, so P3's 400.00 is C-2000's unapplied cash from then on
- CM-2   C-2000 issued 2026-02-20, 50.00, not applied to anything: an open credit
- P1       500.00 received 2026-02-05 unidentified, applied to INV-A the same day
- P2     1,200.00 received 2026-02-20 unidentified, 690.00 applied to INV-A the same day (which makes
  C-1000 its payer), the other 510.00 left on C-1000's account on 2026-02-25
- P3       400.00 received 2026-03-01, see INV-C
- P4        77.70 received 2026-03-10, never identified
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.models import Application, Payment
from o2c.cash.workbench import ApplyLine
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, customer_in, issued_credit_memo, issued_invoice


def at(day: date) -> datetime:
    """A moment on that business date in Berlin (the entity's time zone)."""
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def received(entity: LegalEntity, amount: str, reference: str, day: date, name: str, iban: str) -> Payment:
    """A payment nobody can place at import: an unknown payer, no reference, on a statement of its day."""
    cash_services.bank_file_import(
        data=statement_xml(
            [Credit(amount, reference, name=name, iban=iban, text="Sammelzahlung", day=day)],
            statement_id=reference,
            message_id=reference,
        ),
        file_name=f"{reference}.xml",
        entity=entity,
        actor=None,
        now=at(day),
    )
    payment = Payment.objects.get(entry_reference=reference)
    assert (payment.status, payment.customer_id) == ("unidentified", None)
    return payment


@dataclass
class History:
    first: Customer
    second: Customer
    invoice_a: Document
    invoice_b: Document
    invoice_c: Document
    credit_memo_1: Document
    credit_memo_2: Document


def build_history(entity: LegalEntity, first: Customer) -> History:
    second = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", name="Schmidt Logistik AG"), actor=None, now=NOW
    )
    invoice_a = issued_invoice(first, issue_date=date(2026, 1, 2))  # 1,190.00
    invoice_b = issued_invoice(
        first,
        issue_date=date(2026, 1, 15),
        lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))],
    )  # 595.00
    invoice_c = issued_invoice(second, issue_date=date(2026, 2, 1))  # 1,190.00
    credit_memo_1 = issued_credit_memo(invoice_b, amount=Decimal("100.00"), issue_date=date(2026, 2, 10))
    draft = receivable_services.document_create(
        customer=second,
        document_type="credit_memo",
        issue_date=date(2026, 2, 20),
        lines=[LineIn("Goodwill", Decimal(1), Decimal("50.00"), Decimal(0))],
        actor=None,
        now=NOW,
    )
    credit_memo_2 = receivable_services.document_issue(document_id=draft.pk, actor=None, now=NOW)

    p1 = received(entity, "500.00", "P1", date(2026, 2, 5), "Zahlungsdienst Nord", "DE44500105175407324931")
    workbench.payment_apply(
        payment_id=p1.pk,
        lines=[ApplyLine(invoice_a.pk, Decimal("500.00"))],
        actor=None,
        now=at(p1.value_date),
    )
    p2 = received(entity, "1200.00", "P2", date(2026, 2, 20), "Treuhand Ost", "DE02120300000000202051")
    workbench.payment_apply(
        payment_id=p2.pk,
        lines=[ApplyLine(invoice_a.pk, Decimal("690.00"))],
        actor=None,
        now=at(p2.value_date),
    )
    workbench.payment_put_on_account(
        payment_id=p2.pk, customer_id=first.pk, actor=None, now=at(date(2026, 2, 25))
    )
    p3 = received(entity, "400.00", "P3", date(2026, 3, 1), "Kasse West", "DE02500105170137075030")
    workbench.payment_apply(
        payment_id=p3.pk,
        lines=[ApplyLine(invoice_c.pk, Decimal("400.00"))],
        actor=None,
        now=at(p3.value_date),
    )
    application = Application.objects.get(payment=p3, state=Application.State.APPLIED)
    workbench.application_reverse(
        application_id=application.pk, reason="misapplied", actor=None, now=at(date(2026, 3, 5))
    )
    received(entity, "77.70", "P4", date(2026, 3, 10), "Sammler Süd", "DE02100500000054540402")
    return History(
        first=first,
        second=second,
        invoice_a=invoice_a,
        invoice_b=invoice_b,
        invoice_c=invoice_c,
        credit_memo_1=credit_memo_1,
        credit_memo_2=credit_memo_2,
    )
