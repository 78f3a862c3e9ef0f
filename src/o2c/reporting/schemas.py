"""Shapes of the reports API: the same documents `o2c report aging|kpis --format json` print. Money as
locale-free decimal strings with the currency's decimals; days and percentages as JSON numbers with two
decimals (null where undefined); dates ISO 8601; enumerations lowercase."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from o2c.customers.schemas import DecimalString


class AgingQuery(Schema):
    as_of: date = Field(..., description="the report date (ISO 8601)")
    basis: Literal["due", "invoice"] = Field("due", description="age by due date (default) or issue date")
    entity: str | None = Field(None, description="legal entity code; default: your default entity")
    format: Literal["json", "csv", "xlsx"] = Field("json", description="json (default), csv or xlsx")


class AgingRowOut(Schema):
    entity: str
    customer_number: str = Field(..., description="empty for cash not identified yet")
    currency: str
    current: DecimalString
    days_1_30: DecimalString = Field(..., alias="1_30")
    days_31_60: DecimalString = Field(..., alias="31_60")
    days_61_90: DecimalString = Field(..., alias="61_90")
    days_91_120: DecimalString = Field(..., alias="91_120")
    over_120: DecimalString
    unapplied: DecimalString = Field(..., description="unapplied cash, negative")
    total: DecimalString


class AgingOut(Schema):
    as_of: date
    basis: Literal["due", "invoice"]
    rows: list[AgingRowOut]


class AgingItemsQuery(Schema):
    as_of: date
    basis: Literal["due", "invoice"] = "due"
    entity: str | None = None
    customer: str | None = Field(None, description="customer number")
    currency: str | None = None


class AgingItemOut(Schema):
    entity: str
    customer_number: str
    currency: str
    kind: str = Field(..., description="invoice, credit_memo or debit_memo")
    number: str
    issue_date: date
    due_date: date
    days: int = Field(..., description="days past due (due basis) or since issue (invoice basis)")
    bucket: str
    amount: DecimalString = Field(..., description="open amount at the report date")
    disputed: bool


class AgingItemsOut(Schema):
    as_of: date
    basis: Literal["due", "invoice"]
    items: list[AgingItemOut]


class KpiQuery(Schema):
    as_of: date
    entity: str | None = None


class KpisOut(Schema):
    """Each KPI is defined with its formula in docs/kpis.md."""

    as_of: date
    entity: str
    currency: str = Field(..., description="the entity's functional currency, of every amount")
    dso: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    percent_current: Decimal | None
    percent_over_90: Decimal | None
    unapplied_cash: DecimalString
    disputed_amount: DecimalString
