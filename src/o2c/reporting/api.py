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
from ninja.errors import AuthorizationError

from o2c.customers import api as customers_api
from o2c.customers import selectors as customer_selectors
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.reporting import exports, schemas, selectors

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


@router.get("/aging", response=schemas.AgingOut, summary="Aging of receivables as of a date", by_alias=True)
def report_aging(request: HttpRequest, query: Query[schemas.AgingQuery]) -> HttpResponse:
    """One row per customer and currency: open items by age (credit memos negative), unapplied cash
    (negative) and the total; cash not identified yet is the row with an empty `customer_number`. Rebuilt
    from history for any past date; ties to the receivable and unapplied cash accounts. `format=csv`
    answers text/csv with the same columns, `format=xlsx` the Excel workbook."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    entity = _entity(who, query.entity)
    report = selectors.aging(entity_ids=[entity.pk], as_of=query.as_of, basis=query.basis)
    name = f"aging-{entity.code}-{query.as_of.isoformat()}"
    if query.format == "xlsx":
        response = HttpResponse(
            exports.aging_workbook(
                report,
                selectors.aging_items(entity_ids=[entity.pk], as_of=query.as_of, basis=query.basis),
                entity_names={entity.code: entity.name},
            ),
            content_type=XLSX,
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    if query.format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(exports.AGING_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(exports.aging_record(row) for row in report.rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return _json(json.dumps(exports.aging_json(report), ensure_ascii=False))


@router.get("/aging/items", response=schemas.AgingItemsOut, summary="The open items behind the aging")
def report_aging_items(request: HttpRequest, query: Query[schemas.AgingItemsQuery]) -> schemas.AgingItemsOut:
    """The documents open at the date with their open amount then, age and bucket: the drill-down of an
    aging row (`customer`, `currency`). An unknown customer number is an empty list."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    entity = _entity(who, query.entity)
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
    )
    return schemas.AgingItemsOut(
        as_of=query.as_of,
        basis=query.basis,
        items=[schemas.AgingItemOut(**exports.item_record(item)) for item in items],
    )


@router.get("/kpis", response=schemas.KpisOut, summary="AR KPIs as of a date")
def report_kpis(request: HttpRequest, query: Query[schemas.KpiQuery]) -> HttpResponse:
    """DSO (standard and countback), best possible DSO, average days delinquent, CEI, percent current,
    percent over 90 days, unapplied cash and the disputed amount, in the entity's functional currency
    (docs/kpis.md)."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    entity = _entity(who, query.entity)
    return _json(exports.kpis_json(selectors.kpis(entity=entity, as_of=query.as_of)))
