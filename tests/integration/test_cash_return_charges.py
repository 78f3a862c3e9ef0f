"""Returns whose debit is more than the payment they give back, in MT940 and BAI2 files: the original
amount and the bank's charges the file states (MT940 /OCMT/ /CHGS/ and the DK's OAMT+ COAM+, BAI2
`ORIG AMT` in the text) find the payment, and the charges go to 6850 Bank and card fees as camt's do.
And a payment part of which was refunded before it came back: the refunded part is not taken out of
unapplied cash a second time but left in 1600 Payments in transit for a person."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.cash import sepa, workbench
from o2c.cash import services as cash_services
from o2c.cash.models import Application, Payment, Refund
from o2c.core.models import DomainEvent
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import Account, AccountType, JournalEntry, JournalLine, LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import OWN_IBAN
from tests.conftest import issued_invoice

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE02120300000000202051"
RETURN_DAY = date(2026, 3, 24)


def _import(entity: LegalEntity, data: str, now: datetime, name: str) -> cash_services.ImportResult:
    return cash_services.bank_file_import(
        data=(data + "\n").encode(), file_name=name, entity=entity, actor=None, now=now
    )


def _verify() -> None:
    """`o2c ledger verify` passes: every check ok, exit status 0."""
    out = StringIO()
    call_command("ledger", "verify", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("ok ") for line in lines), out.getvalue()


def _balance(entity: LegalEntity, code: str) -> int:
    """Debits less credits on one account of the entity, in minor units."""
    lines = JournalLine.objects.filter(entry__entity=entity, account__code=code)
    return sum(line.debit_minor - line.credit_minor for line in lines)


def _bank_code(payment: Payment) -> str:
    return Account.objects.get(pk=payment.bank_account.ledger_account_id).code


def _return_lines(payment: Payment) -> list[tuple[str, int, int, int | None]]:
    entry = JournalEntry.objects.get(idempotency_key=f"payment-return:{payment.pk}")
    assert entry.posting_date == RETURN_DAY
    return sorted(
        (line.account.code, line.debit_minor, line.credit_minor, line.customer_id)
        for line in entry.lines.select_related("account")
    )


def _invoice(customer: Customer) -> Document:
    """1,000.00 EUR, no VAT: round figures."""
    return issued_invoice(customer, lines=[LineIn("Wartungsvertrag", Decimal(1), Decimal("1000.00"))])


def _mt940(*body: str, number: str, opening: str, closing: str) -> str:
    return "\n".join(
        [f":20:STMT-{number}", f":25:{OWN_IBAN}", f":28C:{number}/001", opening, *body, closing, "-"]
    )


def _mt940_paid(
    entity: LegalEntity, invoice: Document, now: datetime, amount: str = "1000,00", closing: str = "6000,00"
) -> Payment:
    """A SEPA credit transfer from the customer naming the invoice, on 20 March."""
    _import(
        entity,
        _mt940(
            f":61:2603200320C{amount}NTRFNONREF//BANKREF-1",
            f":86:166?00SEPA-GUTSCHRIFT?20EREF+E2E-4711?21SVWZ+Rechnung {invoice.number}"
            f"?30COBADEFFXXX?31{PAYER_IBAN}?32MUELLER MASCHINENBAU",
            number="00001",
            opening=":60F:C260319EUR5000,00",
            closing=f":62F:C260320EUR{closing}",
        ),
        now,
        "day1.sta",
    )
    return Payment.objects.get()


class TestMt940:
    def test_a_return_with_ocmt_and_chgs_finds_the_payment_and_books_the_charges(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _mt940_paid(entity, invoice, now)
        assert (payment.status, payment.amount_minor) == ("applied", 100000)
        bank = _bank_code(payment)
        bank_before = _balance(entity, bank)

        result = _import(
            entity,
            _mt940(
                ":61:2603240324D1003,50NRTIE2E-4711//RET-1",
                "/OCMT/EUR1000,00//CHGS/EUR3,50/",
                f":86:/RTRN/AC04/EREF/E2E-4711/IBAN/{PAYER_IBAN}/NAME/MUELLER MASCHINENBAU/",
                number="00002",
                opening=":60F:C260323EUR6000,00",
                closing=":62F:C260324EUR4996,50",
            ),
            now,
            "day2.sta",
        )

        assert (result.returned, result.payments, result.ignored, result.warnings) == (1, 0, 0, [])
        payment.refresh_from_db()
        assert (
            payment.status,
            payment.unapplied_minor,
            payment.return_reason,
            payment.returned_on,
            payment.return_charges_minor,
        ) == ("returned", 0, "AC04", RETURN_DAY, 350)
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (100000, "open")
        assert _return_lines(payment) == sorted(
            [("2100", 100000, 0, customer.pk), ("6850", 350, 0, None), (bank, 0, 100350, None)]
        )
        assert bank_before - _balance(entity, bank) == 100350
        assert _balance(entity, "6850") == 350
        assert AuditEvent.objects.get(action="cash.payment.returned").changes["bank_charges"] == [
            None,
            "3.50 EUR",
        ]
        _verify()

    def test_a_sepa_direct_debit_return_with_oamt_and_coam_finds_the_payment_and_charges_the_customer(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        workbench.policy_change(
            entity=entity,
            auto_apply_confidence=Decimal("0.900"),
            write_off_tolerance=Decimal("5.00"),
            discount_grace_days=3,
            actor=None,
            now=now,
            return_fee_charge="bank_fee",
            return_fee=Decimal("0.00"),
        )
        invoice = _invoice(customer)
        payment = _mt940_paid(entity, invoice, now)
        bank = _bank_code(payment)

        result = _import(
            entity,
            _mt940(
                ":61:2603240324D1008,75NRTINONREF//RET-2",
                ":86:109?00SEPA-LS RUECKBELASTUNG?109250?20EREF+E2E-4711?21COAM+8,75?22OAMT+1000,00"
                f"?23SVWZ+RUECKLASTSCHRIFT AM04?30COBADEFFXXX?31{PAYER_IBAN}?32MUELLER MASCHINENBAU?34901",
                number="00002",
                opening=":60F:C260323EUR6000,00",
                closing=":62F:C260324EUR4991,25",
            ),
            now,
            "day2.sta",
        )

        assert (result.returned, result.warnings) == (1, [])
        payment.refresh_from_db()
        assert (payment.status, payment.return_charges_minor) == ("returned", 875)
        assert _return_lines(payment) == sorted(
            [("2100", 100000, 0, customer.pk), ("6850", 875, 0, None), (bank, 0, 100875, None)]
        )
        memo = Document.objects.get(document_type="debit_memo")
        assert (memo.total_minor, memo.open_minor, memo.customer_id) == (875, 875, customer.pk)
        assert payment.return_fee_document_id == memo.pk
        invoice.refresh_from_db()
        assert invoice.open_minor == 100000
        _verify()


class TestBai2:
    def test_a_returned_cheque_with_its_original_amount_in_the_text_books_the_rest_as_charges(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        _import(
            entity,
            "\n".join(
                [
                    "01,SENDER,RECEIVER,260320,0930,FILE1,80,10,2/",
                    "02,RECEIVER,BANKID,1,260320,2400,EUR,2/",
                    f"03,{OWN_IBAN},EUR,010,500000,,/",
                    f"16,301,100000,0,BR-DEP-1,CHK-4711,CHECK DEPOSIT {invoice.number}/",
                    "49,600000,3/",
                    "98,600000,1,5/",
                    "99,600000,1,7/",
                ]
            ),
            now,
            "day1.bai",
        )
        payment = Payment.objects.get()
        assert (payment.status, payment.amount_minor, payment.entry_reference) == (
            "applied",
            100000,
            "BR-DEP-1",
        )
        bank = _bank_code(payment)
        bank_before = _balance(entity, bank)

        result = _import(
            entity,
            "\n".join(
                [
                    "01,SENDER,RECEIVER,260324,0930,FILE2,80,10,2/",
                    "02,RECEIVER,BANKID,1,260324,2400,EUR,2/",
                    f"03,{OWN_IBAN},EUR,010,600000,,/",
                    "16,555,101200,0,BR-RET-1,BR-DEP-1,DEPOSITED ITEM RETURNED NSF ORIG AMT: 1,000.00/",
                    "16,698,500,0,BR-FEE-1,,RETURN ITEM FEE/",
                    "49,701700,4/",
                    "98,701700,1,6/",
                    "99,701700,1,8/",
                ]
            ),
            now,
            "day2.bai",
        )

        assert (result.returned, result.ignored, result.warnings) == (1, 1, [])
        payment.refresh_from_db()
        assert (payment.status, payment.return_reason, payment.return_charges_minor) == (
            "returned",
            "BAI555",
            1200,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (100000, "open")
        assert _return_lines(payment) == sorted(
            [("2100", 100000, 0, customer.pk), ("6850", 1200, 0, None), (bank, 0, 101200, None)]
        )
        # the fee record is an entry of its own, which the import keeps no more than any other debit
        assert bank_before - _balance(entity, bank) == 101200
        _verify()

    def test_without_the_original_amount_the_debit_must_equal_the_payment(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        _import(
            entity,
            "\n".join(
                [
                    "01,SENDER,RECEIVER,260320,0930,FILE1,80,10,2/",
                    "02,RECEIVER,BANKID,1,260320,2400,EUR,2/",
                    f"03,{OWN_IBAN},EUR,010,500000,,/",
                    f"16,301,100000,0,BR-DEP-1,CHK-4711,CHECK DEPOSIT {invoice.number}/",
                    "49,600000,3/",
                    "98,600000,1,5/",
                    "99,600000,1,7/",
                ]
            ),
            now,
            "day1.bai",
        )

        result = _import(
            entity,
            "\n".join(
                [
                    "01,SENDER,RECEIVER,260324,0930,FILE2,80,10,2/",
                    "02,RECEIVER,BANKID,1,260324,2400,EUR,2/",
                    f"03,{OWN_IBAN},EUR,010,600000,,/",
                    "16,555,101200,0,BR-RET-1,BR-DEP-1,DEPOSITED ITEM RETURNED NSF/",
                    "49,701200,3/",
                    "98,701200,1,5/",
                    "99,701200,1,7/",
                ]
            ),
            now,
            "day2.bai",
        )

        assert result.returned == 0
        assert result.warnings == [
            "day2.bai: entry 1: a returned payment of 1012.00 EUR (BAI555) matches no payment received: "
            "left for a person"
        ]
        assert Payment.objects.get().status == "applied"
        _verify()


class TestRefundedThenReturned:
    def _overpaid_and_refunded(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> tuple[Document, Payment, Refund]:
        """1,250.00 paid on an invoice of 1,000.00 (the matcher applies 1,000.00); the 250.00 left over
        refunded by pain.001 on 20 March."""
        invoice = _invoice(customer)
        payment = _mt940_paid(entity, invoice, now, amount="1250,00", closing="6250,00")
        assert (payment.amount_minor, payment.unapplied_minor) == (125000, 25000)
        sepa.refund_file_create(
            entity=entity, payment_ids=[payment.pk], execution_date=date(2026, 3, 20), actor=None, now=now
        )
        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor) == ("applied", 0)
        return invoice, payment, Refund.objects.get()

    def test_the_refunded_part_goes_to_payments_in_transit_and_a_person_is_told(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice, payment, refund = self._overpaid_and_refunded(entity, customer, now)
        bank = _bank_code(payment)
        bank_before = _balance(entity, bank)

        result = _import(
            entity,
            _mt940(
                ":61:2603240324D1253,50NRTIE2E-4711//RET-1",
                "/OCMT/EUR1250,00//CHGS/EUR3,50/",
                f":86:/RTRN/MD06/EREF/E2E-4711/IBAN/{PAYER_IBAN}/NAME/MUELLER MASCHINENBAU/",
                number="00002",
                opening=":60F:C260323EUR6000,00",
                closing=":62F:C260324EUR4746,50",
            ),
            now,
            "day2.sta",
        )

        why = (
            f"250.00 EUR of it had been refunded ({refund.end_to_end_id}) before it was returned: the "
            "customer has that twice; it is in 1600 Payments in transit for a person to reclaim from the "
            "customer or write off"
        )
        assert result.returned == 1
        assert result.warnings == [f"day2.sta: entry 1: returned payment BANKREF-1: {why}"]
        payment.refresh_from_db()
        assert (
            payment.status,
            payment.unapplied_minor,
            payment.return_reason,
            payment.return_charges_minor,
            payment.reasons[-1],
        ) == ("returned", 0, "MD06", 350, why)
        # what the payment settled is open again; the refund settled nothing, so nothing else reopens
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (100000, "open")
        assert Application.objects.get(payment=payment, document=invoice).state == "reversed"
        # unapplied cash gives back what the payment still had there (1,000.00 after the reversal), not
        # the 250.00 the refund already took out of it
        assert _return_lines(payment) == sorted(
            [
                ("2100", 100000, 0, customer.pk),
                ("1600", 25000, 0, customer.pk),
                ("6850", 350, 0, None),
                (bank, 0, 125350, None),
            ]
        )
        assert bank_before - _balance(entity, bank) == 125350
        assert _balance(entity, "1600") == 25000
        assert (
            ledger_selectors.credit_balances_by_customer(
                account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk]
            )
            == {}
        )
        audit = AuditEvent.objects.get(action="cash.payment.returned")
        assert (audit.changes["refunded"], audit.changes["bank_charges"]) == (
            [None, "250.00 EUR"],
            [None, "3.50 EUR"],
        )
        event = DomainEvent.objects.get(name="cash.payment_returned")
        assert (event.payload["refunded_minor"], event.payload["charges_minor"]) == (25000, 350)
        _verify()

    def test_a_payment_refunded_in_full_takes_nothing_from_unapplied_cash(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _import(
            entity,
            _mt940(
                ":61:2603200320C300,00NTRFNONREF//BANKREF-9",
                f":86:166?00SEPA-GUTSCHRIFT?20EREF+E2E-9?21SVWZ+Vorauszahlung?31{PAYER_IBAN}"
                "?32MUELLER MASCHINENBAU",
                number="00001",
                opening=":60F:C260319EUR5000,00",
                closing=":62F:C260320EUR5300,00",
            ),
            now,
            "day1.sta",
        )
        payment = Payment.objects.get()
        assert (payment.status, payment.customer_id) == ("suggested", None)  # a person puts it on account
        workbench.payment_put_on_account(payment_id=payment.pk, customer_id=customer.pk, actor=None, now=now)
        sepa.refund_file_create(
            entity=entity, payment_ids=[payment.pk], execution_date=date(2026, 3, 20), actor=None, now=now
        )
        bank = _bank_code(payment)

        result = _import(
            entity,
            _mt940(
                ":61:2603240324D300,00NRTIE2E-9//RET-9",
                f":86:/RTRN/AC04/EREF/E2E-9/IBAN/{PAYER_IBAN}/",
                number="00002",
                opening=":60F:C260323EUR5000,00",
                closing=":62F:C260324EUR4700,00",
            ),
            now,
            "day2.sta",
        )

        assert result.returned == 1
        assert result.warnings == [
            f"day2.sta: entry 1: returned payment BANKREF-9: 300.00 EUR of it had been refunded "
            f"({Refund.objects.get().end_to_end_id}) before it was returned: the customer has that twice; "
            "it is in 1600 Payments in transit for a person to reclaim from the customer or write off"
        ]
        payment.refresh_from_db()
        assert (payment.status, payment.unapplied_minor, payment.return_charges_minor) == ("returned", 0, 0)
        assert _return_lines(payment) == sorted([("1600", 30000, 0, customer.pk), (bank, 0, 30000, None)])
        _verify()
