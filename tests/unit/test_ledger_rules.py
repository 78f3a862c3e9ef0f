from decimal import Decimal

import pytest

from o2c.ledger.errors import UnableToPostJournalEntry
from o2c.ledger.rules import LineIn, convert_minor, reversed_lines, validate_lines, with_functional_amounts

RECEIVABLE, REVENUE, TAX, FX = 1, 2, 3, 9


def line(account: int, debit: int = 0, credit: int = 0, currency: str = "USD") -> LineIn:
    return LineIn(account_id=account, currency=currency, debit_minor=debit, credit_minor=credit)


class TestValidateLines:
    def test_a_balanced_entry_passes(self):
        validate_lines([line(RECEIVABLE, debit=119), line(REVENUE, credit=100), line(TAX, credit=19)])

    @pytest.mark.parametrize(
        ("lines", "code"),
        [
            ([line(RECEIVABLE, debit=1)], "too_few_lines"),
            ([line(RECEIVABLE, debit=100), line(REVENUE, credit=99)], "unbalanced"),
            ([line(RECEIVABLE, debit=100), line(REVENUE, credit=100, currency="EUR")], "mixed_currencies"),
            ([line(RECEIVABLE, debit=100, credit=100), line(REVENUE)], "two_sided_line"),
            ([line(RECEIVABLE, debit=-5), line(REVENUE, credit=-5)], "negative_amount"),
            ([line(RECEIVABLE, debit=100), line(REVENUE, credit=100), line(TAX)], "empty_line"),
        ],
    )
    def test_a_malformed_entry_is_refused_with_its_reason(self, lines, code):
        with pytest.raises(UnableToPostJournalEntry) as refusal:
            validate_lines(lines)
        assert refusal.value.code == code

    def test_only_fx_lines_may_have_no_transaction_amount(self):
        validate_lines(
            [line(RECEIVABLE, debit=100), line(REVENUE, credit=100), line(FX)], fx_account_ids=frozenset({FX})
        )


class TestConversion:
    def test_converts_minor_units_at_the_rate_rounding_half_up(self):
        assert convert_minor(10000, from_currency="USD", to_currency="EUR", rate=Decimal("0.925926")) == 9259
        assert convert_minor(5, from_currency="USD", to_currency="EUR", rate=Decimal("0.9")) == 5  # 4.5 -> 5

    def test_currencies_with_other_decimals_shift_correctly(self):
        assert convert_minor(1000, from_currency="JPY", to_currency="EUR", rate=Decimal("0.0061")) == 610
        assert convert_minor(1000, from_currency="EUR", to_currency="JPY", rate=Decimal("163.5")) == 1635
        assert convert_minor(1000, from_currency="BHD", to_currency="EUR", rate=Decimal("2.44")) == 244

    def test_a_rounding_residue_goes_to_the_fx_account_in_functional_currency_only(self):
        lines = [
            line(RECEIVABLE, debit=300),
            line(REVENUE, credit=100),
            line(REVENUE, credit=100),
            line(REVENUE, credit=100),
        ]
        converted = with_functional_amounts(
            lines, functional_currency="EUR", rate=Decimal("0.915"), fx_account_id=FX
        )
        # 3.00 USD -> 2.75 EUR on the receivable; each 1.00 USD -> 0.92 EUR, 2.76 in all
        assert [(c.functional_debit_minor, c.functional_credit_minor) for c in converted[:4]] == [
            (275, 0),
            (0, 92),
            (0, 92),
            (0, 92),
        ]
        fx_line = converted[4]
        assert (fx_line.account_id, fx_line.debit_minor, fx_line.credit_minor) == (FX, 0, 0)
        assert (fx_line.functional_debit_minor, fx_line.functional_credit_minor) == (1, 0)
        assert sum(c.functional_debit_minor - c.functional_credit_minor for c in converted) == 0

    def test_a_reversal_mirrors_both_currencies(self):
        converted = with_functional_amounts(
            [line(RECEIVABLE, debit=300), line(REVENUE, credit=300)],
            functional_currency="EUR",
            rate=Decimal("0.915"),
            fx_account_id=FX,
        )
        mirrored = reversed_lines(converted)
        assert [
            (m.debit_minor, m.credit_minor, m.functional_debit_minor, m.functional_credit_minor)
            for m in mirrored
        ] == [
            (0, 300, 0, 275),
            (300, 0, 275, 0),
        ]
