"""The dunning run (docs/collections.md): which customers get a notice or a pre-due reminder on a day, at
which level, through which channel, with which items; what is left out; a dry run and a second run on
the same day. The same tests run on SQLite and on PostgreSQL (`scripts/with-postgres`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.collections import services
from o2c.collections.errors import UnableToRecordPromise
from o2c.collections.models import (
    DunningNotice,
    DunningNoticeItem,
    DunningPlan,
    DunningStep,
    DunningTemplate,
)
from o2c.core.money import Money
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from tests.conftest import NOW, customer_in, issued_credit_memo, issued_invoice

pytestmark = pytest.mark.django_db

# NET30: issued on 2 January, due on 1 February 2026 (1,190.00 EUR with 19 % VAT)
JAN_2 = date(2026, 1, 2)


def _run(entity: LegalEntity, as_of: date, *, dry_run: bool = False) -> list[tuple[Any, ...]]:
    """(customer, level, language, channel, [(invoice, days overdue, open minor)]) of what a run sends."""
    result = services.dunning_run(entity=entity, as_of=as_of, dry_run=dry_run, actor=None, now=NOW)
    return [
        (
            notice.customer_number,
            notice.level,
            notice.language,
            notice.channel,
            [(item.number, item.days_overdue, item.open_minor) for item in notice.items],
        )
        for notice in result.notices
    ]


def _invoice(customer: Customer, issue_date: date, amount: str = "100.00") -> Document:
    return issued_invoice(
        customer, issue_date=issue_date, lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))]
    )


def _customer(entity: LegalEntity, number: str, **overrides: Any) -> Customer:
    return customer_services.customer_create(
        entity=entity, data=customer_in(number, **overrides), actor=None, now=NOW
    )


def _rows() -> tuple[int, int, int]:
    return (
        DunningNotice.objects.count(),
        DunningNoticeItem.objects.count(),
        AuditEvent.objects.filter(action="collections.notice.created").count(),
    )


class TestTheDefaultPlan:
    def test_a_fresh_database_has_a_default_plan_with_five_steps_in_four_languages(
        self, entity: LegalEntity
    ) -> None:
        plan = DunningPlan.objects.get(entity=entity, is_default=True)

        steps = list(
            DunningStep.objects.filter(plan=plan)
            .order_by("level")
            .values_list("level", "days", "channel", "tone")
        )
        assert steps == [
            (0, -5, "email", "friendly"),
            (1, 1, "email", "friendly"),
            (2, 15, "email", "firm"),
            (3, 30, "call_task", "firm"),
            (4, 45, "email", "final"),
        ]
        languages = {
            (level, language)
            for level, language in DunningTemplate.objects.filter(step__plan=plan).values_list(
                "step__level", "language"
            )
        }
        assert languages == {(level, language) for level in range(5) for language in ("en", "de", "fr", "es")}

    def test_an_entity_created_later_gets_the_standard_plan_at_its_first_run(
        self, other_entity: LegalEntity
    ) -> None:
        customer = _customer(other_entity, "F-1", language="fr")
        invoice = _invoice(customer, JAN_2)
        assert not DunningPlan.objects.filter(entity=other_entity).exists()

        dry = _run(other_entity, date(2026, 2, 2), dry_run=True)
        assert not DunningPlan.objects.filter(entity=other_entity).exists()

        assert (
            _run(other_entity, date(2026, 2, 2))
            == dry
            == [("F-1", 1, "fr", "email", [(invoice.number, 1, 10000)])]
        )
        plan = DunningPlan.objects.get(entity=other_entity, is_default=True)
        assert DunningTemplate.objects.filter(step__plan=plan).count() == 20


class TestWorkedScenario:
    def test_a_customer_moves_through_each_step_over_time(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        a = _invoice(customer, JAN_2)  # due 1 February
        b = _invoice(customer, date(2026, 1, 20), "50.00")  # due 19 February

        sent = {day: _run(entity, day) for day in _days(date(2026, 1, 25), date(2026, 4, 30))}

        assert {day: notices for day, notices in sent.items() if notices} == {
            # five days before A's due date: a friendly reminder of A alone
            date(2026, 1, 27): [("C-1000", 0, "de", "email", [(a.number, -5, 10000)])],
            # the day after: the first notice
            date(2026, 2, 2): [("C-1000", 1, "de", "email", [(a.number, 1, 10000)])],
            # five days before B's due date: B's reminder, on its own
            date(2026, 2, 14): [("C-1000", 0, "de", "email", [(b.number, -5, 5000)])],
            # A 15 days past due: the firm second notice (B is not due yet, so not on it)
            date(2026, 2, 16): [("C-1000", 2, "de", "email", [(a.number, 15, 10000)])],
            # B past due: a notice of both, at the higher level (A's)
            date(2026, 2, 20): [("C-1000", 2, "de", "email", [(a.number, 19, 10000), (b.number, 1, 5000)])],
            # A 30 days past due: a call for the collector
            date(2026, 3, 3): [
                ("C-1000", 3, "de", "call_task", [(a.number, 30, 10000), (b.number, 12, 5000)])
            ],
            # B 15 days past due: its second notice, with A still on it at its level
            date(2026, 3, 6): [
                ("C-1000", 3, "de", "call_task", [(a.number, 33, 10000), (b.number, 15, 5000)])
            ],
            # A 45 days past due: the final notice
            date(2026, 3, 18): [("C-1000", 4, "de", "email", [(a.number, 45, 10000), (b.number, 27, 5000)])],
            # B 30 days past due: a notice again, at A's final level
            date(2026, 3, 21): [("C-1000", 4, "de", "email", [(a.number, 48, 10000), (b.number, 30, 5000)])],
            # B 45 days past due: its own final level; then nothing more to escalate
            date(2026, 4, 5): [("C-1000", 4, "de", "email", [(a.number, 63, 10000), (b.number, 45, 5000)])],
        }
        levels = dict(DunningNoticeItem.objects.values_list("document__number", "level").order_by("level"))
        assert levels == {a.number: 4, b.number: 4}

    def test_an_item_first_dunned_late_goes_straight_to_the_level_its_days_reach(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer, JAN_2)

        assert _run(entity, date(2026, 3, 13)) == [
            ("C-1000", 3, "de", "call_task", [(invoice.number, 40, 10000)])
        ]
        assert _run(entity, date(2026, 3, 14)) == []


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(day) for day in range(first.toordinal(), last.toordinal() + 1)]


class TestRunningTwice:
    def test_a_dry_run_writes_nothing_and_returns_what_a_run_would_send(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer, JAN_2)
        before = _rows()

        dry = _run(entity, date(2026, 2, 20), dry_run=True)

        assert dry == [("C-1000", 2, "de", "email", [(invoice.number, 19, 10000)])]
        assert _rows() == before == (0, 0, 0)
        assert _run(entity, date(2026, 2, 20)) == dry
        assert _rows() == (1, 1, 1)

    def test_a_second_run_on_the_same_day_sends_nothing(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        _invoice(customer, JAN_2)
        _invoice(customer, date(2026, 1, 25))  # due 24 February: reminded on the 20th
        first = _run(entity, date(2026, 2, 20))
        assert [notice[1] for notice in first] == [0, 2]
        rows = _rows()

        assert _run(entity, date(2026, 2, 20)) == []
        assert _run(entity, date(2026, 2, 20), dry_run=True) == []
        assert _rows() == rows == (2, 2, 2)

    def test_an_item_due_after_the_days_notice_waits_for_the_next_day(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        first = _invoice(customer, JAN_2)
        _run(entity, date(2026, 2, 2))
        late = _invoice(customer, date(2025, 12, 15))  # issued late, already past due

        assert _run(entity, date(2026, 2, 2)) == []
        assert _run(entity, date(2026, 2, 3)) == [
            ("C-1000", 2, "de", "email", [(late.number, 20, 10000), (first.number, 2, 10000)])
        ]


class TestWhatIsLeftOut:
    def test_disputed_items_are_left_out_and_alone_send_nothing(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        disputed = _invoice(customer, JAN_2)
        receivable_services.disputed_flag_set(
            document_id=disputed.pk, is_disputed=True, reason="price", actor=None, now=NOW
        )
        assert _run(entity, date(2026, 2, 20)) == []

        other = _invoice(customer, date(2026, 1, 10))  # due 9 February
        assert _run(entity, date(2026, 2, 21)) == [("C-1000", 1, "de", "email", [(other.number, 12, 10000)])]
        receivable_services.disputed_flag_set(
            document_id=disputed.pk, is_disputed=False, reason="settled", actor=None, now=NOW
        )
        assert _run(entity, date(2026, 2, 22)) == [
            ("C-1000", 2, "de", "email", [(disputed.number, 21, 10000), (other.number, 13, 10000)])
        ]

    def test_items_under_an_open_promise_are_left_out_until_its_date_and_grace_have_passed(
        self, entity: LegalEntity, customer: Customer, billing_user: User
    ) -> None:
        promised = _invoice(customer, JAN_2)
        other = _invoice(customer, date(2026, 1, 10))
        services.promise_record(
            customer=customer,
            documents=[promised],
            amount=Money(Decimal("100.00"), "EUR"),
            promised_date=date(2026, 2, 25),
            contact="Frau Keller",
            actor=billing_user,
            now=NOW,
            made_on=date(2026, 2, 15),
        )

        assert _run(entity, date(2026, 2, 20)) == [("C-1000", 1, "de", "email", [(other.number, 11, 10000)])]
        # the promised day plus three days' grace: the other item escalates without it
        assert _run(entity, date(2026, 2, 28)) == [("C-1000", 2, "de", "email", [(other.number, 19, 10000)])]
        # the promise is broken: the customer moves a step up, from level 2 to 3 (the call)
        assert _run(entity, date(2026, 3, 1)) == [
            ("C-1000", 3, "de", "call_task", [(promised.number, 28, 10000), (other.number, 20, 10000)])
        ]
        assert _run(entity, date(2026, 3, 2)) == []
        audit = AuditEvent.objects.get(action="collections.promise.recorded")
        assert (audit.actor, audit.object_label, audit.changes["promised_date"]) == (
            billing_user,
            "C-1000",
            [None, "2026-02-25"],
        )

    def test_a_promise_covers_documents_of_its_customer_in_its_currency(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(_customer(entity, "C-2000"), JAN_2)
        with pytest.raises(UnableToRecordPromise) as refused:
            services.promise_record(
                customer=customer,
                documents=[invoice],
                amount=Money(Decimal("100.00"), "EUR"),
                promised_date=date(2026, 2, 28),
                contact="",
                actor=None,
                now=NOW,
            )
        assert refused.value.code == "other_customer"
        assert not AuditEvent.objects.filter(action="collections.promise.recorded").exists()

    def test_credit_memos_paid_invoices_and_items_not_yet_issued_are_not_dunned(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        invoice = _invoice(customer, JAN_2, "300.00")
        issued_credit_memo(invoice, amount=Decimal("100.00"), issue_date=date(2026, 1, 5))
        paid = _invoice(customer, JAN_2)
        receivable_services.allocation_create(
            document_id=paid.pk,
            kind="payment",
            amount_minor=10000,
            posting_date=date(2026, 1, 30),
            actor=None,
            now=NOW,
        )
        _invoice(customer, date(2026, 2, 25))  # issued after the run's day

        assert _run(entity, date(2026, 2, 20)) == [
            ("C-1000", 2, "de", "email", [(invoice.number, 19, 20000)])
        ]


class TestWhoGetsWhat:
    def test_a_notice_goes_to_the_customer_that_owes_the_items_in_its_language(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        child = _customer(entity, "C-1001", language="fr", parent_number="C-1000", email="ap@fr.example")
        italian = _customer(entity, "C-3000", language="it")
        spanish = _customer(entity, "C-4000", language="es")
        own = _invoice(child, JAN_2)
        _invoice(italian, JAN_2)
        _invoice(spanish, JAN_2)

        result = services.dunning_run(
            entity=entity, as_of=date(2026, 2, 2), dry_run=False, actor=None, now=NOW
        )

        assert [(n.customer_number, n.language, n.recipient) for n in result.notices] == [
            ("C-1001", "fr", "ap@fr.example"),
            ("C-3000", "en", "ap@mueller.example"),
            ("C-4000", "es", "ap@mueller.example"),
        ]
        notice = DunningNotice.objects.get(customer=child)
        assert (notice.level, notice.language, notice.channel, notice.tone, notice.status) == (
            1,
            "fr",
            "email",
            "friendly",
            "pending",
        )
        assert list(notice.items.values_list("document_id", "days_overdue", "open_minor", "currency")) == [
            (own.pk, 1, 10000, "EUR")
        ]

    def test_a_customer_in_a_plans_segment_follows_that_plan(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        swiss = _customer(entity, "C-5000", country="CH")
        plan = DunningPlan.objects.create(
            entity=entity, name="Switzerland", priority=10, countries="CH LI", created_at=NOW
        )
        DunningStep.objects.create(plan=plan, level=1, days=10, channel="letter", tone="firm")
        _invoice(customer, JAN_2)
        _invoice(swiss, JAN_2)

        assert [(n[0], n[1], n[3]) for n in _run(entity, date(2026, 2, 5))] == [("C-1000", 1, "email")]
        assert [(n[0], n[1], n[3]) for n in _run(entity, date(2026, 2, 11))] == [("C-5000", 1, "letter")]

    def test_a_plan_for_the_riskiest_classes_takes_the_customers_credit_scored_so(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        risky = _customer(entity, "C-7000")
        Customer.objects.filter(pk=risky.pk).update(risk_class="E")  # as credit scoring sets it
        Customer.objects.filter(pk=customer.pk).update(risk_class="B")
        plan = DunningPlan.objects.create(
            entity=entity, name="High risk", priority=10, risk_classes="D E", created_at=NOW
        )
        DunningStep.objects.create(plan=plan, level=1, days=1, channel="call_task", tone="firm")
        unscored = _customer(entity, "C-7100")  # not scored: in no class's segment
        _invoice(customer, JAN_2)
        _invoice(risky, JAN_2)
        _invoice(unscored, JAN_2)

        assert [(n[0], n[1], n[3]) for n in _run(entity, date(2026, 2, 2))] == [
            ("C-1000", 1, "email"),
            ("C-7000", 1, "call_task"),
            ("C-7100", 1, "email"),
        ]

    def test_a_plan_for_customer_types_takes_the_customers_of_those_types(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        public = _customer(entity, "C-7200")
        Customer.objects.filter(pk=public.pk).update(customer_type="public_sector")
        Customer.objects.filter(pk=customer.pk).update(customer_type="sme")
        plan = DunningPlan.objects.create(
            entity=entity,
            name="Public sector",
            priority=10,
            customer_types="key_account public_sector",
            created_at=NOW,
        )
        DunningStep.objects.create(plan=plan, level=1, days=1, channel="letter", tone="friendly")
        untyped = _customer(entity, "C-7300")  # no type: in no type's segment
        for owner in (customer, public, untyped):
            _invoice(owner, JAN_2)

        assert [(n[0], n[1], n[3]) for n in _run(entity, date(2026, 2, 2))] == [
            ("C-1000", 1, "email"),
            ("C-7200", 1, "letter"),
            ("C-7300", 1, "email"),
        ]

    def test_a_plan_with_a_minimum_balance_takes_the_customers_that_owe_that_much(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        large = _customer(entity, "C-6000")
        plan = DunningPlan.objects.create(
            entity=entity, name="Key accounts", min_open_minor=100000, currency="EUR", created_at=NOW
        )
        DunningStep.objects.create(plan=plan, level=1, days=20, channel="call_task", tone="friendly")
        _invoice(customer, JAN_2, "999.99")
        _invoice(large, JAN_2, "600.00")
        _invoice(large, date(2026, 3, 1), "400.00")  # not due yet, but open: counts for the segment

        assert [(n[0], n[3]) for n in _run(entity, date(2026, 2, 21))] == [
            ("C-1000", "email"),
            ("C-6000", "call_task"),
        ]

    def test_a_notice_goes_to_the_billing_contacts_where_the_customer_has_them(
        self, entity: LegalEntity, customer: Customer
    ) -> None:
        for name, email, is_billing in (
            ("Petra", "petra@mueller.example", True),
            ("Sales", "sales@mueller.example", False),
            ("Jan", "jan@mueller.example", True),
        ):
            customer_services.contact_add(
                customer_id=customer.pk,
                name=name,
                email=email,
                phone="",
                role="AP",
                is_billing=is_billing,
                actor=None,
                now=NOW,
            )
        _invoice(customer, JAN_2)

        services.dunning_run(entity=entity, as_of=date(2026, 2, 2), dry_run=False, actor=None, now=NOW)

        assert DunningNotice.objects.get().recipient == "petra@mueller.example, jan@mueller.example"
