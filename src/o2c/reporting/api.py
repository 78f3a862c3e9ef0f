"""The reports API (`/api/reports`): the aging as of any date (with its items) and the KPIs, the same
documents as `o2c report aging|kpis --format json`.

Reading needs VIEW_RECEIVABLES (every role, auditors included). A report covers one legal entity: the one
named by `entity` (its code), else the caller's default entity. An entity not granted to the caller is
404, as if it did not exist; a caller with no entity at all is 403.
"""

from __future__ import annotations

import csv
import io
import json

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.errors import AuthorizationError, ValidationError

from o2c.core.money import format_minor
from o2c.customers import api as customers_api
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import calculations, collectors, exports, risk, rollforward, schemas, selectors

router = Router(tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    granted = list(ledger_selectors.entities_for_user(who.user))
    if code:
        for entity in granted:
            if entity.code == code:
                return entity
        raise Http404(code)
    if not granted:
        raise AuthorizationError(message="no legal entity is granted to you")
    return next((entity for entity in granted if entity.is_default), granted[0])


def _json(text: str) -> HttpResponse:
    return HttpResponse(text, content_type="application/json")


def _bounds(text: str | None) -> tuple[int, ...]:
    """`buckets=30,60,90`; refused as 422 `bad_buckets` naming the parameter."""
    if text is None:
        return selectors.DEFAULT_BOUNDS
    return calculations.parse_bucket_bounds(text, option="buckets")


@router.get("/aging", response=schemas.AgingOut, summary="Aging of receivables as of a date", by_alias=True)
def report_aging(request: HttpRequest, query: Query[schemas.AgingQuery]) -> HttpResponse:
    """One row per customer and currency: open items by age (credit memos negative), unapplied cash
    (negative) and the total; cash not identified yet is the row with an empty `customer_number`. Rebuilt
    from history for any past date; ties to the receivable and unapplied cash accounts. `format=csv`
    answers text/csv with the same columns, `format=xlsx` the Excel workbook. `buckets=30,60,90`: other
    bucket boundaries (columns `current, 1_30, 31_60, 61_90, over_90`); `reporting_currency=EUR`: every
    amount converted at the rate of `as_of`, one row per customer (422 `no_fx_rate` without a rate);
    `deductions=true` with `format=xlsx`: a `deduction` column in the Data sheet (docs/reporting.md)."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    entity = _entity(who, query.entity)
    bounds = _bounds(query.buckets)
    currency = (
        calculations.parse_reporting_currency(query.reporting_currency, option="reporting_currency")
        if query.reporting_currency is not None
        else None
    )
    unconverted = report = selectors.aging(
        entity_ids=[entity.pk], as_of=query.as_of, basis=query.basis, bounds=bounds
    )
    if currency is not None:
        report = selectors.aging_in_currency(report, currency)
    name = f"aging-{entity.code}-{query.as_of.isoformat()}"
    if query.format == "xlsx":
        response = HttpResponse(
            exports.aging_workbook(
                report,
                selectors.aging_items(
                    entity_ids=[entity.pk],
                    as_of=query.as_of,
                    basis=query.basis,
                    bounds=bounds,
                    with_deductions=query.deductions,
                ),
                entity_names={entity.code: entity.name},
                deductions=query.deductions,
                unconverted=unconverted if currency is not None else None,
            ),
            content_type=XLSX,
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    if query.format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=exports.aging_columns(buckets=report.bucket_names), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(exports.aging_record(row) for row in report.rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return _json(json.dumps(exports.aging_json(report), ensure_ascii=False))


@router.get(
    "/aging/items",
    response=schemas.AgingItemsOut,
    summary="The open items behind the aging",
    exclude_none=True,
)
def report_aging_items(request: HttpRequest, query: Query[schemas.AgingItemsQuery]) -> schemas.AgingItemsOut:
    """The documents open at the date with their open amount then, age and bucket: the drill-down of an
    aging row (`customer`, `currency`). An unknown customer number is an empty list. `buckets`: other
    bucket boundaries; `deductions=true`: each item's `deduction`, the part of its open amount a short
    pay left open."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    entity = _entity(who, query.entity)
    bounds = _bounds(query.buckets)
    customer_id = None
    if query.customer:
        customer = customer_selectors.customer_by_number(entity_id=entity.pk, number=query.customer)
        if customer is None:
            return schemas.AgingItemsOut(as_of=query.as_of, basis=query.basis, items=[])
        customer_id = customer.pk
    items = selectors.aging_items(
        entity_ids=[entity.pk],
        as_of=query.as_of,
        basis=query.basis,
        customer_id=customer_id,
        currency=query.currency or None,
        bounds=bounds,
        with_deductions=query.deductions,
    )
    return schemas.AgingItemsOut(
        as_of=query.as_of,
        basis=query.basis,
        items=[
            schemas.AgingItemOut(**exports.item_record(item, deductions=query.deductions)) for item in items
        ],
    )


@router.get("/kpis", response=schemas.KpisOut, summary="AR KPIs as of a date")
def report_kpis(request: HttpRequest, query: Query[schemas.KpiQuery]) -> HttpResponse:
    """DSO (standard and countback), best possible DSO, average days delinquent, CEI, percent current,
    percent over 90 days, unapplied cash and the disputed amount, in the entity's functional currency
    (docs/kpis.md)."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    entity = _entity(who, query.entity)
    return _json(exports.kpis_json(selectors.kpis(entity=entity, as_of=query.as_of)))


# --- the month-end close's reports: rollforward, tie-out, accounts for review ---------------------
# Read by AR managers, auditors and admins (who see the AR dashboard); o2c.config.api maps VIEW_CLOSE.

VIEW_CLOSE = "view_close"


def entity_granted(who: customers_api.Caller, code: str | None) -> LegalEntity:
    """The granted entity named by its code (404 otherwise), else the caller's default entity."""
    return _entity(who, code)


@router.get("/rollforward", response=schemas.RollforwardOut, summary="AR rollforward of a month")
def report_rollforward(
    request: HttpRequest, query: Query[schemas.RollforwardQuery]
) -> schemas.RollforwardOut:
    """Per currency: opening AR, each movement of the month, closing AR against the open items; the
    entries dated in another month that posted in this one. With `movement` (and `currency`), `lines`
    lists the receivable journal lines behind it. `o2c report rollforward --format json`."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _entity(who, query.entity)
    start = rollforward.month_start(query.period)
    report = rollforward.rollforward(entity=entity, start=start)
    lines = None
    if query.movement:
        lines = [
            schemas.RollforwardLineOut(
                entry=line.entry_id,
                posting_date=line.posting_date,
                dated=line.dated,
                description=line.description,
                customer_number=line.customer_number,
                document_number=line.document_number,
                currency=line.currency,
                amount=format_minor(line.amount_minor, line.currency),
            )
            for line in rollforward.rollforward_lines(
                entity=entity, start=start, movement=query.movement, currency=query.currency or None
            )
        ]
    return schemas.RollforwardOut(
        entity=entity.code,
        period=f"{start:%Y-%m}",
        first=report.start,
        last=report.end,
        rows=[
            schemas.RollforwardRowOut(
                entity=row.entity_code,
                currency=row.currency,
                opening=format_minor(row.opening_minor, row.currency),
                **{
                    name: format_minor(row.movements_minor[name], row.currency)
                    for name in rollforward.MOVEMENTS
                },
                closing=format_minor(row.closing_minor, row.currency),
                subledger_closing=format_minor(row.subledger_closing_minor, row.currency),
                difference=format_minor(row.difference_minor, row.currency),
            )
            for row in report.rows
        ],
        late_entries=[
            schemas.LateEntryOut(
                entry=item.entry_id,
                dated=item.dated,
                posting_date=item.posting_date,
                description=item.description,
                currency=item.currency,
                amount=format_minor(item.receivable_minor, item.currency),
            )
            for item in report.late_entries
        ],
        movement=query.movement,
        lines=lines,
    )


@router.get(
    "/rollforward/functional",
    response=schemas.FunctionalRollforwardOut,
    summary="AR rollforward of a month in the functional currency",
)
def report_rollforward_functional(
    request: HttpRequest, query: Query[schemas.FunctionalRollforwardQuery]
) -> schemas.FunctionalRollforwardOut:
    """Per transaction currency and in total, in the entity's functional currency: opening, each movement
    at its booking rates, the month-end FX revaluation, closing (what 1200 and 1209 hold).
    `o2c report rollforward --functional --format json`."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _entity(who, query.entity)
    start = rollforward.month_start(query.period)
    report = rollforward.rollforward_functional(entity=entity, start=start)
    functional = report.functional_currency

    def row_out(row: rollforward.FunctionalRow) -> schemas.FunctionalRollforwardRowOut:
        return schemas.FunctionalRollforwardRowOut(
            entity=entity.code,
            currency=row.currency,
            opening=format_minor(row.opening_minor, functional),
            **{
                name: format_minor(row.movements_minor[name], functional)
                for name in rollforward.FUNCTIONAL_MOVEMENTS
            },
            closing=format_minor(row.closing_minor, functional),
        )

    return schemas.FunctionalRollforwardOut(
        entity=entity.code,
        period=f"{start:%Y-%m}",
        first=report.start,
        last=report.end,
        functional_currency=functional,
        rows=[row_out(row) for row in report.rows],
        total=row_out(report.total),
    )


@router.get("/tie-out", response=schemas.TieOutOut, summary="Open items against the receivable accounts")
def report_tie_out(request: HttpRequest, query: Query[schemas.TieOutQuery]) -> schemas.TieOutOut:
    """Per customer and currency, the open items rebuilt as of the day against the receivable accounts'
    balance: only the differences (none: the subledger ties to the ledger)."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _entity(who, query.entity)
    return schemas.TieOutOut(
        entity=entity.code,
        as_of=query.as_of,
        differences=[
            schemas.TieOutRowOut(
                customer_number=row.customer_number,
                currency=row.currency,
                subledger=format_minor(row.subledger_minor, row.currency),
                ledger=format_minor(row.ledger_minor, row.currency),
                difference=format_minor(row.difference_minor, row.currency),
            )
            for row in rollforward.tie_out(entity=entity, as_of=query.as_of)
        ],
    )


@router.get("/risk", response=schemas.RiskOut, summary="Accounts for review, with their reasons")
def report_risk(request: HttpRequest, query: Query[schemas.RiskQuery]) -> schemas.RiskOut:
    """The high-risk accounts (well past due, paying slower, over the credit limit) per customer and
    currency with each flag's reason (docs/kpis.md); `all=true` lists every account with something open
    or paid in the last 180 days. `o2c report risk --format json`."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _entity(who, query.entity)
    found = risk.accounts(entity_ids=[entity.pk], as_of=query.as_of, flagged_only=not query.all)
    return schemas.RiskOut(
        entity=entity.code,
        as_of=query.as_of,
        accounts=[
            schemas.AccountRiskOut(
                entity=item.entity_code,
                customer_number=item.customer_number,
                customer_name=item.customer_name,
                currency=item.currency,
                open=format_minor(item.open_minor, item.currency),
                over_90=format_minor(item.over_90_minor, item.currency),
                credit_limit=None
                if item.credit_limit_minor is None
                else format_minor(item.credit_limit_minor, item.currency),
                days_to_pay=item.recent.days_to_pay if item.recent else None,
                days_late=item.recent.days_late if item.recent else None,
                days_late_before=item.previous.days_late if item.previous else None,
                flags=item.flags,
                reasons=risk.reasons(item),
            )
            for item in found
        ],
    )


@router.get(
    "/collectors", response=schemas.CollectorsOut, summary="Portfolio review: collected against target"
)
def report_collectors(request: HttpRequest, query: Query[schemas.CollectorsQuery]) -> schemas.CollectorsOut:
    """Per collector and currency: what the portfolio owes at the end of the month (or `as_of`) and the
    cash collected in the month against the collector's target (docs/kpis.md). `o2c report collectors
    --format json`."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _entity(who, query.entity)
    month = rollforward.month_start(query.period)
    as_of = query.as_of or collectors.month_last(month)
    if as_of < month:
        raise ValidationError([{"loc": ["query", "as_of"], "msg": "before the month"}])
    return schemas.CollectorsOut(
        entity=entity.code,
        period=query.period,
        as_of=as_of,
        collectors=[
            schemas.PortfolioOut(
                entity=row.entity_code,
                collector=row.collector,
                currency=row.currency,
                customers=row.customers,
                receivable=format_minor(row.receivable_minor, row.currency),
                past_due=format_minor(row.past_due_minor, row.currency),
                over_90=format_minor(row.over_90_minor, row.currency),
                disputed=format_minor(row.disputed_minor, row.currency),
                unapplied=format_minor(row.unapplied_minor, row.currency),
                collected=format_minor(row.collected_minor, row.currency),
                target=None if row.target_minor is None else format_minor(row.target_minor, row.currency),
                percent_of_target=row.percent_of_target,
            )
            for row in collectors.portfolio_review(entity_ids=[entity.pk], month=month, as_of=as_of)
        ],
    )
