"""Returned payments: a SEPA return or a bounced cheque in a later statement reverses what the payment
settled, reopens the invoice, takes the cash back out of unapplied cash and tells collections and credit."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from o2c.cash import services as cash_services
from o2c.cash.models import Application, Payment
from o2c.core import checks
from o2c.core.models import DomainEvent
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, LegalEntity
from o2c.receivables.models import Allocation, Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE02120300000000202051"


def _import(entity: LegalEntity, data: bytes, now: datetime, name: str) -> cash_services.ImportResult:
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _paid(entity: LegalEntity, invoice: Document, now: datetime) -> Payment:
    _import(
        entity,
        statement_xml(
            [
                Credit(
                    "1190.00",
                    "BANKREF-1",
                    name="Mueller Maschinenbau",
                    iban=PAYER_IBAN,
                    text=f"Rechnung {invoice.number}",
                    end_to_end="E2E-4711",
                )
            ]
        ),
        now,
        "day1.xml",
    )
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.APPLIED
    return payment


def test_a_sepa_return_reopens_the_invoice_and_takes_the_cash_back_out(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)  # 1,190.00
    payment = _paid(entity, invoice, now)
    bank_before = ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.BANK, entity_ids=[entity.pk]
    )

    result = _import(
        entity,
        statement_xml(
            [
                Credit(
                    "1190.00",
                    "RET-1",
                    name="Mueller Maschinenbau",
                    iban=PAYER_IBAN,
                    end_to_end="E2E-4711",
                    debit=True,
                    return_reason="AC04",
                    day=date(2026, 3, 24),
                )
            ],
            statement_id="STMT-2",
            opening="5000.00",
            message_id="MSG-2",
        ),
        now,
        "day2.xml",
    )

    assert (result.returned, result.payments, result.warnings) == (1, 0, [])
    payment.refresh_from_db()
    assert (payment.status, payment.unapplied_minor, payment.return_reason, payment.returned_on) == (
        "returned",
        0,
        "AC04",
        date(2026, 3, 24),
    )
    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (119000, "open")
    assert Application.objects.get().state == "reversed"
    assert sorted(Allocation.objects.values_list("amount_minor", flat=True)) == [-119000, 119000]
    bank_after = ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.BANK, entity_ids=[entity.pk]
    )
    # the bank account is debited by the receipt and credited by the return: back where it was before
    assert sum(bank_after.values()) - sum(bank_before.values()) == 119000
    unapplied = ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk]
    )
    assert unapplied == {}
    event = DomainEvent.objects.get(name="cash.payment_returned")
    assert {key: event.payload[key] for key in ("reason", "amount_minor", "currency", "document_ids")} == {
        "reason": "AC04",
        "amount_minor": 119000,
        "currency": "EUR",
        "document_ids": [invoice.pk],
    }
    assert _verify() == []


def test_the_same_return_in_an_overlapping_statement_is_not_applied_twice(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)
    _paid(entity, invoice, now)
    returned = Credit(
        "1190.00", "RET-1", iban=PAYER_IBAN, end_to_end="E2E-4711", debit=True, return_reason="MD06"
    )
    _import(
        entity,
        statement_xml([returned], statement_id="STMT-2", opening="5000.00", message_id="MSG-2"),
        now,
        "day2.xml",
    )

    again = _import(
        entity,
        statement_xml([returned], statement_id="STMT-3", opening="5000.00", message_id="MSG-3"),
        now,
        "day3.xml",
    )

    assert (again.returned, again.warnings) == (0, [])
    assert Allocation.objects.count() == 2
    assert _verify() == []


def test_a_return_that_matches_no_payment_is_a_warning_and_changes_nothing(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)
    _paid(entity, invoice, now)

    result = _import(
        entity,
        statement_xml(
            [
                Credit(
                    "99.00",
                    "RET-9",
                    iban=PAYER_IBAN,
                    end_to_end="E2E-OTHER",
                    debit=True,
                    return_reason="AC04",
                )
            ],
            statement_id="STMT-2",
            opening="5000.00",
            message_id="MSG-2",
        ),
        now,
        "day2.xml",
    )

    assert result.returned == 0
    assert result.warnings == [
        "day2.xml: entry 1: a returned payment of 99.00 EUR (AC04) matches no payment received: "
        "left for a person"
    ]
    invoice.refresh_from_db()
    assert invoice.open_minor == 0
    assert _verify() == []


def test_an_ordinary_debit_is_not_a_return(entity: LegalEntity, customer: Customer, now: datetime) -> None:
    invoice = issued_invoice(customer)
    _paid(entity, invoice, now)

    result = _import(
        entity,
        statement_xml(
            [Credit("1190.00", "FEE-1", iban=PAYER_IBAN, end_to_end="E2E-4711", debit=True)],
            statement_id="STMT-2",
            opening="5000.00",
            message_id="MSG-2",
        ),
        now,
        "day2.xml",
    )

    assert (result.returned, result.ignored) == (0, 1)
    assert Payment.objects.get().status == "applied"
