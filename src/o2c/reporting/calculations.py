"""The KPI formulas (docs/kpis.md) and the aging's bucket boundaries, pure: integer minor units in,
Decimals out, no queries.

A ratio whose denominator is zero (no credit sales in the window, no receivables) is not a number: it
is `None` (JSON null), never 0, which would read as a perfect result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from o2c.core.exceptions import InputError
from o2c.core.money import known_currencies

DSO_DAYS = 90
HUNDRED = Decimal(100)
_CENTS = Decimal("0.01")


# --- aging buckets --------------------------------------------------------------------------------

DEFAULT_BOUNDS = (30, 60, 90, 120)
"""The upper day of each aging bucket but `current` and the last: the contract's columns."""
MAX_BOUNDS = 8


def bucket_names(bounds: Sequence[int] = DEFAULT_BOUNDS) -> tuple[str, ...]:
    """The aging columns of ascending day boundaries, oldest last: (30, 60, 90) gives `current`, `1_30`,
    `31_60`, `61_90`, `over_90`; the default (30, 60, 90, 120) the contract's six."""
    names, first = ["current"], 1
    for last in bounds:
        names.append(f"{first}_{last}")
        first = last + 1
    names.append(f"over_{bounds[-1]}")
    return tuple(names)


def parse_bucket_bounds(text: str, *, option: str = "--buckets") -> tuple[int, ...]:
    """`30,60,90` as day boundaries: 1 to MAX_BOUNDS whole numbers of days, positive and rising.
    Refused (InputError `bad_buckets`, its message naming `option`) otherwise."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise InputError(
            _("%(option)s: give 1 to %(most)s day boundaries separated by commas, e.g. 30,60,90")
            % {"option": option, "most": MAX_BOUNDS},
            code="bad_buckets",
        )
    if len(parts) > MAX_BOUNDS:
        raise InputError(
            _("%(option)s: at most %(most)s boundaries, not %(count)s")
            % {"option": option, "most": MAX_BOUNDS, "count": len(parts)},
            code="bad_buckets",
        )
    bounds: list[int] = []
    for part in parts:
        if not (part.isascii() and part.lstrip("+-").isdigit()):
            raise InputError(
                _("%(option)s: '%(value)s' is not a whole number of days")
                % {"option": option, "value": part},
                code="bad_buckets",
            )
        days = int(part)
        if days <= 0:
            raise InputError(
                _("%(option)s: the boundaries are days and must be positive, not %(value)s")
                % {"option": option, "value": days},
                code="bad_buckets",
            )
        if bounds and days <= bounds[-1]:
            raise InputError(
                _("%(option)s: the boundaries must rise: %(value)s follows %(previous)s")
                % {"option": option, "value": days, "previous": bounds[-1]},
                code="bad_buckets",
            )
        bounds.append(days)
    return tuple(bounds)


def parse_reporting_currency(text: str, *, option: str = "--reporting-currency") -> str:
    """An ISO 4217 code (any case) as the aging's reporting currency; refused (InputError
    `bad_currency`, naming `option`) when it is not one."""
    code = text.strip().upper()
    if code not in known_currencies():
        raise InputError(
            _("%(option)s: '%(value)s' is not an ISO 4217 currency code") % {"option": option, "value": text},
            code="bad_currency",
        )
    return code


# --- KPIs -----------------------------------------------------------------------------------------


def rounded(value: Decimal | None) -> Decimal | None:
    """Days and percentages as reported: two decimals, half up."""
    return None if value is None else value.quantize(_CENTS, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of days ending at or before the report date with the net credit sales in it."""

    days: int
    sales_minor: int


@dataclass(frozen=True, slots=True)
class KpiInputs:
    """What the formulas need, in one currency (minor units)."""

    buckets: tuple[int, ...]  # receivables open at the date per aging bucket, due basis, BUCKETS order
    beginning_receivables_minor: int  # open at the start of the CEI month (the day before it)
    sales_window_minor: int  # net credit sales of the DSO window (the last 90 days)
    months: Sequence[Period]  # net credit sales per month walking back from the date, newest first
    unapplied_minor: int
    disputed_minor: int
    broken_promises: int = 0  # promises to pay judged broken in the CEI month
    broken_promises_minor: int = 0  # their promised amounts

    @property
    def receivables_minor(self) -> int:
        return sum(self.buckets)

    @property
    def current_minor(self) -> int:
        return self.buckets[0]

    @property
    def over_90_minor(self) -> int:
        return sum(self.buckets[4:])


@dataclass(frozen=True, slots=True)
class Kpis:
    dso: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    percent_current: Decimal | None
    percent_over_90: Decimal | None
    unapplied_minor: int
    disputed_minor: int
    broken_promises: int = 0
    broken_promises_minor: int = 0


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return None if denominator == 0 else Decimal(numerator) / Decimal(denominator)


def dso(receivables_minor: int, sales_minor: int, days: int = DSO_DAYS) -> Decimal | None:
    """Standard DSO: receivables / credit sales of the last `days` days × `days`. None without sales
    (zero or, after credit memos, negative net sales)."""
    if sales_minor <= 0:
        return None
    return Decimal(receivables_minor) / Decimal(sales_minor) * days


def dso_countback(receivables_minor: int, months: Sequence[Period]) -> Decimal | None:
    """Countback DSO: walk back month by month from the report date, taking each month's sales off the
    receivables and counting its days, until the receivables are used up; the last month counts the
    share of its days that its sales cover. Zero when nothing is receivable; None when no month has
    sales; when the months given do not use the receivables up, the days of all of them."""
    if not any(period.sales_minor > 0 for period in months):
        return None
    left = Decimal(receivables_minor)
    if left <= 0:
        return Decimal(0)
    days = Decimal(0)
    for period in months:
        if period.sales_minor > 0 and left <= period.sales_minor:
            return days + left / Decimal(period.sales_minor) * period.days
        left -= max(period.sales_minor, 0)
        days += period.days
    return days


def cei(
    *, beginning_minor: int, sales_minor: int, ending_total_minor: int, ending_current_minor: int
) -> Decimal | None:
    """Collection effectiveness index over a period, in percent: what was collected of what could be
    collected, (beginning + sales − ending total) / (beginning + sales − ending current) × 100."""
    collectible = beginning_minor + sales_minor - ending_current_minor
    if collectible == 0:
        return None
    return Decimal(beginning_minor + sales_minor - ending_total_minor) / Decimal(collectible) * HUNDRED


def kpis(inputs: KpiInputs) -> Kpis:
    """Every KPI of `o2c report kpis`, unrounded."""
    receivables = inputs.receivables_minor
    standard = dso(receivables, inputs.sales_window_minor)
    best = dso(inputs.current_minor, inputs.sales_window_minor)
    current_share = _ratio(inputs.current_minor, receivables)
    over_90_share = _ratio(inputs.over_90_minor, receivables)
    return Kpis(
        dso=standard,
        dso_countback=dso_countback(receivables, inputs.months),
        best_possible_dso=best,
        average_days_delinquent=None if standard is None or best is None else standard - best,
        cei=cei(
            beginning_minor=inputs.beginning_receivables_minor,
            sales_minor=inputs.months[0].sales_minor if inputs.months else 0,
            ending_total_minor=receivables,
            ending_current_minor=inputs.current_minor,
        ),
        percent_current=None if current_share is None else current_share * HUNDRED,
        percent_over_90=None if over_90_share is None else over_90_share * HUNDRED,
        unapplied_minor=inputs.unapplied_minor,
        disputed_minor=inputs.disputed_minor,
        broken_promises=inputs.broken_promises,
        broken_promises_minor=inputs.broken_promises_minor,
    )
