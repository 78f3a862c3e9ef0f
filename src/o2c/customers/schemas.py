"""Shapes of the customers API. Money travels as locale-free decimal strings with the currency's
decimals ("1190.00"), enumerations lowercase, dates and moments ISO 8601."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema

from o2c.core.money import format_minor
from o2c.customers.models import Customer

# A locale-free decimal string: digits, an optional sign and an optional decimal point; no exponent,
# no thousands separator, never a JSON number (a float has no business near money).
DecimalString = Annotated[str, Field(pattern=r"^[+-]?\d{1,18}(\.\d{1,9})?$", examples=["1190.00"])]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def decimal_of(text: DecimalString) -> Decimal:
    """The Decimal of a string the schema has already validated as a DecimalString."""
    return Decimal(text)


class PageFilter(Schema):
    """Cursor pagination: pass `next_cursor` of the previous page as `cursor` to get the next one."""

    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class CustomerFilter(PageFilter):
    search: str = Field("", description="number, VAT id or e-mail prefix, or part of the name")
    status: Customer.Status | None = None
    entity: str | None = Field(None, description="legal entity code")


class CustomerIn(Schema):
    """The columns of the customers CSV contract; `entity` defaults to the caller's default entity."""

    number: str = Field(..., min_length=1, max_length=40)
    name: str = Field(..., min_length=1, max_length=200)
    country: str = Field(..., description="ISO 3166 alpha-2")
    currency: str = Field(..., description="ISO 4217")
    language: str = Field("en", description="ISO 639-1")
    payment_terms: str = Field("NET30", examples=["NET30", "NET0", "2/10NET30"])
    email: str = ""
    vat_id: str = ""
    parent_number: str = ""
    credit_limit: DecimalString | None = None
    customer_type: str = Field("", max_length=30, examples=["key_account", "sme", "public_sector"])
    entity: str | None = Field(None, description="legal entity code")


class CustomerPatch(Schema):
    """Fields to change; the ones left out keep their value. The number never changes."""

    name: str | None = Field(None, min_length=1, max_length=200)
    country: str | None = None
    currency: str | None = None
    language: str | None = None
    payment_terms: str | None = None
    email: str | None = None
    vat_id: str | None = None
    parent_number: str | None = None
    credit_limit: DecimalString | None = None
    customer_type: str | None = Field(None, max_length=30)
    status: Customer.Status | None = None
    reason: str = Field("", max_length=500, description="why, for the audit trail")


class CustomerOut(Schema):
    id: int
    entity: str
    number: str
    name: str
    country: str
    currency: str
    language: str
    payment_terms: str
    email: str
    vat_id: str
    parent_number: str | None
    status: str
    credit_limit: str | None
    customer_type: str
    risk_class: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(customer: Customer) -> CustomerOut:
        """`customer` with its entity and parent loaded (select_related)."""
        return CustomerOut(
            id=customer.pk,
            entity=customer.entity.code,
            number=customer.number,
            name=customer.name,
            country=customer.country,
            currency=customer.currency,
            language=customer.language,
            payment_terms=customer.payment_terms,
            email=customer.email,
            vat_id=customer.vat_id,
            parent_number=customer.parent.number if customer.parent is not None else None,
            status=customer.status,
            credit_limit=(
                None
                if customer.credit_limit_minor is None
                else format_minor(customer.credit_limit_minor, customer.currency)
            ),
            customer_type=customer.customer_type,
            risk_class=customer.risk_class,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None
