"""Event handlers: a payment applied rechecks the held orders of the paying customers' groups; an issued
invoice that names an order in its PO number moves the order to invoiced."""

from __future__ import annotations

from typing import Any

from o2c.core import clock
from o2c.credit import orders
from o2c.receivables.models import Document


def on_payment_applied(*, document_ids: list[int], customer_id: int | None = None, **_: Any) -> None:
    customers = set(Document.objects.filter(pk__in=document_ids).values_list("customer_id", flat=True))
    if customer_id is not None:
        customers.add(customer_id)
    if customers:
        orders.recheck_after_payment(customer_ids=customers, now=clock.now())


def on_documents_issued(*, document_ids: list[int], **_: Any) -> None:
    orders.orders_invoiced_by(document_ids=document_ids, now=clock.now())
