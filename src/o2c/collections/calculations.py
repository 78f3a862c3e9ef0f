"""The dunning run's decisions on plain values: which plan a customer follows, which level each open item
has reached, and which customers get a notice or a pre-due reminder (docs/collections.md, "How a run
decides"). No queries, no clock: `services.dunning_run` reads the facts and writes the result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from o2c.core.formatting import customer_language


@dataclass(frozen=True, slots=True)
class Step:
    level: int
    days: int
    channel: str
    tone: str


@dataclass(frozen=True)
class Plan:
    id: int | None
    name: str
    is_default: bool
    priority: int
    countries: frozenset[str]
    payment_terms: frozenset[str]
    min_open_minor: int | None
    currency: str
    steps: tuple[Step, ...]
    """by level"""
    risk_classes: frozenset[str] = frozenset()
    customer_types: frozenset[str] = frozenset()
    """upper case, as `criteria` gives them; compared with the customer's type in upper case"""

    @property
    def reminder(self) -> Step | None:
        """The pre-due reminder step (level 0), if the plan has one."""
        return next((step for step in self.steps if step.level == 0), None)

    def step(self, level: int) -> Step:
        return next(step for step in self.steps if step.level == level)

    def target_level(self, days_overdue: int) -> int | None:
        """The highest notice level whose step starts on or before this many days past due (None: not
        past due, or not yet at the first notice step)."""
        reached = [step.level for step in self.steps if step.level > 0 and step.days <= days_overdue]
        return max(reached) if reached else None

    def matches(self, customer: CustomerFacts, open_minor: Mapping[tuple[int, str], int]) -> bool:
        """Whether the customer is in this plan's segment (every criterion set must hold)."""
        if self.countries and customer.country.upper() not in self.countries:
            return False
        if self.payment_terms and customer.payment_terms.upper() not in self.payment_terms:
            return False
        if self.risk_classes and customer.risk_class not in self.risk_classes:
            return False
        if self.customer_types and customer.customer_type.upper() not in self.customer_types:
            return False
        return self.min_open_minor is None or (
            open_minor.get((customer.id, self.currency), 0) >= self.min_open_minor
        )


def criteria(text: str) -> frozenset[str]:
    """A plan's space- or comma-separated codes, upper case."""
    return frozenset(code.upper() for code in text.replace(",", " ").split())


PROMISE_GRACE_DAYS = 3
"""Days after the promised date in which cash still keeps a promise (the bank's lag): a promise to pay
by Friday is kept by a payment posted on Monday. `grace_until` (promised date + these days) is fixed on
the promise when it is recorded."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A promise's (or a payment plan's) state on a day: `open`, or `kept`/`broken` (a plan:
    `completed`/`defaulted`) with the day it became so and the cash counted."""

    state: str
    judged_on: date | None
    paid_minor: int


def promise_verdict(
    *,
    amount_minor: int,
    made_on: date,
    grace_until: date,
    payments: Iterable[tuple[date, int]],
    as_of: date,
) -> Verdict:
    """Kept on the day the cash applied to the promise's documents (payments posted from `made_on`
    through `grace_until`, reversals negative, by posting date) first adds up to the promised amount, if
    that day is `as_of` or earlier; broken the day after `grace_until` once `as_of` is past it; else
    open. Cash posted before the promise was made, or after its grace, does not count."""
    last = min(as_of, grace_until)
    paid = 0
    for day, minor in sorted(payments):
        if day < made_on or day > last:
            continue
        paid += minor
        if paid >= amount_minor:
            return Verdict("kept", day, paid)
    if as_of > grace_until:
        return Verdict("broken", grace_until + timedelta(days=1), paid)
    return Verdict("open", None, paid)


PLAN_GRACE_DAYS = 10
"""Days an instalment of a payment plan may be unpaid before the plan is defaulted: a plan whose
instalment was due on 1 March defaults on 12 March when the cash has not covered it by the 11th. Fixed
on the plan (`grace_days`) when it is proposed."""


def plan_verdict(
    *,
    total_minor: int,
    approved_on: date,
    instalments: Iterable[tuple[date, int]],
    grace_days: int,
    payments: Iterable[tuple[date, int]],
    as_of: date,
) -> Verdict:
    """A payment plan on `as_of`, on the cash applied to its documents from the day it was approved
    (payments by posting date, reversals negative):

    - `completed` on the day that cash first covers the plan's total;
    - `defaulted` on the day after an instalment's due date plus `grace_days`, when the cash up to that
      day does not cover all the instalments due by then (cumulatively: paying the first one late but
      within its grace, or the second in advance, is fine), unless the plan was completed before;
    - else `open` (it stays approved or active); `paid_minor` is the cash counted up to the verdict's
      day (`as_of` when open)."""
    counted = sorted((day, minor) for day, minor in payments if approved_on <= day <= as_of)

    def paid_through(last: date) -> int:
        return sum(minor for day, minor in counted if day <= last)

    completed_on = None
    running = 0
    for day, minor in counted:
        running += minor
        if running >= total_minor:
            completed_on = day
            break
    due = 0
    for due_date, minor in sorted(instalments):
        due += minor
        deadline = due_date + timedelta(days=grace_days)
        if completed_on is not None and completed_on <= deadline:
            break
        if deadline >= as_of:
            break
        if paid_through(deadline) < due:
            return Verdict("defaulted", deadline + timedelta(days=1), paid_through(deadline))
    if completed_on is not None:
        return Verdict("completed", completed_on, paid_through(completed_on))
    return Verdict("open", None, paid_through(as_of))


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    id: int
    number: str
    language: str
    country: str
    payment_terms: str
    email: str
    risk_class: str = ""
    customer_type: str = ""


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An issued invoice or debit memo with an open amount, as a dunning run reads it."""

    document_id: int
    customer_id: int
    number: str
    currency: str
    open_minor: int
    due_date: date
    is_disputed: bool


@dataclass(frozen=True, slots=True)
class NoticeItem:
    document_id: int
    number: str
    currency: str
    open_minor: int
    due_date: date
    days_overdue: int
    level: int


@dataclass(frozen=True)
class Notice:
    customer_id: int
    customer_number: str
    plan_id: int | None
    level: int
    language: str
    channel: str
    tone: str
    recipient: str
    items: tuple[NoticeItem, ...]


def plan_of(
    customer: CustomerFacts, plans: list[Plan], open_minor: Mapping[tuple[int, str], int]
) -> Plan | None:
    """The first plan (by priority, then id) of a segment the customer is in, else the default plan."""
    for plan in plans:
        if not plan.is_default and plan.matches(customer, open_minor):
            return plan
    return next((plan for plan in plans if plan.is_default), None)


def notices_due(
    *,
    as_of: date,
    items: Iterable[OpenItem],
    customers: Mapping[int, CustomerFacts],
    plans: Mapping[int, Plan],
    last_levels: Mapping[int, int],
    promised: frozenset[int] | set[int],
    noticed: set[tuple[int, bool]],
    stepped_up: frozenset[int] | set[int] = frozenset(),
) -> list[Notice]:
    """The notices and reminders a run on `as_of` sends, by customer number, a customer's reminder
    (level 0) before its notice.

    - Left out: disputed items and items under an open promise (`promised`). They neither trigger a
      notice nor appear on one.
    - An overdue item (1 day or more past due) targets the highest notice level its days reach; it is
      due for dunning when that level is above `last_levels` (the level it was last dunned at). A
      customer with an item due for dunning gets one notice of all its overdue items, at the highest
      target level among them; each item is recorded at its own target level (0 below the first step).
    - A pre-due reminder lists the items not yet due (0 to -days of the level-0 step before their due
      date) that were never dunned or reminded.
    - `noticed` holds (customer id, is reminder) of what was sent on `as_of` already: nothing twice.
    - A customer in `stepped_up` (a promise broken or a payment plan defaulted since its last notice)
      moves to the next step: it gets a notice of its overdue items at the plan's next step above the
      highest level they were last dunned at (capped at the plan's last step), or at the level their
      days reach when that is higher, even when no item is due for dunning by its days. Every item on
      that notice is recorded at the notice's level.
    """
    by_customer: dict[int, list[OpenItem]] = {}
    for item in items:
        if item.is_disputed or item.document_id in promised:
            continue
        by_customer.setdefault(item.customer_id, []).append(item)
    notices: list[Notice] = []
    for customer_id, open_items in by_customer.items():
        plan = plans.get(customer_id)
        customer = customers[customer_id]
        if plan is None:
            continue
        open_items.sort(key=lambda item: (item.due_date, item.number, item.document_id))
        reminder = plan.reminder
        if reminder is not None and (customer_id, True) not in noticed:
            upcoming = [
                _notice_item(item, as_of, 0)
                for item in open_items
                if reminder.days <= (as_of - item.due_date).days <= 0 and item.document_id not in last_levels
            ]
            if upcoming:
                notices.append(_notice(customer, plan, reminder, upcoming))
        if (customer_id, False) in noticed:
            continue
        overdue = []
        is_due = False
        for item in open_items:
            days = (as_of - item.due_date).days
            if days < 1:
                continue
            target = plan.target_level(days)
            if target is not None and target > last_levels.get(item.document_id, -1):
                is_due = True
            overdue.append(_notice_item(item, as_of, target or 0))
        if overdue and customer_id in stepped_up:
            last = max((last_levels.get(item.document_id, 0) for item in overdue), default=0)
            levels = sorted(step.level for step in plan.steps if step.level > 0)
            following = next((level for level in levels if level > last), levels[-1] if levels else 0)
            level = max(following, *(item.level for item in overdue))
            if level > 0:
                overdue = [replace(item, level=level) for item in overdue]
                notices.append(_notice(customer, plan, plan.step(level), overdue))
                continue
        if is_due:
            level = max(item.level for item in overdue)
            notices.append(_notice(customer, plan, plan.step(level), overdue))
    notices.sort(key=lambda notice: (notice.customer_number, notice.level))
    return notices


def _notice_item(item: OpenItem, as_of: date, level: int) -> NoticeItem:
    return NoticeItem(
        document_id=item.document_id,
        number=item.number,
        currency=item.currency,
        open_minor=item.open_minor,
        due_date=item.due_date,
        days_overdue=(as_of - item.due_date).days,
        level=level,
    )


def _notice(customer: CustomerFacts, plan: Plan, step: Step, items: list[NoticeItem]) -> Notice:
    return Notice(
        customer_id=customer.id,
        customer_number=customer.number,
        plan_id=plan.id,
        level=step.level,
        language=customer_language(customer.language),
        channel=step.channel,
        tone=step.tone,
        recipient=customer.email,
        items=tuple(items),
    )


# --- the collector's worklist -----------------------------------------------------------------------

AMOUNT_POINTS_PER = 1000  # major units of overdue amount per point
AMOUNT_POINTS_MAX = 50
DAYS_PER_POINT = 3
DAYS_POINTS_MAX = 30
BROKEN_PROMISE_POINTS = 10
BROKEN_PROMISE_POINTS_MAX = 20
RISK_POINTS = {"A": 0, "B": 5, "C": 10, "D": 15, "E": 20}
"""Points for the customer's credit risk class (set by credit scoring); none for a customer not scored."""


@dataclass(frozen=True, slots=True)
class Priority:
    """A worklist line's score and the parts it adds up from (docs/collections.md, "Worklist")."""

    amount_points: int
    days_points: int
    promise_points: int
    risk_points: int = 0

    @property
    def score(self) -> int:
        return self.amount_points + self.days_points + self.promise_points + self.risk_points


def priority(
    *, overdue_minor: int, decimals: int, days_overdue: int, broken_promises: int, risk_class: str = ""
) -> Priority:
    """One point per 1,000 (in the currency's major units) overdue, at most 50; one point per 3 days the
    oldest item is overdue, at most 30 (90 days and more); 10 points per promise broken in the last 90
    days, at most 20; and by the customer's credit risk class, A 0 to E 20 (`RISK_POINTS`), none when
    not scored. Whole points, rounded down: 2,999.99 overdue is 2 points."""
    return Priority(
        amount_points=min(AMOUNT_POINTS_MAX, overdue_minor // (AMOUNT_POINTS_PER * 10**decimals)),
        days_points=min(DAYS_POINTS_MAX, max(0, days_overdue) // DAYS_PER_POINT),
        promise_points=min(BROKEN_PROMISE_POINTS_MAX, BROKEN_PROMISE_POINTS * broken_promises),
        risk_points=RISK_POINTS.get(risk_class, 0),
    )
