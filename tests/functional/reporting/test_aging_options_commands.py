"""`o2c report aging` with `--buckets`, `--reporting-currency` and `--deductions` as an AR manager runs
it: the contract's shape when they are not given, one-line errors with exit status 2 when they are
wrong. The histories are those of tests/integration/reporting/test_aging_options.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from o2c.customers import services as customer_services
from o2c.receivables.calculations import LineIn
from tests.conftest import NOW, customer_in, issued_invoice
from tests.functional.test_import_commands import run_failing
from tests.integration.reporting.test_aging_options import (
    boundary_history,
    currency_history,
    short_pay_history,
)

pytestmark = pytest.mark.django_db


def _out(capsys: Any, *args: str) -> str:
    capsys.readouterr()
    call_command("report", *args)
    captured = capsys.readouterr()
    assert captured.err == ""
    return str(captured.out)


class TestBuckets:
    def test_csv_with_other_boundaries_names_its_columns_after_them(self, capsys, customer):
        boundary_history(customer)

        out = _out(capsys, "aging", "--as-of", "2026-06-30", "--buckets", "30,60,90", "--format", "csv")

        assert list(csv.reader(io.StringIO(out))) == [
            [
                "entity",
                "customer_number",
                "currency",
                "current",
                "1_30",
                "31_60",
                "61_90",
                "over_90",
                "unapplied",
                "total",
            ],
            ["MAIN", "C-1000", "EUR", "150.00", "200.00", "400.00", "800.00", "1600.00", "0.00", "3150.00"],
        ]

    def test_json_on_the_invoice_basis(self, capsys, customer):
        boundary_history(customer)

        out = _out(
            capsys, "aging", "--as-of", "2026-06-30", "--basis", "invoice", "--buckets", "30,60,90",
            "--format", "json",
        )  # fmt: skip

        assert json.loads(out) == {
            "as_of": "2026-06-30",
            "basis": "invoice",
            "rows": [
                {
                    "entity": "MAIN",
                    "customer_number": "C-1000",
                    "currency": "EUR",
                    "current": "50.00",
                    "1_30": "100.00",
                    "31_60": "200.00",
                    "61_90": "400.00",
                    "over_90": "2400.00",
                    "unapplied": "0.00",
                    "total": "3150.00",
                }
            ],
        }

    def test_the_default_boundaries_given_change_nothing(self, capsys, customer):
        boundary_history(customer)

        plain = _out(capsys, "aging", "--as-of", "2026-06-30", "--format", "csv")
        explicit = _out(
            capsys, "aging", "--as-of", "2026-06-30", "--format", "csv", "--buckets", "30,60,90,120"
        )

        assert plain == explicit
        assert plain.splitlines()[0] == (
            "entity,customer_number,currency,current,1_30,31_60,61_90,91_120,over_120,unapplied,total"
        )

    def test_the_table_heads_its_columns_in_days(self, capsys, customer, monkeypatch):
        monkeypatch.setenv("O2C_LOCALE", "en_US")
        boundary_history(customer)

        out = _out(capsys, "aging", "--as-of", "2026-06-30", "--buckets", "45,90")

        assert "1-45 days" in out
        assert "46-90 days" in out
        assert "Over 90 days" in out

    def test_the_workbook_follows_the_boundaries(self, capsysbinary, customer):
        boundary_history(customer)
        capsysbinary.readouterr()

        call_command("report", "aging", "--as-of", "2026-06-30", "--buckets", "30,60,90", "--format", "xlsx")

        workbook = load_workbook(io.BytesIO(capsysbinary.readouterr().out))
        header = [cell.value for cell in workbook["Summary"][6]]
        assert header[4:] == [
            "Current",
            "1-30 days",
            "31-60 days",
            "61-90 days",
            "Over 90 days",
            "Unapplied",
            "Total",
        ]
        assert workbook["Summary"]["K7"].value == "=SUM(E7:J7)"
        buckets = [row[9] for row in workbook["Data"].iter_rows(min_row=2, values_only=True)]
        assert buckets == ["over_90", "61_90", "31_60", "1_30", "current", "current"]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("90,60,30", "error: --buckets: the boundaries must rise: 60 follows 90"),
            ("0,30", "error: --buckets: the boundaries are days and must be positive, not 0"),
            ("30,sixty", "error: --buckets: 'sixty' is not a whole number of days"),
            ("1,2,3,4,5,6,7,8,9", "error: --buckets: at most 8 boundaries, not 9"),
        ],
    )
    def test_a_bad_value_is_one_line_and_exit_status_2(self, capsys, entity, value, message):
        assert run_failing(capsys, "report", "aging", "--as-of", "2026-06-30", "--buckets", value) == message


class TestReportingCurrency:
    def test_csv_in_the_reporting_currency_one_row_per_customer(self, capsys, entity, customer):
        currency_history(entity, customer)

        out = _out(capsys, "aging", "--as-of", "2026-04-30", "--reporting-currency", "EUR", "--format", "csv")

        assert out.splitlines() == [
            "entity,customer_number,currency,current,1_30,31_60,61_90,91_120,over_120,unapplied,total",
            "MAIN,C-1000,EUR,0.00,1190.00,850.09,0.00,0.00,0.00,0.00,2040.09",
            "MAIN,C-2000,EUR,170.00,-85.09,0.00,0.00,0.00,0.00,0.00,84.91",
            "MAIN,,EUR,0.00,0.00,0.00,0.00,0.00,0.00,-77.70,-77.70",
        ]

    def test_json_says_so(self, capsys, entity, customer):
        currency_history(entity, customer)

        out = _out(
            capsys, "aging", "--as-of", "2026-04-30", "--reporting-currency", "eur", "--buckets", "30",
            "--format", "json",
        )  # fmt: skip

        document = json.loads(out)
        assert (document["reporting_currency"], len(document["rows"])) == ("EUR", 3)
        assert document["rows"][0] == {
            "entity": "MAIN",
            "customer_number": "C-1000",
            "currency": "EUR",
            "current": "0.00",
            "1_30": "1190.00",
            "over_30": "850.09",
            "unapplied": "0.00",
            "total": "2040.09",
        }

    def test_the_workbook_summary_is_converted_and_its_data_in_the_documents_currencies(
        self, capsysbinary, entity, customer
    ):
        currency_history(entity, customer)
        capsysbinary.readouterr()

        call_command(
            "report", "aging", "--as-of", "2026-04-30", "--reporting-currency", "EUR", "--format", "xlsx"
        )

        workbook = load_workbook(io.BytesIO(capsysbinary.readouterr().out))
        summary = workbook["Summary"]
        assert summary["A5"].value == "Every amount converted into EUR at the FX rates of 2026-04-30"
        assert [summary.cell(row=row, column=4).value for row in (7, 8, 9)] == ["EUR", "EUR", "EUR"]
        assert summary["G7"].value == 850.09
        data = [(r[3], r[10]) for r in workbook["Data"].iter_rows(min_row=2, values_only=True)]
        assert data == [("EUR", 1190), ("USD", 1000.1), ("USD", -100.1), ("USD", 200), ("EUR", -77.7)]

    def test_a_missing_rate_is_one_line_naming_the_pair_and_the_date(self, capsys, entity, customer):
        currency_history(entity, customer)

        assert run_failing(
            capsys, "report", "aging", "--as-of", "2026-04-30", "--reporting-currency", "GBP"
        ) == (
            "error: --reporting-currency: no FX rate EUR/GBP on or before 2026-04-30 "
            "(o2c import fx-rates loads them)"
        )

    def test_an_unknown_currency_is_refused(self, capsys, entity):
        assert run_failing(
            capsys, "report", "aging", "--as-of", "2026-04-30", "--reporting-currency", "XX"
        ) == ("error: --reporting-currency: 'XX' is not an ISO 4217 currency code")


class TestDeductions:
    def test_the_data_sheet_gains_a_deduction_column(self, capsysbinary, entity, customer):
        short_pay_history(entity, customer)
        capsysbinary.readouterr()

        call_command("report", "aging", "--as-of", "2026-04-30", "--deductions", "--format", "xlsx")

        data = workbook_rows = list(
            load_workbook(io.BytesIO(capsysbinary.readouterr().out))["Data"].iter_rows(values_only=True)
        )
        assert workbook_rows[0][-2:] == ("disputed", "deduction")
        assert [(r[4], r[10], r[12]) for r in data[1:]] == [("invoice", 90, 90), ("invoice", 295, 0)]

    def test_without_it_the_data_sheet_is_the_contracts(self, capsysbinary, entity, customer):
        short_pay_history(entity, customer)
        capsysbinary.readouterr()

        call_command("report", "aging", "--as-of", "2026-04-30", "--format", "xlsx")

        sheet = load_workbook(io.BytesIO(capsysbinary.readouterr().out))["Data"]
        assert next(sheet.iter_rows(values_only=True))[-1] == "disputed"
        assert sheet.auto_filter.ref == "A1:L3"

    def test_other_formats_are_refused(self, capsys, entity):
        assert run_failing(capsys, "report", "aging", "--as-of", "2026-04-30", "--deductions") == (
            "error: --deductions: the deductions are a column of the Excel Data sheet: add --format xlsx"
        )


class TestSeveralEntities:
    """A shared-service centre's aging over its clients' legal entities: MAIN owes 1,190.00 due 2026-04-01
    (29 days past due on 04-30) and 119.00 current; FR01's customer 595.00 due 2026-03-31 (30 days)."""

    @pytest.fixture
    def two_books(self, entity, other_entity, customer):
        issued_invoice(customer, issue_date=date(2026, 3, 2))
        issued_invoice(
            customer,
            issue_date=date(2026, 4, 20),
            lines=[LineIn("Consulting", Decimal(1), Decimal("100.00"), Decimal("19"))],
        )
        french = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("F-1000", name="Dupont SA", country="FR"),
            actor=None,
            now=NOW,
        )
        issued_invoice(
            french,
            issue_date=date(2026, 3, 1),
            lines=[LineIn("Conseil", Decimal(5), Decimal("100.00"), Decimal("19"))],
        )

    def test_every_entity_named_has_its_rows_and_the_rows_group_per_entity(self, capsys, two_books):
        out = _out(capsys, "aging", "--as-of", "2026-04-30", "--entity", "MAIN,FR01", "--format", "csv")
        assert out.splitlines() == [
            "entity,customer_number,currency,current,1_30,31_60,61_90,91_120,over_120,unapplied,total",
            "FR01,F-1000,EUR,0.00,595.00,0.00,0.00,0.00,0.00,0.00,595.00",
            "MAIN,C-1000,EUR,119.00,1190.00,0.00,0.00,0.00,0.00,0.00,1309.00",
        ]
        by_entity = _out(
            capsys,
            "aging",
            "--as-of",
            "2026-04-30",
            "--entity",
            "all",
            "--group-by",
            "entity",
            "--format",
            "csv",
        )
        assert by_entity.splitlines() == [
            "entity,currency,current,1_30,31_60,61_90,91_120,over_120,unapplied,total",
            "FR01,EUR,0.00,595.00,0.00,0.00,0.00,0.00,0.00,595.00",
            "MAIN,EUR,119.00,1190.00,0.00,0.00,0.00,0.00,0.00,1309.00",
        ]

    def test_by_currency_every_entity_adds_up_in_one_row(self, capsys, two_books):
        out = _out(
            capsys,
            "aging",
            "--as-of",
            "2026-04-30",
            "--entity",
            "all",
            "--group-by",
            "currency",
            "--format",
            "json",
        )
        assert json.loads(out)["rows"] == [
            {
                "entity": "FR01+MAIN",
                "currency": "EUR",
                "current": "119.00",
                "1_30": "1785.00",
                "31_60": "0.00",
                "61_90": "0.00",
                "91_120": "0.00",
                "over_120": "0.00",
                "unapplied": "0.00",
                "total": "1904.00",
            }
        ]

    def test_the_table_has_an_entity_column_for_several_entities(self, capsys, two_books):
        out = _out(capsys, "aging", "--as-of", "2026-04-30", "--entity", "MAIN,FR01")
        assert "Aging of FR01, MAIN as of" in out
        assert "FR01" in out.split("\n", 3)[3]

    def test_an_unknown_entity_among_several_is_one_line_and_exit_status_2(self, capsys, entity):
        message = run_failing(capsys, "report", "aging", "--as-of", "2026-04-30", "--entity", "MAIN,XX99")
        assert message == "error: --entity: unknown legal entity 'XX99'"
