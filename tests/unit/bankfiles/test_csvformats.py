"""The CSV payment file readers (lockbox, card payouts, mapped bank CSV) on files written here. No database.

There are no published samples of these layouts in shared/testdata, so every test runs always.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2c.bankfiles.csvformats import CsvMapping, parse_card_payouts_csv, parse_lockbox_csv, parse_mapped_csv
from o2c.bankfiles.errors import UnableToReadBankFile
from o2c.bankfiles.statement import RemittedDocument, TransactionDetails


def _lines(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def _refusal(parse: object, data: bytes, **kwargs: object) -> UnableToReadBankFile:
    assert callable(parse)
    with pytest.raises(UnableToReadBankFile) as refused:
        parse(data, **kwargs)
    assert "\n" not in str(refused.value)
    return refused.value


# --- lockbox ---

LOCKBOX_HEADER = (
    "lockbox,deposit_date,batch,item,check_number,amount,currency,payer_name,routing_number,account_number,"
    "invoice_number,invoice_amount"
)
LOCKBOX = _lines(
    LOCKBOX_HEADER,
    "1234,2026-03-02,001,1,10045,1500.00,USD,Acme Corp,021000021,123456789,INV-2026-000101,1000.00",
    "1234,2026-03-02,001,1,10045,1500.00,USD,Acme Corp,021000021,123456789,INV-2026-000102,450.00",
    "1234,2026-03-02,001,2,778,99.95,USD,Bolt LLC,,,INV-2026-000150,",
    "1234,2026-03-02,002,1,5001,250.00,USD,Carla Diaz,011000015,55500011,,",
)


def _lockbox_row(**values: str) -> str:
    """A row as text: a value with a comma must be given quoted."""
    return ",".join(_lockbox_fields(**values))


def _lockbox_fields(**values: str) -> list[str]:
    row = {
        "lockbox": "1234",
        "deposit_date": "2026-03-02",
        "batch": "001",
        "item": "1",
        "check_number": "10045",
        "amount": "1500.00",
        "currency": "USD",
        "payer_name": "Acme Corp",
        "routing_number": "021000021",
        "account_number": "123456789",
        "invoice_number": "INV-1",
        "invoice_amount": "1500.00",
    }
    row.update(values)
    return [row[name] for name in LOCKBOX_HEADER.split(",")]


class TestLockbox:
    def test_each_check_is_one_entry_with_a_stub_line_per_invoice(self):
        (statement,) = parse_lockbox_csv(LOCKBOX, source="lockbox.csv")

        assert statement.message == "lockbox"
        assert statement.statement_id == "1234/2026-03-02"
        assert statement.account_other_id == "1234"
        assert statement.currency == "USD"
        assert statement.message_id is None
        assert statement.balances == ()
        assert statement.opening_balance is None
        assert statement.closing_balance is None
        assert [entry.amount for entry in statement.entries] == [
            Decimal("1500.00"),
            Decimal("99.95"),
            Decimal("250.00"),
        ]
        first = statement.entries[0]
        assert first.position == 1
        assert first.currency == "USD"
        assert first.booking_date == first.value_date == date(2026, 3, 2)
        assert first.status == "BOOK"
        assert first.bank_reference == "1234-20260302-001-1"
        assert first.entry_reference == "10045"
        assert first.bank_transaction_code == "LOCKBOX-CHECK"
        assert first.is_reversal is False
        assert first.details == (
            TransactionDetails(
                is_credit=True,
                amount=Decimal("1500.00"),
                currency="USD",
                bank_reference="1234-20260302-001-1",
                end_to_end_id=None,
                counterparty_name="Acme Corp",
                counterparty_iban=None,
                remittance_unstructured=(),
                remittance_structured_refs=("INV-2026-000101", "INV-2026-000102"),
                counterparty_account="021000021/123456789",
                remitted=(
                    RemittedDocument(number="INV-2026-000101", amount=Decimal("1000.00")),
                    RemittedDocument(number="INV-2026-000102", amount=Decimal("450.00")),
                ),
            ),
        )
        assert first.counterparty_name == "Acme Corp"

    def test_a_short_paid_check_keeps_its_own_amount_and_the_stub_amounts(self):
        (statement,) = parse_lockbox_csv(LOCKBOX, source="lockbox.csv")

        (detail,) = statement.entries[0].details
        assert detail.amount == Decimal("1500.00")
        assert sum(document.amount or 0 for document in detail.remitted) == Decimal("1450.00")

    def test_a_stub_without_amount_or_invoice_and_a_check_without_bank_account(self):
        (statement,) = parse_lockbox_csv(LOCKBOX, source="lockbox.csv")

        second, third = statement.entries[1:]
        assert second.bank_reference == "1234-20260302-001-2"
        assert second.entry_reference == "778"
        assert second.details[0].counterparty_account is None
        assert second.details[0].remitted == (RemittedDocument(number="INV-2026-000150", amount=None),)
        assert third.position == 3
        assert third.bank_reference == "1234-20260302-002-1"
        assert third.details[0].counterparty_account == "011000015/55500011"
        assert third.details[0].remitted == ()
        assert third.remittance_structured_refs == ()

    def test_columns_in_another_order_with_a_bom_other_case_and_extra_columns(self):
        data = "\ufeff" + "\n".join(
            [
                " Amount ,INVOICE_NUMBER,Scan_Id,Item,Batch,Deposit_Date,Lockbox,Check_Number,Payer_Name,"
                "Routing_Number,Account_Number",
                "1200.50,INV-7,scan-1,3,7,2026-02-27,991,4001,Dörte Weiß GmbH,021000021,999",
            ]
        )

        (statement,) = parse_lockbox_csv(data.encode(), source="lockbox.csv")

        (entry,) = statement.entries
        assert statement.currency == "USD"
        assert statement.statement_id == "991/2026-02-27"
        assert entry.amount == Decimal("1200.50")
        assert entry.currency == "USD"
        assert entry.bank_reference == "991-20260227-7-3"
        assert entry.counterparty_name == "Dörte Weiß GmbH"
        assert entry.details[0].remitted == (RemittedDocument(number="INV-7"),)

    def test_the_currency_column_decides_the_currency_and_its_decimals(self):
        data = _lines(LOCKBOX_HEADER, _lockbox_row(currency="jpy", amount="150000", invoice_amount="150000"))

        (statement,) = parse_lockbox_csv(data, source="lockbox.csv")

        assert statement.currency == "JPY"
        assert statement.entries[0].amount == Decimal("150000")
        assert statement.entries[0].details[0].remitted[0].amount == Decimal("150000")

    def test_each_lockbox_and_deposit_date_is_a_statement_with_positions_across_the_file(self):
        data = _lines(
            LOCKBOX_HEADER,
            _lockbox_row(item="1"),
            _lockbox_row(lockbox="5678", item="1", amount="10.00", invoice_amount="10.00"),
            _lockbox_row(item="2", amount="20.00", invoice_amount="20.00"),
            _lockbox_row(deposit_date="2026-03-03", item="1", amount="30.00", invoice_amount="30.00"),
        )

        statements = parse_lockbox_csv(data, source="lockbox.csv")

        assert [statement.statement_id for statement in statements] == [
            "1234/2026-03-02",
            "5678/2026-03-02",
            "1234/2026-03-03",
        ]
        assert [[(e.position, e.amount) for e in statement.entries] for statement in statements] == [
            [(1, Decimal("1500.00")), (2, Decimal("20.00"))],
            [(3, Decimal("10.00"))],
            [(4, Decimal("30.00"))],
        ]
        assert statements[2].entries[0].bank_reference == "1234-20260303-001-1"

    def test_the_stub_lines_of_a_check_need_not_be_adjacent(self):
        data = _lines(
            LOCKBOX_HEADER,
            _lockbox_row(invoice_number="A", invoice_amount="500.00"),
            _lockbox_row(item="2", amount="20.00", invoice_number="C", invoice_amount="20.00"),
            _lockbox_row(invoice_number="B", invoice_amount="1000.00"),
        )

        (statement,) = parse_lockbox_csv(data, source="lockbox.csv")

        assert [entry.remittance_structured_refs for entry in statement.entries] == [("A", "B"), ("C",)]

    def test_blank_lines_are_skipped_and_still_counted_in_row_numbers(self):
        data = _lines(LOCKBOX_HEADER, "", _lockbox_row(), ",,,,,,,,,,,", _lockbox_row(amount='"12,50"'))

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == "lockbox.csv: row 4: amount '12,50' is not a decimal amount"

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            (_lockbox_row(amount='"12,50"'), "amount '12,50' is not a decimal amount"),
            (_lockbox_row(amount='"1,500.00"'), "amount '1,500.00' is not a decimal amount"),
            (_lockbox_row(amount="1e3"), "amount '1e3' is not a decimal amount"),
            (_lockbox_row(amount="12.505"), "amount '12.505' has more decimals than USD allows (2)"),
            (_lockbox_row(amount=""), "amount is empty"),
            (_lockbox_row(amount="-5.00"), "amount '-5.00' is not positive"),
            (_lockbox_row(amount="0.00"), "amount '0.00' is not positive"),
            (
                _lockbox_row(currency="JPY", amount="100.5"),
                "amount '100.5' has more decimals than JPY allows (0)",
            ),
            (_lockbox_row(invoice_amount="10.5.0"), "invoice_amount '10.5.0' is not a decimal amount"),
            (_lockbox_row(invoice_number=""), "invoice_amount is given without an invoice_number"),
            (_lockbox_row(deposit_date="02.03.2026"), "deposit_date '02.03.2026' is not a date (YYYY-MM-DD)"),
            (_lockbox_row(deposit_date="2026-02-30"), "deposit_date '2026-02-30' is not a date (YYYY-MM-DD)"),
            (_lockbox_row(deposit_date="20260302"), "deposit_date '20260302' is not a date (YYYY-MM-DD)"),
            (_lockbox_row(currency="XYZ"), "currency 'XYZ' is not an ISO 4217 currency code"),
            (_lockbox_row(currency="US Dollar"), "currency 'US Dollar' is not an ISO 4217 currency code"),
            (_lockbox_row(lockbox=""), "lockbox is empty"),
            (_lockbox_row(batch="1-2"), "batch '1-2' is not letters and digits only"),
            (_lockbox_row(item="1 a"), "item '1 a' is not letters and digits only"),
            (_lockbox_row() + ",x", "13 fields where the header has 12"),
            (_lockbox_row().rsplit(",", 1)[0], "11 fields where the header has 12"),
            ('"1234",2026-03-02,"001"x', "not valid CSV: ',' expected after '\"'"),
        ],
    )
    def test_a_bad_row_refuses_the_file_naming_row_column_and_problem(self, row: str, message: str):
        data = _lines(LOCKBOX_HEADER, _lockbox_row(item="9"), row)

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == f"lockbox.csv: row 2: {message}"
        assert refusal.code == "bad_bank_file"
        assert refusal.where == "row 2"

    def test_trailing_empty_fields_are_not_an_extra_column(self):
        data = _lines(LOCKBOX_HEADER, _lockbox_row() + ",,")

        (statement,) = parse_lockbox_csv(data, source="lockbox.csv")

        assert statement.entries[0].amount == Decimal("1500.00")

    @pytest.mark.parametrize(
        ("column", "value", "message"),
        [
            ("amount", "1500.01", "amount '1500.01' differs from '1500.00' in row 1"),
            ("check_number", "10046", "check_number '10046' differs from '10045' in row 1"),
            ("payer_name", "Acme Inc", "payer_name 'Acme Inc' differs from 'Acme Corp' in row 1"),
            ("account_number", "", "account_number '' differs from '123456789' in row 1"),
            ("currency", "CAD", "currency 'CAD' differs from 'USD' in row 1"),
        ],
    )
    def test_a_check_whose_rows_disagree_is_refused(self, column: str, value: str, message: str):
        data = _lines(
            LOCKBOX_HEADER,
            _lockbox_row(invoice_number="A"),
            _lockbox_row(**{column: value, "invoice_number": "B"}),
        )

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == f"lockbox.csv: row 2: {message} of the same check (batch 001, item 1)"

    def test_the_same_amount_written_differently_is_the_same_check_amount(self):
        data = _lines(
            LOCKBOX_HEADER,
            _lockbox_row(invoice_number="A", invoice_amount="750"),
            _lockbox_row(amount="1500", invoice_number="B", invoice_amount="750.0"),
        )

        (statement,) = parse_lockbox_csv(data, source="lockbox.csv")

        assert statement.entries[0].amount == Decimal("1500.00")
        assert str(statement.entries[0].amount) == "1500.00"
        assert [document.amount for document in statement.entries[0].details[0].remitted] == [
            Decimal("750.00"),
            Decimal("750.00"),
        ]

    def test_two_currencies_in_one_deposit_are_refused(self):
        data = _lines(LOCKBOX_HEADER, _lockbox_row(), _lockbox_row(item="2", currency="CAD"))

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == (
            "lockbox.csv: row 2: currency 'CAD' differs from 'USD' in row 1 of lockbox 1234 on 2026-03-02: "
            "a deposit has one currency"
        )

    def test_a_missing_column_is_refused_naming_it(self):
        header = LOCKBOX_HEADER.replace("check_number,", "").replace(",routing_number", "")
        data = _lines(header, "1234,2026-03-02,001,1,1500.00,USD,Acme Corp,123456789,INV-1,1500.00")

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal).startswith(
            "lockbox.csv: header: columns 'check_number', 'routing_number' are missing; it has 10 columns: "
            "'lockbox', 'deposit_date', "
        )
        assert refusal.where == "header"

    def test_a_column_read_twice_is_refused(self):
        data = _lines(LOCKBOX_HEADER + ",Amount", _lockbox_row() + ",1.00")

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == "lockbox.csv: header: column 'amount' appears more than once"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"", "the file is empty (a header row naming the columns is required)"),
            (b"\xef\xbb\xbf\r\n\r\n", "the file is empty (a header row naming the columns is required)"),
            (_lines(LOCKBOX_HEADER), "the file has no data rows"),
            (_lines(LOCKBOX_HEADER, "", ",,,,"), "the file has no data rows"),
        ],
    )
    def test_a_file_without_data_rows_is_refused(self, data: bytes, message: str):
        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == f"lockbox.csv: {message}"

    def test_a_file_that_is_not_utf8_is_refused_naming_the_line(self):
        data = _lines(LOCKBOX_HEADER, _lockbox_row(payer_name="Müller")).replace(
            "Müller".encode(), "Müller".encode("cp1252")
        )

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == "lockbox.csv: line 2: byte 0xFC is not valid UTF-8"


# --- card payouts ---

CARD_HEADER = (
    "payout_id,payout_date,balance_transaction_id,reporting_category,gross,fee,net,currency,description,"
    "customer_name,customer_email,metadata[invoice_number]"
)
CARD_PAYOUTS = _lines(
    CARD_HEADER,
    "po_1,2026-03-04,txn_1,charge,100.00,3.20,96.80,eur,Invoice INV-2026-000101,Acme GmbH,ap@acme.test,"
    "INV-2026-000101",
    "po_1,2026-03-04,txn_2,refund,-20.00,0.00,-20.00,eur,Refund for order 17,Bolt AG,,",
    "po_1,2026-03-04,txn_3,fee,-2.00,0.00,-2.00,eur,Radar fee,,,",
    "po_1,2026-03-04,txn_4,dispute,-50.00,15.00,-65.00,eur,Chargeback,Carla Diaz,,INV-2026-000077",
    "po_1,2026-03-04,txn_5,dispute_reversal,50.00,-15.00,65.00,eur,Dispute won,Carla Diaz,,INV-2026-000077",
    "po_1,2026-03-04,txn_6,adjustment,-0.35,0.00,-0.35,eur,Rounding,,,",
    "po_1,2026-03-04,po_1,payout,-74.45,0.00,-74.45,eur,STRIPE PAYOUT,,,",
    "po_2,2026-03-05,txn_7,charge,500.00,7.50,492.50,eur,,,only@email.test,",
)


def _card_row(**values: str) -> str:
    row = {
        "payout_id": "po_1",
        "payout_date": "2026-03-04",
        "balance_transaction_id": "txn_1",
        "reporting_category": "charge",
        "gross": "100.00",
        "fee": "3.20",
        "net": "96.80",
        "currency": "eur",
        "description": "Invoice INV-1",
        "customer_name": "Acme GmbH",
        "customer_email": "",
        "metadata[invoice_number]": "INV-1",
    }
    row.update(values)
    return ",".join(row[name] for name in CARD_HEADER.split(","))


class TestCardPayouts:
    def test_each_payout_is_one_entry_of_its_net_sum(self):
        (statement,) = parse_card_payouts_csv(CARD_PAYOUTS, source="exports/payouts_2026-03.csv")

        assert statement.message == "card_payout"
        assert statement.statement_id == "payouts_2026-03"
        assert statement.currency == "EUR"
        assert statement.balances == ()
        assert [
            (entry.position, entry.bank_reference, entry.amount, entry.value_date, entry.batch_count)
            for entry in statement.entries
        ] == [
            (1, "po_1", Decimal("74.45"), date(2026, 3, 4), 6),
            (2, "po_2", Decimal("492.50"), date(2026, 3, 5), 1),
        ]
        entry = statement.entries[0]
        assert entry.currency == "EUR"
        assert entry.booking_date == date(2026, 3, 4)
        assert entry.status == "BOOK"
        assert entry.bank_transaction_code == "CARD-PAYOUT"
        assert entry.entry_reference is None

    def test_each_row_is_a_detail_and_a_fee_is_a_detail_of_its_own(self):
        (statement,) = parse_card_payouts_csv(CARD_PAYOUTS, source="payouts.csv")

        details = statement.entries[0].details
        assert [(d.kind, d.amount, d.bank_reference, d.is_credit) for d in details] == [
            ("payment", Decimal("100.00"), "txn_1", True),
            ("fee", Decimal("-3.20"), "txn_1", False),
            ("refund", Decimal("-20.00"), "txn_2", False),
            ("fee", Decimal("-2.00"), "txn_3", False),
            ("chargeback", Decimal("-50.00"), "txn_4", False),
            ("fee", Decimal("-15.00"), "txn_4", False),
            ("chargeback_reversal", Decimal("50.00"), "txn_5", True),
            ("fee", Decimal("15.00"), "txn_5", True),
            ("adjustment", Decimal("-0.35"), "txn_6", False),
        ]
        assert sum(d.amount or 0 for d in details) == statement.entries[0].amount
        assert details[0] == TransactionDetails(
            is_credit=True,
            amount=Decimal("100.00"),
            currency="EUR",
            bank_reference="txn_1",
            end_to_end_id=None,
            counterparty_name="Acme GmbH",
            counterparty_iban=None,
            remittance_unstructured=("Invoice INV-2026-000101",),
            remittance_structured_refs=("INV-2026-000101",),
            kind="payment",
        )
        assert details[1].counterparty_name is None
        assert details[1].remittance_unstructured == ()
        assert details[1].remittance_structured_refs == ()
        assert details[2].counterparty_name == "Bolt AG"
        assert details[2].remittance_structured_refs == ()
        assert details[4].remittance_structured_refs == ("INV-2026-000077",)

    def test_a_customer_known_only_by_email_is_named_by_it(self):
        (statement,) = parse_card_payouts_csv(CARD_PAYOUTS, source="payouts.csv")

        payment, fee = statement.entries[1].details
        assert payment.counterparty_name == "only@email.test"
        assert payment.remittance_unstructured == ()
        assert (fee.kind, fee.amount) == ("fee", Decimal("-7.50"))

    def test_stripe_column_names_effective_at_timestamps_and_optional_columns(self):
        data = _lines(
            "Reporting_Category,Net,Gross,Fee,Currency,Payout_Id,Effective_At,Balance_Transaction_Id,Description,"
            "invoice_number,source_id",
            "charge,48.25,50.00,1.75,usd,po_9,2026-03-31 23:59:59,txn_a,Card payment,INV-9,ch_1",
            "charge,10.00,10.00,0,usd,po_9,2026-03-31T08:00:00+00:00,txn_b,,,ch_2",
        )

        (statement,) = parse_card_payouts_csv(data, source="payouts.csv")

        (entry,) = statement.entries
        assert statement.currency == "USD"
        assert entry.amount == Decimal("58.25")
        assert entry.value_date == entry.booking_date == date(2026, 3, 31)
        assert [(d.kind, d.amount) for d in entry.details] == [
            ("payment", Decimal("50.00")),
            ("fee", Decimal("-1.75")),
            ("payment", Decimal("10.00")),
        ]
        assert entry.details[0].remittance_structured_refs == ("INV-9",)
        assert entry.details[0].counterparty_name is None

    def test_payout_rows_alone_are_no_payout(self):
        data = _lines(CARD_HEADER, _card_row(reporting_category="payout", gross="-5.00", fee="", net=""))

        refusal = _refusal(parse_card_payouts_csv, data, source="payouts.csv")

        assert str(refusal) == "payouts.csv: the file has no rows other than payout rows"

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            (_card_row(net="96.00"), "net '96.00' is not gross - fee (100.00 - 3.20 = 96.80)"),
            (
                _card_row(gross="100", fee="3.2", net="96"),
                "net '96' is not gross - fee (100.00 - 3.20 = 96.80)",
            ),
            (
                _card_row(reporting_category="transfer"),
                "reporting_category 'transfer' is not one of charge, refund, fee, dispute, dispute_reversal, "
                "adjustment or payout",
            ),
            (_card_row(reporting_category=""), "reporting_category is empty"),
            (
                _card_row(currency="usd"),
                "currency 'USD' differs from 'EUR' in row 1: a payout file has one currency",
            ),
            (_card_row(currency="eu"), "currency 'eu' is not an ISO 4217 currency code"),
            (_card_row(balance_transaction_id="txn_0"), "balance_transaction_id 'txn_0' is already in row 1"),
            (
                _card_row(payout_date="2026-03-05"),
                "payout_date '2026-03-05' differs from 2026-03-04 in row 1 of payout po_1",
            ),
            (
                _card_row(payout_date="04/03/2026"),
                "payout_date '04/03/2026' is not a date (YYYY-MM-DD, a time may follow)",
            ),
            (
                _card_row(payout_date="2026-03-04 25:00"),
                "payout_date '2026-03-04 25:00' is not a date (YYYY-MM-DD, a time may follow)",
            ),
            (_card_row(payout_id=""), "payout_id is empty"),
            (_card_row(fee="3.205"), "fee '3.205' has more decimals than EUR allows (2)"),
            (_card_row(gross='"1,000.00"'), "gross '1,000.00' is not a decimal amount"),
            (_card_row(net=""), "net is empty"),
        ],
    )
    def test_a_bad_row_refuses_the_file(self, row: str, message: str):
        data = _lines(CARD_HEADER, _card_row(balance_transaction_id="txn_0"), row)

        refusal = _refusal(parse_card_payouts_csv, data, source="payouts.csv")

        assert str(refusal) == f"payouts.csv: row 2: {message}"

    def test_a_file_without_a_payout_date_column_is_refused(self):
        data = _lines(CARD_HEADER.replace("payout_date", "created"), _card_row())

        refusal = _refusal(parse_card_payouts_csv, data, source="payouts.csv")

        assert str(refusal) == "payouts.csv: header: column 'payout_date' (or 'effective_at') is missing"

    def test_a_file_without_net_is_refused_naming_the_column(self):
        data = _lines(CARD_HEADER.replace(",net,", ",amount,"), _card_row())

        refusal = _refusal(parse_card_payouts_csv, data, source="payouts.csv")

        assert str(refusal).startswith("payouts.csv: header: column 'net' is missing; it has 12 columns: ")

    def test_the_details_of_each_payout_sum_to_its_net_in_the_example(self):
        (statement,) = parse_card_payouts_csv(CARD_PAYOUTS, source="payouts.csv")

        for entry in statement.entries:
            assert sum((detail.amount or Decimal(0) for detail in entry.details), Decimal(0)) == entry.amount


CATEGORIES = ["charge", "refund", "fee", "dispute", "dispute_reversal", "adjustment", "payout"]
CARD_ROW = st.tuples(
    st.sampled_from(["po_a", "po_b", "po_c"]),
    st.sampled_from(CATEGORIES),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.integers(min_value=-(10**6), max_value=10**6),
)


def _cents(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2))


class TestCardPayoutProperty:
    @settings(max_examples=200, deadline=None)
    @given(rows=st.lists(CARD_ROW, min_size=1, max_size=15))
    def test_the_details_of_every_entry_sum_to_its_amount(self, rows: list[tuple[str, str, int, int]]):
        lines = [CARD_HEADER]
        for number, (payout_id, category, gross, fee) in enumerate(rows):
            lines.append(
                _card_row(
                    payout_id=payout_id,
                    payout_date="2026-03-04",
                    balance_transaction_id=f"txn_{number}",
                    reporting_category=category,
                    gross=_cents(gross),
                    fee=_cents(fee),
                    net=_cents(gross - fee),
                )
            )
        if all(category == "payout" for _, category, _, _ in rows):
            with pytest.raises(UnableToReadBankFile):
                parse_card_payouts_csv(_lines(*lines), source="payouts.csv")
            return

        (statement,) = parse_card_payouts_csv(_lines(*lines), source="payouts.csv")

        expected: dict[str, int] = {}
        for payout_id, category, gross, fee in rows:
            if category != "payout":
                expected[payout_id] = expected.get(payout_id, 0) + gross - fee
        assert [(entry.bank_reference, entry.amount) for entry in statement.entries] == [
            (payout_id, Decimal(net).scaleb(-2)) for payout_id, net in expected.items()
        ]
        for entry in statement.entries:
            assert sum((detail.amount or Decimal(0) for detail in entry.details), Decimal(0)) == entry.amount
            assert all(detail.is_credit == ((detail.amount or 0) > 0) for detail in entry.details)


# --- mapped bank CSV ---

GERMAN_MAPPING = CsvMapping(
    date="Buchungstag",
    credit="Haben",
    debit="Soll",
    currency="Währung",
    default_currency="EUR",
    reference="Referenz",
    payer_name="Auftraggeber / Empfänger",
    payer_account="IBAN",
    text=("Verwendungszweck", "Buchungstext"),
    date_format="%d.%m.%Y",
    decimal_separator=",",
    delimiter=";",
    encoding="cp1252",
    skip_rows=3,
)
GERMAN = "\r\n".join(
    [
        "Umsätze Girokonto;;;;;;;;",
        "Konto;DE89 3704 0044 0532 0130 00;;;;;;;",
        "",
        "Buchungstag;Valuta;Auftraggeber / Empfänger;IBAN;Verwendungszweck;Buchungstext;Soll;Haben;Währung;"
        "Referenz",
        "02.03.2026;02.03.2026;Müller & Söhne GmbH;DE44 5001 0517 5407 3249 31;RE 2026-000101 Überweisung;"
        "Gutschrift;;1.234,56;EUR;2026030200001",
        '03.03.2026;03.03.2026;Stadtwerke Köln;;"Abschlag März; Strom";Lastschrift;-89,90;;EUR;',
        "31.03.2026;31.03.2026;Zoë Weiß;AT611904300234573201;Rechnung 77;;;0,50;;R77",
        "31.03.2026;31.03.2026;Bank;;Kontoführung;;12,00;;EUR;",
        "",
    ]
).encode("cp1252")


class TestMappedCsv:
    def test_a_european_file_in_cp1252_with_a_preamble(self):
        (statement,) = parse_mapped_csv(GERMAN, source="uploads/umsaetze.csv", mapping=GERMAN_MAPPING)

        assert statement.message == "csv"
        assert statement.statement_id == "umsaetze.csv"
        assert statement.currency == "EUR"
        assert statement.account_other_id is None
        assert [(e.position, e.amount, e.booking_date, e.bank_reference) for e in statement.entries] == [
            (1, Decimal("1234.56"), date(2026, 3, 2), "2026030200001"),
            (2, Decimal("-89.90"), date(2026, 3, 3), None),
            (3, Decimal("0.50"), date(2026, 3, 31), "R77"),
            (4, Decimal("-12.00"), date(2026, 3, 31), None),
        ]
        first = statement.entries[0]
        assert first.value_date == date(2026, 3, 2)
        assert first.status == "BOOK"
        assert first.bank_transaction_code == "CSV"
        assert first.details == (
            TransactionDetails(
                is_credit=True,
                amount=Decimal("1234.56"),
                currency="EUR",
                bank_reference="2026030200001",
                end_to_end_id=None,
                counterparty_name="Müller & Söhne GmbH",
                counterparty_iban="DE44500105175407324931",
                remittance_unstructured=("RE 2026-000101 Überweisung Gutschrift",),
                remittance_structured_refs=(),
            ),
        )
        assert statement.entries[1].details[0].is_credit is False
        assert statement.entries[1].remittance_unstructured == ("Abschlag März; Strom Lastschrift",)
        assert statement.entries[1].counterparty_iban is None
        assert statement.entries[2].counterparty_name == "Zoë Weiß"
        assert statement.entries[2].counterparty_iban == "AT611904300234573201"
        assert statement.entries[2].remittance_unstructured == ("Rechnung 77",)

    def test_a_us_file_with_a_signed_amount_thousands_and_a_default_currency(self):
        mapping = CsvMapping(
            date="Posting Date",
            amount="Amount",
            default_currency="USD",
            payer_name="Description",
            payer_account="Account",
            text="Memo",
            date_format="%m/%d/%Y",
        )
        data = _lines(
            "Details,Posting Date,Description,Amount,Account,Memo,Balance",
            'CREDIT,03/02/2026,ACME CORP,"12,345.67",021000021/123456,INV-2026-000101,"20,000.00"',
            "DEBIT,03/03/2026,WIRE FEE,-25.00,,,19975.00",
            "CREDIT,03/04/2026,BOLT LLC,+1000,12345,,20975.00",
        )

        (statement,) = parse_mapped_csv(data, source="chase.csv", mapping=mapping)

        assert [(e.amount, e.currency, e.booking_date) for e in statement.entries] == [
            (Decimal("12345.67"), "USD", date(2026, 3, 2)),
            (Decimal("-25.00"), "USD", date(2026, 3, 3)),
            (Decimal("1000.00"), "USD", date(2026, 3, 4)),
        ]
        first = statement.entries[0].details[0]
        assert first.counterparty_account == "021000021/123456"
        assert first.counterparty_iban is None
        assert first.remittance_unstructured == ("INV-2026-000101",)
        assert statement.entries[1].details[0].counterparty_account is None
        assert statement.entries[1].details[0].remittance_unstructured == ()
        assert statement.entries[2].details[0].counterparty_account == "12345"

    def test_a_currency_column_sets_each_entry_and_a_mixed_file_has_no_statement_currency(self):
        mapping = CsvMapping(date="date", amount="amount", currency="currency", default_currency="EUR")
        data = _lines("date,amount,currency", "2026-03-02,10.00,chf", "2026-03-02,5,", "2026-03-03,7,JPY")

        (statement,) = parse_mapped_csv(data, source="bank.csv", mapping=mapping)

        assert [(e.amount, e.currency) for e in statement.entries] == [
            (Decimal("10.00"), "CHF"),
            (Decimal("5.00"), "EUR"),
            (Decimal("7"), "JPY"),
        ]
        assert statement.currency is None

    def test_a_utf8_file_with_a_bom_and_columns_named_in_another_case(self):
        mapping = CsvMapping(
            date="DATE",
            amount=" Amount ",
            default_currency="EUR",
            text="Text",
            delimiter=";",
            decimal_separator=",",
        )
        data = "\ufeffText;amount;date\r\nÜberweisung Müller;1.000,00;2026-03-02\r\n".encode()

        (statement,) = parse_mapped_csv(data, source="bank.csv", mapping=mapping)

        (entry,) = statement.entries
        assert entry.amount == Decimal("1000.00")
        assert entry.remittance_unstructured == ("Überweisung Müller",)

    def test_a_credit_column_alone_and_zero_in_the_other_column(self):
        mapping = CsvMapping(date="date", credit="in", debit="out", default_currency="EUR")
        data = _lines("date,in,out", "2026-03-02,0.00,4.00", "2026-03-02,3.00,0.00", "2026-03-02,0,")

        (statement,) = parse_mapped_csv(data, source="bank.csv", mapping=mapping)

        assert [str(entry.amount) for entry in statement.entries] == ["-4.00", "3.00", "0.00"]

    def test_a_column_named_in_the_mapping_but_not_in_the_file_is_refused_naming_it(self):
        data = _lines("", "", "", "Buchungstag;Betrag;Referenz", "02.03.2026;10,00;R1")

        refusal = _refusal(parse_mapped_csv, data, source="bank.csv", mapping=GERMAN_MAPPING)

        assert str(refusal) == (
            "bank.csv: header: columns 'Haben' (credit), 'Soll' (debit), 'Währung' (currency), "
            "'Auftraggeber / Empfänger' (payer_name), 'IBAN' (payer_account), 'Verwendungszweck' (text), "
            "'Buchungstext' (text) of the mapping are not in the header; "
            "it has 3 columns: 'Buchungstag', 'Betrag', 'Referenz'"
        )

    def test_the_wrong_delimiter_shows_the_single_column_it_read(self):
        mapping = CsvMapping(date="Datum", amount="Betrag", default_currency="EUR")
        data = _lines("Datum;Betrag", "2026-03-02;10.00")

        refusal = _refusal(parse_mapped_csv, data, source="bank.csv", mapping=mapping)

        assert str(refusal) == (
            "bank.csv: header: columns 'Datum' (date), 'Betrag' (amount) of the mapping are not in the "
            "header; it has 1 column: 'Datum;Betrag'"
        )

    def test_a_cp1252_file_read_as_utf8_is_refused_with_advice(self):
        mapping = CsvMapping(date="Buchungstag", amount="Betrag", default_currency="EUR", delimiter=";")

        refusal = _refusal(parse_mapped_csv, GERMAN, source="bank.csv", mapping=mapping)

        assert str(refusal) == (
            "bank.csv: line 1: byte 0xE4 is not valid UTF-8 "
            "(a cp1252 or latin-1 file needs that encoding in its mapping)"
        )

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("02.03.2026;;;;;;;12.50;EUR;", "Haben '12.50' is not a decimal amount (decimal separator ',')"),
            (
                "02.03.2026;;;;;;;1234.567,00;EUR;",
                "Haben '1234.567,00' is not a decimal amount (decimal separator ',')",
            ),
            ("02.03.2026;;;;;;;12,505;EUR;", "Haben '12,505' has more decimals than EUR allows (2)"),
            ("2026-03-02;;;;;;;12,50;EUR;", "Buchungstag '2026-03-02' is not a date in the format %d.%m.%Y"),
            ("31.02.2026;;;;;;;12,50;EUR;", "Buchungstag '31.02.2026' is not a date in the format %d.%m.%Y"),
            (";;;;;;;12,50;EUR;", "Buchungstag is empty"),
            ("02.03.2026;;;;;;1,00;12,50;EUR;", "both Haben and Soll have an amount"),
            ("02.03.2026;;;;;;;;EUR;", "neither Haben nor Soll has an amount"),
            ("02.03.2026;;;;;;;-12,50;EUR;", "Haben '-12,50' is negative (money out is a debit)"),
            ("02.03.2026;;;;;;;12,50;Euro;", "Währung 'Euro' is not an ISO 4217 currency code"),
            (
                "02.03.2026;;;;;;;12345678901234567,89;EUR;",
                "Haben '12345678901234567,89' has more than 18 digits",
            ),
            ("02.03.2026;;;;;;;12,50;EUR", "9 fields where the header has 10"),
        ],
    )
    def test_a_bad_row_refuses_the_file(self, row: str, message: str):
        header = GERMAN.decode("cp1252").splitlines()[3]
        data = "\r\n".join(["", "", "", header, "02.03.2026;;;;;;;1,00;EUR;", row]).encode("cp1252")

        refusal = _refusal(parse_mapped_csv, data, source="bank.csv", mapping=GERMAN_MAPPING)

        assert str(refusal) == f"bank.csv: row 2: {message}"

    def test_an_empty_currency_without_default_is_refused(self):
        mapping = CsvMapping(date="date", amount="amount", currency="currency")
        data = _lines("date,amount,currency", "2026-03-02,10.00,")

        refusal = _refusal(parse_mapped_csv, data, source="bank.csv", mapping=mapping)

        assert str(refusal) == "bank.csv: row 1: currency is empty and the mapping has no default currency"

    def test_a_header_only_file_is_refused(self):
        mapping = CsvMapping(date="date", amount="amount", default_currency="EUR", skip_rows=1)

        data = _lines("Export of 2026-03", "date,amount")

        refusal = _refusal(parse_mapped_csv, data, source="bank.csv", mapping=mapping)

        assert str(refusal) == "bank.csv: the file has no data rows"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"amount": "a", "credit": "c"}, "either an amount column or credit/debit columns, not both"),
            ({}, "needs an amount column, or credit and/or debit columns"),
            ({"amount": "a", "default_currency": None}, "needs a currency column or a default currency"),
            ({"amount": "a", "default_currency": "EURO"}, "default currency 'EURO' is not an ISO 4217 code"),
            ({"amount": "a", "encoding": "utf-16"}, "encoding 'utf-16' is not one of"),
            ({"amount": "a", "encoding": "nonsense"}, "encoding 'nonsense' is not one of"),
            ({"amount": "a", "decimal_separator": "'"}, "decimal separator ''' is neither '.' nor ','"),
            ({"amount": "a", "delimiter": ";;"}, "delimiter ';;' is not one character"),
            ({"amount": "a", "skip_rows": -1}, "skip_rows -1 is negative"),
            (
                {"amount": "a", "date_format": "%d.%m."},
                "date format '%d.%m.' needs a year, a month and a day",
            ),
            ({"amount": " "}, "the amount column of a CSV mapping has no name"),
        ],
    )
    def test_a_mapping_that_cannot_be_right_is_not_built(self, fields: dict[str, object], message: str):
        with pytest.raises(ValueError, match=re.escape(message)):
            CsvMapping(**{"date": "d", "default_currency": "EUR", **fields})  # type: ignore[arg-type]

    def test_latin1_is_an_accepted_encoding_name(self):
        mapping = CsvMapping(
            date="date", amount="amount", default_currency="EUR", encoding="latin-1", text="t"
        )

        (statement,) = parse_mapped_csv(
            "date,amount,t\n2026-03-02,1.00,Grüße\n".encode("latin-1"), source="b.csv", mapping=mapping
        )

        assert statement.entries[0].remittance_unstructured == ("Grüße",)


def _written(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


class TestQuotedFields:
    def test_quoted_fields_with_delimiters_quotes_and_newlines_are_one_value(self):
        data = _written(
            [
                LOCKBOX_HEADER.split(","),
                _lockbox_fields(payer_name='Smith, "Jr." &\nSons'),
                _lockbox_fields(item="2", amount="12,50"),
            ]
        )

        refusal = _refusal(parse_lockbox_csv, data, source="lockbox.csv")

        assert str(refusal) == "lockbox.csv: row 2: amount '12,50' is not a decimal amount"

    def test_a_quoted_payer_name_is_read_whole(self):
        data = _written(
            [
                LOCKBOX_HEADER.split(","),
                _lockbox_fields(payer_name='Smith, "Jr." & Sons', routing_number="", account_number=""),
            ]
        )

        (statement,) = parse_lockbox_csv(data, source="lockbox.csv")

        assert statement.entries[0].counterparty_name == 'Smith, "Jr." & Sons'
        assert statement.entries[0].details[0].counterparty_account is None
