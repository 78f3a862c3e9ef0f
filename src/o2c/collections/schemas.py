"""Shapes of the collections API. Money travels as locale-free decimal strings with the currency's
decimals; enumerations lowercase; dates ISO 8601."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from o2c.collections.models import Activity, CollectionTarget, PaymentPlan, PromiseToPay
from o2c.core.money import format_minor
from o2c.customers.schemas import DecimalString, PageFilter


def _name(user: object) -> str | None:
    return getattr(user, "username", None)


class PromiseFilter(PageFilter):
    state: PromiseToPay.State | None = None
    customer_id: int | None = None


class PromiseIn(Schema):
    customer_id: int
    document_ids: list[int] = Field(min_length=1)
    amount: DecimalString
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    promised_date: date
    made_on: date | None = Field(None, description="the day the customer promised; default today")
    contact: str = Field("", max_length=150, description="who promised")
    note: str = ""


class PromiseOut(Schema):
    id: int
    entity: str
    customer_id: int
    customer_number: str
    document_ids: list[int]
    amount: str
    currency: str
    promised_date: date
    made_on: date
    grace_until: date
    state: str
    judged_on: date | None
    paid: str
    contact: str
    note: str
    created_at: datetime
    created_by: str | None

    @staticmethod
    def of(promise: PromiseToPay, document_ids: list[int]) -> PromiseOut:
        return PromiseOut(
            id=promise.pk,
            entity=promise.entity.code,
            customer_id=promise.customer_id,
            customer_number=promise.customer.number,
            document_ids=document_ids,
            amount=format_minor(promise.amount_minor, promise.currency),
            currency=promise.currency,
            promised_date=promise.promised_date,
            made_on=promise.made_on,
            grace_until=promise.grace_until,
            state=promise.state,
            judged_on=promise.judged_on,
            paid=format_minor(promise.paid_minor, promise.currency),
            contact=promise.contact,
            note=promise.note,
            created_at=promise.created_at,
            created_by=_name(promise.created_by),
        )


class PromisePage(Schema):
    items: list[PromiseOut]
    next_cursor: str | None


class PlanFilter(PageFilter):
    state: PaymentPlan.State | None = None
    customer_id: int | None = None


class InstalmentSchema(Schema):
    due_date: date
    amount: DecimalString


class PlanIn(Schema):
    customer_id: int
    document_ids: list[int] = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    instalments: list[InstalmentSchema] = Field(min_length=1)
    note: str = ""


class DecisionIn(Schema):
    reason: str = Field("", max_length=500, description="required to reject")


class PlanOut(Schema):
    id: int
    entity: str
    customer_id: int
    customer_number: str
    document_ids: list[int]
    currency: str
    total: str
    instalments: list[InstalmentSchema]
    state: str
    grace_days: int
    proposed_by: str | None
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    approved_on: date | None
    activated_on: date | None
    judged_on: date | None
    paid: str
    note: str

    @staticmethod
    def of(plan: PaymentPlan, document_ids: list[int]) -> PlanOut:
        return PlanOut(
            id=plan.pk,
            entity=plan.entity.code,
            customer_id=plan.customer_id,
            customer_number=plan.customer.number,
            document_ids=document_ids,
            currency=plan.currency,
            total=format_minor(plan.total_minor, plan.currency),
            instalments=[
                InstalmentSchema(
                    due_date=part.due_date, amount=format_minor(part.amount_minor, plan.currency)
                )
                for part in sorted(plan.instalments.all(), key=lambda part: part.due_date)
            ],
            state=plan.state,
            grace_days=plan.grace_days,
            proposed_by=_name(plan.proposed_by),
            proposed_at=plan.proposed_at,
            decided_by=_name(plan.decided_by),
            decided_at=plan.decided_at,
            decision_reason=plan.decision_reason,
            approved_on=plan.approved_on,
            activated_on=plan.activated_on,
            judged_on=plan.judged_on,
            paid=format_minor(plan.paid_minor, plan.currency),
            note=plan.note,
        )


class PlanPage(Schema):
    items: list[PlanOut]
    next_cursor: str | None


class ActivityFilter(PageFilter):
    customer_id: int


class ActivityIn(Schema):
    customer_id: int
    kind: Activity.Kind
    outcome: Activity.Outcome
    text: str = ""
    next_action_date: date | None = None
    document_ids: list[int] = []


class ActivityOut(Schema):
    id: int
    customer_id: int
    customer_number: str
    kind: str
    outcome: str
    text: str
    next_action_date: date | None
    document_ids: list[int]
    created_at: datetime
    created_by: str | None

    @staticmethod
    def of(activity: Activity) -> ActivityOut:
        return ActivityOut(
            id=activity.pk,
            customer_id=activity.customer_id,
            customer_number=activity.customer.number,
            kind=activity.kind,
            outcome=activity.outcome,
            text=activity.text,
            next_action_date=activity.next_action_date,
            document_ids=sorted(link.document_id for link in activity.documents.all()),
            created_at=activity.created_at,
            created_by=_name(activity.created_by),
        )


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class TasksOut(Schema):
    today: date
    activities: list[ActivityOut]
    promises: list[PromiseOut]


class PriorityOut(Schema):
    score: int
    amount_points: int = Field(description="one a 1,000 overdue, at most 50")
    days_points: int = Field(description="one a 3 days the oldest item is overdue, at most 30")
    promise_points: int = Field(description="10 a promise broken in the last 90 days, at most 20")
    risk_points: int = Field(description="by the customer's credit risk class: A 0, B 5, C 10, D 15, E 20")


class WorklistLineOut(Schema):
    customer_number: str
    customer_name: str
    currency: str
    overdue: DecimalString = Field(description="overdue invoices and debit memos, disputed ones left out")
    items: int
    oldest_due_date: date
    days_overdue: int
    broken_promises: int
    promised: bool = Field(description="an open promise to pay covers some of its documents")
    risk_class: str = Field(description="the customer's credit risk class, A to E; empty when not scored")
    priority: PriorityOut


class WorklistOut(Schema):
    entity: str
    collector: str
    today: date
    lines: list[WorklistLineOut]


class AssignmentIn(Schema):
    entity: str | None = Field(None, description="legal entity code; default the caller's")
    collector: str | None = Field(description="the collector's username; null takes the customers out of any")
    customers: list[str] = Field(min_length=1, description="customer numbers")
    reason: str = Field(min_length=1, max_length=300)


class AssignmentOut(Schema):
    entity: str
    collector: str | None
    customers: list[str]
    moved: int = Field(description="how many changed portfolio (the others were in it already)")


class TargetFilter(Schema):
    entity: str | None = Field(None, description="legal entity code; default the caller's")
    month: date | None = Field(None, description="the first day of a month")
    collector: str | None = Field(None, description="the collector's username")


class TargetIn(Schema):
    entity: str | None = Field(None, description="legal entity code; default the caller's")
    collector: str = Field(description="the collector's username")
    month: date = Field(description="the first day of the month")
    amount: DecimalString
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class TargetOut(Schema):
    id: int
    entity: str
    collector: str
    month: date
    amount: str
    currency: str
    updated_at: datetime
    updated_by: str | None

    @staticmethod
    def of(target: CollectionTarget) -> TargetOut:
        return TargetOut(
            id=target.pk,
            entity=target.entity.code,
            collector=target.collector.username,
            month=target.month,
            amount=format_minor(target.amount_minor, target.currency),
            currency=target.currency,
            updated_at=target.updated_at,
            updated_by=_name(target.updated_by),
        )
