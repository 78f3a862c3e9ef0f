"""Card processor payouts: each charge is a payment of what the customer paid (gross) and is matched like
any other; the fees the processor kept go to the fees account, refunds and disputes to payments in
transit for a person, and the bank account moves by the payout's net."""

from __future__ import annotations

from datetime import datetime

import pytest

from o2c.cash import services as cash_services
from o2c.cash.models import Payment
from o2c.core import checks
from o2c.customers.models import Customer
from o2c.ledger.models import Account, JournalLine, LegalEntity
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db

HEADER = (
    "payout_id,payout_date,balance_transaction_id,reporting_category,gross,fee,net,currency,description,"
    "customer_name,invoice_number\n"
)


def _payout(invoice_number: str) -> bytes:
    return (
        HEADER
        + "po_1,2026-03-20,txn_1,charge,1190.00,34.81,1155.19,eur,"
        + f"Invoice {invoice_number},Mueller Maschinenbau,{invoice_number}\n"
        + "po_1,2026-03-20,txn_2,refund,-20.00,0.00,-20.00,eur,Refund order 77,Somebody,\n"
        + "po_1,2026-03-20,txn_3,payout,-1135.19,0.00,-1135.19,eur,STRIPE PAYOUT,,\n"
    ).encode()


def _balance(entity: LegalEntity, code: str) -> int:
    lines = JournalLine.objects.filter(entry__entity=entity, account__code=code)
    return sum(line.debit_minor - line.credit_minor for line in lines)


def test_a_payout_applies_each_charge_gross_and_books_fees_and_refunds_apart(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)  # 1,190.00

    result = cash_services.bank_file_import(
        data=_payout(invoice.number), file_name="payout.csv", entity=entity, actor=None, now=now
    )

    assert (result.file_format, result.payments, result.applied) == ("card_payout", 1, 1)
    payment = Payment.objects.get()
    assert (payment.entry_reference, payment.amount_minor, payment.method, payment.status) == (
        "txn_1",
        119000,
        "card",
        "applied",
    )
    invoice.refresh_from_db()
    assert invoice.open_minor == 0
    bank_code = Account.objects.get(pk=payment.bank_account.ledger_account_id).code
    assert _balance(entity, bank_code) == 113519  # the payout's net
    assert _balance(entity, "6850") == 3481  # the processor's fee
    assert _balance(entity, "1600") == 2000  # the refund, for a person
    assert result.warnings[-1] == "payout po_1: refund of -20.00 EUR left in payments in transit for a person"
    assert [problem for check in checks.all_checks() for problem in check.run()] == []


def test_the_same_payout_twice_posts_nothing_twice(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)
    data = _payout(invoice.number)
    cash_services.bank_file_import(data=data, file_name="payout.csv", entity=entity, actor=None, now=now)

    again = cash_services.bank_file_import(
        data=data.replace(b"STRIPE PAYOUT", b"STRIPE PAYOUT 2"),
        file_name="payout2.csv",
        entity=entity,
        actor=None,
        now=now,
    )

    assert (again.payments, again.duplicates) == (0, 1)
    assert _balance(entity, "6850") == 3481
