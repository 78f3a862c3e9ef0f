"""Promises to pay judged kept or broken (docs/collections.md, "Promises to pay"): by the review a
dunning run starts with (or `o2c dunning promises`), and as soon as cash is applied; a broken promise
moves the customer a step up at the next run. The invoices are 100.00 EUR without tax, issued on
2 January 2026 and due on 1 February (NET30). The same tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.workbench import ApplyLine
from o2c.collections import services
from o2c.collections.errors import UnableToRecordPromise
from o2c.collections.models import DunningNoticeItem, PromiseToPay
from o2c.core.money import Money
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, issued_invoice
from tests.integration.reporting.history import at, received

pytestmark = pytest.mark.django_db

JAN_2 = date(2026, 1, 2)


def _invoice(customer: Customer, issue_date: date = JAN_2, amount: str = "100.00") -> Document:
    return issued_invoice(
        customer, issue_date=issue_date, lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))]
    )


def _promise(
    customer: Customer, documents: list[Document], amount: str, made_on: date, promised: date
) -> PromiseToPay:
    return services.promise_record(
        customer=customer,
        documents=documents,
        amount=Money(Decimal(amount), "EUR"),
        promised_date=promised,
        contact="Frau Keller",
        actor=None,
        now=NOW,
        made_on=made_on,
    )


def _paid(document: Document, minor: int, day: date) -> None:
    receivable_services.allocation_create(
        document_id=document.pk, kind="payment", amount_minor=minor, posting_date=day, actor=None, now=NOW
    )


def _review(entity: LegalEntity, day: date) -> list[tuple[str, str, date | None, int]]:
    review = services.promises_review(entity=entity, as_of=day, actor=None, now=NOW)
    return [
        (j.customer_number, j.verdict.state, j.verdict.judged_on, j.verdict.paid_minor) for j in review.judged
    ]


def _state(promise: PromiseToPay) -> tuple[str, date | None, int]:
    promise.refresh_from_db()
    return promise.state, promise.judged_on, promise.paid_minor


def _run(entity: LegalEntity, as_of: date) -> list[tuple[Any, ...]]:
    result = services.dunning_run(entity=entity, as_of=as_of, dry_run=False, actor=None, now=NOW)
    return [
        (n.customer_number, n.level, [(i.number, i.days_overdue, i.level) for i in n.items])
        for n in result.notices
    ]


class TestRecording:
    def test_a_promise_keeps_its_day_and_its_grace_of_three_days(self, customer: Customer) -> None:
        promise = _promise(customer, [_invoice(customer)], "100.00", date(2026, 2, 10), date(2026, 2, 20))

        assert (promise.made_on, promise.promised_date, promise.grace_until, promise.state) == (
            date(2026, 2, 10),
            date(2026, 2, 20),
            date(2026, 2, 23),
            "open",
        )

    def test_the_day_made_defaults_to_today_in_the_entitys_time_zone(self, customer: Customer) -> None:
        promise = services.promise_record(
            customer=customer,
            documents=[_invoice(customer)],
            amount=Money(Decimal("100.00"), "EUR"),
            promised_date=date(2026, 3, 20),
            contact="",
            actor=None,
            now=NOW,  # 16 March 2026, 09:30 UTC
        )
        assert promise.made_on == date(2026, 3, 16)

    def test_a_promise_for_a_day_already_past_is_refused(self, customer: Customer) -> None:
        with pytest.raises(UnableToRecordPromise) as refused:
            _promise(customer, [_invoice(customer)], "100.00", date(2026, 2, 10), date(2026, 2, 9))
        assert refused.value.code == "date_passed"
        assert not PromiseToPay.objects.exists()


class TestTheReview:
    def test_a_promise_is_kept_on_the_day_its_cash_adds_up_within_the_grace(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer)
        _paid(invoice, 4000, date(2026, 2, 9))  # before the promise was made: does not count
        promise = _promise(customer, [invoice], "60.00", date(2026, 2, 10), date(2026, 2, 20))
        _paid(invoice, 3000, date(2026, 2, 18))

        assert _review(entity, date(2026, 2, 21)) == []
        assert _state(promise) == ("open", None, 0)
        _paid(invoice, 3000, date(2026, 2, 22))  # the last 30.00, two days after the promised date

        assert _review(entity, date(2026, 2, 22)) == [("C-1000", "kept", date(2026, 2, 22), 6000)]
        assert _state(promise) == ("kept", date(2026, 2, 22), 6000)
        audit = AuditEvent.objects.get(action="collections.promise.kept")
        assert (audit.object_label, audit.changes["state"], audit.changes["paid"]) == (
            "C-1000",
            ["open", "kept"],
            [None, "60.00 EUR"],
        )
        assert _review(entity, date(2026, 2, 25)) == []

    def test_a_promise_is_broken_the_day_after_its_grace_without_the_cash(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer)
        other = _invoice(customer)
        promise = _promise(customer, [invoice, other], "150.00", date(2026, 2, 10), date(2026, 2, 20))
        _paid(invoice, 5000, date(2026, 2, 15))
        _paid(other, 9000, date(2026, 2, 24))  # a day too late

        assert _review(entity, date(2026, 2, 23)) == []
        assert _review(entity, date(2026, 2, 26)) == [("C-1000", "broken", date(2026, 2, 24), 5000)]
        assert _state(promise) == ("broken", date(2026, 2, 24), 5000)
        audit = AuditEvent.objects.get(action="collections.promise.broken")
        assert (audit.changes["judged_on"], audit.changes["promised_amount"]) == (
            [None, "2026-02-24"],
            [None, "150.00 EUR"],
        )

    def test_a_reversed_payment_does_not_keep_a_promise(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer)
        promise = _promise(customer, [invoice], "100.00", date(2026, 2, 10), date(2026, 2, 20))
        allocation = receivable_services.allocation_create(
            document_id=invoice.pk,
            kind="payment",
            amount_minor=6000,
            posting_date=date(2026, 2, 12),
            actor=None,
            now=NOW,
        )
        receivable_services.allocation_reverse(
            allocation_id=allocation.pk,
            posting_date=date(2026, 2, 13),
            reason="returned",
            actor=None,
            now=NOW,
        )
        _paid(invoice, 6000, date(2026, 2, 14))

        assert _review(entity, date(2026, 3, 1)) == [("C-1000", "broken", date(2026, 2, 24), 6000)]
        assert _state(promise)[0] == "broken"

    def test_the_command_judges_and_prints_the_judgements_as_json(
        self, entity: LegalEntity, customer: Customer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from django.core.management import call_command

        invoice = _invoice(customer)
        promise = _promise(customer, [invoice], "100.00", date(2026, 2, 10), date(2026, 2, 20))

        call_command("dunning", "promises", "--as-of", "2026-02-24", "--format", "json")

        assert capsys.readouterr().out == (
            "{\n"
            '  "as_of": "2026-02-24",\n'
            '  "promises": [\n'
            "    {\n"
            f'      "id": {promise.pk},\n'
            '      "customer_number": "C-1000",\n'
            '      "state": "broken",\n'
            '      "judged_on": "2026-02-24",\n'
            '      "amount": "100.00",\n'
            '      "paid": "0.00",\n'
            '      "currency": "EUR"\n'
            "    }\n"
            "  ],\n"
            '  "plans": []\n'
            "}\n"
        )


class TestKeptWhenCashIsApplied:
    def test_a_bank_file_that_pays_the_invoice_judges_the_promise_kept_at_once(
        self,
        entity: LegalEntity,
        customer: Customer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        invoice = _invoice(customer)
        promise = _promise(customer, [invoice], "100.00", date(2026, 2, 10), date(2026, 2, 20))
        statement = statement_xml(
            [
                Credit(
                    "100.00",
                    "S1-1",
                    name="Müller Maschinenbau GmbH",
                    iban="DE93500105170001111111",
                    text=f"Rechnung {invoice.number}",
                    day=date(2026, 2, 19),
                )
            ],
            statement_id="S1",
            message_id="S1",
        )

        with django_capture_on_commit_callbacks(execute=True):
            cash_services.bank_file_import(
                data=statement, file_name="S1.xml", entity=entity, actor=None, now=at(date(2026, 2, 19))
            )

        invoice.refresh_from_db()
        assert invoice.open_minor == 0
        assert _state(promise) == ("kept", date(2026, 2, 19), 10000)
        assert AuditEvent.objects.filter(action="collections.promise.kept").count() == 1

    def test_applying_part_of_a_payment_by_hand_keeps_a_promise_of_that_part(
        self,
        entity: LegalEntity,
        customer: Customer,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        invoice = _invoice(customer, amount="250.00")
        promise = _promise(customer, [invoice], "80.00", date(2026, 2, 10), date(2026, 2, 20))
        payment = received(entity, "80.00", "P1", date(2026, 2, 12), "Zahlstelle", "DE62500105170002222222")

        with django_capture_on_commit_callbacks(execute=True):
            workbench.payment_apply(
                payment_id=payment.pk,
                lines=[ApplyLine(invoice.pk, Decimal("80.00"))],
                actor=None,
                now=at(date(2026, 2, 12)),
            )

        assert _state(promise) == ("kept", date(2026, 2, 12), 8000)


class TestABrokenPromiseMovesTheCustomerAStepUp:
    def test_the_run_after_the_grace_sends_the_next_level_before_the_days_reach_it(
        self, entity: LegalEntity, customer: Customer, billing_user: User
    ) -> None:
        a = _invoice(customer)  # due 1 February
        b = _invoice(customer, date(2026, 1, 9))  # due 8 February
        assert _run(entity, date(2026, 2, 2)) == [("C-1000", 1, [(a.number, 1, 1)])]
        promise = _promise(customer, [a], "100.00", date(2026, 2, 3), date(2026, 2, 10))  # grace to the 13th

        sent = {day: _run(entity, day) for day in _days(date(2026, 2, 3), date(2026, 3, 5))}

        assert {day: notices for day, notices in sent.items() if notices} == {
            # B falls due in five days
            date(2026, 2, 3): [("C-1000", 0, [(b.number, -5, 0)])],
            # B past due, A under the promise: B's first notice alone
            date(2026, 2, 9): [("C-1000", 1, [(b.number, 1, 1)])],
            # the promise broke: the customer moves from level 1 to 2, 13 days past due (not yet 15)
            date(2026, 2, 14): [("C-1000", 2, [(a.number, 13, 2), (b.number, 6, 2)])],
            # A 30 days past due: the call, as usual
            date(2026, 3, 3): [("C-1000", 3, [(a.number, 30, 3), (b.number, 23, 2)])],
        }
        assert _state(promise) == ("broken", date(2026, 2, 14), 0)
        levels = dict(DunningNoticeItem.objects.values_list("document__number", "level").order_by("level"))
        assert levels == {a.number: 3, b.number: 2}

    def test_a_review_by_command_before_the_run_still_moves_the_customer_up_once(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        a = _invoice(customer)
        _run(entity, date(2026, 2, 2))
        _promise(customer, [a], "100.00", date(2026, 2, 3), date(2026, 2, 10))

        assert _review(entity, date(2026, 2, 14)) == [("C-1000", "broken", date(2026, 2, 14), 0)]
        assert _run(entity, date(2026, 2, 14)) == [("C-1000", 2, [(a.number, 13, 2)])]
        assert _run(entity, date(2026, 2, 15)) == []
        assert _run(entity, date(2026, 2, 16)) == []  # 15 days: level 2, reached already

    def test_at_the_last_step_the_customer_stays_there(self, entity: LegalEntity, customer: Customer) -> None:
        a = _invoice(customer)
        assert _run(entity, date(2026, 3, 20)) == [("C-1000", 4, [(a.number, 47, 4)])]
        _promise(customer, [a], "100.00", date(2026, 3, 21), date(2026, 3, 25))

        assert _run(entity, date(2026, 3, 29)) == [("C-1000", 4, [(a.number, 56, 4)])]
        assert _run(entity, date(2026, 3, 30)) == []

    def test_a_dry_run_shows_the_step_up_and_writes_nothing(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        a = _invoice(customer)
        _run(entity, date(2026, 2, 2))
        promise = _promise(customer, [a], "100.00", date(2026, 2, 3), date(2026, 2, 10))

        result = services.dunning_run(
            entity=entity, as_of=date(2026, 2, 14), dry_run=True, actor=None, now=NOW
        )

        assert [(n.level, [i.level for i in n.items]) for n in result.notices] == [(2, [2])]
        assert _state(promise) == ("open", None, 0)


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(day) for day in range(first.toordinal(), last.toordinal() + 1)]
