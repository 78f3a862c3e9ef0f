"""Collections use cases: the dunning run, the default plan, promises to pay.

`dunning_run` is set-based: a handful of queries read the open items, the levels they were last dunned
at, the promises and the customers; `calculations.notices_due` decides; notices and their items go in
as bulk inserts. E-mail notices are rendered and sent after commit (`delivery`), never inside the run's
transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections import calculations, delivery, selectors
from o2c.collections import plans as payment_plans
from o2c.collections.defaults import DEFAULT_PLAN_NAME, DEFAULT_STEPS
from o2c.collections.errors import UnableToRecordPromise, UnableToSetTarget
from o2c.collections.models import (
    Channel,
    CollectionTarget,
    DunningNotice,
    DunningNoticeItem,
    DunningPlan,
    DunningStep,
    DunningTemplate,
    PaymentPlan,
    PromisedDocument,
    PromiseToPay,
)
from o2c.core.db import insert_new_rows
from o2c.core.money import Money, format_with_currency
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document


@dataclass(frozen=True)
class DunningRunResult:
    entity_code: str
    as_of: date
    dry_run: bool
    notices: list[calculations.Notice]
    notice_ids: list[int]
    """the ids of the notices written, in the order of `notices` (empty for a dry run)"""


def default_plan() -> calculations.Plan:
    """The standard plan of `defaults`, unsaved (what an entity without a plan follows)."""
    return calculations.Plan(
        id=None,
        name=DEFAULT_PLAN_NAME,
        is_default=True,
        priority=100,
        countries=frozenset(),
        payment_terms=frozenset(),
        min_open_minor=None,
        currency="",
        steps=tuple(calculations.Step(s.level, s.days, s.channel, s.tone) for s in DEFAULT_STEPS),
    )


@transaction.atomic
def plan_default_ensure(*, entity: LegalEntity, actor: User | None, now: datetime) -> DunningPlan:
    """The entity's default dunning plan; the standard one of `defaults` (steps and templates in the four
    languages) when it has none yet. The data migration gives every entity of a fresh database its plan;
    entities created later get theirs here, at their first dunning run."""
    plan = DunningPlan.objects.filter(entity=entity, is_default=True).first()
    if plan is not None:
        return plan
    plan = DunningPlan.objects.create(entity=entity, name=DEFAULT_PLAN_NAME, is_default=True, created_at=now)
    for default in DEFAULT_STEPS:
        step = DunningStep.objects.create(
            plan=plan, level=default.level, days=default.days, channel=default.channel, tone=default.tone
        )
        DunningTemplate.objects.bulk_create(
            DunningTemplate(step=step, language=language, subject=subject, body=body)
            for language, (subject, body) in default.templates.items()
        )
    audit_services.record(
        actor=actor,
        action="collections.plan.created",
        object_type="dunning_plan",
        object_id=plan.pk,
        object_label=plan.name,
        entity_id=entity.pk,
        now=now,
    )
    return plan


def _reminder_window(plans: list[calculations.Plan]) -> int:
    """How many days before their due date the plans remind of items (0: none remind)."""
    return max((-plan.reminder.days for plan in plans if plan.reminder is not None), default=0)


@transaction.atomic
def dunning_run(
    *,
    entity: LegalEntity,
    as_of: date,
    dry_run: bool,
    actor: User | None,
    now: datetime,
    on_mail_total: Callable[[int], None] | None = None,
    mail_progress: Callable[[int], None] | None = None,
) -> DunningRunResult:
    """Send the dunning notices and pre-due reminders that are due on `as_of` (docs/collections.md): one
    notice per customer with an item due for dunning, listing all its overdue items that are neither
    disputed nor under an open promise to pay, at the highest level they reached; a reminder of items
    falling due within the level-0 window. A dry run writes nothing and returns the same notices;
    running twice on one day sends nothing twice. E-mail notices are sent after commit (`on_mail_total`
    and `mail_progress` follow the sending, as `delivery.notices_send` says)."""
    if not dry_run:
        # one run per entity at a time: the default plan's row is the entity's dunning lock
        plan_default_ensure(entity=entity, actor=actor, now=now)
        DunningPlan.objects.select_for_update().filter(entity=entity, is_default=True).get()
    # promises first: a promise broken today puts its items back, a step up, on today's notice
    review = _review(entity_id=entity.pk, as_of=as_of, actor=actor, now=now, write=not dry_run)
    plans = selectors.plan_list(entity_id=entity.pk) or [default_plan()]
    due_through = as_of + timedelta(days=_reminder_window(plans))
    items = selectors.open_items_for_dunning(entity_id=entity.pk, as_of=as_of, due_through=due_through)
    customer_ids = {item.customer_id for item in items}
    customers = selectors.customer_facts(customer_ids=customer_ids)
    # a notice goes to the customer's billing contacts, else to the customer's own address
    for customer_id, emails in selectors.billing_contacts(customer_ids=customer_ids).items():
        customers[customer_id] = replace(customers[customer_id], email=", ".join(emails))
    minimums = {plan.currency for plan in plans if plan.min_open_minor is not None}
    open_minor = (
        selectors.open_minor_by_customer(entity_id=entity.pk, currencies=minimums) if minimums else {}
    )
    customer_plans = {
        customer_id: plan
        for customer_id in customer_ids
        if (plan := calculations.plan_of(customers[customer_id], plans, open_minor)) is not None
    }
    notices = calculations.notices_due(
        as_of=as_of,
        items=items,
        customers=customers,
        plans=customer_plans,
        last_levels=selectors.last_dunned_levels(entity_id=entity.pk, due_through=due_through),
        promised=(
            selectors.promised_document_ids(entity_id=entity.pk, as_of=as_of)
            | selectors.planned_document_ids(entity_id=entity.pk)
        )
        - review.judged_documents
        | selectors.placed_document_ids(entity_id=entity.pk),
        noticed=selectors.customers_noticed_on(entity_id=entity.pk, as_of=as_of),
        stepped_up=selectors.customers_stepped_up(entity_id=entity.pk, as_of=as_of)
        | review.stepped_up_customers,
    )
    if dry_run or not notices:
        return DunningRunResult(entity.code, as_of, dry_run, notices, [])
    notice_ids = _write(entity=entity, as_of=as_of, notices=notices, now=now)
    audit_services.record_for_each(
        actor=actor,
        action="collections.notice.created",
        object_type="customer",
        now=now,
        objects=(
            (
                notice.customer_id,
                notice.customer_number,
                entity.pk,
                {
                    "dunning_level": (None, notice.level),
                    "channel": (None, notice.channel),
                    "as_of": (None, as_of.isoformat()),
                    "items": (None, len(notice.items)),
                },
            )
            for notice in notices
        ),
    )
    to_mail = [pk for pk, notice in zip(notice_ids, notices, strict=True) if notice.channel == Channel.EMAIL]
    if to_mail:
        transaction.on_commit(
            lambda: delivery.notices_deliver(
                notice_ids=to_mail, on_total=on_mail_total, progress=mail_progress
            )
        )
    return DunningRunResult(entity.code, as_of, dry_run, notices, notice_ids)


_NOTICE_COLUMNS = (
    "entity",
    "customer",
    "plan",
    "as_of",
    "level",
    "language",
    "channel",
    "tone",
    "status",
    "recipient",
    "subject",
    "body",
    "delivery_error",
    "created_at",
    "sent_at",
)
_ITEM_COLUMNS = ("notice", "entity", "document", "level", "days_overdue", "open_minor", "currency")


def _write(
    *, entity: LegalEntity, as_of: date, notices: list[calculations.Notice], now: datetime
) -> list[int]:
    """The notices and their items in two bulk inserts (COPY on PostgreSQL)."""
    ids = insert_new_rows(
        DunningNotice,
        _NOTICE_COLUMNS,
        [
            (
                entity.pk,
                notice.customer_id,
                notice.plan_id,
                as_of,
                notice.level,
                notice.language,
                notice.channel,
                notice.tone,
                DunningNotice.Status.PENDING,
                notice.recipient,
                "",
                "",
                "",
                now,
                None,
            )
            for notice in notices
        ],
    )
    insert_new_rows(
        DunningNoticeItem,
        _ITEM_COLUMNS,
        [
            (
                notice_id,
                entity.pk,
                item.document_id,
                item.level,
                item.days_overdue,
                item.open_minor,
                item.currency,
            )
            for notice_id, notice in zip(ids, notices, strict=True)
            for item in notice.items
        ],
    )
    return ids


@transaction.atomic
def promise_record(
    *,
    customer: Customer,
    documents: list[Document],
    amount: Money,
    promised_date: date,
    contact: str,
    actor: User | None,
    now: datetime,
    note: str = "",
    made_on: date | None = None,
) -> PromiseToPay:
    """Record a customer's promise to pay these documents by `promised_date`: until then, and for the
    grace days after it (`calculations.PROMISE_GRACE_DAYS`), they are left out of dunning while the
    promise is open. `made_on` is the day the customer promised (default: today in the entity's time
    zone); the cash applied from that day on counts towards the promise (`promises_review`)."""
    if not documents:
        raise UnableToRecordPromise(_("a promise to pay covers at least one document"), code="no_documents")
    if any(document.customer_id != customer.pk for document in documents):
        raise UnableToRecordPromise(
            _("a promise to pay covers documents of its customer only"), code="other_customer"
        )
    if any(document.currency != amount.currency for document in documents):
        raise UnableToRecordPromise(
            _("a promise to pay is in the currency of its documents"), code="currency_mismatch"
        )
    amount_minor = amount.to_minor()
    if amount_minor <= 0:
        raise UnableToRecordPromise(_("a promised amount is more than zero"), code="amount_not_positive")
    if made_on is None:
        made_on = now.astimezone(ZoneInfo(customer.entity.time_zone)).date()
    if promised_date < made_on:
        raise UnableToRecordPromise(
            _("a promise to pay is for a date on or after the day it is made"), code="date_passed"
        )
    promise = PromiseToPay.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        amount_minor=amount_minor,
        currency=amount.currency,
        promised_date=promised_date,
        made_on=made_on,
        grace_until=promised_date + timedelta(days=calculations.PROMISE_GRACE_DAYS),
        contact=contact,
        note=note,
        created_at=now,
        created_by=actor,
    )
    PromisedDocument.objects.bulk_create(
        PromisedDocument(promise=promise, document=document) for document in documents
    )
    audit_services.record(
        actor=actor,
        action="collections.promise.recorded",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={
            "promised_amount": (None, format_with_currency(amount_minor, amount.currency)),
            "promised_date": (None, promised_date.isoformat()),
            "documents": (None, ", ".join(sorted(document.number or "" for document in documents))),
        },
        now=now,
    )
    return promise


@dataclass(frozen=True)
class PromiseJudgement:
    promise_id: int
    customer_id: int
    customer_number: str
    currency: str
    amount_minor: int
    verdict: calculations.Verdict


@dataclass(frozen=True)
class PromiseReview:
    """What a review judged: the promises that became kept or broken (the open ones are left out)."""

    entity_code: str
    as_of: date
    judged: list[PromiseJudgement]
    plans: list[payment_plans.PlanJudgement]
    """the payment plans that became active, completed or defaulted"""
    judged_documents: frozenset[int]
    """the documents of the judged promises and of the plans that ended (a dry run's notices leave
    them in without a write)"""

    @property
    def kept(self) -> list[PromiseJudgement]:
        return [judgement for judgement in self.judged if judgement.verdict.state == PromiseToPay.State.KEPT]

    @property
    def broken(self) -> list[PromiseJudgement]:
        return [
            judgement for judgement in self.judged if judgement.verdict.state == PromiseToPay.State.BROKEN
        ]

    @property
    def stepped_up_customers(self) -> set[int]:
        """The customers of the promises broken and of the plans defaulted: a step up at their next
        notice."""
        return {judgement.customer_id for judgement in self.broken} | {
            plan.customer_id for plan in self.plans if plan.state == PaymentPlan.State.DEFAULTED
        }


@transaction.atomic
def promises_review(*, entity: LegalEntity, as_of: date, actor: User | None, now: datetime) -> PromiseReview:
    """Judge the entity's open promises to pay as of `as_of` (set-based: two queries read them and the
    cash on their documents): *kept* when the payments applied to their documents from the day they were
    made through their promised date plus grace add up to the promised amount, *broken* once that day
    has passed without it. Each judgement is saved with its day (`judged_on`) and the cash counted, and
    audited as `collections.promise.kept` or `collections.promise.broken`. Then the approved and active
    payment plans (`plans.plans_judge`): completed, defaulted, or an approved one made active. The
    dunning run calls this first; judging twice changes nothing."""
    review = _review(entity_id=entity.pk, as_of=as_of, actor=actor, now=now, write=True)
    return replace(review, entity_code=entity.code)


@transaction.atomic
def promises_judge_paid(*, document_ids: list[int], now: datetime) -> list[PromiseJudgement]:
    """Cash was applied to these documents (`cash.payment_applied`): the open promises covering them
    that the cash applied within their window now keeps are judged kept at once. Breaking waits for the
    review: it depends on the day, which an event does not have."""
    promises = selectors.open_promises(document_ids=set(document_ids), lock=True)
    payments = selectors.promise_payments(promise_ids=[promise.id for promise in promises])
    judged = [
        judgement
        for promise in promises
        if (judgement := _judgement(promise, payments.get(promise.id, []), promise.grace_until)).verdict.state
        == PromiseToPay.State.KEPT
    ]
    _save_judgements(judged, actor=None, now=now)
    return judged


@dataclass(frozen=True)
class ReturnReview:
    """What a returned payment undid: promises reopened (their window still running) or broken, and
    completed payment plans made active again or defaulted."""

    promises: list[PromiseJudgement]
    plans: list[payment_plans.PlanJudgement]


@transaction.atomic
def promises_judge_returned(*, document_ids: list[int], returned_on: date, now: datetime) -> ReturnReview:
    """A payment came back (`cash.payment_returned`) from these documents: the kept promises and the
    completed payment plans covering them are judged again on the cash that stayed, as of the day it
    came back. A promise whose window still runs is open again (and its documents leave dunning again);
    one whose grace has passed is broken on the day the cash came back, so the next notice steps up. A
    plan is active again, or defaulted when an instalment's grace has passed meanwhile. Cash that still
    covers them changes nothing."""
    promises = selectors.kept_promises(document_ids=set(document_ids), lock=True)
    payments = selectors.promise_payments(promise_ids=[promise.id for promise in promises])
    undone = [
        judgement
        for promise in promises
        if (judgement := _judgement(promise, payments.get(promise.id, []), returned_on)).verdict.state
        != PromiseToPay.State.KEPT
    ]
    undone = [
        replace(judgement, verdict=replace(judgement.verdict, judged_on=returned_on))
        if judgement.verdict.state == PromiseToPay.State.BROKEN
        else judgement
        for judgement in undone
    ]
    _save_judgements(undone, actor=None, now=now, before=PromiseToPay.State.KEPT)
    plans = payment_plans.plans_rejudge_returned(document_ids=document_ids, returned_on=returned_on, now=now)
    return ReturnReview(undone, plans)


def _judgement(
    promise: selectors.PromiseFacts, payments: list[tuple[date, int]], as_of: date
) -> PromiseJudgement:
    return PromiseJudgement(
        promise_id=promise.id,
        customer_id=promise.customer_id,
        customer_number=promise.customer_number,
        currency=promise.currency,
        amount_minor=promise.amount_minor,
        verdict=calculations.promise_verdict(
            amount_minor=promise.amount_minor,
            made_on=promise.made_on,
            grace_until=promise.grace_until,
            payments=payments,
            as_of=as_of,
        ),
    )


def _review(*, entity_id: int, as_of: date, actor: User | None, now: datetime, write: bool) -> PromiseReview:
    """The promises judged, then the payment plans."""
    review = _promises_judge(entity_id=entity_id, as_of=as_of, actor=actor, now=now, write=write)
    judged_plans = payment_plans.plans_judge(
        entity_id=entity_id, as_of=as_of, actor=actor, now=now, write=write
    )
    ended = {plan.plan_id for plan in judged_plans if plan.state != PaymentPlan.State.ACTIVE}
    return replace(
        review,
        plans=judged_plans,
        judged_documents=review.judged_documents | selectors.plan_document_ids(plan_ids=ended),
    )


def _promises_judge(
    *, entity_id: int, as_of: date, actor: User | None, now: datetime, write: bool
) -> PromiseReview:
    promises = [
        promise
        for promise in selectors.open_promises(entity_id=entity_id, lock=write)
        if promise.made_on <= as_of
    ]
    payments = selectors.promise_payments(promise_ids=[promise.id for promise in promises])
    judged = [
        judgement
        for promise in promises
        if (judgement := _judgement(promise, payments.get(promise.id, []), as_of)).verdict.state
        != PromiseToPay.State.OPEN
    ]
    if write:
        _save_judgements(judged, actor=actor, now=now)
    documents = (
        frozenset(
            PromisedDocument.objects.filter(
                promise_id__any=frozenset(judgement.promise_id for judgement in judged)
            ).values_list("document_id", flat=True)
        )
        if judged
        else frozenset()
    )
    return PromiseReview("", as_of, judged, [], documents)


def _save_judgements(
    judged: list[PromiseJudgement],
    *,
    actor: User | None,
    now: datetime,
    before: str = PromiseToPay.State.OPEN,
) -> None:
    """Each judged promise's state, day and cash counted (one update per promise), audited on its
    customer; `before` is the state they were judged from (kept, when a returned payment undoes it)."""
    if not judged:
        return
    promises = PromiseToPay.objects.in_bulk([judgement.promise_id for judgement in judged])
    for judgement in judged:
        promise = promises[judgement.promise_id]
        reopened = judgement.verdict.state == PromiseToPay.State.OPEN
        promise.state = judgement.verdict.state
        promise.judged_on = judgement.verdict.judged_on
        promise.judged_at = None if reopened else now
        promise.paid_minor = 0 if reopened else judgement.verdict.paid_minor
    PromiseToPay.objects.bulk_update(
        list(promises.values()), ["state", "judged_on", "judged_at", "paid_minor"], batch_size=2000
    )
    for state in (PromiseToPay.State.KEPT, PromiseToPay.State.BROKEN, PromiseToPay.State.OPEN):
        audit_services.record_for_each(
            actor=actor,
            action=(
                "collections.promise.kept"
                if state == PromiseToPay.State.KEPT
                else "collections.promise.broken"
                if state == PromiseToPay.State.BROKEN
                else "collections.promise.reopened"
            ),
            object_type="customer",
            now=now,
            objects=(
                (
                    judgement.customer_id,
                    judgement.customer_number,
                    promises[judgement.promise_id].entity_id,
                    {
                        "promise": (None, judgement.promise_id),
                        "state": (str(before), state.value),
                        "judged_on": (None, str(judgement.verdict.judged_on or "")),
                        "promised_amount": (
                            None,
                            format_with_currency(judgement.amount_minor, judgement.currency),
                        ),
                        "paid": (
                            None,
                            format_with_currency(judgement.verdict.paid_minor, judgement.currency),
                        ),
                    },
                )
                for judgement in judged
                if judgement.verdict.state == state
            ),
        )


@transaction.atomic
def collection_target_set(
    *, entity: LegalEntity, collector: User, month: date, amount: Money, actor: User | None, now: datetime
) -> CollectionTarget:
    """Set what `collector` is to collect in the month starting on `month`, in the amount's currency
    (replacing the month's earlier target in that currency). Audited."""
    if month.day != 1:
        raise UnableToSetTarget(_("a target is for a month: give its first day"), code="not_a_month")
    amount_minor = amount.to_minor()
    if amount_minor < 0:
        raise UnableToSetTarget(_("a target is not negative"), code="negative")
    target = (
        CollectionTarget.objects.select_for_update()
        .filter(entity=entity, collector=collector, month=month, currency=amount.currency)
        .first()
    )
    before = None if target is None else format_with_currency(target.amount_minor, target.currency)
    if target is None:
        target = CollectionTarget(entity=entity, collector=collector, month=month, currency=amount.currency)
    target.amount_minor = amount_minor
    target.updated_at = now
    target.updated_by = actor if actor is not None and actor.pk else None
    target.save()
    audit_services.record(
        actor=actor,
        action="collections.target.set",
        object_type="user",
        object_id=collector.pk,
        object_label=collector.username,
        entity_id=entity.pk,
        changes={
            f"target {month.strftime('%Y-%m')}": (before, format_with_currency(amount_minor, amount.currency))
        },
        now=now,
    )
    return target
