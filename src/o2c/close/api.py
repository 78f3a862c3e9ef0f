"""The close API (`/api/close`): fiscal periods closed and reopened, the FX revaluation, the
expected-credit-loss provision as of a day and its matrix of loss rates; the same documents as
`o2c close period|reopen|revalue|provision|provision-rates --format json`.

Reading needs VIEW_CLOSE (AR manager, auditor, admin: who sees the AR dashboard); closing, reopening,
revaluing and setting loss rates need CLOSE_PERIODS (AR manager, admin: who may reopen a period, as
`close.services.may_reopen` and `close.provision.may_set_rates` decide again). A read covers the legal
entity named by `entity` (its code), else the caller's default entity; one not granted is 404 on a read,
422 `unknown_entity` on a change, as elsewhere in the API.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from o2c.close import provision, schemas, services
from o2c.close import revaluation as revaluation_service
from o2c.core import clock
from o2c.core.money import format_minor
from o2c.customers import api as customers_api
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import api as reporting_api
from o2c.reporting.rollforward import month_start

router = Router(tags=["close"])

# The capability to close and reopen periods, revalue and set loss rates; o2c.config.api maps it (and
# VIEW_CLOSE, the reading one) to the roles that grant it.
CLOSE_PERIODS = "close_periods"
VIEW_CLOSE = reporting_api.VIEW_CLOSE


def _read_entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    return reporting_api.entity_granted(who, code)


@router.get("/periods", response=schemas.PeriodsOut, summary="Fiscal periods with their status")
def period_list(request: HttpRequest, query: Query[schemas.EntityQuery]) -> schemas.PeriodsOut:
    """Every monthly period of the entity in date order, open or closed."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _read_entity(who, query.entity)
    return schemas.PeriodsOut(
        entity=entity.code,
        periods=[
            schemas.PeriodOut(period=f"{first:%Y-%m}", first=first, last=last, status=status)
            for first, last, status in ledger_selectors.periods_of(entity=entity)
        ],
    )


@router.post("/periods/{month}/close", response=schemas.PeriodResultOut, summary="Close a month")
def period_close(
    request: HttpRequest, month: str, query: Query[schemas.EntityQuery]
) -> schemas.PeriodResultOut:
    """The month-end close of `o2c close period`: an open month is revalued and provided for, then
    closed, in one transaction (a missing FX rate closes nothing: 422 `no_fx_rate`). Closing a closed
    month changes nothing (`changed: false`). Audited `ledger.period.closed`."""
    who = customers_api.caller(request, CLOSE_PERIODS)
    entity = customers_api.entity_for_write(who, query.entity)
    revalued, provided, result = services.month_close(
        entity=entity, start=month_start(month), actor=who.user, now=clock.now()
    )
    return schemas.PeriodResultOut.of(result, revalued, provided)


@router.post("/periods/{month}/reopen", response=schemas.PeriodResultOut, summary="Reopen a closed month")
def period_reopen(
    request: HttpRequest, month: str, payload: schemas.ReopenIn, query: Query[schemas.EntityQuery]
) -> schemas.PeriodResultOut:
    """An AR manager's decision with a `reason` (422 `reason_required` without one), audited
    `ledger.period.reopened` with it. Reopening an open month changes nothing (`changed: false`)."""
    who = customers_api.caller(request, CLOSE_PERIODS)
    entity = customers_api.entity_for_write(who, query.entity)
    result = services.period_reopen(
        entity=entity, start=month_start(month), actor=who.user, reason=payload.reason, now=clock.now()
    )
    return schemas.PeriodResultOut.of(result)


@router.post("/revaluation", response=schemas.RevaluationOut, summary="Revalue a month's open FX items")
def revaluation_post(request: HttpRequest, payload: schemas.RevaluationIn) -> schemas.RevaluationOut:
    """`o2c close revalue`: the documents open on the month's last day in a foreign currency valued at
    that day's rate, the differences posted on that day and reversed on the next month's first day. Once
    per month and currency (`posted: false` the second time); a closed month is 422 `period_closed`, a
    currency without a rate 422 `no_fx_rate`."""
    who = customers_api.caller(request, CLOSE_PERIODS)
    entity = customers_api.entity_for_write(who, payload.entity)
    result = revaluation_service.revalue(
        entity=entity, start=month_start(payload.period), actor=who.user, now=clock.now()
    )
    return schemas.RevaluationOut.of(result)


@router.get("/provision", response=schemas.ProvisionOut, summary="The expected-credit-loss provision")
def provision_get(request: HttpRequest, query: Query[schemas.ProvisionQuery]) -> schemas.ProvisionOut:
    """The invoices and debit memos open on the day per currency, segment and bucket with their loss
    rate and provision (in the currency and the functional currency at the day's rate), and the matrix
    of rates. Nothing is posted: the close posts the month's provision."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _read_entity(who, query.entity)
    rows = provision.provision_rows(entity=entity, as_of=query.as_of)
    return schemas.ProvisionOut(
        entity=entity.code,
        as_of=query.as_of,
        method=provision.method_of(entity),
        functional_currency=entity.currency,
        rows=schemas.provision_rows_out(rows, entity.currency),
        total=format_minor(sum(row.functional_minor for row in rows), entity.currency),
        rates=[schemas.RateOut.of(cell) for cell in provision.rate_matrix(entity=entity)],
    )


@router.get("/provision-rates", response=schemas.RatesOut, summary="The provision matrix of loss rates")
def provision_rate_list(request: HttpRequest, query: Query[schemas.EntityQuery]) -> schemas.RatesOut:
    """Every segment and bucket with its rate, where it came from, who set it, when and why."""
    who = customers_api.caller(request, VIEW_CLOSE)
    entity = _read_entity(who, query.entity)
    return _rates(entity)


@router.put("/provision-rates", response=schemas.RatesOut, summary="Set one loss rate")
def provision_rate_set(request: HttpRequest, payload: schemas.RateIn) -> schemas.RatesOut:
    """One cell by hand, with a `reason` (422 `reason_required` without one): audited
    `close.provision_rate.set` with the old and new rate. Refused: 422 `bad_rate` (not between 0 and 1,
    more than 6 decimals), `bad_segment`, `bad_bucket`. Answers with the whole matrix."""
    who = customers_api.caller(request, CLOSE_PERIODS)
    entity = customers_api.entity_for_write(who, payload.entity)
    provision.provision_rate_set(
        entity=entity,
        segment=payload.segment,
        bucket=payload.bucket,
        rate=provision.parse_rate(payload.rate),
        actor=who.user,
        reason=payload.reason,
        now=clock.now(),
    )
    return _rates(entity)


def _rates(entity: LegalEntity) -> schemas.RatesOut:
    return schemas.RatesOut(
        entity=entity.code,
        method=provision.method_of(entity),
        rates=[schemas.RateOut.of(cell) for cell in provision.rate_matrix(entity=entity)],
    )
