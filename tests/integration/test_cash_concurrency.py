"""Races on PostgreSQL in the cash workbench: two people applying two different payments to the same
invoice at the same moment, each in its own database session (its own PostgreSQL backend process),
never over-apply it. The invoice row lock (taken after each payment's own lock) makes the second wait
and then see what the first left open. The same for two bank files imported by two OS processes."""

import multiprocessing
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.errors import UnableToApplyPayment
from o2c.cash.models import Application, Payment
from o2c.core import checks
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Allocation, Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice, make_user
from tests.integration.test_concurrency import run_concurrently

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="row locks and concurrent sessions are tested on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _payments(entity: LegalEntity, count: int, amount: str) -> list[Payment]:
    """Payments nobody can tell (unknown payer, no reference): left to a person."""
    cash_services.bank_file_import(
        data=statement_xml(
            [
                Credit(amount, f"R{n}", name="Zahlungsdienst Nord", iban="DE44500105175407324931", text="x")
                for n in range(1, count + 1)
            ]
        ),
        file_name="statement.xml",
        entity=entity,
        actor=None,
        now=NOW,
    )
    payments = list(Payment.objects.order_by("pk"))
    assert [payment.status for payment in payments] == ["unidentified"] * count
    return payments


def test_two_payments_applied_to_one_invoice_at_once_never_over_apply_it(
    entity: LegalEntity, customer: Customer
) -> None:
    invoice = issued_invoice(customer)  # 1,190.00
    people = [make_user(f"clerk{n}", "cash_application", entities=[entity]) for n in (1, 2)]
    payments = _payments(entity, 2, "800.00")
    at = datetime(2026, 3, 20, 10, 0, tzinfo=NOW.tzinfo)

    results = run_concurrently(
        [
            lambda payment=payment, person=person: workbench.payment_apply(
                payment_id=payment.pk,
                lines=[workbench.ApplyLine(invoice.pk, Decimal("800.00"))],
                actor=person,
                now=at,
            )
            for payment, person in zip(payments, people, strict=True)
        ]
    )

    applied = [result for result in results if isinstance(result, Payment)]
    refused = [result for result in results if isinstance(result, UnableToApplyPayment)]
    assert (len(applied), len(refused)) == (1, 1), results
    assert refused[0].code == "over_application"
    assert refused[0].message.endswith(
        f"800.00 EUR for {invoice.number} is more than its open amount 390.00 EUR"
    )
    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (39000, "partially_paid")
    assert list(Allocation.objects.values_list("document_id", "amount_minor")) == [(invoice.pk, 80000)]
    assert Application.objects.filter(state="applied").count() == 1
    statuses = sorted(Payment.objects.values_list("status", "unapplied_minor"))
    assert statuses == [("applied", 0), ("unidentified", 80000)]
    assert [problem for check in checks.all_checks() for problem in check.run()] == []


def test_many_payments_racing_for_one_invoice_settle_exactly_its_total(
    entity: LegalEntity, customer: Customer
) -> None:
    """Four sessions, each 400.00 on a 1,190.00 invoice: two fit, the third and fourth find too little
    open; the invoice is never below zero and every payment's cache matches its allocations."""
    invoice = issued_invoice(customer)
    payments = _payments(entity, 4, "400.00")
    at = datetime(2026, 3, 20, 10, 0, tzinfo=NOW.tzinfo)

    results = run_concurrently(
        [
            lambda payment=payment: workbench.payment_apply(
                payment_id=payment.pk,
                lines=[workbench.ApplyLine(invoice.pk, Decimal("400.00"))],
                actor=None,
                now=at,
            )
            for payment in payments
        ]
    )

    applied = [result for result in results if isinstance(result, Payment)]
    refused = [result for result in results if isinstance(result, UnableToApplyPayment)]
    assert (len(applied), len(refused)) == (2, 2), results
    invoice.refresh_from_db()
    assert invoice.open_minor == 39000
    assert sum(Allocation.objects.values_list("amount_minor", flat=True)) == 80000
    assert [problem for check in checks.all_checks() for problem in check.run()] == []


def test_one_payment_applied_by_two_people_at_once_is_never_applied_twice(
    entity: LegalEntity, customer: Customer
) -> None:
    """The payment row is locked first: the second person waits, then finds nothing left to apply."""
    invoices = [issued_invoice(customer) for _ in range(2)]
    (payment,) = _payments(entity, 1, "1190.00")
    at = datetime(2026, 3, 20, 10, 0, tzinfo=NOW.tzinfo)

    results = run_concurrently(
        [
            lambda invoice=invoice: workbench.payment_apply(
                payment_id=payment.pk,
                lines=[workbench.ApplyLine(invoice.pk, Decimal("1190.00"))],
                actor=None,
                now=at,
            )
            for invoice in invoices
        ]
    )

    refused = [result for result in results if isinstance(result, UnableToApplyPayment)]
    assert len(refused) == 1, results
    assert refused[0].message == "payment R1: 1190.00 EUR is more than its unapplied 0.00 EUR"
    payment.refresh_from_db()
    assert (payment.status, payment.unapplied_minor) == ("applied", 0)
    assert sorted(
        Document.objects.filter(pk__in=[i.pk for i in invoices]).values_list("open_minor", flat=True)
    ) == [
        0,
        119000,
    ]
    assert [problem for check in checks.all_checks() for problem in check.run()] == []


def _import_in_a_process(data: bytes, name: str, entity_id: int, barrier: Any, results: Any) -> None:
    """A child process: its own database connection, the import, its outcome on the queue."""
    connections.close_all()  # never share the parent's socket
    try:
        barrier.wait(timeout=30)
        result = cash_services.bank_file_import(
            data=data, file_name=name, entity=LegalEntity.objects.get(pk=entity_id), actor=None, now=NOW
        )
        results.put((name, result.applied, result.on_account, ""))
    except Exception as error:  # the parent asserts on it
        results.put((name, -1, -1, repr(error)))
    finally:
        connections.close_all()


def test_two_bank_files_imported_by_two_processes_at_once_pay_one_invoice_once(
    entity: LegalEntity, customer: Customer
) -> None:
    """Two `o2c cash import` processes, each with a payment of the whole invoice naming it: the candidate
    invoice's row lock makes the second wait, find it paid, and put its payment on account."""
    invoice = issued_invoice(customer)  # 1,190.00
    files = [
        (
            statement_xml(
                [
                    Credit(
                        "1190.00", f"BANK-{n}", name="Mueller Maschinenbau", text=f"Rechnung {invoice.number}"
                    )
                ],
                statement_id=f"STMT-{n}",
                message_id=f"MSG-{n}",
                iban=iban,
            ),
            f"statement-{n}.xml",
        )
        for n, iban in ((1, "DE89370400440532013000"), (2, "DE12500105170648489890"))
    ]
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    connections.close_all()
    workers = [
        context.Process(target=_import_in_a_process, args=(data, name, entity.pk, barrier, results))
        for data, name in files
    ]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)

    assert [error for *_, error in outcomes] == ["", ""], outcomes
    assert sorted((applied, on_account) for _, applied, on_account, _ in outcomes) == [(0, 1), (1, 0)]
    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (0, "paid")
    assert list(Allocation.objects.values_list("amount_minor", flat=True)) == [119000]
    assert sorted(Payment.objects.values_list("status", "unapplied_minor")) == [
        ("applied", 0),
        ("on_account", 119000),
    ]
    assert [problem for check in checks.all_checks() for problem in check.run()] == []
