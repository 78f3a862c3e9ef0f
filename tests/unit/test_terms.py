from datetime import date
from decimal import Decimal

import pytest

from o2c.customers.terms import UnableToParsePaymentTerms, parse_terms


class TestPaymentTerms:
    @pytest.mark.parametrize(
        ("code", "issue", "due"),
        [
            ("NET30", date(2026, 1, 31), date(2026, 3, 2)),
            ("NET0", date(2026, 2, 28), date(2026, 2, 28)),
            ("DUE", date(2026, 2, 28), date(2026, 2, 28)),
            ("net 14", date(2024, 2, 20), date(2024, 3, 5)),
            ("NET30EOM", date(2026, 1, 15), date(2026, 3, 2)),
            ("EOM", date(2024, 2, 10), date(2024, 2, 29)),
            ("2/10NET30", date(2026, 12, 15), date(2027, 1, 14)),
        ],
    )
    def test_due_date_follows_the_terms(self, code, issue, due):
        assert parse_terms(code).due_date(issue) == due

    def test_early_payment_discount_date_and_rate(self):
        terms = parse_terms("2/10NET30")
        assert terms.discount_percent == Decimal(2)
        assert terms.discount_date(date(2026, 3, 25)) == date(2026, 4, 4)

    def test_fractional_discount(self):
        assert parse_terms("1.5/10NET45").discount_percent == Decimal("1.5")

    def test_terms_without_discount_have_no_discount_date(self):
        assert parse_terms("NET30").discount_date(date(2026, 3, 1)) is None

    @pytest.mark.parametrize("code", ["", "NET", "30", "2/10", "NETX", "2/40NET30"])
    def test_unknown_codes_are_refused(self, code):
        with pytest.raises(UnableToParsePaymentTerms):
            parse_terms(code)
