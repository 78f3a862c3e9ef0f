"""Card payout files name the charge each row belongs to (Stripe `charge_id`, on a charge row also
`source_id`) and why a dispute was raised (`dispute_reason`): the reader puts the charge on the detail's
end-to-end id and the reason on its dispute reason, so the importer can find the payment a chargeback gives
back. Files without these columns read as before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from o2c.bankfiles.csvformats import parse_card_payouts_csv
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import TransactionDetails
from o2c.cash import rules

COLUMNS = (
    "payout_id,payout_date,balance_transaction_id,reporting_category,gross,fee,net,currency,description,"
    "charge_id,source_id,dispute_reason"
)


def _file(*rows: str, header: str = COLUMNS) -> bytes:
    return ("\r\n".join((header, *rows)) + "\r\n").encode()


def _details(data: bytes) -> list[TransactionDetails]:
    (statement,) = parse_card_payouts_csv(data, source="payouts.csv")
    return [details for entry in statement.entries for details in entry.details]


class TestChargeIds:
    def test_each_row_carries_its_charge_and_a_dispute_its_reason(self) -> None:
        details = _details(
            _file(
                "po_1,2026-03-04,txn_1,charge,119.00,3.75,115.25,eur,Invoice,ch_1,ch_1,",
                "po_1,2026-03-04,txn_2,refund,-20.00,0.00,-20.00,eur,Refund,ch_0,re_1,",
                "po_1,2026-03-04,txn_3,dispute,-119.00,15.00,-134.00,eur,Dispute,ch_7,dp_1,fraudulent",
                "po_1,2026-03-04,txn_4,dispute_reversal,50.00,-15.00,65.00,eur,Won,ch_8,dp_2,duplicate",
                "po_1,2026-03-04,txn_5,adjustment,-0.35,0.00,-0.35,eur,Rounding,,,",
            )
        )

        assert [(d.kind, d.amount, d.bank_reference, d.end_to_end_id, d.dispute_reason) for d in details] == [
            ("payment", Decimal("119.00"), "txn_1", "ch_1", None),
            ("fee", Decimal("-3.75"), "txn_1", None, None),
            ("refund", Decimal("-20.00"), "txn_2", "ch_0", None),
            ("chargeback", Decimal("-119.00"), "txn_3", "ch_7", "fraudulent"),
            ("fee", Decimal("-15.00"), "txn_3", None, None),
            ("chargeback_reversal", Decimal("50.00"), "txn_4", "ch_8", "duplicate"),
            ("fee", Decimal("15.00"), "txn_4", None, None),
            ("adjustment", Decimal("-0.35"), "txn_5", None, None),
        ]

    def test_a_charge_without_charge_id_names_itself_in_source_id_other_rows_do_not(self) -> None:
        details = _details(
            _file(
                "po_1,2026-03-04,txn_1,charge,119.00,0.00,119.00,eur,Invoice,,py_1,",
                "po_1,2026-03-04,txn_2,dispute,-119.00,0.00,-119.00,eur,Dispute,,dp_1,",
            )
        )

        assert [(d.kind, d.end_to_end_id, d.dispute_reason) for d in details] == [
            ("payment", "py_1", None),
            ("chargeback", None, None),  # dp_1 is the dispute, not the charge
        ]

    def test_a_reason_on_a_charge_is_not_read(self) -> None:
        (charge,) = _details(_file("po_1,2026-03-04,txn_1,charge,119.00,0.00,119.00,eur,Invoice,ch_1,,odd"))

        assert (charge.end_to_end_id, charge.dispute_reason) == ("ch_1", None)

    def test_a_payout_of_only_a_dispute_is_not_a_bank_return(self) -> None:
        (statement,) = parse_card_payouts_csv(
            _file("po_2,2026-04-10,txn_9,dispute,-119.00,0.00,-119.00,eur,Dispute,ch_1,dp_1,fraudulent"),
            source="payouts.csv",
        )

        (entry,) = statement.entries
        assert (entry.amount, entry.end_to_end_id) == (Decimal("-119.00"), "ch_1")
        # the importer returns the payment by its charge; the generic return path must not take it again
        assert all(details.return_reason is None for details in entry.details)
        assert rules.is_return(entry) is False


class TestFilesWithoutTheColumns:
    def test_read_as_before_with_no_charge_and_no_reason(self) -> None:
        header = COLUMNS.removesuffix(",charge_id,source_id,dispute_reason")
        details = _details(
            _file(
                "po_1,2026-03-04,txn_1,charge,119.00,3.75,115.25,eur,Invoice",
                "po_1,2026-03-04,txn_3,dispute,-119.00,15.00,-134.00,eur,Dispute",
                header=header,
            )
        )

        assert [(d.kind, d.amount, d.end_to_end_id, d.dispute_reason) for d in details] == [
            ("payment", Decimal("119.00"), None, None),
            ("fee", Decimal("-3.75"), None, None),
            ("chargeback", Decimal("-119.00"), None, None),
            ("fee", Decimal("-15.00"), None, None),
        ]

    def test_a_charge_id_column_given_twice_is_refused(self) -> None:
        with pytest.raises(UnableToReadBankFile) as refused:
            parse_card_payouts_csv(
                _file(
                    "po_1,2026-03-04,txn_1,charge,1.00,0.00,1.00,eur,x,ch_1,ch_1,,ch_1",
                    header=COLUMNS + ",charge_id",
                ),
                source="payouts.csv",
            )

        assert refused.value.message == "payouts.csv: header: column 'charge_id' appears more than once"
