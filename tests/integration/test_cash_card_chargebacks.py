"""Card chargebacks in a card processor's payout: a dispute naming the charge of a card payment imported
before returns that payment like a bank return (its invoice reopens, the dispute fee goes to the fees
account, collections and credit hear of it); a dispute naming no known charge stays in payments in transit
for a person, as does a dispute reversal (with a warning naming the returned payment)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash.models import Application, MatchingPolicy, Payment
from o2c.core import checks
from o2c.core.models import DomainEvent
from o2c.customers.models import Customer
from o2c.ledger.models import Account, JournalLine, LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db

HEADER = (
    "payout_id,payout_date,balance_transaction_id,reporting_category,gross,fee,net,currency,description,"
    "customer_name,invoice_number,charge_id,dispute_reason\n"
)
OLD_HEADER = (
    "payout_id,payout_date,balance_transaction_id,reporting_category,gross,fee,net,currency,description,"
    "customer_name,invoice_number\n"
)


def _invoice(customer: Customer) -> Document:
    return issued_invoice(customer, lines=[LineIn("Consulting", Decimal(1), Decimal("100.00"), Decimal(19))])


def _charged(invoice_number: str, *, header: str = HEADER) -> bytes:
    extra = ",ch_1," if header == HEADER else ""
    return (
        header
        + "po_1,2026-03-20,txn_1,charge,119.00,3.75,115.25,eur,"
        + f"Invoice {invoice_number},Mueller Maschinenbau,{invoice_number}{extra}\n"
        + "po_1,2026-03-20,txn_2,payout,-115.25,0.00,-115.25,eur,STRIPE PAYOUT,,"
        + (",," if header == HEADER else "")
        + "\n"
    ).encode()


def _disputed(charge_id: str = "ch_1", *, category: str = "dispute") -> bytes:
    if category == "dispute":
        row = f"po_2,2026-04-10,txn_9,dispute,-119.00,15.00,-134.00,eur,Dispute,,,{charge_id},fraudulent\n"
    else:
        row = f"po_3,2026-05-05,txn_12,dispute_reversal,119.00,-15.00,134.00,eur,Won,,,{charge_id},\n"
    return (HEADER + row).encode()


def _import(entity: LegalEntity, data: bytes, name: str, now: datetime) -> cash_services.ImportResult:
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


def _balance(entity: LegalEntity, code: str) -> int:
    lines = JournalLine.objects.filter(entry__entity=entity, account__code=code)
    return sum(line.debit_minor - line.credit_minor for line in lines)


def _bank_code(payment: Payment) -> str:
    return Account.objects.get(pk=payment.bank_account.ledger_account_id).code


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _paid_by_card(entity: LegalEntity, customer: Customer, now: datetime) -> tuple[Document, Payment]:
    invoice = _invoice(customer)  # 119.00
    result = _import(entity, _charged(invoice.number), "payout-1.csv", now)
    assert (result.payments, result.applied) == (1, 1)
    payment = Payment.objects.get()
    assert (payment.status, payment.end_to_end_id, payment.amount_minor) == ("applied", "ch_1", 11900)
    invoice.refresh_from_db()
    assert invoice.open_minor == 0
    return invoice, payment


class TestAChargebackNamingAKnownCharge:
    def test_returns_the_payment_reopens_the_invoice_and_books_the_dispute_fee(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice, payment = _paid_by_card(entity, customer, now)
        bank = _bank_code(payment)
        assert (_balance(entity, bank), _balance(entity, "6850"), _balance(entity, "1600")) == (11525, 375, 0)

        result = _import(entity, _disputed(), "payout-2.csv", now)

        assert (result.payments, result.returned) == (0, 1)
        assert result.warnings == []
        invoice.refresh_from_db()
        assert invoice.open_minor == 11900
        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.returned_on) == (
            "returned",
            0,
            date(2026, 4, 10),
        )
        assert (payment.return_reason, payment.return_reference, payment.return_charges_minor) == (
            "chargeback: fraudulent",
            "txn_9",
            1500,
        )
        assert list(Application.objects.values_list("state", flat=True)) == ["reversed"]
        # the bank moved by payout 2's net (-134.00), the dispute fee is a fee, nothing is in transit
        assert _balance(entity, bank) == 11525 - 13400
        assert _balance(entity, "6850") == 375 + 1500
        assert _balance(entity, "1600") == 0
        event = DomainEvent.objects.get(name="cash.payment_returned")
        assert {
            key: event.payload[key]
            for key in ("payment_id", "reason", "amount_minor", "currency", "document_ids", "charges_minor")
        } == {
            "payment_id": payment.pk,
            "reason": "chargeback: fraudulent",
            "amount_minor": 11900,
            "currency": "EUR",
            "document_ids": [invoice.pk],
            "charges_minor": 1500,
        }
        assert AuditEvent.objects.filter(action="cash.payment.returned", object_id=payment.pk).count() == 1
        assert _verify() == []

    def test_charges_the_customer_the_dispute_fee_where_the_policy_says_so(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _invoice_paid, payment = _paid_by_card(entity, customer, now)
        MatchingPolicy.objects.create(
            entity=entity, currency="EUR", changed_at=now, return_fee_charge="bank_fee"
        )

        _import(entity, _disputed(), "payout-2.csv", now)

        payment.refresh_from_db()
        memo = payment.return_fee_document
        assert memo is not None
        assert (memo.document_type, memo.total_minor, memo.currency, memo.customer_id) == (
            "debit_memo",
            1500,
            "EUR",
            customer.pk,
        )
        assert _verify() == []

    def test_a_copy_of_the_dispute_file_returns_nothing_twice(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _invoice_paid, payment = _paid_by_card(entity, customer, now)
        bank = _bank_code(payment)
        _import(entity, _disputed(), "payout-2.csv", now)

        again = _import(entity, _disputed().replace(b"Dispute", b"Dispute (copy)"), "payout-2b.csv", now)

        assert (again.returned, again.warnings) == (0, [])
        assert (_balance(entity, bank), _balance(entity, "6850"), _balance(entity, "1600")) == (
            11525 - 13400,
            1875,
            0,
        )
        assert DomainEvent.objects.filter(name="cash.payment_returned").count() == 1
        assert _verify() == []


class TestAChargebackLeftForAPerson:
    def test_an_unknown_charge_id_stays_in_payments_in_transit(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice, payment = _paid_by_card(entity, customer, now)
        bank = _bank_code(payment)

        result = _import(entity, _disputed("ch_unknown"), "payout-2.csv", now)

        assert result.returned == 0
        assert result.warnings == [
            "payout po_2: chargeback of -119.00 EUR left in payments in transit for a person"
        ]
        invoice.refresh_from_db()
        payment.refresh_from_db()
        assert (invoice.open_minor, payment.status) == (0, "applied")
        assert (_balance(entity, bank), _balance(entity, "6850"), _balance(entity, "1600")) == (
            11525 - 13400,
            375 + 1500,
            11900,
        )
        assert not DomainEvent.objects.filter(name="cash.payment_returned").exists()
        assert _verify() == []

    def test_a_file_without_charge_ids_is_read_as_before(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        _import(entity, _charged(invoice.number, header=OLD_HEADER), "payout-1.csv", now)
        payment = Payment.objects.get()
        assert (payment.status, payment.end_to_end_id) == ("applied", "")
        dispute = OLD_HEADER + "po_2,2026-04-10,txn_9,dispute,-119.00,15.00,-134.00,eur,Dispute,,\n"

        result = _import(entity, dispute.encode(), "payout-2.csv", now)

        assert result.returned == 0
        assert result.warnings == [
            "payout po_2: chargeback of -119.00 EUR left in payments in transit for a person"
        ]
        invoice.refresh_from_db()
        assert invoice.open_minor == 0
        assert (_balance(entity, "6850"), _balance(entity, "1600")) == (375 + 1500, 11900)
        assert _verify() == []

    def test_a_partial_dispute_names_the_payment_and_stays_in_transit(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _invoice_paid, payment = _paid_by_card(entity, customer, now)
        partial = HEADER + "po_2,2026-04-10,txn_9,dispute,-50.00,15.00,-65.00,eur,Dispute,,,ch_1,\n"

        result = _import(entity, partial.encode(), "payout-2.csv", now)

        assert result.warnings == [
            "payout po_2: dispute txn_9 of 50.00 EUR is not the whole of card payment txn_1 (charge ch_1, "
            "119.00 EUR): not returned",
            "payout po_2: chargeback of -50.00 EUR left in payments in transit for a person",
        ]
        payment.refresh_from_db()
        assert payment.status == "applied"
        assert (_balance(entity, "6850"), _balance(entity, "1600")) == (375 + 1500, 5000)
        assert _verify() == []


class TestADisputeReversal:
    def test_stays_in_transit_with_a_warning_naming_the_returned_payment(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice, payment = _paid_by_card(entity, customer, now)
        bank = _bank_code(payment)
        _import(entity, _disputed(), "payout-2.csv", now)

        result = _import(entity, _disputed(category="dispute_reversal"), "payout-3.csv", now)

        assert result.warnings == [
            "payout po_3: dispute reversal txn_12 of 119.00 EUR gives back returned card payment txn_1 "
            "(charge ch_1): left in payments in transit for a person to re-apply",
            "payout po_3: chargeback_reversal of 119.00 EUR left in payments in transit for a person",
        ]
        invoice.refresh_from_db()
        payment.refresh_from_db()
        assert (invoice.open_minor, payment.status) == (11900, "returned")
        # the money and the fee are back in the bank: the fee as a fee given back, the rest in transit
        assert (_balance(entity, bank), _balance(entity, "6850"), _balance(entity, "1600")) == (
            11525 - 13400 + 13400,
            375 + 1500 - 1500,
            -11900,
        )
        assert _verify() == []
