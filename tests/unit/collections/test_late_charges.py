"""Late-payment interest and fees on plain values (docs/late-charges.md): the worked examples to the cent,
and the properties of the calculation (never negative, monotone in the days, additive over split periods
within one minor unit)."""

from __future__ import annotations

import hashlib
import importlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2c.collections import defaults, late_charges
from o2c.collections.late_charges import ItemFacts, Period, Rate, Terms

# the German base rate (§247 BGB) as published for these half-years
BASE = [
    Rate(date(2016, 7, 1), Decimal("-0.88")),
    Rate(date(2023, 1, 1), Decimal("1.62")),
    Rate(date(2023, 7, 1), Decimal("3.12")),
    Rate(date(2024, 1, 1), Decimal("3.62")),
    Rate(date(2024, 7, 1), Decimal("3.37")),
    Rate(date(2025, 1, 1), Decimal("2.27")),
    Rate(date(2025, 7, 1), Decimal("1.27")),
    Rate(date(2026, 1, 1), Decimal("1.27")),
]
B2B = Terms(currency="EUR", reference_rate="de_base", annual_percent=Decimal(9))
"""§288(2) BGB: the base rate plus 9 points, act/365, no grace, no fee"""


def _invoice(due: date, total: int, **kwargs: object) -> ItemFacts:
    return ItemFacts(
        document_id=1,
        number="RE-1001",
        document_type="invoice",
        currency="EUR",
        due_date=due,
        total_minor=total,
        **kwargs,  # type: ignore[arg-type]
    )


def _charges(item: ItemFacts, as_of: date, terms: Terms = B2B) -> late_charges.ItemCharges:
    return late_charges.item_charges(item, terms=terms, rates=BASE, as_of=as_of)


class TestWorkedExamples:
    def test_plain_interest_runs_from_the_day_after_the_due_date_through_the_day(self) -> None:
        # 1,190.00 due 1 February 2026, as of 20 March: 2 February to 20 March = 47 days at 1.27 + 9 =
        # 10.27 %: 1,190.00 × 10.27 % × 47 / 365 = 15.7370... -> 15.74
        charges = _charges(_invoice(date(2026, 2, 1), 119000), date(2026, 3, 20))
        assert charges.interest_minor == 1574
        assert (charges.interest_from, charges.interest_through) == (date(2026, 2, 2), date(2026, 3, 20))
        assert charges.periods == (Period(date(2026, 2, 2), date(2026, 3, 20), 119000, Decimal("10.27")),)
        assert charges.periods[0].days == 47

    def test_a_rate_change_splits_the_period_and_the_sum_is_rounded_once(self) -> None:
        # 10,000.00 due 31 May 2025, as of 31 July: 30 days of June at 2.27 + 9 = 11.27 % (92.6301...)
        # and 31 days of July at 1.27 + 9 = 10.27 % (87.2246...): 179.8547... -> 179.85
        charges = _charges(_invoice(date(2025, 5, 31), 1000000), date(2025, 7, 31))
        assert charges.periods == (
            Period(date(2025, 6, 1), date(2025, 6, 30), 1000000, Decimal("11.27")),
            Period(date(2025, 7, 1), date(2025, 7, 31), 1000000, Decimal("10.27")),
        )
        assert charges.interest_minor == 17985

    def test_a_leap_day_is_a_day_of_interest_over_365(self) -> None:
        # 5,000.00 due 15 February 2024, as of 15 March: 16 February to 15 March 2024 is 29 days with
        # 29 February, at 3.62 + 9 = 12.62 %: 5,000.00 × 12.62 % × 29 / 365 = 50.1342... -> 50.13
        charges = _charges(_invoice(date(2024, 2, 15), 500000), date(2024, 3, 15))
        assert charges.periods[0].days == 29
        assert charges.interest_minor == 5013

    def test_act_360_divides_by_360(self) -> None:
        # 1,000.00 at a fixed 8 % for 30 days: 1,000.00 × 8 % × 30 / 360 = 6.6666... -> 6.67 (6.58 on 365)
        fixed = Terms(currency="EUR", reference_rate="", annual_percent=Decimal(8), day_count="act_360")
        item = _invoice(date(2026, 3, 1), 100000)
        assert _charges(item, date(2026, 3, 31), fixed).interest_minor == 667
        assert _charges(item, date(2026, 3, 31), Terms("EUR", "", Decimal(8))).interest_minor == 658

    def test_the_recovery_fee_is_owed_once_per_invoice_and_not_on_a_debit_memo(self) -> None:
        terms = Terms("EUR", "de_base", Decimal(9), fee_minor=4000)
        due = date(2026, 2, 1)
        assert _charges(_invoice(due, 119000), date(2026, 2, 2), terms).fee_minor == 4000
        assert _charges(_invoice(due, 119000, fee_charged=True), date(2026, 3, 20), terms).fee_minor == 0
        memo = ItemFacts(2, "DM-1", "debit_memo", "EUR", due, 5000)
        assert _charges(memo, date(2026, 3, 20), terms).fee_minor == 0
        # not before interest starts (the due date itself, or within the grace days)
        assert _charges(_invoice(due, 119000), date(2026, 2, 1), terms).fee_minor == 0
        graced = Terms("EUR", "de_base", Decimal(9), fee_minor=4000, grace_days=5)
        assert _charges(_invoice(due, 119000), date(2026, 2, 6), graced).total_minor == 0
        on_day_six = _charges(_invoice(due, 119000), date(2026, 2, 7), graced)
        assert (on_day_six.fee_minor, on_day_six.interest_minor, on_day_six.interest_from) == (
            4000,
            33,  # 1,190.00 × 10.27 % × 1 / 365 = 0.3348... -> 0.33
            date(2026, 2, 7),
        )

    def test_below_the_minimum_nothing_is_shown_or_charged(self) -> None:
        # 15.74 of interest: below a minimum of 20.00 nothing, from 15.74 on all of it
        item = _invoice(date(2026, 2, 1), 119000)
        for minimum, expected in ((2000, []), (1575, []), (1574, [1574])):
            terms = Terms("EUR", "de_base", Decimal(9), minimum_minor=minimum)
            found = late_charges.customer_charges(
                [item], terms=terms, rates=BASE, as_of=date(2026, 3, 20), charging=False
            )
            assert [charges.interest_minor for charges in found] == expected

    def test_charging_takes_only_what_the_policy_charges(self) -> None:
        item = _invoice(date(2026, 2, 1), 119000)
        fee_only = Terms("EUR", "de_base", Decimal(9), fee_minor=4000, charge_fee=True)
        shown = late_charges.customer_charges(
            [item], terms=fee_only, rates=BASE, as_of=date(2026, 3, 20), charging=False
        )
        charged = late_charges.customer_charges(
            [item], terms=fee_only, rates=BASE, as_of=date(2026, 3, 20), charging=True
        )
        assert [(c.interest_minor, c.fee_minor) for c in shown] == [(1574, 4000)]
        assert [(c.interest_minor, c.fee_minor, c.interest_through) for c in charged] == [(0, 4000, None)]

    def test_interest_charged_through_a_day_starts_again_the_day_after(self) -> None:
        # charged through 20 March: as of 31 March, 21 to 31 March = 11 days: 119000 × 10.27 × 11 / 36500
        # = 3.6832... -> 3.68
        charges = _charges(
            _invoice(date(2026, 2, 1), 119000, charged_through=date(2026, 3, 20)), date(2026, 3, 31)
        )
        assert (charges.interest_from, charges.interest_minor) == (date(2026, 3, 21), 368)
        assert (
            _charges(
                _invoice(date(2026, 2, 1), 119000, charged_through=date(2026, 3, 31)), date(2026, 3, 31)
            ).interest_minor
            == 0
        )

    def test_a_partial_payment_lowers_the_amount_from_its_posting_date(self) -> None:
        # 1,190.00 due 1 February, 190.00 paid on 11 February: 9 days on 1,190.00 (3.0136...) and 38 days
        # on 1,000.00 (10.6926...) through 20 March: 13.7062... -> 13.71
        item = _invoice(date(2026, 2, 1), 119000, allocations=((date(2026, 2, 11), 19000),))
        charges = _charges(item, date(2026, 3, 20))
        assert [(p.start, p.days, p.open_minor) for p in charges.periods] == [
            (date(2026, 2, 2), 9, 119000),
            (date(2026, 2, 11), 38, 100000),
        ]
        assert charges.interest_minor == 1371

    def test_a_negative_reference_rate_plus_the_margin_never_goes_below_zero(self) -> None:
        terms = Terms("EUR", "de_base", Decimal("0.5"))
        assert _charges(_invoice(date(2020, 1, 31), 100000), date(2020, 3, 1), terms).interest_minor == 0

    def test_a_day_before_the_first_known_rate_is_refused(self) -> None:
        with pytest.raises(late_charges.UnableToComputeLateCharges) as refused:
            _charges(_invoice(date(2016, 6, 1), 100000), date(2016, 7, 31))
        assert refused.value.code == "no_reference_rate"

    def test_after_the_last_known_rate_it_applies_and_is_flagged_after_six_months(self) -> None:
        assert late_charges.rate_on_day(B2B, BASE, date(2026, 6, 30)) == (
            "EUR",
            Decimal("10.27"),
            date(2026, 1, 1),
            False,
        )
        assert late_charges.rate_on_day(B2B, BASE, date(2026, 7, 1))[3] is True
        # the interest after it still uses it
        assert _charges(_invoice(date(2026, 10, 31), 100000), date(2026, 11, 30)).periods[
            0
        ].annual_percent == Decimal("10.27")


days = st.integers(min_value=0, max_value=2000)
amounts = st.integers(min_value=1, max_value=10**12)
percents = st.decimals(min_value=Decimal("-5"), max_value=Decimal("30"), places=2)
starts = st.dates(min_value=date(2017, 1, 1), max_value=date(2030, 12, 31))
day_counts = st.sampled_from(["act_365", "act_360"])


def _rates(changes: list[Decimal]) -> list[Rate]:
    """A reference rate changing every 1 January and 1 July from 2016 on."""
    rates = [Rate(date(2016, 1, 1), Decimal("1"))]
    for position, percent in enumerate(changes):
        year, half = divmod(position + 1, 2)
        rates.append(Rate(date(2016 + year, 7 if half else 1, 1), percent))
    return rates


def _interest(start: date, end: date, amount: int, rates: list[Rate], day_count: str, margin: Decimal) -> int:
    terms = Terms("EUR", "ref", margin, day_count=day_count)
    return late_charges.interest_minor(
        start=start,
        end=end,
        rates=late_charges.policy_rates(terms, rates),
        open_from=[(date.min, amount)],
        day_count=day_count,
    )


# a loaded machine can be slow to draw: the properties, not the timing, are under test
_PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestProperties:
    @_PROPERTIES
    @given(starts, days, amounts, st.lists(percents, min_size=1, max_size=40), day_counts, percents)
    def test_interest_is_never_negative(
        self, start: date, length: int, amount: int, changes: list[Decimal], day_count: str, margin: Decimal
    ) -> None:
        assert (
            _interest(start, start + timedelta(days=length), amount, _rates(changes), day_count, margin) >= 0
        )

    @_PROPERTIES
    @given(starts, days, days, amounts, st.lists(percents, min_size=1, max_size=40), day_counts, percents)
    def test_interest_grows_with_the_days(
        self,
        start: date,
        length: int,
        more: int,
        amount: int,
        changes: list[Decimal],
        day_count: str,
        margin: Decimal,
    ) -> None:
        rates = _rates(changes)
        shorter = _interest(start, start + timedelta(days=length), amount, rates, day_count, margin)
        longer = _interest(start, start + timedelta(days=length + more), amount, rates, day_count, margin)
        assert longer >= shorter

    @_PROPERTIES
    @given(starts, days, days, amounts, st.lists(percents, min_size=1, max_size=40), day_counts, percents)
    def test_split_periods_add_up_within_one_minor_unit(
        self,
        start: date,
        first: int,
        second: int,
        amount: int,
        changes: list[Decimal],
        day_count: str,
        margin: Decimal,
    ) -> None:
        rates = _rates(changes)
        middle = start + timedelta(days=first)
        end = middle + timedelta(days=second + 1)
        whole = _interest(start, end, amount, rates, day_count, margin)
        parts = _interest(start, middle, amount, rates, day_count, margin) + _interest(
            middle + timedelta(days=1), end, amount, rates, day_count, margin
        )
        assert abs(whole - parts) <= 1


class TestStandardTexts:
    def test_the_migration_gives_each_unedited_shipped_text_exactly_the_new_standard_text(self) -> None:
        migration = importlib.import_module("o2c.collections.migrations.0008_late_payment")
        for step in defaults.DEFAULT_STEPS:
            for language, (_subject, body) in step.templates.items():
                shipped = body.replace(defaults.LATE_CHARGES[language], "")
                assert hashlib.sha256(shipped.encode()).hexdigest() in migration.SHIPPED[language]
                assert migration.with_late_charges(language, shipped) == body
                assert migration.LATE_CHARGES[language] == defaults.LATE_CHARGES[language]

    def test_the_paragraph_shows_only_when_there_is_something_to_show(self) -> None:
        body = defaults.DEFAULT_STEPS[1].templates["en"][1]
        item = {
            "number": "RE-1",
            "due_date": "Feb 1, 2026",
            "open_amount": "€1,190.00",
            "interest": "",
            "fee": "",
        }
        context = {"customer_name": "Acme", "entity_name": "O2C", "total": "€1,190.00", "items": [item]}
        plain = Template(body).render(Context({**context, "late_charges_total": ""}, autoescape=False))
        assert "Late" not in plain
        assert plain.endswith("please ignore this reminder.\n\nKind regards\nO2C\n")
        fee_only = {**item, "fee": "€40.00"}
        shown = Template(body).render(
            Context(
                {
                    **context,
                    "items": [fee_only],
                    "late_charges_total": "€40.00",
                    "late_charges_rate": "8%",
                    "late_charges_charged": True,
                },
                autoescape=False,
            )
        )
        assert shown.endswith(
            "please ignore this reminder.\n\nLate-payment charges as of  (interest at 8% a year):\n"
            "- RE-1: recovery fee €40.00\nLate charges: €40.00. We will invoice them separately.\n"
            "\nKind regards\nO2C\n"
        )
