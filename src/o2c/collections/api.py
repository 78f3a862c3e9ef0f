"""The collections API (`/api/collections`): promises to pay, payment plans, a collector's activities and
tasks, and collection targets, within the caller's legal entities (docs/collections.md, "The API").

Reading needs VIEW_COLLECTIONS (collector, AR manager, admin, auditor); recording promises, proposing
plans, logging activities and setting targets CHANGE_COLLECTIONS (collector, AR manager, admin);
approving or rejecting a plan APPROVE_PLANS (AR manager, admin: the service checks the same roles and
that the approver is not who proposed it). Another entity's customer, document or plan is 404.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status
from ninja.errors import AuthorizationError

from o2c.collections import activities, plans, schemas, selectors, services
from o2c.core import clock
from o2c.core.exceptions import InputError
from o2c.core.money import Money, format_minor
from o2c.customers import api as customers_api
from o2c.customers import schemas as customer_schemas
from o2c.customers import selectors as customer_selectors
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity
from o2c.receivables import selectors as receivables_selectors
from o2c.receivables.models import Document

router = Router(tags=["collections"])

# The capabilities of the collections endpoints; o2c.config.api maps them to the roles that grant them.
VIEW_COLLECTIONS = "view_collections"
CHANGE_COLLECTIONS = "change_collections"
REVIEW_PORTFOLIOS = "review_portfolios"
ASSIGN_PORTFOLIOS = "assign_portfolios"
APPROVE_PLANS = "approve_payment_plans"


def _customer_and_documents(
    entity_ids: list[int], customer_id: int, document_ids: list[int]
) -> tuple[Customer, list[Document]]:
    customer = customer_selectors.customer_get(entity_ids=entity_ids, customer_id=customer_id)
    documents = list(
        receivables_selectors.document_list(entity_ids=entity_ids).filter(pk__in=set(document_ids))
    )
    if len(documents) != len(set(document_ids)):
        raise Http404
    return customer, documents


def _entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    """The granted entity of that code (404 if not granted), else the caller's default entity."""
    if code:
        for entity in ledger_selectors.entities_for_user(who.user):
            if entity.code == code:
                return entity
        raise Http404
    return customers_api.entity_for_write(who, None)


def _promise_out(entity_ids: list[int], promise_id: int) -> schemas.PromiseOut:
    promise = selectors.promise_list(entity_ids=entity_ids).get(pk=promise_id)
    documents = selectors.promise_documents(promise_ids=[promise.pk])
    return schemas.PromiseOut.of(promise, documents.get(promise.pk, []))


def _plan_out(entity_ids: list[int], plan_id: int) -> schemas.PlanOut:
    plan = selectors.payment_plan_get(entity_ids=entity_ids, plan_id=plan_id)
    documents = selectors.payment_plans_documents(plan_ids=[plan.pk])
    return schemas.PlanOut.of(plan, documents.get(plan.pk, []))


# --- promises to pay ------------------------------------------------------------------------------


@router.get("/promises", response=schemas.PromisePage, summary="List promises to pay")
def promise_list(request: HttpRequest, filters: Query[schemas.PromiseFilter]) -> schemas.PromisePage:
    """Newest first; filters by state (`open`, `kept`, `broken`) and customer."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    promises = selectors.promise_list(entity_ids=customers_api.entity_ids(who))
    if filters.state:
        promises = promises.filter(state=filters.state)
    if filters.customer_id is not None:
        promises = promises.filter(customer_id=filters.customer_id)
    rows, next_cursor = customers_api.paginate(
        promises, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    documents = selectors.promise_documents(promise_ids=[promise.pk for promise in rows])
    return schemas.PromisePage(
        items=[schemas.PromiseOut.of(promise, documents.get(promise.pk, [])) for promise in rows],
        next_cursor=next_cursor,
    )


@router.post("/promises", response={201: schemas.PromiseOut}, summary="Record a promise to pay")
def promise_create(request: HttpRequest, payload: schemas.PromiseIn) -> Status[schemas.PromiseOut]:
    """Its documents are left out of dunning while it is open. Refused: 422 `other_customer`,
    `currency_mismatch`, `amount_not_positive`, `date_passed`."""
    who = customers_api.caller(request, CHANGE_COLLECTIONS)
    entity_ids = customers_api.entity_ids(who)
    customer, documents = _customer_and_documents(entity_ids, payload.customer_id, payload.document_ids)
    promise = services.promise_record(
        customer=customer,
        documents=documents,
        amount=Money(customer_schemas.decimal_of(payload.amount), payload.currency),
        promised_date=payload.promised_date,
        contact=payload.contact,
        actor=who.user,
        now=clock.now(),
        note=payload.note,
        made_on=payload.made_on,
    )
    return Status(201, _promise_out(entity_ids, promise.pk))


# --- payment plans --------------------------------------------------------------------------------


@router.get("/plans", response=schemas.PlanPage, summary="List payment plans")
def payment_plan_list(request: HttpRequest, filters: Query[schemas.PlanFilter]) -> schemas.PlanPage:
    """Newest first; filters by state and customer."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    found = selectors.payment_plan_list(entity_ids=customers_api.entity_ids(who)).prefetch_related(
        "instalments"
    )
    if filters.state:
        found = found.filter(state=filters.state)
    if filters.customer_id is not None:
        found = found.filter(customer_id=filters.customer_id)
    rows, next_cursor = customers_api.paginate(
        found, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    documents = selectors.payment_plans_documents(plan_ids=[plan.pk for plan in rows])
    return schemas.PlanPage(
        items=[schemas.PlanOut.of(plan, documents.get(plan.pk, [])) for plan in rows], next_cursor=next_cursor
    )


@router.post("/plans", response={201: schemas.PlanOut}, summary="Propose a payment plan")
def payment_plan_propose(request: HttpRequest, payload: schemas.PlanIn) -> Status[schemas.PlanOut]:
    """Waits for a second person's approval; its documents are left out of dunning meanwhile. Refused:
    422 `exceeds_open_amount`, `already_in_plan`, `duplicate_due_date`, `currency_mismatch`, ..."""
    who = customers_api.caller(request, CHANGE_COLLECTIONS)
    entity_ids = customers_api.entity_ids(who)
    customer, documents = _customer_and_documents(entity_ids, payload.customer_id, payload.document_ids)
    plan = plans.payment_plan_propose(
        customer=customer,
        documents=documents,
        instalments=[
            plans.InstalmentIn(
                part.due_date, Money(customer_schemas.decimal_of(part.amount), payload.currency)
            )
            for part in payload.instalments
        ],
        actor=who.user,
        now=clock.now(),
        note=payload.note,
    )
    return Status(201, _plan_out(entity_ids, plan.pk))


@router.post("/plans/{int:plan_id}/approve", response=schemas.PlanOut, summary="Approve a payment plan")
def payment_plan_approve(request: HttpRequest, plan_id: int, payload: schemas.DecisionIn) -> schemas.PlanOut:
    """By a second person (AR manager or admin), never the one who proposed it: 422 `same_person`;
    a plan not waiting for approval is 409 `not_pending`."""
    who = customers_api.caller(request, APPROVE_PLANS)
    entity_ids = customers_api.entity_ids(who)
    plan = selectors.payment_plan_get(entity_ids=entity_ids, plan_id=plan_id)
    plans.payment_plan_approve(plan_id=plan.pk, actor=who.user, now=clock.now(), reason=payload.reason)
    return _plan_out(entity_ids, plan.pk)


@router.post("/plans/{int:plan_id}/reject", response=schemas.PlanOut, summary="Reject a payment plan")
def payment_plan_reject(request: HttpRequest, plan_id: int, payload: schemas.DecisionIn) -> schemas.PlanOut:
    """With a reason (422 `reason_required`); its documents return to dunning."""
    who = customers_api.caller(request, APPROVE_PLANS)
    entity_ids = customers_api.entity_ids(who)
    plan = selectors.payment_plan_get(entity_ids=entity_ids, plan_id=plan_id)
    plans.payment_plan_reject(plan_id=plan.pk, actor=who.user, now=clock.now(), reason=payload.reason)
    return _plan_out(entity_ids, plan.pk)


# --- activities and tasks -------------------------------------------------------------------------


@router.get("/activities", response=schemas.ActivityPage, summary="List a customer's activities")
def activity_list(request: HttpRequest, filters: Query[schemas.ActivityFilter]) -> schemas.ActivityPage:
    """Newest first."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    entity_ids = customers_api.entity_ids(who)
    customer = customer_selectors.customer_get(entity_ids=entity_ids, customer_id=filters.customer_id)
    rows, next_cursor = customers_api.paginate(
        selectors.activity_list(entity_ids=entity_ids, customer_id=customer.pk),
        cursor=filters.cursor,
        limit=filters.limit,
        newest_first=True,
    )
    return schemas.ActivityPage(items=[schemas.ActivityOut.of(row) for row in rows], next_cursor=next_cursor)


@router.post("/activities", response={201: schemas.ActivityOut}, summary="Log an activity")
def activity_create(request: HttpRequest, payload: schemas.ActivityIn) -> Status[schemas.ActivityOut]:
    """A call, e-mail, letter or note with its outcome and next action date. Refused: 422
    `text_required` (a note without text)."""
    who = customers_api.caller(request, CHANGE_COLLECTIONS)
    entity_ids = customers_api.entity_ids(who)
    customer, documents = _customer_and_documents(entity_ids, payload.customer_id, payload.document_ids)
    activity = activities.activity_log(
        customer=customer,
        kind=payload.kind,
        outcome=payload.outcome,
        text=payload.text,
        next_action_date=payload.next_action_date,
        actor=who.user,
        now=clock.now(),
        documents=documents,
    )
    return Status(
        201, schemas.ActivityOut.of(selectors.activity_list(entity_ids=entity_ids).get(pk=activity.pk))
    )


@router.get("/tasks", response=schemas.TasksOut, summary="The caller's tasks of the day")
def collector_tasks(request: HttpRequest, entity: str | None = None) -> schemas.TasksOut:
    """For the customers of the caller's portfolio in one entity (`entity` code, default the caller's):
    the follow-ups due today (the entity's date) and the open promises whose date has come."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    chosen = _entity(who, entity)
    today = clock.today_in(chosen.time_zone)
    tasks = selectors.collector_tasks(entity_ids=[chosen.pk], collector_id=who.user.pk, today=today)
    documents = selectors.promise_documents(promise_ids=[promise.pk for promise in tasks.promises])
    promises = selectors.promise_list(entity_ids=[chosen.pk]).in_bulk(
        [promise.pk for promise in tasks.promises]
    )
    return schemas.TasksOut(
        today=today,
        activities=[schemas.ActivityOut.of(activity) for activity in tasks.activities],
        promises=[
            schemas.PromiseOut.of(promises[promise.pk], documents.get(promise.pk, []))
            for promise in tasks.promises
        ],
    )


@router.get("/worklist", response=schemas.WorklistOut, summary="A collector's prioritised worklist")
def collector_worklist(
    request: HttpRequest, entity: str | None = None, collector: str | None = None
) -> schemas.WorklistOut:
    """The customers of a collector's portfolio with anything overdue today (the entity's date), highest
    priority first, each priority with its parts (docs/collections.md, "Worklist"). `collector`: a
    username (default the caller), for managers reviewing another collector's list."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    chosen = _entity(who, entity)
    user = who.user
    if collector is not None and collector != user.username:
        if not who.may(REVIEW_PORTFOLIOS):
            raise AuthorizationError(message="you may see your own worklist only")
        found = User.objects.filter(username=collector).first()
        if found is None:
            raise Http404(collector)
        user = found
    today = clock.today_in(chosen.time_zone)
    return schemas.WorklistOut(
        entity=chosen.code,
        collector=user.username,
        today=today,
        lines=[
            schemas.WorklistLineOut(
                customer_number=line.customer_number,
                customer_name=line.customer_name,
                currency=line.currency,
                overdue=format_minor(line.overdue_minor, line.currency),
                items=line.items,
                oldest_due_date=line.oldest_due_date,
                days_overdue=line.days_overdue,
                broken_promises=line.broken_promises,
                promised=line.promised,
                risk_class=line.risk_class,
                priority=schemas.PriorityOut(
                    score=line.priority.score,
                    amount_points=line.priority.amount_points,
                    days_points=line.priority.days_points,
                    promise_points=line.priority.promise_points,
                    risk_points=line.priority.risk_points,
                ),
            )
            for line in selectors.worklist(entity_ids=[chosen.pk], collector_id=user.pk, today=today)
        ],
    )


@router.post("/assignments", response=schemas.AssignmentOut, summary="Move customers to a collector")
def portfolio_assign(request: HttpRequest, payload: schemas.AssignmentIn) -> schemas.AssignmentOut:
    """Put customers (by number, in one entity) into a collector's portfolio, or out of any with
    `collector: null`, in bulk, with the reason; audited per customer moved. For AR managers and admins.
    An unknown customer or user is refused (422) and nothing moves."""
    who = customers_api.caller(request, ASSIGN_PORTFOLIOS)
    chosen = _entity(who, payload.entity)
    numbers = sorted(set(payload.customers))
    found = dict(Customer.objects.filter(entity=chosen, number__in=numbers).values_list("number", "pk"))
    missing = [number for number in numbers if number not in found]
    if missing:
        raise InputError(
            f"customers: unknown in {chosen.code}: {', '.join(missing)}", code="unknown_customer"
        )
    collector = None
    if payload.collector is not None:
        collector = User.objects.filter(username=payload.collector, is_active=True).first()
        if collector is None:
            raise InputError(f"collector: unknown user {payload.collector}", code="unknown_collector")
    moved = customer_services.customers_assign_collector(
        customer_ids=list(found.values()),
        collector=collector,
        actor=who.user,
        now=clock.now(),
        reason=payload.reason,
    )
    return schemas.AssignmentOut(
        entity=chosen.code, collector=payload.collector, customers=numbers, moved=moved
    )


# --- targets --------------------------------------------------------------------------------------


@router.get("/targets", response=list[schemas.TargetOut], summary="List collection targets")
def target_list(request: HttpRequest, filters: Query[schemas.TargetFilter]) -> list[schemas.TargetOut]:
    """By month, collector and currency; filters by entity, month and collector."""
    who = customers_api.caller(request, VIEW_COLLECTIONS)
    entity_ids = [_entity(who, filters.entity).pk] if filters.entity else customers_api.entity_ids(who)
    targets = selectors.target_list(entity_ids=entity_ids)
    if filters.month is not None:
        targets = targets.filter(month=filters.month)
    if filters.collector:
        targets = targets.filter(collector__username=filters.collector)
    return [
        schemas.TargetOut.of(target)
        for target in targets.order_by("entity__code", "month", "collector__username", "currency")
    ]


@router.put("/targets", response=schemas.TargetOut, summary="Set a collector's target for a month")
def target_set(request: HttpRequest, payload: schemas.TargetIn) -> schemas.TargetOut:
    """Replaces the month's target in that currency. Refused: 422 `not_a_month`, `negative`,
    `unknown_user`."""
    who = customers_api.caller(request, CHANGE_COLLECTIONS)
    entity = _entity(who, payload.entity)
    collector = User.objects.filter(username=payload.collector).first()
    if collector is None:
        raise InputError(f"no user '{payload.collector}'", code="unknown_user")
    target = services.collection_target_set(
        entity=entity,
        collector=collector,
        month=payload.month,
        amount=Money(customer_schemas.decimal_of(payload.amount), payload.currency),
        actor=who.user,
        now=clock.now(),
    )
    return schemas.TargetOut.of(selectors.target_list(entity_ids=[entity.pk]).get(pk=target.pk))
