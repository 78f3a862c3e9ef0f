"""What MT940 and BAI2 files say about a return's money: the original amount and the bank's charges, read
into the same `TransactionDetails.original_amount` and `charges` camt gives. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from o2c.bankfiles.bai2 import parse_bai2
from o2c.bankfiles.mt940 import parse_mt940
from o2c.bankfiles.statement import Charge, Entry, TransactionDetails

IBAN = "DE89370400440532013000"
PAYER_IBAN = "DE02120300000000202051"


def _mt940(*body: str, closing: str = ":62F:C260324EUR3746,50") -> Entry:
    text = "\n".join(
        [":20:STMT-2", f":25:{IBAN}", ":28C:00002/001", ":60F:C260323EUR5000,00", *body, closing, "-"]
    )
    (statement,) = parse_mt940(text.encode(), source="return.sta")
    (entry,) = statement.entries
    return entry


def _details(entry: Entry) -> TransactionDetails:
    (details,) = entry.details
    return details


def _bai2(*details: str, account_total: int, records: int) -> list[Entry]:
    """One USD account with the given 16 records (each one physical record)."""
    lines = [
        "01,SENDER,RECEIVER,260324,0930,FILE9,80,10,2/",
        "02,RECEIVER,BANKID,1,260324,2400,USD,2/",
        "03,123456789,,010,500000,,/",
        *details,
        f"49,{account_total},{records}/",
        f"98,{account_total},1,{records + 2}/",
        f"99,{account_total},1,{records + 4}/",
    ]
    (statement,) = parse_bai2(("\n".join(lines) + "\n").encode(), source="return.bai")
    return list(statement.entries)


class TestMt940SwiftCodes:
    def test_ocmt_and_chgs_in_the_supplementary_details_are_the_original_and_the_charge(self):
        entry = _mt940(
            ":61:2603240324D1253,50NRTIE2E-RET-1//BANKRET1",
            "/OCMT/EUR1250,00//CHGS/EUR3,50/",
            ":86:/RTRN/AM04/EREF/E2E-RET-1/",
        )

        details = _details(entry)
        assert entry.amount == Decimal("-1253.50")
        assert (entry.entry_reference, entry.bank_reference) == ("E2E-RET-1", "BANKRET1")
        assert details.original_amount == Decimal("1250.00")
        assert details.charges == (Charge(amount=Decimal("-3.50"), currency="EUR", type_code="CHGS"),)
        assert details.return_reason == "AM04"

    def test_codes_written_after_the_references_on_the_statement_line_leave_the_references_whole(self):
        entry = _mt940(":61:2603240324D1253,50NRTINONREF/OCMT/EUR1250,00//CHGS/EUR3,50/")

        details = _details(entry)
        assert (entry.entry_reference, entry.bank_reference) == (None, None)
        assert (details.original_amount, details.charges) == (
            Decimal("1250.00"),
            (Charge(amount=Decimal("-3.50"), currency="EUR", type_code="CHGS"),),
        )

    def test_codes_in_the_86_count_when_the_statement_line_has_none(self):
        entry = _mt940(
            ":61:2603240324D1253,50NRTINONREF//BANKRET1",
            ":86:RUECKUEBERWEISUNG /OCMT/EUR1250,00/ /CHGS/EUR2,00/ /CHGS/EUR1,50/",
        )

        details = _details(entry)
        assert details.original_amount == Decimal("1250.00")
        assert [charge.amount for charge in details.charges] == [Decimal("-2.00"), Decimal("-1.50")]

    def test_the_statement_line_wins_over_the_86_and_nothing_is_counted_twice(self):
        entry = _mt940(
            ":61:2603240324D1253,50NRTINONREF//BANKRET1",
            "/OCMT/EUR1250,00//CHGS/EUR3,50/",
            ":86:/OCMT/EUR1250,00//CHGS/EUR3,50/",
        )

        details = _details(entry)
        assert details.original_amount == Decimal("1250.00")
        assert [charge.amount for charge in details.charges] == [Decimal("-3.50")]

    def test_an_original_amount_in_another_currency_is_not_the_original_and_its_charge_keeps_its_currency(
        self,
    ):
        entry = _mt940(
            ":61:2603240324D1253,50NRTINONREF//BANKRET1",
            "/OCMT/USD1360,00//CHGS/USD4,00/",
        )

        details = _details(entry)
        assert details.original_amount is None
        assert details.charges == (Charge(amount=Decimal("-4.00"), currency="USD", type_code="CHGS"),)

    def test_an_amount_with_more_decimals_than_its_currency_is_left_out_and_the_file_still_reads(self):
        entry = _mt940(":61:2603240324D1253,50NRTINONREF//BANKRET1", "/OCMT/EUR1250,001//CHGS/EUR3,5/")

        details = _details(entry)
        assert details.original_amount is None
        assert [charge.amount for charge in details.charges] == [Decimal("-3.50")]

    def test_an_entry_without_codes_states_nothing(self):
        details = _details(_mt940(":61:2603240324D1253,50NRTINONREF//BANKRET1", ":86:RUECKUEBERWEISUNG"))

        assert (details.original_amount, details.charges) == (None, ())


class TestMt940DkKeywords:
    def test_oamt_and_coam_of_a_sepa_direct_debit_return_are_the_original_and_the_charge(self):
        entry = _mt940(
            ":61:2603240324D1253,50NRTINONREF//BANKRET1",
            ":86:109?00SEPA-LS RUECKBELASTUNG?109250?20EREF+E2E-DD-1?21MREF+MANDATE-1"
            "?22CRED+DE98ZZZ09999999999?23COAM+3,50?24OAMT+1250,00?25SVWZ+RUECKLASTSCHRIFT"
            f"?26AM04 FEHLENDE DECKUNG?30COBADEFFXXX?31{PAYER_IBAN}?32MUELLER MASCHINENBAU?34901",
        )

        details = _details(entry)
        assert (
            entry.proprietary_bank_transaction_code,
            details.end_to_end_id,
            details.counterparty_iban,
        ) == (
            "109",
            "E2E-DD-1",
            PAYER_IBAN,
        )
        assert details.original_amount == Decimal("1250.00")
        assert details.charges == (Charge(amount=Decimal("-3.50"), currency="EUR", type_code="COAM"),)

    @pytest.mark.parametrize(
        ("oamt", "coam", "original", "charge"),
        [
            pytest.param("     1250,00", "     3,50", Decimal("1250.00"), Decimal("-3.50"), id="padded"),
            pytest.param("1250,00 EUR", "EUR 3,5", Decimal("1250.00"), Decimal("-3.50"), id="currency"),
            pytest.param("1250", "3,50", Decimal("1250.00"), Decimal("-3.50"), id="whole-euros"),
            pytest.param("1.250,00", "3,50 USD", None, Decimal("-3.50"), id="not-amounts"),
        ],
    )
    def test_the_values_are_read_as_banks_write_them(
        self, oamt: str, coam: str, original: Decimal | None, charge: Decimal
    ):
        entry = _mt940(
            ":61:2603240324D1253,50NRTINONREF//BANKRET1",
            f":86:109?00RUECKLASTSCHRIFT?20EREF+E2E-DD-1?21COAM+{coam}?22OAMT+{oamt}?23SVWZ+RETOURE",
        )

        details = _details(entry)
        assert details.original_amount == original
        assert [(item.amount, item.currency) for item in details.charges] == [
            (charge, "USD" if "USD" in coam else "EUR")
        ]

    def test_swift_codes_win_over_the_dk_keywords(self):
        entry = _mt940(
            ":61:2603240324D1253,50NRTINONREF//BANKRET1",
            "/OCMT/EUR1250,00//CHGS/EUR3,50/",
            ":86:109?00RUECKLASTSCHRIFT?20EREF+E2E-DD-1?21COAM+3,50?22OAMT+1250,00",
        )

        details = _details(entry)
        assert details.original_amount == Decimal("1250.00")
        assert [(charge.amount, charge.type_code) for charge in details.charges] == [
            (Decimal("-3.50"), "CHGS")
        ]


class TestBai2:
    def test_an_original_amount_in_the_text_of_a_returned_item_is_the_original(self):
        (returned,) = _bai2(
            "16,555,101500,0,BR-RET-1,BR-DEP-1,DEPOSITED ITEM RETURNED NSF ORIG AMT: $1,000.00, CHK 4711/",
            account_total=601500,
            records=3,
        )

        details = _details(returned)
        assert returned.amount == Decimal("-1015.00")
        assert (returned.bank_transaction_code, returned.entry_reference) == ("BAI555", "BR-DEP-1")
        assert details.original_amount == Decimal("1000.00")
        assert details.charges == ()

    @pytest.mark.parametrize(
        ("text", "original"),
        [
            pytest.param("RETURNED CHECK OAMT 1000.00", Decimal("1000.00"), id="oamt"),
            pytest.param("RETURNED CHECK ORIGINAL AMOUNT=USD 1000", Decimal("1000.00"), id="whole"),
            pytest.param("RETURNED CHECK ORIG AMT EUR 1000.00", None, id="other-currency"),
            pytest.param("RETURNED CHECK ORIG AMT 1000.001", None, id="three-decimals"),
            pytest.param("RETURNED CHECK 1000.00", None, id="not-said"),
        ],
    )
    def test_the_original_amount_is_read_only_as_written(self, text: str, original: Decimal | None):
        (returned,) = _bai2(f"16,556,101500,0,BR-RET-1,,{text}/", account_total=601500, records=3)

        assert _details(returned).original_amount == original

    def test_a_fee_record_right_after_a_returned_item_is_its_charge_booked_apart(self):
        returned, fee = _bai2(
            "16,555,100000,0,BR-RET-1,BR-DEP-1,DEPOSITED ITEM RETURNED/",
            "16,698,1500,0,BR-FEE-1,,RETURN ITEM FEE/",
            account_total=601500,
            records=4,
        )

        assert _details(returned).charges == (
            Charge(amount=Decimal("-15.00"), currency="USD", included=False, type_code="BAI698"),
        )
        assert (fee.amount, _details(fee).charges) == (Decimal("-15.00"), ())

    @pytest.mark.parametrize(
        "records",
        [
            pytest.param(
                (
                    "16,555,100000,0,BR-RET-1,,DEPOSITED ITEM RETURNED/",
                    "16,698,1500,0,BR-FEE-1,,ACCOUNT FEE/",
                ),
                id="fee-not-for-a-return",
            ),
            pytest.param(
                ("16,475,100000,0,BR-CHK-1,,CHECK PAID/", "16,698,1500,0,BR-FEE-1,,RETURN ITEM FEE/"),
                id="not-after-a-return",
            ),
            pytest.param(
                (
                    "16,555,100000,0,BR-RET-1,,DEPOSITED ITEM RETURNED/",
                    "16,556,1500,0,BR-RET-2,,RETURNED CHECK CHARGE/",
                ),
                id="another-return",
            ),
        ],
    )
    def test_other_fees_are_nobodys_charge(self, records: tuple[str, str]):
        first, _ = _bai2(*records, account_total=601500, records=4)

        assert _details(first).charges == ()

    def test_a_credit_states_no_original(self):
        (credit,) = _bai2(
            "16,301,100000,0,BR-DEP-1,,CHECK DEPOSIT ORIG AMT 1000.00/", account_total=600000, records=3
        )

        assert _details(credit).original_amount is None
