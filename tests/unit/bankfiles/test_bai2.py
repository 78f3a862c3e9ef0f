"""The BAI2 reader against the published sample files and against files written here. No database."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from o2c.bankfiles.bai2 import parse_bai2
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import Statement, balance_difference, iter_entries

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "bai2"
SAMPLE4 = "moov_sample4-continuations-newline-delimited.txt"

# moov_sample4 and moov_sample5 (issue 113) carry made-up trailers: the second account's 49 says
# -1260161341762 where its 03 and 16 amounts add up to 7999960 (and 26 records where it has 18).
REFUSED_SAMPLES = {
    "moov_sample-parseError.txt": "record 1 (00): the file does not start with a 01 file header",
    SAMPLE4: (
        "record 22 (49): account control total -1260161341762 does not equal the sum 7999960 "
        "of the account's 03 and 16 amounts"
    ),
    "moov_sample5-issue113.txt": (
        "record 22 (49): account control total -1260161341762 does not equal the sum 7999960 "
        "of the account's 03 and 16 amounts"
    ),
}
READ_SAMPLES = {
    "moj_example_citi.bai2",
    "moj_nwb_example.bai2",
    "moj_svb_us_example.bai2",
    "moov_sample1.txt",
    "moov_sample2.txt",
    "moov_sample3.txt",
    "moov_spec-section3.txt",
}


def _sample(name: str) -> list[Statement]:
    return parse_bai2((SAMPLES / name).read_bytes(), source=name)


def _balances(statement: Statement) -> list[tuple[str, Decimal]]:
    return [(balance.code, balance.amount) for balance in statement.balances]


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"BAI2 sample files not found at {SAMPLES} (shared/testdata)"
)
class TestSamples:
    def test_every_sample_is_either_read_or_refused(self):
        names = {path.name for path in SAMPLES.iterdir() if path.name != "SOURCES.txt"}

        assert names == READ_SAMPLES | set(REFUSED_SAMPLES)

    @pytest.mark.parametrize("name", sorted(READ_SAMPLES))
    def test_a_good_sample_parses_with_its_trailers_checked(self, name: str):
        statements = _sample(name)

        assert statements
        assert {(statement.message, statement.version, statement.namespace) for statement in statements} == {
            ("bai2", 2, "")
        }
        entries = list(iter_entries(statements))
        assert [entry.position for entry in entries] == list(range(1, len(entries) + 1))
        assert {entry.currency for entry in entries} <= {statement.currency for statement in statements}

    @pytest.mark.parametrize(("name", "message"), sorted(REFUSED_SAMPLES.items()))
    def test_a_bad_sample_is_refused_in_one_line_naming_file_record_and_problem(
        self, name: str, message: str
    ):
        with pytest.raises(UnableToReadBankFile) as refused:
            _sample(name)

        assert str(refused.value) == f"{name}: {message}"
        assert refused.value.code == "bad_bank_file"

    def test_citi_reads_the_text_of_a_16_from_its_88_continuations(self):
        (statement,) = _sample("moj_example_citi.bai2")
        (entry,) = statement.entries

        assert statement.message_id == "CITIDIRECT/150716/0713/00131100"
        assert statement.statement_id == "150715/77777777"
        assert (statement.account_other_id, statement.account_iban, statement.currency) == (
            "77777777",
            None,
            "GBP",
        )
        assert statement.created_at == datetime(2015, 7, 16, 7, 13)
        assert _balances(statement) == [("OPBD", Decimal("100.00")), ("CLBD", Decimal("100.00"))]
        assert statement.balances[0].balance_date == date(2015, 7, 15)
        assert entry.amount == Decimal("0.01")
        assert entry.bank_transaction_code == "BAI191"
        assert (entry.booking_date, entry.value_date) == (date(2015, 7, 15), date(2015, 7, 15))
        assert (entry.bank_reference, entry.entry_reference) == ("1234567890", "RP12312312312312")
        assert entry.remittance_unstructured == (
            "FR:FP SIP INCOMING ENDT:20150715 TRID:RP12312312312312 "
            "PY:RP1231231231231200                 A1234BC 22/03/66 BI:22222222 "
            "OB:111111 BUCKINGHAM PALACE OB3:BARCLAYS BANK PLC BO:11111111 BO1:DOE JO",
        )
        # The sample's balances do not move although a penny came in: a warning, not a parse error.
        assert balance_difference(statement) == Decimal("-0.01")

    def test_natwest_continues_the_03_summaries_in_an_88_and_balances(self):
        (statement,) = _sample("moj_nwb_example.bai2")

        assert statement.message_id == "NWBKGB2L/100215/14:59:35/2215"
        assert statement.created_at == datetime(2010, 2, 15, 14, 59, 35)
        assert statement.statement_id == "091216/88888888 600004"
        assert _balances(statement) == [
            ("OPBD", Decimal("365.21")),
            ("CLBD", Decimal("338.45")),
            ("CLAV", Decimal("338.45")),
            ("OPAV", Decimal("338.45")),
            ("BAI072", Decimal("0.00")),
            ("BAI074", Decimal("0.00")),
            ("BAI075", Decimal("0.00")),
            ("BAI400", Decimal("27.65")),
            ("BAI100", Decimal("0.89")),
        ]
        assert [entry.amount for entry in statement.entries] == [
            Decimal("-9.71"),
            Decimal("-1.00"),
            Decimal("-1.23"),
            Decimal("-15.71"),
            Decimal("0.89"),
        ]
        assert [entry.bank_transaction_code for entry in statement.entries] == ["BAI699"] * 4 + ["BAI399"]
        assert statement.entries[4].remittance_unstructured == (
            "TFR XBANKGO24007680SJ CAT JPY 2 GBPXBANKGO24007680BGC INTERNATIONAL-5373 CLIE NT SECCY AC TFR",
        )
        assert statement.entries[0].bank_reference is None
        assert balance_difference(statement) == 0

    def test_svb_has_one_statement_per_group_and_drops_the_empty_field_before_the_slash(self):
        first, second = _sample("moj_svb_us_example.bai2")

        assert [first.statement_id, second.statement_id] == ["220201/1234567890", "220202/1234567890"]
        assert _balances(first) == [
            ("OPBD", Decimal("347269.79")),
            ("CLBD", Decimal("352171.75")),
            ("OPAV", Decimal("327425.37")),
            ("CLAV", Decimal("352171.75")),
            ("BAI072", Decimal("0.00")),
            ("BAI074", Decimal("0.00")),
            ("BAI100", Decimal("4901.96")),
            ("BAI400", Decimal("0.00")),
        ]
        assert (second.opening_balance, second.closing_balance) == (
            Decimal("352171.75"),
            Decimal("361229.75"),
        )
        assert [entry.amount for entry in iter_entries([first, second])] == [
            Decimal("4901.96"),
            Decimal("9058.00"),
        ]
        assert second.entries[0].position == 2
        assert (first.entries[0].bank_reference, second.entries[0].bank_reference) == ("172629", "150675")
        assert second.entries[0].remittance_unstructured == ("SOME PAYMENT ACH OFFSET",)
        assert [balance_difference(first), balance_difference(second)] == [0, 0]

    def test_moov_sample1_reads_signed_summaries_and_value_dates(self):
        first, second = _sample("moov_sample1.txt")

        assert first.message_id == "0004/060321/0829/001"
        assert first.currency == "CAD"
        assert _balances(first) == [
            ("OPAV", Decimal("0.00")),
            ("CLAV", Decimal("0.00")),
            ("BAI100", Decimal("2085.00")),
            ("BAI400", Decimal("2085.00")),
        ]
        assert (first.opening_balance, first.closing_balance) == (None, None)
        assert len(first.entries) == 11
        assert len(second.entries) == 6
        entry = first.entries[0]
        assert (entry.amount, entry.bank_transaction_code) == (Decimal("-25.00"), "BAI409")
        assert (entry.booking_date, entry.value_date) == (date(2006, 3, 17), date(2006, 3, 16))
        assert entry.remittance_unstructured == ("RETURNED CHEQUE",)
        assert (entry.bank_reference, entry.entry_reference) == (None, None)
        assert first.entries[3].amount == Decimal("2035.00")
        assert second.entries[1].amount == Decimal("1000.00")
        assert second.entries[1].value_date == date(2006, 3, 17)

    def test_moov_sample2_reads_availability_distributions_and_summaries_split_over_88s(self):
        statements = _sample("moov_sample2.txt")

        assert [statement.statement_id for statement in statements] == [
            "040620/0123456789",
            "040620/9876543210",
            "040620/4589761203",
            "040620/0975312468",
            "040620/7890654321",
        ]
        assert {statement.currency for statement in statements} == {"USD"}
        assert _balances(statements[1]) == [
            ("OPBD", Decimal("-5000.00")),
            ("BAI100", Decimal("10000.00")),
            ("BAI400", Decimal("20000.00")),
            ("BAI190", Decimal("5000.00")),
            ("BAI110", Decimal("10000.00")),
            ("BAI072", Decimal("5000.00")),
            ("BAI074", Decimal("5000.00")),
            ("OPAV", Decimal("-15000.00")),
        ]
        assert _balances(statements[3]) == [
            ("OPBD", Decimal("5000.00")),
            ("BAI190", Decimal("700000.00")),
            ("BAI110", Decimal("700000.00")),
        ]
        lockbox = statements[1].entries[0]
        assert (lockbox.amount, lockbox.remittance_unstructured) == (
            Decimal("5000.00"),
            ("LOCK BOX NO.68751",),
        )
        letter_of_credit, wire = statements[2].entries
        assert letter_of_credit.amount == Decimal("200000.00")
        assert (letter_of_credit.booking_date, letter_of_credit.value_date) == (
            date(2004, 6, 20),
            date(2004, 6, 22),
        )
        assert (letter_of_credit.bank_reference, letter_of_credit.entry_reference) == ("SP4738", "YRC065321")
        assert letter_of_credit.remittance_unstructured == (
            "PROCEEDS OF LETTER OF CREDIT FROM THE ARAMCO OIL CO",
        )
        assert (wire.amount, wire.bank_transaction_code, wire.remittance_unstructured) == (
            Decimal("100000.00"),
            "BAI195",
            (),
        )
        assert [entry.position for entry in iter_entries(statements)] == [1, 2, 3, 4]

    def test_moov_sample3_splits_records_sharing_a_line_and_joins_one_running_over_a_line_break(self):
        statements = _sample("moov_sample3.txt")

        assert len(statements) == 15
        assert len(list(iter_entries(statements))) == 26
        assert _balances(statements[0]) == [
            ("OPBD", Decimal("-35.00")),
            ("CLBD", Decimal("-36.00")),
            ("OPAV", Decimal("-35.00")),
            ("BAI060", Decimal("-36.00")),
            ("BAI100", Decimal("31.00")),
            ("BAI400", Decimal("32.00")),
        ]
        assert [entry.amount for entry in statements[0].entries] == [
            Decimal("25.00"),
            Decimal("5.00"),
            Decimal("1.00"),
            Decimal("-25.00"),
            Decimal("-6.00"),
            Decimal("-1.00"),
        ]
        assert statements[0].entries[1].remittance_unstructured == ("TRANSFER   MSPBNA BANK        PPD",)
        wrapped = statements[7].entries[0]
        assert (wrapped.position, wrapped.amount) == (9, Decimal("25.00"))
        assert wrapped.remittance_unstructured == (
            "111111     ACH_SETL           1111111111111111111111111 1111111111",
        )
        assert statements[9].entries[0].amount == Decimal("138.55")
        assert statements[9].entries[0].remittance_unstructured == (
            "Wire Transfer Credit          VISA INTERNATIONAL            900 METRO CENTER BLVD "
            "FOSTER CITY       CA 94404",
        )
        assert all(balance_difference(statement) == 0 for statement in statements)

    def test_the_spec_example_reads_a_text_that_does_not_end_with_a_slash(self):
        (statement,) = _sample("moov_spec-section3.txt")
        (entry,) = statement.entries

        assert statement.statement_id == "040620/0975312468"
        assert _balances(statement) == [("OPBD", Decimal("5000.00")), ("BAI190", Decimal("700000.00"))]
        assert (entry.amount, entry.bank_transaction_code) == (Decimal("15000.00"), "BAI165")
        assert (entry.bank_reference, entry.entry_reference) == ("DD1620", None)
        assert entry.remittance_unstructured == ("DEALER PAYMENTS",)

    def test_moov_sample4_with_its_trailers_corrected_reads_newline_delimited_continuations(self):
        data = (SAMPLES / SAMPLE4).read_bytes()
        for wrong, right in [
            (b"49,-1260161341762,26/", b"49,7999960,18/"),
            (b"49,6869722,8/", b"49,666917818,88/"),
            (b"98,13060195162,4,16/", b"98,13728243218,5,114/"),
            (b"99,13060195162,1,18/", b"99,13728243218,1,116/"),
        ]:
            assert data.count(wrong) == 1
            data = data.replace(wrong, right)

        statements = parse_bai2(data, source=SAMPLE4)

        assert [statement.account_other_id for statement in statements] == [
            "107049924",
            "107049932",
            "104108339",
            "260000033037",
            "280000010657",
        ]
        assert _balances(statements[0]) == [
            ("BAI060", Decimal("130533254.40")),
            ("BAI100", Decimal("0.00")),
            ("BAI400", Decimal("0.00")),
        ]
        assert len(statements[2].entries) == 14
        payment = statements[1].entries[0]
        assert (payment.amount, payment.bank_transaction_code) == (Decimal("-600.00"), "BAI447")
        assert (payment.bank_reference, payment.entry_reference) == ("SPB2322984714570", "1111")
        assert payment.remittance_unstructured == (
            "ACH Credit Payment,Entry Description: EXP; -, SEC: CCD, Client Ref ID: 1111, "
            "GS ID: SPB2322984714570 EREF: 1111 DBNM: TEST INC CACT: ACHCONTROLOUTUSD01",
        )
        wire = statements[2].entries[13]
        assert (wire.amount, wire.entry_reference) == (Decimal("-300000.00"), "3785726")
        check_return = statements[2].entries[6]
        assert (check_return.amount, check_return.bank_reference) == (Decimal("9.31"), "SC2134800001999")
        assert check_return.entry_reference is None


# --- generated files: they need nothing from outside the repository and always run ---

GOOD = [
    "01,SENDER,RECEIVER,260301,0930,FILE7,80,10,2/",
    "02,RECEIVER,BANKID,1,260228,2400,USD,2/",
    "03,123456789,,010,150000,,,015,-25050,,,100,30000,2,/",
    "16,195,20000,V,260227,,BR1,INV-1001,ORIG CO NAME:ACME CORP ORIG ID:12345, PAID INV 1001, 1002/",
    "16,301,10000,0,BR2,,CHECK DEPOSIT/",
    "16,475,205050,,BR3,CHK 77,CHECK PAID/",
    "49,390000,5/",
    "03,DE89370400440532013000,EUR,010,99999,,,015,100000,,/",
    "16,142,1,Z,BR4,/",
    "49,200000,3/",
    "98,590000,2,10/",
    "99,590000,1,12/",
]


def _file(records: list[str]) -> bytes:
    return ("\n".join(records) + "\n").encode()


def _replaced(old: str, new: str) -> bytes:
    assert old in GOOD
    return _file([new if record == old else record for record in GOOD])


def _refusal(data: bytes) -> UnableToReadBankFile:
    with pytest.raises(UnableToReadBankFile) as refused:
        parse_bai2(data, source="file.bai")
    assert "\n" not in str(refused.value)
    return refused.value


class TestGoodFile:
    def test_a_two_account_file_gives_one_statement_per_account_with_exact_figures(self):
        first, second = parse_bai2(_file(GOOD), source="file.bai")

        assert first.message_id == "SENDER/260301/0930/FILE7"
        assert first.created_at == datetime(2026, 3, 1, 9, 30)
        assert first.statement_id == "260228/123456789"
        assert (first.account_other_id, first.account_iban, first.currency) == ("123456789", None, "USD")
        assert _balances(first) == [
            ("OPBD", Decimal("1500.00")),
            ("CLBD", Decimal("-250.50")),
            ("BAI100", Decimal("300.00")),
        ]
        assert (first.opening_balance, first.closing_balance) == (Decimal("1500.00"), Decimal("-250.50"))
        assert {balance.balance_date for balance in first.balances} == {date(2026, 2, 28)}
        assert [entry.amount for entry in first.entries] == [
            Decimal("200.00"),
            Decimal("100.00"),
            Decimal("-2050.50"),
        ]
        assert balance_difference(first) == 0
        assert second.statement_id == "260228/DE89370400440532013000"
        assert (second.account_iban, second.currency) == ("DE89370400440532013000", "EUR")
        assert (second.opening_balance, second.closing_balance) == (Decimal("999.99"), Decimal("1000.00"))
        assert [entry.position for entry in iter_entries([first, second])] == [1, 2, 3, 4]
        assert second.entries[0].amount == Decimal("0.01")
        assert second.entries[0].currency == "EUR"
        assert balance_difference(second) == 0

    def test_an_entry_carries_type_code_references_value_date_and_text(self):
        first, _ = parse_bai2(_file(GOOD), source="file.bai")
        wire, deposit, check = first.entries

        assert wire.bank_transaction_code == "BAI195"
        assert wire.proprietary_bank_transaction_code is None
        assert (wire.status, wire.is_reversal, wire.batch_count, wire.booked_at) == (
            "BOOK",
            False,
            None,
            None,
        )
        assert (wire.booking_date, wire.value_date) == (date(2026, 2, 28), date(2026, 2, 27))
        assert (wire.bank_reference, wire.entry_reference) == ("BR1", "INV-1001")
        # The text is the rest of the record, its commas included.
        assert wire.remittance_unstructured == ("ORIG CO NAME:ACME CORP ORIG ID:12345, PAID INV 1001, 1002",)
        assert wire.counterparty_name == "ACME CORP"
        (detail,) = wire.details
        assert (detail.is_credit, detail.amount, detail.currency, detail.bank_reference) == (
            True,
            Decimal("200.00"),
            "USD",
            "BR1",
        )
        assert (deposit.value_date, deposit.entry_reference, deposit.counterparty_name) == (
            date(2026, 2, 28),
            None,
            None,
        )
        assert (check.details[0].is_credit, check.details[0].amount) == (False, Decimal("-2050.50"))
        assert check.entry_reference == "CHK 77"

    def test_88_continuations_of_01_02_03_and_16_in_both_styles(self):
        data = _file(
            [
                "01,SENDER,RECEIVER,260301,0930/",
                "88,FILE8,,,2/",
                "02,RECEIVER,BANKID,1,260228/",
                "88,2400,CAD,2/",
                "03,777,,010,100000,,,015/",
                "88,150000,,/",
                "16,115,50000,S,10000,20000,20000,BANK REF/",
                "88,CUST REF,LOCKBOX 12, BATCH 3/",
                "88,ORIGINATOR: ACME INC/",
                "16,195,1000,D,2,0,500,1,500,REF2,,WIRE FROM",
                "88,B/O: BIG SUPPLIER LTD",
                "49,301000,8/",
                "98,301000,1,11/",
                "99,301000,1,14/",
            ]
        )

        (statement,) = parse_bai2(data, source="file.bai")

        assert statement.message_id == "SENDER/260301/0930/FILE8"
        assert statement.currency == "CAD"
        assert _balances(statement) == [("OPBD", Decimal("1000.00")), ("CLBD", Decimal("1500.00"))]
        lockbox, wire = statement.entries
        assert (lockbox.amount, lockbox.bank_reference, lockbox.entry_reference) == (
            Decimal("500.00"),
            "BANK REF",
            "CUST REF",
        )
        assert lockbox.remittance_unstructured == ("LOCKBOX 12, BATCH 3 ORIGINATOR: ACME INC",)
        assert lockbox.counterparty_name == "ACME INC"
        assert (wire.amount, wire.bank_reference, wire.entry_reference) == (Decimal("10.00"), "REF2", None)
        assert wire.remittance_unstructured == ("WIRE FROM B/O: BIG SUPPLIER LTD",)
        assert wire.counterparty_name == "BIG SUPPLIER LTD"

    def test_records_sharing_a_line_and_a_record_running_over_a_line_break(self):
        data = (
            b"01,S,R,260301,0930,F1,,,2/ 02,R,B,1,260228,,USD,2/\n"
            b"03,42,,010,500,,/\n"
            b"16,142,250,Z,,,TRANSFER FROM\n"
            b" SAVINGS/  49,750,3/\n"
            b"98,750,1,5/  99,750,1,7/\n"
        )

        (statement,) = parse_bai2(data, source="file.bai")

        (entry,) = statement.entries
        assert entry.amount == Decimal("2.50")
        assert entry.remittance_unstructured == ("TRANSFER FROM SAVINGS",)

    def test_a_customer_reference_and_text_with_slashes_are_kept_whole(self):
        data = _replaced("16,301,10000,0,BR2,,CHECK DEPOSIT/", "16,301,10000,0,BR2,AB/GS/0001,INV 08/18/23")

        _, deposit, _ = parse_bai2(data, source="file.bai")[0].entries

        assert deposit.entry_reference == "AB/GS/0001"
        assert deposit.remittance_unstructured == ("INV 08/18/23",)

    def test_amounts_are_in_the_currencys_minor_units(self):
        data = _file(
            [
                "01,S,R,260301,0930,F1,,,2/",
                "02,R,B,1,260228,,JPY,/",
                "03,555,,010,1000,,/",
                "16,175,1500,,,,/",
                "49,2500,3/",
                "98,2500,1,5/",
                "99,2500,1,7/",
            ]
        )

        (statement,) = parse_bai2(data, source="file.bai")

        assert statement.currency == "JPY"
        assert statement.opening_balance == Decimal("1000")
        assert statement.entries[0].amount == Decimal("1500")

    def test_without_a_currency_in_the_03_or_the_02_the_account_is_in_usd(self):
        data = _replaced("02,RECEIVER,BANKID,1,260228,2400,USD,2/", "02,RECEIVER,BANKID,1,260228,2400,,2/")

        first, second = parse_bai2(data, source="file.bai")

        assert (first.currency, second.currency) == ("USD", "EUR")
        assert first.entries[0].currency == "USD"

    def test_a_creation_time_of_2400_is_the_end_of_the_day(self):
        data = _replaced(GOOD[0], "01,SENDER,RECEIVER,260228,2400,FILE7,80,10,2/")

        statements = parse_bai2(data, source="file.bai")

        assert statements[0].created_at == datetime(2026, 3, 1, 0, 0)


class TestControlTotals:
    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                "49,390000,5/",
                "49,390001,5/",
                "record 7 (49): account control total 390001 does not equal the sum 390000 "
                "of the account's 03 and 16 amounts",
            ),
            (
                "49,390000,5/",
                "49,390000,6/",
                "record 7 (49): account record count 6 does not equal the 5 records of the account "
                "(03 to 49)",
            ),
            (
                "98,590000,2,10/",
                "98,590100,2,10/",
                "record 11 (98): group control total 590100 does not equal the sum 590000 "
                "of its 49 account control totals",
            ),
            (
                "98,590000,2,10/",
                "98,590000,3,10/",
                "record 11 (98): number of accounts 3 does not equal the 2 accounts",
            ),
            (
                "98,590000,2,10/",
                "98,590000,2,9/",
                "record 11 (98): group record count 9 does not equal the 10 records of the group (02 to 98)",
            ),
            (
                "99,590000,1,12/",
                "99,-590000,1,12/",
                "record 12 (99): file control total -590000 does not equal the sum 590000 "
                "of its 98 group control totals",
            ),
            (
                "99,590000,1,12/",
                "99,590000,2,12/",
                "record 12 (99): number of groups 2 does not equal the 1 groups",
            ),
            (
                "99,590000,1,12/",
                "99,590000,1,13/",
                "record 12 (99): file record count 13 does not equal the 12 records of the file (01 to 99)",
            ),
        ],
    )
    def test_a_trailer_that_does_not_agree_is_refused_naming_its_record(
        self, old: str, new: str, message: str
    ):
        refused = _refusal(_replaced(old, new))

        assert str(refused) == f"file.bai: {message}"
        assert refused.code == "bad_bank_file"

    def test_a_lost_16_record_is_caught_by_the_account_trailer(self):
        data = _file([record for record in GOOD if not record.startswith("16,301")])

        refused = _refusal(data)

        assert str(refused) == (
            "file.bai: record 6 (49): account control total 390000 does not equal the sum 380000 "
            "of the account's 03 and 16 amounts"
        )

    @pytest.mark.parametrize(
        ("kept", "message"),
        [
            (11, "record 11 (98): the file ends after this record without the 99 file trailer (truncated)"),
            (10, "record 10 (49): the file ends after this record without the 98 group trailer (truncated)"),
            (
                9,
                "record 9 (16): the file ends after this record without the 49 account trailer "
                "of account DE89370400440532013000 (truncated)",
            ),
            (1, "record 1 (01): the file ends after this record without the 99 file trailer (truncated)"),
        ],
    )
    def test_a_truncated_file_is_refused_naming_the_missing_trailer(self, kept: int, message: str):
        refused = _refusal(_file(GOOD[:kept]))

        assert str(refused) == f"file.bai: {message}"


class TestRefusals:
    def test_an_empty_file_is_refused(self):
        assert str(_refusal(b"")) == "file.bai: the file is empty"
        assert str(_refusal(b" \n\r\n")) == "file.bai: the file is empty"

    def test_a_file_not_starting_with_a_01_is_refused(self):
        refused = _refusal(_file(GOOD[1:]))

        assert str(refused) == "file.bai: record 1 (02): the file does not start with a 01 file header"

    def test_a_text_that_is_not_bai2_is_refused_naming_the_line(self):
        refused = _refusal(b":20:STATEMENT\n:25:DE89370400440532013000\n")

        assert str(refused) == (
            "file.bai: line 1: not a BAI2 record (a record starts with a two-digit record code and a comma)"
        )

    def test_a_line_after_a_finished_record_that_is_no_record_is_refused(self):
        refused = _refusal(_file([*GOOD[:3], "HELLO", *GOOD[3:]]))

        assert str(refused) == (
            "file.bai: line 4: not a BAI2 record (a record starts with a two-digit record code and a comma)"
        )

    @pytest.mark.parametrize("version", ["1", "3", ""])
    def test_another_version_than_2_is_refused_as_unsupported(self, version: str):
        refused = _refusal(_replaced(GOOD[0], f"01,SENDER,RECEIVER,260301,0930,FILE7,80,10,{version}/"))

        assert str(refused) == (
            f"file.bai: record 1 (01): BAI version '{version}' is not supported "
            "(only version 2, BAI2, is read)"
        )
        assert refused.code == "unsupported_bank_file"

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                "16,475,205050,,BR3,CHK 77,CHECK PAID/",
                "17,475,205050,,BR3,CHK 77/",
                "record 6 (17): unknown record code",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,890,10000,0,BR2,,MEMO/",
                "record 5 (16): type code 890 is neither a credit (100-399) nor a debit (400-699) "
                "transaction",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,015,10000,0,BR2,,MEMO/",
                "record 5 (16): type code 015 is neither a credit (100-399) nor a debit (400-699) "
                "transaction",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,30A,10000,0,BR2,,CHECK DEPOSIT/",
                "record 5 (16): type code '30A' is not three digits",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,301,100.00,0,BR2,,CHECK DEPOSIT/",
                "record 5 (16): amount '100.00' is not an unsigned number",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,301,-10000,0,BR2,,CHECK DEPOSIT/",
                "record 5 (16): amount '-10000' is not an unsigned number",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,301,10000,X,BR2,,CHECK DEPOSIT/",
                "record 5 (16): funds type 'X' is not one of Z, 0, 1, 2, V, S, D",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,301,10000,V,260230,,BR2,,CHECK DEPOSIT/",
                "record 5 (16): value date '260230' is not a date (YYMMDD)",
            ),
            (
                "16,301,10000,0,BR2,,CHECK DEPOSIT/",
                "16,301,10000,D,2,0,5000/",
                "record 5 (16): distribution 2 of 2 is missing",
            ),
            (
                "02,RECEIVER,BANKID,1,260228,2400,USD,2/",
                "02,RECEIVER,BANKID,1,2602,2400,USD,2/",
                "record 2 (02): as-of date '2602' is not a date (YYMMDD)",
            ),
            (
                "02,RECEIVER,BANKID,1,260228,2400,USD,2/",
                "02,RECEIVER,BANKID,1,260228,2400,US$,2/",
                "record 2 (02): currency 'US$' is not an ISO 4217 code",
            ),
            (
                "03,DE89370400440532013000,EUR,010,99999,,,015,100000,,/",
                "03,DE89370400440532013000,EUR,010,999.99,,,015,100000,,/",
                "record 8 (03): amount of type code 010 '999.99' is not a number",
            ),
            (
                "03,DE89370400440532013000,EUR,010,99999,,,015,100000,,/",
                "03,,EUR,010,99999,,,015,100000,,/",
                "record 8 (03): the customer account number is missing",
            ),
            (
                "49,390000,5/",
                "49,390000/",
                "record 7 (49): number of records is missing",
            ),
            (
                "98,590000,2,10/",
                "98,59O000,2,10/",
                "record 11 (98): group control total '59O000' is not a number",
            ),
            (
                "01,SENDER,RECEIVER,260301,0930,FILE7,80,10,2/",
                "01,SENDER,RECEIVER,260301,9:30,FILE7,80,10,2/",
                "record 1 (01): creation time '9:30' is not a time (HHMM)",
            ),
        ],
    )
    def test_a_bad_record_is_refused_in_one_line_naming_its_number(self, old: str, new: str, message: str):
        refused = _refusal(_replaced(old, new))

        assert str(refused) == f"file.bai: {message}"
        assert refused.code == "bad_bank_file"

    def test_a_16_outside_an_account_is_refused(self):
        refused = _refusal(_file([*GOOD[:2], GOOD[4], *GOOD[2:]]))

        assert str(refused) == (
            "file.bai: record 3 (16): a 16 record cannot come here: "
            "expected a 03 account or the 98 group trailer"
        )

    def test_an_88_after_a_trailer_is_refused(self):
        refused = _refusal(_file([*GOOD[:7], "88,MORE/", *GOOD[7:]]))

        assert (
            str(refused)
            == "file.bai: record 8 (88): an 88 continuation must follow a 01, 02, 03 or 16 record"
        )

    def test_a_record_after_the_99_is_refused(self):
        refused = _refusal(_file([*GOOD, GOOD[1]]))

        assert str(refused) == "file.bai: record 13 (02): a record after the 99 file trailer"
