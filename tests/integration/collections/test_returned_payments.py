"""A payment that comes back from the bank undoes what it kept: the promise to pay it kept is open again
while its window runs (broken once the grace has passed), and the payment plan it completed is active
again (defaulted once an instalment's grace has passed meanwhile). Cash that stays still counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash.models import Payment
from o2c.cash.returns import payment_return
from o2c.collections import plans, selectors, services
from o2c.collections.models import PaymentPlan, PromiseToPay
from o2c.collections.plans import InstalmentIn
from o2c.core.money import Money
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice, make_user

pytestmark = pytest.mark.django_db

JAN_2 = date(2026, 1, 2)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


def _invoice(customer: Customer, amount: str) -> Document:
    return issued_invoice(
        customer, issue_date=JAN_2, lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))]
    )


def _pay(
    entity: LegalEntity, invoice: Document, amount: str, day: date, reference: str, hooks: Any
) -> Payment:
    """A payment naming the invoice, placed and applied at import (which tells collections)."""
    statement = statement_xml(
        [
            Credit(
                amount, reference, name="Müller Maschinenbau GmbH", text=f"Rechnung {invoice.number}", day=day
            )
        ],
        statement_id=reference,
        message_id=reference,
    )
    with hooks(execute=True):
        cash_services.bank_file_import(
            data=statement, file_name=f"{reference}.xml", entity=entity, actor=None, now=at(day)
        )
    return Payment.objects.get(entry_reference=reference)


def _return(entity: LegalEntity, payment: Payment, day: date, hooks: Any) -> None:
    with hooks(execute=True), transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        payment_return(
            payment=locked,
            reason="AC04",
            day=day,
            bank_reference=f"RET-{payment.pk}",
            entity=entity,
            actor=None,
            now=at(day),
        )


def _promise(
    customer: Customer, invoice: Document, amount: str, made_on: date, promised: date
) -> PromiseToPay:
    return services.promise_record(
        customer=customer,
        documents=[invoice],
        amount=Money(Decimal(amount), "EUR"),
        promised_date=promised,
        contact="Frau Keller",
        actor=None,
        now=NOW,
        made_on=made_on,
    )


def _state(promise: PromiseToPay) -> tuple[str, date | None, int]:
    promise.refresh_from_db()
    return promise.state, promise.judged_on, promise.paid_minor


class TestAReturnedPaymentAndThePromiseItKept:
    def test_within_the_window_the_promise_is_open_again_and_its_items_leave_dunning_again(
        self, entity: LegalEntity, customer: Customer, django_capture_on_commit_callbacks: Any
    ) -> None:
        invoice = _invoice(customer, "100.00")
        promise = _promise(customer, invoice, "100.00", date(2026, 2, 10), date(2026, 2, 20))
        payment = _pay(entity, invoice, "100.00", date(2026, 2, 12), "P1", django_capture_on_commit_callbacks)
        assert _state(promise) == ("kept", date(2026, 2, 12), 10000)

        _return(entity, payment, date(2026, 2, 16), django_capture_on_commit_callbacks)

        assert _state(promise) == ("open", None, 0)
        audit = AuditEvent.objects.get(action="collections.promise.reopened")
        assert (audit.object_label, audit.changes["state"]) == ("C-1000", ["kept", "open"])
        run = services.dunning_run(entity=entity, as_of=date(2026, 2, 18), dry_run=True, actor=None, now=NOW)
        assert run.notices == []  # promised again: left out through the grace
        # paid again within the window: kept on that day, on the new cash only
        _pay(entity, invoice, "100.00", date(2026, 2, 19), "P2", django_capture_on_commit_callbacks)
        assert _state(promise) == ("kept", date(2026, 2, 19), 10000)

    def test_after_the_grace_the_promise_is_broken_on_the_day_the_cash_came_back(
        self, entity: LegalEntity, customer: Customer, django_capture_on_commit_callbacks: Any
    ) -> None:
        invoice = _invoice(customer, "100.00")
        promise = _promise(customer, invoice, "100.00", date(2026, 2, 10), date(2026, 2, 20))
        payment = _pay(entity, invoice, "100.00", date(2026, 2, 19), "P1", django_capture_on_commit_callbacks)

        _return(entity, payment, date(2026, 3, 2), django_capture_on_commit_callbacks)

        assert _state(promise) == ("broken", date(2026, 3, 2), 0)
        # the review judges it no more, and the customer's next notice steps up
        review = services.promises_review(entity=entity, as_of=date(2026, 3, 3), actor=None, now=NOW)
        assert review.judged == []
        assert selectors.customers_stepped_up(entity_id=entity.pk, as_of=date(2026, 3, 3)) == {customer.pk}

    def test_cash_that_stays_still_keeps_the_promise(
        self, entity: LegalEntity, customer: Customer, django_capture_on_commit_callbacks: Any
    ) -> None:
        invoice = _invoice(customer, "300.00")
        promise = _promise(customer, invoice, "100.00", date(2026, 2, 10), date(2026, 2, 20))
        first = _pay(entity, invoice, "100.00", date(2026, 2, 12), "P1", django_capture_on_commit_callbacks)
        _pay(entity, invoice, "150.00", date(2026, 2, 13), "P2", django_capture_on_commit_callbacks)

        _return(entity, first, date(2026, 2, 16), django_capture_on_commit_callbacks)

        assert _state(promise) == ("kept", date(2026, 2, 12), 10000)
        assert not AuditEvent.objects.filter(action="collections.promise.reopened").exists()


class TestAReturnedPaymentAndThePlanItCompleted:
    @pytest.fixture
    def plan(self, entity: LegalEntity, customer: Customer) -> tuple[PaymentPlan, Document]:
        invoice = _invoice(customer, "200.00")
        collector = make_user("carla", "collector", entities=[entity])
        manager = make_user("martin", "ar_manager", entities=[entity])
        plan = plans.payment_plan_propose(
            customer=customer,
            documents=[invoice],
            instalments=[
                InstalmentIn(date(2026, 3, 1), Money(Decimal("100.00"), "EUR")),
                InstalmentIn(date(2026, 4, 1), Money(Decimal("100.00"), "EUR")),
            ],
            actor=collector,
            now=at(date(2026, 2, 10)),
        )
        plans.payment_plan_approve(plan_id=plan.pk, actor=manager, now=at(date(2026, 2, 10)))
        return plan, invoice

    def _state(self, plan: PaymentPlan) -> tuple[str, date | None, int]:
        plan.refresh_from_db()
        return plan.state, plan.judged_on, plan.paid_minor

    def test_the_plan_is_active_again_when_no_instalment_is_past_its_grace(
        self,
        entity: LegalEntity,
        plan: tuple[PaymentPlan, Document],
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        payment_plan, invoice = plan
        _pay(entity, invoice, "100.00", date(2026, 2, 27), "P1", django_capture_on_commit_callbacks)
        second = _pay(entity, invoice, "100.00", date(2026, 3, 5), "P2", django_capture_on_commit_callbacks)
        services.promises_review(entity=entity, as_of=date(2026, 3, 6), actor=None, now=NOW)
        assert self._state(payment_plan) == ("completed", date(2026, 3, 5), 20000)

        _return(entity, second, date(2026, 3, 9), django_capture_on_commit_callbacks)

        assert self._state(payment_plan) == ("active", None, 0)
        audit = AuditEvent.objects.get(action="collections.payment_plan.reopened")
        assert audit.changes["state"] == ["completed", "active"]
        # the second instalment (1 April, grace to 11 April) still unpaid on the 12th: defaulted then
        review = services.promises_review(entity=entity, as_of=date(2026, 4, 12), actor=None, now=NOW)
        assert [(p.state, p.judged_on, p.paid_minor) for p in review.plans] == [
            ("defaulted", date(2026, 4, 12), 10000)
        ]

    def test_the_plan_is_defaulted_when_an_instalments_grace_passed_meanwhile(
        self,
        entity: LegalEntity,
        plan: tuple[PaymentPlan, Document],
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        payment_plan, invoice = plan
        whole = _pay(entity, invoice, "200.00", date(2026, 2, 27), "P1", django_capture_on_commit_callbacks)
        services.promises_review(entity=entity, as_of=date(2026, 2, 28), actor=None, now=NOW)
        assert self._state(payment_plan) == ("completed", date(2026, 2, 27), 20000)

        _return(entity, whole, date(2026, 3, 20), django_capture_on_commit_callbacks)

        assert self._state(payment_plan) == ("defaulted", date(2026, 3, 20), 0)
        assert AuditEvent.objects.filter(action="collections.payment_plan.defaulted").count() == 1
