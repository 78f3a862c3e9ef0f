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
    buckets: str | None = Field(
        None,
        description="the buckets' day boundaries, rising, 1 to 8 of them, e.g. 30,60,90 (columns current, "
        "1_30, 31_60, 61_90, over_90); default 30,60,90,120",
    )
    reporting_currency: str | None = Field(
        None,
        description="ISO 4217 code: every amount converted at the FX rate of as_of, rounded half up per "
        "cell, summed per customer (one row per customer, currency = this one)",
    )
    deductions: bool = Field(False, description="format=xlsx: a deduction column in the Data sheet")


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
    """With `buckets`, the bucket columns of the rows follow the boundaries given (this schema shows
    the default's); with `reporting_currency`, the document names it in `reporting_currency`."""

    as_of: date
    basis: Literal["due", "invoice"]
    reporting_currency: str | None = Field(None, description="only when the query asked for one")
    rows: list[AgingRowOut]


class AgingItemsQuery(Schema):
    as_of: date
    basis: Literal["due", "invoice"] = "due"
    entity: str | None = None
    customer: str | None = Field(None, description="customer number")
    currency: str | None = None
    buckets: str | None = Field(None, description="the buckets' day boundaries, e.g. 30,60,90")
    deductions: bool = Field(False, description="add each item's deduction (short pay left open)")


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
    deduction: DecimalString | None = Field(
        None,
        description="deductions=true only: the part of amount that cash application left open as a "
        "deduction (short pay) by the report date",
    )


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
    broken_promises: int = Field(..., description="promises to pay judged broken in the CEI month")
    broken_promises_amount: DecimalString = Field(..., description="what those promises promised")


# --- the month-end close's reports: rollforward, tie-out, accounts for review ---------------------

Movement = Literal[
    "invoices",
    "credit_memos",
    "cash_applied",
    "discounts",
    "write_offs",
    "credit_memos_applied",
    "migrated",
    "other",
]


class RollforwardQuery(Schema):
    period: str = Field(..., description="the month, YYYY-MM")
    entity: str | None = Field(None, description="legal entity code; default: your default entity")
    movement: Movement | None = Field(None, description="list the journal lines behind this movement")
    currency: str | None = Field(None, description="with movement: only this currency")


class RollforwardRowOut(Schema):
    """One currency (transaction currency): opening + every movement = closing (the receivable
    accounts); subledger_closing the open items rebuilt as of the last day; difference closing - it."""

    entity: str
    currency: str
    opening: DecimalString
    invoices: DecimalString
    credit_memos: DecimalString
    cash_applied: DecimalString
    discounts: DecimalString
    write_offs: DecimalString
    credit_memos_applied: DecimalString
    migrated: DecimalString
    other: DecimalString
    closing: DecimalString
    subledger_closing: DecimalString
    difference: DecimalString


class LateEntryOut(Schema):
    entry: int
    dated: date
    posting_date: date
    description: str
    currency: str
    amount: DecimalString = Field(..., description="what it moved on the receivable accounts")


class RollforwardLineOut(Schema):
    entry: int
    posting_date: date
    dated: date | None
    description: str
    customer_number: str
    document_number: str
    currency: str
    amount: DecimalString = Field(..., description="signed: a receivable's increase positive")


class RollforwardOut(Schema):
    entity: str
    period: str
    first: date
    last: date
    rows: list[RollforwardRowOut]
    late_entries: list[LateEntryOut]
    movement: Movement | None = Field(None, description="the movement drilled down, as asked")
    lines: list[RollforwardLineOut] | None = Field(None, description="with movement: its journal lines")


class FunctionalRollforwardQuery(Schema):
    period: str = Field(..., description="the month, YYYY-MM")
    entity: str | None = Field(None, description="legal entity code; default: your default entity")


class FunctionalRollforwardRowOut(Schema):
    """One transaction currency's receivables (or, as `total`, all of them) in the functional currency:
    opening + every movement at its booking rates + fx_revaluation = closing."""

    entity: str
    currency: str = Field(..., description="the transaction currency; the functional one in `total`")
    opening: DecimalString
    invoices: DecimalString
    credit_memos: DecimalString
    cash_applied: DecimalString
    discounts: DecimalString
    write_offs: DecimalString
    credit_memos_applied: DecimalString
    migrated: DecimalString
    fx_revaluation: DecimalString
    other: DecimalString
    closing: DecimalString


class FunctionalRollforwardOut(Schema):
    entity: str
    period: str
    first: date
    last: date
    functional_currency: str
    rows: list[FunctionalRollforwardRowOut]
    total: FunctionalRollforwardRowOut


class TieOutQuery(Schema):
    as_of: date
    entity: str | None = None


class TieOutRowOut(Schema):
    customer_number: str = Field(..., description="empty for lines without a customer")
    currency: str
    subledger: DecimalString = Field(..., description="open items rebuilt as of the day")
    ledger: DecimalString = Field(..., description="the receivable accounts' balance")
    difference: DecimalString = Field(..., description="ledger - subledger")


class TieOutOut(Schema):
    entity: str
    as_of: date
    differences: list[TieOutRowOut] = Field(..., description="only the customers and currencies that differ")


class RiskQuery(Schema):
    as_of: date
    entity: str | None = None
    all: bool = Field(False, description="every account with its behaviour, not only the flagged ones")


class AccountRiskOut(Schema):
    entity: str
    customer_number: str
    customer_name: str
    currency: str
    open: DecimalString
    over_90: DecimalString
    credit_limit: DecimalString | None = Field(..., description="null: none, or another currency")
    days_to_pay: Decimal | None = Field(..., description="last 90 days, amount-weighted, one decimal")
    days_late: Decimal | None
    days_late_before: Decimal | None = Field(..., description="days_late over the 90 days before")
    flags: list[str] = Field(
        ..., description="well_past_due, paying_slower, over_credit_limit, broken_promises"
    )
    reasons: list[str]


class RiskOut(Schema):
    entity: str
    as_of: date
    accounts: list[AccountRiskOut]


class CollectorsQuery(Schema):
    period: str = Field(..., description="the month, YYYY-MM")
    as_of: date | None = Field(
        None, description="a month not over: the day to review it as of (default its end)"
    )
    entity: str | None = Field(None, description="legal entity code; default: your default entity")


class PortfolioOut(Schema):
    entity: str
    collector: str = Field(..., description="the collector's user name; empty: customers without one")
    currency: str
    customers: int
    receivable: DecimalString = Field(..., description="open items at the end of the month (or as_of)")
    past_due: DecimalString
    over_90: DecimalString
    disputed: DecimalString
    unapplied: DecimalString = Field(..., description="cash on account, positive")
    collected: DecimalString = Field(..., description="cash applied in the month")
    target: DecimalString | None = Field(..., description="null: no target for the month and currency")
    percent_of_target: Decimal | None = Field(..., description="collected / target x 100, two decimals")


class CollectorsOut(Schema):
    entity: str
    period: str
    as_of: date
    collectors: list[PortfolioOut]
