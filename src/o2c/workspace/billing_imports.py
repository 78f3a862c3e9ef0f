"""`o2c import products|subscriptions|usage`: contract CSV rows to the billing services' input.

Every file is read and checked in full before anything is written, and written in one transaction:
a bad row imports nothing and its message names the file, `row N` and the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from django.contrib.auth.models import User
from django.db import transaction

from o2c.billing import services as billing_services
from o2c.billing.errors import UnableToSaveBillingData
from o2c.billing.services import Counts, ProductIn, SubscriptionIn, UsageImported, UsageIn
from o2c.core.exceptions import InputError
from o2c.ledger.models import LegalEntity
from o2c.workspace.csvfiles import Row, read_rows
from o2c.workspace.importers import _EntityResolver

PRODUCT_REQUIRED = (
    "product_code",
    "name",
    "price_model",
    "currency",
    "unit_price",
    "tiers",
    "billing_period",
    "timing",
    "metric",
)
SUBSCRIPTION_REQUIRED = (
    "subscription_number",
    "customer_number",
    "bill_to_number",
    "product_code",
    "quantity",
    "start_date",
    "end_date",
    "discount_percent",
    "po_number",
)
USAGE_REQUIRED = ("event_id", "subscription_number", "metric", "quantity", "timestamp")

T = TypeVar("T")


def _by_entity(
    path: Path, rows: Iterator[Row], entity_code: str | None, build: Callable[[Row], T]
) -> dict[int, tuple[LegalEntity, list[T]]]:
    resolve = _EntityResolver(entity_code)
    grouped: dict[int, tuple[LegalEntity, list[T]]] = {}
    for row in rows:
        entity = resolve(row)
        grouped.setdefault(entity.pk, (entity, []))[1].append(build(row))
    if not grouped:
        raise InputError("the file has a header but no rows", file=str(path), code="empty_file")
    return grouped


def _refusal(path: Path, error: UnableToSaveBillingData) -> InputError:
    return InputError(error.message, file=str(path), row=error.row, column=error.field, code=error.code)


def _decimal(row: Row, column: str, default: Decimal | None = None) -> Decimal:
    value = row.decimal(column, optional=default is not None)
    return default if value is None and default is not None else value  # type: ignore[return-value]


def _product(row: Row) -> ProductIn:
    return ProductIn(
        code=row.required("product_code"),
        name=row.required("name"),
        price_model=row.required("price_model"),
        currency=row.required("currency"),
        unit_price=_decimal(row, "unit_price", Decimal(0)),
        tiers=row.text("tiers"),
        billing_period=row.required("billing_period"),
        timing=row.required("timing"),
        metric=row.text("metric"),
        aggregation=row.text("aggregation") or "sum",
        tax_category=row.text("tax_category") or "standard",
        minimum=_decimal(row, "minimum", Decimal(0)),
        row=row.number,
    )


def _import_all(
    path: Path,
    grouped: dict[int, tuple[LegalEntity, list[T]]],
    load: Callable[[LegalEntity, list[T]], Counts],
) -> Counts:
    """One service call per entity, all in one transaction; a refusal names the file, row and column."""
    created = updated = unchanged = 0
    try:
        with transaction.atomic():
            for entity, items in grouped.values():
                counts = load(entity, items)
                created, updated, unchanged = (
                    created + counts.created,
                    updated + counts.updated,
                    unchanged + counts.unchanged,
                )
    except UnableToSaveBillingData as error:
        raise _refusal(path, error) from None
    return Counts(created, updated, unchanged)


def import_products(path: Path, *, entity_code: str | None, actor: User | None, now: datetime) -> Counts:
    grouped = _by_entity(path, read_rows(path, required=PRODUCT_REQUIRED), entity_code, _product)
    return _import_all(
        path,
        grouped,
        lambda entity, products: billing_services.products_import(
            entity=entity, products=products, actor=actor, now=now
        ),
    )


def _subscription(row: Row) -> SubscriptionIn:
    start = row.date("start_date")
    assert start is not None
    return SubscriptionIn(
        number=row.required("subscription_number"),
        customer_number=row.required("customer_number"),
        bill_to_number=row.text("bill_to_number"),
        product_code=row.required("product_code"),
        quantity=_decimal(row, "quantity", Decimal(1)),
        start_date=start,
        end_date=row.date("end_date", optional=True),
        discount_percent=_decimal(row, "discount_percent", Decimal(0)),
        po_number=row.text("po_number"),
        discount_amount=_decimal(row, "discount_amount", Decimal(0)),
        discount_until=row.date("discount_until", optional=True),
        row=row.number,
    )


def import_subscriptions(path: Path, *, entity_code: str | None, actor: User | None, now: datetime) -> Counts:
    grouped = _by_entity(path, read_rows(path, required=SUBSCRIPTION_REQUIRED), entity_code, _subscription)
    return _import_all(
        path,
        grouped,
        lambda entity, subscriptions: billing_services.subscriptions_import(
            entity=entity, subscriptions=subscriptions, actor=actor, now=now
        ),
    )


def _timestamp(row: Row) -> datetime:
    value = row.required("timestamp")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise row.error("timestamp", f"'{value}' is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise row.error("timestamp", f"'{value}' has no time zone offset (add Z or +01:00)")
    return moment


def _usage(row: Row) -> UsageIn:
    return UsageIn(
        event_id=row.required("event_id"),
        subscription_number=row.required("subscription_number"),
        metric=row.required("metric"),
        quantity=_decimal(row, "quantity"),
        occurred_at=_timestamp(row),
        unique_key=row.text("unique_key"),
        row=row.number,
    )


def import_usage(
    path: Path,
    *,
    entity_code: str | None,
    now: datetime,
    progress_factory: Callable[[int], Callable[[int], None]] | None = None,
) -> UsageImported:
    grouped = _by_entity(path, read_rows(path, required=USAGE_REQUIRED), entity_code, _usage)
    created = ignored = late = 0
    total = sum(len(events) for _, events in grouped.values())
    advance = progress_factory(total) if progress_factory else None
    try:
        with transaction.atomic():
            for entity, events in grouped.values():
                result = billing_services.usage_import(
                    entity=entity, events=events, now=now, on_progress=advance
                )
                created, ignored, late = (
                    created + result.created,
                    ignored + result.ignored,
                    late + result.late,
                )
    except UnableToSaveBillingData as error:
        raise _refusal(path, error) from None
    return UsageImported(created=created, ignored=ignored, late=late)
