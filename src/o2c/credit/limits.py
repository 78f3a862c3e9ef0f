"""Credit limit use cases: request, approve, reject (maker-checker), and the entity's credit policy.

A lowering, or a new limit or raise up to the approval threshold (per entity and currency), takes effect
at once; a new limit or raise above it waits for a second person, who cannot be the one who asked. The
active version is the effective limit: activation writes it to `Customer.credit_limit_minor` when it is in
the customer's currency (else the field is emptied), and rechecks the held orders of the customer's group.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency, format_minor, format_with_currency
from o2c.credit import rules, selectors
from o2c.credit.errors import UnableToSetLimit
from o2c.credit.models import ApprovalThreshold, CreditLimit, CreditPolicy
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity


def _amount_minor(amount: Decimal, currency: str) -> int:
    try:
        currency = ensure_currency(currency)
        if amount < 0:
            raise UnableToSetLimit(_("a credit limit cannot be negative"), code="bad_amount")
        return Money(amount, currency).to_minor()
    except UnableToHandleMoney as error:
        raise UnableToSetLimit(error.message, code="bad_amount") from None


def _lock_customer(customer_id: int) -> Customer:
    return Customer.objects.select_for_update(of=("self",)).select_related("entity").get(pk=customer_id)


@transaction.atomic
def limit_request(
    *,
    customer_id: int,
    amount: Decimal,
    currency: str,
    valid_until: date | None,
    next_review_date: date | None,
    reason: str,
    actor: User | None,
    now: datetime,
) -> CreditLimit:
    """Ask for a customer's limit. Effective at once when it lowers the limit (same currency) or is not
    above the threshold; else pending until a second person approves it."""
    customer = _lock_customer(customer_id)
    currency = currency.strip().upper()
    amount_minor = _amount_minor(amount, currency)
    if CreditLimit.objects.filter(customer=customer, status=CreditLimit.Status.PENDING).exists():
        raise UnableToSetLimit(
            _("customer %(number)s has a limit waiting for approval") % {"number": customer.number},
            code="pending_exists",
        )
    current = selectors.limit_of(customer)
    lowering = current is not None and current.currency == currency and amount_minor <= current.amount_minor
    threshold = selectors.threshold_minor(customer.entity, currency)
    needs_approval = not lowering and (threshold is None or amount_minor > threshold)
    limit = CreditLimit.objects.create(
        customer=customer,
        currency=currency,
        amount_minor=amount_minor,
        valid_until=valid_until,
        next_review_date=next_review_date,
        status=CreditLimit.Status.PENDING,
        needs_approval=needs_approval,
        reason=reason.strip(),
        requested_at=now,
        requested_by=actor,
    )
    audit_services.record(
        actor=actor,
        action="credit.limit.requested",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={"credit_limit": (_label(current), f"{format_minor(amount_minor, currency)} {currency}")},
        reason=reason,
        now=now,
    )
    if not needs_approval:
        _activate(limit, customer, actor=actor, now=now)
    return limit


def _label(limit: rules.Limit | CreditLimit | None) -> str | None:
    if limit is None:
        return None
    return f"{format_minor(limit.amount_minor, limit.currency)} {limit.currency}"


@transaction.atomic
def limit_approve(*, limit_id: int, actor: User | None, reason: str, now: datetime) -> CreditLimit:
    limit = _pending(limit_id)
    if actor is not None and limit.requested_by_id == actor.pk:
        raise UnableToSetLimit(
            _("the limit was asked for by you: a second person approves it"), code="maker_cannot_approve"
        )
    customer = _lock_customer(limit.customer_id)
    limit.decided_at = now
    limit.decided_by = actor
    limit.decision_reason = reason.strip()
    limit.save(update_fields=["decided_at", "decided_by", "decision_reason"])
    audit_services.record(
        actor=actor,
        action="credit.limit.approved",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={"credit_limit": (None, _label(limit))},
        reason=reason,
        now=now,
    )
    _activate(limit, customer, actor=actor, now=now)
    return limit


@transaction.atomic
def limit_reject(*, limit_id: int, actor: User | None, reason: str, now: datetime) -> CreditLimit:
    if not reason.strip():
        raise UnableToSetLimit(_("a reason is required"), code="reason_required")
    limit = _pending(limit_id)
    limit.status = CreditLimit.Status.REJECTED
    limit.decided_at = now
    limit.decided_by = actor
    limit.decision_reason = reason.strip()
    limit.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
    audit_services.record(
        actor=actor,
        action="credit.limit.rejected",
        object_type="customer",
        object_id=limit.customer_id,
        object_label=str(limit.customer),
        entity_id=limit.customer.entity_id,
        changes={"credit_limit": (_label(limit), None)},
        reason=reason,
        now=now,
    )
    return limit


def _pending(limit_id: int) -> CreditLimit:
    limit = (
        CreditLimit.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=limit_id)
        .first()
    )
    if limit is None or limit.status != CreditLimit.Status.PENDING:
        raise UnableToSetLimit(_("the limit is not waiting for approval"), code="not_pending")
    return limit


def _activate(limit: CreditLimit, customer: Customer, *, actor: User | None, now: datetime) -> None:
    from o2c.credit import orders  # orders read limits; limits recheck orders

    current = CreditLimit.objects.filter(customer=customer, status=CreditLimit.Status.ACTIVE).first()
    effective = selectors.limit_of(customer)
    if current is not None:
        current.status = CreditLimit.Status.SUPERSEDED
        current.superseded_at = now
        current.save(update_fields=["status", "superseded_at"])
    if effective is not None and effective.source == CreditLimit.Source.MIGRATED:
        # the limit the customer import loaded becomes a version of the history
        CreditLimit.objects.create(
            customer=customer,
            currency=effective.currency,
            amount_minor=effective.amount_minor,
            status=CreditLimit.Status.SUPERSEDED,
            source=CreditLimit.Source.MIGRATED,
            reason="customer import",
            requested_at=customer.updated_at,
            activated_at=customer.updated_at,
            superseded_at=now,
            mirrored_minor=effective.amount_minor,
        )
    mirrored = limit.amount_minor if limit.currency == customer.currency else None
    limit.status = CreditLimit.Status.ACTIVE
    limit.activated_at = now
    limit.mirrored_minor = mirrored
    limit.save(update_fields=["status", "activated_at", "mirrored_minor"])
    customer.credit_limit_minor = mirrored
    customer.updated_at = now
    customer.save(update_fields=["credit_limit_minor", "updated_at"])
    audit_services.record(
        actor=actor,
        action="credit.limit.changed",
        object_type="customer",
        object_id=customer.pk,
        object_label=str(customer),
        entity_id=customer.entity_id,
        changes={
            "credit_limit": (_label(effective), _label(limit)),
            "valid_until": (None, limit.valid_until.isoformat() if limit.valid_until else None),
            "next_review_date": (
                None,
                limit.next_review_date.isoformat() if limit.next_review_date else None,
            ),
        },
        reason=limit.reason,
        now=now,
    )
    orders.recheck_group(customer_id=customer.pk, actor=actor, now=now)


@transaction.atomic
def policy_set(
    *,
    entity: LegalEntity,
    past_due_days: int,
    cutoff_time: time,
    sales_email: str,
    actor: User | None,
    now: datetime,
) -> CreditPolicy:
    policy = CreditPolicy.objects.select_for_update().filter(entity=entity).first()
    before = selectors.policy_of(entity.pk)
    if policy is None:
        policy = CreditPolicy(entity=entity)
    policy.past_due_days = past_due_days
    policy.cutoff_time = cutoff_time
    policy.sales_email = sales_email.strip()
    policy.changed_at = now
    policy.changed_by = actor
    policy.save()
    audit_services.record(
        actor=actor,
        action="credit.policy.changed",
        object_type="legal_entity",
        object_id=entity.pk,
        object_label=entity.code,
        entity_id=entity.pk,
        changes=audit_services.diff(
            {
                "past_due_days": before.past_due_days,
                "cutoff_time": before.cutoff_time.isoformat(),
                "sales_email": before.sales_email,
            },
            {
                "past_due_days": past_due_days,
                "cutoff_time": cutoff_time.isoformat(),
                "sales_email": policy.sales_email,
            },
        ),
        now=now,
    )
    return policy


@transaction.atomic
def threshold_set(
    *, entity: LegalEntity, currency: str, amount: Decimal, actor: User | None, now: datetime
) -> ApprovalThreshold:
    currency = currency.strip().upper()
    minor = _amount_minor(amount, currency)
    before = selectors.threshold_minor(entity, currency)
    threshold, _created = ApprovalThreshold.objects.update_or_create(
        entity=entity,
        currency=currency,
        defaults={"threshold_minor": minor, "changed_at": now, "changed_by": actor},
    )
    audit_services.record(
        actor=actor,
        action="credit.threshold.changed",
        object_type="legal_entity",
        object_id=entity.pk,
        object_label=entity.code,
        entity_id=entity.pk,
        changes={
            "approval_threshold": (
                format_with_currency(before, currency) if before is not None else None,
                format_with_currency(minor, currency),
            )
        },
        now=now,
    )
    return threshold
