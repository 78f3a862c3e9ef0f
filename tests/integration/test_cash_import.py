"""Importing a bank statement: payments once per account, receipts posted, the matcher's decisions applied
or left for a person, each with its reasons; the ledger ties after every import."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.cash import matching
from o2c.cash import selectors as cash_selectors
from o2c.cash import services as cash_services
from o2c.cash.models import Application, DocumentKey, Payment
from o2c.core import checks
from o2c.core.models import DomainEvent
from o2c.customers import services as customer_services
from o2c.customers.models import BankAccount, Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import AccountType, EntityBankAccount, JournalLine, LegalEntity
from o2c.receivables import bulk as receivables_bulk
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, Document
from o2c.receivables.services import DOCUMENTS_ISSUED
from tests.camt_builder import OWN_IBAN, Credit, statement_xml
from tests.conftest import NOW, customer_in, issued_invoice

pytestmark = pytest.mark.django_db


def _import(entity: LegalEntity, data: bytes, now: datetime, name: str = "statement.xml") -> Any:
    return cash_services.bank_file_import(data=data, file_name=name, entity=entity, actor=None, now=now)


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


def _rows(entity: LegalEntity) -> list[tuple[str, ...]]:
    return [row.values() for row in cash_selectors.application_rows(entity_ids=[entity.pk])]


def _unapplied(entity: LegalEntity) -> dict[tuple[int | None, str], int]:
    balances = ledger_selectors.credit_balances_by_customer(
        account_type=AccountType.UNAPPLIED_CASH, entity_ids=[entity.pk]
    )
    return {(customer, currency): amount for (_, customer, currency), amount in balances.items()}


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)  # 1,190.00 EUR


def test_a_payment_naming_its_invoice_with_the_open_amount_is_applied_and_the_invoice_paid(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    data = statement_xml(
        [Credit("1190.00", "BANKREF-1", name="Mueller Maschinenbau", text=f"Rechnung {invoice.number}")]
    )

    result = _import(entity, data, now)

    assert (result.payments, result.applied, result.suggested, result.unidentified) == (1, 1, 0, 0)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.APPLIED
    assert (payment.customer_id, payment.amount_minor, payment.unapplied_minor) == (customer.pk, 119000, 0)
    assert payment.method == "sepa_credit_transfer"
    # reference 95, amount 60, independent: 1 - 0.05 * 0.40 (the name is not scored: the reference
    # tells whose invoice is paid)
    assert payment.confidence == Decimal("0.980")
    assert f"reference {invoice.number} found" in payment.reasons
    assert "amount equals the open amount 1190.00 EUR" in payment.reasons
    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (0, "paid")
    allocation = Allocation.objects.get()
    assert (allocation.kind, allocation.amount_minor, allocation.payment_id) == (
        "payment",
        119000,
        payment.pk,
    )
    assert allocation.posting_date == date(2026, 3, 20)
    assert _rows(entity) == [
        ("BANKREF-1", invoice.number, "1190.00", "0.00", "0.00", "0.00", "applied", "0.980"),
    ]
    assert _unapplied(entity) == {}
    assert _verify() == []


def test_the_same_file_twice_and_an_overlapping_statement_import_nothing_twice(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    first = [
        Credit("1190.00", "BANKREF-1", text=invoice.number or ""),
        Credit("50.00", None, name="X", text="t"),
    ]
    data = statement_xml(first)
    _import(entity, data, now)

    again = _import(entity, data, now, name="statement-copy.xml")
    overlapping = _import(
        entity,
        statement_xml(
            [*first, Credit("20.00", "BANKREF-3", text="gift")], statement_id="STMT-2", message_id="M2"
        ),
        now,
        name="next.xml",
    )

    assert (again.already_imported, again.payments, again.duplicates) == (True, 0, 2)
    assert (overlapping.payments, overlapping.duplicates) == (1, 2)
    assert Payment.objects.count() == 3
    assert Allocation.objects.count() == 1
    assert _verify() == []


def test_an_unknown_own_account_is_registered_with_a_warning_and_refused_when_strict(
    entity: LegalEntity, now: datetime, settings: Any
) -> None:
    result = _import(entity, statement_xml([Credit("10.00", "R1")]), now)

    assert result.warnings == [f"bank account {OWN_IBAN} (EUR) was not known: registered for {entity.code}"]
    account = EntityBankAccount.objects.get(iban=OWN_IBAN)
    assert (account.entity_id, account.currency) == (entity.pk, "EUR")

    settings.O2C_STRICT_BANK_ACCOUNTS = True
    with pytest.raises(Exception, match=r"DE02120300000000202051 is not one of MAIN's accounts"):
        _import(entity, statement_xml([Credit("10.00", "R2")], iban="DE02120300000000202051"), now, "b.xml")
    assert Payment.objects.count() == 1


def test_a_statement_that_does_not_balance_is_imported_with_a_warning(
    entity: LegalEntity, now: datetime
) -> None:
    result = _import(entity, statement_xml([Credit("10.00", "R1")], closing="1000.00"), now)

    assert (
        "statement STMT-1: opening balance plus entries differs from the closing balance by -10.00 EUR"
        in (result.warnings)
    )
    assert result.payments == 1


def test_a_known_iban_and_the_amount_of_one_open_item_apply_without_a_reference(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    BankAccount.objects.create(customer=customer, iban="DE44500105175407324931")
    issued_invoice(customer, lines=[LineIn("Parts", Decimal(1), Decimal("50.00"), Decimal("19"))])

    _import(
        entity, statement_xml([Credit("1190.00", "R1", iban="DE44500105175407324931", text="payment")]), now
    )

    payment = Payment.objects.get()
    assert payment.status == Payment.Status.APPLIED
    assert payment.reasons[:2] == [
        f"bank account DE44500105175407324931 known for customer {customer.number}",
        f"amount equals the open amount of {invoice.number}, no reference given",
    ]
    assert payment.confidence == Decimal("0.960")
    invoice.refresh_from_db()
    assert invoice.open_minor == 0


def test_two_equal_open_items_without_a_reference_are_only_suggested(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    twin = issued_invoice(customer)
    BankAccount.objects.create(customer=customer, iban="DE44500105175407324931")

    result = _import(entity, statement_xml([Credit("1190.00", "R1", iban="DE44500105175407324931")]), now)

    assert (result.applied, result.suggested) == (0, 1)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUGGESTED
    assert payment.unapplied_minor == 119000
    assert Allocation.objects.count() == 0
    assert sorted(Application.objects.values_list("document_id", "state")) == [
        (invoice.pk, "suggested"),
        (twin.pk, "suggested"),
    ]
    assert any("amount equals several open items" in reason for reason in payment.reasons)
    # the receipt is posted: unapplied cash under nobody until a person decides
    assert _unapplied(entity) == {(None, "EUR"): 119000}
    assert _verify() == []


def test_an_early_payment_discount_within_terms_is_granted(entity: LegalEntity, now: datetime) -> None:
    customer = customer_services.customer_create(
        entity=entity, data=customer_in("C-2000", payment_terms="2/10NET30"), actor=None, now=now
    )
    invoice = issued_invoice(customer, issue_date=date(2026, 3, 12))  # discount until 2026-03-22

    _import(entity, statement_xml([Credit("1166.20", "R1", text=f"{invoice.number} minus 2% Skonto")]), now)

    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (0, "paid")
    assert sorted(Allocation.objects.values_list("kind", "amount_minor")) == [
        ("discount", 2380),
        ("payment", 116620),
    ]
    assert _rows(entity) == [("R1", invoice.number, "1166.20", "23.80", "0.00", "0.00", "applied", "0.978")]
    # reference 95, discounted amount 55: 1 - 0.05 * 0.45 = 0.9775
    # a German seller corrects its output VAT: 23.80 gross is 20.00 discount and 3.80 VAT
    discount_entry = JournalLine.objects.get(account__type=AccountType.RECEIVABLE, credit_minor=2380).entry
    assert sorted(
        discount_entry.lines.values_list("account__type", "debit_minor", "credit_minor", "memo")
    ) == [
        ("discount", 2000, 0, ""),
        ("receivable", 0, 2380, ""),
        ("tax", 380, 0, "VAT on early-payment discount"),
    ]
    assert _verify() == []


def test_bank_charges_under_the_tolerance_are_written_off(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    _import(entity, statement_xml([Credit("1185.50", "R1", text=f"INV {invoice.number}")]), now)

    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (0, "paid")
    assert sorted(Allocation.objects.values_list("kind", "amount_minor")) == [
        ("payment", 118550),
        ("write_off", 450),
    ]
    assert _rows(entity) == [("R1", invoice.number, "1185.50", "0.00", "0.00", "4.50", "applied", "0.975")]
    # reference 95, amount within tolerance 50: 1 - 0.05 * 0.50


def test_a_short_pay_with_a_deduction_leaves_the_rest_open_and_tells_disputes(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    _import(
        entity, statement_xml([Credit("1000.00", "R1", text=f"{invoice.number} less damaged goods")]), now
    )

    invoice.refresh_from_db()
    assert (invoice.open_minor, invoice.settlement) == (19000, "partially_paid")
    assert _rows(entity) == [("R1", invoice.number, "1000.00", "0.00", "190.00", "0.00", "applied", "0.965")]
    # reference 95, short pay marked as a deduction 30: 1 - 0.05 * 0.70
    event = DomainEvent.objects.get(name=cash_services.DEDUCTION_TAKEN)
    assert event.payload["document_id"] == invoice.pk
    assert event.payload["amount_minor"] == 19000


def test_an_overpayment_settles_the_invoice_and_leaves_the_rest_on_account(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    _import(entity, statement_xml([Credit("1250.00", "R1", text=invoice.number or "")]), now)

    payment = Payment.objects.get()
    assert (payment.status, payment.unapplied_minor, payment.customer_id) == (
        "partially_applied",
        6000,
        customer.pk,
    )
    assert _rows(entity) == [
        ("R1", invoice.number, "1190.00", "0.00", "0.00", "0.00", "applied", "0.965"),
        ("R1", "", "60.00", "0.00", "0.00", "0.00", "applied", "0.965"),
    ]
    assert _unapplied(entity) == {(customer.pk, "EUR"): 6000}
    assert _verify() == []


def test_a_second_payment_of_a_paid_invoice_goes_on_account(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    _import(
        entity,
        statement_xml(
            [
                Credit("1190.00", "R1", text=invoice.number or ""),
                Credit("1190.00", "R2", text=invoice.number or ""),
            ]
        ),
        now,
    )

    second = Payment.objects.get(entry_reference="R2")
    assert second.status == Payment.Status.ON_ACCOUNT
    assert f"{invoice.number} is paid already" in second.reasons
    assert _unapplied(entity) == {(customer.pk, "EUR"): 119000}
    assert _verify() == []


def test_a_payment_nobody_can_tell_stays_unidentified(
    entity: LegalEntity, invoice: Document, now: datetime
) -> None:
    result = _import(
        entity, statement_xml([Credit("77.70", "R1", name="Unknown Trading Ltd", text="thanks")]), now
    )

    assert result.unidentified == 1
    payment = Payment.objects.get()
    assert (payment.status, payment.customer_id) == ("unidentified", None)
    assert _rows(entity) == [("R1", "", "77.70", "0.00", "0.00", "0.00", "suggested", "0.000")]
    assert _unapplied(entity) == {(None, "EUR"): 7770}


def test_the_payer_name_in_the_banks_spelling_identifies_the_customer(
    entity: LegalEntity, customer: Customer, invoice: Document, now: datetime
) -> None:
    _import(
        entity,
        statement_xml([Credit("1190.00", "R1", name="MUELLER MASCHINENBAU GMBH", text="Zahlung")]),
        now,
    )

    payment = Payment.objects.get()
    assert payment.status == Payment.Status.APPLIED
    assert payment.reasons[0] == (
        f"payer name 'MUELLER MASCHINENBAU GMBH' matches customer {customer.number} (100/100)"
    )


def test_a_parent_paying_its_subsidiarys_invoice_by_reference(entity: LegalEntity, now: datetime) -> None:
    parent = customer_services.customer_create(
        entity=entity, data=customer_in("C-P", name="Holding AG"), actor=None, now=now
    )
    child = customer_services.customer_create(
        entity=entity, data=customer_in("C-S", name="Tochter GmbH", parent_number="C-P"), actor=None, now=now
    )
    invoice = issued_invoice(child)
    BankAccount.objects.create(customer=parent, iban="DE44500105175407324931")

    _import(
        entity,
        statement_xml([Credit("1190.00", "R1", iban="DE44500105175407324931", text=invoice.number or "")]),
        now,
    )

    invoice.refresh_from_db()
    assert invoice.open_minor == 0
    payment = Payment.objects.get()
    assert payment.customer_id == parent.pk
    # the cash came from the parent: its unapplied cash is what the allocation used
    assert _unapplied(entity) == {}
    assert _verify() == []


def test_a_bad_file_imports_nothing_and_says_where(entity: LegalEntity, now: datetime) -> None:
    data = statement_xml([Credit("10.00", "R1")]).replace(
        b'<Amt Ccy="EUR">10.00</Amt>', b"<Amt>10.00</Amt>", 1
    )

    with pytest.raises(UnableToReadBankFile, match=r"statement\.xml: entry 1: Amt has no Ccy"):
        _import(entity, data, now)
    assert Payment.objects.count() == 0
    assert JournalLine.objects.filter(account__type=AccountType.BANK).count() == 0


def test_an_issued_invoice_is_indexed_for_matching_right_after_its_commit(
    customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(customer)

    keys = set(DocumentKey.objects.filter(document_id=invoice.pk).values_list("key", flat=True))
    assert keys == set(matching.document_reference_keys(invoice.number or ""))
    assert len(keys) == 8  # the number's normalised forms: OCR confusions, leading zeros
    assert not DomainEvent.objects.filter(name=DOCUMENTS_ISSUED, is_processed=False).exists()


def test_an_issue_whose_indexing_never_ran_is_caught_up_by_the_next_import(
    entity: LegalEntity, customer: Customer, now: datetime
) -> None:
    invoice = issued_invoice(customer)  # committed without running its handlers, as by a stopped process
    assert not DocumentKey.objects.filter(document_id=invoice.pk).exists()
    data = statement_xml([Credit("1190.00", "BANKREF-9", text=f"Invoice {invoice.number}")])

    result = _import(entity, data, now)

    assert (result.payments, result.applied) == (1, 1)
    assert DocumentKey.objects.filter(document_id=invoice.pk).exists()
    assert not DomainEvent.objects.filter(name=DOCUMENTS_ISSUED, is_processed=False).exists()


def test_invoices_issued_in_bulk_by_a_billing_run_are_indexed_after_their_commit(
    customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    draft = receivables_bulk.DraftIn(
        customer=customer,
        issue_date=date(2026, 3, 2),
        lines=[LineIn("Licence", Decimal(1), Decimal("100.00"), Decimal(19))],
        currency="EUR",
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        documents = receivables_bulk.invoices_create_bulk([draft, draft], actor=None, now=NOW, issue=True)

    indexed = set(DocumentKey.objects.values_list("document_id", flat=True))
    assert indexed == {document.pk for document in documents}
    assert not DomainEvent.objects.filter(name=DOCUMENTS_ISSUED, is_processed=False).exists()
