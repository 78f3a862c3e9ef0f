"""The credit API under `/api/credit` (docs/credit.md, "The API"): customers' limits (read, request,
approve, reject), orders under credit control (post, list, get), the hold queue (release, reject,
recheck), blocking, the what-if check and the reports, within the caller's legal entities.

Reading needs VIEW_CREDIT; requesting limits, deciding holds and blocking MANAGE_CREDIT; approving or
rejecting a limit APPROVE_LIMITS (the service refuses the maker: 422 `maker_cannot_approve`); posting
orders TAKE_ORDERS. Amounts are decimal strings with their currency."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from o2c.core import clock
from o2c.core.money import format_minor
from o2c.credit import limits, orders, rules, selectors
from o2c.credit.models import CreditLimit, SalesOrder
from o2c.customers import api as customers_api
from o2c.customers.models import Customer
from o2c.customers.schemas import DecimalString, decimal_of
from o2c.ledger import selectors as ledger_selectors

router = Router(tags=["credit"])

# The capabilities of these endpoints; o2c.config.api maps them to the roles that grant them.
VIEW_CREDIT = "view_credit"
MANAGE_CREDIT = "manage_credit"
APPROVE_LIMITS = "approve_limits"
TAKE_ORDERS = "take_orders"


class ReasonIn(Schema):
    reason: str = Field("", max_length=500)


class LimitIn(Schema):
    amount: DecimalString
    currency: str = Field(..., min_length=3, max_length=3)
    valid_until: date | None = None
    next_review_date: date | None = None
    reason: str = Field("", max_length=500)


class LimitOut(Schema):
    id: int
    customer: str
    amount: str
    currency: str
    valid_until: date | None
    next_review_date: date | None
    status: str = Field(..., description="pending, active, rejected, superseded")
    source: str = Field(..., description="request, migrated")
    needs_approval: bool
    reason: str
    requested_at: datetime
    requested_by: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str


class EffectiveLimitOut(Schema):
    amount: str
    currency: str
    valid_until: date | None
    next_review_date: date | None
    source: str
    scope: str = Field(..., description="customer, or group for a customer with subsidiaries")


class CustomerLimitsOut(Schema):
    customer: str
    effective: EffectiveLimitOut | None
    history: list[LimitOut]


class OrderIn(Schema):
    order_number: str = Field(..., min_length=1, max_length=60)
    customer_number: str = Field(..., min_length=1, max_length=40)
    amount: DecimalString
    currency: str = Field(..., min_length=3, max_length=3)
    requested_date: date
    entity: str | None = Field(None, description="legal entity code")


class OrderOut(Schema):
    order_number: str
    entity: str
    customer: str
    amount: str
    currency: str
    requested_date: date
    status: str = Field(..., description="held, released, rejected, shipped, invoiced, cancelled")
    reasons: list[dict[str, Any]] = Field(..., description="hold reasons: code, text and figures")
    received_at: datetime
    held_at: datetime | None
    age_days: int | None = Field(..., description="days on hold, for a held order")
    release_date: date | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str


class OrderFilter(Schema):
    status: str = ""
    customer: str = ""


class HoldFilter(Schema):
    reason: str = Field("", description="only the holds with this reason code")


class CheckQuery(Schema):
    customer: str
    amount: DecimalString
    currency: str = Field(..., min_length=3, max_length=3)
    as_of: date | None = None


class CheckOut(Schema):
    decision: str = Field(..., description="release or hold")
    reasons: list[dict[str, Any]]
    exposure: str | None
    limit: str | None
    available: str | None
    currency: str


class HoldRowOut(Schema):
    reason: str
    age: str = Field(..., description="days on hold: 0-1, 2-3, 4-7, 8+")
    orders: int
    amounts: dict[str, str]


class LimitUseOut(Schema):
    customer: str
    name: str
    scope: str
    currency: str
    limit: str
    exposure: str
    available: str


class CustomerStatusOut(Schema):
    customer: str
    status: str


# ── helpers ────────────────────────────────────────────────────────────────────────────────────


def _customer(entity_ids: list[int], number: str) -> Customer:
    customer = (
        Customer.objects.filter(entity_id__in=entity_ids, number=number).select_related("entity").first()
    )
    if customer is None:
        raise Http404
    return customer


def _order(entity_ids: list[int], number: str) -> SalesOrder:
    order = selectors.order_get(entity_ids=entity_ids, number=number)
    if order is None:
        raise Http404
    return order


def _user(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


def _limit_out(limit: CreditLimit) -> LimitOut:
    return LimitOut(
        id=limit.pk,
        customer=limit.customer.number,
        amount=format_minor(limit.amount_minor, limit.currency),
        currency=limit.currency,
        valid_until=limit.valid_until,
        next_review_date=limit.next_review_date,
        status=limit.status,
        source=limit.source,
        needs_approval=limit.needs_approval,
        reason=limit.reason,
        requested_at=limit.requested_at,
        requested_by=_user(limit.requested_by),
        decided_at=limit.decided_at,
        decided_by=_user(limit.decided_by),
        decision_reason=limit.decision_reason,
    )


def _limits_out(customer: Customer) -> CustomerLimitsOut:
    effective = selectors.limit_of(customer)
    has_children = Customer.objects.filter(parent=customer).exists()
    return CustomerLimitsOut(
        customer=customer.number,
        effective=None
        if effective is None
        else EffectiveLimitOut(
            amount=format_minor(effective.amount_minor, effective.currency),
            currency=effective.currency,
            valid_until=effective.valid_until,
            next_review_date=effective.next_review_date,
            source=effective.source,
            scope="group" if has_children else "customer",
        ),
        history=[_limit_out(limit) for limit in selectors.limit_history(customer)],
    )


def order_out(order: SalesOrder, now: datetime) -> OrderOut:
    return OrderOut(
        order_number=order.number,
        entity=order.entity.code,
        customer=order.customer.number,
        amount=format_minor(order.amount_minor, order.currency),
        currency=order.currency,
        requested_date=order.requested_date,
        status=order.status,
        reasons=order.hold_reasons,
        received_at=order.received_at,
        held_at=order.held_at,
        age_days=(now - order.held_at).days
        if order.held_at and order.status == SalesOrder.Status.HELD
        else None,
        release_date=order.release_date,
        decided_at=order.decided_at,
        decided_by=_user(order.decided_by),
        decision_reason=order.decision_reason,
    )


def _fresh(order: SalesOrder) -> SalesOrder:
    return SalesOrder.objects.select_related("entity", "customer", "decided_by").get(pk=order.pk)


# ── limits ────────────────────────────────────────────────────────────────────────────────────


@router.get("/customers/{number}/limits", response=CustomerLimitsOut, summary="A customer's credit limits")
def customer_limits(request: HttpRequest, number: str) -> CustomerLimitsOut:
    """The effective limit (what the credit check reads) and every version, the newest first."""
    who = customers_api.caller(request, VIEW_CREDIT)
    return _limits_out(_customer(customers_api.entity_ids(who), number))


@router.post("/customers/{number}/limits", response={201: LimitOut}, summary="Request a credit limit")
def limit_request(request: HttpRequest, number: str, payload: LimitIn) -> Status[LimitOut]:
    """Effective at once when it lowers the limit or is not above the approval threshold (status
    `active`), else `pending` until a second person approves it. Refused: 422 `bad_amount`;
    409 `pending_exists`."""
    who = customers_api.caller(request, MANAGE_CREDIT)
    customer = _customer(customers_api.entity_ids(who), number)
    limit = limits.limit_request(
        customer_id=customer.pk,
        amount=decimal_of(payload.amount),
        currency=payload.currency,
        valid_until=payload.valid_until,
        next_review_date=payload.next_review_date,
        reason=payload.reason,
        actor=who.user,
        now=clock.now(),
    )
    return Status(
        201,
        _limit_out(
            CreditLimit.objects.select_related("customer", "requested_by", "decided_by").get(pk=limit.pk)
        ),
    )


@router.get("/limits/pending", response=list[LimitOut], summary="Limits waiting for approval")
def limits_pending(request: HttpRequest) -> list[LimitOut]:
    who = customers_api.caller(request, VIEW_CREDIT)
    return [_limit_out(limit) for limit in selectors.pending_limits(customers_api.entity_ids(who))]


def _pending_in_scope(entity_ids: list[int], limit_id: int) -> CreditLimit:
    limit = CreditLimit.objects.filter(pk=limit_id, customer__entity_id__in=entity_ids).first()
    if limit is None:
        raise Http404
    return limit


@router.post("/limits/{int:limit_id}/approve", response=LimitOut, summary="Approve a credit limit")
def limit_approve(request: HttpRequest, limit_id: int, payload: ReasonIn) -> LimitOut:
    """By a second person, never the one who asked: 422 `maker_cannot_approve`; a limit not waiting
    is 409 `not_pending`."""
    who = customers_api.caller(request, APPROVE_LIMITS)
    limit = _pending_in_scope(customers_api.entity_ids(who), limit_id)
    limits.limit_approve(limit_id=limit.pk, actor=who.user, reason=payload.reason, now=clock.now())
    return _limit_out(
        CreditLimit.objects.select_related("customer", "requested_by", "decided_by").get(pk=limit.pk)
    )


@router.post("/limits/{int:limit_id}/reject", response=LimitOut, summary="Reject a credit limit")
def limit_reject(request: HttpRequest, limit_id: int, payload: ReasonIn) -> LimitOut:
    """A reason is required: 422 `reason_required`; a limit not waiting is 409 `not_pending`."""
    who = customers_api.caller(request, APPROVE_LIMITS)
    limit = _pending_in_scope(customers_api.entity_ids(who), limit_id)
    limits.limit_reject(limit_id=limit.pk, actor=who.user, reason=payload.reason, now=clock.now())
    return _limit_out(
        CreditLimit.objects.select_related("customer", "requested_by", "decided_by").get(pk=limit.pk)
    )


# ── orders and holds ──────────────────────────────────────────────────────────────────────────


@router.post("/orders", response={201: OrderOut}, summary="Post a sales order for its credit check")
def order_create(request: HttpRequest, payload: OrderIn) -> Status[OrderOut]:
    """Checked on arrival: `released` (with its release date after the cut-off rule) or `held` with its
    reasons. Refused: 422 `unknown_customer`, `bad_amount`; 409 `duplicate_order`."""
    who = customers_api.caller(request, TAKE_ORDERS)
    entity = customers_api.entity_for_write(who, payload.entity)
    now = clock.now()
    order = orders.order_receive(
        entity=entity,
        data=orders.OrderIn(
            payload.order_number,
            payload.customer_number,
            decimal_of(payload.amount),
            payload.currency,
            payload.requested_date,
        ),
        source=SalesOrder.Source.API,
        actor=who.user,
        now=now,
    )
    return Status(201, order_out(_fresh(order), now))


@router.get("/orders", response=list[OrderOut], summary="Sales orders, the newest first")
def order_list(request: HttpRequest, filters: Query[OrderFilter]) -> list[OrderOut]:
    who = customers_api.caller(request, VIEW_CREDIT)
    now = clock.now()
    found = selectors.order_list(
        entity_ids=customers_api.entity_ids(who), status=filters.status, customer_number=filters.customer
    )
    return [order_out(order, now) for order in found[:500]]


@router.get("/orders/{number}", response=OrderOut, summary="A sales order")
def order_get(request: HttpRequest, number: str) -> OrderOut:
    who = customers_api.caller(request, VIEW_CREDIT)
    return order_out(_order(customers_api.entity_ids(who), number), clock.now())


@router.get("/holds", response=list[OrderOut], summary="The hold queue, the oldest first")
def hold_list(request: HttpRequest, filters: Query[HoldFilter]) -> list[OrderOut]:
    who = customers_api.caller(request, VIEW_CREDIT)
    now = clock.now()
    return [
        order_out(o, now)
        for o in selectors.hold_list(entity_ids=customers_api.entity_ids(who), reason=filters.reason)
    ]


@router.post("/orders/{number}/release", response=OrderOut, summary="Release a held order")
def order_release(request: HttpRequest, number: str, payload: ReasonIn) -> OrderOut:
    """A reason is required: 422 `reason_required`; an order not on hold is 422 `not_held`."""
    who = customers_api.caller(request, MANAGE_CREDIT)
    order = _order(customers_api.entity_ids(who), number)
    now = clock.now()
    orders.order_release(order_id=order.pk, reason=payload.reason, actor=who.user, now=now)
    return order_out(_fresh(order), now)


@router.post("/orders/{number}/reject", response=OrderOut, summary="Reject a held order")
def order_reject(request: HttpRequest, number: str, payload: ReasonIn) -> OrderOut:
    """A reason is required: 422 `reason_required`; an order not on hold is 422 `not_held`."""
    who = customers_api.caller(request, MANAGE_CREDIT)
    order = _order(customers_api.entity_ids(who), number)
    now = clock.now()
    orders.order_reject(order_id=order.pk, reason=payload.reason, actor=who.user, now=now)
    return order_out(_fresh(order), now)


@router.post("/orders/{number}/recheck", response=OrderOut, summary="Check a held order again")
def order_recheck(request: HttpRequest, number: str) -> OrderOut:
    """Released when it passes now, else held with today's reasons."""
    who = customers_api.caller(request, MANAGE_CREDIT)
    order = _order(customers_api.entity_ids(who), number)
    now = clock.now()
    orders.order_recheck(order_id=order.pk, actor=who.user, now=now)
    return order_out(_fresh(order), now)


@router.post("/orders/{number}/ship", response=OrderOut, summary="A released order shipped")
def order_ship(request: HttpRequest, number: str) -> OrderOut:
    """It moves from open orders to shipped-not-invoiced in the exposure; 422 `not_movable` unless
    released."""
    return _move(request, number, SalesOrder.Status.SHIPPED, "")


@router.post("/orders/{number}/invoice", response=OrderOut, summary="A shipped order invoiced")
def order_invoice(request: HttpRequest, number: str) -> OrderOut:
    """It leaves the exposure's orders (its invoice counts as an open item once issued); 422
    `not_movable` unless shipped."""
    return _move(request, number, SalesOrder.Status.INVOICED, "")


@router.post("/orders/{number}/cancel", response=OrderOut, summary="Cancel an order not yet invoiced")
def order_cancel(request: HttpRequest, number: str, payload: ReasonIn) -> OrderOut:
    """A reason is required (422 `reason_required`); an invoiced, rejected or cancelled order is 422
    `not_movable`."""
    return _move(request, number, SalesOrder.Status.CANCELLED, payload.reason)


def _move(request: HttpRequest, number: str, to: str, reason: str) -> OrderOut:
    who = customers_api.caller(request, TAKE_ORDERS)
    order = _order(customers_api.entity_ids(who), number)
    now = clock.now()
    orders.order_move(order_id=order.pk, to=to, reason=reason, actor=who.user, now=now)
    return order_out(_fresh(order), now)


@router.post("/customers/{number}/block", response=CustomerStatusOut, summary="Block a customer")
def customer_block(request: HttpRequest, number: str, payload: ReasonIn) -> CustomerStatusOut:
    """Its new orders are held. A reason is required: 422 `reason_required`."""
    who = customers_api.caller(request, MANAGE_CREDIT)
    customer = _customer(customers_api.entity_ids(who), number)
    customer = orders.customer_block(
        customer_id=customer.pk, reason=payload.reason, actor=who.user, now=clock.now()
    )
    return CustomerStatusOut(customer=customer.number, status=customer.status)


@router.post("/customers/{number}/unblock", response=CustomerStatusOut, summary="Unblock a customer")
def customer_unblock(request: HttpRequest, number: str, payload: ReasonIn) -> CustomerStatusOut:
    """Its held orders are checked again. A reason is required: 422 `reason_required`."""
    who = customers_api.caller(request, MANAGE_CREDIT)
    customer = _customer(customers_api.entity_ids(who), number)
    customer = orders.customer_unblock(
        customer_id=customer.pk, reason=payload.reason, actor=who.user, now=clock.now()
    )
    return CustomerStatusOut(customer=customer.number, status=customer.status)


# ── what-if and reports ───────────────────────────────────────────────────────────────────────


def decision_out(decision: rules.Decision) -> CheckOut:
    currency = decision.currency
    return CheckOut(
        decision=decision.decision,
        reasons=decision.reasons,
        exposure=None if decision.exposure_minor is None else format_minor(decision.exposure_minor, currency),
        limit=None if decision.limit_minor is None else format_minor(decision.limit_minor, currency),
        available=None
        if decision.available_minor is None
        else format_minor(decision.available_minor, currency),
        currency=currency,
    )


@router.get("/check", response=CheckOut, summary="What-if credit check")
def credit_check(request: HttpRequest, query: Query[CheckQuery]) -> CheckOut:
    """The decision an order would get, as of a date (today in the customer's entity by default); writes
    nothing. Exposure, limit and available are those of the binding limit, in its currency."""
    who = customers_api.caller(request, VIEW_CREDIT)
    customer = _customer(customers_api.entity_ids(who), query.customer)
    as_of = query.as_of or clock.today_in(customer.entity.time_zone)
    return decision_out(
        orders.what_if(
            customer=customer, amount=decimal_of(query.amount), currency=query.currency, as_of=as_of
        )
    )


@router.get("/reports/holds", response=list[HoldRowOut], summary="Holds by reason and age")
def report_holds(request: HttpRequest) -> list[HoldRowOut]:
    who = customers_api.caller(request, VIEW_CREDIT)
    rows = selectors.holds_by_reason_and_age(entity_ids=customers_api.entity_ids(who), now=clock.now())
    return [
        HoldRowOut(
            reason=row.reason,
            age=row.bucket,
            orders=row.orders,
            amounts={cur: format_minor(minor, cur) for cur, minor in sorted(row.amounts.items())},
        )
        for row in rows
    ]


class LimitReportQuery(Schema):
    as_of: date | None = None


@router.get(
    "/reports/limits", response=list[LimitUseOut], summary="Exposure and limit use per customer and group"
)
def report_limits(request: HttpRequest, query: Query[LimitReportQuery]) -> list[LimitUseOut]:
    who = customers_api.caller(request, VIEW_CREDIT)
    entity_ids = customers_api.entity_ids(who)
    as_of = query.as_of
    if as_of is None:
        entity = ledger_selectors.entity_default()
        as_of = clock.today_in(entity.time_zone if entity else "UTC")
    return [
        LimitUseOut(
            customer=row.number,
            name=row.name,
            scope=row.scope,
            currency=row.currency,
            limit=format_minor(row.limit_minor, row.currency),
            exposure=format_minor(row.exposure_minor, row.currency),
            available=format_minor(row.available_minor, row.currency),
        )
        for row in selectors.limit_use(entity_ids=entity_ids, as_of=as_of)
    ]
