"""The disputes set-up of a legal entity: customers' own codes, routing and SLA per reason, write-off
thresholds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.core.actors import actor_id
from o2c.core.money import Money, UnableToHandleMoney, ensure_currency, format_with_currency
from o2c.disputes import rules
from o2c.disputes.errors import UnableToSetDisputePolicy
from o2c.disputes.models import ReasonCode, ReasonMapping, ReasonPolicy, Team, WriteOffPolicy


def _entity_audit(
    entity_id: int,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    changes: dict[str, tuple[object, object]],
    reason: str,
) -> None:
    audit_services.record(
        actor=actor,
        action=action,
        object_type="legal_entity",
        object_id=entity_id,
        entity_id=entity_id,
        changes=changes,
        reason=reason,
        now=now,
    )


@transaction.atomic
def reason_mapping_set(
    *,
    entity_id: int,
    customer_code: str,
    reason_code: str,
    actor: User | None,
    now: datetime,
    customer_id: int | None = None,
    reason: str = "",
) -> ReasonMapping:
    """What a customer's own code means, for the entity or for one customer of it."""
    code = rules.normalized_code(customer_code)
    if not code or len(code) > 60:
        raise UnableToSetDisputePolicy(_("a customer's code has 1 to 60 characters"), code="bad_code")
    if reason_code not in ReasonCode.values:
        raise UnableToSetDisputePolicy(
            _("'%(code)s' is not a reason code (%(codes)s)")
            % {"code": reason_code, "codes": ", ".join(ReasonCode.values)},
            code="bad_reason_code",
        )
    mapping = (
        ReasonMapping.objects.select_for_update()
        .filter(entity_id=entity_id, customer_code=code)
        .filter(**({"customer_id": customer_id} if customer_id is not None else {"customer__isnull": True}))
        .first()
    )
    before = mapping.reason_code if mapping else None
    if mapping is None:
        mapping = ReasonMapping(entity_id=entity_id, customer_id=customer_id, customer_code=code)
    mapping.reason_code = reason_code
    mapping.changed_at = now
    mapping.save()
    _entity_audit(
        entity_id,
        "disputes.reason_mapping.set",
        actor=actor,
        now=now,
        changes={
            f"code {code}" + (f" (customer {customer_id})" if customer_id else ""): (before, reason_code)
        },
        reason=reason,
    )
    return mapping


@transaction.atomic
def reason_policy_set(
    *,
    entity_id: int,
    reason_code: str,
    team: str,
    sla_days: int,
    actor: User | None,
    now: datetime,
    reason: str = "",
) -> ReasonPolicy:
    """The team new cases of a reason go to, and their SLA in business days."""
    if reason_code not in ReasonCode.values:
        raise UnableToSetDisputePolicy(
            _("'%(code)s' is not a reason code") % {"code": reason_code}, code="bad_reason_code"
        )
    if team not in Team.values:
        raise UnableToSetDisputePolicy(_("'%(team)s' is not a team") % {"team": team}, code="bad_team")
    if not 1 <= sla_days <= 365:
        raise UnableToSetDisputePolicy(_("an SLA is 1 to 365 business days"), code="bad_sla")
    policy = (
        ReasonPolicy.objects.select_for_update().filter(entity_id=entity_id, reason_code=reason_code).first()
    )
    before = (policy.team, policy.sla_days) if policy else (None, None)
    if policy is None:
        policy = ReasonPolicy(entity_id=entity_id, reason_code=reason_code)
    policy.team = team
    policy.sla_days = sla_days
    policy.changed_at = now
    policy.save()
    _entity_audit(
        entity_id,
        "disputes.reason_policy.set",
        actor=actor,
        now=now,
        changes={f"{reason_code} team": (before[0], team), f"{reason_code} SLA days": (before[1], sla_days)},
        reason=reason,
    )
    return policy


@transaction.atomic
def write_off_policy_set(
    *,
    entity_id: int,
    currency: str,
    threshold: Decimal | None,
    actor: User | None,
    now: datetime,
    reason: str,
) -> WriteOffPolicy | None:
    """The entity's write-off threshold in a currency (major units): above it a case's write-off waits
    for an AR manager's approval. None removes it."""
    try:
        ensure_currency(currency)
    except UnableToHandleMoney as error:
        raise UnableToSetDisputePolicy(error.message, code="bad_currency") from None
    existing = (
        WriteOffPolicy.objects.select_for_update().filter(entity_id=entity_id, currency=currency).first()
    )
    old = existing.threshold_minor if existing is not None else None
    policy: WriteOffPolicy | None = None
    if threshold is None:
        if existing is not None:
            existing.delete()
        new = None
    else:
        money = Money(threshold, currency)
        if threshold < 0 or money.round_half_up() != money:
            raise UnableToSetDisputePolicy(
                _("%(amount)s is not a positive amount in %(currency)s")
                % {"amount": threshold, "currency": currency},
                code="bad_threshold",
            )
        new = money.to_minor()
        policy = existing or WriteOffPolicy(entity_id=entity_id, currency=currency)
        policy.threshold_minor = new
        policy.changed_at = now
        policy.changed_by = actor if actor_id(actor) else None
        policy.save()
    _entity_audit(
        entity_id,
        "disputes.write_off_policy.changed",
        actor=actor,
        now=now,
        changes={
            f"write-off threshold {currency}": (
                format_with_currency(old, currency),
                format_with_currency(new, currency),
            )
        },
        reason=reason,
    )
    return policy
