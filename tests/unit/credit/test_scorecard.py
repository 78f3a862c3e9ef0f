"""The credit scorecard on plain values: Altman's Z''-score, the ratios, days beyond terms, bands and their
edges, the renormalised weights of missing factors, the risk class and the recommended limit
(docs/credit-scoring.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from o2c.core.exceptions import InputError
from o2c.core.money import Money
from o2c.credit import scorecard as sc

D = Decimal
CARD = sc.scorecard_from_definition(sc.DEFAULT_DEFINITION)


def _figures(**changes: str) -> sc.Financials:
    base = {
        "currency": "EUR",
        "current_assets": "400000",
        "current_liabilities": "250000",
        "total_assets": "1000000",
        "total_liabilities": "600000",
        "retained_earnings": "200000",
        "ebit": "100000",
        "sales": "2000000",
        "equity": "400000",
    }
    base.update(changes)
    return sc.Financials(**{k: v if k == "currency" else D(v) for k, v in base.items()})  # type: ignore[arg-type]


class TestAltmanZ2:
    def test_a_sound_firm_worked_out(self) -> None:
        # X1 = (400,000 − 250,000) / 1,000,000 = 0.15      6.56 × 0.15 = 0.984
        # X2 = 200,000 / 1,000,000 = 0.20                   3.26 × 0.20 = 0.652
        # X3 = 100,000 / 1,000,000 = 0.10                   6.72 × 0.10 = 0.672
        # X4 = 400,000 / 600,000 = 2/3                      1.05 × 2/3  = 0.700
        # Z'' = 0.984 + 0.652 + 0.672 + 0.700 = 3.008 → 3.01, above 2.60: safe
        z = sc.altman_z2(_figures())
        assert z is not None
        assert (z.x1, z.x2, z.x3) == (D("0.15"), D("0.2"), D("0.1"))
        assert z.value == D("3.01")
        assert z.zone == "safe"

    def test_a_firm_in_distress_worked_out(self) -> None:
        # X1 = (100,000 − 300,000) / 500,000 = −0.40       6.56 × −0.40 = −2.624
        # X2 = −50,000 / 500,000 = −0.10                    3.26 × −0.10 = −0.326
        # X3 = 10,000 / 500,000 = 0.02                      6.72 × 0.02  =  0.1344
        # X4 = 50,000 / 450,000 = 1/9                       1.05 × 1/9   =  0.11666…
        # Z'' = −2.69893… → −2.70, below 1.10: distress
        z = sc.altman_z2(
            _figures(
                current_assets="100000",
                current_liabilities="300000",
                total_assets="500000",
                total_liabilities="450000",
                retained_earnings="-50000",
                ebit="10000",
                equity="50000",
            )
        )
        assert z is not None
        assert z.value == D("-2.70")
        assert z.zone == "distress"

    def test_zone_edges_follow_altman_safe_above_2_60_distress_below_1_10(self) -> None:
        assert sc.z_zone(D("2.61")) == "safe"
        assert sc.z_zone(D("2.60")) == "grey"
        assert sc.z_zone(D("1.10")) == "grey"
        assert sc.z_zone(D("1.09")) == "distress"

    def test_no_z_score_without_total_assets_or_total_liabilities(self) -> None:
        assert sc.altman_z2(_figures(total_assets="0")) is None
        assert sc.altman_z2(_figures(total_liabilities="0")) is None


class TestRatios:
    def test_current_ratio_and_leverage_are_rounded_to_the_hundredth(self) -> None:
        # 400,000 / 250,000 = 1.60; 600,000 / 1,000,000 = 0.60; 2 / 3 = 0.666… → 0.67
        assert sc.current_ratio(_figures()) == D("1.60")
        assert sc.leverage(_figures()) == D("0.60")
        assert sc.current_ratio(_figures(current_assets="200000", current_liabilities="300000")) == D("0.67")

    def test_ratios_without_a_denominator_are_missing(self) -> None:
        assert sc.current_ratio(_figures(current_liabilities="0")) is None
        assert sc.leverage(_figures(total_assets="0")) is None

    def test_days_beyond_terms_are_weighted_by_amount_and_early_payment_counts_as_zero(self) -> None:
        # (100,000 × 10 + 300,000 × 2 + 100,000 × 0) / 500,000 = 1,600,000 / 500,000 = 3.20
        assert sc.weighted_days_late([(100000, 10), (300000, 2), (100000, -3)]) == D("3.20")
        assert sc.weighted_days_late([]) is None

    def test_the_trend_is_the_last_three_months_minus_the_twelve(self) -> None:
        assert sc.dbt_trend(D("8.00"), D("3.20")) == D("4.80")
        assert sc.dbt_trend(None, D("3.20")) is None


def _values(**changes: Decimal | None) -> dict[str, Decimal | None]:
    values: dict[str, Decimal | None] = {
        sc.Z_SCORE: D("3.01"),
        sc.CURRENT_RATIO: D("1.60"),
        sc.LEVERAGE: D("0.60"),
        sc.DAYS_BEYOND_TERMS: D("3.20"),
        sc.DBT_TREND: D("4.80"),
        sc.BROKEN_PROMISES: D(1),
        sc.DISPUTES: D(0),
        sc.RETURNED_PAYMENTS: D(0),
        sc.BUREAU_SCORE: D(72),
        sc.BUREAU_PAYMENT_INDEX: D(80),
    }
    values.update(changes)
    return values


class TestScore:
    def test_every_factor_present_worked_out(self) -> None:
        # points × weight: Z'' 100×20 + current 100×10 + leverage 60×10 + days 100×15 + trend 70×5
        # + promises 50×10 + disputes 100×5 + returns 100×5 + bureau 80×15 + payment index 100×5
        # = 2000 + 1000 + 600 + 1500 + 350 + 500 + 500 + 500 + 1200 + 500 = 8650; / 100 = 86.50: class A
        result = sc.evaluate(CARD, _values(), _figures())
        assert result.total == D("86.50")
        assert result.risk_class == "A"
        shown = {f.code: (f.value, f.band, f.points, f.weight, f.effective_weight) for f in result.factors}
        assert shown[sc.LEVERAGE] == (D("0.60"), "above 0.50", 60, D(10), D("10.00"))
        assert shown[sc.DBT_TREND] == (D("4.80"), "up to 5 days later", 70, D(5), D("5.00"))
        assert shown[sc.BROKEN_PROMISES] == (D(1), "1 or 2", 50, D(10), D("10.00"))
        # A: min(sales 2,000,000 × 0.10 = 200,000, equity 400,000 × 0.20 = 80,000) = 80,000, under the cap
        assert result.recommended_limit == Money(D("80000.00"), "EUR")
        assert result.limit_basis == "equity"

    def test_missing_factors_are_shown_as_missing_and_the_weights_renormalised(self) -> None:
        # A new account: no payment history. Present weights 20 + 10 + 10 + 15 + 5 = 60;
        # 2000 + 1000 + 600 + 1200 + 500 = 5300; 5300 / 60 = 88.333… → 88.33
        none = dict.fromkeys(
            (sc.DAYS_BEYOND_TERMS, sc.DBT_TREND, sc.BROKEN_PROMISES, sc.DISPUTES, sc.RETURNED_PAYMENTS)
        )
        result = sc.evaluate(CARD, _values(**none), _figures())
        assert result.total == D("88.33")
        assert result.risk_class == "A"
        by_code = {f.code: f for f in result.factors}
        assert by_code[sc.DISPUTES].is_missing
        assert (by_code[sc.DISPUTES].points, by_code[sc.DISPUTES].effective_weight) == (None, None)
        # Z'' weighs 20 of 60 = 33.33 %, its 100 points give 33.33 of the total
        assert by_code[sc.Z_SCORE].effective_weight == D("33.33")
        assert by_code[sc.Z_SCORE].contribution == D("33.33")
        assert by_code[sc.BUREAU_SCORE].effective_weight == D("25.00")
        assert by_code[sc.BUREAU_SCORE].contribution == D("20.00")

    def test_nothing_known_gives_no_score_and_no_class(self) -> None:
        result = sc.evaluate(CARD, {}, None)
        assert (result.total, result.risk_class, result.recommended_limit) == (None, None, None)
        assert all(f.is_missing for f in result.factors)

    @pytest.mark.parametrize(
        ("code", "value", "points"),
        [
            (sc.Z_SCORE, "2.61", 100),
            (sc.Z_SCORE, "2.60", 50),
            (sc.Z_SCORE, "1.10", 50),
            (sc.Z_SCORE, "1.09", 0),
            (sc.LEVERAGE, "0.50", 100),
            (sc.LEVERAGE, "0.51", 60),
            (sc.DAYS_BEYOND_TERMS, "5.00", 100),
            (sc.DAYS_BEYOND_TERMS, "5.01", 70),
            (sc.DAYS_BEYOND_TERMS, "60.01", 0),
            (sc.CURRENT_RATIO, "0.99", 0),
            (sc.CURRENT_RATIO, "1.00", 60),
            (sc.BROKEN_PROMISES, "3", 0),
            (sc.BUREAU_SCORE, "79", 80),
            (sc.BUREAU_SCORE, "80", 100),
        ],
    )
    def test_band_edges(self, code: str, value: str, points: int) -> None:
        rule = CARD.factor(code)
        assert rule is not None
        assert rule.band_of(D(value)).points == points

    @pytest.mark.parametrize(
        ("total", "risk_class"),
        [
            ("80.00", "A"),
            ("79.99", "B"),
            ("65.00", "B"),
            ("64.99", "C"),
            ("50", "C"),
            ("35", "D"),
            ("34.99", "E"),
        ],
    )
    def test_class_thresholds(self, total: str, risk_class: str) -> None:
        assert sc.risk_class_of(CARD, D(total)) == risk_class


class TestRecommendedLimit:
    def test_the_class_maximum_caps_the_limit(self) -> None:
        # D: min(sales 20,000,000 × 0.02 = 400,000, equity 5,000,000 × 0.05 = 250,000) capped at 50,000
        figures = _figures(sales="20000000", equity="5000000")
        assert sc.recommended_limit(CARD, "D", figures) == (Money(D("50000"), "EUR"), "class_maximum")

    def test_the_limit_is_rounded_down_to_the_step(self) -> None:
        # C: min(sales 1,234,567 × 0.05 = 61,728.35, equity 900,000 × 0.10 = 90,000) → 61,000
        figures = _figures(sales="1234567", equity="900000")
        assert sc.recommended_limit(CARD, "C", figures) == (Money(D("61000"), "EUR"), "sales")

    def test_negative_equity_allows_no_limit(self) -> None:
        assert sc.recommended_limit(CARD, "B", _figures(equity="-10000")) == (Money(D(0), "EUR"), "equity")

    def test_the_cap_applies_only_in_the_scorecards_currency(self) -> None:
        figures = _figures(currency="USD", sales="20000000", equity="5000000")
        assert sc.recommended_limit(CARD, "D", figures) == (Money(D("250000"), "USD"), "equity")

    def test_no_limit_without_financial_statements(self) -> None:
        assert sc.recommended_limit(CARD, "A", None) == (None, "no_financials")


class TestDefinition:
    def test_the_default_reads_back(self) -> None:
        # every factor but the bureau's failure class, which a credit manager may add
        assert [rule.code for rule in CARD.factors] == [c for c in sc.FACTORS if c != sc.BUREAU_FAILURE_CLASS]
        assert sum((rule.weight for rule in CARD.factors), D(0)) == D(100)
        assert [(c.risk_class, c.review_months) for c in CARD.classes] == [
            ("A", 12),
            ("B", 9),
            ("C", 6),
            ("D", 3),
            ("E", 1),
        ]

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (
                {"factors": [{"code": "luck", "weight": "1", "bands": []}]},
                "factors[0].code: 'luck' is not one of",
            ),
            (
                {"factors": [{"code": "disputes", "weight": "-1", "bands": []}]},
                "factors[0].weight: must not be negative",
            ),
            (
                {"factors": [{"code": "disputes", "weight": "1", "bands": [{"points": 101, "label": "x"}]}]},
                "factors[0].bands[0].points: give a whole number from 0 to 100",
            ),
            ({"classes": []}, "classes: give the classes A, B, C, D and E in that order"),
            ({"limit_step": "0"}, "limit_step: must be positive"),
        ],
    )
    def test_a_bad_definition_names_where(self, change: dict[str, Any], message: str) -> None:
        with pytest.raises(InputError) as refused:
            sc.scorecard_from_definition({**sc.DEFAULT_DEFINITION, **change})
        assert refused.value.message.startswith(message)


class TestBureauFailureClass:
    def test_a_card_that_weighs_the_failure_class_scores_it_with_the_others(self) -> None:
        definition = {
            **sc.DEFAULT_DEFINITION,
            "factors": [
                *sc.DEFAULT_DEFINITION["factors"],
                {
                    "code": sc.BUREAU_FAILURE_CLASS,
                    "weight": "10",
                    "bands": [
                        {"points": 100, "label": "1 or 2"},
                        {"above": "2", "points": 50, "label": "3"},
                        {"above": "3", "points": 0, "label": "4 or 5"},
                    ],
                },
            ],
        }
        card = sc.scorecard_from_definition(definition)
        # the 8650 of every factor present (above) + class 3: 50 × 10 = 500; 9150 / 110 = 83.18: still A
        result = sc.evaluate(card, _values(**{sc.BUREAU_FAILURE_CLASS: D(3)}), _figures())
        assert result.total == D("83.18")
        failure = next(f for f in result.factors if f.code == sc.BUREAU_FAILURE_CLASS)
        assert (failure.value, failure.band, failure.points, failure.weight) == (D(3), "3", 50, D(10))
