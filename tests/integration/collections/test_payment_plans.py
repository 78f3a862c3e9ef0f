"""Payment plans (docs/collections.md, "Payment plans"): proposed by a collector, approved or rejected by
a second person with the AR manager's role, active from the next review, completed or defaulted on the
cash applied to their documents; their documents are left out of dunning until a default sends them
back a step up. Invoices without tax, issued on 2 January 2026, due on 1 February. The same tests run on
SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from o2c.audit.models import AuditEvent
from o2c.collections import plans, services
from o2c.collections.errors import UnableToDecidePlan, UnableToProposePlan
from o2c.collections.models import PaymentPlan, PlanInstalment
from o2c.collections.plans import InstalmentIn
from o2c.core.money import Money
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import roles
from tests.conftest import NOW, issued_invoice, make_user

pytestmark = pytest.mark.django_db

JAN_2 = date(2026, 1, 2)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


@pytest.fixture
def collector(entity: LegalEntity) -> User:
    return make_user("carla", "collector", entities=[entity])


@pytest.fixture
def manager(entity: LegalEntity) -> User:
    return make_user("martin", "ar_manager", entities=[entity])


def _invoice(customer: Customer, amount: str = "300.00") -> Document:
    return issued_invoice(
        customer, issue_date=JAN_2, lines=[LineIn("Service", Decimal(1), Decimal(amount), Decimal(0))]
    )


def _propose(
    customer: Customer,
    documents: list[Document],
    parts: list[tuple[date, str]],
    actor: User,
    day: date = JAN_2,
) -> PaymentPlan:
    return plans.payment_plan_propose(
        customer=customer,
        documents=documents,
        instalments=[InstalmentIn(due, Money(Decimal(amount), "EUR")) for due, amount in parts],
        actor=actor,
        now=at(day),
    )


def _paid(document: Document, minor: int, day: date) -> None:
    receivable_services.allocation_create(
        document_id=document.pk, kind="payment", amount_minor=minor, posting_date=day, actor=None, now=NOW
    )


def _state(plan: PaymentPlan) -> tuple[str, date | None, date | None, int]:
    plan.refresh_from_db()
    return plan.state, plan.activated_on, plan.judged_on, plan.paid_minor


def _run(entity: LegalEntity, as_of: date) -> list[tuple[Any, ...]]:
    result = services.dunning_run(entity=entity, as_of=as_of, dry_run=False, actor=None, now=at(as_of))
    return [
        (
            n.customer_number,
            n.level,
            n.channel,
            [(i.number, i.days_overdue, i.open_minor, i.level) for i in n.items],
        )
        for n in result.notices
    ]


THREE = [(date(2026, 3, 1), "100.00"), (date(2026, 4, 1), "100.00"), (date(2026, 5, 1), "100.00")]


class TestProposing:
    def test_a_collector_proposes_a_plan_whose_instalments_make_its_total(
        self, customer: Customer, collector: User
    ) -> None:
        invoice = _invoice(customer)

        plan = _propose(customer, [invoice], list(reversed(THREE)), collector)

        assert (plan.state, plan.total_minor, plan.currency, plan.grace_days, plan.proposed_by) == (
            "proposed",
            30000,
            "EUR",
            10,
            collector,
        )
        assert list(
            PlanInstalment.objects.filter(plan=plan)
            .order_by("due_date")
            .values_list("due_date", "amount_minor")
        ) == [
            (date(2026, 3, 1), 10000),
            (date(2026, 4, 1), 10000),
            (date(2026, 5, 1), 10000),
        ]
        audit = AuditEvent.objects.get(action="collections.payment_plan.proposed")
        assert (audit.actor, audit.object_label, audit.changes["total"], audit.changes["instalments"]) == (
            collector,
            "C-1000",
            [None, "300.00 EUR"],
            [None, "2026-03-01 100.00 EUR, 2026-04-01 100.00 EUR, 2026-05-01 100.00 EUR"],
        )

    @pytest.mark.parametrize(
        ("parts", "code"),
        [
            ([(date(2026, 3, 1), "200.00"), (date(2026, 4, 1), "100.01")], "exceeds_open_amount"),
            ([(date(2026, 3, 1), "100.00"), (date(2026, 3, 1), "100.00")], "duplicate_due_date"),
            ([(date(2026, 3, 1), "0.00")], "amount_not_positive"),
            ([], "no_instalments"),
        ],
    )
    def test_a_plan_that_does_not_add_up_is_refused_and_nothing_is_written(
        self, customer: Customer, collector: User, parts: list[tuple[date, str]], code: str
    ) -> None:
        invoice = _invoice(customer)
        with pytest.raises(UnableToProposePlan) as refused:
            _propose(customer, [invoice], parts, collector)
        assert refused.value.code == code
        assert (
            PaymentPlan.objects.count(),
            AuditEvent.objects.filter(action__startswith="collections.").count(),
        ) == (
            0,
            0,
        )

    def test_a_document_is_in_one_running_plan_at_a_time(
        self, customer: Customer, collector: User, manager: User
    ) -> None:
        invoice = _invoice(customer)
        first = _propose(customer, [invoice], THREE[:1], collector)
        with pytest.raises(UnableToProposePlan) as refused:
            _propose(customer, [invoice], THREE[1:2], collector)
        assert refused.value.code == "already_in_plan"

        plans.payment_plan_reject(plan_id=first.pk, actor=manager, now=NOW, reason="too long")
        assert _propose(customer, [invoice], THREE[1:2], collector).state == "proposed"


class TestDeciding:
    def test_a_second_person_with_the_managers_role_approves(
        self, customer: Customer, collector: User, manager: User
    ) -> None:
        plan = _propose(customer, [_invoice(customer)], THREE, collector)
        other_collector = make_user("colin", "collector")

        for who, code in ((other_collector, "approver_required"), (None, "approver_required")):
            with pytest.raises(UnableToDecidePlan) as refused:
                plans.payment_plan_approve(plan_id=plan.pk, actor=who, now=NOW)
            assert refused.value.code == code
        approved = plans.payment_plan_approve(
            plan_id=plan.pk, actor=manager, now=at(date(2026, 2, 10)), reason="ok"
        )

        assert (approved.state, approved.approved_on, approved.decided_by, approved.decision_reason) == (
            "approved",
            date(2026, 2, 10),
            manager,
            "ok",
        )
        assert AuditEvent.objects.get(action="collections.payment_plan.approved").changes["state"] == [
            "proposed",
            "approved",
        ]
        with pytest.raises(UnableToDecidePlan) as again:
            plans.payment_plan_reject(plan_id=plan.pk, actor=manager, now=NOW, reason="no")
        assert again.value.code == "not_pending"

    def test_who_proposed_a_plan_cannot_approve_it(self, customer: Customer, manager: User) -> None:
        plan = _propose(customer, [_invoice(customer)], THREE, manager)
        with pytest.raises(UnableToDecidePlan) as refused:
            plans.payment_plan_approve(plan_id=plan.pk, actor=manager, now=NOW)
        assert refused.value.code == "same_person"
        assert _state(plan) == ("proposed", None, None, 0)

    def test_a_rejection_says_why_and_puts_the_documents_back_into_dunning(
        self, entity: LegalEntity, customer: Customer, collector: User, manager: User
    ) -> None:
        invoice = _invoice(customer)
        plan = _propose(customer, [invoice], THREE, collector)
        assert _run(entity, date(2026, 2, 2)) == []
        with pytest.raises(UnableToDecidePlan) as refused:
            plans.payment_plan_reject(plan_id=plan.pk, actor=manager, now=NOW, reason=" ")
        assert refused.value.code == "reason_required"

        plans.payment_plan_reject(plan_id=plan.pk, actor=manager, now=NOW, reason="instalments too far out")

        assert _state(plan)[0] == "rejected"
        assert _run(entity, date(2026, 2, 3)) == [("C-1000", 1, "email", [(invoice.number, 2, 30000, 1)])]

    def test_the_approvers_are_the_roles_that_approve_credits(self) -> None:
        assert plans.APPROVE_PLANS == roles.APPROVE_CREDITS


class TestWorkedScenario:
    def test_a_plan_defaults_and_its_items_are_dunned_again_a_step_up(
        self, entity: LegalEntity, customer: Customer, collector: User, manager: User
    ) -> None:
        invoice = _invoice(customer)  # 300.00, due 1 February
        plan = None
        sent = {}
        for day in _days(date(2026, 2, 2), date(2026, 3, 10)):
            sent[day] = _run(entity, day)
            if day == date(2026, 2, 16):
                # after the second notice: 100.00 on 17 February, 25 February and 5 March
                plan = _propose(
                    customer,
                    [invoice],
                    [
                        (date(2026, 2, 17), "100.00"),
                        (date(2026, 2, 25), "100.00"),
                        (date(2026, 3, 5), "100.00"),
                    ],
                    collector,
                    day,
                )
                plans.payment_plan_approve(plan_id=plan.pk, actor=manager, now=at(day))
            if day == date(2026, 2, 20):
                _paid(invoice, 5000, day)  # half the first instalment
            if day == date(2026, 2, 17):
                assert plan is not None and _state(plan) == ("active", date(2026, 2, 17), None, 0)

        assert {day: notices for day, notices in sent.items() if notices} == {
            date(2026, 2, 2): [("C-1000", 1, "email", [(invoice.number, 1, 30000, 1)])],
            date(2026, 2, 16): [("C-1000", 2, "email", [(invoice.number, 15, 30000, 2)])],
            # the first instalment more than 10 days short (17 + 10 = 27 February): the plan defaulted,
            # and the customer moves from level 2 to the call, 27 days past due (not yet 30)
            date(2026, 2, 28): [("C-1000", 3, "call_task", [(invoice.number, 27, 25000, 3)])],
        }
        assert plan is not None and _state(plan) == ("defaulted", date(2026, 2, 17), date(2026, 2, 28), 5000)
        assert list(
            AuditEvent.objects.filter(action__startswith="collections.payment_plan.")
            .order_by("pk")
            .values_list("action", flat=True)
        ) == [
            "collections.payment_plan.proposed",
            "collections.payment_plan.approved",
            "collections.payment_plan.activated",
            "collections.payment_plan.defaulted",
        ]

    def test_a_plan_is_completed_when_the_cash_covers_its_total(
        self, entity: LegalEntity, customer: Customer, collector: User, manager: User
    ) -> None:
        invoice = _invoice(customer, "500.00")  # the plan covers 300.00 of it
        plan = _propose(customer, [invoice], THREE, collector, date(2026, 2, 10))
        plans.payment_plan_approve(plan_id=plan.pk, actor=manager, now=at(date(2026, 2, 10)))
        _paid(invoice, 10000, date(2026, 2, 9))  # before the approval: does not count
        _paid(invoice, 10000, date(2026, 3, 2))
        _paid(invoice, 15000, date(2026, 4, 8))  # the second, a week late, and half the third

        review = services.promises_review(entity=entity, as_of=date(2026, 4, 30), actor=None, now=NOW)
        assert [(p.state, p.judged_on, p.paid_minor) for p in review.plans] == [
            ("active", date(2026, 4, 30), 25000)
        ]
        _paid(invoice, 5000, date(2026, 5, 11))  # the last 50.00, on the last day of its grace

        review = services.promises_review(entity=entity, as_of=date(2026, 5, 20), actor=None, now=NOW)
        assert [(p.state, p.judged_on, p.paid_minor) for p in review.plans] == [
            ("completed", date(2026, 5, 11), 30000)
        ]
        assert _state(plan) == ("completed", date(2026, 4, 30), date(2026, 5, 11), 30000)
        # the 100.00 still open is dunned again (it stayed out while the plan ran)
        assert _run(entity, date(2026, 5, 21)) == [("C-1000", 4, "email", [(invoice.number, 109, 10000, 4)])]

    def test_a_dry_run_shows_a_default_and_writes_nothing(
        self, entity: LegalEntity, customer: Customer, collector: User, manager: User
    ) -> None:
        invoice = _invoice(customer)
        plan = _propose(customer, [invoice], THREE, collector, date(2026, 2, 10))
        plans.payment_plan_approve(plan_id=plan.pk, actor=manager, now=at(date(2026, 2, 10)))

        result = services.dunning_run(
            entity=entity, as_of=date(2026, 3, 12), dry_run=True, actor=None, now=NOW
        )

        assert [(n.level, [(i.number, i.level) for i in n.items]) for n in result.notices] == [
            (3, [(invoice.number, 3)])
        ]
        assert _state(plan) == ("approved", None, None, 0)


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(day) for day in range(first.toordinal(), last.toordinal() + 1)]
