"""The credit scorecard as pure calculations on values (docs/credit-scoring.md).

A scorecard is data (`Scorecard`, read from its JSON definition by `scorecard_from_definition`): factors,
each with a weight and bands that give points (0 to 100); thresholds that turn the total into a risk
class A to E; per class the share of sales and of equity a limit may reach, its cap and the review interval.

`score(card, values)` gives each factor's value, band, points and weight; a factor whose value is
missing (no financial statements, no bureau report, no payment history) is shown as missing and left
out, and the weights of the present factors are renormalised to their sum:

    total = Σ(points × weight) / Σ(weight) over the present factors, rounded half up to 0.01.

Ratios are rounded half up to 0.01 before they meet the bands, so the value shown is the value banded.
No queries, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from o2c.core.exceptions import InputError
from o2c.core.money import Money

HUNDREDTH = Decimal("0.01")
RISK_CLASSES = ("A", "B", "C", "D", "E")

# The factors a scorecard may weigh, in the order they are shown.
Z_SCORE = "z_score"
CURRENT_RATIO = "current_ratio"
LEVERAGE = "leverage"
DAYS_BEYOND_TERMS = "days_beyond_terms"
DBT_TREND = "dbt_trend"
BROKEN_PROMISES = "broken_promises"
DISPUTES = "disputes"
RETURNED_PAYMENTS = "returned_payments"
BUREAU_SCORE = "bureau_score"
BUREAU_PAYMENT_INDEX = "bureau_payment_index"
BUREAU_FAILURE_CLASS = "bureau_failure_class"
"""1 (lowest risk) to 5, as D&B's failure class; not in the standard card, a credit manager may add it"""
FACTORS = (
    Z_SCORE,
    CURRENT_RATIO,
    LEVERAGE,
    DAYS_BEYOND_TERMS,
    DBT_TREND,
    BROKEN_PROMISES,
    DISPUTES,
    RETURNED_PAYMENTS,
    BUREAU_SCORE,
    BUREAU_PAYMENT_INDEX,
    BUREAU_FAILURE_CLASS,
)

# Altman's Z''-score for private and non-manufacturing firms (Altman 2000, see the docs).
Z_COEFFICIENTS = (Decimal("6.56"), Decimal("3.26"), Decimal("6.72"), Decimal("1.05"))
Z_SAFE_ABOVE = Decimal("2.60")
Z_DISTRESS_BELOW = Decimal("1.10")


def round2(value: Decimal) -> Decimal:
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


# --- financial ratios --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Financials:
    """Key figures of one set of financial statements, in one currency (amounts as Decimal)."""

    currency: str
    current_assets: Decimal
    current_liabilities: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    retained_earnings: Decimal
    ebit: Decimal
    sales: Decimal
    equity: Decimal


@dataclass(frozen=True)
class ZScore:
    x1: Decimal
    x2: Decimal
    x3: Decimal
    x4: Decimal
    value: Decimal  # rounded half up to 0.01
    zone: str  # safe | grey | distress


def z_zone(value: Decimal) -> str:
    """Safe above 2.60, distress below 1.10, grey from 1.10 to 2.60 inclusive."""
    if value > Z_SAFE_ABOVE:
        return "safe"
    if value < Z_DISTRESS_BELOW:
        return "distress"
    return "grey"


def altman_z2(figures: Financials) -> ZScore | None:
    """Z'' = 6.56·X1 + 3.26·X2 + 6.72·X3 + 1.05·X4 with X1 = (current assets − current liabilities) /
    total assets, X2 = retained earnings / total assets, X3 = EBIT / total assets, X4 = book equity /
    total liabilities. None when total assets or total liabilities are not positive (no ratio)."""
    if figures.total_assets <= 0 or figures.total_liabilities <= 0:
        return None
    x1 = (figures.current_assets - figures.current_liabilities) / figures.total_assets
    x2 = figures.retained_earnings / figures.total_assets
    x3 = figures.ebit / figures.total_assets
    x4 = figures.equity / figures.total_liabilities
    c1, c2, c3, c4 = Z_COEFFICIENTS
    value = round2(c1 * x1 + c2 * x2 + c3 * x3 + c4 * x4)
    return ZScore(x1=x1, x2=x2, x3=x3, x4=x4, value=value, zone=z_zone(value))


def current_ratio(figures: Financials) -> Decimal | None:
    """Current assets / current liabilities, 0.01; None without current liabilities."""
    if figures.current_liabilities <= 0:
        return None
    return round2(figures.current_assets / figures.current_liabilities)


def leverage(figures: Financials) -> Decimal | None:
    """Total liabilities / total assets (the debt ratio, 0 to 1 for a solvent firm), 0.01; None without
    total assets. Chosen over debt/equity because it stays defined when equity is zero or negative."""
    if figures.total_assets <= 0:
        return None
    return round2(figures.total_liabilities / figures.total_assets)


# --- internal payment behaviour ----------------------------------------------------------------------


def weighted_days_late(payments: list[tuple[int, int]]) -> Decimal | None:
    """Average days beyond terms weighted by amount: Σ(amount × days late) / Σ amount, days late being
    max(0, paid − due); `payments` are (amount in minor units, days paid after the due date). None when
    nothing was paid."""
    total = sum(amount for amount, _days in payments)
    if total <= 0:
        return None
    weighted = sum(Decimal(amount) * max(days, 0) for amount, days in payments)
    return round2(weighted / Decimal(total))


def dbt_trend(recent: Decimal | None, year: Decimal | None) -> Decimal | None:
    """Days beyond terms of the last 3 months minus those of the last 12 (positive: paying later)."""
    if recent is None or year is None:
        return None
    return round2(recent - year)


# --- the scorecard -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """Values from `lower` up (inclusive unless `lower_inclusive` is false); the first band has no lower
    bound. The band a value falls in is the last one whose lower bound it meets."""

    lower: Decimal | None
    points: int
    label: str
    lower_inclusive: bool = True

    def admits(self, value: Decimal) -> bool:
        if self.lower is None:
            return True
        return value >= self.lower if self.lower_inclusive else value > self.lower


@dataclass(frozen=True)
class FactorRule:
    code: str
    weight: Decimal
    bands: tuple[Band, ...]

    def band_of(self, value: Decimal) -> Band:
        found = self.bands[0]
        for band in self.bands:
            if band.admits(value):
                found = band
        return found


@dataclass(frozen=True)
class ClassRule:
    """A risk class: reached from `min_score` up; its limit is the smaller of `sales_share` × sales and
    `equity_share` × equity, capped at `max_limit` (in the scorecard's currency), rounded down to
    `limit_step`; reviewed every `review_months`."""

    risk_class: str
    min_score: Decimal
    sales_share: Decimal
    equity_share: Decimal
    max_limit: Decimal
    review_months: int


@dataclass(frozen=True)
class Scorecard:
    factors: tuple[FactorRule, ...]
    classes: tuple[ClassRule, ...]  # A first, highest minimum first
    currency: str
    limit_step: Decimal

    def factor(self, code: str) -> FactorRule | None:
        return next((rule for rule in self.factors if rule.code == code), None)

    def class_rule(self, risk_class: str) -> ClassRule:
        return next(rule for rule in self.classes if rule.risk_class == risk_class)


@dataclass(frozen=True)
class FactorResult:
    code: str
    value: Decimal | None
    band: str | None
    points: int | None
    weight: Decimal
    effective_weight: Decimal | None  # the weight renormalised over the present factors, in %
    contribution: Decimal | None  # points × effective weight / 100, 0.01

    @property
    def is_missing(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class ScoreResult:
    total: Decimal | None
    risk_class: str | None
    factors: tuple[FactorResult, ...]
    recommended_limit: Money | None = None
    limit_basis: str = ""


def risk_class_of(card: Scorecard, total: Decimal) -> str:
    for rule in card.classes:
        if total >= rule.min_score:
            return rule.risk_class
    return card.classes[-1].risk_class


def score(card: Scorecard, values: Mapping[str, Decimal | None]) -> ScoreResult:
    """The total and risk class from the factors' values (a missing factor: None or absent)."""
    present = [rule for rule in card.factors if values.get(rule.code) is not None]
    weight_sum = sum((rule.weight for rule in present), Decimal(0))
    results: list[FactorResult] = []
    weighted = Decimal(0)
    for rule in card.factors:
        value = values.get(rule.code)
        if value is None or weight_sum == 0:
            results.append(FactorResult(rule.code, value, None, None, rule.weight, None, None))
            continue
        band = rule.band_of(value)
        weighted += band.points * rule.weight
        share = rule.weight * 100 / weight_sum
        results.append(
            FactorResult(
                code=rule.code,
                value=value,
                band=band.label,
                points=band.points,
                weight=rule.weight,
                effective_weight=round2(share),
                contribution=round2(band.points * share / 100),
            )
        )
    if weight_sum == 0:
        return ScoreResult(total=None, risk_class=None, factors=tuple(results))
    total = round2(weighted / weight_sum)
    return ScoreResult(total=total, risk_class=risk_class_of(card, total), factors=tuple(results))


def recommended_limit(
    card: Scorecard, risk_class: str, figures: Financials | None
) -> tuple[Money | None, str]:
    """The limit the class allows on these figures, and how it was found (`basis`):
    min(sales × sales share, equity × equity share), negative equity counting as zero, capped at the
    class's maximum when the figures are in the scorecard's currency, rounded down to the step.
    None without financial statements."""
    if figures is None:
        return None, "no_financials"
    rule = card.class_rule(risk_class)
    by_sales = figures.sales * rule.sales_share
    by_equity = max(figures.equity, Decimal(0)) * rule.equity_share
    amount = min(by_sales, by_equity)
    basis = "sales" if by_sales <= by_equity else "equity"
    if figures.currency == card.currency and amount > rule.max_limit:
        amount, basis = rule.max_limit, "class_maximum"
    step = card.limit_step if card.limit_step > 0 else Decimal(1)
    amount = (amount / step).to_integral_value(rounding=ROUND_DOWN) * step
    return Money(amount, figures.currency).round_half_up(), basis


def evaluate(
    card: Scorecard, values: Mapping[str, Decimal | None], figures: Financials | None
) -> ScoreResult:
    """The score with its recommended limit (none while no factor is present)."""
    result = score(card, values)
    if result.risk_class is None:
        return result
    limit, basis = recommended_limit(card, result.risk_class, figures)
    return ScoreResult(
        total=result.total,
        risk_class=result.risk_class,
        factors=result.factors,
        recommended_limit=limit,
        limit_basis=basis,
    )


def financial_values(figures: Financials | None) -> dict[str, Decimal | None]:
    """The financial factors' values of a set of statements (all missing without statements)."""
    if figures is None:
        return {Z_SCORE: None, CURRENT_RATIO: None, LEVERAGE: None}
    z = altman_z2(figures)
    return {
        Z_SCORE: None if z is None else z.value,
        CURRENT_RATIO: current_ratio(figures),
        LEVERAGE: leverage(figures),
    }


# --- the definition as data ------------------------------------------------------------------------


def _decimal(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise InputError(_("give a number as a string or an integer"), column=where, code="bad_scorecard")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InputError(
            _("'%(value)s' is not a number") % {"value": raw}, column=where, code="bad_scorecard"
        ) from None
    if not value.is_finite():
        raise InputError(
            _("'%(value)s' is not a number") % {"value": raw}, column=where, code="bad_scorecard"
        )
    return value


def scorecard_from_definition(definition: Mapping[str, Any]) -> Scorecard:
    """Read and check a scorecard's JSON definition (see DEFAULT_DEFINITION); an error names the path."""
    if not isinstance(definition, Mapping):
        raise InputError(_("the scorecard must be an object"), code="bad_scorecard")
    raw_factors = definition.get("factors")
    if not isinstance(raw_factors, list) or not raw_factors:
        raise InputError(_("give at least one factor"), column="factors", code="bad_scorecard")
    factors: list[FactorRule] = []
    for i, raw in enumerate(raw_factors):
        where = f"factors[{i}]"
        if not isinstance(raw, Mapping):
            raise InputError(_("must be an object"), column=where, code="bad_scorecard")
        code = raw.get("code")
        if code not in FACTORS:
            raise InputError(
                _("'%(code)s' is not one of %(codes)s") % {"code": code, "codes": ", ".join(FACTORS)},
                column=f"{where}.code",
                code="bad_scorecard",
            )
        if any(rule.code == code for rule in factors):
            raise InputError(
                _("'%(code)s' is given twice") % {"code": code}, column=f"{where}.code", code="bad_scorecard"
            )
        weight = _decimal(raw.get("weight"), f"{where}.weight")
        if weight < 0:
            raise InputError(_("must not be negative"), column=f"{where}.weight", code="bad_scorecard")
        raw_bands = raw.get("bands")
        if not isinstance(raw_bands, list) or not raw_bands:
            raise InputError(_("give at least one band"), column=f"{where}.bands", code="bad_scorecard")
        bands: list[Band] = []
        for j, raw_band in enumerate(raw_bands):
            at = f"{where}.bands[{j}]"
            if not isinstance(raw_band, Mapping):
                raise InputError(_("must be an object"), column=at, code="bad_scorecard")
            lower_raw = raw_band.get("from", raw_band.get("above"))
            if j == 0 and lower_raw is not None:
                raise InputError(_("the first band has no lower bound"), column=at, code="bad_scorecard")
            if j > 0 and lower_raw is None:
                raise InputError(
                    _("give 'from' (inclusive) or 'above' (exclusive)"), column=at, code="bad_scorecard"
                )
            lower = None if lower_raw is None else _decimal(lower_raw, at)
            if lower is not None and bands[-1].lower is not None and lower < bands[-1].lower:
                raise InputError(_("bands must go upwards"), column=at, code="bad_scorecard")
            points_raw = raw_band.get("points")
            if isinstance(points_raw, bool) or not isinstance(points_raw, int) or not 0 <= points_raw <= 100:
                raise InputError(
                    _("give a whole number from 0 to 100"), column=f"{at}.points", code="bad_scorecard"
                )
            label = str(raw_band.get("label") or "").strip()
            if not label:
                raise InputError(_("give the band a name"), column=f"{at}.label", code="bad_scorecard")
            bands.append(Band(lower, points_raw, label, lower_inclusive="above" not in raw_band))
        factors.append(FactorRule(code=str(code), weight=weight, bands=tuple(bands)))
    raw_classes = definition.get("classes")
    if not isinstance(raw_classes, list) or [
        c.get("class") if isinstance(c, Mapping) else None for c in raw_classes
    ] != list(RISK_CLASSES):
        raise InputError(
            _("give the classes A, B, C, D and E in that order"), column="classes", code="bad_scorecard"
        )
    classes: list[ClassRule] = []
    for raw_class in raw_classes:
        where = f"classes[{raw_class['class']}]"
        rule = ClassRule(
            risk_class=raw_class["class"],
            min_score=_decimal(raw_class.get("min_score"), f"{where}.min_score"),
            sales_share=_decimal(raw_class.get("sales_share"), f"{where}.sales_share"),
            equity_share=_decimal(raw_class.get("equity_share"), f"{where}.equity_share"),
            max_limit=_decimal(raw_class.get("max_limit"), f"{where}.max_limit"),
            review_months=int(_decimal(raw_class.get("review_months"), f"{where}.review_months")),
        )
        if classes and rule.min_score >= classes[-1].min_score:
            raise InputError(
                _("must be below the class above"), column=f"{where}.min_score", code="bad_scorecard"
            )
        if rule.review_months < 1:
            raise InputError(_("at least 1"), column=f"{where}.review_months", code="bad_scorecard")
        if min(rule.sales_share, rule.equity_share, rule.max_limit) < 0:
            raise InputError(_("shares and maximum must not be negative"), column=where, code="bad_scorecard")
        classes.append(rule)
    currency = definition.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise InputError(_("give an ISO 4217 code"), column="currency", code="bad_scorecard")
    step = _decimal(definition.get("limit_step", "1"), "limit_step")
    if step <= 0:
        raise InputError(_("must be positive"), column="limit_step", code="bad_scorecard")
    return Scorecard(factors=tuple(factors), classes=tuple(classes), currency=currency, limit_step=step)


def _bands(*bands: tuple[str | None, int, str] | tuple[str, int, str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for band in bands:
        entry: dict[str, Any] = {"points": band[1], "label": band[2]}
        if band[0] is not None:
            entry["above" if len(band) == 4 else "from"] = band[0]
        out.append(entry)
    return out


# The scorecard a fresh database starts with (migration 0002_scoring); a credit manager changes it.
DEFAULT_DEFINITION: dict[str, Any] = {
    "currency": "EUR",
    "limit_step": "1000",
    "factors": [
        {
            "code": Z_SCORE,
            "weight": "20",
            "bands": _bands((None, 0, "distress"), ("1.10", 50, "grey"), ("2.60", 100, "safe", "above")),
        },
        {
            "code": CURRENT_RATIO,
            "weight": "10",
            "bands": _bands(
                (None, 0, "below 1.00"), ("1.00", 60, "1.00 to 1.50"), ("1.50", 100, "1.50 and more")
            ),
        },
        {
            "code": LEVERAGE,
            "weight": "10",
            "bands": _bands(
                (None, 100, "up to 0.50"),
                ("0.50", 60, "above 0.50", "above"),
                ("0.70", 30, "above 0.70", "above"),
                ("0.85", 0, "above 0.85", "above"),
            ),
        },
        {
            "code": DAYS_BEYOND_TERMS,
            "weight": "15",
            "bands": _bands(
                (None, 100, "up to 5 days"),
                ("5", 70, "above 5 days", "above"),
                ("15", 40, "above 15 days", "above"),
                ("30", 10, "above 30 days", "above"),
                ("60", 0, "above 60 days", "above"),
            ),
        },
        {
            "code": DBT_TREND,
            "weight": "5",
            "bands": _bands(
                (None, 100, "stable or better"),
                ("0", 70, "up to 5 days later", "above"),
                ("5", 40, "up to 15 days later", "above"),
                ("15", 0, "more than 15 days later", "above"),
            ),
        },
        {
            "code": BROKEN_PROMISES,
            "weight": "10",
            "bands": _bands((None, 100, "none"), ("1", 50, "1 or 2"), ("3", 0, "3 or more")),
        },
        {
            "code": DISPUTES,
            "weight": "5",
            "bands": _bands(
                (None, 100, "none"), ("1", 70, "1 or 2"), ("3", 40, "3 to 5"), ("6", 0, "6 or more")
            ),
        },
        {
            "code": RETURNED_PAYMENTS,
            "weight": "5",
            "bands": _bands((None, 100, "none"), ("1", 40, "1"), ("2", 0, "2 or more")),
        },
        {
            "code": BUREAU_SCORE,
            "weight": "15",
            "bands": _bands(
                (None, 0, "below 20"),
                ("20", 30, "20 to 39"),
                ("40", 60, "40 to 59"),
                ("60", 80, "60 to 79"),
                ("80", 100, "80 and more"),
            ),
        },
        {
            "code": BUREAU_PAYMENT_INDEX,
            "weight": "5",
            "bands": _bands(
                (None, 0, "below 50"),
                ("50", 40, "50 to 69"),
                ("70", 70, "70 to 79"),
                ("80", 100, "80 and more"),
            ),
        },
    ],
    "classes": [
        {
            "class": "A",
            "min_score": "80",
            "sales_share": "0.10",
            "equity_share": "0.20",
            "max_limit": "1000000",
            "review_months": 12,
        },
        {
            "class": "B",
            "min_score": "65",
            "sales_share": "0.08",
            "equity_share": "0.15",
            "max_limit": "500000",
            "review_months": 9,
        },
        {
            "class": "C",
            "min_score": "50",
            "sales_share": "0.05",
            "equity_share": "0.10",
            "max_limit": "200000",
            "review_months": 6,
        },
        {
            "class": "D",
            "min_score": "35",
            "sales_share": "0.02",
            "equity_share": "0.05",
            "max_limit": "50000",
            "review_months": 3,
        },
        {
            "class": "E",
            "min_score": "0",
            "sales_share": "0",
            "equity_share": "0",
            "max_limit": "0",
            "review_months": 1,
        },
    ],
}


def result_record(result: ScoreResult) -> dict[str, Any]:
    """The result as plain JSON (what a stored score keeps and the API and command show)."""
    return {
        "total": None if result.total is None else str(result.total),
        "risk_class": result.risk_class,
        "recommended_limit": None if result.recommended_limit is None else result.recommended_limit.plain(),
        "currency": None if result.recommended_limit is None else result.recommended_limit.currency,
        "limit_basis": result.limit_basis,
        "factors": [
            {
                "code": factor.code,
                "value": None if factor.value is None else str(factor.value),
                "missing": factor.is_missing,
                "band": factor.band,
                "points": factor.points,
                "weight": str(factor.weight),
                "effective_weight": None if factor.effective_weight is None else str(factor.effective_weight),
                "contribution": None if factor.contribution is None else str(factor.contribution),
            }
            for factor in result.factors
        ],
    }
