"""Reads of collections, and of the open items and customers a dunning run needs: set-based, a few
grouped queries whatever the number of customers and items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from o2c.collections import calculations
from o2c.collections.models import (
    Activity,
    CollectionTarget,
    DunningNotice,
    DunningNoticeItem,
    DunningPlan,
    DunningStep,
    DunningTemplate,
    PaymentPlan,
    PlacedItem,
    PlanDocument,
    PlanInstalment,
    PromisedDocument,
    PromiseToPay,
)
from o2c.core.money import currency_decimals
from o2c.customers.models import Contact, Customer
from o2c.receivables.models import Allocation, Document, DocumentType

DUNNED_TYPES = (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)
"""Credit memos are not dunned (they are what the customer is owed)."""

_CHUNK = 20_000


def plan_list(*, entity_id: int) -> list[calculations.Plan]:
    """The entity's plans with their steps, in the order a customer's plan is looked for: by
    priority, then id (two queries)."""
    steps: dict[int, list[calculations.Step]] = {}
    for plan_id, level, days, channel, tone in (
        DunningStep.objects.filter(plan__entity_id=entity_id)
        .order_by("plan_id", "level")
        .values_list("plan_id", "level", "days", "channel", "tone")
    ):
        steps.setdefault(plan_id, []).append(calculations.Step(level, days, channel, tone))
    return [
        calculations.Plan(
            id=plan.pk,
            name=plan.name,
            is_default=plan.is_default,
            priority=plan.priority,
            countries=calculations.criteria(plan.countries),
            payment_terms=calculations.criteria(plan.payment_terms),
            risk_classes=calculations.criteria(plan.risk_classes),
            customer_types=calculations.criteria(plan.customer_types),
            min_open_minor=plan.min_open_minor,
            currency=plan.currency,
            steps=tuple(steps.get(plan.pk, ())),
        )
        for plan in DunningPlan.objects.filter(entity_id=entity_id).order_by("priority", "pk")
    ]


def open_items_for_dunning(*, entity_id: int, as_of: date, due_through: date) -> list[calculations.OpenItem]:
    """The entity's issued invoices and debit memos with an open amount (the cached open amount: what is
    open now), issued on or before `as_of`, due on or before `due_through`. One query."""
    rows = (
        Document.objects.filter(
            entity_id=entity_id,
            status=Document.Status.ISSUED,
            document_type__in=DUNNED_TYPES,
            open_minor__gt=0,
            issue_date__lte=as_of,
            due_date__lte=due_through,
        )
        .values_list("pk", "customer_id", "number", "currency", "open_minor", "due_date", "is_disputed")
        .iterator(chunk_size=_CHUNK)
    )
    return [
        calculations.OpenItem(pk, customer_id, number or "", currency, open_minor, due_date, is_disputed)
        for pk, customer_id, number, currency, open_minor, due_date, is_disputed in rows
    ]


def open_minor_by_customer(*, entity_id: int, currencies: set[str]) -> dict[tuple[int, str], int]:
    """Each customer's open invoices and debit memos per currency (for plans with a minimum balance)."""
    rows = (
        Document.objects.filter(
            entity_id=entity_id,
            status=Document.Status.ISSUED,
            document_type__in=DUNNED_TYPES,
            open_minor__gt=0,
            currency__in=currencies,
        )
        .values_list("customer_id", "currency")
        .annotate(open=Sum("open_minor"))
        .order_by()
    )
    return {(customer_id, currency): total for customer_id, currency, total in rows}


def last_dunned_levels(*, entity_id: int, due_through: date) -> dict[int, int]:
    """For each open invoice or debit memo of the entity due on or before `due_through` that was on a
    notice or reminder: the highest level it was dunned at. One grouped query."""
    rows = (
        DunningNoticeItem.objects.filter(
            entity_id=entity_id,
            document__status=Document.Status.ISSUED,
            document__open_minor__gt=0,
            document__due_date__lte=due_through,
        )
        .values_list("document_id")
        .annotate(level=Max("level"))
        .order_by()
    )
    return dict(rows.iterator(chunk_size=_CHUNK))


def promised_document_ids(*, entity_id: int, as_of: date) -> set[int]:
    """Documents under an open promise to pay made on or before `as_of` whose date plus grace is `as_of`
    or later."""
    return set(
        PromisedDocument.objects.filter(
            promise__entity_id=entity_id,
            promise__state=PromiseToPay.State.OPEN,
            promise__made_on__lte=as_of,
            promise__grace_until__gte=as_of,
        ).values_list("document_id", flat=True)
    )


def placed_document_ids(*, entity_id: int) -> set[int]:
    """Documents of the entity placed with a collection agency (a running placement): not dunned."""
    return set(
        PlacedItem.objects.filter(entity_id=entity_id, is_placed=True).values_list("document_id", flat=True)
    )


@dataclass(frozen=True, slots=True)
class PromiseFacts:
    id: int
    entity_id: int
    customer_id: int
    customer_number: str
    amount_minor: int
    currency: str
    made_on: date
    grace_until: date


def _promise_facts(promises: QuerySet[PromiseToPay], *, lock: bool) -> list[PromiseFacts]:
    """The promises' facts by id, locked in id order when asked."""
    if lock:
        promises = promises.select_for_update(of=("self",))
    return [
        PromiseFacts(*row)
        for row in promises.order_by("pk").values_list(
            "pk",
            "entity_id",
            "customer_id",
            "customer__number",
            "amount_minor",
            "currency",
            "made_on",
            "grace_until",
        )
    ]


def open_promises(
    *, entity_id: int | None = None, document_ids: set[int] | None = None, lock: bool = False
) -> list[PromiseFacts]:
    """The open promises of an entity, or those covering any of `document_ids`, by id; locked (in id
    order) for a review that judges them."""
    promises = PromiseToPay.objects.filter(state=PromiseToPay.State.OPEN)
    if entity_id is not None:
        promises = promises.filter(entity_id=entity_id)
    if document_ids is not None:
        promises = promises.filter(
            pk__in=PromisedDocument.objects.filter(document_id__any=frozenset(document_ids)).values(
                "promise_id"
            )
        )
    return _promise_facts(promises, lock=lock)


def kept_promises(*, document_ids: set[int], lock: bool = False) -> list[PromiseFacts]:
    """The kept promises covering any of `document_ids`, by id; locked for a re-judgement."""
    promises = PromiseToPay.objects.filter(
        state=PromiseToPay.State.KEPT,
        pk__in=PromisedDocument.objects.filter(document_id__any=frozenset(document_ids)).values("promise_id"),
    )
    return _promise_facts(promises, lock=lock)


def promise_payments(*, promise_ids: list[int]) -> dict[int, list[tuple[date, int]]]:
    """For each promise: (posting date, amount) of the payment allocations on its documents posted from
    the day it was made through its grace, leaving out the reversed ones (a returned payment) and their
    reversals, so cash that came back never counts, whenever it came back. One query."""
    found: dict[int, list[tuple[date, int]]] = {}
    for offset in range(0, len(promise_ids), _CHUNK):
        rows = PromisedDocument.objects.filter(
            promise_id__any=frozenset(promise_ids[offset : offset + _CHUNK]),
            document__allocations__kind=Allocation.Kind.PAYMENT,
            document__allocations__posting_date__gte=F("promise__made_on"),
            document__allocations__posting_date__lte=F("promise__grace_until"),
            document__allocations__reversed_by__isnull=True,
            document__allocations__reverses__isnull=True,
        ).values_list(
            "promise_id", "document__allocations__posting_date", "document__allocations__amount_minor"
        )
        for promise_id, posting_date, amount_minor in rows:
            found.setdefault(promise_id, []).append((posting_date, amount_minor))
    return found


def customers_stepped_up(*, entity_id: int, as_of: date) -> set[int]:
    """The customers with a promise to pay broken (or a payment plan defaulted) on or before `as_of` that
    still has an open document and was not followed by a dunning notice (level 1 or more) on or after
    the day it broke: their next notice moves a step up."""
    noticed_since = DunningNotice.objects.filter(
        customer_id=OuterRef("customer_id"), level__gt=0, as_of__gte=OuterRef("judged_on")
    )
    still_open = PromisedDocument.objects.filter(
        promise_id=OuterRef("pk"), document__open_minor__gt=0, document__status=Document.Status.ISSUED
    )
    promises = (
        PromiseToPay.objects.filter(
            entity_id=entity_id, state=PromiseToPay.State.BROKEN, judged_on__lte=as_of
        )
        .filter(Exists(still_open))
        .exclude(Exists(noticed_since))
        .values_list("customer_id", flat=True)
    )
    plans = (
        PaymentPlan.objects.filter(
            entity_id=entity_id, state=PaymentPlan.State.DEFAULTED, judged_on__lte=as_of
        )
        .filter(
            Exists(
                PlanDocument.objects.filter(
                    plan_id=OuterRef("pk"),
                    document__open_minor__gt=0,
                    document__status=Document.Status.ISSUED,
                )
            )
        )
        .exclude(Exists(noticed_since))
        .values_list("customer_id", flat=True)
    )
    return set(promises) | set(plans)


def customers_noticed_on(*, entity_id: int, as_of: date) -> set[tuple[int, bool]]:
    """(customer id, is reminder) of the notices and reminders of the entity on `as_of`."""
    return {
        (customer_id, level == 0)
        for customer_id, level in DunningNotice.objects.filter(entity_id=entity_id, as_of=as_of)
        .values_list("customer_id", "level")
        .distinct()
    }


def customer_facts(*, customer_ids: set[int]) -> dict[int, calculations.CustomerFacts]:
    ordered = sorted(customer_ids)
    found: dict[int, calculations.CustomerFacts] = {}
    for offset in range(0, len(ordered), _CHUNK * 5):
        rows = Customer.objects.filter(pk__any=frozenset(ordered[offset : offset + _CHUNK * 5])).values_list(
            "pk", "number", "language", "country", "payment_terms", "email", "risk_class", "customer_type"
        )
        found.update((row[0], calculations.CustomerFacts(*row)) for row in rows)
    return found


def billing_contacts(*, customer_ids: set[int]) -> dict[int, list[str]]:
    """The e-mail addresses of each customer's billing contacts (those that have one), oldest first."""
    found: dict[int, list[str]] = {}
    for customer_id, email in (
        Contact.objects.filter(customer_id__any=frozenset(customer_ids), is_billing=True)
        .exclude(email="")
        .order_by("customer_id", "pk")
        .values_list("customer_id", "email")
    ):
        found.setdefault(customer_id, []).append(email)
    return found


def notice_list(*, entity_id: int, as_of: date | None = None) -> QuerySet[DunningNotice]:
    notices = DunningNotice.objects.filter(entity_id=entity_id).select_related("customer")
    if as_of is not None:
        notices = notices.filter(as_of=as_of)
    return notices.order_by("as_of", "customer__number", "level")


def templates_of(*, plan_ids: set[int]) -> dict[tuple[int, int, str], tuple[str, str]]:
    """(plan id, level, language) -> (subject, body) of the plans' templates."""
    return {
        (plan_id, level, language): (subject, body)
        for plan_id, level, language, subject, body in DunningTemplate.objects.filter(
            step__plan_id__in=plan_ids
        ).values_list("step__plan_id", "step__level", "language", "subject", "body")
    }


@dataclass(frozen=True, slots=True)
class PromiseFigures:
    """Promises to pay in one currency: those judged kept and broken in a period (count and promised
    amount), and those open on its last day."""

    kept_count: int
    kept_minor: int
    broken_count: int
    broken_minor: int
    open_count: int
    open_minor: int


def promise_figures(
    *, entity_ids: list[int], first: date, last: date, customer_ids: set[int] | None = None
) -> dict[str, PromiseFigures]:
    """Per currency: the promises judged kept and broken from `first` through `last` (by `judged_on`),
    and those open on `last` (made on or before it, and judged after it or not yet), each with their
    count and promised amount. For the KPIs of the reporting app. One grouped query."""
    judged = Q(judged_on__gte=first, judged_on__lte=last)
    open_on_last = Q(made_on__lte=last) & (Q(state=PromiseToPay.State.OPEN) | Q(judged_on__gt=last))
    kept = judged & Q(state=PromiseToPay.State.KEPT)
    broken = judged & Q(state=PromiseToPay.State.BROKEN)
    promises = PromiseToPay.objects.filter(entity_id__in=entity_ids).filter(judged | open_on_last)
    if customer_ids is not None:
        if not customer_ids:
            return {}
        promises = promises.filter(customer_id__any=frozenset(customer_ids))
    rows = (
        promises.values("currency")
        .annotate(
            kept_count=Count("pk", filter=kept),
            kept_minor=Sum("amount_minor", filter=kept, default=0),
            broken_count=Count("pk", filter=broken),
            broken_minor=Sum("amount_minor", filter=broken, default=0),
            open_count=Count("pk", filter=open_on_last),
            open_minor=Sum("amount_minor", filter=open_on_last, default=0),
        )
        .order_by("currency")
    )
    return {
        row["currency"]: PromiseFigures(
            row["kept_count"],
            row["kept_minor"],
            row["broken_count"],
            row["broken_minor"],
            row["open_count"],
            row["open_minor"],
        )
        for row in rows
    }


RUNNING_PLAN_STATES = ("proposed", "approved", "active")
"""A payment plan in one of these states keeps its documents out of dunning."""


def planned_document_ids(*, entity_id: int) -> set[int]:
    """Documents in a proposed, approved or active payment plan of the entity."""
    return set(
        PlanDocument.objects.filter(
            plan__entity_id=entity_id, plan__state__in=RUNNING_PLAN_STATES
        ).values_list("document_id", flat=True)
    )


def running_plan_document_ids(*, document_ids: set[int]) -> set[int]:
    """Which of these documents are in a proposed, approved or active payment plan already."""
    return set(
        PlanDocument.objects.filter(
            document_id__any=frozenset(document_ids), plan__state__in=RUNNING_PLAN_STATES
        ).values_list("document_id", flat=True)
    )


@dataclass(frozen=True, slots=True)
class PlanFacts:
    id: int
    entity_id: int
    customer_id: int
    customer_number: str
    state: str
    total_minor: int
    currency: str
    approved_on: date | None
    """set on every plan judged (approved or active)"""
    grace_days: int


def plans_to_judge(*, entity_id: int, as_of: date, lock: bool = False) -> list[PlanFacts]:
    """The entity's approved and active payment plans approved on or before `as_of`, by id; locked
    (in id order) for a review that judges them."""
    plans = PaymentPlan.objects.filter(
        entity_id=entity_id,
        state__in=[PaymentPlan.State.APPROVED, PaymentPlan.State.ACTIVE],
        approved_on__lte=as_of,
    )
    return _plan_facts(plans, lock=lock)


def completed_plans(*, document_ids: set[int], lock: bool = False) -> list[PlanFacts]:
    """The completed payment plans covering any of `document_ids`, by id; locked for a re-judgement."""
    plans = PaymentPlan.objects.filter(
        state=PaymentPlan.State.COMPLETED,
        pk__in=PlanDocument.objects.filter(document_id__any=frozenset(document_ids)).values("plan_id"),
    )
    return _plan_facts(plans, lock=lock)


def _plan_facts(plans: QuerySet[PaymentPlan], *, lock: bool) -> list[PlanFacts]:
    if lock:
        plans = plans.select_for_update(of=("self",))
    return [
        PlanFacts(*row)
        for row in plans.order_by("pk").values_list(
            "pk",
            "entity_id",
            "customer_id",
            "customer__number",
            "state",
            "total_minor",
            "currency",
            "approved_on",
            "grace_days",
        )
    ]


def plan_instalments(*, plan_ids: list[int]) -> dict[int, list[tuple[date, int]]]:
    found: dict[int, list[tuple[date, int]]] = {}
    for plan_id, due_date, amount_minor in (
        PlanInstalment.objects.filter(plan_id__any=frozenset(plan_ids))
        .order_by("plan_id", "due_date")
        .values_list("plan_id", "due_date", "amount_minor")
    ):
        found.setdefault(plan_id, []).append((due_date, amount_minor))
    return found


def plan_payments(*, plan_ids: list[int]) -> dict[int, list[tuple[date, int]]]:
    """For each plan: (posting date, amount) of the payment allocations on its documents posted on or
    after the day it was approved, leaving out the reversed ones and their reversals (as for promises).
    One query."""
    found: dict[int, list[tuple[date, int]]] = {}
    rows = PlanDocument.objects.filter(
        plan_id__any=frozenset(plan_ids),
        document__allocations__kind=Allocation.Kind.PAYMENT,
        document__allocations__posting_date__gte=F("plan__approved_on"),
        document__allocations__reversed_by__isnull=True,
        document__allocations__reverses__isnull=True,
    ).values_list("plan_id", "document__allocations__posting_date", "document__allocations__amount_minor")
    for plan_id, posting_date, amount_minor in rows:
        found.setdefault(plan_id, []).append((posting_date, amount_minor))
    return found


def plan_document_ids(*, plan_ids: set[int]) -> frozenset[int]:
    if not plan_ids:
        return frozenset()
    return frozenset(
        PlanDocument.objects.filter(plan_id__any=frozenset(plan_ids)).values_list("document_id", flat=True)
    )


def payment_plan_list(*, entity_ids: list[int]) -> QuerySet[PaymentPlan]:
    return PaymentPlan.objects.filter(entity_id__in=entity_ids).select_related(
        "entity", "customer", "proposed_by", "decided_by"
    )


def payment_plan_get(*, entity_ids: list[int], plan_id: int) -> PaymentPlan:
    """The plan, with its instalments and documents at hand; DoesNotExist outside the entities."""
    return payment_plan_list(entity_ids=entity_ids).prefetch_related("instalments").get(pk=plan_id)


def payment_plan_documents(*, plan_id: int) -> list[tuple[int, str]]:
    """(id, number) of the plan's documents, by number."""
    return [
        (document_id, number or "")
        for document_id, number in PlanDocument.objects.filter(plan_id=plan_id)
        .order_by("document__number")
        .values_list("document_id", "document__number")
    ]


def activity_list(*, entity_ids: list[int], customer_id: int | None = None) -> QuerySet[Activity]:
    """Activities of the entities (of one customer), with who logged them and the documents."""
    activities = Activity.objects.filter(entity_id__in=entity_ids)
    if customer_id is not None:
        activities = activities.filter(customer_id=customer_id)
    return activities.select_related("customer", "created_by").prefetch_related("documents__document")


@dataclass(frozen=True)
class CollectorTasks:
    """A collector's tasks for a day: the follow-ups due and the promises to pay falling due."""

    activities: list[Activity]
    """the latest activity of each customer of the portfolio whose next action date is the day or
    earlier, the oldest next action first (the first `limit` of them when a limit was given)"""
    promises: list[PromiseToPay]
    """the open promises of the portfolio's customers whose promised date is the day or earlier (the
    first `limit`)"""
    activities_total: int = 0
    """how many follow-ups are due in all"""
    promises_total: int = 0
    """how many promises fall due in all"""


def collector_tasks(
    *, entity_ids: list[int], collector_id: int, today: date, limit: int | None = None
) -> CollectorTasks:
    """What a collector works on `today`, for the customers of the portfolio (`Customer.collector`). A
    follow-up is done when a later activity is logged on the customer, so only each customer's latest
    activity counts (a window over the portfolio's activities, not a query per customer). `limit`
    keeps the first so many of each list (a page shows the oldest and counts the rest). Five queries
    at most, whatever the size of the portfolio."""
    portfolio = Customer.objects.filter(entity_id__in=entity_ids, collector_id=collector_id).values("pk")
    latest = (
        Activity.objects.filter(entity_id__in=entity_ids, customer_id__in=portfolio)
        .annotate(
            newest=Window(
                RowNumber(),
                partition_by=[F("customer_id")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(newest=1, next_action_date__lte=today)
        .order_by("next_action_date", "customer__number", "pk")
        .values_list("pk", "next_action_date", "customer__number")
    )
    due = list(latest)
    shown = [pk for pk, _day, _number in (due if limit is None else due[:limit])]
    found = activity_list(entity_ids=entity_ids).in_bulk(shown)
    promises = PromiseToPay.objects.filter(
        entity_id__in=entity_ids,
        customer_id__in=portfolio,
        state=PromiseToPay.State.OPEN,
        promised_date__lte=today,
    )
    promises_total = promises.count() if limit is not None else 0
    ordered = promises.select_related("customer").order_by("promised_date", "customer__number", "pk")
    promise_rows = list(ordered if limit is None else ordered[:limit])
    return CollectorTasks(
        [found[pk] for pk in shown],
        promise_rows,
        activities_total=len(due),
        promises_total=promises_total if limit is not None else len(promise_rows),
    )


def promise_list(*, entity_ids: list[int]) -> QuerySet[PromiseToPay]:
    return PromiseToPay.objects.filter(entity_id__in=entity_ids).select_related(
        "entity", "customer", "created_by"
    )


def _documents_by(rows: QuerySet[Any], owner: str, owner_ids: list[int]) -> dict[int, list[int]]:
    """The document ids per owner (`owner` the link rows' field naming it), ascending."""
    found: dict[int, list[int]] = {}
    for owner_id, document_id in (
        rows.filter(**{f"{owner}__in": owner_ids})
        .order_by(owner, "document_id")
        .values_list(owner, "document_id")
    ):
        found.setdefault(owner_id, []).append(document_id)
    return found


def promise_documents(*, promise_ids: list[int]) -> dict[int, list[int]]:
    """The ids of each promise's documents, ascending."""
    return _documents_by(PromisedDocument.objects.all(), "promise_id", promise_ids)


def payment_plans_documents(*, plan_ids: list[int]) -> dict[int, list[int]]:
    """The ids of each payment plan's documents, ascending."""
    return _documents_by(PlanDocument.objects.all(), "plan_id", plan_ids)


def target_list(*, entity_ids: list[int]) -> QuerySet[CollectionTarget]:
    return CollectionTarget.objects.filter(entity_id__in=entity_ids).select_related(
        "entity", "collector", "updated_by"
    )


@dataclass(frozen=True, slots=True)
class WorklistLine:
    """One customer and currency of a collector's portfolio with something overdue: what and how long,
    the promises it broke lately, and its priority (`calculations.priority`)."""

    customer_id: int
    customer_number: str
    customer_name: str
    currency: str
    overdue_minor: int  # overdue invoices and debit memos, disputed ones left out
    items: int
    oldest_due_date: date
    days_overdue: int  # of the oldest overdue item
    broken_promises: int  # judged broken in the last 90 days
    promised: bool  # an open promise covers some of its documents
    priority: calculations.Priority
    risk_class: str = ""  # the customer's credit risk class, A to E; blank when not scored


WORKLIST_PROMISE_DAYS = 90


def worklist(*, entity_ids: list[int], collector_id: int, today: date) -> list[WorklistLine]:
    """The collector's portfolio (`Customer.collector`) per customer and currency with anything overdue
    today, not disputed and not placed with a collection agency, highest priority first (then the
    larger amount, then the customer number). Five queries, whatever the size of the portfolio: the
    overdue amounts grouped by customer id alone (the narrowest key), the customers' names and risk
    classes read apart; the customers with items at an agency (few) are summed again without those.

    The overdue items are read with the open-items index's own condition (issued, open amount not zero)
    and only the columns it holds, so PostgreSQL answers from the index alone; credit memos, the only
    documents whose open amount is negative, are left out by the sums' filter rather than by their
    type, which the index does not hold."""
    owed = Q(open_minor__gt=0)
    candidates = Document.objects.filter(
        ~Q(open_minor=0),
        entity_id__in=entity_ids,
        customer__collector_id=collector_id,
        status=Document.Status.ISSUED,
        due_date__lt=today,
        is_disputed=False,
    )

    def sums(documents: QuerySet[Document]) -> list[tuple[int, str, int | None, int, date | None]]:
        return list(
            documents.values("customer_id", "currency")
            .annotate(
                total=Sum("open_minor", filter=owed),
                items=Count("open_minor", filter=owed),
                oldest=Min("due_date", filter=owed),
            )
            .order_by()
            .values_list("customer_id", "currency", "total", "items", "oldest")
        )

    placed = dict(
        PlacedItem.objects.filter(
            entity_id__in=entity_ids, is_placed=True, document__customer__collector_id=collector_id
        ).values_list("document_id", "document__customer_id")
    )
    overdue = sums(candidates)
    if placed:
        at_agency = set(placed.values())
        overdue = [row for row in overdue if row[0] not in at_agency] + sums(
            candidates.filter(customer_id__in=at_agency).exclude(pk__in=list(placed))
        )
    customers = {
        pk: (number, name, risk_class)
        for pk, number, name, risk_class in Customer.objects.filter(
            entity_id__in=entity_ids, collector_id=collector_id
        ).values_list("pk", "number", "name", "risk_class")
    }
    broken = dict(
        PromiseToPay.objects.filter(
            entity_id__in=entity_ids,
            customer__collector_id=collector_id,
            state=PromiseToPay.State.BROKEN,
            judged_on__gt=today - timedelta(days=WORKLIST_PROMISE_DAYS),
            judged_on__lte=today,
        )
        .values("customer_id")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("customer_id", "count")
    )
    promised = set(
        PromiseToPay.objects.filter(
            entity_id__in=entity_ids, customer__collector_id=collector_id, state=PromiseToPay.State.OPEN
        ).values_list("customer_id", flat=True)
    )
    lines = []
    for customer_id, currency, total, items, oldest in overdue:
        if not items or total is None or oldest is None:  # only credit memos past their date
            continue
        number, name, risk_class = customers[customer_id]
        days = (today - oldest).days
        lines.append(
            WorklistLine(
                customer_id=customer_id,
                customer_number=number,
                customer_name=name,
                currency=currency,
                overdue_minor=int(total),
                items=items,
                oldest_due_date=oldest,
                days_overdue=days,
                broken_promises=broken.get(customer_id, 0),
                promised=customer_id in promised,
                priority=calculations.priority(
                    overdue_minor=int(total),
                    decimals=currency_decimals(currency),
                    days_overdue=days,
                    broken_promises=broken.get(customer_id, 0),
                    risk_class=risk_class,
                ),
                risk_class=risk_class,
            )
        )
    lines.sort(
        key=lambda line: (-line.priority.score, -line.overdue_minor, line.customer_number, line.currency)
    )
    return lines


# --- portfolios -------------------------------------------------------------------------------------

UNASSIGNED = "-"
"""The `collector` filter value of the customers in nobody's portfolio."""


def portfolio_customers(
    *, entity_id: int, collector: str = "", search: str = "", customer_type: str = "", country: str = ""
) -> QuerySet[Customer]:
    """The entity's customers in a collector's portfolio (by username; `UNASSIGNED`: in none; empty:
    any), with a number or name containing `search`, of a type and country, by number."""
    customers = Customer.objects.filter(entity_id=entity_id).select_related("collector")
    if collector == UNASSIGNED:
        customers = customers.filter(collector__isnull=True)
    elif collector:
        customers = customers.filter(collector__username=collector)
    if search:
        customers = customers.filter(Q(number__icontains=search) | Q(name__icontains=search))
    if customer_type:
        customers = customers.filter(customer_type=customer_type)
    if country:
        customers = customers.filter(country=country.upper())
    return customers.order_by("number")


@dataclass(frozen=True)
class PortfolioSize:
    collector: str | None
    """username; None for the customers in nobody's portfolio"""
    customers: int


def portfolio_sizes(*, entity_id: int) -> list[PortfolioSize]:
    """How many of the entity's customers each collector has, unassigned last. One query."""
    rows = (
        Customer.objects.filter(entity_id=entity_id)
        .values("collector__username")
        .annotate(customers=Count("pk"))
        .order_by("collector__username")
    )
    sizes = [PortfolioSize(row["collector__username"], row["customers"]) for row in rows]
    return sorted(sizes, key=lambda size: (size.collector is None, size.collector or ""))
