"""A CsvMapping kept as JSON (and read back the same), and whether a file's header has a mapping's
columns: read after its skip_rows, in its encoding and delimiter, names compared case-insensitively."""

from __future__ import annotations

import pytest

from o2c.bankfiles.csvformats import (
    MAPPING_HEAD_BYTES,
    CsvMapping,
    csv_mapping_from_json,
    csv_mapping_to_json,
    mapped_header,
    mapping_fits,
)
from tests.unit.bankfiles.test_csvformats import GERMAN, GERMAN_MAPPING


class TestJson:
    def test_every_field_round_trips_several_text_columns_as_a_list(self):
        fields = csv_mapping_to_json(GERMAN_MAPPING)

        assert fields == {
            "date": "Buchungstag",
            "amount": None,
            "credit": "Haben",
            "debit": "Soll",
            "currency": "Währung",
            "default_currency": "EUR",
            "reference": "Referenz",
            "payer_name": "Auftraggeber / Empfänger",
            "payer_account": "IBAN",
            "text": ["Verwendungszweck", "Buchungstext"],
            "date_format": "%d.%m.%Y",
            "decimal_separator": ",",
            "delimiter": ";",
            "encoding": "cp1252",
            "skip_rows": 3,
        }
        assert csv_mapping_from_json(fields) == GERMAN_MAPPING

    def test_fields_left_out_take_their_defaults(self):
        assert csv_mapping_from_json({"date": "Date", "amount": "Amount", "default_currency": "USD"}) == (
            CsvMapping(date="Date", amount="Amount", default_currency="USD")
        )

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            (
                {"date": "D", "amount": "A", "default_currency": "EUR", "skip_rows": True},
                "field 'skip_rows': true is not a whole number",
            ),
            ({"date": "D", "amount": 5, "default_currency": "EUR"}, "field 'amount': 5 is not text"),
            (
                {"date": "D", "amount": "A", "default_currency": "EUR", "text": ["T", 1]},
                "field 'text': [\"T\", 1] is neither a column name nor a list of column names",
            ),
            (
                {"date": "D", "amount": "A", "default_currency": "EUR", "delimiter": None},
                "field 'delimiter' cannot be null",
            ),
            ({"date": None, "amount": "A"}, "field 'date' (the column with the booking date) is required"),
            ({"date": "D", "amount": "A"}, "a CSV mapping needs a currency column or a default currency"),
            (
                {"date": "D", "Amount": "A", "Betrag": "B"},
                "unknown fields 'Amount', 'Betrag'; a CSV mapping has date, amount, credit, debit, currency, "
                "default_currency, reference, payer_name, payer_account, text, date_format, "
                "decimal_separator, delimiter, encoding, skip_rows",
            ),
        ],
        ids=["bool", "number", "text list", "null", "no date", "no currency", "unknown"],
    )
    def test_a_wrong_field_is_a_value_error_naming_it(self, fields, message):
        with pytest.raises(ValueError, match=r".") as refused:
            csv_mapping_from_json(fields)

        assert str(refused.value) == message


class TestHeader:
    def test_the_header_is_the_first_row_after_the_skipped_lines_in_the_mappings_encoding(self):
        assert mapped_header(GERMAN, mapping=GERMAN_MAPPING) == [
            "Buchungstag",
            "Valuta",
            "Auftraggeber / Empfänger",
            "IBAN",
            "Verwendungszweck",
            "Buchungstext",
            "Soll",
            "Haben",
            "Währung",
            "Referenz",
        ]
        assert mapping_fits(GERMAN, mapping=GERMAN_MAPPING)

    def test_column_names_are_compared_without_case_and_surrounding_spaces(self):
        data = b" DATE ; amount ;Extra\r\n2026-03-02;10,00;x\r\n"
        mapping = CsvMapping(date="Date", amount="Amount", default_currency="EUR", delimiter=";")

        assert mapping_fits(data, mapping=mapping)

    @pytest.mark.parametrize(
        "changed",
        [
            {"encoding": "utf-8"},  # cp1252 bytes are not UTF-8: no header to compare
            {"delimiter": ","},  # the whole line is one column
            {"skip_rows": 5},  # the header is skipped: the first row is a booking
            {"reference": "Buchungsreferenz"},  # one named column missing
        ],
        ids=["encoding", "delimiter", "skip_rows", "column"],
    )
    def test_a_mapping_read_another_way_or_naming_another_column_does_not_fit(self, changed):
        mapping = csv_mapping_from_json(csv_mapping_to_json(GERMAN_MAPPING) | changed)

        assert not mapping_fits(GERMAN, mapping=mapping)

    def test_a_large_file_is_judged_by_its_head_even_when_a_character_is_cut_there(self):
        mapping = CsvMapping(date="Datum", amount="Betrag", default_currency="EUR", delimiter=";")
        start = b"Datum;Betrag;Name\n02.03.2026;1,00;"
        # the two bytes of "ü" straddle the end of the head that is read
        data = start + b"a" * (MAPPING_HEAD_BYTES - 1 - len(start)) + "ü\n".encode()

        assert data[MAPPING_HEAD_BYTES - 1 : MAPPING_HEAD_BYTES + 1] == "ü".encode()
        assert mapped_header(data, mapping=mapping) == ["Datum", "Betrag", "Name"]
        assert mapped_header(data[:MAPPING_HEAD_BYTES], mapping=mapping) is None  # the whole file: refused
        assert mapped_header(b"", mapping=mapping) is None
