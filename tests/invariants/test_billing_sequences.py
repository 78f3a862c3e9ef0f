"""Random sequences of billing events, with the billing invariants of DESIGN.md checked after each step.

The machine subscribes customers to a fixed catalogue (every price model; monthly, quarterly, yearly and
one-time fees; in advance and in arrears; minimum commitments; metered usage aggregated by sum, max and
unique count), amends (quantity, discount, upgrade or downgrade to a product on the same schedule),
corrects contracts by re-importing them (fixed and time-limited discounts among the changes), cancels
and renews, sends usage (re-sent and late events among them) and runs billing as of dates that only move
forward. After every step it checks `o2c ledger verify`, gapless numbering, document totals, that credits
carry the tax of the invoice line they correct, and that every settled subscription has been billed, per
period, exactly what an independent oracle says the period is worth now. Runs on SQLite and on
PostgreSQL; each example runs in a transaction that is rolled back.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from o2c.billing import runs, services
from o2c.billing.errors import UnableToSaveBillingData
from o2c.billing.models import BilledLine, Subscription, UsageEvent
from o2c.billing.services import Counts, ProductIn, SubscriptionIn, UsageIn
from o2c.core import checks
from o2c.customers import services as customer_services
from o2c.ledger.models import LegalEntity
from o2c.receivables.models import Document
from tests.conftest import customer_in

FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2026, 12, 31)
LAST_RUN = date(2027, 2, 28)
BERLIN = ZoneInfo("Europe/Berlin")
HUNDRED = Decimal(100)
MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Spec:
    """A catalogue product as the oracle sees it: tiers are (upper bound or None, price)."""

    model: str
    unit: Decimal = Decimal(0)
    tiers: tuple[tuple[int | None, Decimal], ...] = ()
    period: str = "month"  # month, quarter, year, or once (a one-time fee)
    timing: str = "advance"
    metric: str = ""
    aggregation: str = "sum"
    minimum: Decimal = Decimal(0)  # a commitment per period

    @property
    def schedule(self) -> tuple[str, str, str]:
        """What an upgrade or downgrade must keep."""
        return self.period, self.timing, self.metric

    def product_in(self, code: str) -> ProductIn:
        return ProductIn(
            code=code,
            name=code.title(),
            price_model=self.model,
            currency="EUR",
            unit_price=self.unit,
            tiers="|".join(f"{'*' if upper is None else upper}:{price}" for upper, price in self.tiers),
            billing_period=self.period,
            timing=self.timing,
            metric=self.metric,
            aggregation=self.aggregation,
            minimum=self.minimum,
        )


def _tiers(*tiers: tuple[int | None, str]) -> tuple[tuple[int | None, Decimal], ...]:
    return tuple((upper, Decimal(price)) for upper, price in tiers)


CATALOGUE = {
    # monthly in advance, one schedule: any of them upgrades or downgrades to any other
    "BASE": Spec("flat", Decimal("99.99")),
    "SEAT": Spec("per_unit", Decimal("12.345")),
    "TIER": Spec("tiered", tiers=_tiers((10, "5.00"), (None, "3.25"))),
    "VOL": Spec("volume", tiers=_tiers((10, "4.00"), (50, "3.50"), (None, "2.75"))),
    "PACK": Spec("package", tiers=_tiers((5, "20.00"))),
    "TEAM": Spec("per_unit", Decimal("7.50"), minimum=Decimal("40.00")),  # a licence with a commitment
    # monthly in arrears
    "OPS": Spec("per_unit", Decimal("4.99"), timing="arrears", minimum=Decimal("25.00")),
    "OPS-TIER": Spec("tiered", tiers=_tiers((20, "2.00"), (None, "1.10")), timing="arrears"),
    # quarterly and yearly in advance
    "QSEAT": Spec("per_unit", Decimal("33.33"), period="quarter"),
    "QPLUS": Spec(
        "volume", tiers=_tiers((10, "30.00"), (None, "25.00")), period="quarter", minimum=Decimal("150.00")
    ),
    "SUPPORT": Spec("flat", Decimal("1199.00"), period="year"),
    "PREMIUM": Spec("per_unit", Decimal("899.50"), period="year"),
    # one-time fees, billed in full on the start date
    "SETUP": Spec("flat", Decimal("500.00"), period="once"),
    "TRAIN": Spec("per_unit", Decimal("149.90"), period="once", minimum=Decimal("300.00")),
    # metered, in arrears: the quantity is the period's usage of the metric
    "API": Spec(
        "tiered",
        tiers=_tiers((1000, "0.10"), (None, "0.05")),
        timing="arrears",
        metric="api_calls",
        minimum=Decimal("5.00"),
    ),
    "API-PRO": Spec(
        "volume",
        tiers=_tiers((2000, "0.08"), (None, "0.04")),
        timing="arrears",
        metric="api_calls",
        minimum=Decimal("20.00"),
    ),
    "DISK": Spec("per_unit", Decimal("0.25"), timing="arrears", metric="storage_gb", aggregation="max"),
    "USERS": Spec(
        "per_unit",
        Decimal("3.50"),
        period="quarter",
        timing="arrears",
        metric="users",
        aggregation="unique_count",
        minimum=Decimal("10.00"),
    ),
    "PEAK": Spec(
        "package",
        tiers=_tiers((5, "12.00")),
        period="quarter",
        timing="arrears",
        metric="users",
        aggregation="max",
    ),
}
LICENSED = sorted(code for code, spec in CATALOGUE.items() if not spec.metric)
METERED = sorted(code for code, spec in CATALOGUE.items() if spec.metric)
# (customer, bill-to): the child is billed itself or through its parent
CUSTOMERS = [("C-DE", ""), ("C-DE", "P-DE"), ("P-DE", ""), ("F-FR", "")]


def same_schedule(code: str) -> list[str]:
    return sorted(other for other, spec in CATALOGUE.items() if spec.schedule == CATALOGUE[code].schedule)


quantities = st.one_of(
    st.integers(min_value=0, max_value=6).map(Decimal),  # below the minimum commitments
    st.integers(min_value=0, max_value=60).map(Decimal),
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal(30), places=1),
)
discounts = st.sampled_from([Decimal(0), Decimal(0), Decimal(10), Decimal("12.5"), Decimal("33.333")])
fixed_discounts = st.sampled_from(
    [Decimal(0), Decimal(0), Decimal(0), Decimal("5.00"), Decimal("19.99"), Decimal("250.00")]
)
offsets = st.integers(min_value=0, max_value=400)
starts = st.integers(min_value=0, max_value=200)  # mostly in the first half: runs catch up on them
# the strategies of a new subscription, shared by the state machine's first steps and its later rules
METERED_SUBSCRIPTION: dict[str, Any] = {
    "product": st.sampled_from(METERED),
    "customers": st.sampled_from(CUSTOMERS),
    "start": starts,
    "end": st.none() | offsets,
    "discount": discounts,
    "fixed": fixed_discounts,
    "until": st.none() | offsets,  # the discounts' last period start, if they are time-limited
}
LICENSED_SUBSCRIPTION: dict[str, Any] = {
    **METERED_SUBSCRIPTION,
    "product": st.sampled_from(LICENSED),
    "quantity": quantities,
}


# --- the oracle: what a period is worth, from the contract alone ------------------------------------


def list_price(spec: Spec, q: Fraction) -> Fraction:
    """A period's list price for a quantity: exact, not rounded."""
    if spec.model == "flat":
        return Fraction(spec.unit)
    if spec.model == "per_unit":
        return Fraction(spec.unit) * q
    if spec.model == "tiered":  # each band prices the units inside it
        total, lower = Fraction(0), Fraction(0)
        for upper, price in spec.tiers:
            top = q if upper is None else min(q, Fraction(upper))
            total += max(Fraction(0), top - lower) * Fraction(price)
            lower = Fraction(upper) if upper is not None else lower
        return total
    if spec.model == "volume":  # every unit at the price of the band the quantity falls in
        price = next(p for upper, p in spec.tiers if upper is None or q <= upper)
        return q * Fraction(price)
    if spec.model == "package":
        [(size, price)] = spec.tiers
        assert size is not None
        return math.ceil(q / size) * Fraction(price)
    raise AssertionError(spec.model)


def aggregate(how: str, events: list[tuple[int, str]]) -> Fraction:
    """A period's quantity from its events (millionths, unique key): their sum, their peak, or the number
    of distinct keys (an event without a key counts its quantity as the key)."""
    if how == "unique_count":
        return Fraction(len({key or ("quantity", micro) for micro, key in events}))
    micros = [micro for micro, _ in events]
    return Fraction(max(micros, default=0) if how == "max" else sum(micros), 1_000_000)


def cents(amount: Fraction, discount_percent: Decimal) -> int:
    """The discounted amount in cents, half up: the one rounding of a period's price."""
    exact = amount * (100 - Fraction(discount_percent)) / 100 * 100
    floor = math.floor(exact)
    return floor + (1 if exact - floor >= Fraction(1, 2) else 0)


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def calendar_period(day: date, kind: str) -> Window:
    """The calendar month, quarter or year that holds the day."""
    months = MONTHS[kind]
    first = (day.month - 1) // months * months + 1
    after = first + months
    following = date(day.year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return Window(date(day.year, first, 1), following - timedelta(days=1))


def day_split(full_minor: int, period: Window, first: date, last: date) -> int:
    """The period's price over its days: each day gets the same cents, the first days one cent more
    until the rounding residue is used up; a part is the sum of its days."""
    days = period.days()
    per_day = [full_minor // len(days) + (1 if n < full_minor % len(days) else 0) for n in range(len(days))]
    assert sum(per_day) == full_minor
    return sum(part for day, part in zip(days, per_day, strict=True) if first <= day <= last)


@dataclass(frozen=True)
class Term:
    product: str
    quantity: Decimal
    discount: Decimal  # percent


@dataclass
class Contract:
    """The machine's own record of a subscription."""

    number: str
    customers: tuple[str, str]
    start: date
    end: date | None
    terms: dict[date, Term]  # effective from -> term
    discount_amount: Decimal = Decimal(0)  # off each period's price, after the percentage
    discount_until: date | None = None  # the last period start the discounts apply to

    @property
    def schedule(self) -> Spec:
        """Period, timing and metric: the same for every term (upgrades keep the schedule)."""
        return CATALOGUE[self.terms[self.start].product]

    def last_possible_day(self) -> date:
        return self.end or LAST_DAY

    def term_on(self, day: date) -> Term:
        return self.terms[max(effective for effective in self.terms if effective <= day)]

    def periods(self, last: date) -> Iterator[Window]:
        """The contract's periods from the first one to the one holding `last`."""
        if self.schedule.period == "once":  # one "period": the start date
            yield Window(self.start, self.start)
            return
        period = calendar_period(self.start, self.schedule.period)
        while period.start <= last:
            yield period
            period = calendar_period(period.end + timedelta(days=1), self.schedule.period)

    def window(self, period: Window) -> Window | None:
        first, last = max(period.start, self.start), min(period.end, self.end or period.end)
        return Window(first, last) if first <= last else None

    def is_due(self, period: Window, as_of: date) -> bool:
        window = self.window(period)
        if window is None:
            return False
        return window.end < as_of if self.schedule.timing == "arrears" else window.start <= as_of

    def worth(self, period: Window, events: list[tuple[int, str]]) -> int:
        """What the period is worth now, in cents."""
        window = self.window(period)
        if window is None:
            return 0
        discounted = self.discount_until is None or period.start <= self.discount_until
        fixed = int(self.discount_amount * 100) if discounted else 0
        if self.schedule.metric:
            # usage is rated once per period, at the term in force on its first day of service
            term = self.term_on(window.start)
            spec = CATALOGUE[term.product]
            percent = term.discount if discounted else Decimal(0)
            used = cents(list_price(spec, aggregate(spec.aggregation, events)), percent)
            minimum = cents(Fraction(spec.minimum), percent)
            # the minimum commitment and the fixed discount cover the subscription's days in the
            # period, whatever its terms
            minimum = day_split(minimum, period, window.start, window.end)
            return max(0, max(used, minimum) - day_split(fixed, period, window.start, window.end))
        starts = sorted(self.terms)
        total = 0
        for index, effective in enumerate(starts):
            until = starts[index + 1] - timedelta(days=1) if index + 1 < len(starts) else window.end
            first, last = max(window.start, effective), min(window.end, until)
            if first <= last:
                term = self.terms[effective]
                spec = CATALOGUE[term.product]
                percent = term.discount if discounted else Decimal(0)
                listed = max(list_price(spec, Fraction(term.quantity)), Fraction(spec.minimum))
                full = max(0, cents(listed, percent) - fixed)
                total += day_split(full, period, first, last)
        return total


def in_window(start: date, end: date, offset: int) -> date:
    return start + timedelta(days=offset % ((end - start).days + 1))


class Crash(Exception):
    """The process dies."""


# --- the machine ------------------------------------------------------------------------------------


class BillingMachine(RuleBasedStateMachine):
    subscriptions = Bundle("subscriptions")
    metered = Bundle("metered")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.entity = LegalEntity.objects.get(is_default=True)
        self.clock = FIRST_DAY  # billing runs never go back in time
        self.last_run: date | None = None
        self.contracts: dict[str, Contract] = {}
        self.dirty: set[str] = set()  # changed since the last run that could bill the change
        # event id -> subscription, local day, millionths, unique key
        self.usage: dict[str, tuple[str, date, int, str]] = {}
        self.batches: list[list[UsageIn]] = []
        self.counter = 0
        self.checked_documents = Document.objects.aggregate(last=Max("pk"))["last"] or 0
        self._catalogue_and_customers()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def now(self) -> datetime:
        return datetime.combine(self.clock, time(6, 0), tzinfo=UTC)

    def _catalogue_and_customers(self) -> None:
        products = [spec.product_in(code) for code, spec in CATALOGUE.items()]
        services.products_import(entity=self.entity, products=products, actor=None, now=self.now())
        again = services.products_import(entity=self.entity, products=products, actor=None, now=self.now())
        assert again == Counts(0, 0, len(products))
        for data in (
            customer_in("P-DE", name="Müller Holding AG"),
            customer_in("C-DE", parent_number="P-DE"),
            customer_in("F-FR", name="Dupont SA", country="FR", language="fr", vat_id="FR40303265045"),
        ):
            customer_services.customer_create(entity=self.entity, data=data, actor=None, now=self.now())

    # contract events

    def _row(self, contract: Contract) -> SubscriptionIn:
        """The contract as an import row: the first term, the dates and the fixed discount."""
        first = contract.terms[contract.start]
        return SubscriptionIn(
            contract.number,
            contract.customers[0],
            contract.customers[1],
            first.product,
            first.quantity,
            contract.start,
            contract.end,
            first.discount,
            discount_amount=contract.discount_amount,
            discount_until=contract.discount_until,
        )

    def _subscribe(
        self,
        product: str,
        customers: tuple[str, str],
        quantity: Decimal,
        start_offset: int,
        end_offset: int | None,
        discount: Decimal,
        fixed: Decimal,
        until: int | None,
    ) -> str:
        self.counter += 1
        number = f"S-{self.counter}"
        start = in_window(FIRST_DAY, LAST_DAY, start_offset)
        contract = Contract(
            number,
            customers,
            start,
            None if end_offset is None else in_window(start, LAST_DAY, end_offset),
            {start: Term(product, quantity, discount)},
            fixed,
            None if until is None else in_window(FIRST_DAY, LAST_DAY, until),
        )
        row = self._row(contract)
        created = services.subscriptions_import(
            entity=self.entity, subscriptions=[row], actor=None, now=self.now()
        )
        assert created == Counts(1, 0, 0)
        # the same row again changes nothing (imports are idempotent)
        again = services.subscriptions_import(
            entity=self.entity, subscriptions=[row], actor=None, now=self.now()
        )
        assert again == Counts(0, 0, 1)
        self.contracts[number] = contract
        self.dirty.add(number)
        return number

    @initialize(target=subscriptions, **LICENSED_SUBSCRIPTION)
    def first_subscription(
        self,
        product: str,
        customers: tuple[str, str],
        quantity: Decimal,
        start: int,
        end: int | None,
        discount: Decimal,
        fixed: Decimal,
        until: int | None,
    ) -> str:
        return self._subscribe(product, customers, quantity, start, end, discount, fixed, until)

    @initialize(targets=(subscriptions, metered), **METERED_SUBSCRIPTION)
    def first_metered_subscription(
        self,
        product: str,
        customers: tuple[str, str],
        start: int,
        end: int | None,
        discount: Decimal,
        fixed: Decimal,
        until: int | None,
    ) -> str:
        return self._subscribe(product, customers, Decimal(1), start, end, discount, fixed, until)

    @rule(target=subscriptions, **LICENSED_SUBSCRIPTION)
    def subscribe(
        self,
        product: str,
        customers: tuple[str, str],
        quantity: Decimal,
        start: int,
        end: int | None,
        discount: Decimal,
        fixed: Decimal,
        until: int | None,
    ) -> str:
        return self._subscribe(product, customers, quantity, start, end, discount, fixed, until)

    @rule(targets=(subscriptions, metered), **METERED_SUBSCRIPTION)
    def subscribe_to_metered(
        self,
        product: str,
        customers: tuple[str, str],
        start: int,
        end: int | None,
        discount: Decimal,
        fixed: Decimal,
        until: int | None,
    ) -> str:
        return self._subscribe(product, customers, Decimal(1), start, end, discount, fixed, until)

    @rule(
        number=subscriptions,
        day=offsets,
        quantity=st.none() | quantities,
        product=st.none() | st.integers(min_value=0, max_value=5),  # an upgrade or downgrade
        discount=st.none() | discounts,
    )
    def amend(
        self, number: str, day: int, quantity: Decimal | None, product: int | None, discount: Decimal | None
    ) -> None:
        contract = self.contracts[number]
        effective = in_window(contract.start, contract.last_possible_day(), day)
        base = contract.term_on(effective)
        group = same_schedule(base.product)
        code = None if product is None else group[product % len(group)]
        services.subscription_amend(
            subscription_id=Subscription.objects.get(number=number).pk,
            effective_from=effective,
            quantity=quantity,
            product_code=code,
            discount_percent=discount,
            actor=None,
            now=self.now(),
            reason="hypothesis",
        )
        contract.terms[effective] = Term(
            code or base.product,
            base.quantity if quantity is None else quantity,
            base.discount if discount is None else discount,
        )
        self.dirty.add(number)

    @rule(
        number=subscriptions,
        product=st.none() | st.integers(min_value=0, max_value=5),
        quantity=st.none() | quantities,
        discount=st.none() | discounts,
        fixed=st.none() | fixed_discounts,
        until=st.sampled_from(["keep", "open"]) | offsets,
        end=st.sampled_from(["keep", "keep", "open"]) | offsets,
    )
    def correct_by_import(
        self,
        number: str,
        product: int | None,
        quantity: Decimal | None,
        discount: Decimal | None,
        fixed: Decimal | None,
        until: str | int,
        end: str | int,
    ) -> None:
        """A changed import row corrects the contract since its start (its first term, its end date and
        its fixed discount; the schedule stays, as for an amendment): billed periods are billed or
        credited the difference."""
        contract = self.contracts[number]
        before = self._row(contract)
        first = contract.terms[contract.start]
        group = same_schedule(first.product)
        contract.terms[contract.start] = Term(
            first.product if product is None else group[product % len(group)],
            first.quantity if quantity is None else quantity,
            first.discount if discount is None else discount,
        )
        if fixed is not None:
            contract.discount_amount = fixed
        if until != "keep":
            contract.discount_until = None if until == "open" else in_window(FIRST_DAY, LAST_DAY, int(until))
        if end != "keep":
            contract.end = None if end == "open" else in_window(contract.start, LAST_DAY, int(end))
        row = self._row(contract)
        counts = services.subscriptions_import(
            entity=self.entity, subscriptions=[row], actor=None, now=self.now()
        )
        assert counts == (Counts(0, 0, 1) if row == before else Counts(0, 1, 0))
        self.dirty.add(number)

    @rule(
        number=subscriptions,
        day=st.one_of(
            offsets.map(lambda day: ("any day", day)),
            st.integers(min_value=0, max_value=120).map(lambda back: ("days before the clock", back)),
        ),
    )
    def cancel(self, number: str, day: tuple[str, int]) -> None:
        contract = self.contracts[number]
        how, value = day
        if how == "any day":
            end = in_window(contract.start, contract.last_possible_day(), value)
        else:  # backdated into what was billed: the unused days are credited
            end = min(max(self.clock - timedelta(days=value), contract.start), contract.last_possible_day())
        services.subscription_end_set(
            subscription_id=Subscription.objects.get(number=number).pk,
            end_date=end,
            actor=None,
            now=self.now(),
            reason="hypothesis",
        )
        contract.end = end
        self.dirty.add(number)

    @rule(number=subscriptions, day=st.none() | offsets)
    def renew(self, number: str, day: int | None) -> None:
        # credited periods are billed again; the rest of a period billed through its old end is due now
        contract = self.contracts[number]
        end = None if day is None else in_window(contract.last_possible_day(), LAST_DAY, day)
        services.subscription_end_set(
            subscription_id=Subscription.objects.get(number=number).pk,
            end_date=end,
            actor=None,
            now=self.now(),
            reason="hypothesis",
        )
        contract.end = end
        self.dirty.add(number)

    # usage

    @rule(
        number=metered,
        around=offsets,
        events=st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=80),  # a small id space: some ids come back
                st.integers(min_value=0, max_value=20),  # days after `around`: a batch shares periods
                st.sampled_from([time(0, 15), time(12, 0), time(23, 45)]),  # Berlin time
                st.integers(min_value=0, max_value=900),
                st.sampled_from(["", "", "user-1", "user-2", "user-3"]),  # what unique_count counts
            ),
            min_size=1,
            max_size=5,
        ),
    )
    def send_usage(self, number: str, around: int, events: list[tuple[int, int, time, int, str]]) -> None:
        contract = self.contracts[number]
        metric = contract.schedule.metric
        batch = []
        for event_id, offset, moment, raw, key in events:
            day = in_window(contract.start, contract.last_possible_day(), around + offset)
            occurred_at = datetime.combine(day, moment, tzinfo=BERLIN).astimezone(UTC)
            # calls are counted, gigabytes measured to the quarter, users sent as small ids
            quantity = {"storage_gb": Decimal(raw) / 4, "users": Decimal(raw % 6)}.get(metric, Decimal(raw))
            batch.append(UsageIn(f"U-{event_id}", number, metric, quantity, occurred_at, unique_key=key))
        fresh = self._import_usage(batch)
        for data in batch:
            if data.event_id in fresh and data.event_id not in self.usage:  # the first one counts
                local = data.occurred_at.astimezone(BERLIN).date()
                micro = int(data.quantity * 1_000_000)
                self.usage[data.event_id] = (number, local, micro, data.unique_key)
        self.batches.append(batch)
        self.dirty.add(number)

    @precondition(lambda self: bool(self.batches))
    @rule(pick=st.integers(min_value=0))
    def resend_usage(self, pick: int) -> None:
        batch = self.batches[pick % len(self.batches)]
        first_seen = {data.event_id: data for data in reversed(batch)}  # a batch's repeats are skipped
        outside = [
            data
            for data in first_seen.values()
            if not (
                self.contracts[data.subscription_number].start
                <= data.occurred_at.astimezone(BERLIN).date()
                <= self.contracts[data.subscription_number].last_possible_day()
            )
        ]
        before = UsageEvent.objects.count()
        if outside:  # cancelled since: the whole file is refused, and nothing changes
            with pytest.raises(UnableToSaveBillingData) as refused:
                services.usage_import(entity=self.entity, events=batch, now=self.now())
            assert refused.value.code == "bad_timestamp"
        else:
            assert self._import_usage(batch) == set()
        assert UsageEvent.objects.count() == before

    def _import_usage(self, batch: list[UsageIn]) -> set[str]:
        """Import a batch; return the ids that were new. Ids seen before (here or earlier) are ignored."""
        first_seen: dict[str, UsageIn] = {}
        for data in batch:
            first_seen.setdefault(data.event_id, data)
        fresh = {event_id for event_id in first_seen if event_id not in self.usage}
        imported = services.usage_import(entity=self.entity, events=batch, now=self.now())
        assert (imported.created, imported.ignored) == (len(fresh), len(batch) - len(fresh))
        return fresh

    # billing runs

    @rule(
        days=st.one_of(st.just(0), st.integers(min_value=1, max_value=75)),
        issue=st.booleans(),
    )
    def run_billing(self, days: int, issue: bool) -> None:
        self._run(min(self.clock + timedelta(days=days), LAST_RUN), issue)

    @rule(months=st.integers(min_value=0, max_value=3), issue=st.booleans())
    def run_billing_on_a_month_start(self, months: int, issue: bool) -> None:
        # the usual schedule: in advance for the new month, in arrears for the one just ended
        first = calendar_period(self.clock, "month").end + timedelta(days=1)
        for _ in range(months):
            first = calendar_period(first, "month").end + timedelta(days=1)
        self._run(min(first, LAST_RUN), issue)

    @rule(days=st.integers(min_value=0, max_value=20))
    def issue_run(self, days: int) -> None:
        self._run(min(self.clock + timedelta(days=days), LAST_RUN), issue=True)

    @rule(
        days=st.integers(min_value=0, max_value=45),
        where=st.sampled_from(["billing", "issuing"]),
        after=st.integers(min_value=0, max_value=2),
    )
    def crash_midway_and_run_again(self, days: int, where: str, after: int) -> None:
        """A run killed after `after` chunks (one bill-to customer or two documents each) leaves only
        whole chunks done; running it again finishes the work, billing and numbering nothing twice."""
        as_of = min(self.clock + timedelta(days=days), LAST_RUN)
        owner, name = (runs, "_bill_chunk") if where == "billing" else (runs.bulk, "invoices_issue_bulk")
        real = getattr(owner, name)
        calls = 0

        def crashing(*args: object, **kwargs: object) -> object:
            nonlocal calls
            calls += 1
            if calls > after:
                raise Crash(f"killed in chunk {calls}")
            return real(*args, **kwargs)

        with (
            override_settings(O2C_BILLING_BATCH=1),
            mock.patch.object(owner, name, crashing),
            contextlib.suppress(Crash),
        ):
            runs.billing_run(entity=self.entity, as_of=as_of, issue=True, actor=None, now=self.now())
        # what the killed run left is consistent: whole documents, posted and numbered without gaps
        self.registered_checks_hold()
        self.issued_numbers_are_gapless_per_series()
        self.document_totals_are_their_lines_and_tax()
        self._run(as_of, issue=True)

    @rule(issue=st.booleans())
    def run_again_on_the_same_day(self, issue: bool) -> None:
        if self.last_run is None or self.dirty:  # changes since the last run: they are billed now
            self._run(self.clock, issue)
            return
        # nothing changed that the last run could not bill: nothing is billed again, and an issuing run
        # after a preview only numbers the drafts it made
        drafts = set(Document.objects.filter(status="draft").values_list("pk", flat=True))
        before = self._counts()[::2]
        result = runs.billing_run(
            entity=self.entity, as_of=self.clock, issue=issue, actor=None, now=self.now()
        )
        assert result.errors == []
        assert self._counts()[::2] == before
        assert {d.document_id for d in result.documents} <= (drafts if issue else set())

    def _run(self, as_of: date, issue: bool) -> None:
        assert as_of >= self.clock
        with_drafts = set(
            BilledLine.objects.filter(document__status="draft").values_list("subscription__number", flat=True)
        )
        self.clock = as_of
        result = runs.billing_run(entity=self.entity, as_of=as_of, issue=issue, actor=None, now=self.now())
        assert result.errors == []
        self.last_run = as_of
        waiting = set() if issue else self.dirty & with_drafts
        self.dirty = set()
        # A preview cannot credit a draft: a subscription whose change takes back some of what a draft
        # bills waits, whole, for the next issuing run. Any other change is billed now.
        for number, mismatches in self._mismatches(waiting).items():
            if any(
                expected < billed and self._draft_billed(number, period)
                for period, billed, expected in mismatches
            ):
                self.dirty.add(number)
        if issue:
            assert not Document.objects.filter(status="draft", origin__in=runs.BILLING_ORIGINS).exists()
        # billing twice never bills twice
        before = self._counts()
        again = runs.billing_run(entity=self.entity, as_of=as_of, issue=issue, actor=None, now=self.now())
        assert (again.documents, again.errors) == ([], [])
        assert self._counts() == before

    def _draft_billed(self, number: str, period_start: date) -> bool:
        """The period's latest charge (what a credit for it corrects) is on a draft."""
        latest = (
            BilledLine.objects.filter(
                subscription__number=number, period_start=period_start, amount_minor__gt=0
            )
            .order_by("-pk")
            .values_list("document__status", flat=True)
            .first()
        )
        return latest == "draft"

    def _counts(self) -> tuple[int, int, int, int]:
        """Documents, issued documents, billed lines, and what they billed."""
        return (
            Document.objects.count(),
            Document.objects.filter(status="issued").count(),
            BilledLine.objects.count(),
            BilledLine.objects.aggregate(total=Sum("amount_minor"))["total"] or 0,
        )

    def _mismatches(self, numbers: set[str]) -> dict[str, list[tuple[date, int, int]]]:
        """Per subscription, the periods due or billed by the last run whose billed total is not what the
        oracle says they are worth now: (period start, billed, worth)."""
        if self.last_run is None or not numbers:
            return {}
        billed: dict[tuple[str, date], int] = {}
        for number, period_start, total in (
            BilledLine.objects.filter(subscription__number__in=numbers)
            .values_list("subscription__number", "period_start")
            .annotate(total=Sum("amount_minor"))
            .order_by()
        ):
            billed[(number, period_start)] = total
        usage: dict[tuple[str, date], list[tuple[int, str]]] = defaultdict(list)
        for number, day, micro, key in self.usage.values():
            if number in numbers:
                period = self.contracts[number].schedule.period
                usage[(number, calendar_period(day, period).start)].append((micro, key))
        found: dict[str, list[tuple[date, int, int]]] = {}
        for number in sorted(numbers):
            contract = self.contracts[number]
            last = max([self.last_run, *(start for n, start in billed if n == number)])
            wrong = []
            for period in contract.periods(last):
                key = (number, period.start)
                if key in billed or contract.is_due(period, self.last_run):
                    expected = contract.worth(period, usage[key])
                    if billed.get(key, 0) != expected:
                        wrong.append((period.start, billed.get(key, 0), expected))
            found[number] = wrong
        return found

    # invariants, checked after every step

    @invariant()
    def registered_checks_hold(self) -> None:
        for check in checks.all_checks():
            assert check.run() == [], check.name

    @invariant()
    def every_settled_period_is_billed_what_it_is_worth(self) -> None:
        settled = set(self.contracts) - self.dirty
        wrong = {number: found for number, found in self._mismatches(settled).items() if found}
        assert wrong == {}, wrong

    @invariant()
    def issued_numbers_are_gapless_per_series(self) -> None:
        by_series: dict[int, list[int]] = defaultdict(list)
        for series_id, number in Document.objects.filter(status="issued").values_list("series_id", "number"):
            by_series[series_id].append(int(re.search(r"-(\d+)$", number)[1]))
        for numbers in by_series.values():
            assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert not Document.objects.filter(status="draft", number__isnull=False).exists()

    @invariant()
    def document_totals_are_their_lines_and_tax(self) -> None:
        for total, open_minor in Document.objects.values_list("total_minor", "open_minor"):
            assert 0 <= open_minor <= total if total >= 0 else total <= open_minor <= 0
        # a document's lines never change once it is made: check each new one once
        new = Document.objects.filter(pk__gt=self.checked_documents).prefetch_related("lines", "tax_lines")
        billed = dict(
            BilledLine.objects.filter(document_id__gt=self.checked_documents)
            .values_list("document_id")
            .annotate(total=Sum("amount_minor"))
            .order_by()
        )
        # a credit corrects the document of the period's charge, at the tax that charge carries
        for subscription_id, period_start, rate, category, corrected in BilledLine.objects.filter(
            document_id__gt=self.checked_documents, amount_minor__lt=0
        ).values_list("subscription_id", "period_start", "tax_rate", "tax_category", "document__corrects_id"):
            assert BilledLine.objects.filter(
                subscription_id=subscription_id,
                period_start=period_start,
                document_id=corrected,
                amount_minor__gt=0,
                tax_rate=rate,
                tax_category=category,
            ).exists(), (subscription_id, period_start, rate, category, corrected)
        for document in new:
            sign = -1 if document.document_type == "credit_memo" else 1
            lines = list(document.lines.all())
            taxes = list(document.tax_lines.all())
            assert document.net_minor == sign * sum(line.net_minor for line in lines)
            assert document.tax_minor == sign * sum(tax.tax_minor for tax in taxes)
            assert document.total_minor == document.net_minor + document.tax_minor
            # tax once per rate, half up, on the sum of the rate's lines
            bases: dict[tuple[Decimal, str], int] = defaultdict(int)
            for line in lines:
                bases[(line.tax_rate, line.tax_category)] += line.net_minor
            assert {(t.rate, t.category): t.base_minor for t in taxes} == dict(bases)
            for tax in taxes:
                exact = Decimal(tax.base_minor) * tax.rate / HUNDRED
                assert tax.tax_minor == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            # what billing remembers it billed is what the document says
            assert billed.get(document.pk, 0) == document.net_minor
            self.checked_documents = max(self.checked_documents, document.pk)

    @invariant()
    def each_subscription_bills_each_period_at_most_once_per_run(self) -> None:
        # (a credit larger than the period's latest charge also corrects the documents before it)
        repeated = (
            BilledLine.objects.values(
                "run_id", "subscription_id", "period_start", "service_start", "document_id"
            )
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .order_by()
        )
        assert list(repeated) == []


BillingMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=14,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.django_db
def test_random_billing_events_keep_every_invariant() -> None:
    BillingMachine.TestCase().runTest()


# --- regressions found by the machine ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_amendment_keeps_the_minimum_commitment_of_a_metered_period() -> None:
    entity = LegalEntity.objects.get(is_default=True)
    now = datetime(2026, 6, 1, 6, tzinfo=UTC)
    services.products_import(
        entity=entity,
        products=[CATALOGUE["API"].product_in("API")],
        actor=None,
        now=now,
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=now)
    services.subscriptions_import(
        entity=entity,
        subscriptions=[SubscriptionIn("S-1", "C-DE", "", "API", Decimal(1), date(2026, 5, 1))],
        actor=None,
        now=now,
    )
    subscription = Subscription.objects.get(number="S-1")
    services.subscription_amend(
        subscription_id=subscription.pk,
        effective_from=date(2026, 5, 11),
        quantity=Decimal(2),  # or a discount change: anything that starts a new term in May
        actor=None,
        now=now,
    )
    runs.billing_run(entity=entity, as_of=date(2026, 6, 1), issue=True, actor=None, now=now)
    # no usage in May: the 5.00 minimum commitment for the whole month, as without the amendment;
    # the run billed 1.64 instead: 10 of 31 days (4 × 0.17 + 6 × 0.16), the first term's days only
    assert BilledLine.objects.get(subscription=subscription).amount_minor == 500


@pytest.mark.django_db
def test_renewing_a_cancelled_subscription_bills_the_credited_periods_again() -> None:
    entity = LegalEntity.objects.get(is_default=True)
    now = datetime(2026, 3, 1, 6, tzinfo=UTC)
    services.products_import(
        entity=entity,
        products=[CATALOGUE["BASE"].product_in("BASE")],
        actor=None,
        now=now,
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=now)
    services.subscriptions_import(
        entity=entity,
        subscriptions=[SubscriptionIn("S-1", "C-DE", "", "BASE", Decimal(1), date(2026, 1, 1))],
        actor=None,
        now=now,
    )
    subscription = Subscription.objects.get(number="S-1")
    runs.billing_run(entity=entity, as_of=date(2026, 3, 1), issue=True, actor=None, now=now)  # Jan-Mar
    services.subscription_end_set(
        subscription_id=subscription.pk, end_date=date(2026, 1, 31), actor=None, now=now
    )
    runs.billing_run(entity=entity, as_of=date(2026, 3, 2), issue=True, actor=None, now=now)  # credits
    services.subscription_end_set(subscription_id=subscription.pk, end_date=None, actor=None, now=now)
    result = runs.billing_run(entity=entity, as_of=date(2026, 3, 3), issue=True, actor=None, now=now)
    # February and March are in service again: 99.99 each; the run billed nothing
    assert [d.net_minor for d in result.documents] == [19998]
    billed = BilledLine.objects.filter(subscription=subscription).values_list("period_start", "amount_minor")
    totals: dict[date, int] = defaultdict(int)
    for period_start, amount in billed:
        totals[period_start] += amount
    assert dict(totals) == {date(2026, 1, 1): 9999, date(2026, 2, 1): 9999, date(2026, 3, 1): 9999}


@pytest.mark.django_db
def test_a_renewal_bills_the_rest_of_a_period_in_advance_at_the_next_run() -> None:
    entity = LegalEntity.objects.get(is_default=True)
    now = datetime(2026, 1, 5, 6, tzinfo=UTC)
    services.products_import(
        entity=entity, products=[CATALOGUE["BASE"].product_in("BASE")], actor=None, now=now
    )
    customer_services.customer_create(entity=entity, data=customer_in("C-DE"), actor=None, now=now)
    services.subscriptions_import(
        entity=entity,
        subscriptions=[
            SubscriptionIn("S-1", "C-DE", "", "BASE", Decimal(1), date(2026, 1, 1), date(2026, 1, 10))
        ],
        actor=None,
        now=now,
    )
    subscription = Subscription.objects.get(number="S-1")
    # 99.99 over 31 days: 3.22 a day, the first 17 days a cent more; 1-10 January: 32.30
    [invoice] = runs.billing_run(
        entity=entity, as_of=date(2026, 1, 5), issue=True, actor=None, now=now
    ).documents
    assert invoice.net_minor == 3230
    services.subscription_end_set(subscription_id=subscription.pk, end_date=None, actor=None, now=now)
    result = runs.billing_run(entity=entity, as_of=date(2026, 1, 6), issue=True, actor=None, now=now)
    # January is billed in advance: its other 21 days (67.69) are due now, as for a new subscription;
    # the run billed nothing, and only a run as of 11 January or later billed them
    assert [d.net_minor for d in result.documents] == [6769]
