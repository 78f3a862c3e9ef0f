"""The pure rules of bad-debt VAT relief on a case's write-off: where and from when it applies, and the
VAT inside a written-off amount per rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from o2c.disputes import rules
from o2c.receivables.calculations import tax_key, tax_parts_by_rate


class TestVatReliefApplies:
    def test_germany_relieves_at_once_and_the_uk_six_months_after_the_due_date(self):
        relief = rules.DEFAULT_WRITE_OFF_VAT_RELIEF
        dates = {"issue_date": date(2026, 3, 2), "due_date": date(2026, 4, 1)}

        assert rules.vat_relief_applies(
            relief=relief, country="DE", write_off_date=date(2026, 3, 16), **dates
        )
        assert not rules.vat_relief_applies(
            relief=relief, country="GB", write_off_date=date(2026, 9, 30), **dates
        )
        assert rules.vat_relief_applies(
            relief=relief, country="GB", write_off_date=date(2026, 10, 1), **dates
        )

    def test_a_country_not_listed_has_no_relief(self):
        for country in ("FR", "ES", "US"):
            assert not rules.vat_relief_applies(
                relief=rules.DEFAULT_WRITE_OFF_VAT_RELIEF,
                country=country,
                issue_date=date(2020, 1, 1),
                due_date=date(2020, 1, 31),
                write_off_date=date(2026, 3, 16),
            )

    def test_the_months_count_from_the_issue_date_when_it_is_later_than_the_due_date(self):
        assert not rules.vat_relief_applies(
            relief={"GB": 6},
            country="GB",
            issue_date=date(2026, 3, 2),
            due_date=date(2026, 3, 1),
            write_off_date=date(2026, 9, 1),
        )


class TestTaxPartsByRate:
    def test_one_rate_takes_its_share_of_tax(self):
        rates = [(tax_key(Decimal("19"), "S"), 10000, 1900)]

        assert tax_parts_by_rate(amount_minor=11900, rates=rates) == [(tax_key(Decimal("19"), "S"), 1900)]
        assert tax_parts_by_rate(amount_minor=5950, rates=rates) == [(tax_key(Decimal("19"), "S"), 950)]

    def test_mixed_rates_share_by_their_gross_and_round_half_up_per_rate(self):
        rates = [(tax_key(Decimal("7"), "S"), 20000, 1400), (tax_key(Decimal("19"), "S"), 10000, 1900)]

        # 100.00 over 214.00 and 119.00 gross: 64.26 and 35.74 (largest remainder), tax 4.20 and 5.71
        assert tax_parts_by_rate(amount_minor=10000, rates=rates) == [
            (tax_key(Decimal("7"), "S"), 420),
            (tax_key(Decimal("19"), "S"), 571),
        ]

    def test_an_exempt_rate_takes_part_of_the_amount_but_no_tax(self):
        rates = [(tax_key(Decimal("0"), "E"), 10000, 0), (tax_key(Decimal("19"), "S"), 10000, 1900)]

        # 100.00 over 100.00 and 119.00 gross: 45.66 exempt, 54.34 at 19 % (tax 8.68)
        assert tax_parts_by_rate(amount_minor=10000, rates=rates) == [(tax_key(Decimal("19"), "S"), 868)]
