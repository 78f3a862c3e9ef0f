"""Fees on returned payments: the bank takes its return fee with the return (the debit is the original plus
the fee, stated in camt `Chrgs` and the original in `AmtDtls`). The original is still found and reversed,
the fee goes to 6850 Bank and card fees in the same entry, and where the matching policy says so the
customer gets a debit memo for the bank's fee and/or the entity's own fixed fee."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from o2c.audit.models import AuditEvent
from o2c.cash import reports, workbench
from o2c.cash import services as cash_services
from o2c.cash.errors import UnableToChangeMatchingPolicy
from o2c.cash.models import MatchingPolicy, Payment
from o2c.core import checks
from o2c.core.models import DomainEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import Account, AccountType, JournalEntry, JournalLine, LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import customer_in, issued_invoice

pytestmark = pytest.mark.django_db

PAYER_IBAN = "DE02120300000000202051"
RETURN_DAY = date(2026, 3, 24)
# a SEPA direct debit collected on 20 March and returned on 24 March (AM04: insufficient funds) with the
# bank's fee of 3.50 EUR in the debit, stated as a charge, and the original amount stated
RETURNED = Credit(
    "1003.50",
    "RET-1",
    name="Mueller Maschinenbau",
    iban=PAYER_IBAN,
    end_to_end="E2E-DD-1",
    debit=True,
    return_reason="AM04",
    bank_code="PMNT-IDDT-UPDD",
    original_amount="1000.00",
    charges=("3.50",),
    charges_included=True,
    day=RETURN_DAY,
)


def _import(entity: LegalEntity, data: bytes, now: datetime, name: str) -> cash_services.ImportResult:
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _balance(entity: LegalEntity, code: str) -> int:
    """Debits less credits on one account of the entity, in minor units."""
    lines = JournalLine.objects.filter(entry__entity=entity, account__code=code)
    return sum(line.debit_minor - line.credit_minor for line in lines)


def _bank_code(payment: Payment) -> str:
    return Account.objects.get(pk=payment.bank_account.ledger_account_id).code


def _debit_memos() -> list[Document]:
    return list(Document.objects.filter(document_type="debit_memo").order_by("pk"))


def _invoice(customer: Customer) -> Document:
    """1,000.00 EUR, no VAT, so the collection and its return are round figures."""
    return issued_invoice(customer, lines=[LineIn("Wartungsvertrag", Decimal(1), Decimal("1000.00"))])


def _collected(entity: LegalEntity, invoice: Document, now: datetime) -> Payment:
    _import(
        entity,
        statement_xml(
            [
                Credit(
                    "1000.00",
                    "BANKREF-1",
                    name="Mueller Maschinenbau",
                    iban=PAYER_IBAN,
                    text=f"Rechnung {invoice.number}",
                    end_to_end="E2E-DD-1",
                    bank_code="PMNT-IDDT-ESDD",
                )
            ]
        ),
        now,
        "day1.xml",
    )
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_minor, payment.method) == ("applied", 100000, "sepa_direct_debit")
    return payment


def _return_file(*returns: Credit, statement_id: str = "STMT-2", message_id: str = "MSG-2") -> bytes:
    return statement_xml(list(returns), statement_id=statement_id, opening="5000.00", message_id=message_id)


def _policy(entity: LegalEntity, now: datetime, charge: str, fee: str = "5.00") -> MatchingPolicy:
    return workbench.policy_change(
        entity=entity,
        auto_apply_confidence=Decimal("0.900"),
        write_off_tolerance=Decimal("5.00"),
        discount_grace_days=3,
        actor=None,
        now=now,
        return_fee_charge=charge,
        return_fee=Decimal(fee),
    )


class TestTheBanksFee:
    def test_a_direct_debit_return_with_the_banks_fee_finds_the_original_and_books_the_fee(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)
        bank = _bank_code(payment)
        bank_before = _balance(entity, bank)

        result = _import(entity, _return_file(RETURNED), now, "day2.xml")

        assert (result.returned, result.payments, result.ignored, result.warnings) == (1, 0, 0, [])
        payment.refresh_from_db()
        assert (
            payment.status,
            payment.unapplied_minor,
            payment.return_reason,
            payment.returned_on,
            payment.return_charges_minor,
            payment.return_fee_document_id,
        ) == ("returned", 0, "AM04", RETURN_DAY, 350, None)
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (100000, "open")
        assert _balance(entity, "6850") == 350
        assert bank_before - _balance(entity, bank) == 100350
        assert (
            ledger_selectors.credit_balances_by_customer(
                account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk]
            )
            == {}
        )
        entry = JournalEntry.objects.get(idempotency_key=f"payment-return:{payment.pk}")
        assert entry.posting_date == RETURN_DAY
        assert sorted(
            (line.account.code, line.debit_minor, line.credit_minor, line.customer_id)
            for line in entry.lines.select_related("account")
        ) == sorted(
            [
                ("2100", 100000, 0, customer.pk),  # unapplied cash, the payer's
                ("6850", 350, 0, None),
                (bank, 0, 100350, None),
            ]
        )
        event = DomainEvent.objects.get(name="cash.payment_returned")
        assert {
            key: event.payload[key]
            for key in ("payment_id", "amount_minor", "currency", "reason", "document_ids", "charges_minor")
        } == {
            "payment_id": payment.pk,
            "amount_minor": 100000,
            "currency": "EUR",
            "reason": "AM04",
            "document_ids": [invoice.pk],
            "charges_minor": 350,
        }
        assert event.payload["fee_document_id"] is None
        assert _debit_memos() == []  # no fee configured: the customer is not charged
        audit = AuditEvent.objects.get(action="cash.payment.returned")
        assert audit.changes["bank_charges"] == [None, "3.50 EUR"]
        assert not AuditEvent.objects.filter(action="cash.payment.return_fee_charged").exists()
        assert _verify() == []

    @pytest.mark.parametrize(
        "returned",
        [
            pytest.param(replace(RETURNED, original_amount=""), id="charge-in-the-transaction"),
            pytest.param(
                replace(RETURNED, original_amount="", charges=(), entry_charges=("3.50",)),
                id="charge-on-the-entry",
            ),
            pytest.param(
                replace(RETURNED, original_amount="", charges=("2.00", "1.50"), charges_included=None),
                id="two-charges-inclusion-not-said",
            ),
        ],
    )
    def test_without_the_original_amount_the_debit_less_the_stated_charges_finds_it(
        self, entity: LegalEntity, customer: Customer, now: datetime, returned: Credit
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)

        result = _import(entity, _return_file(returned), now, "day2.xml")

        assert (result.returned, result.warnings) == (1, [])
        payment.refresh_from_db()
        assert (payment.status, payment.return_charges_minor) == ("returned", 350)
        invoice.refresh_from_db()
        assert invoice.open_minor == 100000
        assert _balance(entity, "6850") == 350
        assert _verify() == []

    def test_a_charge_booked_apart_is_not_in_the_return_entry(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)
        bank = _bank_code(payment)
        bank_before = _balance(entity, bank)
        apart = replace(RETURNED, amount="1000.00", original_amount="", charges_included=False)

        result = _import(entity, _return_file(apart), now, "day2.xml")

        assert (result.returned, result.warnings) == (1, [])
        payment.refresh_from_db()
        assert (payment.status, payment.return_charges_minor) == ("returned", 0)
        assert _balance(entity, "6850") == 0
        assert bank_before - _balance(entity, bank) == 100000
        assert _verify() == []

    def test_a_debit_short_of_the_original_gives_the_difference_back_to_the_fees_account(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)
        bank = _bank_code(payment)
        bank_before = _balance(entity, bank)
        short = replace(RETURNED, amount="995.00", charges=())

        result = _import(entity, _return_file(short), now, "day2.xml")

        assert (result.returned, result.warnings) == (1, [])
        payment.refresh_from_db()
        assert (payment.status, payment.return_charges_minor) == ("returned", -500)
        invoice.refresh_from_db()
        assert invoice.open_minor == 100000
        assert _balance(entity, "6850") == -500
        assert bank_before - _balance(entity, bank) == 99500
        assert _verify() == []

    def test_the_daily_reconciliation_counts_the_fee_with_the_return(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _collected(entity, _invoice(customer), now)
        _import(entity, _return_file(RETURNED), now, "day2.xml")

        days = reports.deposit_reconciliation(
            entity_ids=[entity.pk], date_from=RETURN_DAY, date_to=RETURN_DAY
        ).days

        assert [(day.day, day.bank_minor, day.ledger_minor, day.difference_minor) for day in days] == [
            (RETURN_DAY, -100350, -100350, 0)
        ]

    def test_the_same_return_again_posts_nothing_twice(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)
        _policy(entity, now, "bank_fee_plus_fixed")
        data = _return_file(RETURNED)
        _import(entity, data, now, "day2.xml")
        entries = JournalEntry.objects.count()

        again = _import(entity, data, now, "day2-again.xml")
        overlapping = _import(
            entity, _return_file(RETURNED, statement_id="STMT-3", message_id="MSG-3"), now, "day3.xml"
        )

        assert again.already_imported
        assert (overlapping.returned, overlapping.warnings) == (0, [])
        assert JournalEntry.objects.count() == entries
        assert _balance(entity, "6850") == 350
        assert [memo.total_minor for memo in _debit_memos()] == [850]
        assert AuditEvent.objects.filter(action="cash.payment.return_fee_charged").count() == 1
        payment.refresh_from_db()
        assert payment.return_fee_document_id == _debit_memos()[0].pk
        invoice.refresh_from_db()
        assert invoice.open_minor == 100000
        assert _verify() == []


class TestChargingTheCustomer:
    def test_the_banks_fee_plus_a_fixed_fee_is_a_debit_memo_to_the_customer(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)
        _policy(entity, now, "bank_fee_plus_fixed", "5.00")
        receivable_before = _balance(entity, "1200")

        result = _import(entity, _return_file(RETURNED), now, "day2.xml")

        assert (result.returned, result.warnings) == (1, [])
        [memo] = _debit_memos()
        assert (
            memo.customer_id,
            memo.status,
            memo.currency,
            memo.net_minor,
            memo.tax_minor,
            memo.total_minor,
            memo.open_minor,
            memo.settlement,
            memo.issue_date,
        ) == (customer.pk, "issued", "EUR", 850, 0, 850, 850, "open", RETURN_DAY)
        assert memo.number == "DM-2026-000001"
        # in the customer's language (German), naming the payment as the customer knows it
        assert [
            (line.description, line.net_minor, line.tax_rate, line.tax_category)
            for line in memo.lines.order_by("position")
        ] == [
            ("Bankgebühren für die zurückgegebene Zahlung E2E-DD-1 vom 20.03.2026", 350, Decimal(0), "O"),
            (
                "Bearbeitungsgebühr für die zurückgegebene Zahlung E2E-DD-1 vom 20.03.2026",
                500,
                Decimal(0),
                "O",
            ),
        ]
        assert [(tax.category, tax.base_minor, tax.tax_minor) for tax in memo.tax_lines.all()] == [
            ("O", 850, 0)
        ]
        assert "nicht umsatzsteuerbar" in memo.notes
        payment.refresh_from_db()
        assert payment.return_fee_document_id == memo.pk
        invoice.refresh_from_db()
        assert invoice.open_minor == 100000
        # the customer owes the invoice again and the memo: both in the ledger's receivable
        assert _balance(entity, "1200") - receivable_before == 100000 + 850
        assert [
            entry.idempotency_key for entry in ledger_selectors.entries_for_document(document_id=memo.pk)
        ] == [f"document-issue:{memo.pk}"]
        assert _balance(entity, "6850") == 350  # the bank's fee is still the entity's cost
        audit = AuditEvent.objects.get(action="cash.payment.return_fee_charged")
        assert (audit.object_type, audit.object_id, audit.changes) == (
            "payment",
            payment.pk,
            {"return_fee_document": [None, memo.number], "return_fee": [None, "8.50 EUR"]},
        )
        assert AuditEvent.objects.filter(action="receivables.document.issued", object_id=memo.pk).exists()
        event = DomainEvent.objects.get(name="cash.payment_returned")
        assert (event.payload["fee_document_id"], event.payload["charges_minor"]) == (memo.pk, 350)
        assert _verify() == []
        out = StringIO()
        call_command("ledger", "verify", stdout=out)  # o2c ledger verify
        assert "FAILED" not in out.getvalue()
        assert out.getvalue().count("ok ") == len(checks.all_checks())

    @pytest.mark.parametrize(
        ("charge", "lines"),
        [
            ("bank_fee", [350]),
            ("fixed", [500]),
            ("bank_fee_plus_fixed", [350, 500]),
            ("none", None),
        ],
    )
    def test_the_policy_says_what_the_customer_is_charged(
        self, entity: LegalEntity, customer: Customer, now: datetime, charge: str, lines: list[int] | None
    ) -> None:
        _collected(entity, _invoice(customer), now)
        _policy(entity, now, charge, "5.00")

        _import(entity, _return_file(RETURNED), now, "day2.xml")

        memos = _debit_memos()
        if lines is None:
            assert memos == []
        else:
            [memo] = memos
            assert [line.net_minor for line in memo.lines.order_by("position")] == lines
            assert memo.total_minor == sum(lines)
        assert _verify() == []

    def test_a_return_without_a_bank_fee_charges_only_the_fixed_fee(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _collected(entity, _invoice(customer), now)
        _policy(entity, now, "bank_fee_plus_fixed", "5.00")
        plain = replace(RETURNED, amount="1000.00", original_amount="", charges=())

        _import(entity, _return_file(plain), now, "day2.xml")

        [memo] = _debit_memos()
        assert [line.net_minor for line in memo.lines.all()] == [500]
        assert _balance(entity, "6850") == 0
        assert _verify() == []

    def test_a_return_without_a_bank_fee_charges_nothing_when_only_the_banks_fee_is_passed_on(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _collected(entity, _invoice(customer), now)
        _policy(entity, now, "bank_fee")
        plain = replace(RETURNED, amount="1000.00", original_amount="", charges=())

        result = _import(entity, _return_file(plain), now, "day2.xml")

        assert (result.returned, result.warnings) == (1, [])
        assert _debit_memos() == []
        assert _verify() == []

    def test_a_charge_booked_apart_is_still_passed_on(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        _collected(entity, _invoice(customer), now)
        _policy(entity, now, "bank_fee")
        apart = replace(RETURNED, amount="1000.00", original_amount="", charges_included=False)

        _import(entity, _return_file(apart), now, "day2.xml")

        [memo] = _debit_memos()
        assert memo.total_minor == 350
        assert _balance(entity, "6850") == 0
        assert _verify() == []

    def test_a_returned_payment_of_nobody_known_charges_nobody_and_says_so(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _import(
            entity,
            statement_xml(
                [Credit("1000.00", "BANKREF-1", iban=PAYER_IBAN, text="thanks", end_to_end="E2E-DD-1")]
            ),
            now,
            "day1.xml",
        )
        payment = Payment.objects.get()
        assert (payment.status, payment.customer_id) == ("unidentified", None)
        _policy(entity, now, "bank_fee_plus_fixed")

        result = _import(entity, _return_file(RETURNED), now, "day2.xml")

        assert result.returned == 1
        assert result.warnings == [
            f"day2.xml: entry 1: returned payment {payment}: no customer is known, so no return fee was "
            "charged"
        ]
        assert _debit_memos() == []
        assert _balance(entity, "6850") == 350
        assert _verify() == []

    def test_a_blocked_customer_is_not_charged_and_the_return_stands(
        self, entity: LegalEntity, customer: Customer, now: datetime
    ) -> None:
        invoice = _invoice(customer)
        payment = _collected(entity, invoice, now)
        _policy(entity, now, "bank_fee")
        customer_services.customer_update(
            customer_id=customer.pk,
            data=customer_in(status="blocked"),
            actor=None,
            now=now,
            reason="insolvency",
        )

        result = _import(entity, _return_file(RETURNED), now, "day2.xml")

        assert result.returned == 1
        assert result.warnings == [
            f"day2.xml: entry 1: returned payment {payment}: no return fee was charged: customer "
            f"{customer.number} is blocked"
        ]
        assert _debit_memos() == []
        payment.refresh_from_db()
        assert (payment.status, payment.return_fee_document_id) == ("returned", None)
        invoice.refresh_from_db()
        assert invoice.open_minor == 100000
        assert _verify() == []


class TestPolicy:
    def test_the_return_fee_setting_is_stored_and_audited(self, entity: LegalEntity, now: datetime) -> None:
        _policy(entity, now, "none", "0")

        policy = _policy(entity, now, "bank_fee_plus_fixed", "7.50")

        assert (policy.return_fee_charge, policy.return_fee_minor, policy.currency) == (
            "bank_fee_plus_fixed",
            750,
            "EUR",
        )
        changed = AuditEvent.objects.filter(action="cash.policy.changed").order_by("pk").last()
        assert changed is not None
        assert changed.changes == {
            "return_fee_charge": ["none", "bank_fee_plus_fixed"],
            "return_fee": ["0.00 EUR", "7.50 EUR"],
        }

    def test_leaving_the_return_fee_out_keeps_what_is_stored(
        self, entity: LegalEntity, now: datetime
    ) -> None:
        _policy(entity, now, "fixed", "5.00")

        policy = workbench.policy_change(
            entity=entity,
            auto_apply_confidence=Decimal("0.950"),
            write_off_tolerance=Decimal("5.00"),
            discount_grace_days=3,
            actor=None,
            now=now,
        )

        assert (policy.auto_apply_confidence, policy.return_fee_charge, policy.return_fee_minor) == (
            Decimal("0.950"),
            "fixed",
            500,
        )

    @pytest.mark.parametrize(
        ("charge", "fee", "code"),
        [
            ("always", "5.00", "bad_return_fee_charge"),
            ("fixed", "-1.00", "bad_return_fee"),
            ("fixed", "5.001", "bad_return_fee"),
        ],
    )
    def test_a_bad_return_fee_setting_is_refused_and_changes_nothing(
        self, entity: LegalEntity, now: datetime, charge: str, fee: str, code: str
    ) -> None:
        _policy(entity, now, "bank_fee", "2.00")
        audits = AuditEvent.objects.count()

        with pytest.raises(UnableToChangeMatchingPolicy) as refused:
            _policy(entity, now, charge, fee)

        assert refused.value.code == code
        stored = MatchingPolicy.objects.get(entity=entity)
        assert (stored.return_fee_charge, stored.return_fee_minor) == ("bank_fee", 200)
        assert AuditEvent.objects.count() == audits
