"""The billing API (`/api/billing`): usage events, subscriptions and billing runs of the granted legal
entities.

Reading needs VIEW_RECEIVABLES; loading usage and starting runs ISSUE_DOCUMENTS. Another entity's
subscription is 404. A usage batch is checked like the usage CSV and written in one transaction: a bad
event writes nothing and the problem's detail names it as `events[INDEX].FIELD` (0-based index); an
event id seen before is ignored, so a re-sent batch changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import MultipleObjectsReturned
from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from o2c.billing import presenters, review, runs, schemas, selectors, services
from o2c.billing.errors import UnableToSaveBillingData
from o2c.billing.models import Subscription
from o2c.billing.services import UsageIn
from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.customers import api as customers_api
from o2c.customers import schemas as customer_schemas

router = Router(tags=["billing"])


def _where(index: int, field: str) -> str:
    return f"events[{index}].{field}"


def _timestamp(index: int, value: str) -> datetime:
    """As the usage CSV reads it: ISO 8601 (a trailing Z is UTC) with a time zone offset."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{_where(index, 'timestamp')}: '{value}' is not an ISO 8601 timestamp", code="bad_timestamp"
        ) from None
    if moment.tzinfo is None:
        raise InputError(
            f"{_where(index, 'timestamp')}: '{value}' has no time zone offset (add Z or +01:00)",
            code="bad_timestamp",
        )
    return moment


@router.post("/usage", response=schemas.UsageImportedOut, summary="Record a batch of usage events")
def usage_import(request: HttpRequest, payload: schemas.UsageBatchIn) -> schemas.UsageImportedOut:
    """All or nothing: a bad event refuses the batch (422, its index and field in `detail`)."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    entity = customers_api.entity_for_write(who, payload.entity)
    events = [
        UsageIn(
            event_id=event.event_id,
            subscription_number=event.subscription_number,
            metric=event.metric,
            quantity=customer_schemas.decimal_of(event.quantity),
            occurred_at=_timestamp(index, event.timestamp),
            unique_key=event.unique_key,
            row=index,
        )
        for index, event in enumerate(payload.events)
    ]
    try:
        result = services.usage_import(entity=entity, events=events, now=clock.now())
    except UnableToSaveBillingData as error:
        where = _where(error.row, error.field or "") if error.row is not None else error.field or "events"
        raise UnableToSaveBillingData(
            f"{where}: {error.message}", field=error.field, row=error.row, code=error.code
        ) from None
    return schemas.UsageImportedOut(created=result.created, ignored=result.ignored, late=result.late)


@router.get("/subscriptions", response=schemas.SubscriptionPage, summary="List subscriptions")
def subscription_list(
    request: HttpRequest, filters: Query[schemas.SubscriptionFilter]
) -> schemas.SubscriptionPage:
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    subscriptions = selectors.subscription_list(
        entity_ids=customers_api.entity_ids(who), search=filters.search
    ).select_related("entity")
    if filters.entity:
        subscriptions = subscriptions.filter(entity__code=filters.entity)
    if filters.customer_number:
        subscriptions = subscriptions.filter(
            Q(customer__number=filters.customer_number) | Q(bill_to__number=filters.customer_number)
        )
    if filters.active_on:
        subscriptions = subscriptions.filter(start_date__lte=filters.active_on).exclude(
            end_date__lt=filters.active_on
        )
    rows, next_cursor = customers_api.paginate(subscriptions, cursor=filters.cursor, limit=filters.limit)
    terms = review.subscription_current_terms([s.pk for s in rows])
    return schemas.SubscriptionPage(
        items=[schemas.SubscriptionOut.of(s, terms.get(s.pk)) for s in rows], next_cursor=next_cursor
    )


@router.get(
    "/subscriptions/{number}",
    response=schemas.SubscriptionDetailOut,
    summary="Get a subscription with its terms and what each period billed",
)
def subscription_get(
    request: HttpRequest, number: str, entity: str | None = None
) -> schemas.SubscriptionDetailOut:
    """By number; name the legal entity (`?entity=CODE`) when the number exists in several."""
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    try:
        detail = review.subscription_detail(
            entity_ids=customers_api.entity_ids(who), number=number, entity_code=entity
        )
    except MultipleObjectsReturned:
        raise InputError(
            f"subscription {number} exists in several legal entities: name one in `entity`",
            code="ambiguous_subscription",
        ) from None
    return schemas.SubscriptionDetailOut.of_detail(detail)


def _subscription_id(who: customers_api.Caller, number: str, entity: str | None) -> int:
    found = Subscription.objects.filter(entity_id__in=customers_api.entity_ids(who), number=number)
    if entity:
        found = found.filter(entity__code=entity)
    ids = list(found.values_list("pk", flat=True)[:2])
    if not ids:
        raise Subscription.DoesNotExist(f"no subscription {number}")
    if len(ids) > 1:
        raise InputError(
            f"subscription {number} exists in several legal entities: name one in `entity`",
            code="ambiguous_subscription",
        )
    return ids[0]


def _detail(who: customers_api.Caller, subscription_id: int) -> schemas.SubscriptionDetailOut:
    detail = review.subscription_detail(
        entity_ids=customers_api.entity_ids(who), subscription_id=subscription_id
    )
    return schemas.SubscriptionDetailOut.of_detail(detail)


@router.post(
    "/subscriptions/{number}/amend",
    response=schemas.SubscriptionDetailOut,
    summary="Change quantity, product or discount from a day on",
)
def subscription_amend(
    request: HttpRequest, number: str, payload: schemas.AmendIn
) -> schemas.SubscriptionDetailOut:
    """The next run prorates the difference for days already billed (a charge or a credit memo)."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    subscription_id = _subscription_id(who, number, payload.entity)
    try:
        services.subscription_amend(
            subscription_id=subscription_id,
            effective_from=payload.effective_from,
            quantity=None if payload.quantity is None else customer_schemas.decimal_of(payload.quantity),
            product_code=payload.product_code,
            discount_percent=None
            if payload.discount_percent is None
            else customer_schemas.decimal_of(payload.discount_percent),
            reason=payload.reason,
            actor=who.user,
            now=clock.now(),
        )
    except UnableToSaveBillingData as error:
        raise InputError(error.message, column=error.field, code=error.code) from None
    return _detail(who, subscription_id)


@router.post(
    "/subscriptions/{number}/end",
    response=schemas.SubscriptionDetailOut,
    summary="Cancel (an earlier end date) or renew (a later one, or none)",
)
def subscription_end(
    request: HttpRequest, number: str, payload: schemas.EndIn
) -> schemas.SubscriptionDetailOut:
    """Days billed after a new, earlier end date are credited by the next run."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    subscription_id = _subscription_id(who, number, payload.entity)
    try:
        services.subscription_end_set(
            subscription_id=subscription_id,
            end_date=payload.end_date,
            reason=payload.reason,
            actor=who.user,
            now=clock.now(),
        )
    except UnableToSaveBillingData as error:
        raise InputError(error.message, column=error.field, code=error.code) from None
    return _detail(who, subscription_id)


@router.get("/runs", response=schemas.RunPage, summary="List billing runs, newest first")
def run_list(request: HttpRequest, filters: Query[schemas.RunFilter]) -> schemas.RunPage:
    who = customers_api.caller(request, customers_api.VIEW_RECEIVABLES)
    found = review.run_list(entity_ids=customers_api.entity_ids(who), entity_code=filters.entity)
    rows, next_cursor = customers_api.paginate(
        found, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    return schemas.RunPage(items=[schemas.RunOut.of(run) for run in rows], next_cursor=next_cursor)


@router.post("/runs", response={201: schemas.RunResultOut}, summary="Run billing as of a date")
def run_start(request: HttpRequest, payload: schemas.RunIn) -> Status[schemas.RunResultOut]:
    """Bill every subscription period due by `as_of`: a preview makes drafts; with `issue` every billing
    draft up to that date is numbered and posted. `invoices` is what `o2c billing run --format json`
    prints: the preview's drafts, or the documents issued."""
    who = customers_api.caller(request, customers_api.ISSUE_DOCUMENTS)
    result = runs.billing_run(
        entity=customers_api.entity_for_write(who, payload.entity),
        as_of=payload.as_of,
        issue=payload.issue,
        actor=who.user,
        now=clock.now(),
    )
    return Status(
        201,
        schemas.RunResultOut.model_validate(
            {
                "run_id": result.run_id,
                "as_of": result.as_of,
                "invoices": [presenters.document_json(d) for d in result.documents],
                "errors": [{"subscription_number": n, "message": m} for n, m in result.errors],
            }
        ),
    )
