"""The MT940 reader on generated files (always run) and the published samples (when present). No database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.mt940 import parse_mt940
from o2c.bankfiles.statement import Entry, Statement, TransactionDetails, balance_difference

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "mt940"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(),
    reason=f"MT940 sample files not found at {SAMPLES} (shared/testdata beside the repo)",
)

IBAN = "DE89370400440532013000"


def _message(
    *body: str,
    reference: str = "STMT-1",
    account: str = IBAN,
    number: str = "00001/001",
    opening: str = ":60F:C260301EUR1000,00",
    closing: str = ":62F:C260302EUR1000,00",
) -> str:
    return "\n".join([f":20:{reference}", f":25:{account}", f":28C:{number}", opening, *body, closing, "-"])


def _parse(*messages: str, newline: str = "\n", encoding: str = "utf-8") -> list[Statement]:
    text = "\n".join(messages).replace("\n", newline)
    return parse_mt940(text.encode(encoding), source="statement.sta")


def _refusal(data: bytes) -> UnableToReadBankFile:
    with pytest.raises(UnableToReadBankFile) as refused:
        parse_mt940(data, source="statement.sta")
    assert "\n" not in str(refused.value)
    return refused.value


def _only_details(entry: Entry) -> TransactionDetails:
    (details,) = entry.details
    return details


def _lines_of(text: str, *, width: int = 65) -> list[str]:
    """A field cut into lines of `width` characters, tag included, as banks wrap :86:."""
    return [text[start : start + width] for start in range(0, len(text), width)]


def _difference(statement: Statement) -> Decimal:
    """closing − (opening + entries), also for intermediate (:60M:/:62M:) balances."""
    assert statement.opening_balance is not None and statement.closing_balance is not None
    return statement.closing_balance - statement.opening_balance - sum(e.amount for e in statement.entries)


class TestGeneratedStatements:
    def test_a_two_message_file_with_swift_blocks_crlf_and_no_final_newline_reads_exactly(self):
        first = _message(
            ":61:2603020302C1250,50NTRFINV-2026-0042//BANKREF0001",
            ":86:Payment invoice INV-2026-0042",
            ":61:2603020302D250,00NDDTNONREF//BANKREF0002   ",
            closing=":62F:C260302EUR2000,50",
        )
        second = _message(
            ":61:2603030303C0,99NMSCNONREF//BANKREF0003",
            "",
            reference="STMT-2",
            account="12345678/1020304050",
            number="00002/001",
            opening=":60F:C260302EUR2000,50",
            closing=":62F:C260303EUR2001,49\n:64:C260303EUR1900,00\n:65:C260304EUR1900,00",
        )
        text = (
            "{1:F01TESTDEFFAXXX0000000000}{2:O940TESTDEFFXXXXN}{3:}{4:\n"
            + first.removesuffix("-")
            + "-}{5:}\n\n{1:F01TESTDEFFAXXX0000000000}{2:O940TESTDEFFXXXXN}{4:\n"
            + second.removesuffix("-")
            + "-}"
        )

        statements = parse_mt940(text.replace("\n", "\r\n").encode(), source="statement.sta")

        assert len(statements) == 2
        one, two = statements
        assert (one.message, one.version, one.namespace) == ("mt940", None, "")
        assert (one.message_id, one.statement_id) == ("STMT-1", "00001/001")
        assert (one.account_iban, one.account_other_id, one.currency) == (IBAN, None, "EUR")
        assert (two.account_iban, two.account_other_id) == (None, "12345678/1020304050")
        assert (one.opening_balance, one.closing_balance) == (Decimal("1000.00"), Decimal("2000.50"))
        assert one.created_at is None
        assert [(b.code, b.amount, b.currency, b.balance_date) for b in two.balances] == [
            ("OPBD", Decimal("2000.50"), "EUR", date(2026, 3, 2)),
            ("CLBD", Decimal("2001.49"), "EUR", date(2026, 3, 3)),
            ("CLAV", Decimal("1900.00"), "EUR", date(2026, 3, 3)),
            ("FWAV", Decimal("1900.00"), "EUR", date(2026, 3, 4)),
        ]
        entries = [*one.entries, *two.entries]
        assert [entry.position for entry in entries] == [1, 2, 3]
        assert [entry.amount for entry in entries] == [
            Decimal("1250.50"),
            Decimal("-250.00"),
            Decimal("0.99"),
        ]
        assert [entry.entry_reference for entry in entries] == ["INV-2026-0042", None, None]
        assert [entry.bank_reference for entry in entries] == ["BANKREF0001", "BANKREF0002", "BANKREF0003"]
        assert [entry.bank_transaction_code for entry in entries] == ["NTRF", "NDDT", "NMSC"]
        assert entries[0].value_date == date(2026, 3, 2)
        assert entries[0].booking_date == date(2026, 3, 2)
        assert entries[0].status == "BOOK"
        assert entries[0].remittance_unstructured == ("Payment invoice INV-2026-0042",)
        assert entries[2].remittance_unstructured == ()
        assert _only_details(entries[1]) == TransactionDetails(
            is_credit=False,
            amount=Decimal("-250.00"),
            currency="EUR",
            bank_reference="BANKREF0002",
            end_to_end_id=None,
            counterparty_name=None,
            counterparty_iban=None,
            remittance_unstructured=(),
            remittance_structured_refs=(),
        )
        assert [balance_difference(statement) for statement in statements] == [Decimal(0), Decimal(0)]

    def test_reversals_keep_the_sign_of_their_own_booking(self):
        (statement,) = _parse(
            _message(
                ":61:2603020302RC150,00NTRFNONREF//REV1",
                ":61:2603020302RDR20,00NTRFNONREF//REV2",
                ":61:2603020302DR5,00NCHGNONREF//FEE1",
                closing=":62F:C260302EUR865,00",
            )
        )

        assert [entry.amount for entry in statement.entries] == [
            Decimal("-150.00"),
            Decimal("20.00"),
            Decimal("-5.00"),
        ]
        assert [entry.is_reversal for entry in statement.entries] == [True, True, False]
        assert [entry.details[0].is_credit for entry in statement.entries] == [False, True, False]
        assert balance_difference(statement) == 0

    @pytest.mark.parametrize(
        ("statement_line", "value_date", "booking_date"),
        [
            ("2612310102C1,00NTRFNONREF", date(2026, 12, 31), date(2027, 1, 2)),
            ("2701021231C1,00NTRFNONREF", date(2027, 1, 2), date(2026, 12, 31)),
            ("2603150316C1,00NTRFNONREF", date(2026, 3, 15), date(2026, 3, 16)),
            ("260315C1,00NTRFNONREF", date(2026, 3, 15), None),
            ("260315    C1,00NTRFNONREF", date(2026, 3, 15), None),
            ("991231C1,00NTRFNONREF", date(1999, 12, 31), None),
        ],
    )
    def test_the_entry_date_takes_the_year_that_puts_it_nearest_the_value_date(
        self, statement_line: str, value_date: date, booking_date: date | None
    ):
        (statement,) = _parse(_message(f":61:{statement_line}", closing=":62F:C260302EUR1001,00"))

        assert statement.entries[0].value_date == value_date
        assert statement.entries[0].booking_date == booking_date

    def test_february_30_is_read_as_the_last_day_of_february(self):
        (statement,) = _parse(
            _message(":61:2602300302D6,00N024NONREF", closing=":62F:C260230EUR994,00"),
        )

        assert statement.entries[0].value_date == date(2026, 2, 28)
        assert statement.entries[0].booking_date == date(2026, 3, 2)
        assert statement.balances[1].balance_date == date(2026, 2, 28)

    def test_a_sepa_structured_86_gives_counterparty_references_and_remittance(self):
        field = (
            ":86:166?00SEPA-GUTSCHRIFT?109310"
            "?20EREF+E2E-2026-000042-ABCDEF?21GH?22SVWZ+Zahlung Rechnung RE-20?2326-00042 vom 02.03.2026"
            "?30COBADEFFXXX?31DE89 3704 0044 0532 0130 00?32Muster Maschinenbau GmbH?33Werk  Nord?34000"
        )
        (statement,) = _parse(
            _message(":61:2603020302C500,00NTRFNONREF//0724710333343453", *_lines_of(field))
        )
        entry = statement.entries[0]

        assert entry.proprietary_bank_transaction_code == "166"
        assert entry.end_to_end_id == "E2E-2026-000042-ABCDEFGH"
        assert entry.counterparty_name == "Muster Maschinenbau GmbH Werk Nord"
        assert entry.counterparty_iban == IBAN
        assert entry.remittance_unstructured == ("Zahlung Rechnung RE-2026-00042 vom 02.03.2026",)
        assert _only_details(entry).counterparty_account is None
        assert _only_details(entry).bank_reference == "0724710333343453"

    def test_a_structured_86_without_svwz_keeps_its_remittance_lines_as_given(self):
        (statement,) = _parse(
            _message(
                ":61:2603020302D800,00NSTONONREF//55555",
                ":86:008?00DAUERAUFTRAG?100599?20Miete Maerz?21Objekt 12 ?3010020030?31234567?32MUELLER",
                closing=":62F:C260302EUR200,00",
            )
        )
        details = _only_details(statement.entries[0])

        assert details.remittance_unstructured == ("Miete Maerz", "Objekt 12")
        assert (details.counterparty_name, details.counterparty_iban) == ("MUELLER", None)
        assert details.counterparty_account == "234567"
        assert details.end_to_end_id is None

    def test_an_eref_ends_where_the_bank_ended_its_subfield_short(self):
        (statement,) = _parse(
            _message(
                ":61:2603020302D0,08NTRFTFNr 40001 MSGID//0724710345316116",
                ":86:159?00RETOURE?100399?20EREF+TFNR 40001 00005?21MTLG:Grund nicht s?22pezifiziert?34914",
                closing=":62F:C260302EUR999,92",
            )
        )
        entry = statement.entries[0]

        assert entry.end_to_end_id == "TFNR 40001 00005"
        assert entry.entry_reference == "TFNr 40001 MSGID"
        assert entry.remittance_unstructured == ("EREF+TFNR 40001 00005", "MTLG:Grund nicht s", "pezifiziert")

    @pytest.mark.parametrize(
        ("field", "name", "iban", "end_to_end_id", "remittance", "refs", "reason"),
        [
            (
                ":86:/EREF/E2E-0042//CNTP/NL91ABNA0417164300/ABNANL2A/Klant BV/AMSTERDAM///REMI/USTD//"
                "Factuur 2026-0042/",
                "Klant BV",
                "NL91ABNA0417164300",
                "E2E-0042",
                ("Factuur 2026-0042",),
                (),
                None,
            ),
            (
                ":86:/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/J JANSEN/REMI/"
                "Factuur 123/EREF/NOTPROVIDED",
                "J JANSEN",
                "NL91ABNA0417164300",
                "NOTPROVIDED",
                ("Factuur 123",),
                (),
                None,
            ),
            (
                ":86:/RTRN/MS03/EREF/E2E-1//CNTP/NL91ABNA0417164300/ABNANL2A/Klant BV/AMSTERDAM///REMI/"
                "STRD/CUR/RF18539007547034/",
                "Klant BV",
                "NL91ABNA0417164300",
                "E2E-1",
                (),
                ("RF18539007547034",),
                "MS03",
            ),
        ],
        ids=["ing", "abn-amro", "ing-return"],
    )
    def test_the_slash_code_form_of_dutch_banks_is_read(
        self,
        field: str,
        name: str,
        iban: str,
        end_to_end_id: str,
        remittance: tuple[str, ...],
        refs: tuple[str, ...],
        reason: str | None,
    ):
        (statement,) = _parse(
            _message(
                ":61:2603020302C10,00NTRFNONREF//B1", *_lines_of(field), closing=":62F:C260302EUR1010,00"
            )
        )
        details = _only_details(statement.entries[0])

        assert details.counterparty_name == name
        assert details.counterparty_iban == iban
        assert details.end_to_end_id == end_to_end_id
        assert details.remittance_unstructured == remittance
        assert details.remittance_structured_refs == refs
        assert details.return_reason == reason
        assert statement.entries[0].proprietary_bank_transaction_code is None

    def test_free_text_86_is_one_line_joined_without_space_after_a_full_line(self):
        text = ":86:Betaling aan ICS 99999999999 Referentie 2026-03-02 19:47 00000000012"
        lines = _lines_of(text)
        assert len(lines[0]) == 65

        (statement,) = _parse(
            _message(
                ":61:2603020302D10,00NTRFNONREF//B1",
                *lines,
                "",
                "Second line",
                closing=":62F:C260302EUR990,00",
            )
        )

        assert statement.entries[0].remittance_unstructured == (
            "Betaling aan ICS 99999999999 Referentie 2026-03-02 19:47 00000000012 Second line",
        )

    def test_non_swift_fields_and_statement_information_are_skipped(self):
        (statement,) = _parse(
            _message(
                ":NS:22Test GmbH",
                "3037010000",
                ":61:2603020302C10,00NTRFNONREF//B1",
                "supplementary details",
                ":NS:01Verwendungszweck",
                ":86:Invoice 7",
                closing=":62F:C260302EUR1010,00\n:86:Information for the account owner",
            )
        )

        assert statement.entries[0].remittance_unstructured == ("Invoice 7",)
        assert balance_difference(statement) == 0

    def test_intermediate_balances_map_to_prcd_and_itbd(self):
        first, second = _parse(
            _message(":61:260302C10,00NTRFNONREF", closing=":62M:C260302EUR1010,00"),
            _message(
                ":61:260302D5,00NTRFNONREF",
                number="00001/002",
                opening=":60M:C260302EUR1010,00",
                closing=":62F:D260302EUR1005,00",
            ),
        )

        assert [balance.code for balance in first.balances] == ["OPBD", "ITBD"]
        assert [balance.code for balance in second.balances] == ["PRCD", "CLBD"]
        assert (first.opening_balance, first.closing_balance) == (Decimal("1000.00"), Decimal("1010.00"))
        assert (second.opening_balance, second.closing_balance) == (Decimal("1010.00"), Decimal("-1005.00"))
        assert balance_difference(first) is None  # no CLBD in an intermediate page
        assert _difference(first) == 0
        assert balance_difference(second) == Decimal("-2010.00")

    def test_a_latin_1_file_is_read(self):
        (statement,) = _parse(
            _message(
                ":61:260302C10,00NTRFNONREF", ":86:Zahlung Müller Straße", closing=":62F:C260302EUR1010,00"
            ),
            encoding="latin-1",
        )

        assert statement.entries[0].remittance_unstructured == ("Zahlung Müller Straße",)

    def test_a_statement_line_wrapped_after_the_mark_is_joined(self):
        (statement,) = _parse(
            _message(":61:1811261126CR", "30,00N062NONREF", closing=":62F:C260302EUR1030,00")
        )

        assert statement.entries[0].amount == Decimal("30.00")
        assert statement.entries[0].bank_transaction_code == "N062"

    def test_an_amount_without_decimals_after_the_comma_is_whole(self):
        (statement,) = _parse(_message(":61:260302D6800,NCHK16703074", closing=":62F:D260302EUR5800,"))

        assert statement.entries[0].amount == Decimal("-6800")
        assert statement.closing_balance == Decimal("-5800")
        assert balance_difference(statement) == 0


class TestRefusals:
    def test_an_empty_file(self):
        refused = _refusal(b"\r\n  \r\n")

        assert str(refused) == "statement.sta: the file is empty"

    def test_a_file_that_is_not_mt940(self):
        refused = _refusal(b"Date;Amount\n2026-03-02;10.00\n")

        assert str(refused) == (
            "statement.sta: line 1: not an MT940 file: expected a field such as :20:, found 'Date;Amount'"
        )
        assert refused.code == "unsupported_bank_file"

    def test_bytes_that_are_not_text(self):
        refused = _refusal(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00")

        assert str(refused) == "statement.sta: line 3: not a text file (control character 0x00)"
        assert refused.code == "unsupported_bank_file"

    def test_an_mt942_header(self):
        refused = _refusal(b"{1:F01TESTDEFFAXXX0000000000}{2:O942TESTDEFFXXXXN}{4:\n:20:X\n-}")

        assert (
            str(refused)
            == "statement.sta: line 1: the SWIFT header says MT942: only MT940 statements are read"
        )
        assert refused.code == "unsupported_bank_file"

    def test_an_mt942_field(self):
        refused = _refusal(b":20:X\n:25:1234\n:28C:1\n:34F:EURD0,00\n")

        assert str(refused) == (
            "statement.sta: line 4: :34F: is an MT942 field: MT942 interim reports are not imported "
            "(not final), import the MT940"
        )
        assert refused.code == "unsupported_bank_file"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                ":25:1234\n:28C:1\n",
                "line 1: :25: is outside a message (no :20: transaction reference before it)",
            ),
            (
                _message() + "\n:61:260302C1,00NTRF",
                "line 7: :61: is outside a message (no :20: transaction reference before it)",
            ),
            (_message(opening=""), "line 1: the message has no :60F:/:60M: opening balance"),
            (_message(closing=""), "line 1: the message has no :62F:/:62M: closing balance"),
            (_message().replace(":28C:00001/001\n", ""), "line 1: the message has no :28C: statement number"),
            (
                _message().replace(f":25:{IBAN}\n", ""),
                "line 1: the message has no :25: account identification",
            ),
            (_message() + "\nsome text", "line 7: text outside a message: 'some text'"),
            (_message().replace(":20:STMT-1", ":20:STMT-1\nmore"), "line 2: unexpected text in :20: 'more'"),
            (_message().replace(":20:STMT-1", ":20:"), "line 1: :20: is empty"),
        ],
    )
    def test_a_missing_or_stray_field(self, text: str, message: str):
        assert str(_refusal(text.encode())) == f"statement.sta: {message}"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (
                ":61:26030C10,00NTRF",
                "line 5: :61: '26030C10,00NTRF' is not a statement line (date YYMMDD, "
                "entry date MMDD, C/D/RC/RD, amount, type, reference)",
            ),
            (
                ":61:260302X10,00NTRF",
                "line 5: :61: '260302X10,00NTRF' is not a statement line (date YYMMDD, "
                "entry date MMDD, C/D/RC/RD, amount, type, reference)",
            ),
            (":61:260302C10.00NTRF", "line 5: :61: amount '10.00' is not an amount with a decimal comma"),
            (
                ":61:260302C1.000,00NTRF",
                "line 5: :61: amount '1.000,00' is not an amount with a decimal comma",
            ),
            (":61:260302C10,001NTRF", "line 5: :61: amount '10,001' has more decimals than EUR allows (2)"),
            (":61:260302C10,00", "line 5: :61: transaction type '' is not a letter and 3 characters"),
            (":61:261302C10,00NTRF", "line 5: :61: value date '261302' is not a date"),
            (":61:2603021332C10,00NTRF", "line 5: :61: entry date '1332' is not a date"),
        ],
    )
    def test_a_statement_line_that_cannot_be_read(self, body: str, message: str):
        assert str(_refusal(_message(body).encode())) == f"statement.sta: {message}"

    @pytest.mark.parametrize(
        ("opening", "message"),
        [
            (
                ":60F:C260301EUR1000.00",
                "line 4: :60F: amount '1000.00' is not an amount with a decimal comma",
            ),
            (
                ":60F:C2603011000,00",
                "line 4: :60F: 'C2603011000,00' is not a balance (C or D, date YYMMDD, currency, amount)",
            ),
            (
                ":60F:X260301EUR1000,00",
                "line 4: :60F: 'X260301EUR1000,00' is not a balance (C or D, date YYMMDD, currency, amount)",
            ),
            (":60F:C260301ABC1000,00", "line 4: :60F: currency 'ABC' is not an ISO 4217 code"),
            (":60F:C260001EUR1000,00", "line 4: :60F: date '260001' is not a date"),
            (
                ":60F:C260301JPY1000,50",
                "line 4: :60F: amount '1000,50' has more decimals than JPY allows (0)",
            ),
        ],
    )
    def test_a_balance_that_cannot_be_read(self, opening: str, message: str):
        assert str(_refusal(_message(opening=opening).encode())) == f"statement.sta: {message}"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (":25:1234", "line 5: :25: is out of place after :60F: of line 4"),
            (":60F:C260301EUR1000,00", "line 5: :60F: repeats :60F: of line 4"),
            (":61:260302C1,00NTRF\n:86:a\n:86:b", "line 7: :86: follows the :86: of line 6"),
        ],
    )
    def test_a_field_out_of_place(self, body: str, message: str):
        assert str(_refusal(_message(body).encode())) == f"statement.sta: {message}"

    def test_an_86_before_the_opening_balance(self):
        text = _message().replace(":28C:", ":86:info\n:28C:")

        assert (
            str(_refusal(text.encode())) == "statement.sta: line 3: :86: is out of place after :25: of line 2"
        )

    def test_a_refusal_is_a_bad_bank_file(self):
        assert _refusal(_message(":61:bad").encode()).code == "bad_bank_file"


# --- the published samples ---


def _sample(name: str) -> list[Statement]:
    return parse_mt940((SAMPLES / name).read_bytes(), source=name)


def _sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


PREFIX = "wolph__"
# file -> (statements, entries, indexes of statements that do not balance)
PARSED = {
    "ASNB__mt940.txt": (31, 8, ()),
    "ASNB__mt940_with_spaces_for_entry_date.txt": (31, 8, ()),
    "betterplace__sepa_mt9401.sta": (26, 97, ()),
    "betterplace__sepa_snippet.sta": (2, 11, (1,)),
    "betterplace__with_binary_character.sta": (2, 4, ()),
    "citi__mt940.txt": (1, 5, ()),
    "cmxl__mt940.sta": (3, 16, ()),
    "mBank__mt940.sta": (1, 3, ()),
    "mBank__with_newline_in_tnr.sta": (1, 2, (0,)),
    "sberbank__171011_01234945.sta": (1, 3, ()),
    "self-provided__details_60-63.sta": (1, 1, (0,)),
    "self-provided__february_30.sta": (1, 1, ()),
    "self-provided__long_statement_number.sta": (1, 0, ()),
    "self-provided__malformed_details.sta": (1, 1, (0,)),
    "self-provided__overly_long_details.sta": (1, 1, (0,)),
    "self-provided__raiffeisen-cmi.sta": (1, 7, (0,)),
    "self-provided__transaction_details_wrapped.sta": (1, 1, ()),
    "self-provided__whitespace.sta": (1, 1, (0,)),
    "self-provided__wrapped_timestamp.sta": (1, 1, ()),
}
MT942 = ":34F: is an MT942 field: MT942 interim reports are not imported (not final), import the MT940"
OUTSIDE = "is outside a message (no :20: transaction reference before it)"
# file -> (code, message after the file name). Most are single-field snippets of the mt-940 library's own
# tests, not statements; TestSampleSnippets reads their field inside a generated message.
REFUSED = {
    "betterplace__amount_formats.sta": ("bad_bank_file", f"line 1: :60F: {OUTSIDE}"),
    "betterplace__currency_in_25.sta": ("bad_bank_file", f"line 1: :25: {OUTSIDE}"),
    "betterplace__empty_86.sta": ("bad_bank_file", f"line 1: :86: {OUTSIDE}"),
    "betterplace__empty_entry_date.sta": ("bad_bank_file", f"line 1: :61: {OUTSIDE}"),
    "betterplace__empty_line.sta": (
        "bad_bank_file",
        "line 2: the message has no :25: account identification",
    ),
    "betterplace__missing_crlf_at_end.sta": ("bad_bank_file", f"line 1: :62F: {OUTSIDE}"),
    "betterplace__sepa_snippet_broken.sta": (
        "bad_bank_file",
        "line 6: :25: is out of place after :61: of line 5",
    ),
    "cmxl__account_balance_credit.sta": ("bad_bank_file", f"line 1: :60F: {OUTSIDE}"),
    "cmxl__account_balance_debit.sta": ("bad_bank_file", f"line 1: :60F: {OUTSIDE}"),
    "cmxl__account_identification_iban.sta": ("bad_bank_file", f"line 1: :25: {OUTSIDE}"),
    "cmxl__account_identification_legacy.sta": ("bad_bank_file", f"line 1: :25: {OUTSIDE}"),
    "cmxl__available_balance.sta": ("bad_bank_file", f"line 1: :64: {OUTSIDE}"),
    "cmxl__closing_balance.sta": ("bad_bank_file", f"line 1: :62F: {OUTSIDE}"),
    "cmxl__reference.sta": ("bad_bank_file", "line 1: the message has no :25: account identification"),
    "cmxl__statement_details.sta": ("bad_bank_file", f"line 1: :61: {OUTSIDE}"),
    "cmxl__statement_line.sta": ("bad_bank_file", f"line 1: :61: {OUTSIDE}"),
    "cmxl__statement_number.sta": ("bad_bank_file", f"line 1: :28C: {OUTSIDE}"),
    "mBank__mt942.sta": (
        "unsupported_bank_file",
        f"line 5: {MT942}",
    ),
    "self-provided__account_identification.sta": (
        "bad_bank_file",
        "line 1: the message has no :28C: statement number",
    ),
    "self-provided__empty_non_swift.sta": ("bad_bank_file", f"line 1: :NS: {OUTSIDE}"),
    # A truncated message: :61: and :86: but no closing balance.
    "self-provided__gv_codes.sta": (
        "bad_bank_file",
        "line 1: the message has no :62F:/:62M: closing balance",
    ),
    "self-provided__invalid_statement.sta": (
        "unsupported_bank_file",
        "line 1: not an MT940 file: expected a field such as :20:, found '1'",
    ),
    "self-provided__mt942.sta": (
        "unsupported_bank_file",
        f"line 4: {MT942}",
    ),
    # A stray :61: after the message's end; the message itself reads (TestParsedSamples).
    "self-provided__multiline.sta": ("bad_bank_file", f"line 38: :61: {OUTSIDE}"),
    # Its :62M: and :62F: have no currency.
    "self-provided__raphaelm.sta": (
        "bad_bank_file",
        "line 27: :62M: 'C020315105000,00' is not a balance (C or D, date YYMMDD, currency, amount)",
    ),
    # The :61: is wrapped, then ":" and "86:" on lines of their own; no :20:.
    "self-provided__sparkassen.sta": ("bad_bank_file", f"line 1: :61: {OUTSIDE}"),
}


@needs_samples
class TestSampleCoverage:
    def test_every_sample_is_either_parsed_or_refused(self):
        names = {path.name for path in SAMPLES.iterdir() if path.name != "SOURCES.txt"}

        assert names == {PREFIX + name for name in [*PARSED, *REFUSED]}
        assert len(PARSED) == 19
        assert len(REFUSED) == 26

    @pytest.mark.parametrize("name", sorted(PARSED))
    def test_a_sample_parses_and_balances_where_expected(self, name: str):
        statements_count, entries_count, unbalanced = PARSED[name]

        statements = _sample(PREFIX + name)

        assert len(statements) == statements_count
        entries = [entry for statement in statements for entry in statement.entries]
        assert [entry.position for entry in entries] == list(range(1, entries_count + 1))
        for index, statement in enumerate(statements):
            if index in unbalanced:
                assert _difference(statement) != 0
            else:
                assert _difference(statement) == 0
                if {b.code for b in statement.balances} & {"OPBD", "PRCD"} and "CLBD" in {
                    b.code for b in statement.balances
                }:
                    assert balance_difference(statement) == 0

    @pytest.mark.parametrize("name", sorted(REFUSED))
    def test_a_sample_is_refused_for_the_expected_reason(self, name: str):
        code, message = REFUSED[name]

        with pytest.raises(UnableToReadBankFile) as refused:
            _sample(PREFIX + name)

        assert str(refused.value) == f"{PREFIX}{name}: {message}"
        assert refused.value.code == code


@needs_samples
class TestParsedSamples:
    def test_asn_bank_statements_with_swift_blocks(self):
        statements = _sample("wolph__ASNB__mt940.txt")
        first, fifth, last = statements[0], statements[4], statements[30]

        assert (first.message_id, first.statement_id) == ("0000000000", "1/1")
        # The anonymised account fails its IBAN checksum: kept as another id.
        assert (first.account_iban, first.account_other_id) == (None, "NL81ASNB9999999999")
        assert [(b.code, b.amount, b.balance_date) for b in first.balances] == [
            ("OPBD", Decimal("444.29"), date(2020, 1, 1)),
            ("CLBD", Decimal("379.29"), date(2020, 1, 1)),
        ]
        entry = first.entries[0]
        assert (entry.amount, entry.value_date, entry.booking_date) == (
            Decimal("-65.00"),
            date(2020, 1, 1),
            date(2020, 1, 1),
        )
        assert (entry.entry_reference, entry.bank_reference, entry.bank_transaction_code) == (
            "NL47INGB9999999999",
            None,
            "NOVB",
        )
        assert entry.remittance_unstructured == ("NL47INGB9999999999 hr gjlm paulissen Betaling sieraden",)
        assert [e.amount for e in fifth.entries] == [Decimal("1000.00"), Decimal("-801.55")]
        # A full 65-character line goes on without a space ("I" + "CS").
        assert fifth.entries[1].remittance_unstructured == (
            "NL08ABNA9999999999 international card services 000000000000000000000000000000000 "
            "0000000000000000 Betaling aan ICS 99999999999 ICS Referentie: 2020-01-05 19:47 000000000000000",
        )
        assert (last.statement_id, last.closing_balance) == ("31/1", Decimal("501.23"))

    def test_asn_bank_with_spaces_for_the_entry_date(self):
        statements = _sample("wolph__ASNB__mt940_with_spaces_for_entry_date.txt")

        assert statements[0].entries[0].booking_date is None
        assert statements[0].entries[0].value_date == date(2020, 1, 1)
        assert statements[0].entries[0].amount == Decimal("-65.00")

    def test_betterplace_sepa_file(self):
        statements = _sample("wolph__betterplace__sepa_mt9401.sta")
        first = statements[0]

        assert (first.message_id, first.statement_id, first.account_other_id) == (
            "T089413946000001",
            "00004/00001",
            "50880050/0194774600888",
        )
        assert (first.opening_balance, first.closing_balance) == (
            Decimal("-1234718.36"),
            Decimal("-1237628.23"),
        )
        reversal = first.entries[5]
        assert (reversal.amount, reversal.is_reversal, reversal.bank_transaction_code) == (
            Decimal("-204.88"),
            True,
            "NRTI",
        )
        assert reversal.proprietary_bank_transaction_code == "079"
        returned = first.entries[4]
        assert (returned.amount, returned.entry_reference, returned.bank_reference) == (
            Decimal("915311.55"),
            "TFNr 44003 MSGID",
            "R724710351061495",
        )
        assert returned.end_to_end_id == "TFNR 44003 00002"
        credit = statements[1].entries[0]
        assert credit.counterparty_name == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
        assert credit.counterparty_iban == "DE42100100100043921105"
        assert credit.end_to_end_id == "EndToEndIdTFNR2000400001"
        # ?32 of 26 characters ends a word: a space before ?33.
        assert (
            statements[3].entries[0].counterparty_name
            == "Daniel Severidt 70 Zeichen Beginn Fuellzeichen xxxxxxx"
        )
        assert statements[3].entries[0].remittance_unstructured == ("TO13 TF20010 MINT 20010 2007-08.30",)
        assert statements[2].entries[1].counterparty_iban == "CH8500779014054431109"
        # Statements split over several messages: :62M: then :60M:.
        assert [(s.statement_id, [b.code for b in s.balances]) for s in statements[6:8]] == [
            ("00004/00001", ["OPBD", "ITBD"]),
            ("00004/00002", ["PRCD", "CLBD", "CLAV"]),
        ]
        assert statements[6].closing_balance == statements[7].opening_balance == Decimal("-30503.83")
        assert [s.statement_id for s in statements].count("00004/00003") == 1
        assert (statements[-1].opening_balance, statements[-1].closing_balance) == (
            Decimal(0),
            Decimal("50.05"),
        )

    def test_betterplace_sepa_snippet(self):
        first, second = _sample("wolph__betterplace__sepa_snippet.sta")
        entry = first.entries[0]

        assert (entry.amount, entry.value_date, entry.booking_date) == (
            Decimal("50990.05"),
            date(2007, 9, 7),
            date(2007, 9, 4),
        )
        assert (entry.entry_reference, entry.bank_reference) == (None, "0724710333343453")
        assert (entry.bank_transaction_code, entry.proprietary_bank_transaction_code) == ("NTRF", "166")
        assert (entry.counterparty_name, entry.counterparty_iban) == (
            "KARL KAUFMANN",
            "DE14508800500194785000",
        )
        assert entry.end_to_end_id == "EndToEndId TFNR 22 004 00001"
        assert entry.remittance_unstructured == ("Verw CTSc-01 BC-PPP TFNr 22 004",)
        batch = first.entries[3]
        assert (batch.amount, batch.entry_reference, batch.bank_reference) == (
            Decimal("-1500.00"),
            "KREF+",
            "536D80EFEC56ACF8",
        )
        assert batch.remittance_unstructured == (
            "KREF+TFNr 01022 MSGID CTSc-",
            "01 EBB",
            "MTLG:SEPA-Ueberweisungsauft",
            "rag Datei mit 0000001 Zahlu",
            "ngen",
        )
        assert [(b.code, b.amount) for b in first.balances] == [
            ("OPBD", Decimal("766656.49")),
            ("CLBD", Decimal("1125250.40")),
            ("CLAV", Decimal("559614.51")),
        ]
        assert balance_difference(first) == 0
        assert balance_difference(second) == Decimal("300.08")

    def test_betterplace_utf8_names(self):
        first, second = _sample("wolph__betterplace__with_binary_character.sta")

        assert first.message_id == "STAR1ÜTßUMS"
        entry = first.entries[0]
        assert (entry.amount, entry.entry_reference, entry.bank_reference) == (
            Decimal("27.00"),
            "100323-03-100323",
            "32-P1-TCS49518",
        )
        assert (entry.counterparty_name, _only_details(entry).counterparty_account) == (
            "PAYPAL",
            "0175526300",
        )
        assert entry.remittance_unstructured == (
            "QQW53T2245ZGY46J ABBUCHUNG",
            "VOM PAYPAL-KONTO",
            "100318P3TX1433EV",
        )
        assert second.entries[0].remittance_unstructured[1] == "Überweisung:19.03.2010"
        assert (second.entries[0].value_date, second.entries[0].booking_date) == (
            date(2010, 3, 22),
            date(2010, 3, 19),
        )

    def test_citi(self):
        (statement,) = _sample("wolph__citi__mt940.txt")

        assert (statement.statement_id, statement.account_other_id, statement.currency) == (
            "1/1",
            "123456789",
            "USD",
        )
        assert [entry.amount for entry in statement.entries] == [
            Decimal("-212.39"),
            Decimal("-369.28"),
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("-561.08"),
        ]
        assert [entry.bank_transaction_code for entry in statement.entries] == [
            "NMSC",
            "NDEF",
            "NDEF",
            "NDEF",
            "NDEF",
        ]
        assert {
            (entry.entry_reference, entry.bank_reference, entry.booking_date) for entry in statement.entries
        } == {(None, None, None)}
        assert statement.entries[0].remittance_unstructured == (
            "/PT/FT/PY/SOMETHING FOO BAR          112233   123456789",
        )
        assert statement.entries[2].remittance_unstructured == ()

    def test_cmxl_three_banks(self):
        german, structured, polish = _sample("wolph__cmxl__mt940.sta")

        assert (german.statement_id, german.currency) == ("27/01", "DEM")
        assert [entry.amount for entry in german.entries][:3] == [
            Decimal("-6800"),
            Decimal("-620.3"),
            Decimal("18500"),
        ]
        assert german.entries[1].entry_reference == "N"
        assert german.entries[0].remittance_unstructured == ("999PN5477SCHECK-NR. 0000016703074",)
        assert structured.entries[0].remittance_unstructured == ("Miete November",)
        assert (structured.entries[0].booking_date, structured.entries[0].bank_reference) == (
            date(2002, 11, 2),
            "55555",
        )
        # Its lines break before 65 characters, so a space goes in: wrong for "Oktob/er", right for "Firma".
        assert structured.entries[1].remittance_unstructured == ("Gehalt Oktob er", "Firma Mustermann GmbH")
        assert _only_details(structured.entries[1]).counterparty_account == "0847564700"
        card = polish.entries[0]
        assert (card.amount, card.bank_transaction_code, card.proprietary_bank_transaction_code) == (
            Decimal("20000.00"),
            "FMSC",
            "020",
        )
        # ?31 is an account number, ?38 the IBAN.
        assert card.counterparty_iban == "PL08106000760000777777777777"
        assert _only_details(card).counterparty_account == "0000777777777777"
        # Its ?32 has 26 characters (a hand-written sample), so a space goes in before ?33.
        assert card.counterparty_name == "HUTA SZKLA TOPIC UL PRZEMY SLOWA 67 32-669 WROCLAW"
        assert polish.entries[1].entry_reference == "REF 25611247"
        assert polish.entries[2].remittance_unstructured == ("Odsetki od lokaty nr 101000", "022086")
        assert polish.balances[1].balance_date == date(2002, 3, 25)

    def test_mbank(self):
        (statement,) = _sample("wolph__mBank__mt940.sta")
        entry = statement.entries[0]

        assert statement.account_iban == "PL29114010810000267002001002"
        assert (statement.opening_balance, statement.closing_balance) == (Decimal("0.40"), Decimal("0.43"))
        assert (entry.amount, entry.bank_reference) == (Decimal("0.01"), "MB170119012058")
        assert entry.remittance_unstructured == (
            "911 TRANSAKCJA COLLECT; ID IPH: XX000000000001; Z RACH.: 56114010810000267002001001; "
            "OD: JAN NOWAK  UL. NIJAKA 1 M 2 31-234 KRAKOW; TYT.: PRZELEW SRODKOW   ; "
            "TNR: 179171073864111.010001",
        )

    def test_mbank_with_a_newline_in_the_tnr(self):
        (statement,) = _sample("wolph__mBank__with_newline_in_tnr.sta")

        assert statement.entries[0].remittance_unstructured[0].endswith("; TNR: 179301073837502.000001")
        assert [entry.amount for entry in statement.entries] == [Decimal("45.00"), Decimal("44.00")]
        assert balance_difference(statement) == Decimal("770.71")

    def test_sberbank_with_non_swift_fields(self):
        (statement,) = _sample("wolph__sberbank__171011_01234945.sta")

        assert (statement.statement_id, statement.account_other_id, statement.currency) == (
            "00046",
            "1966315302010001",
            "HUF",
        )
        assert [entry.amount for entry in statement.entries] == [
            Decimal("-2402.00"),
            Decimal("-3460.00"),
            Decimal("-3575.00"),
        ]
        assert {(e.bank_transaction_code, e.entry_reference, e.booking_date) for e in statement.entries} == {
            ("S", "X", date(2017, 10, 11))
        }

    @pytest.mark.parametrize(
        "name", ["self-provided__february_30.sta", "self-provided__transaction_details_wrapped.sta"]
    )
    def test_february_30(self, name: str):
        (statement,) = _sample(PREFIX + name)
        entry = statement.entries[0]

        assert (entry.value_date, entry.booking_date, entry.amount) == (
            date(2016, 2, 29),
            date(2016, 3, 1),
            Decimal("-6.00"),
        )
        assert entry.proprietary_bank_transaction_code == "805"
        assert entry.remittance_unstructured[0] == "Pauschalen"
        assert balance_difference(statement) == 0

    def test_a_time_wrapped_at_its_colon_stays_whole(self):
        (wrapped,) = _sample("wolph__self-provided__transaction_details_wrapped.sta")
        (timestamp,) = _sample("wolph__self-provided__wrapped_timestamp.sta")

        assert wrapped.entries[0].remittance_unstructured == ("Pauschalen", "2017-01-01T13:12:11")
        assert timestamp.entries[0].end_to_end_id == "VZ0000000000000000"
        assert "/PL 12-09-2014T16:26:37 Fo" in timestamp.entries[0].remittance_unstructured

    def test_details_in_60_to_63(self):
        (statement,) = _sample("wolph__self-provided__details_60-63.sta")
        entry = statement.entries[0]

        assert entry.end_to_end_id == "123/123/12345-----L110"
        assert entry.counterparty_name == "Finanzamt Muenchen Abteilung Erhebung"
        # A dummy IBAN with a wrong checksum: kept as the account.
        assert (entry.counterparty_iban, _only_details(entry).counterparty_account) == (
            None,
            "DE99700500000000012345",
        )
        assert entry.remittance_unstructured == (
            "EREF+123/123/12345-----L110",
            "000000012345 BIC: BYLADEMM",
            "ABWA: Finanzamt Muenchen",
            "ABWA+Finanzamt Muenchen",
            "Abteilung Erhebung",
        )

    @pytest.mark.parametrize(
        "name", ["self-provided__malformed_details.sta", "self-provided__overly_long_details.sta"]
    )
    def test_svwz_running_over_all_ten_lines_and_into_60(self, name: str):
        (statement,) = _sample(PREFIX + name)
        entry = statement.entries[0]

        assert entry.end_to_end_id == "123/123/12345-----L1101234567890123"
        assert entry.remittance_unstructured == (
            "STEUERNR 123/123/12345     KOERPST 3VJ.17  233,15EUR EREF: 123/123/12345-----L1112345678912345 "
            "MREF: BYA12345678901 CRED: DE99ZZZ00000012345 IBAN: DE00700500000000012345 BIC: BYLADEMM "
            "ABWA: Finanzamt Muenchen",
        )
        assert entry.amount == Decimal("-233.15")

    def test_whitespace_at_the_start_of_a_wrapped_line_is_kept(self):
        (statement,) = _sample("wolph__self-provided__whitespace.sta")
        entry = statement.entries[0]

        assert entry.remittance_unstructured == (
            "ERSTATTUNG AUSLANDSEINSATZE",
            "NTGELT FUER VISA 4998 XXXX",
            "XXXX 1234",
        )
        assert entry.counterparty_name == "DEUTSCHE KREDITBANK AG"
        assert _only_details(entry).counterparty_account == "9003932309"

    def test_a_long_statement_number_and_zero_balances(self):
        (statement,) = _sample("wolph__self-provided__long_statement_number.sta")

        assert (statement.statement_id, statement.account_other_id, statement.currency) == (
            "1810118101",
            "0067-00763/93984487",
            "TRY",
        )
        assert (statement.opening_balance, statement.closing_balance, statement.entries) == (
            Decimal(0),
            Decimal(0),
            (),
        )

    def test_raiffeisen_in_a_dos_code_page_with_forward_balances(self):
        (statement,) = _sample("wolph__self-provided__raiffeisen-cmi.sta")

        assert statement.account_other_id == "UBRTHUHB/123456789150ABCDEF002/HUF"
        assert [(b.code, b.balance_date) for b in statement.balances] == [
            ("OPBD", date(2018, 4, 17)),
            ("CLBD", date(2018, 4, 17)),
            ("CLAV", date(2018, 4, 17)),
            ("FWAV", date(2018, 4, 18)),
            ("FWAV", date(2018, 4, 19)),
            ("FWAV", date(2018, 4, 20)),
        ]
        first = statement.entries[0]
        assert (first.amount, first.bank_transaction_code, first.entry_reference) == (
            Decimal("2066637.00"),
            "N527",
            None,
        )
        assert statement.entries[1].remittance_unstructured == (
            "BBK18D0000188142 123777040156667300100001 SPYMARKET S.R.O. 18175",
        )
        assert balance_difference(statement) == Decimal("1123264.00")

    def test_the_message_of_multiline_before_its_stray_statement_line(self):
        data = (SAMPLES / "wolph__self-provided__multiline.sta").read_bytes()
        message = data[: data.index(b"-\n:61:") + 2]

        (statement,) = parse_mt940(message, source="multiline.sta")
        entry = statement.entries[0]

        assert (statement.statement_id, statement.account_other_id) == (
            "00115/001",
            'BILLLULLXXX/"NUMERO DE COMPTE IBAN 2"',
        )
        assert (entry.amount, entry.entry_reference, entry.bank_reference) == (
            Decimal("-5"),
            "REFERENCE DO 111",
            "MUL0408041114005",
        )
        # ?20-?29 and ?60-?63: 14 lines; ?64/?65 and the statement-level :86: are not remittance.
        assert len(entry.remittance_unstructured) == 14
        assert entry.remittance_unstructured[5] == "/CHGS/EUR0,5/"
        assert balance_difference(statement) == 0


@needs_samples
class TestSampleSnippets:
    """The single-field samples read inside a generated message."""

    def test_amount_formats(self):
        openings = _sample_text("wolph__betterplace__amount_formats.sta").split()
        amounts = [_parse(_message(opening=opening))[0].opening_balance for opening in openings]

        assert amounts == [
            Decimal("380115.12"),
            Decimal("380115.1"),
            Decimal("380115"),
            Decimal("0.12"),
            Decimal("0.12"),
            Decimal("1.12"),
        ]

    @pytest.mark.parametrize(
        ("name", "other_id"),
        [
            ("betterplace__currency_in_25.sta", "51210600/9223382012EUR"),
            ("cmxl__account_identification_legacy.sta", "70011110/4005287001EUR"),
            # A dummy with a wrong IBAN checksum.
            ("cmxl__account_identification_iban.sta", "PL25106000760000888888888888"),
        ],
    )
    def test_an_account_is_kept_as_written_unless_it_is_a_valid_iban(self, name: str, other_id: str):
        account = _sample_text(PREFIX + name).strip().removeprefix(":25:")

        (statement,) = _parse(_message(account=account))

        assert (statement.account_iban, statement.account_other_id, statement.currency) == (
            None,
            other_id,
            "EUR",
        )

    @pytest.mark.parametrize(
        ("name", "code", "amount", "day"),
        [
            ("cmxl__account_balance_credit.sta", "OPBD", Decimal("147.64"), date(2014, 8, 29)),
            ("cmxl__account_balance_debit.sta", "OPBD", Decimal("-147.64"), date(2014, 8, 29)),
            ("cmxl__closing_balance.sta", "CLBD", Decimal("137.00"), date(2014, 9, 1)),
            ("cmxl__available_balance.sta", "CLAV", Decimal("-3.66"), date(2014, 9, 1)),
            ("betterplace__missing_crlf_at_end.sta", "CLBD", Decimal("42570.04"), date(2010, 3, 23)),
        ],
    )
    def test_balances(self, name: str, code: str, amount: Decimal, day: date):
        field = _sample_text(PREFIX + name).removesuffix("-").strip()
        if code == "OPBD":
            text = _message(opening=field)
        elif code == "CLBD":
            text = _message(closing=field)
        else:
            text = _message(closing=":62F:C140901EUR137,00\n" + field)

        (statement,) = _parse(text.removesuffix("\n-") + "\n-")

        balance = next(balance for balance in statement.balances if balance.code == code)
        assert (balance.amount, balance.balance_date) == (amount, day)

    def test_reference_and_statement_number(self):
        reference = _sample_text("wolph__cmxl__reference.sta").strip().removeprefix(":20:")
        number = _sample_text("wolph__cmxl__statement_number.sta").strip().removeprefix(":28C:")

        (statement,) = _parse(_message(reference=reference, number=number))

        assert (statement.message_id, statement.statement_id) == ("D140902049", "00035/001")

    def test_statement_line_and_details(self):
        lines = _sample_text("wolph__cmxl__statement_details.sta").splitlines()

        (statement,) = _parse(_message(*lines, opening=":60F:C140901EUR10,00", closing=":62F:C140902EUR8,38"))
        entry = statement.entries[0]

        assert (entry.amount, entry.value_date, entry.booking_date) == (
            Decimal("-1.62"),
            date(2014, 9, 1),
            date(2014, 9, 2),
        )
        assert (entry.entry_reference, entry.bank_reference) == ("0000549855700010", "025498557/000001")
        assert (entry.bank_transaction_code, entry.proprietary_bank_transaction_code) == ("NTRF", "171")
        assert entry.end_to_end_id == "TRX-0A4A47C3-F846-4729-8A1B-5DF620F"
        # SVWZ+ runs on into ?26 without a separator, like SEPA's 140 characters.
        assert entry.remittance_unstructured == ("FOO TRX-0A4A47C3-F846-4729-8A1B-5DF620F",)
        assert entry.counterparty_name == "Peter Pan"
        assert _only_details(entry).counterparty_account == "HUkkbbbsssskcccccccccccccccx"
        assert balance_difference(statement) == 0
        (line_only,) = _parse(
            _message(
                *_sample_text("wolph__cmxl__statement_line.sta").splitlines(), closing=":62F:C260302EUR998,38"
            )
        )
        assert line_only.entries[0].amount == Decimal("-1.62")

    def test_empty_entry_date_and_empty_86(self):
        line = _sample_text("wolph__betterplace__empty_entry_date.sta").splitlines()[0]
        details = _sample_text("wolph__betterplace__empty_86.sta").removesuffix("-").strip()

        (statement,) = _parse(_message(line, details, closing=":62F:C260302EUR1050,00"))
        entry = statement.entries[0]

        assert (entry.value_date, entry.booking_date, entry.amount) == (
            date(2011, 7, 1),
            None,
            Decimal("50.00"),
        )
        assert (entry.bank_transaction_code, entry.entry_reference) == ("NZ10", None)
        assert (entry.proprietary_bank_transaction_code, entry.remittance_unstructured) == ("091", ())

    def test_a_statement_line_wrapped_after_its_mark(self):
        lines = _sample_text("wolph__self-provided__sparkassen.sta").splitlines()[:2]

        (statement,) = _parse(_message(*lines, closing=":62F:C260302EUR1030,00"))

        assert statement.entries[0].amount == Decimal("30.00")
        assert statement.entries[0].value_date == date(2018, 11, 26)

    def test_the_gv_codes_message_reads_once_closed(self):
        text = _sample_text("wolph__self-provided__gv_codes.sta").rstrip() + "\n:62F:C170914EUR12087,67\n-"

        (statement,) = parse_mt940(text.encode(), source="gv_codes.sta")
        entry = statement.entries[0]

        assert entry.proprietary_bank_transaction_code == "835"
        assert entry.end_to_end_id == "1234567890123 PAYPAL"
        assert entry.counterparty_name == "PayPal (Europe) S.a.r.l. et"
        # "S" + "VWZ+" across ?24/?25: the keyword is found in the joined text.
        assert entry.remittance_unstructured == (". SPOTIFY, Ihr Einkaufbei SPOTIFY",)
        assert statement.entries[1].amount == Decimal("-24.30")
        assert balance_difference(statement) == 0

    def test_a_non_swift_field_alone(self):
        (statement,) = _parse(_message(_sample_text("wolph__self-provided__empty_non_swift.sta").strip()))

        assert statement.entries == ()
