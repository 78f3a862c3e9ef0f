"""The collections decisions on plain values: a promise's verdict on a day, and the step up of a customer
whose promise was broken (calculations.notices_due)."""

from __future__ import annotations

from datetime import date

from o2c.collections import calculations
from o2c.collections.calculations import CustomerFacts, OpenItem, Plan, Step, Verdict

MADE, UNTIL = date(2026, 2, 10), date(2026, 2, 23)


def _verdict(payments: list[tuple[date, int]], as_of: date, amount: int = 10000) -> Verdict:
    return calculations.promise_verdict(
        amount_minor=amount, made_on=MADE, grace_until=UNTIL, payments=payments, as_of=as_of
    )


class TestPromiseVerdict:
    def test_kept_on_the_day_the_cash_adds_up(self) -> None:
        payments = [(date(2026, 2, 20), 4000), (date(2026, 2, 12), 6000)]
        assert _verdict(payments, date(2026, 2, 19)) == Verdict("open", None, 6000)
        assert _verdict(payments, date(2026, 2, 20)) == Verdict("kept", date(2026, 2, 20), 10000)

    def test_cash_before_the_promise_or_after_the_grace_does_not_count(self) -> None:
        payments = [(date(2026, 2, 9), 5000), (date(2026, 2, 23), 4000), (date(2026, 2, 24), 1000)]
        assert _verdict(payments, date(2026, 2, 23)) == Verdict("open", None, 4000)
        assert _verdict(payments, date(2026, 2, 24)) == Verdict("broken", date(2026, 2, 24), 4000)

    def test_a_reversal_takes_its_cash_back(self) -> None:
        payments = [(date(2026, 2, 12), 6000), (date(2026, 2, 13), -6000), (date(2026, 2, 14), 6000)]
        assert _verdict(payments, date(2026, 3, 1)) == Verdict("broken", date(2026, 2, 24), 6000)


PLAN = Plan(
    id=1,
    name="Gaps",
    is_default=True,
    priority=100,
    countries=frozenset(),
    payment_terms=frozenset(),
    min_open_minor=None,
    currency="",
    steps=(Step(1, 1, "email", "friendly"), Step(3, 30, "call_task", "firm"), Step(5, 60, "email", "final")),
)
CUSTOMER = CustomerFacts(7, "C-7", "de", "DE", "NET30", "ap@example.com")


def _notices(
    last_levels: dict[int, int], stepped_up: set[int], as_of: date = date(2026, 2, 14)
) -> list[tuple]:
    items = [
        OpenItem(1, 7, "A", "EUR", 10000, date(2026, 2, 1), False),
        OpenItem(2, 7, "B", "EUR", 5000, date(2026, 2, 10), False),
    ]
    notices = calculations.notices_due(
        as_of=as_of,
        items=items,
        customers={7: CUSTOMER},
        plans={7: PLAN},
        last_levels=last_levels,
        promised=set(),
        noticed=set(),
        stepped_up=stepped_up,
    )
    return [(n.level, n.channel, [(i.number, i.level) for i in n.items]) for n in notices]


class TestSteppedUp:
    def test_nothing_is_due_by_the_days_so_nothing_is_sent_without_a_broken_promise(self) -> None:
        assert _notices({1: 1, 2: 1}, set()) == []

    def test_a_broken_promise_sends_the_plans_next_step_above_the_last_level(self) -> None:
        assert _notices({1: 1, 2: 1}, {7}) == [(3, "call_task", [("A", 3), ("B", 3)])]

    def test_the_last_step_is_the_cap(self) -> None:
        assert _notices({1: 5}, {7}) == [(5, "email", [("A", 5), ("B", 5)])]

    def test_the_days_win_when_they_reach_higher(self) -> None:
        assert _notices({1: 1}, {7}, as_of=date(2026, 4, 2)) == [(5, "email", [("A", 5), ("B", 5)])]

    def test_a_customer_never_dunned_gets_the_first_step(self) -> None:
        assert _notices({}, {7}) == [(1, "email", [("A", 1), ("B", 1)])]


APPROVED = date(2026, 2, 10)
INSTALMENTS = [(date(2026, 3, 1), 10000), (date(2026, 4, 1), 10000), (date(2026, 5, 1), 10000)]


def _plan(payments: list[tuple[date, int]], as_of: date) -> Verdict:
    return calculations.plan_verdict(
        total_minor=30000,
        approved_on=APPROVED,
        instalments=INSTALMENTS,
        grace_days=10,
        payments=payments,
        as_of=as_of,
    )


class TestPlanVerdict:
    def test_an_instalment_may_be_ten_days_late(self) -> None:
        assert _plan([(date(2026, 3, 11), 10000)], date(2026, 3, 31)) == Verdict("open", None, 10000)
        assert _plan([], date(2026, 3, 11)) == Verdict("open", None, 0)

    def test_the_eleventh_day_without_the_cash_defaults_the_plan(self) -> None:
        assert _plan([(date(2026, 3, 12), 10000)], date(2026, 3, 12)) == Verdict(
            "defaulted", date(2026, 3, 12), 0
        )

    def test_the_instalments_are_covered_cumulatively(self) -> None:
        # the first and most of the second in advance, the rest of the second late but within its grace
        payments = [(date(2026, 2, 20), 19000), (date(2026, 4, 11), 1000)]
        assert _plan(payments, date(2026, 4, 30)) == Verdict("open", None, 20000)
        assert _plan(payments[:1], date(2026, 4, 12)) == Verdict("defaulted", date(2026, 4, 12), 19000)

    def test_cash_before_the_approval_does_not_count(self) -> None:
        assert _plan([(date(2026, 2, 9), 30000)], date(2026, 3, 12)) == Verdict(
            "defaulted", date(2026, 3, 12), 0
        )

    def test_completed_on_the_day_the_total_is_covered_even_after_a_late_instalment(self) -> None:
        payments = [(date(2026, 3, 1), 10000), (date(2026, 3, 20), 20000)]
        assert _plan(payments, date(2026, 6, 1)) == Verdict("completed", date(2026, 3, 20), 30000)
