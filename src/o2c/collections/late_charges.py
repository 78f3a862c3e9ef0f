"""Late-payment interest and recovery fees (docs/late-charges.md).

An entity's policy per currency (`LatePaymentPolicy`) says how overdue items earn interest: a fixed
annual rate, or a published reference rate plus a margin (Germany, B2B, §288(2) BGB: the base rate + 9
points; the EU late payment directive 2011/7/EU: the ECB reference rate + at least 8 points), counted
act/365 or act/360 from the day after the due date plus the grace days through the day in question, and
the fixed recovery fee once per overdue invoice (40 EUR under the directive). Below the policy's minimum
nothing is shown or charged.

- The calculation (`periods`, `item_charges`, `customer_charges`) is pure: Decimal only, the interest of
  an item summed exactly over its periods (split at each rate change and each change of its open
  amount) and rounded half-up to the minor unit once per item.
- Notices show it (`notice_charges`, used by the e-mail delivery after the run commits).
- Charging is a separate, explicit step (`late_charges_run`, `o2c dunning charge`): one debit memo per
  customer and currency for the interest accrued since it was last charged and the fees not yet
  charged, recorded per item so that nothing is charged twice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_percent
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q
from django.utils import translation
from django.utils.translation import gettext as _

from o2c.audit import services as audit_services
from o2c.collections import selectors
from o2c.collections.models import (
    LateCharge,
    LateChargeItem,
    LatePaymentPolicy,
    ReferenceRate,
)
from o2c.core.actors import actor_id
from o2c.core.exceptions import DomainError
from o2c.core.formatting import date_human, money_human
from o2c.core.money import (
    Money,
    UnableToHandleMoney,
    ensure_currency,
    format_with_currency,
)
from o2c.customers.models import Customer
from o2c.ledger import services as ledger_services
from o2c.ledger.chart import LATE_CHARGES
from o2c.ledger.models import LegalEntity
from o2c.receivables import services as receivables_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Allocation, Document, DocumentType

DAYS_IN_YEAR = {LatePaymentPolicy.DayCount.ACT_365: 365, LatePaymentPolicy.DayCount.ACT_360: 360}
NOT_SUBJECT_TO_VAT = "O"
"""Interest on late payment and the recovery fee are damages, not a supply: no VAT (UNCL5305 `O`)."""
RATE_REFRESH = relativedelta(months=6)
"""Reference rates such as the German base rate are published every six months (1 January, 1 July):
a rate older than this on the day in question is flagged as possibly out of date."""
_RATE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


class UnableToSetLatePaymentPolicy(DomainError):
    pass


class UnableToAddReferenceRate(DomainError):
    pass


class UnableToComputeLateCharges(DomainError):
    pass


# --- the calculation (pure) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """An annual rate in percent from a day until the next one."""

    valid_from: date
    annual_percent: Decimal


@dataclass(frozen=True, slots=True)
class Terms:
    """A late-payment policy as plain values."""

    currency: str
    reference_rate: str
    annual_percent: Decimal
    day_count: str = LatePaymentPolicy.DayCount.ACT_365
    grace_days: int = 0
    fee_minor: int = 0
    minimum_minor: int = 0
    charge_interest: bool = False
    charge_fee: bool = False

    @classmethod
    def of(cls, policy: LatePaymentPolicy) -> Terms:
        return cls(
            currency=policy.currency,
            reference_rate=policy.reference_rate,
            annual_percent=policy.annual_percent,
            day_count=policy.day_count,
            grace_days=policy.grace_days,
            fee_minor=policy.fee_minor,
            minimum_minor=policy.minimum_minor,
            charge_interest=policy.charge_interest,
            charge_fee=policy.charge_fee,
        )


@dataclass(frozen=True, slots=True)
class Period:
    """Days `start` through `end` (inclusive) at one open amount and one annual rate."""

    start: date
    end: date
    open_minor: int
    annual_percent: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def interest_start(due_date: date, grace_days: int) -> date:
    """Interest runs from the day after the due date plus the grace days."""
    return due_date + timedelta(days=grace_days + 1)


def policy_rates(terms: Terms, reference: Sequence[Rate]) -> list[Rate]:
    """The policy's annual rate by day: its fixed rate, or each reference rate plus the margin. A sum
    below zero (a negative reference rate) counts as zero: late-payment interest is never negative."""
    if not terms.reference_rate:
        return [Rate(date.min, max(terms.annual_percent, Decimal(0)))]
    return [
        Rate(rate.valid_from, max(rate.annual_percent + terms.annual_percent, Decimal(0)))
        for rate in sorted(reference, key=lambda rate: rate.valid_from)
    ]


def _rate_on(rates: Sequence[Rate], day: date) -> Decimal:
    found: Decimal | None = None
    for rate in rates:
        if rate.valid_from > day:
            break
        found = rate.annual_percent
    if found is None:
        raise UnableToComputeLateCharges(
            f"no reference rate on or before {day.isoformat()}", code="no_reference_rate"
        )
    return found


def _open_on(open_from: Sequence[tuple[date, int]], day: date) -> int:
    found = 0
    for start, open_minor in open_from:
        if start > day:
            break
        found = open_minor
    return found


def periods(
    *, start: date, end: date, rates: Sequence[Rate], open_from: Sequence[tuple[date, int]]
) -> list[Period]:
    """Days `start` through `end` split at each rate change and each change of the open amount
    (`open_from`: the open amount from each day on, in date order); days with nothing open are left
    out. A day before the first rate is refused (`no_reference_rate`)."""
    if start > end:
        return []
    cuts = {start}
    cuts.update(rate.valid_from for rate in rates if start < rate.valid_from <= end)
    cuts.update(day for day, _ in open_from if start < day <= end)
    ordered = sorted(cuts)
    result: list[Period] = []
    for position, first in enumerate(ordered):
        last = ordered[position + 1] - timedelta(days=1) if position + 1 < len(ordered) else end
        open_minor = _open_on(open_from, first)
        if open_minor <= 0:
            continue
        result.append(Period(first, last, open_minor, _rate_on(rates, first)))
    return result


def interest_exact(items: Iterable[Period], day_count: str) -> Decimal:
    """Σ open amount × annual rate / 100 × days / 365 (or 360), in minor units, unrounded."""
    basis = DAYS_IN_YEAR[LatePaymentPolicy.DayCount(day_count)]
    return sum(
        (
            Decimal(period.open_minor) * period.annual_percent * period.days / (100 * basis)
            for period in items
        ),
        Decimal(0),
    )


def round_minor(exact_minor: Decimal) -> int:
    """Half-up to a whole minor unit, once per item: interest is a claim stated to the cent, rounded as
    invoices are (commercial rounding)."""
    return int(exact_minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def interest_minor(
    *, start: date, end: date, rates: Sequence[Rate], open_from: Sequence[tuple[date, int]], day_count: str
) -> int:
    """The interest of one item from `start` through `end`, rounded once."""
    return round_minor(
        interest_exact(periods(start=start, end=end, rates=rates, open_from=open_from), day_count)
    )


def open_steps(total_minor: int, allocations: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """The open amount from each day on: the total, less each allocation from its posting date."""
    by_day: dict[date, int] = defaultdict(int)
    for day, amount in allocations:
        by_day[day] += amount
    steps = [(date.min, total_minor)]
    open_minor = total_minor
    for day in sorted(by_day):
        open_minor -= by_day[day]
        steps.append((day, open_minor))
    return steps


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """An overdue item as the calculation needs it."""

    document_id: int
    number: str
    document_type: str
    currency: str
    due_date: date
    total_minor: int
    allocations: tuple[tuple[date, int], ...] = ()
    charged_through: date | None = None
    fee_charged: bool = False


@dataclass(frozen=True, slots=True)
class ItemCharges:
    """An item's interest from `interest_from` through `interest_through` and its recovery fee."""

    document_id: int
    number: str
    currency: str
    interest_from: date | None
    interest_through: date | None
    interest_minor: int
    fee_minor: int
    periods: tuple[Period, ...] = ()

    @property
    def total_minor(self) -> int:
        return self.interest_minor + self.fee_minor


def item_charges(item: ItemFacts, *, terms: Terms, rates: Sequence[Rate], as_of: date) -> ItemCharges:
    """What an item owes as of `as_of` beyond what was charged: interest from the later of the day
    interest starts and the day after it was last charged through, and the recovery fee (invoices
    only, once) when interest has started and the fee was not charged yet."""
    starts = interest_start(item.due_date, terms.grace_days)
    first = max(starts, item.charged_through + timedelta(days=1)) if item.charged_through else starts
    split: list[Period] = []
    if first <= as_of:
        split = periods(
            start=first,
            end=as_of,
            rates=policy_rates(terms, rates),
            open_from=open_steps(item.total_minor, item.allocations),
        )
    interest = round_minor(interest_exact(split, terms.day_count))
    owes_fee = (
        terms.fee_minor > 0
        and starts <= as_of
        and not item.fee_charged
        and item.document_type == DocumentType.INVOICE
    )
    return ItemCharges(
        document_id=item.document_id,
        number=item.number,
        currency=item.currency,
        interest_from=first if interest else None,
        interest_through=as_of if interest else None,
        interest_minor=interest,
        fee_minor=terms.fee_minor if owes_fee else 0,
        periods=tuple(split),
    )


def customer_charges(
    items: Sequence[ItemFacts], *, terms: Terms, rates: Sequence[Rate], as_of: date, charging: bool
) -> list[ItemCharges]:
    """A customer's items in the policy's currency with something owed. `charging`: only what the
    policy charges (interest and/or the fee). Nothing when their total is below the minimum."""
    result = []
    for item in items:
        charges = item_charges(item, terms=terms, rates=rates, as_of=as_of)
        if charging:
            charges = ItemCharges(
                document_id=charges.document_id,
                number=charges.number,
                currency=charges.currency,
                interest_from=charges.interest_from if terms.charge_interest else None,
                interest_through=charges.interest_through if terms.charge_interest else None,
                interest_minor=charges.interest_minor if terms.charge_interest else 0,
                fee_minor=charges.fee_minor if terms.charge_fee else 0,
                periods=charges.periods if terms.charge_interest else (),
            )
        if charges.total_minor > 0:
            result.append(charges)
    if sum(charges.total_minor for charges in result) < max(terms.minimum_minor, 1):
        return []
    return result


# --- reads ----------------------------------------------------------------------------------------


def policies_of(*, entity_id: int) -> dict[str, LatePaymentPolicy]:
    """The entity's late-payment policies by currency."""
    return {policy.currency: policy for policy in LatePaymentPolicy.objects.filter(entity_id=entity_id)}


def policy_list(*, entity_ids: list[int]) -> list[LatePaymentPolicy]:
    return list(
        LatePaymentPolicy.objects.filter(entity_id__in=entity_ids)
        .select_related("entity", "updated_by")
        .order_by("entity__code", "currency")
    )


def reference_rates(*, names: Iterable[str]) -> dict[str, list[Rate]]:
    """The dated rates of these names, oldest first."""
    result: dict[str, list[Rate]] = defaultdict(list)
    for name, valid_from, percent in (
        ReferenceRate.objects.filter(name__in=set(names))
        .order_by("name", "valid_from")
        .values_list("name", "valid_from", "annual_percent")
    ):
        result[name].append(Rate(valid_from, percent))
    return result


def reference_rate_list(*, name: str | None = None) -> list[ReferenceRate]:
    rows = ReferenceRate.objects.order_by("name", "valid_from")
    return list(rows.filter(name=name) if name else rows)


def _item_facts(documents: Sequence[tuple[int, str | None, str, str, date, int]]) -> list[ItemFacts]:
    """Facts of these documents (id, number, type, currency, due date, total): their allocations and
    what was charged on them already. Three queries, whatever their number."""
    ids = [row[0] for row in documents]
    allocations: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for document_id, posting_date, amount in Allocation.objects.filter(document_id__in=ids).values_list(
        "document_id", "posting_date", "amount_minor"
    ):
        allocations[document_id].append((posting_date, amount))
    charged: dict[int, tuple[date | None, bool]] = {}
    for document_id, through, fee in (
        LateChargeItem.objects.filter(document_id__in=ids)
        .values_list("document_id")
        .annotate(through=Max("interest_through"), fee=Max("fee_minor"))
        .order_by()
    ):
        charged[document_id] = (through, bool(fee))
    memo_ids = set(LateCharge.objects.filter(document_id__in=ids).values_list("document_id", flat=True))
    return [
        ItemFacts(
            document_id=pk,
            number=number or "",
            document_type=document_type,
            currency=currency,
            due_date=due_date,
            total_minor=total_minor,
            allocations=tuple(sorted(allocations.get(pk, []))),
            charged_through=charged.get(pk, (None, False))[0],
            fee_charged=charged.get(pk, (None, False))[1],
        )
        for pk, number, document_type, currency, due_date, total_minor in documents
        # no interest on interest (§289 BGB): a late-charge debit memo earns none
        if pk not in memo_ids
    ]


# --- on notices -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeCharges:
    """A notice's late charges: per item (interest, fee in minor units), the total per currency, whether
    the policy charges them, and the rates applied on the notice's day."""

    by_document: dict[int, ItemCharges] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    charged: bool = False
    rates: tuple[tuple[str, Decimal, date | None, bool], ...] = ()
    """(currency, annual percent on the day, valid from of the reference rate or None, whether a newer
    reference rate is expected)"""

    def item_texts(self, document_id: int, locale: str) -> dict[str, str]:
        """An item's `interest` and `fee` in the reader's locale, empty where there is none."""
        charges = self.by_document.get(document_id)
        if charges is None:
            return {"interest": "", "fee": ""}
        return {
            part: money_human(minor, charges.currency, locale) if minor else ""
            for part, minor in (("interest", charges.interest_minor), ("fee", charges.fee_minor))
        }

    def texts(self, locale: str) -> dict[str, object]:
        """`late_charges_total` (per currency, joined; empty when there is nothing to show),
        `late_charges_charged`, `late_charges_rate` (the annual rate on the day) and
        `late_charges_rate_from` (the day the reference rate applied was published for)."""
        return {
            "late_charges_total": " + ".join(
                money_human(minor, currency, locale) for currency, minor in sorted(self.totals.items())
            ),
            "late_charges_charged": self.charged,
            "late_charges_rate": " / ".join(
                percent_human(percent, locale) for _c, percent, _f, _s in self.rates
            ),
            "late_charges_rate_from": " / ".join(
                date_human(valid_from, locale)
                for _c, _p, valid_from, _s in self.rates
                if valid_from is not None
            ),
        }


def percent_human(percent: Decimal, locale: str) -> str:
    """An annual rate in percent in the reader's locale, with its decimals: 10.27% (en), 10,27 % (de)."""
    return format_percent(percent / 100, locale=locale, decimal_quantization=False)


def notice_charges(*, entity_id: int, as_of: date, document_ids: list[int]) -> NoticeCharges:
    """The interest and fees owed as of the notice's day on these documents beyond what was charged,
    where the entity has a policy for their currency (nothing, in one query, where it has none)."""
    policies = policies_of(entity_id=entity_id)
    if not policies or not document_ids:
        return NoticeCharges()
    rows = list(
        Document.objects.filter(
            pk__in=document_ids, currency__in=list(policies), status=Document.Status.ISSUED
        ).values_list("pk", "number", "document_type", "currency", "due_date", "total_minor")
    )
    facts = _item_facts(rows)
    rates = reference_rates(names={policy.reference_rate for policy in policies.values()})
    by_document: dict[int, ItemCharges] = {}
    totals: dict[str, int] = {}
    applied = []
    for currency, policy in sorted(policies.items()):
        terms = Terms.of(policy)
        items = [item for item in facts if item.currency == currency]
        try:
            found = customer_charges(
                items, terms=terms, rates=rates.get(terms.reference_rate, []), as_of=as_of, charging=False
            )
        except UnableToComputeLateCharges:
            continue  # a day before the first known reference rate: nothing is shown
        if not found:
            continue
        by_document.update((charges.document_id, charges) for charges in found)
        totals[currency] = sum(charges.total_minor for charges in found)
        applied.append(rate_on_day(terms, rates.get(terms.reference_rate, []), as_of))
    charged = any(policies[currency].charge_interest or policies[currency].charge_fee for currency in totals)
    return NoticeCharges(by_document=by_document, totals=totals, charged=charged, rates=tuple(applied))


def rate_on_day(terms: Terms, reference: Sequence[Rate], day: date) -> tuple[str, Decimal, date | None, bool]:
    """(currency, the policy's annual rate on the day, the reference rate's valid_from, whether it is
    older than the publication interval, so that a newer one may exist)."""
    if not terms.reference_rate:
        return (terms.currency, max(terms.annual_percent, Decimal(0)), None, False)
    known = [rate for rate in reference if rate.valid_from <= day]
    if not known:
        raise UnableToComputeLateCharges(
            f"no {terms.reference_rate} rate on or before {day.isoformat()}", code="no_reference_rate"
        )
    latest = known[-1]
    percent = max(latest.annual_percent + terms.annual_percent, Decimal(0))
    return (terms.currency, percent, latest.valid_from, day >= latest.valid_from + RATE_REFRESH)


# --- services -------------------------------------------------------------------------------------


def _percent(value: Decimal | str | int, *, what: str, low: Decimal, error: type[DomainError]) -> Decimal:
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise error(
            _("%(what)s: '%(value)s' is not a number") % {"what": what, "value": value}, code="bad_rate"
        ) from None
    if not percent.is_finite() or percent != percent.quantize(Decimal("0.0001")):
        raise error(
            _("%(what)s: '%(value)s' has more than 4 decimals") % {"what": what, "value": value},
            code="bad_rate",
        )
    if not low <= percent <= Decimal(100):
        raise error(
            _("%(what)s: %(value)s is outside %(low)s to 100") % {"what": what, "value": percent, "low": low},
            code="bad_rate",
        )
    return percent


def _minor(amount: Money, currency: str, *, what: str) -> int:
    if amount.currency != currency:
        raise UnableToSetLatePaymentPolicy(
            _("%(what)s is in %(currency)s, the policy's currency") % {"what": what, "currency": currency},
            code="currency_mismatch",
        )
    try:
        minor = amount.to_minor()
    except UnableToHandleMoney as error:
        raise UnableToSetLatePaymentPolicy(f"{what}: {error.message}", code=error.code) from None
    if minor < 0:
        raise UnableToSetLatePaymentPolicy(
            _("%(what)s is not negative") % {"what": what}, code="negative_amount"
        )
    return minor


def _policy_state(policy: LatePaymentPolicy | None) -> dict[str, object]:
    if policy is None:
        return {}
    return {
        "reference_rate": policy.reference_rate or None,
        "annual_percent": str(policy.annual_percent.normalize()),
        "day_count": policy.day_count,
        "grace_days": policy.grace_days,
        "fee": format_with_currency(policy.fee_minor, policy.currency),
        "minimum": format_with_currency(policy.minimum_minor, policy.currency),
        "charge_interest": policy.charge_interest,
        "charge_fee": policy.charge_fee,
    }


@transaction.atomic
def late_payment_policy_set(
    *,
    entity: LegalEntity,
    currency: str,
    reference_rate: str,
    annual_percent: Decimal,
    day_count: str,
    grace_days: int,
    fee: Money,
    minimum: Money,
    charge_interest: bool,
    charge_fee: bool,
    actor: User | None,
    now: datetime,
) -> LatePaymentPolicy:
    """Set the entity's late-payment policy for a currency (replacing the earlier one). Refused:
    `unknown_currency`, `unknown_reference_rate` (no rate of that name is recorded), `bad_rate` (the
    fixed rate or margin outside 0 to 100, more than 4 decimals), `bad_day_count`, `bad_grace_days`
    (0 to 365), `currency_mismatch`, `negative_amount`, `not_rounded`. Audited with what changed."""
    try:
        ensure_currency(currency)
    except UnableToHandleMoney as error:
        raise UnableToSetLatePaymentPolicy(error.message, code=error.code) from None
    reference_rate = reference_rate.strip()
    if reference_rate and not ReferenceRate.objects.filter(name=reference_rate).exists():
        raise UnableToSetLatePaymentPolicy(
            _("no reference rate '%(name)s' is recorded") % {"name": reference_rate},
            code="unknown_reference_rate",
        )
    percent = _percent(
        annual_percent, what="annual_percent", low=Decimal(0), error=UnableToSetLatePaymentPolicy
    )
    if day_count not in LatePaymentPolicy.DayCount.values:
        raise UnableToSetLatePaymentPolicy(
            _("day_count is act_365 or act_360, not '%(value)s'") % {"value": day_count}, code="bad_day_count"
        )
    if not 0 <= grace_days <= 365:
        raise UnableToSetLatePaymentPolicy(_("grace_days run from 0 to 365"), code="bad_grace_days")
    fee_minor = _minor(fee, currency, what="fee")
    minimum_minor = _minor(minimum, currency, what="minimum")
    policy = LatePaymentPolicy.objects.select_for_update().filter(entity=entity, currency=currency).first()
    before = _policy_state(policy)
    if policy is None:
        policy = LatePaymentPolicy(entity=entity, currency=currency)
    policy.reference_rate = reference_rate
    policy.annual_percent = percent
    policy.day_count = day_count
    policy.grace_days = grace_days
    policy.fee_minor = fee_minor
    policy.minimum_minor = minimum_minor
    policy.charge_interest = charge_interest
    policy.charge_fee = charge_fee
    policy.updated_at = now
    policy.updated_by = actor if actor_id(actor) else None
    policy.save()
    after = _policy_state(policy)
    audit_services.record(
        actor=actor,
        action="collections.late_payment_policy.set",
        object_type="entity",
        object_id=entity.pk,
        object_label=f"{entity.code} {currency}",
        entity_id=entity.pk,
        changes={key: (before.get(key), value) for key, value in after.items() if before.get(key) != value},
        now=now,
    )
    return policy


@transaction.atomic
def reference_rate_add(
    *,
    name: str,
    valid_from: date,
    annual_percent: Decimal | str,
    source: str,
    actor: User | None,
    now: datetime,
) -> ReferenceRate:
    """Record a published reference rate from a day on (the German base rate of each 1 January and 1
    July: `de_base`). The same rate again changes nothing; another value for a day already recorded is
    refused (`rate_exists`: a published rate is not edited). Refused too: `bad_name` (lowercase
    letters, digits and `_`), `bad_rate` (-100 to 100, at most 4 decimals). Audited."""
    name = name.strip()
    if not _RATE_NAME.match(name):
        raise UnableToAddReferenceRate(
            _("'%(name)s' is not a rate name: lowercase letters, digits and _") % {"name": name},
            code="bad_name",
        )
    percent = _percent(
        annual_percent, what="annual_percent", low=Decimal(-100), error=UnableToAddReferenceRate
    )
    existing = ReferenceRate.objects.select_for_update().filter(name=name, valid_from=valid_from).first()
    if existing is not None:
        if existing.annual_percent == percent:
            return existing
        raise UnableToAddReferenceRate(
            _("%(name)s from %(day)s is recorded already at %(percent)s")
            % {"name": name, "day": valid_from.isoformat(), "percent": existing.annual_percent.normalize()},
            code="rate_exists",
        )
    rate = ReferenceRate.objects.create(
        name=name,
        valid_from=valid_from,
        annual_percent=percent,
        source=source.strip()[:200],
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    audit_services.record(
        actor=actor,
        action="collections.reference_rate.added",
        object_type="reference_rate",
        object_id=rate.pk,
        object_label=f"{name} {valid_from.isoformat()}",
        changes={
            "annual_percent": (None, str(percent.normalize())),
            "valid_from": (None, valid_from.isoformat()),
        },
        reason=rate.source,
        now=now,
    )
    return rate


@dataclass(frozen=True, slots=True)
class Charge:
    """One customer's debit memo in one currency (`document_number` empty on a dry run)."""

    customer_id: int
    customer_number: str
    currency: str
    items: tuple[ItemCharges, ...]
    document_number: str = ""

    @property
    def interest_minor(self) -> int:
        return sum(item.interest_minor for item in self.items)

    @property
    def fee_minor(self) -> int:
        return sum(item.fee_minor for item in self.items)

    @property
    def total_minor(self) -> int:
        return self.interest_minor + self.fee_minor


@dataclass(frozen=True, slots=True)
class ChargeRun:
    entity_code: str
    as_of: date
    dry_run: bool
    charges: tuple[Charge, ...]
    stale_rates: tuple[tuple[str, date], ...] = ()
    """(reference rate, latest valid_from) of the rates applied that may be out of date"""


def _chargeable(
    *, entity: LegalEntity, as_of: date, policies: dict[str, LatePaymentPolicy]
) -> dict[tuple[int, str], list[ItemFacts]]:
    """The entity's overdue invoices and debit memos in the policies' currencies, open now, whose
    interest has started by `as_of`, left out as dunning leaves them out: disputed, under an open
    promise to pay, in a running payment plan, and those of blocked customers. By customer and
    currency."""
    latest_due = as_of - timedelta(days=1 + min(policy.grace_days for policy in policies.values()))
    rows = list(
        Document.objects.filter(
            entity=entity,
            status=Document.Status.ISSUED,
            document_type__in=selectors.DUNNED_TYPES,
            open_minor__gt=0,
            is_disputed=False,
            issue_date__lte=as_of,
            due_date__lte=latest_due,
            currency__in=list(policies),
        )
        .exclude(customer__status=Customer.Status.BLOCKED)
        .values_list("pk", "customer_id", "number", "document_type", "currency", "due_date", "total_minor")
        .order_by("customer_id", "currency", "due_date", "number")
    )
    left_out = selectors.promised_document_ids(
        entity_id=entity.pk, as_of=as_of
    ) | selectors.planned_document_ids(entity_id=entity.pk)
    rows = [row for row in rows if row[0] not in left_out]
    customers = {row[0]: row[1] for row in rows}
    facts = _item_facts(
        [(pk, number or "", kind, cur, due, total) for pk, _c, number, kind, cur, due, total in rows]
    )
    grouped: dict[tuple[int, str], list[ItemFacts]] = defaultdict(list)
    for item in facts:
        grouped[(customers[item.document_id], item.currency)].append(item)
    return grouped


def late_charges_run(
    *, entity: LegalEntity, as_of: date, dry_run: bool, actor: User | None, now: datetime
) -> ChargeRun:
    """Charge the late-payment interest and fees the entity's policies charge, as of `as_of`: per
    customer and currency one debit memo (issued on `as_of`, its net on 4830 Late-payment interest and
    recovery fees, no VAT) of the interest accrued since each item was last charged and the fees not
    charged yet, recorded per item so that nothing is charged twice (running again the same day
    charges nothing). A dry run returns the same and writes nothing. Audited per debit memo."""
    with transaction.atomic():
        # two runs for one entity do not overlap: the second waits for the policies' locks
        policies = {
            policy.currency: policy
            for policy in LatePaymentPolicy.objects.select_for_update()
            .filter(entity=entity)
            .filter(Q(charge_interest=True) | Q(charge_fee=True))
            .order_by("pk")
        }
        if not policies:
            return ChargeRun(entity.code, as_of, dry_run, ())
        rates = reference_rates(names={policy.reference_rate for policy in policies.values()})
        stale = sorted(
            {
                (
                    policy.reference_rate,
                    rate_on_day(Terms.of(policy), rates.get(policy.reference_rate, []), as_of)[2],
                )
                for policy in policies.values()
                if policy.reference_rate
                and rate_on_day(Terms.of(policy), rates.get(policy.reference_rate, []), as_of)[3]
            },
            key=str,
        )
        grouped = _chargeable(entity=entity, as_of=as_of, policies=policies)
        # one debit memo per customer, currency and day: a customer charged today already waits for tomorrow
        charged_today = set(
            LateCharge.objects.filter(entity=entity, as_of=as_of).values_list("customer_id", "currency")
        )
        grouped = {key: items for key, items in grouped.items() if key not in charged_today}
        numbers = dict(
            Customer.objects.filter(pk__in={customer_id for customer_id, _c in grouped}).values_list(
                "pk", "number"
            )
        )
        planned: list[Charge] = []
        for (customer_id, currency), items in sorted(
            grouped.items(), key=lambda pair: (numbers[pair[0][0]], pair[0][1])
        ):
            terms = Terms.of(policies[currency])
            found = customer_charges(
                items, terms=terms, rates=rates.get(terms.reference_rate, []), as_of=as_of, charging=True
            )
            if found:
                planned.append(Charge(customer_id, numbers[customer_id], currency, tuple(found)))
        if dry_run:
            return ChargeRun(entity.code, as_of, True, tuple(planned), tuple((n, d) for n, d in stale if d))
        issued = [
            _issue(entity=entity, charge=charge, as_of=as_of, actor=actor, now=now) for charge in planned
        ]
        return ChargeRun(entity.code, as_of, False, tuple(issued), tuple((n, d) for n, d in stale if d))


def _issue(*, entity: LegalEntity, charge: Charge, as_of: date, actor: User | None, now: datetime) -> Charge:
    customer = Customer.objects.get(pk=charge.customer_id)
    with translation.override(customer.language or None):  # printed in the customer's language
        locale = translation.to_locale(customer.language or "en")
        lines = []
        for item in charge.items:
            if item.interest_minor and item.interest_from and item.interest_through:
                lines.append(
                    LineIn(
                        description=_("Late-payment interest on %(number)s, %(first)s to %(last)s")
                        % {
                            "number": item.number,
                            "first": date_human(item.interest_from, locale),
                            "last": date_human(item.interest_through, locale),
                        },
                        quantity=Decimal(1),
                        unit_price=Money.from_minor(item.interest_minor, charge.currency).amount,
                        tax_category=NOT_SUBJECT_TO_VAT,
                    )
                )
            if item.fee_minor:
                lines.append(
                    LineIn(
                        description=_("Recovery fee for the late payment of %(number)s")
                        % {"number": item.number},
                        quantity=Decimal(1),
                        unit_price=Money.from_minor(item.fee_minor, charge.currency).amount,
                        tax_category=NOT_SUBJECT_TO_VAT,
                    )
                )
        notes = _(
            "Interest on late payment and recovery fees as of %(date)s. They are compensation and not "
            "subject to VAT."
        ) % {"date": date_human(as_of, locale)}
    draft = receivables_services.document_create(
        customer=customer,
        document_type=DocumentType.DEBIT_MEMO,
        issue_date=as_of,
        lines=lines,
        actor=actor,
        now=now,
        currency=charge.currency,
        notes=notes,
    )
    memo = receivables_services.document_issue(
        document_id=draft.pk,
        actor=actor,
        now=now,
        net_account_id=ledger_services.account_by_code(entity=entity, code=LATE_CHARGES),
    )
    late_charge = LateCharge.objects.create(
        entity=entity,
        customer=customer,
        document=memo,
        as_of=as_of,
        currency=charge.currency,
        interest_minor=charge.interest_minor,
        fee_minor=charge.fee_minor,
        created_at=now,
        created_by=actor if actor_id(actor) else None,
    )
    LateChargeItem.objects.bulk_create(
        LateChargeItem(
            charge=late_charge,
            document_id=item.document_id,
            interest_from=item.interest_from if item.interest_minor else None,
            interest_through=item.interest_through if item.interest_minor else None,
            interest_minor=item.interest_minor,
            fee_minor=item.fee_minor,
        )
        for item in charge.items
    )
    audit_services.record(
        actor=actor,
        action="collections.late_charge.issued",
        object_type="customer",
        object_id=customer.pk,
        object_label=customer.number,
        entity_id=entity.pk,
        changes={
            "debit_memo": (None, memo.number),
            "interest": (None, format_with_currency(charge.interest_minor, charge.currency)),
            "fee": (None, format_with_currency(charge.fee_minor, charge.currency)),
            "items": (None, ", ".join(item.number for item in charge.items)),
        },
        now=now,
    )
    return Charge(
        charge.customer_id, charge.customer_number, charge.currency, charge.items, memo.number or ""
    )
