"""Payment plans (docs/collections.md, "Payment plans"): a collector proposes one for a customer's
documents with its instalments, a second person with the AR manager's role approves or rejects it, and
the review the dunning run starts with (`services.promises_review`) activates, completes or defaults
it. Its documents are left out of dunning while it is proposed, approved or active; a defaulted plan's
documents return to dunning a step up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections import calculations, selectors
from o2c.collections.errors import UnableToDecidePlan, UnableToProposePlan
from o2c.collections.models import PaymentPlan, PlanDocument, PlanInstalment
from o2c.core.money import Money, format_with_currency
from o2c.customers.models import Customer
from o2c.receivables.models import Document

APPROVE_PLANS = frozenset({"ar_manager", "admin"})
"""The roles of the second person who approves or rejects a payment plan (o2c.workspace.roles'
APPROVE_CREDITS: collections sits below the workspace, so it names the groups; a test keeps them
equal)."""


@dataclass(frozen=True)
class InstalmentIn:
    due_date: date
    amount: Money


@transaction.atomic
def payment_plan_propose(
    *,
    customer: Customer,
    documents: Sequence[Document],
    instalments: Sequence[InstalmentIn],
    actor: User | None,
    now: datetime,
    note: str = "",
) -> PaymentPlan:
    """Propose paying these documents of the customer in these instalments (they add up to the plan's
    total, at most what the documents still owe). From now until it is rejected, completed or
    defaulted its documents are left out of dunning. Audited as `collections.payment_plan.proposed`."""
    Customer.objects.select_for_update().filter(pk=customer.pk).get()  # one plan at a time per customer
    if not documents:
        raise UnableToProposePlan(_("a payment plan covers at least one document"), code="no_documents")
    if not instalments:
        raise UnableToProposePlan(_("a payment plan has at least one instalment"), code="no_instalments")
    currency = instalments[0].amount.currency
    if any(document.customer_id != customer.pk for document in documents):
        raise UnableToProposePlan(
            _("a payment plan covers documents of its customer only"), code="other_customer"
        )
    if any(document.currency != currency for document in documents) or any(
        instalment.amount.currency != currency for instalment in instalments
    ):
        raise UnableToProposePlan(
            _("a payment plan is in the currency of its documents"), code="currency_mismatch"
        )
    parts = [(instalment.due_date, instalment.amount.to_minor()) for instalment in instalments]
    if any(minor <= 0 for _day, minor in parts):
        raise UnableToProposePlan(_("every instalment is more than zero"), code="amount_not_positive")
    if len({day for day, _minor in parts}) != len(parts):
        raise UnableToProposePlan(_("one instalment a day"), code="duplicate_due_date")
    total = sum(minor for _day, minor in parts)
    fresh = {
        document.pk: document
        for document in Document.objects.filter(pk__in=[document.pk for document in documents])
    }
    if total > sum(document.open_minor for document in fresh.values()):
        raise UnableToProposePlan(
            _("the instalments add up to more than the documents' open amount"), code="exceeds_open_amount"
        )
    if selectors.running_plan_document_ids(document_ids=set(fresh)):
        raise UnableToProposePlan(_("a document is in another payment plan already"), code="already_in_plan")
    plan = PaymentPlan.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        currency=currency,
        total_minor=total,
        grace_days=calculations.PLAN_GRACE_DAYS,
        note=note,
        proposed_at=now,
        proposed_by=actor if actor is not None and actor.pk else None,
    )
    PlanInstalment.objects.bulk_create(
        PlanInstalment(plan=plan, due_date=day, amount_minor=minor, currency=currency)
        for day, minor in sorted(parts)
    )
    PlanDocument.objects.bulk_create(PlanDocument(plan=plan, document_id=pk) for pk in sorted(fresh))
    _audit(
        plan,
        "collections.payment_plan.proposed",
        actor=actor,
        now=now,
        changes={
            "state": (None, plan.state),
            "total": (None, format_with_currency(total, currency)),
            "instalments": (
                None,
                ", ".join(
                    f"{day.isoformat()} {format_with_currency(minor, currency)}"
                    for day, minor in sorted(parts)
                ),
            ),
            "documents": (None, ", ".join(sorted(document.number or "" for document in fresh.values()))),
        },
    )
    return plan


def may_approve_plans(actor: User | None) -> bool:
    if actor is None or not actor.is_active:
        return False
    return actor.is_superuser or actor.groups.filter(name__in=APPROVE_PLANS).exists()


def _to_decide(plan_id: int, actor: User | None) -> PaymentPlan:
    plan = PaymentPlan.objects.select_for_update().select_related("entity", "customer").get(pk=plan_id)
    if plan.state != PaymentPlan.State.PROPOSED:
        raise UnableToDecidePlan(
            _("payment plan %(plan)s is not waiting for approval") % {"plan": plan.pk}, code="not_pending"
        )
    if not may_approve_plans(actor):
        raise UnableToDecidePlan(
            _("an AR manager approves or rejects a payment plan"), code="approver_required"
        )
    assert actor is not None
    if plan.proposed_by_id == actor.pk:
        raise UnableToDecidePlan(
            _("the person who proposed a payment plan cannot decide it: a second person must"),
            code="same_person",
        )
    return plan


@transaction.atomic
def payment_plan_approve(*, plan_id: int, actor: User | None, now: datetime, reason: str = "") -> PaymentPlan:
    """A second person with the AR manager's role approves a proposed plan: the cash applied to its
    documents from today (the entity's date) counts towards its instalments; the next review makes it
    active."""
    plan = _to_decide(plan_id, actor)
    plan.state = PaymentPlan.State.APPROVED
    plan.decided_by = actor
    plan.decided_at = now
    plan.decision_reason = reason.strip()
    plan.approved_on = now.astimezone(ZoneInfo(plan.entity.time_zone)).date()
    plan.save(update_fields=["state", "decided_by", "decided_at", "decision_reason", "approved_on"])
    _audit(
        plan,
        "collections.payment_plan.approved",
        actor=actor,
        now=now,
        changes={"state": (PaymentPlan.State.PROPOSED.value, plan.state)},
        reason=plan.decision_reason,
    )
    return plan


@transaction.atomic
def payment_plan_reject(*, plan_id: int, actor: User | None, now: datetime, reason: str) -> PaymentPlan:
    """The second person refuses a proposed plan, saying why: its documents return to dunning."""
    if not reason.strip():
        raise UnableToDecidePlan(_("say why the payment plan is rejected"), code="reason_required")
    plan = _to_decide(plan_id, actor)
    plan.state = PaymentPlan.State.REJECTED
    plan.decided_by = actor
    plan.decided_at = now
    plan.decision_reason = reason.strip()
    plan.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    _audit(
        plan,
        "collections.payment_plan.rejected",
        actor=actor,
        now=now,
        changes={"state": (PaymentPlan.State.PROPOSED.value, plan.state)},
        reason=plan.decision_reason,
    )
    return plan


def _audit(
    plan: PaymentPlan,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    changes: dict[str, tuple[object, object]],
    reason: str = "",
) -> None:
    audit_services.record(
        actor=actor,
        action=action,
        object_type="customer",
        object_id=plan.customer_id,
        object_label=plan.customer.number,
        entity_id=plan.entity_id,
        changes={"payment_plan": (None, plan.pk), **changes},
        reason=reason,
        now=now,
    )


@dataclass(frozen=True)
class PlanJudgement:
    plan_id: int
    customer_id: int
    customer_number: str
    currency: str
    total_minor: int
    before: str
    state: str
    """active, completed or defaulted"""
    judged_on: date | None
    """the day it was activated, completed or defaulted"""
    paid_minor: int


def _verdicts(
    plans: list[selectors.PlanFacts], as_of: date
) -> list[tuple[selectors.PlanFacts, calculations.Verdict]]:
    """Each plan's verdict as of the day, on its instalments and the cash on its documents (two queries)."""
    ids = [plan.id for plan in plans]
    instalments = selectors.plan_instalments(plan_ids=ids)
    payments = selectors.plan_payments(plan_ids=ids)
    verdicts = []
    for plan in plans:
        assert plan.approved_on is not None
        verdict = calculations.plan_verdict(
            total_minor=plan.total_minor,
            approved_on=plan.approved_on,
            instalments=instalments.get(plan.id, []),
            grace_days=plan.grace_days,
            payments=payments.get(plan.id, []),
            as_of=as_of,
        )
        verdicts.append((plan, verdict))
    return verdicts


def plans_judge(
    *, entity_id: int, as_of: date, actor: User | None, now: datetime, write: bool
) -> list[PlanJudgement]:
    """The entity's approved and active plans as of `as_of` (set-based: three queries): completed or
    defaulted (`calculations.plan_verdict`), else an approved plan becomes active. Saved and audited
    unless `write` is false (a dry run)."""
    plans = selectors.plans_to_judge(entity_id=entity_id, as_of=as_of, lock=write)
    judged: list[PlanJudgement] = []
    for plan, verdict in _verdicts(plans, as_of):
        if verdict.state != "open":
            state, day = verdict.state, verdict.judged_on
        elif plan.state == PaymentPlan.State.APPROVED:
            state, day = PaymentPlan.State.ACTIVE.value, as_of
        else:
            continue
        judged.append(
            PlanJudgement(
                plan.id,
                plan.customer_id,
                plan.customer_number,
                plan.currency,
                plan.total_minor,
                plan.state,
                state,
                day,
                verdict.paid_minor,
            )
        )
    if write and judged:
        _save(judged, actor=actor, now=now, entity_id=entity_id)
    return judged


@transaction.atomic
def plans_rejudge_returned(
    *, document_ids: list[int], returned_on: date, now: datetime
) -> list[PlanJudgement]:
    """A payment came back from these documents: each completed plan covering them is judged again as of
    the day it came back, on the cash that stayed. Active again when no instalment's grace has passed
    unpaid meanwhile (its documents leave dunning again), else defaulted on that day; still completed
    when other cash covers it."""
    plans = selectors.completed_plans(document_ids=set(document_ids), lock=True)
    judged: list[PlanJudgement] = []
    for plan, verdict in _verdicts(plans, returned_on):
        if verdict.state == PaymentPlan.State.COMPLETED:
            continue
        state = PaymentPlan.State.ACTIVE if verdict.state == "open" else PaymentPlan.State.DEFAULTED
        judged.append(
            PlanJudgement(
                plan.id,
                plan.customer_id,
                plan.customer_number,
                plan.currency,
                plan.total_minor,
                plan.state,
                state.value,
                None if state == PaymentPlan.State.ACTIVE else returned_on,
                0 if state == PaymentPlan.State.ACTIVE else verdict.paid_minor,
            )
        )
    for entity_id in sorted({plan.entity_id for plan in plans}):
        mine = {plan.id for plan in plans if plan.entity_id == entity_id}
        if of_entity := [judgement for judgement in judged if judgement.plan_id in mine]:
            _save(of_entity, actor=None, now=now, entity_id=entity_id)
    return judged


def _save(judged: list[PlanJudgement], *, actor: User | None, now: datetime, entity_id: int) -> None:
    plans = PaymentPlan.objects.in_bulk([judgement.plan_id for judgement in judged])
    for judgement in judged:
        plan = plans[judgement.plan_id]
        plan.state = judgement.state
        if judgement.state == PaymentPlan.State.ACTIVE and judgement.before == PaymentPlan.State.COMPLETED:
            plan.judged_on, plan.judged_at, plan.paid_minor = None, None, 0
        elif judgement.state == PaymentPlan.State.ACTIVE:
            plan.activated_on = judgement.judged_on
        else:
            plan.judged_on = judgement.judged_on
            plan.judged_at = now
            plan.paid_minor = judgement.paid_minor
    PaymentPlan.objects.bulk_update(
        list(plans.values()),
        ["state", "activated_on", "judged_on", "judged_at", "paid_minor"],
        batch_size=2000,
    )
    for state, reopened in (
        (PaymentPlan.State.ACTIVE, False),
        (PaymentPlan.State.ACTIVE, True),
        (PaymentPlan.State.COMPLETED, False),
        (PaymentPlan.State.DEFAULTED, False),
        (PaymentPlan.State.DEFAULTED, True),
    ):
        audit_services.record_for_each(
            actor=actor,
            action=(
                "collections.payment_plan.reopened"
                if reopened and state == PaymentPlan.State.ACTIVE
                else "collections.payment_plan.activated"
                if state == PaymentPlan.State.ACTIVE
                else "collections.payment_plan.completed"
                if state == PaymentPlan.State.COMPLETED
                else "collections.payment_plan.defaulted"
            ),
            object_type="customer",
            now=now,
            objects=(
                (
                    judgement.customer_id,
                    judgement.customer_number,
                    entity_id,
                    {
                        "payment_plan": (None, judgement.plan_id),
                        "state": (judgement.before, judgement.state),
                        "on": (None, str(judgement.judged_on or "")),
                        "paid": (None, format_with_currency(judgement.paid_minor, judgement.currency)),
                    },
                )
                for judgement in judged
                if judgement.state == state and (judgement.before == PaymentPlan.State.COMPLETED) == reopened
            ),
        )
