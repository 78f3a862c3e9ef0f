from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from o2c.core import checks
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import JournalEntry, JournalLine
from o2c.receivables import services
from o2c.receivables.calculations import LineIn
from o2c.receivables.errors import UnableToAllocate, UnableToCreateDocument, UnableToIssueDocument
from o2c.receivables.models import Document
from tests.conftest import NOW, issued_credit_memo, issued_invoice

pytestmark = pytest.mark.django_db


def run_all_checks() -> dict[str, list[str]]:
    return {check.name: check.run() for check in checks.all_checks()}


class TestIssueInvoice:
    def test_issue_assigns_the_next_number_in_the_series_and_posts_receivable_revenue_and_tax(self, customer):
        first = issued_invoice(customer)
        second = issued_invoice(customer)
        assert (first.number, second.number) == ("INV-2026-000001", "INV-2026-000002")
        assert (first.net_minor, first.tax_minor, first.total_minor, first.open_minor) == (
            100000,
            19000,
            119000,
            119000,
        )
        assert first.due_date == date(2026, 4, 1)
        lines = JournalLine.objects.filter(entry__source_type="document", entry__source_id=first.pk)
        assert sorted((line.account.type, line.debit_minor, line.credit_minor) for line in lines) == [
            ("receivable", 119000, 0),
            ("revenue", 0, 100000),
            ("tax", 0, 19000),
        ]
        assert all(not problems for problems in run_all_checks().values())

    def test_tax_is_rounded_per_rate_on_the_sum_of_rounded_line_nets(self, customer):
        invoice = issued_invoice(
            customer,
            lines=[
                LineIn("A", Decimal("3"), Decimal("0.335"), Decimal("19")),  # 1.005 -> 1.01
                LineIn("B", Decimal("1"), Decimal("10.00"), Decimal("7"), Decimal("2.5")),  # 9.75
                LineIn("C", Decimal("1"), Decimal("0.01"), Decimal("19")),
            ],
        )
        assert invoice.net_minor == 101 + 975 + 1
        assert list(invoice.tax_lines.order_by("rate").values_list("rate", "base_minor", "tax_minor")) == [
            (Decimal("7.000"), 975, 68),
            (Decimal("19.000"), 102, 19),
        ]
        assert invoice.total_minor == 1077 + 87

    def test_an_issued_document_cannot_be_issued_again(self, customer):
        invoice = issued_invoice(customer)
        with pytest.raises(UnableToIssueDocument):
            services.document_issue(document_id=invoice.pk, actor=None, now=NOW)
        assert JournalEntry.objects.count() == 1


class TestCreditMemo:
    def test_a_credit_memo_credits_its_invoice_and_the_ledger_still_ties(self, customer):
        invoice = issued_invoice(customer)
        credit = issued_credit_memo(invoice, amount=Decimal("200.00"))
        invoice.refresh_from_db()
        credit.refresh_from_db()
        assert credit.number == "CM-2026-000001"
        assert (credit.total_minor, credit.open_minor) == (-20000, 0)
        assert (invoice.open_minor, invoice.settlement) == (99000, "partially_paid")
        balances = ledger_selectors.receivable_balances()
        assert balances == {(customer.entity_id, customer.pk, "EUR"): 99000}
        assert all(not problems for problems in run_all_checks().values())

    def test_a_credit_memo_larger_than_the_invoice_is_refused(self, customer):
        invoice = issued_invoice(customer)
        with pytest.raises(UnableToCreateDocument):
            issued_credit_memo(invoice, amount=Decimal("1190.01"))
        assert Document.objects.count() == 1

    def test_a_full_credit_memo_leaves_the_invoice_credited(self, customer):
        invoice = issued_invoice(customer)
        issued_credit_memo(invoice, amount=Decimal("1190.00"))
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "credited")


class TestLedgerGuards:
    def test_the_database_refuses_to_change_a_posted_line(self, customer):
        issued_invoice(customer)
        line = JournalLine.objects.first()
        with pytest.raises(DatabaseError), transaction.atomic():
            JournalLine.objects.filter(pk=line.pk).update(debit_minor=1)

    def test_the_database_refuses_to_delete_a_posted_entry(self, customer):
        issued_invoice(customer)
        with pytest.raises(DatabaseError), transaction.atomic():
            JournalLine.objects.all().delete()

    def test_over_application_is_refused(self, customer):
        invoice = issued_invoice(customer)
        with pytest.raises(UnableToAllocate):
            services.allocation_create(
                document_id=invoice.pk,
                kind="write_off",
                amount_minor=119001,
                posting_date=date(2026, 3, 3),
                actor=None,
                now=NOW,
            )
