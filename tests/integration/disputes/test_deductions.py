"""Deductions from cash application: a short pay with a deduction opens one deduction case through the
event `cash.deduction_taken`, however often the event arrives, with the customer's own code mapped."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from o2c.cash import services as cash_services
from o2c.cash.models import Payment
from o2c.core import checks, events
from o2c.core.models import DomainEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.disputes import selectors, services, tasks
from o2c.disputes.models import Case
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.models import Allocation, Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, customer_in, issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # the event's handler reads the clock


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)  # 1,190.00 EUR


def _import(entity: LegalEntity, text: str, amount: str, capture) -> None:
    with capture(execute=True):
        cash_services.bank_file_import(
            data=statement_xml([Credit(amount, "R1", text=text)]),
            file_name="statement.xml",
            entity=entity,
            actor=None,
            now=NOW,
        )


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


class TestDeductionCases:
    def test_a_short_pay_opens_one_deduction_case_with_the_customers_code_mapped(
        self, entity, invoice, django_capture_on_commit_callbacks
    ):
        services.reason_mapping_set(
            entity_id=entity.pk, customer_code="dmg-01", reason_code="damaged_goods", actor=None, now=NOW
        )

        _import(
            entity,
            f"{invoice.number} less DMG-01 damaged goods",
            "1000.00",
            django_capture_on_commit_callbacks,
        )

        case = Case.objects.get()
        payment = Payment.objects.get()
        allocation = Allocation.objects.get(document=invoice, kind="payment")
        assert (case.kind, case.state, case.amount_minor, case.currency) == (
            "deduction",
            "open",
            19000,
            "EUR",
        )
        assert (case.reason_code, case.customer_reason_code, case.team) == (
            "damaged_goods",
            f"{invoice.number} less DMG-01 damaged goods",
            "logistics",
        )
        assert (case.payment_id, case.allocation_id, case.document_id) == (
            payment.pk,
            allocation.pk,
            invoice.pk,
        )
        assert (case.opened_on, case.due_date, case.created_by_id) == (
            date(2026, 3, 16),
            date(2026, 3, 30),
            None,
        )
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (19000, True)
        assert DomainEvent.objects.get(name="cash.deduction_taken").is_processed is True
        assert _verify() == []

    def test_the_same_event_twice_opens_one_case(self, entity, invoice, django_capture_on_commit_callbacks):
        _import(entity, f"{invoice.number} less damaged goods", "1000.00", django_capture_on_commit_callbacks)
        event = DomainEvent.objects.get(name="cash.deduction_taken")

        events.dispatch(event.pk)
        tasks.on_deduction_taken(**event.payload)

        assert Case.objects.count() == 1
        assert Case.objects.get().reason_code == "other"  # no mapping

    def test_a_customers_own_mapping_wins_over_the_entitys(self, entity, customer):
        stranger = customer_services.customer_create(
            entity=entity, data=customer_in("C-2000"), actor=None, now=NOW
        )
        services.reason_mapping_set(
            entity_id=entity.pk, customer_code="X1", reason_code="pricing", actor=None, now=NOW
        )
        services.reason_mapping_set(
            entity_id=entity.pk,
            customer_id=customer.pk,
            customer_code="X1",
            reason_code="promotion",
            actor=None,
            now=NOW,
        )

        def reason(customer_id: int, text: str) -> str | None:
            return selectors.reason_for_customer_code(entity_id=entity.pk, customer_id=customer_id, text=text)

        assert (reason(customer.pk, "x1"), reason(stranger.pk, "ref X1"), reason(stranger.pk, "none")) == (
            "promotion",
            "pricing",
            None,
        )

    def test_a_deduction_settled_before_its_event_is_handled_opens_no_case_and_the_payment_stands(
        self, entity, invoice, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False):
            cash_services.bank_file_import(
                data=statement_xml([Credit("1000.00", "R1", text=f"{invoice.number} less damaged goods")]),
                file_name="statement.xml",
                entity=entity,
                actor=None,
                now=NOW,
            )
        receivable_services.allocation_create(
            document_id=invoice.pk,
            kind="write_off",
            amount_minor=19000,
            posting_date=NOW.date(),
            actor=None,
            now=NOW,
        )
        event = DomainEvent.objects.get(name="cash.deduction_taken")

        tasks.on_deduction_taken(**event.payload)  # 190.00 is no longer open: refused and logged

        assert Case.objects.count() == 0
        invoice.refresh_from_db()
        assert (invoice.open_minor, invoice.is_disputed) == (0, False)

    def test_a_deduction_case_resolved_by_credit_memo_settles_the_invoice(
        self, entity, invoice, django_capture_on_commit_callbacks
    ):
        _import(entity, f"{invoice.number} less damaged goods", "1000.00", django_capture_on_commit_callbacks)
        case = Case.objects.get()

        case = services.case_resolve_credit(
            case_id=case.pk, root_cause="damaged_goods", resolution="photos show damage", actor=None, now=NOW
        )

        invoice.refresh_from_db()
        assert case.credit_memo is not None
        assert (case.credit_memo.total_minor, case.credit_memo.net_minor) == (-19000, -15966)
        assert (invoice.open_minor, invoice.settlement, invoice.is_disputed) == (0, "paid", False)
        assert (case.state, Decimal(case.amount_minor)) == ("resolved_credit", Decimal(19000))
        assert _verify() == []
