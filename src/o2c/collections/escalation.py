"""The escalation matrix (docs/escalation.md): who works a customer's account (collector, team lead, AR
manager, legal, collection agency), the rules of each legal entity that propose moving an account up, and
the people's decisions to move it, each kept in the customer's history with its reason and audited.

The matrix only proposes (`escalation_proposals`, set-based: a few grouped queries whatever the number of
customers); a person escalates or de-escalates (`customer_escalate`, `customer_deescalate`). A collector
may raise an account to her team lead; AR managers and admins move it to any level and back. The agency
level is reached by placing the account with an agency (`o2c.collections.agency`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Min, Sum
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections.models import (
    ESCALATION_ORDER,
    AgencyPlacement,
    CustomerEscalation,
    DunningNoticeItem,
    EscalationChange,
    EscalationLevel,
    EscalationReason,
    EscalationRule,
    PromiseToPay,
)
from o2c.core.exceptions import DomainError
from o2c.core.money import currency_decimals, format_minor
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document, DocumentType

BROKEN_PROMISE_DAYS = 90
"""Broken promises count when judged broken in the last 90 days (the day itself included)."""

MOVE_ANY_LEVEL = frozenset({"ar_manager", "admin"})
"""The roles that move an account to any level and back (o2c.workspace.roles' names: collections sits
below the workspace, so it names the groups)."""
COLLECTOR = "collector"
"""A collector raises an account from her own level to the team lead's, nothing else."""

_DUNNED_TYPES = (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)


class UnableToEscalate(DomainError):
    pass


class UnableToChangeMatrix(DomainError):
    pass


RANK = {level: position for position, level in enumerate(ESCALATION_ORDER)}


def rank(level: str) -> int:
    """0 for `collector` up to 4 for `agency`."""
    return RANK[level]


# --- the standard matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardRule:
    name: str
    level: str
    min_days_overdue: int | None = None
    min_overdue_major: int | None = None
    """in the entity's currency, whole units"""
    min_broken_promises: int | None = None
    min_dunning_level: int | None = None
    min_dunning_days: int = 0


STANDARD_MATRIX = (
    StandardRule("Team lead", EscalationLevel.TEAM_LEAD.value, min_days_overdue=45, min_overdue_major=10_000),
    StandardRule(
        "AR manager",
        EscalationLevel.AR_MANAGER.value,
        min_days_overdue=60,
        min_overdue_major=50_000,
        min_broken_promises=2,
    ),
    StandardRule("Legal", EscalationLevel.LEGAL.value, min_dunning_level=4, min_dunning_days=14),
)
"""What every legal entity starts with: team lead at 45 days overdue or 10,000 overdue; AR manager at 60
days, 50,000 or 2 broken promises; legal 14 days after the final notice (level 4 of the standard dunning
plan). Amounts in the entity's currency."""


def standard_rule_values(*, currency: str) -> list[dict[str, Any]]:
    """The standard matrix's rules as field values for an entity of that currency (the data migration
    and `matrix_ensure` both create them from this)."""
    return [
        {
            "name": rule.name,
            "level": rule.level,
            "min_days_overdue": rule.min_days_overdue,
            "min_overdue_minor": None
            if rule.min_overdue_major is None
            else rule.min_overdue_major * 10 ** currency_decimals(currency),
            "currency": "" if rule.min_overdue_major is None else currency,
            "min_broken_promises": rule.min_broken_promises,
            "min_dunning_level": rule.min_dunning_level,
            "min_dunning_days": rule.min_dunning_days,
        }
        for rule in STANDARD_MATRIX
    ]


@transaction.atomic
def matrix_ensure(*, entity: LegalEntity, actor: User | None, now: datetime) -> None:
    """The entity's matrix: the standard one when it has no rule yet (an entity created after the data
    migration gets it here, at its first look at the proposals). Rules are switched off, never deleted,
    so an entity that has rules keeps exactly them."""
    if EscalationRule.objects.filter(entity=entity).exists():
        return
    rules = EscalationRule.objects.bulk_create(
        EscalationRule(entity=entity, updated_at=now, **values)
        for values in standard_rule_values(currency=entity.currency)
    )
    for rule in rules:
        _audit_rule(rule, "collections.escalation_rule.created", {}, actor=actor, now=now)


# --- the matrix's rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleIn:
    name: str
    level: str
    min_days_overdue: int | None = None
    min_overdue_minor: int | None = None
    currency: str = ""
    min_broken_promises: int | None = None
    min_dunning_level: int | None = None
    min_dunning_days: int = 0
    is_active: bool = True


def _rule_values(data: RuleIn) -> dict[str, Any]:
    if not data.name.strip():
        raise UnableToChangeMatrix(_("a rule needs a name"), code="name_required")
    if data.level not in ESCALATION_ORDER or data.level == EscalationLevel.COLLECTOR:
        raise UnableToChangeMatrix(
            _("a rule calls for team_lead, ar_manager, legal or agency"), code="bad_level"
        )
    if (data.min_overdue_minor is None) != (not data.currency):
        raise UnableToChangeMatrix(
            _("an overdue amount is given with its currency"), code="amount_without_currency"
        )
    numbers = (
        data.min_days_overdue,
        data.min_overdue_minor,
        data.min_broken_promises,
        data.min_dunning_level,
    )
    if any(number is not None and number < 0 for number in numbers) or data.min_dunning_days < 0:
        raise UnableToChangeMatrix(_("a rule's figures are not negative"), code="negative")
    if data.min_overdue_minor is not None and data.min_overdue_minor == 0:
        raise UnableToChangeMatrix(_("an overdue amount is more than zero"), code="negative")
    if all(number is None for number in numbers):
        raise UnableToChangeMatrix(_("a rule has at least one condition"), code="no_condition")
    return {
        "name": data.name.strip(),
        "level": data.level,
        "min_days_overdue": data.min_days_overdue,
        "min_overdue_minor": data.min_overdue_minor,
        "currency": data.currency,
        "min_broken_promises": data.min_broken_promises,
        "min_dunning_level": data.min_dunning_level,
        "min_dunning_days": data.min_dunning_days,
        "is_active": data.is_active,
    }


def _ensure_manager(actor: User | None) -> None:
    if actor is not None and not _manages(actor):
        raise UnableToChangeMatrix(_("an AR manager changes the escalation matrix"), code="not_allowed")


@transaction.atomic
def rule_save(
    *, entity: LegalEntity, data: RuleIn, actor: User | None, now: datetime, rule_id: int | None = None
) -> EscalationRule:
    """Add a rule to the entity's matrix, or change one (`rule_id`): AR managers and admins. Audited with
    what changed."""
    _ensure_manager(actor)
    values = _rule_values(data)
    matrix_ensure(entity=entity, actor=actor, now=now)
    clash = EscalationRule.objects.filter(entity=entity, name=values["name"])
    if rule_id is not None:
        clash = clash.exclude(pk=rule_id)
    if clash.exists():
        raise UnableToChangeMatrix(
            _("the matrix has a rule named %(name)s already") % {"name": values["name"]},
            code="duplicate_name",
        )
    if rule_id is None:
        rule = EscalationRule.objects.create(entity=entity, updated_at=now, updated_by=actor, **values)
        _audit_rule(rule, "collections.escalation_rule.created", {}, actor=actor, now=now)
        return rule
    rule = EscalationRule.objects.select_for_update().get(entity=entity, pk=rule_id)
    changes = {
        name: (getattr(rule, name), value) for name, value in values.items() if getattr(rule, name) != value
    }
    for name, value in values.items():
        setattr(rule, name, value)
    rule.updated_at = now
    rule.updated_by = actor
    rule.save()
    _audit_rule(rule, "collections.escalation_rule.changed", changes, actor=actor, now=now)
    return rule


def _audit_rule(
    rule: EscalationRule,
    action: str,
    changes: Mapping[str, tuple[Any, Any]],
    *,
    actor: User | None,
    now: datetime,
) -> None:
    shown = changes or {
        name: (None, getattr(rule, name))
        for name in (
            "level",
            "min_days_overdue",
            "min_overdue_minor",
            "currency",
            "min_broken_promises",
            "min_dunning_level",
            "min_dunning_days",
            "is_active",
        )
        if getattr(rule, name) not in (None, "")
    }
    audit_services.record(
        actor=actor,
        action=action,
        object_type="escalation_rule",
        object_id=rule.pk,
        object_label=rule.name,
        entity_id=rule.entity_id,
        changes={name: (_plain(before), _plain(after)) for name, (before, after) in shown.items()},
        now=now,
    )


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def rule_list(*, entity_id: int) -> list[EscalationRule]:
    """The entity's rules, highest level first, then by id."""
    rules = list(EscalationRule.objects.filter(entity_id=entity_id).order_by("pk"))
    return sorted(rules, key=lambda rule: (-rank(rule.level), rule.pk))


# --- proposals --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's conditions, as the pure decision reads them."""

    id: int
    name: str
    level: str
    min_days_overdue: int | None
    min_overdue_minor: int | None
    currency: str
    min_broken_promises: int | None
    min_dunning_level: int | None
    min_dunning_days: int


@dataclass(frozen=True)
class AccountFacts:
    """A customer's figures as of a day: the oldest overdue item's days overdue, the overdue amount per
    currency (disputed items left out), the promises broken in the last 90 days, and for each dunning
    level reached by an open item the first day it was."""

    days_overdue: int
    overdue: dict[str, int]
    broken_promises: int = 0
    dunned_since: dict[int, date] = field(default_factory=dict)

    @property
    def dunning_level(self) -> int:
        return max(self.dunned_since, default=0)

    def reached(self, level: int) -> date | None:
        """The first day an open item was dunned at `level` or higher."""
        return min((day for reached, day in self.dunned_since.items() if reached >= level), default=None)


def conditions_met(rule: Rule, facts: AccountFacts, as_of: date) -> list[str]:
    """Which of the rule's conditions hold (`days_overdue`, `overdue_amount`, `broken_promises`,
    `dunning_level`); any one fires the rule."""
    met = []
    if rule.min_days_overdue is not None and facts.days_overdue >= rule.min_days_overdue:
        met.append("days_overdue")
    if rule.min_overdue_minor is not None and facts.overdue.get(rule.currency, 0) >= rule.min_overdue_minor:
        met.append("overdue_amount")
    if rule.min_broken_promises is not None and facts.broken_promises >= rule.min_broken_promises:
        met.append("broken_promises")
    if rule.min_dunning_level is not None:
        reached = facts.reached(rule.min_dunning_level)
        if reached is not None and (as_of - reached).days >= rule.min_dunning_days:
            met.append("dunning_level")
    return met


def proposed_rule(
    *, current: str, rules: Iterable[Rule], facts: AccountFacts, as_of: date
) -> tuple[Rule, list[str]] | None:
    """The rule of the highest level above `current` that fires (the lowest id among rules of one
    level), with the conditions that held; None when no rule calls for more than the current level."""
    return _first_firing(_by_priority(rules), RANK[current], facts, as_of)


def _by_priority(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda rule: (-RANK[rule.level], rule.id))


def _first_firing(
    ordered: list[Rule], floor: int, facts: AccountFacts, as_of: date
) -> tuple[Rule, list[str]] | None:
    for rule in ordered:
        if RANK[rule.level] <= floor:
            return None
        met = conditions_met(rule, facts, as_of)
        if met:
            return rule, met
    return None


@dataclass(frozen=True)
class Proposal:
    customer_id: int
    customer_number: str
    customer_name: str
    current_level: str
    proposed_level: str
    rule_id: int
    rule_name: str
    conditions: list[str]
    oldest_due_date: date
    days_overdue: int
    overdue: list[tuple[str, int]]
    """(currency, minor) by currency"""
    broken_promises: int
    dunning_level: int
    """the highest level an open item of the customer was dunned at (0: none)"""
    dunning_level_since: date | None


def escalation_proposals(
    *, entity: LegalEntity, as_of: date, actor: User | None, now: datetime
) -> list[Proposal]:
    """The entity's customers whose matrix calls for a level above their current one as of `as_of`,
    by customer number. Set-based: four grouped queries read the overdue items, the broken promises, the
    dunning levels reached and the current levels, whatever the number of customers. The standard matrix
    is created first for an entity that has none."""
    matrix_ensure(entity=entity, actor=actor, now=now)
    rules = [
        Rule(
            rule.pk,
            rule.name,
            rule.level,
            rule.min_days_overdue,
            rule.min_overdue_minor,
            rule.currency,
            rule.min_broken_promises,
            rule.min_dunning_level,
            rule.min_dunning_days,
        )
        for rule in EscalationRule.objects.filter(entity=entity, is_active=True).order_by("pk")
    ]
    if not rules:
        return []
    ordered = _by_priority(rules)
    overdue_rows = (
        Document.objects.filter(
            entity_id=entity.pk,
            status=Document.Status.ISSUED,
            document_type__in=_DUNNED_TYPES,
            open_minor__gt=0,
            due_date__lt=as_of,
            issue_date__lte=as_of,
            is_disputed=False,
        )
        .values_list("customer_id", "currency")
        .annotate(total=Sum("open_minor"), oldest=Min("due_date"))
        .order_by()
    )
    overdue: dict[int, dict[str, int]] = {}
    oldest: dict[int, date] = {}
    for customer_id, currency, total, first_due in overdue_rows.iterator(chunk_size=20_000):
        overdue.setdefault(customer_id, {})[currency] = int(total)
        if customer_id not in oldest or first_due < oldest[customer_id]:
            oldest[customer_id] = first_due
    if not overdue:
        return []
    broken: dict[int, int] = {}
    if any(rule.min_broken_promises is not None for rule in rules):
        broken = dict(
            PromiseToPay.objects.filter(
                entity_id=entity.pk,
                state=PromiseToPay.State.BROKEN,
                judged_on__gt=as_of - timedelta(days=BROKEN_PROMISE_DAYS),
                judged_on__lte=as_of,
            )
            .values_list("customer_id")
            .annotate(count=Count("pk"))
            .order_by()
        )
    dunned: dict[int, dict[int, date]] = {}
    for customer_id, level, first in (
        DunningNoticeItem.objects.filter(
            entity_id=entity.pk,
            level__gt=0,
            document__status=Document.Status.ISSUED,
            document__open_minor__gt=0,
            notice__as_of__lte=as_of,
        )
        .values_list("notice__customer_id", "level")
        .annotate(first=Min("notice__as_of"))
        .order_by()
        .iterator(chunk_size=20_000)
    ):
        dunned.setdefault(customer_id, {})[level] = first
    current = dict(
        CustomerEscalation.objects.filter(entity_id=entity.pk).values_list("customer_id", "level").iterator()
    )
    found: list[tuple[int, Rule, list[str], AccountFacts, str]] = []
    for customer_id, amounts in overdue.items():
        facts = AccountFacts(
            days_overdue=(as_of - oldest[customer_id]).days,
            overdue=amounts,
            broken_promises=broken.get(customer_id, 0),
            dunned_since=dunned.get(customer_id, {}),
        )
        level = current.get(customer_id, EscalationLevel.COLLECTOR.value)
        chosen = _first_firing(ordered, RANK[level], facts, as_of)
        if chosen is not None:
            found.append((customer_id, chosen[0], chosen[1], facts, level))
    names = {
        pk: (number, name)
        for pk, number, name in Customer.objects.filter(
            pk__any=frozenset(row[0] for row in found)
        ).values_list("pk", "number", "name")
    }
    proposals = [
        Proposal(
            customer_id=customer_id,
            customer_number=names[customer_id][0],
            customer_name=names[customer_id][1],
            current_level=level,
            proposed_level=rule.level,
            rule_id=rule.id,
            rule_name=rule.name,
            conditions=met,
            oldest_due_date=oldest[customer_id],
            days_overdue=facts.days_overdue,
            overdue=sorted(facts.overdue.items()),
            broken_promises=facts.broken_promises,
            dunning_level=facts.dunning_level,
            dunning_level_since=facts.dunned_since.get(facts.dunning_level),
        )
        for customer_id, rule, met, facts, level in found
    ]
    proposals.sort(key=lambda proposal: proposal.customer_number)
    return proposals


def proposal_record(proposal: Proposal) -> dict[str, Any]:
    """A proposal as machine output (the command's JSON and the API): amounts as plain decimals."""
    return {
        "customer_number": proposal.customer_number,
        "customer_name": proposal.customer_name,
        "current_level": proposal.current_level,
        "proposed_level": proposal.proposed_level,
        "rule": proposal.rule_name,
        "conditions": proposal.conditions,
        "oldest_due_date": proposal.oldest_due_date.isoformat(),
        "days_overdue": proposal.days_overdue,
        "overdue": [
            {"currency": currency, "amount": format_minor(minor, currency)}
            for currency, minor in proposal.overdue
        ],
        "broken_promises": proposal.broken_promises,
        "dunning_level": proposal.dunning_level,
        "dunning_level_since": proposal.dunning_level_since.isoformat()
        if proposal.dunning_level_since
        else None,
    }


# --- levels and their history --------------------------------------------------------------------------


def level_of(*, customer_id: int) -> str:
    found = CustomerEscalation.objects.filter(customer_id=customer_id).values_list("level", flat=True).first()
    return found or EscalationLevel.COLLECTOR.value


def history(*, customer_id: int) -> list[EscalationChange]:
    """The customer's escalation changes, oldest first."""
    return list(
        EscalationChange.objects.filter(customer_id=customer_id)
        .select_related("changed_by")
        .order_by("changed_at", "pk")
    )


def _roles(actor: User) -> set[str]:
    if actor.is_superuser:
        return set(MOVE_ANY_LEVEL)
    return set(actor.groups.values_list("name", flat=True))


def _manages(actor: User) -> bool:
    return actor.is_active and bool(_roles(actor) & MOVE_ANY_LEVEL)


def may_move(actor: User | None, from_level: str, to_level: str) -> bool:
    """AR managers and admins move an account to any level; a collector raises one from her level to
    the team lead's. `None` is the system (a command run by an operator)."""
    if actor is None:
        return True
    if not actor.is_active:
        return False
    roles = _roles(actor)
    if roles & MOVE_ANY_LEVEL:
        return True
    return (
        COLLECTOR in roles
        and from_level == EscalationLevel.COLLECTOR
        and to_level == EscalationLevel.TEAM_LEAD
    )


def _check_reason(reason_code: str, reason_text: str) -> None:
    if reason_code not in EscalationReason.values:
        raise UnableToEscalate(
            _("unknown reason '%(code)s': one of %(codes)s")
            % {"code": reason_code, "codes": ", ".join(EscalationReason.values)},
            code="unknown_reason",
        )
    if not reason_text.strip():
        raise UnableToEscalate(
            _("say why the account moves: a reason text is required"), code="reason_required"
        )


def today_of(entity: LegalEntity, now: datetime) -> date:
    return now.astimezone(ZoneInfo(entity.time_zone)).date()


def level_set(
    *,
    customer: Customer,
    to_level: str,
    reason_code: str,
    reason_text: str,
    actor: User | None,
    now: datetime,
    action: str,
) -> EscalationChange:
    """Move the customer to `to_level` (the caller holds the customer's lock and checked direction and
    rights): the current level, one history row, one audit event."""
    entity = customer.entity
    current = CustomerEscalation.objects.filter(customer=customer).first()
    from_level = current.level if current is not None else EscalationLevel.COLLECTOR.value
    on = today_of(entity, now)
    if current is None:
        CustomerEscalation.objects.create(
            entity_id=customer.entity_id, customer=customer, level=to_level, since=on, updated_at=now
        )
    else:
        current.level = to_level
        current.since = on
        current.updated_at = now
        current.save(update_fields=["level", "since", "updated_at"])
    change = EscalationChange.objects.create(
        entity_id=customer.entity_id,
        customer=customer,
        from_level=from_level,
        to_level=to_level,
        reason_code=reason_code,
        reason_text=reason_text.strip(),
        changed_on=on,
        changed_at=now,
        changed_by=actor,
    )
    audit_services.record(
        actor=actor,
        action=action,
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=customer.entity_id,
        changes={"escalation_level": (from_level, to_level), "reason_code": (None, reason_code)},
        reason=reason_text.strip(),
        now=now,
    )
    return change


def _move(
    *,
    customer: Customer,
    level: str,
    reason_code: str,
    reason_text: str,
    actor: User | None,
    now: datetime,
    up: bool,
) -> EscalationChange:
    Customer.objects.select_for_update().filter(pk=customer.pk).get()
    if level not in ESCALATION_ORDER:
        raise UnableToEscalate(
            _("unknown level '%(level)s': one of %(levels)s")
            % {"level": level, "levels": ", ".join(ESCALATION_ORDER)},
            code="unknown_level",
        )
    _check_reason(reason_code, reason_text)
    current = level_of(customer_id=customer.pk)
    if up and rank(level) <= rank(current):
        raise UnableToEscalate(
            _("the account is at %(current)s: escalating moves it higher") % {"current": current},
            code="not_higher",
        )
    if not up and rank(level) >= rank(current):
        raise UnableToEscalate(
            _("the account is at %(current)s: de-escalating moves it lower") % {"current": current},
            code="not_lower",
        )
    if not may_move(actor, current, level):
        raise UnableToEscalate(
            _("your role does not allow moving an account from %(from)s to %(to)s")
            % {"from": current, "to": level},
            code="not_allowed",
        )
    if level == EscalationLevel.AGENCY:
        raise UnableToEscalate(
            _("an account reaches the agency level by its placement with an agency"), code="use_placement"
        )
    if (
        current == EscalationLevel.AGENCY
        and AgencyPlacement.objects.filter(customer=customer, state=AgencyPlacement.State.PLACED).exists()
    ):
        raise UnableToEscalate(
            _("the account is placed with an agency: recall the placement first"), code="placed_with_agency"
        )
    return level_set(
        customer=customer,
        to_level=level,
        reason_code=reason_code,
        reason_text=reason_text,
        actor=actor,
        now=now,
        action="collections.escalation.raised" if up else "collections.escalation.lowered",
    )


@transaction.atomic
def customer_escalate(
    *, customer: Customer, level: str, reason_code: str, reason_text: str, actor: User | None, now: datetime
) -> EscalationChange:
    """Raise the customer's account to a higher level, with a reason code and text (`reason_required`,
    `unknown_reason`, `not_higher`; `not_allowed` when the actor's role does not allow that move;
    `use_placement` for the agency level). Kept in its history and audited."""
    return _move(
        customer=customer,
        level=level,
        reason_code=reason_code,
        reason_text=reason_text,
        actor=actor,
        now=now,
        up=True,
    )


@transaction.atomic
def customer_deescalate(
    *, customer: Customer, level: str, reason_code: str, reason_text: str, actor: User | None, now: datetime
) -> EscalationChange:
    """Bring the customer's account back to a lower level (AR managers and admins), with a reason
    (`not_lower`; `placed_with_agency` while a placement runs: recall it instead)."""
    return _move(
        customer=customer,
        level=level,
        reason_code=reason_code,
        reason_text=reason_text,
        actor=actor,
        now=now,
        up=False,
    )
