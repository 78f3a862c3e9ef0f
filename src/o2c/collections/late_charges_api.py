"""The late-charges API under `/api/collections` (docs/late-charges.md): an entity's late-payment
policies (interest and recovery fee per currency) and the reference rates they build on.

Reading and changing both needs MANAGE_LATE_CHARGES (AR manager, admin). Another entity's code is 404.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from o2c.collections import late_charges
from o2c.collections.models import LatePaymentPolicy, ReferenceRate
from o2c.core import clock
from o2c.core.money import Money, format_minor
from o2c.customers import api as customers_api
from o2c.customers.schemas import DecimalString, decimal_of
from o2c.ledger import selectors as ledger_selectors
from o2c.ledger.models import LegalEntity

router = Router(tags=["collections"])

# The capability of these endpoints; o2c.config.api maps it to the roles that grant it.
MANAGE_LATE_CHARGES = "manage_late_charges"

PercentString = DecimalString


class PolicyIn(Schema):
    entity: str | None = Field(None, description="legal entity code; default the caller's")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="the items' currency this policy is for")
    reference_rate: str | None = Field(
        None,
        description="a reference rate's name (`de_base`), or null for a fixed rate",
        examples=["de_base"],
    )
    annual_percent: PercentString = Field(
        description="the fixed annual rate, or the margin over the reference rate, in percent",
        examples=["9"],
    )
    day_count: str = Field("act_365", pattern=r"^act_36[05]$")
    grace_days: int = Field(0, ge=0, le=365)
    fee: DecimalString = Field("0", description="recovery fee per overdue invoice, once", examples=["40.00"])
    minimum: DecimalString = Field("0", description="below this (per customer) nothing is shown or charged")
    charge_interest: bool = False
    charge_fee: bool = False


class PolicyOut(Schema):
    entity: str
    currency: str
    reference_rate: str | None
    annual_percent: str
    day_count: str
    grace_days: int
    fee: str
    minimum: str
    charge_interest: bool
    charge_fee: bool
    updated_at: datetime
    updated_by: str | None

    @staticmethod
    def of(policy: LatePaymentPolicy) -> PolicyOut:
        return PolicyOut(
            entity=policy.entity.code,
            currency=policy.currency,
            reference_rate=policy.reference_rate or None,
            annual_percent=_percent(policy.annual_percent),
            day_count=policy.day_count,
            grace_days=policy.grace_days,
            fee=format_minor(policy.fee_minor, policy.currency),
            minimum=format_minor(policy.minimum_minor, policy.currency),
            charge_interest=policy.charge_interest,
            charge_fee=policy.charge_fee,
            updated_at=policy.updated_at,
            updated_by=policy.updated_by.username if policy.updated_by else None,
        )


class PolicyFilter(Schema):
    entity: str | None = None


class RateIn(Schema):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,29}$", examples=["de_base"])
    valid_from: date
    annual_percent: PercentString = Field(examples=["1.27"])
    source: str = Field("", max_length=200)


class RateOut(Schema):
    name: str
    valid_from: date
    annual_percent: str
    source: str

    @staticmethod
    def of(rate: ReferenceRate) -> RateOut:
        return RateOut(
            name=rate.name,
            valid_from=rate.valid_from,
            annual_percent=_percent(rate.annual_percent),
            source=rate.source,
        )


class RateFilter(Schema):
    name: str | None = None


def _percent(value: Decimal) -> str:
    """At least two decimals, no trailing zeros beyond: 9.00, 1.27, 10.125."""
    text = format(value.normalize(), "f")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _entity(who: customers_api.Caller, code: str | None) -> LegalEntity:
    if code:
        for entity in ledger_selectors.entities_for_user(who.user):
            if entity.code == code:
                return entity
        raise Http404
    return customers_api.entity_for_write(who, None)


@router.get("/late-payment-policy", response=list[PolicyOut], summary="List late-payment policies")
def late_payment_policy_list(request: HttpRequest, filters: Query[PolicyFilter]) -> list[PolicyOut]:
    """The late-payment policies (one per currency) of an entity, or of every entity granted."""
    who = customers_api.caller(request, MANAGE_LATE_CHARGES)
    entity_ids = [_entity(who, filters.entity).pk] if filters.entity else customers_api.entity_ids(who)
    return [PolicyOut.of(policy) for policy in late_charges.policy_list(entity_ids=entity_ids)]


@router.put("/late-payment-policy", response=PolicyOut, summary="Set a late-payment policy")
def late_payment_policy_set(request: HttpRequest, payload: PolicyIn) -> PolicyOut:
    """Replaces the entity's policy for the currency. Refused (422): `unknown_reference_rate`,
    `bad_rate`, `bad_day_count`, `bad_grace_days`, `too_many_decimals`, `negative_amount`."""
    who = customers_api.caller(request, MANAGE_LATE_CHARGES)
    entity = _entity(who, payload.entity)
    policy = late_charges.late_payment_policy_set(
        entity=entity,
        currency=payload.currency,
        reference_rate=payload.reference_rate or "",
        annual_percent=decimal_of(payload.annual_percent),
        day_count=payload.day_count,
        grace_days=payload.grace_days,
        fee=Money(decimal_of(payload.fee), payload.currency),
        minimum=Money(decimal_of(payload.minimum), payload.currency),
        charge_interest=payload.charge_interest,
        charge_fee=payload.charge_fee,
        actor=who.user,
        now=clock.now(),
    )
    return PolicyOut.of(LatePaymentPolicy.objects.select_related("entity", "updated_by").get(pk=policy.pk))


@router.get("/reference-rates", response=list[RateOut], summary="List reference rates")
def reference_rate_list(request: HttpRequest, filters: Query[RateFilter]) -> list[RateOut]:
    """The recorded reference rates (`de_base`: the German base rate), by name and date."""
    customers_api.caller(request, MANAGE_LATE_CHARGES)
    return [RateOut.of(rate) for rate in late_charges.reference_rate_list(name=filters.name)]


@router.post("/reference-rates", response={201: RateOut}, summary="Record a reference rate")
def reference_rate_add(request: HttpRequest, payload: RateIn) -> Status[RateOut]:
    """Records the rate published for a day on; it applies until the next one. The same rate again is
    accepted and changes nothing; another value for a recorded day is refused (422 `rate_exists`)."""
    who = customers_api.caller(request, MANAGE_LATE_CHARGES)
    rate = late_charges.reference_rate_add(
        name=payload.name,
        valid_from=payload.valid_from,
        annual_percent=decimal_of(payload.annual_percent),
        source=payload.source,
        actor=who.user,
        now=clock.now(),
    )
    return Status(201, RateOut.of(rate))
