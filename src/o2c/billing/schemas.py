"""Shapes of the billing API (`/api/billing`). Money travels as locale-free decimal strings with the
currency's decimals, quantities as plain decimal strings (never a JSON number), dates and moments
ISO 8601, enumerations lowercase."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from o2c.billing import review
from o2c.billing.models import BillingRun, Subscription, SubscriptionTerm
from o2c.core.money import format_minor
from o2c.customers.schemas import DecimalString, PageFilter
from o2c.receivables.schemas import CustomerRef, plain_decimal

MAX_USAGE_EVENTS = 10_000


# --- usage ---------------------------------------------------------------------------------------


class UsageEventIn(Schema):
    """One metered event: the columns of the usage CSV."""

    event_id: str = Field(..., max_length=100, description="the sender's id; a re-sent id is ignored")
    subscription_number: str = Field(..., max_length=60)
    metric: str = Field(..., max_length=60)
    quantity: DecimalString
    timestamp: str = Field(
        ..., description="ISO 8601 with a time zone offset", examples=["2026-01-10T08:00:00+01:00"]
    )
    unique_key: str = Field("", max_length=100, description="what a unique_count metric counts")


class UsageBatchIn(Schema):
    entity: str | None = Field(None, description="legal entity code; default: the caller's default entity")
    events: list[UsageEventIn] = Field(..., min_length=1, max_length=MAX_USAGE_EVENTS)


class UsageImportedOut(Schema):
    created: int
    ignored: int = Field(..., description="events whose event_id was known already")
    late: int = Field(..., description="subscriptions re-rated because an event fell in a billed period")


# --- subscriptions ---------------------------------------------------------------------------------


class SubscriptionFilter(PageFilter):
    search: str = Field("", description="subscription, customer or PO number prefix")
    entity: str | None = Field(None, description="legal entity code")
    customer_number: str | None = Field(None, description="the customer or the bill-to customer")
    active_on: date | None = Field(None, description="started on or before, not ended before this day")


class TermOut(Schema):
    effective_from: date
    effective_to: date | None
    product_code: str
    product_name: str
    billing_period: str
    timing: str
    metric: str
    quantity: str
    discount_percent: str
    reason: str

    @staticmethod
    def of(term: review.TermRow) -> TermOut:
        return TermOut(
            effective_from=term.effective_from,
            effective_to=term.effective_to,
            product_code=term.product_code,
            product_name=term.product_name,
            billing_period=term.billing_period,
            timing=term.timing,
            metric=term.metric,
            quantity=plain_decimal(term.quantity),
            discount_percent=plain_decimal(term.discount_percent),
            reason=term.reason,
        )


class SubscriptionOut(Schema):
    id: int
    entity: str
    number: str
    customer: CustomerRef
    bill_to: CustomerRef
    currency: str
    start_date: date
    end_date: date | None
    po_number: str
    product_code: str | None = Field(..., description="the product of the term in force last")
    quantity: str | None
    billed_through: date | None
    rerate_from: date | None = Field(..., description="first day the next run checks again")

    @staticmethod
    def fields_of(subscription: Subscription, term: SubscriptionTerm | None) -> dict[str, Any]:
        """`subscription` with entity, customer and bill_to loaded (select_related)."""
        return {
            "id": subscription.pk,
            "entity": subscription.entity.code,
            "number": subscription.number,
            "customer": CustomerRef(
                id=subscription.customer.pk,
                number=subscription.customer.number,
                name=subscription.customer.name,
            ),
            "bill_to": CustomerRef(
                id=subscription.bill_to.pk, number=subscription.bill_to.number, name=subscription.bill_to.name
            ),
            "currency": subscription.currency,
            "start_date": subscription.start_date,
            "end_date": subscription.end_date,
            "po_number": subscription.po_number,
            "product_code": term.product.code if term is not None else None,
            "quantity": plain_decimal(term.quantity) if term is not None else None,
            "billed_through": subscription.billed_through,
            "rerate_from": subscription.rerate_from,
        }

    @staticmethod
    def of(subscription: Subscription, term: SubscriptionTerm | None) -> SubscriptionOut:
        return SubscriptionOut.model_validate(SubscriptionOut.fields_of(subscription, term))


class SubscriptionPage(Schema):
    items: list[SubscriptionOut]
    next_cursor: str | None


class BilledOut(Schema):
    """One thing a document billed for a period: a segment, or an adjustment (negative: a credit)."""

    period_start: date
    service_start: date
    service_end: date
    amount: str = Field(..., description="net, signed")
    quantity: str
    tax_rate: str
    document_id: int
    document_number: str | None = Field(..., description="null while the document is a draft")
    document_type: str
    document_status: str
    run_id: int


class SubscriptionDetailOut(SubscriptionOut):
    terms: list[TermOut]
    billed: list[BilledOut] = Field(..., description="newest period first")
    billed_net: str

    @staticmethod
    def of_detail(detail: review.SubscriptionDetail) -> SubscriptionDetailOut:
        subscription = detail.subscription
        currency = subscription.currency
        last = detail.terms[-1] if detail.terms else None
        fields = SubscriptionOut.fields_of(subscription, None)
        fields["product_code"] = last.product_code if last is not None else None
        fields["quantity"] = plain_decimal(last.quantity) if last is not None else None
        return SubscriptionDetailOut.model_validate(
            {
                **fields,
                "terms": [TermOut.of(term) for term in detail.terms],
                "billed": [
                    BilledOut(
                        period_start=row.period_start,
                        service_start=row.service_start,
                        service_end=row.service_end,
                        amount=format_minor(row.amount_minor, currency),
                        quantity=plain_decimal(row.quantity),
                        tax_rate=plain_decimal(row.tax_rate),
                        document_id=row.document_id,
                        document_number=row.document_number,
                        document_type=row.document_type,
                        document_status=row.document_status,
                        run_id=row.run_id,
                    )
                    for period in detail.periods
                    for row in period.lines
                ],
                "billed_net": format_minor(detail.billed_net_minor, currency),
            }
        )


# --- runs ------------------------------------------------------------------------------------------


class RunFilter(PageFilter):
    entity: str | None = Field(None, description="legal entity code")


class RunErrorOut(Schema):
    subscription_number: str
    message: str


class RunOut(Schema):
    id: int
    entity: str
    as_of: date
    issue: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    started_by: str | None = Field(..., description="username; null for a scheduled run")
    subscriptions_billed: int
    invoices_created: int
    invoices_issued: int
    totals: dict[str, str] = Field(..., description="gross per currency", examples=[{"EUR": "1190.00"}])
    errors: list[RunErrorOut]

    @staticmethod
    def of(run: BillingRun) -> RunOut:
        """`run` with entity and started_by loaded (select_related)."""
        return RunOut(
            id=run.pk,
            entity=run.entity.code,
            as_of=run.as_of,
            issue=run.issue,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            started_by=run.started_by.get_username() if run.started_by is not None else None,
            subscriptions_billed=run.subscriptions_billed,
            invoices_created=run.invoices_created,
            invoices_issued=run.invoices_issued,
            totals={
                currency: format_minor(int(minor), currency) for currency, minor in sorted(run.totals.items())
            },
            errors=[
                RunErrorOut(
                    subscription_number=str(error.get("subscription_number", "")),
                    message=str(error.get("message", "")),
                )
                for error in run.errors
            ],
        )


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None


class AmendIn(Schema):
    """A change from a day on: quantity, product (same schedule) or discount; what is not given stays."""

    effective_from: date
    quantity: DecimalString | None = None
    product_code: str | None = Field(None, max_length=60)
    discount_percent: DecimalString | None = None
    reason: str = Field(..., min_length=1, max_length=200)
    entity: str | None = Field(None, description="legal entity code, where the number exists in several")


class EndIn(Schema):
    """An end date (the last day served; earlier than before cancels, later or null renews)."""

    end_date: date | None
    reason: str = Field(..., min_length=1, max_length=200)
    entity: str | None = Field(None, description="legal entity code, where the number exists in several")


class RunIn(Schema):
    as_of: date
    issue: bool = Field(False, description="issue and post the invoices; false: a preview of drafts")
    entity: str | None = Field(None, description="legal entity code; default: the caller's default entity")


class RunLineOut(Schema):
    product_code: str
    description: str
    quantity: str
    unit_price: str
    amount: str
    period_start: str | None
    period_end: str | None


class RunInvoiceOut(Schema):
    """A document of the run, as `o2c billing run --format json` writes it."""

    invoice_number: str | None = Field(..., description="null for a preview's draft")
    document_type: str
    customer_number: str
    currency: str
    net: str
    tax: str
    gross: str
    lines: list[RunLineOut]


class RunResultOut(Schema):
    """`o2c billing run --format json`'s object, plus the run's id and the subscriptions it could not
    bill."""

    run_id: int
    as_of: date
    invoices: list[RunInvoiceOut]
    errors: list[RunErrorOut]
