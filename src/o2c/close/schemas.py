"""Shapes of the close API (`/api/close`): the documents `o2c close period|revalue|provision|provision-rates
--format json` print. Money as locale-free decimal strings with the currency's decimals beside their
currency; rates as plain decimal strings (`0.005` is 0.5 %); dates ISO 8601; enumerations lowercase."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from o2c.close import services
from o2c.close.provision import MatrixCell, ProvisionResult, ProvisionRow
from o2c.close.revaluation import RevaluationResult
from o2c.core.money import format_minor
from o2c.customers.schemas import DecimalString


def rate_text(rate: Decimal) -> str:
    """A rate as a plain decimal string: 0.95, not 0.9500000000 or 9.5E-1."""
    return f"{rate.normalize():f}"


class EntityQuery(Schema):
    entity: str | None = Field(None, description="legal entity code; default: your default entity")


class ProvisionQuery(Schema):
    entity: str | None = Field(None, description="legal entity code; default: your default entity")
    as_of: date = Field(..., description="the day of the figures (ISO 8601), usually a month end")


class PeriodOut(Schema):
    period: str = Field(..., description="YYYY-MM")
    first: date
    last: date
    status: str = Field(..., description="open or closed")


class PeriodsOut(Schema):
    entity: str
    periods: list[PeriodOut]


class RevaluationRowOut(Schema):
    currency: str
    rate: str = Field(..., description="one unit of the currency in the functional currency")
    open: DecimalString = Field(..., description="in the currency")
    carrying: DecimalString = Field(..., description="in the functional currency")
    revalued: DecimalString = Field(..., description="in the functional currency")
    difference: DecimalString = Field(..., description="revalued - carrying, in the functional currency")


class RevaluationOut(Schema):
    entity: str
    period: str
    functional_currency: str
    rate_date: date
    rows: list[RevaluationRowOut]
    posted: bool = Field(..., description="whether this call posted anything")

    @staticmethod
    def of(result: RevaluationResult) -> RevaluationOut:
        functional = result.functional_currency
        return RevaluationOut(
            entity=result.entity_code,
            period=result.month,
            functional_currency=functional,
            rate_date=result.rate_date,
            rows=[
                RevaluationRowOut(
                    currency=row.currency,
                    rate=rate_text(row.rate),
                    open=format_minor(row.open_minor, row.currency),
                    carrying=format_minor(row.carrying_minor, functional),
                    revalued=format_minor(row.revalued_minor, functional),
                    difference=format_minor(row.difference_minor, functional),
                )
                for row in result.rows
            ],
            posted=result.posted,
        )


class ProvisionRowOut(Schema):
    segment: str
    bucket: str
    currency: str
    open: DecimalString = Field(..., description="invoices and debit memos open, in the currency")
    rate: str
    provision: DecimalString = Field(..., description="open x rate, in the currency")
    provision_functional: DecimalString = Field(..., description="in the functional currency")


class ProvisionPostedOut(Schema):
    """The provision a close posted (`o2c close provision --format json`)."""

    entity: str
    period: str
    as_of: date
    method: str = Field(..., description="ifrs9_simplified or cecl")
    functional_currency: str
    rows: list[ProvisionRowOut]
    total: DecimalString = Field(..., description="in the functional currency")
    posted: bool
    reversal_date: date | None

    @staticmethod
    def of(result: ProvisionResult) -> ProvisionPostedOut:
        return ProvisionPostedOut(
            entity=result.entity_code,
            period=result.month,
            as_of=result.as_of,
            method=result.method,
            functional_currency=result.functional_currency,
            rows=provision_rows_out(result.rows, result.functional_currency),
            total=format_minor(result.total_minor, result.functional_currency),
            posted=result.posted,
            reversal_date=result.reversal_date,
        )


def provision_rows_out(rows: list[ProvisionRow], functional: str) -> list[ProvisionRowOut]:
    return [
        ProvisionRowOut(
            segment=row.segment,
            bucket=row.bucket,
            currency=row.currency,
            open=format_minor(row.open_minor, row.currency),
            rate=rate_text(row.rate),
            provision=format_minor(row.provision_minor, row.currency),
            provision_functional=format_minor(row.functional_minor, functional),
        )
        for row in rows
    ]


class PeriodResultOut(Schema):
    entity: str
    period: str
    status: str = Field(..., description="open or closed")
    changed: bool = Field(..., description="false: the period was in that state already")
    warnings: list[str]
    revaluation: RevaluationOut | None = Field(None, description="close only: the month's revaluation")
    provision: ProvisionPostedOut | None = Field(None, description="close only: the month's provision")

    @staticmethod
    def of(
        result: services.PeriodResult,
        revalued: RevaluationResult | None = None,
        provided: ProvisionResult | None = None,
    ) -> PeriodResultOut:
        return PeriodResultOut(
            entity=result.entity_code,
            period=result.month,
            status=result.status,
            changed=result.changed,
            warnings=result.warnings,
            revaluation=RevaluationOut.of(revalued) if revalued is not None else None,
            provision=ProvisionPostedOut.of(provided) if provided is not None else None,
        )


class ReopenIn(Schema):
    reason: str = Field("", max_length=300, description="why, for the audit trail (required)")


class RevaluationIn(Schema):
    entity: str | None = Field(None, description="legal entity code; default: your default entity")
    period: str = Field(..., description="the month to revalue at its last day, YYYY-MM")


class RateOut(Schema):
    segment: str = Field(..., description="domestic or foreign")
    bucket: str = Field(..., description="current, 1_30, 31_60, 61_90, 91_120, over_120 (days past due)")
    rate: str = Field(..., description="a decimal: 0.005 is 0.5 %")
    source: str | None = Field(..., description="derived or manual; null: never set (rate 0)")
    set_by: str | None
    set_at: datetime | None
    reason: str

    @staticmethod
    def of(cell: MatrixCell) -> RateOut:
        return RateOut(
            segment=cell.segment,
            bucket=cell.bucket,
            rate=rate_text(cell.rate),
            source=cell.source or None,
            set_by=cell.set_by or None,
            set_at=cell.set_at,
            reason=cell.reason,
        )


class RatesOut(Schema):
    entity: str
    method: str = Field(..., description="ifrs9_simplified or cecl")
    rates: list[RateOut]


class RateIn(Schema):
    entity: str | None = Field(None, description="legal entity code; default: your default entity")
    segment: str
    bucket: str
    rate: DecimalString = Field(..., description="between 0 and 1, at most 6 decimals")
    reason: str = Field("", max_length=300, description="why, for the audit trail (required)")


class ProvisionOut(Schema):
    """The provision as of a day (nothing posted) with the matrix it applies."""

    entity: str
    as_of: date
    method: str = Field(..., description="ifrs9_simplified or cecl")
    functional_currency: str
    rows: list[ProvisionRowOut]
    total: DecimalString = Field(..., description="in the functional currency")
    rates: list[RateOut]
