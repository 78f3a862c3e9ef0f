"""A case's write-off where the seller entity's country allows bad-debt VAT relief: the VAT inside the
written-off amount, per rate in the invoice's proportions, is debited to the tax account (the output VAT
is reduced) and only the net to the write-off account; elsewhere the gross goes to the write-off account.
The default entity is German (relief at once); the FR01 entity has no relief by default."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.core import checks
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.disputes import services
from o2c.disputes.models import Case
from o2c.ledger.models import JournalLine, LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db


def verify() -> dict[str, list[str]]:
    return {check.name: problems for check in checks.all_checks() if (problems := check.run())}


@pytest.fixture
def analyst(entity: LegalEntity, other_entity: LegalEntity) -> User:
    return make_user("dora", "disputes", entities=[entity, other_entity])


def one_line_invoice(customer: Customer) -> Document:
    """119.00 EUR: 100.00 net at 19 %."""
    return issued_invoice(customer, lines=[LineIn("Valve", Decimal(1), Decimal("100.00"), Decimal("19"))])


def written_off(invoice: Document, analyst: User, amount: str, *, now: datetime = NOW) -> Case:
    case = services.case_open(
        document_id=invoice.pk, amount=Decimal(amount), reason_code="damaged_goods", actor=analyst, now=now
    )
    return services.case_write_off(
        case_id=case.pk, root_cause="", resolution="not worth pursuing", actor=analyst, now=now
    )


def postings(case: Case) -> list[tuple[str, int, int, str]]:
    lines = JournalLine.objects.filter(
        entry__source_type="allocation", entry__source_id=case.write_off_id
    ).select_related("account")
    return sorted((line.account.type, line.debit_minor, line.credit_minor, line.memo) for line in lines)


class TestVatRelief:
    def test_a_full_write_off_of_119_00_at_19_percent_posts_100_00_to_expense_and_19_00_to_output_vat(
        self, customer, analyst
    ):
        invoice = one_line_invoice(customer)

        case = written_off(invoice, analyst, "119.00")

        assert case.state == "written_off"
        assert postings(case) == [
            ("receivable", 0, 11900, ""),
            ("tax", 1900, 0, "VAT 19% relief on write-off"),
            ("write_off", 10000, 0, ""),
        ]
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.settlement) == (0, "written_off")
        resolved = AuditEvent.objects.get(object_type="dispute_case", action="disputes.case.resolved")
        assert (resolved.changes["write_off_net"], resolved.changes["vat_relief"]) == (
            [None, "100.00 EUR"],
            [None, "19.00 EUR"],
        )
        assert verify() == {}

    def test_a_partial_write_off_of_59_50_posts_50_00_and_9_50(self, customer, analyst):
        invoice = one_line_invoice(customer)

        case = written_off(invoice, analyst, "59.50")

        assert postings(case) == [
            ("receivable", 0, 5950, ""),
            ("tax", 950, 0, "VAT 19% relief on write-off"),
            ("write_off", 5000, 0, ""),
        ]
        invoice.refresh_from_db()
        assert invoice.open_minor == 5950
        assert verify() == {}

    def test_a_mixed_rate_invoice_splits_the_amount_over_its_rates_by_their_gross(self, customer, analyst):
        # 100.00 at 19 % (119.00 gross) and 200.00 at 7 % (214.00 gross): 333.00
        invoice = issued_invoice(
            customer,
            lines=[
                LineIn("Valve", Decimal(1), Decimal("100.00"), Decimal("19")),
                LineIn("Manual", Decimal(1), Decimal("200.00"), Decimal("7")),
            ],
        )
        assert invoice.total_minor == 33300

        # 100.00 = 35.74 at 19 % (tax 5.71) + 64.26 at 7 % (tax 4.20): 90.09 net, 9.91 tax
        case = written_off(invoice, analyst, "100.00")

        assert postings(case) == [
            ("receivable", 0, 10000, ""),
            ("tax", 420, 0, "VAT 7% relief on write-off"),
            ("tax", 571, 0, "VAT 19% relief on write-off"),
            ("write_off", 9009, 0, ""),
        ]
        assert verify() == {}

    def test_an_invoice_without_tax_writes_off_the_gross(self, customer, analyst):
        invoice = issued_invoice(
            customer, lines=[LineIn("Export", Decimal(1), Decimal("80.00"), Decimal("0"))]
        )

        case = written_off(invoice, analyst, "80.00")

        assert postings(case) == [("receivable", 0, 8000, ""), ("write_off", 8000, 0, "")]


class TestNoRelief:
    def test_a_seller_in_a_country_without_relief_writes_off_the_gross(self, other_entity, analyst, now):
        customer = customer_services.customer_create(
            entity=other_entity, data=customer_in("F-1000", country="FR", language="fr"), actor=None, now=now
        )
        invoice = one_line_invoice(customer)

        case = written_off(invoice, analyst, "119.00")

        assert postings(case) == [("receivable", 0, 11900, ""), ("write_off", 11900, 0, "")]
        resolved = AuditEvent.objects.get(object_type="dispute_case", action="disputes.case.resolved")
        assert "vat_relief" not in resolved.changes
        assert verify() == {}

    def test_the_setting_replaces_the_defaults(self, customer, analyst, settings):
        settings.O2C_WRITE_OFF_VAT_RELIEF = {"FR": 0}
        invoice = one_line_invoice(customer)

        case = written_off(invoice, analyst, "119.00")

        assert postings(case) == [("receivable", 0, 11900, ""), ("write_off", 11900, 0, "")]

    def test_relief_waits_for_the_months_after_the_later_of_due_and_issue_date(
        self, entity, customer, analyst, settings
    ):
        # as in the UK: six months after the due date (issued 2 March 2026, due 1 April 2026)
        settings.O2C_WRITE_OFF_VAT_RELIEF = {"DE": 6}
        invoice = one_line_invoice(customer)
        assert invoice.due_date == date(2026, 4, 1)

        early = written_off(invoice, analyst, "59.50", now=datetime(2026, 9, 30, 12, tzinfo=UTC))
        late = written_off(invoice, analyst, "59.50", now=datetime(2026, 10, 1, 12, tzinfo=UTC))

        assert postings(early) == [("receivable", 0, 5950, ""), ("write_off", 5950, 0, "")]
        assert postings(late) == [
            ("receivable", 0, 5950, ""),
            ("tax", 950, 0, "VAT 19% relief on write-off"),
            ("write_off", 5000, 0, ""),
        ]
        assert verify() == {}


class TestApproval:
    def test_a_write_off_above_the_threshold_posts_the_relief_when_it_is_approved(
        self, entity, customer, analyst
    ):
        manager = make_user("martin", "ar_manager", entities=[entity])
        services.write_off_policy_set(
            entity_id=entity.pk,
            currency="EUR",
            threshold=Decimal("50.00"),
            actor=manager,
            now=NOW,
            reason="t",
        )
        invoice = one_line_invoice(customer)

        case = written_off(invoice, analyst, "59.50")
        assert (case.state, case.pending, case.write_off_id) == ("open", "written_off", None)

        case = services.case_write_off_approve(case_id=case.pk, actor=manager, now=NOW, reason="ok")

        assert postings(case) == [
            ("receivable", 0, 5950, ""),
            ("tax", 950, 0, "VAT 19% relief on write-off"),
            ("write_off", 5000, 0, ""),
        ]
