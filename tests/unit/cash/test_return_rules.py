"""What a return entry says about its money, and what a customer is charged for it (pure rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.bankfiles.statement import Charge, Entry, TransactionDetails
from o2c.cash import rules


def _entry(
    amount: str,
    *,
    original: str | None = None,
    charges: tuple[Charge, ...] = (),
    entry_charges: tuple[Charge, ...] = (),
) -> Entry:
    details = TransactionDetails(
        is_credit=False,
        amount=Decimal(amount),
        currency="EUR",
        bank_reference=None,
        end_to_end_id="E2E-DD-1",
        counterparty_name=None,
        counterparty_iban=None,
        remittance_unstructured=(),
        remittance_structured_refs=(),
        return_reason="AM04",
        charges=charges,
        original_amount=Decimal(original) if original else None,
    )
    return Entry(
        position=1,
        amount=Decimal(amount),
        currency="EUR",
        booking_date=date(2026, 3, 24),
        booked_at=None,
        value_date=date(2026, 3, 24),
        status="BOOK",
        entry_reference=None,
        bank_reference="RET-1",
        bank_transaction_code="PMNT-IDDT-UPDD",
        proprietary_bank_transaction_code=None,
        is_reversal=False,
        batch_count=None,
        details=(details,),
        charges=entry_charges,
    )


def _fee(amount: str, included: bool | None = None, currency: str = "EUR") -> Charge:
    return Charge(amount=-Decimal(amount), currency=currency, included=included)


class TestReturnFigures:
    def test_a_stated_original_comes_first(self) -> None:
        figures = rules.return_figures(_entry("-1003.50", original="1000.00", charges=(_fee("3.50", True),)))

        assert figures == rules.ReturnFigures(
            debited=Decimal("1003.50"),
            originals=(Decimal("1000.00"), Decimal("1003.50")),
            charges_apart=Decimal(0),
        )

    def test_without_it_the_debit_less_the_charges_in_it(self) -> None:
        figures = rules.return_figures(_entry("-1003.50", charges=(_fee("2.00"), _fee("1.50", True))))

        assert figures.originals == (Decimal("1000.00"), Decimal("1003.50"))

    def test_the_entrys_charges_when_the_transaction_states_none(self) -> None:
        figures = rules.return_figures(_entry("-1003.50", entry_charges=(_fee("3.50"),)))

        assert figures.originals == (Decimal("1000.00"), Decimal("1003.50"))

    def test_the_transactions_charges_over_the_entrys(self) -> None:
        figures = rules.return_figures(
            _entry("-1003.50", charges=(_fee("3.50"),), entry_charges=(_fee("3.50"), _fee("3.50")))
        )

        assert figures.originals == (Decimal("1000.00"), Decimal("1003.50"))

    def test_a_charge_booked_apart_is_not_in_the_debit(self) -> None:
        figures = rules.return_figures(_entry("-1000.00", charges=(_fee("3.50", False),)))

        assert (figures.originals, figures.charges_apart) == ((Decimal("1000.00"),), Decimal("3.50"))

    def test_a_charge_credited_back_makes_the_original_larger_than_the_debit(self) -> None:
        refund = Charge(amount=Decimal("5.00"), currency="EUR", included=True)

        figures = rules.return_figures(_entry("-995.00", charges=(refund,)))

        assert figures.originals == (Decimal("1000.00"), Decimal("995.00"))

    def test_charges_in_another_currency_are_left_out(self) -> None:
        figures = rules.return_figures(_entry("-1003.50", charges=(_fee("3.50", True, currency="CHF"),)))

        assert figures.originals == (Decimal("1003.50"),)

    def test_a_plain_return_is_its_debit(self) -> None:
        assert rules.return_figures(_entry("-1190.00")) == rules.ReturnFigures(
            debited=Decimal("1190.00"), originals=(Decimal("1190.00"),), charges_apart=Decimal(0)
        )


class TestFeesToCharge:
    @pytest.mark.parametrize(
        ("charge", "currency", "expected"),
        [
            ("none", "EUR", (0, 0)),
            ("bank_fee", "EUR", (350, 0)),
            ("fixed", "EUR", (0, 500)),
            ("bank_fee_plus_fixed", "EUR", (350, 500)),
            ("bank_fee_plus_fixed", "USD", (350, 0)),  # the fixed fee is in EUR: no rate is guessed
        ],
    )
    def test_the_policy_picks_the_parts(self, charge: str, currency: str, expected: tuple[int, int]) -> None:
        assert (
            rules.return_fees_to_charge(
                charge=charge, bank_fee_minor=350, fixed_minor=500, fixed_currency="EUR", currency=currency
            )
            == expected
        )

    def test_a_fee_given_back_is_not_charged(self) -> None:
        assert rules.return_fees_to_charge(
            charge="bank_fee", bank_fee_minor=-500, fixed_minor=0, fixed_currency="EUR", currency="EUR"
        ) == (0, 0)
