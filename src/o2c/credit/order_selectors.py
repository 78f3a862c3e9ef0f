"""Reads of the credit analyst's order pages (docs/credit.md, "Back-office pages: orders, holds and
reports"): the hold queue filtered by reason and customer, the orders filtered by status and customer,
and an order's history from the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from o2c.audit import selectors as audit_selectors
from o2c.audit.models import AuditEvent
from o2c.credit import rules
from o2c.credit.models import SalesOrder

REASON_CODES = (
    rules.OVER_CUSTOMER_LIMIT,
    rules.OVER_GROUP_LIMIT,
    rules.NO_LIMIT,
    rules.PAST_DUE,
    rules.LIMIT_EXPIRED,
    rules.REVIEW_OVERDUE,
    rules.CUSTOMER_BLOCKED,
)
"""The hold reasons' codes (`credit.rules`), in the order the filters offer them."""


def _customer_filter(search: str) -> Q:
    """The customer's number exactly, or a part of its name (both ignoring case)."""
    return Q(customer__number__iexact=search) | Q(customer__name__icontains=search)


@dataclass(frozen=True)
class HeldOrder:
    order: SalesOrder
    age_days: int  # whole days since held, as the API's `age_days`
    reasons: list[dict[str, Any]]  # as stored by the last check: code, text, figures


def hold_queue(
    *, entity_ids: list[int], now: datetime, reason: str = "", customer: str = ""
) -> list[HeldOrder]:
    """The held orders of the entities, the oldest first (held at, then id); with `reason` only those held
    for that reason code, with `customer` only those of customers whose number is it or whose name
    contains it. One query."""
    held = (
        SalesOrder.objects.filter(entity_id__in=entity_ids, status=SalesOrder.Status.HELD)
        .select_related("customer", "entity")
        .order_by("held_at", "pk")
    )
    if customer.strip():
        held = held.filter(_customer_filter(customer.strip()))
    rows = []
    for order in held:
        if reason and not any(r.get("code") == reason for r in order.hold_reasons):
            continue
        assert order.held_at is not None  # a held order has its moment
        rows.append(HeldOrder(order, (now - order.held_at).days, order.hold_reasons))
    return rows


def order_list(*, entity_ids: list[int], status: str = "", customer: str = "") -> QuerySet[SalesOrder]:
    """The orders of the entities, the newest first (received at, then id); with `status` those in it,
    with `customer` those of customers whose number is it or whose name contains it."""
    found = SalesOrder.objects.filter(entity_id__in=entity_ids).select_related("customer", "entity")
    if status:
        found = found.filter(status=status)
    if customer.strip():
        found = found.filter(_customer_filter(customer.strip()))
    return found.order_by("-received_at", "-pk")


def order_history(order: SalesOrder) -> QuerySet[AuditEvent]:
    """The audit events of the order, the newest first."""
    return audit_selectors.audit_events_for(object_type="sales_order", object_id=order.pk)
