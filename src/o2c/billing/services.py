"""Use cases of the catalogue, subscriptions and usage: imports (atomic, idempotent), amendments,
cancellations and renewals. Billing runs live in `runs`.

A change that touches days already billed sets the subscription's `rerate_from`, so the next run bills
(or credits) the difference for those periods instead of billing anything twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from o2c.audit import services as audit_services
from o2c.audit.models import AuditEvent
from o2c.billing import rating
from o2c.billing.errors import UnableToSaveBillingData
from o2c.billing.models import (
    Aggregation,
    BillingPeriod,
    InvoiceProfile,
    Price,
    PriceModel,
    Product,
    Subscription,
    SubscriptionTerm,
    TaxCategory,
    TaxExemption,
    Timing,
    UsageEvent,
)
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.models import LegalEntity

CHUNK = 5_000


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _audit_decimal(value: Decimal) -> str:
    """A quantity, price or percentage as the audit trail records it: plain decimal text without
    trailing zeros ("10", "2.5"); `normalize()` alone would print 10 as "1E+1"."""
    return format(value.normalize(), "f")


def _audit_text(values: dict[str, Any]) -> dict[str, Any]:
    """A snapshot for `audit_services.diff`, its decimals as `_audit_decimal` text."""
    return {key: _audit_decimal(v) if isinstance(v, Decimal) else v for key, v in values.items()}


# --- products -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductIn:
    code: str
    name: str
    price_model: str
    currency: str
    unit_price: Decimal
    tiers: str
    billing_period: str
    timing: str
    metric: str = ""
    aggregation: str = Aggregation.SUM
    tax_category: str = TaxCategory.STANDARD
    minimum: Decimal = Decimal(0)
    row: int | None = None


def _choice(value: str, choices: Sequence[str], field: str, row: int | None) -> str:
    normalized = value.strip().lower()
    if normalized not in choices:
        raise UnableToSaveBillingData(
            f"'{value}' is not one of {', '.join(choices)}", field=field, row=row, code=f"bad_{field}"
        )
    return normalized


def product_normalized(data: ProductIn) -> ProductIn:
    """The product in canonical form, or UnableToSaveBillingData naming the field."""
    row = data.row
    if not data.code.strip():
        raise UnableToSaveBillingData("is empty", field="product_code", row=row, code="missing_code")
    if not data.name.strip():
        raise UnableToSaveBillingData("is empty", field="name", row=row, code="missing_name")
    price_model = _choice(data.price_model, PriceModel.values, "price_model", row)
    billing_period = _choice(data.billing_period, BillingPeriod.values, "billing_period", row)
    timing = _choice(data.timing, Timing.values, "timing", row)
    aggregation = _choice(data.aggregation or Aggregation.SUM, Aggregation.values, "aggregation", row)
    tax_category = _choice(data.tax_category or TaxCategory.STANDARD, TaxCategory.values, "tax_category", row)
    try:
        currency = ensure_currency(data.currency.strip().upper())
    except UnableToHandleMoney:
        raise UnableToSaveBillingData(
            f"'{data.currency}' is not an ISO 4217 currency", field="currency", row=row, code="bad_currency"
        ) from None
    try:
        minimum = Money(data.minimum, currency)
        minimum.to_minor()
    except UnableToHandleMoney as error:
        raise UnableToSaveBillingData(error.message, field="minimum", row=row, code=error.code) from None
    if data.unit_price < 0:
        raise UnableToSaveBillingData("is negative", field="unit_price", row=row, code="bad_price")
    tiers = data.tiers.strip()
    if price_model in (PriceModel.TIERED, PriceModel.VOLUME, PriceModel.PACKAGE):
        if not tiers:
            raise UnableToSaveBillingData(
                f"the {price_model} price model needs tiers", field="tiers", row=row, code="missing_tiers"
            )
        try:
            parsed = rating.parse_tiers(tiers)
        except rating.UnableToRate as error:
            raise UnableToSaveBillingData(str(error), field="tiers", row=row, code="bad_tiers") from None
        if price_model == PriceModel.PACKAGE and (len(parsed) != 1 or parsed[0].upper is None):
            raise UnableToSaveBillingData(
                "a package price is one SIZE:PRICE", field="tiers", row=row, code="bad_tiers"
            )
        tiers = "|".join(f"{'*' if t.upper is None else t.upper}:{t.price}" for t in parsed)
    else:
        tiers = ""
    metric = data.metric.strip()
    if billing_period == BillingPeriod.ONCE and metric:
        raise UnableToSaveBillingData(
            "a one-time fee cannot be metered", field="metric", row=row, code="bad_metric"
        )
    return replace(
        data,
        code=data.code.strip(),
        name=data.name.strip(),
        price_model=price_model,
        currency=currency,
        tiers=tiers,
        billing_period=billing_period,
        timing=timing,
        metric=metric,
        aggregation=aggregation,
        tax_category=tax_category,
    )


def _product_snapshot(product: Product | None, price: Any) -> dict[str, Any]:
    if product is None:
        return {}
    values: dict[str, Any] = {
        "name": product.name,
        "billing_period": product.billing_period,
        "timing": product.timing,
        "metric": product.metric,
        "aggregation": product.aggregation,
        "tax_category": product.tax_category,
    }
    if price is not None:
        values |= {
            "price_model": price.price_model,
            "unit_price": price.unit_price.normalize(),
            "tiers": price.tiers,
            "minimum_minor": price.minimum_minor,
        }
    return values


@transaction.atomic
def products_import(
    *, entity: LegalEntity, products: Sequence[ProductIn], actor: User | None, now: datetime
) -> Counts:
    """Create or update products and their price per currency. Atomic; the same rows twice change nothing."""
    seen: dict[tuple[str, str], int | None] = {}
    existing = {p.code: p for p in Product.objects.select_for_update().filter(entity=entity)}
    prices = {(p.product_id, p.currency): p for p in Price.objects.filter(product__entity=entity)}
    created = updated = unchanged = 0
    events: list[AuditEvent] = []
    for raw in products:
        data = product_normalized(raw)
        key = (data.code, data.currency)
        if key in seen:
            raise UnableToSaveBillingData(
                f"product {data.code} in {data.currency} appears twice (also row {seen[key]})",
                field="product_code",
                row=data.row,
                code="duplicate_product",
            )
        seen[key] = data.row
        product = existing.get(data.code)
        price = prices.get((product.pk, data.currency)) if product else None
        before = _product_snapshot(product, price)
        minimum_minor = Money(data.minimum, data.currency).to_minor()
        after = {
            "name": data.name,
            "billing_period": data.billing_period,
            "timing": data.timing,
            "metric": data.metric,
            "aggregation": data.aggregation,
            "tax_category": data.tax_category,
            "price_model": data.price_model,
            "unit_price": data.unit_price.normalize(),
            "tiers": data.tiers,
            "minimum_minor": minimum_minor,
        }
        if product is None:
            product = Product.objects.create(
                entity=entity,
                code=data.code,
                created_at=now,
                updated_at=now,
                **{k: after[k] for k in _PRODUCT_FIELDS},
            )
            existing[data.code] = product
        elif any(before.get(k) != after[k] for k in _PRODUCT_FIELDS):
            for k in _PRODUCT_FIELDS:
                setattr(product, k, after[k])
            product.updated_at = now
            product.save()
        if price is None:
            price = Price.objects.create(
                product=product, currency=data.currency, **{k: after[k] for k in _PRICE_FIELDS}
            )
            prices[(product.pk, data.currency)] = price
        elif any(before.get(k) != after[k] for k in _PRICE_FIELDS):
            for k in _PRICE_FIELDS:
                setattr(price, k, after[k])
            price.save()
        changes = audit_services.diff(_audit_text(before), _audit_text(after))
        if not before:
            created += 1
        elif changes:
            updated += 1
        else:
            unchanged += 1
            continue
        events.append(
            audit_services.event(
                actor=actor,
                action="billing.product.created" if not before else "billing.product.updated",
                object_type="product",
                object_id=product.pk,
                object_label=f"{data.code} {data.currency}",
                entity_id=entity.pk,
                changes=changes,
                reason="import",
                now=now,
            )
        )
    audit_services.record_many(events)
    return Counts(created, updated, unchanged)


_PRODUCT_FIELDS = ("name", "billing_period", "timing", "metric", "aggregation", "tax_category")
_PRICE_FIELDS = ("price_model", "unit_price", "tiers", "minimum_minor")


# --- subscriptions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionIn:
    number: str
    customer_number: str
    bill_to_number: str
    product_code: str
    quantity: Decimal
    start_date: date
    end_date: date | None = None
    discount_percent: Decimal = Decimal(0)
    po_number: str = ""
    discount_amount: Decimal = Decimal(0)  # off each period's price, in the bill-to's currency
    discount_until: date | None = None  # the last period start the discounts apply to
    row: int | None = None


def _subscription_checks(data: SubscriptionIn) -> None:
    row = data.row
    if not data.number.strip():
        raise UnableToSaveBillingData("is empty", field="subscription_number", row=row, code="missing_number")
    if data.quantity < 0:
        raise UnableToSaveBillingData("is negative", field="quantity", row=row, code="bad_quantity")
    if not Decimal(0) <= data.discount_percent <= Decimal(100):
        raise UnableToSaveBillingData(
            "runs from 0 to 100", field="discount_percent", row=row, code="bad_discount"
        )
    if data.discount_amount < 0:
        raise UnableToSaveBillingData("is negative", field="discount_amount", row=row, code="bad_discount")
    if data.end_date is not None and data.end_date < data.start_date:
        raise UnableToSaveBillingData(
            f"{data.end_date} is before the start date {data.start_date}",
            field="end_date",
            row=row,
            code="bad_dates",
        )


def _rerate(subscription: Subscription, first_day: date) -> None:
    """Days from `first_day` on must be checked again by the next run, if any of them were billed."""
    if subscription.billed_through is not None and first_day <= subscription.billed_through:
        subscription.rerate_from = min(filter(None, [subscription.rerate_from, first_day]))


@transaction.atomic
def subscriptions_import(
    *, entity: LegalEntity, subscriptions: Sequence[SubscriptionIn], actor: User | None, now: datetime
) -> Counts:
    """Create subscriptions, or correct them: a changed row is the contract as it stands since its start,
    so billed periods are re-rated and the next run bills or credits the difference."""
    customers = {c.number: c for c in Customer.objects.filter(entity=entity)}
    products = {p.code: p for p in Product.objects.filter(entity=entity)}
    priced = set(Price.objects.filter(product__entity=entity).values_list("product_id", "currency"))
    existing = {
        s.number: s
        for s in Subscription.objects.select_for_update().filter(entity=entity).prefetch_related("terms")
    }
    seen: dict[str, int | None] = {}
    created = updated = unchanged = 0
    events: list[AuditEvent] = []
    for data in subscriptions:
        _subscription_checks(data)
        number = data.number.strip()
        if number in seen:
            raise UnableToSaveBillingData(
                f"subscription {number} appears twice (also row {seen[number]})",
                field="subscription_number",
                row=data.row,
                code="duplicate_number",
            )
        seen[number] = data.row
        customer = customers.get(data.customer_number.strip())
        if customer is None:
            raise UnableToSaveBillingData(
                f"unknown customer '{data.customer_number}'",
                field="customer_number",
                row=data.row,
                code="unknown_customer",
            )
        bill_to = customers.get(data.bill_to_number.strip()) if data.bill_to_number.strip() else customer
        if bill_to is None:
            raise UnableToSaveBillingData(
                f"unknown customer '{data.bill_to_number}'",
                field="bill_to_number",
                row=data.row,
                code="unknown_customer",
            )
        product = products.get(data.product_code.strip())
        if product is None:
            raise UnableToSaveBillingData(
                f"unknown product '{data.product_code}'",
                field="product_code",
                row=data.row,
                code="unknown_product",
            )
        if (product.pk, bill_to.currency) not in priced:
            raise UnableToSaveBillingData(
                f"product {product.code} has no price in {bill_to.currency}, the currency of "
                f"{bill_to.number}",
                field="product_code",
                row=data.row,
                code="no_price",
            )
        after: dict[str, Any] = {
            "customer": customer.number,
            "bill_to": bill_to.number,
            "product": product.code,
            "quantity": _audit_decimal(data.quantity),
            "start_date": data.start_date,
            "end_date": data.end_date,
            "discount_percent": _audit_decimal(data.discount_percent),
            "po_number": data.po_number.strip(),
            "discount_amount": _audit_decimal(data.discount_amount),
            "discount_until": data.discount_until,
        }
        try:
            discount_minor = Money(data.discount_amount, bill_to.currency).to_minor()
        except UnableToHandleMoney as error:
            raise UnableToSaveBillingData(
                error.message, field="discount_amount", row=data.row, code=error.code
            ) from None
        subscription = existing.get(number)
        if subscription is None:
            subscription = Subscription.objects.create(
                entity=entity,
                number=number,
                customer=customer,
                bill_to=bill_to,
                currency=bill_to.currency,
                start_date=data.start_date,
                end_date=data.end_date,
                po_number=after["po_number"],
                discount_amount_minor=discount_minor,
                discount_until=data.discount_until,
                created_at=now,
                updated_at=now,
            )
            SubscriptionTerm.objects.create(
                subscription=subscription,
                effective_from=data.start_date,
                product=product,
                quantity=data.quantity,
                discount_percent=data.discount_percent,
                created_at=now,
            )
            created += 1
            changes = audit_services.diff({}, after)
        else:
            terms = sorted(subscription.terms.all(), key=lambda t: t.effective_from)
            first = terms[0]
            before = {
                "customer": customers_by_id(customers)[subscription.customer_id].number,
                "bill_to": customers_by_id(customers)[subscription.bill_to_id].number,
                "product": next(p.code for p in products.values() if p.pk == first.product_id),
                "quantity": _audit_decimal(first.quantity),
                "start_date": subscription.start_date,
                "end_date": subscription.end_date,
                "discount_percent": _audit_decimal(first.discount_percent),
                "po_number": subscription.po_number,
                "discount_amount": _audit_decimal(
                    Money.from_minor(subscription.discount_amount_minor, subscription.currency).amount
                ),
                "discount_until": subscription.discount_until,
            }
            changes = audit_services.diff(before, after)
            if not changes:
                unchanged += 1
                continue
            if bill_to.pk != subscription.bill_to_id and subscription.billed_through is not None:
                raise UnableToSaveBillingData(
                    f"subscription {number} was billed to {before['bill_to']}; end it and start a new one",
                    field="bill_to_number",
                    row=data.row,
                    code="bill_to_changed",
                )
            _rerate(subscription, min(subscription.start_date, data.start_date))
            subscription.customer = customer
            subscription.bill_to = bill_to
            subscription.currency = bill_to.currency
            subscription.start_date = data.start_date
            subscription.end_date = data.end_date
            subscription.po_number = after["po_number"]
            subscription.discount_amount_minor = discount_minor
            subscription.discount_until = data.discount_until
            subscription.updated_at = now
            subscription.save()
            SubscriptionTerm.objects.filter(pk=first.pk).update(
                effective_from=data.start_date,
                product=product,
                quantity=data.quantity,
                discount_percent=data.discount_percent,
            )
            updated += 1
        events.append(
            audit_services.event(
                actor=actor,
                action="billing.subscription.imported",
                object_type="subscription",
                object_id=subscription.pk,
                object_label=number,
                entity_id=entity.pk,
                changes=changes,
                reason="import",
                now=now,
            )
        )
    audit_services.record_many(events)
    return Counts(created, updated, unchanged)


def customers_by_id(customers: dict[str, Customer]) -> dict[int, Customer]:
    return {c.pk: c for c in customers.values()}


@transaction.atomic
def subscription_amend(
    *,
    subscription_id: int,
    effective_from: date,
    actor: User | None,
    now: datetime,
    quantity: Decimal | None = None,
    product_code: str | None = None,
    discount_percent: Decimal | None = None,
    reason: str = "",
) -> SubscriptionTerm:
    """A quantity change, upgrade or downgrade from a day on; the next run prorates the difference."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    terms = list(SubscriptionTerm.objects.filter(subscription=subscription).order_by("effective_from"))
    current = [t for t in terms if t.effective_from <= effective_from][-1:] or terms[:1]
    base = current[0]
    if effective_from < subscription.start_date or (
        subscription.end_date is not None and effective_from > subscription.end_date
    ):
        raise UnableToSaveBillingData(
            f"{effective_from} is outside the subscription's dates", field="effective_from", code="bad_dates"
        )
    product = base.product
    if product_code is not None:
        candidate = Product.objects.filter(entity_id=subscription.entity_id, code=product_code).first()
        if candidate is None:
            raise UnableToSaveBillingData(
                f"unknown product '{product_code}'", field="product_code", code="unknown_product"
            )
        if (candidate.billing_period, candidate.timing, candidate.metric) != (
            product.billing_period,
            product.timing,
            product.metric,
        ):
            raise UnableToSaveBillingData(
                f"{candidate.code} bills on another schedule than {product.code}",
                field="product_code",
                code="schedule_differs",
            )
        if not candidate.prices.filter(currency=subscription.currency).exists():
            raise UnableToSaveBillingData(
                f"product {candidate.code} has no price in {subscription.currency}",
                field="product_code",
                code="no_price",
            )
        product = candidate
    new_quantity = base.quantity if quantity is None else quantity
    if new_quantity < 0:
        raise UnableToSaveBillingData("is negative", field="quantity", code="bad_quantity")
    new_discount = base.discount_percent if discount_percent is None else discount_percent
    term, _ = SubscriptionTerm.objects.update_or_create(
        subscription=subscription,
        effective_from=effective_from,
        defaults={
            "product": product,
            "quantity": new_quantity,
            "discount_percent": new_discount,
            "reason": reason,
            "created_at": now,
        },
    )
    _rerate(subscription, effective_from)
    subscription.updated_at = now
    subscription.save(update_fields=["rerate_from", "updated_at"])
    audit_services.record(
        actor=actor,
        action="billing.subscription.amended",
        object_type="subscription",
        object_id=subscription.pk,
        object_label=subscription.number,
        entity_id=subscription.entity_id,
        changes={
            "product": (base.product.code, product.code),
            "quantity": (_audit_decimal(base.quantity), _audit_decimal(new_quantity)),
            "discount_percent": (_audit_decimal(base.discount_percent), _audit_decimal(new_discount)),
            "effective_from": (None, effective_from),
        },
        reason=reason,
        now=now,
    )
    return term


@transaction.atomic
def subscription_end_set(
    *, subscription_id: int, end_date: date | None, actor: User | None, now: datetime, reason: str = ""
) -> Subscription:
    """Cancel (an end date earlier than before: billed days after it are credited) or renew (a later
    end date, or none for an open-ended contract)."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    if end_date is not None and end_date < subscription.start_date:
        raise UnableToSaveBillingData(
            f"{end_date} is before the start date {subscription.start_date}",
            field="end_date",
            code="bad_dates",
        )
    old = subscription.end_date
    if old == end_date:
        return subscription
    if end_date is not None and (old is None or end_date < old):
        _rerate(subscription, end_date + timedelta(days=1))  # the first day no longer served
    elif old is not None:
        _rerate(subscription, old + timedelta(days=1))  # a renewal serves (and bills) these days again
    subscription.end_date = end_date
    subscription.updated_at = now
    subscription.save(update_fields=["end_date", "rerate_from", "updated_at"])
    audit_services.record(
        actor=actor,
        action="billing.subscription.cancelled"
        if end_date is not None and (old is None or end_date < old)
        else "billing.subscription.renewed",
        object_type="subscription",
        object_id=subscription.pk,
        object_label=subscription.number,
        entity_id=subscription.entity_id,
        changes={"end_date": (old, end_date)},
        reason=reason,
        now=now,
    )
    return subscription


# --- usage ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageIn:
    event_id: str
    subscription_number: str
    metric: str
    quantity: Decimal
    occurred_at: datetime
    unique_key: str = ""
    row: int | None = None


@dataclass(frozen=True)
class UsageImported:
    created: int
    ignored: int
    late: int


@transaction.atomic
def usage_import(
    *,
    entity: LegalEntity,
    events: Sequence[UsageIn],
    now: datetime,
    on_progress: Callable[[int], None] | None = None,
) -> UsageImported:
    """Record metered events. An event id seen before is ignored (re-sent batches change nothing); an
    event for a period already billed marks it for re-rating, so the next invoice carries the adjustment."""
    zone = ZoneInfo(entity.time_zone)
    subscriptions: dict[str, tuple[int, str, str, date, date | None]] = {}
    for sub_id, number, metric, period, start, end in (
        Subscription.objects.filter(entity=entity)
        .order_by("pk")
        .values_list(
            "pk",
            "number",
            "terms__product__metric",
            "terms__product__billing_period",
            "start_date",
            "end_date",
        )
    ):
        subscriptions.setdefault(number, (sub_id, metric or "", period, start, end))
    seen: set[str] = set()
    rows: list[UsageEvent] = []
    for data in events:
        event_id = data.event_id.strip()
        if not event_id:
            raise UnableToSaveBillingData("is empty", field="event_id", row=data.row, code="missing_event_id")
        if event_id in seen:
            continue
        seen.add(event_id)
        found = subscriptions.get(data.subscription_number.strip())
        if found is None:
            raise UnableToSaveBillingData(
                f"unknown subscription '{data.subscription_number}'",
                field="subscription_number",
                row=data.row,
                code="unknown_subscription",
            )
        sub_id, metric, billing_period, start, end = found
        if not metric or data.metric.strip() != metric:
            expected = f"'{metric}'" if metric else "no metric (it is not metered)"
            raise UnableToSaveBillingData(
                f"'{data.metric}' is not the subscription's metric; it has {expected}",
                field="metric",
                row=data.row,
                code="bad_metric",
            )
        if data.occurred_at.tzinfo is None:
            raise UnableToSaveBillingData(
                "has no time zone offset", field="timestamp", row=data.row, code="bad_timestamp"
            )
        day = data.occurred_at.astimezone(zone).date()
        if day < start or (end is not None and day > end):
            raise UnableToSaveBillingData(
                f"{day} is outside the subscription's dates",
                field="timestamp",
                row=data.row,
                code="bad_timestamp",
            )
        try:
            micro = rating.quantity_to_micro(data.quantity)
        except rating.UnableToRate as error:
            raise UnableToSaveBillingData(
                str(error), field="quantity", row=data.row, code="bad_quantity"
            ) from None
        if micro < 0:
            raise UnableToSaveBillingData("is negative", field="quantity", row=data.row, code="bad_quantity")
        rows.append(
            UsageEvent(
                entity=entity,
                event_id=event_id,
                subscription_id=sub_id,
                metric=metric,
                quantity_micro=micro,
                unique_key=data.unique_key.strip(),
                occurred_at=data.occurred_at,
                period_start=rating.period_of(day, billing_period).start,
                received_at=now,
            )
        )
    known: set[str] = set()
    ids = [row.event_id for row in rows]
    for offset in range(0, len(ids), CHUNK):
        known.update(
            UsageEvent.objects.filter(entity=entity, event_id__in=ids[offset : offset + CHUNK]).values_list(
                "event_id", flat=True
            )
        )
    fresh = [row for row in rows if row.event_id not in known]
    for offset in range(0, len(fresh), CHUNK):
        UsageEvent.objects.bulk_create(fresh[offset : offset + CHUNK])
        if on_progress:
            on_progress(len(fresh[offset : offset + CHUNK]))
    late = _mark_late_usage(fresh)
    return UsageImported(created=len(fresh), ignored=len(events) - len(fresh), late=late)


def _mark_late_usage(events: Sequence[UsageEvent]) -> int:
    """Subscriptions billed past a new event's period are re-rated from that period."""
    earliest: dict[int, date] = {}
    for event in events:
        current = earliest.get(event.subscription_id)
        if current is None or event.period_start < current:
            earliest[event.subscription_id] = event.period_start
    late = 0
    ids = list(earliest)
    for offset in range(0, len(ids), CHUNK):
        for subscription in Subscription.objects.select_for_update().filter(
            pk__in=ids[offset : offset + CHUNK], billed_through__isnull=False
        ):
            first = earliest[subscription.pk]
            if first <= subscription.billed_through:  # type: ignore[operator]
                _rerate(subscription, first)
                subscription.save(update_fields=["rerate_from"])
                late += 1
    return late


# --- the seller's invoice profile ---------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceProfileIn:
    """What a seller prints on its invoices beyond its name, country and tax registrations."""

    address: str = ""  # one line per address line
    email: str = ""  # sender and reply address of invoice e-mails
    register_court: str = ""
    register_number: str = ""
    managing_directors: str = ""


INVOICE_ADDRESS_LINES = 6
_PROFILE_LIMITS = {"register_court": 100, "register_number": 60, "managing_directors": 200}


def _profile_values(data: InvoiceProfileIn) -> dict[str, str]:
    lines = [" ".join(line.split()) for line in data.address.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > INVOICE_ADDRESS_LINES:
        raise UnableToSaveBillingData(
            f"has {len(lines)} lines; an invoice prints at most {INVOICE_ADDRESS_LINES}",
            field="address",
            code="too_many_lines",
        )
    values = {
        "address": "\n".join(lines),
        "email": data.email.strip(),
        **{name: " ".join(getattr(data, name).split()) for name in _PROFILE_LIMITS},
    }
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            raise UnableToSaveBillingData(
                f"'{values['email']}' is not an e-mail address", field="email", code="bad_email"
            ) from None
    for name, limit in {**_PROFILE_LIMITS, "email": 254}.items():
        if len(values[name]) > limit:
            raise UnableToSaveBillingData(f"is longer than {limit} characters", field=name, code="too_long")
    return values


@transaction.atomic
def invoice_profile_set(
    *, entity: LegalEntity, data: InvoiceProfileIn, actor: User | None, now: datetime, reason: str = ""
) -> InvoiceProfile:
    """Create or change the seller details an entity prints on its invoices (address, invoice e-mail
    address, commercial register, managing directors). Invoices rendered from then on print them;
    issued invoices are not rendered again. Audited with the old and new values; no change, no event."""
    values = _profile_values(data)
    profile = InvoiceProfile.objects.select_for_update().filter(entity=entity).first()
    before = {name: getattr(profile, name) for name in values} if profile is not None else {}
    changes = audit_services.diff(before, values)
    if profile is not None and not changes:
        return profile
    if profile is None:
        profile = InvoiceProfile.objects.create(entity=entity, **values)
        changes = {name: change for name, change in changes.items() if change[1]}
    else:
        for name, value in values.items():
            setattr(profile, name, value)
        profile.save(update_fields=list(values))
    audit_services.record(
        actor=actor,
        action="billing.invoice_profile.created" if not before else "billing.invoice_profile.updated",
        object_type="invoice_profile",
        object_id=profile.pk,
        object_label=entity.code,
        entity_id=entity.pk,
        changes=changes,
        reason=reason,
        now=now,
    )
    return profile


# --- customers' sales tax exemption certificates --------------------------------------------------


def _exemption_label(exemption: TaxExemption, customer: Customer) -> str:
    return f"{customer.number} {exemption.region} {exemption.certificate}"


def _is_revoked(exemption: TaxExemption) -> bool:
    return exemption.valid_to is not None and exemption.valid_to < exemption.valid_from


@transaction.atomic
def tax_exemption_add(
    *,
    customer_id: int,
    region: str,
    certificate: str,
    valid_from: date,
    valid_to: date | None,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> TaxExemption:
    """Record a US customer's sales tax exemption certificate for a state, valid from a day (to a day,
    inclusive, or open). Lines billed for that state from then on are exempt (category E, the certificate
    number in the note); issued invoices keep their tax. A customer holds one certificate per state at a
    time: validity overlapping another certificate of the state is refused."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    region = region.strip().upper()
    certificate = " ".join(certificate.split())
    if customer.country != "US":
        raise UnableToSaveBillingData(
            f"{customer.number} is in {customer.country}: exemption certificates are for US sales tax",
            field="region",
            code="not_us_customer",
        )
    if region not in ledger_services.US_STATES:
        raise UnableToSaveBillingData(f"'{region}' is not a US state code", field="region", code="bad_region")
    if not certificate:
        raise UnableToSaveBillingData("is empty", field="certificate", code="missing_certificate")
    if len(certificate) > 60:
        raise UnableToSaveBillingData("is longer than 60 characters", field="certificate", code="too_long")
    if valid_to is not None and valid_to < valid_from:
        raise UnableToSaveBillingData(
            f"{valid_to} is before the first valid day {valid_from}", field="valid_to", code="bad_dates"
        )
    for other in TaxExemption.objects.filter(customer=customer, region=region):
        overlaps = other.valid_from <= (valid_to or date.max) and valid_from <= (other.valid_to or date.max)
        if overlaps and not _is_revoked(other):
            until = other.valid_to.isoformat() if other.valid_to else "open"
            raise UnableToSaveBillingData(
                f"certificate {other.certificate} is valid in {region} from {other.valid_from} to {until}; "
                "end it first",
                field="valid_from",
                code="overlapping_exemption",
            )
    exemption = TaxExemption.objects.create(
        customer=customer, region=region, certificate=certificate, valid_from=valid_from, valid_to=valid_to
    )
    audit_services.record(
        actor=actor,
        action="billing.tax_exemption.created",
        object_type="tax_exemption",
        object_id=exemption.pk,
        object_label=_exemption_label(exemption, customer),
        entity_id=customer.entity_id,
        changes={
            "region": (None, region),
            "certificate": (None, certificate),
            "valid_from": (None, valid_from),
            "valid_to": (None, valid_to),
        },
        reason=reason,
        now=now,
    )
    return exemption


def _exemption_for_change(exemption_id: int) -> TaxExemption:
    exemption = TaxExemption.objects.select_for_update().select_related("customer").get(pk=exemption_id)
    if _is_revoked(exemption):
        raise UnableToSaveBillingData(
            f"certificate {exemption.certificate} is revoked", field="valid_to", code="exemption_revoked"
        )
    return exemption


@transaction.atomic
def tax_exemption_end(
    *, exemption_id: int, valid_to: date, actor: User | None, now: datetime, reason: str = ""
) -> TaxExemption:
    """End a certificate: `valid_to` is its last valid day. It can end earlier than it did, never later
    (a renewed certificate is a new one); lines billed for days after it are taxed again."""
    exemption = _exemption_for_change(exemption_id)
    if valid_to < exemption.valid_from:
        raise UnableToSaveBillingData(
            f"{valid_to} is before the first valid day {exemption.valid_from}; "
            "revoke the certificate instead",
            field="valid_to",
            code="bad_dates",
        )
    old = exemption.valid_to
    if old is not None and valid_to > old:
        raise UnableToSaveBillingData(
            f"the certificate ends on {old} already; record the renewed certificate as a new one",
            field="valid_to",
            code="cannot_extend",
        )
    if old == valid_to:
        return exemption
    exemption.valid_to = valid_to
    exemption.save(update_fields=["valid_to"])
    audit_services.record(
        actor=actor,
        action="billing.tax_exemption.ended",
        object_type="tax_exemption",
        object_id=exemption.pk,
        object_label=_exemption_label(exemption, exemption.customer),
        entity_id=exemption.customer.entity_id,
        changes={"valid_to": (old, valid_to)},
        reason=reason,
        now=now,
    )
    return exemption


@transaction.atomic
def tax_exemption_revoke(
    *, exemption_id: int, actor: User | None, now: datetime, reason: str
) -> TaxExemption:
    """Revoke a certificate that never applied (invalid, issued in error): it is kept, for the record,
    with its last valid day set to the day before its first, so it covers no day. Says why."""
    if not reason.strip():
        raise UnableToSaveBillingData(
            "say why the certificate is revoked", field="reason", code="reason_required"
        )
    exemption = _exemption_for_change(exemption_id)
    old = exemption.valid_to
    exemption.valid_to = exemption.valid_from - timedelta(days=1)
    exemption.save(update_fields=["valid_to"])
    audit_services.record(
        actor=actor,
        action="billing.tax_exemption.revoked",
        object_type="tax_exemption",
        object_id=exemption.pk,
        object_label=_exemption_label(exemption, exemption.customer),
        entity_id=exemption.customer.entity_id,
        changes={"valid_to": (old, exemption.valid_to)},
        reason=reason,
        now=now,
    )
    return exemption
