"""`o2c report aging` and `o2c report kpis` as an AR manager runs them: machine output on stdout in the
contract's shape, tables in the reader's locale, an Excel workbook read back with openpyxl, one-line
errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from tests.functional.test_import_commands import run_failing
from tests.integration.reporting.history import History, build_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(entity: LegalEntity, customer: Customer) -> History:
    return build_history(entity, customer)


def _out(capsys: Any, *args: str) -> str:
    capsys.readouterr()
    call_command("report", *args)
    captured = capsys.readouterr()
    assert captured.err == ""
    return str(captured.out)


class TestAgingCommand:
    def test_json_has_the_contracts_shape_with_exact_amounts(self, capsys, history):
        out = _out(capsys, "aging", "--as-of", "2026-04-30", "--format", "json")
        assert json.loads(out) == {
            "as_of": "2026-04-30",
            "basis": "due",
            "rows": [
                {
                    "entity": "MAIN",
                    "customer_number": "C-1000",
                    "currency": "EUR",
                    "current": "0.00",
                    "1_30": "0.00",
                    "31_60": "0.00",
                    "61_90": "495.00",
                    "91_120": "0.00",
                    "over_120": "0.00",
                    "unapplied": "-510.00",
                    "total": "-15.00",
                },
                {
                    "entity": "MAIN",
                    "customer_number": "C-2000",
                    "currency": "EUR",
                    "current": "0.00",
                    "1_30": "0.00",
                    "31_60": "1190.00",
                    "61_90": "-50.00",
                    "91_120": "0.00",
                    "over_120": "0.00",
                    "unapplied": "-400.00",
                    "total": "740.00",
                },
                {
                    "entity": "MAIN",
                    "customer_number": "",
                    "currency": "EUR",
                    "current": "0.00",
                    "1_30": "0.00",
                    "31_60": "0.00",
                    "61_90": "0.00",
                    "91_120": "0.00",
                    "over_120": "0.00",
                    "unapplied": "-77.70",
                    "total": "-77.70",
                },
            ],
        }

    def test_csv_columns_are_the_contracts_in_order_after_the_entity(self, capsys, history):
        out = _out(capsys, "aging", "--as-of", "2026-04-30", "--basis", "invoice", "--format", "csv")
        assert out.splitlines()[0] == (
            "entity,customer_number,currency,current,1_30,31_60,61_90,91_120,over_120,unapplied,total"
        )
        assert list(csv.DictReader(io.StringIO(out)))[1] == {
            "entity": "MAIN",
            "customer_number": "C-2000",
            "currency": "EUR",
            "current": "0.00",
            "1_30": "0.00",
            "31_60": "0.00",
            "61_90": "1140.00",
            "91_120": "0.00",
            "over_120": "0.00",
            "unapplied": "-400.00",
            "total": "740.00",
        }

    def test_a_past_date_shows_what_was_open_then(self, capsys, history):
        out = _out(capsys, "aging", "--as-of", "2026-02-12", "--format", "csv")
        assert out.splitlines()[1:] == [
            "MAIN,C-1000,EUR,495.00,690.00,0.00,0.00,0.00,0.00,0.00,1185.00",
            "MAIN,C-2000,EUR,1190.00,0.00,0.00,0.00,0.00,0.00,0.00,1190.00",
        ]

    def test_the_table_follows_the_readers_locale_and_language(self, capsys, history, monkeypatch):
        monkeypatch.setenv("O2C_LOCALE", "de_DE")
        out = _out(capsys, "aging", "--as-of", "2026-04-30")
        assert "Altersstruktur" in out
        assert "1.190,00" in out
        assert "-510,00" in out
        assert "(nicht zugeordnet)" in out

    def test_the_english_table_has_a_total_per_currency(self, capsys, history, monkeypatch):
        monkeypatch.setenv("O2C_LOCALE", "en_US")
        out = _out(capsys, "aging", "--as-of", "2026-04-30")
        assert "Aging of MAIN as of Apr 30, 2026 by due date" in out
        total = next(line for line in out.splitlines() if "Total" in line and "EUR" in line)
        assert "1,190.00" in total  # 31-60 days
        assert "-987.70" in total  # unapplied: 510.00 + 400.00 + 77.70
        assert "647.30" in total  # total: -15.00 + 740.00 - 77.70

    def test_xlsx_on_stdout_has_a_data_sheet_to_pivot_and_a_formatted_summary(self, capsysbinary, history):
        capsysbinary.readouterr()
        call_command("report", "aging", "--as-of", "2026-04-30", "--format", "xlsx")
        captured = capsysbinary.readouterr()
        assert captured.err == b""
        workbook = load_workbook(io.BytesIO(captured.out))
        assert workbook.sheetnames == ["Summary", "Data"]

        data = workbook["Data"]
        rows = list(data.iter_rows(values_only=True))
        assert rows[0] == (
            "entity",
            "customer_number",
            "customer_name",
            "currency",
            "kind",
            "number",
            "issue_date",
            "due_date",
            "days",
            "bucket",
            "amount",
            "disputed",
        )
        items = [(r[1], r[4], r[8], r[9], r[10]) for r in rows[1:]]
        assert items == [
            ("C-1000", "invoice", 75, "61_90", 495),
            ("C-2000", "credit_memo", 69, "61_90", -50),
            ("C-2000", "invoice", 58, "31_60", 1190),
            ("C-1000", "unapplied", None, "unapplied", -510),
            ("C-2000", "unapplied", None, "unapplied", -400),
            (None, "unapplied", None, "unapplied", -77.7),  # Excel numbers are binary doubles
        ]
        assert rows[1][6].date() == date(2026, 1, 15)  # typed dates
        assert data.auto_filter.ref == "A1:L7"
        assert data["K2"].number_format == "#,##0.00"

        summary = workbook["Summary"]
        assert summary["A1"].value == "Accounts receivable aging as of 2026-04-30"
        header = [cell.value for cell in summary[6]]
        assert header == [
            "Entity",
            "Customer",
            "Name",
            "Currency",
            "Current",
            "1-30 days",
            "31-60 days",
            "61-90 days",
            "91-120 days",
            "Over 120 days",
            "Unapplied",
            "Total",
        ]
        assert [cell.value for cell in summary[8]][:11] == [
            "MAIN",
            "C-2000",
            "Schmidt Logistik AG",
            "EUR",
            0,
            0,
            1190,
            -50,
            0,
            0,
            -400,
        ]
        assert summary["L8"].value == "=SUM(E8:K8)"
        assert summary["B9"].value == "(not identified)"
        assert summary["A10"].value == "Total EUR"
        assert summary["G10"].value == "=SUM(G7:G9)"
        assert summary["L10"].value == "=SUM(L7:L9)"
        assert summary["G8"].number_format == "#,##0.00"
        assert summary[6][0].font.bold

    def test_xlsx_to_a_file_with_output(self, capsys, history, tmp_path: Path):
        target = tmp_path / "aging.xlsx"
        capsys.readouterr()
        call_command("report", "aging", "--as-of", "2026-04-30", "--format", "xlsx", "--output", str(target))
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == f"{target}: aging as of 2026-04-30 written\n"
        assert load_workbook(target)["Data"].max_row == 7

    def test_an_empty_date_gives_the_header_only(self, capsys, entity):
        assert _out(capsys, "aging", "--as-of", "2026-01-01", "--format", "csv").splitlines() == [
            "entity,customer_number,currency,current,1_30,31_60,61_90,91_120,over_120,unapplied,total"
        ]

    def test_bad_input_is_one_line_with_status_2(self, capsys, entity):
        assert run_failing(capsys, "report", "aging", "--as-of", "30.04.2026") == (
            "error: --as-of: '30.04.2026' is not an ISO 8601 date (YYYY-MM-DD)"
        )
        assert run_failing(capsys, "report", "aging", "--as-of", "2026-04-30", "--entity", "NOPE") == (
            "error: --entity: unknown legal entity 'NOPE'"
        )
        assert run_failing(capsys, "report", "kpis", "--as-of", "2026-04-30", "--format", "csv") == (
            "error: --format: kpis is written as table, json, not csv"
        )
        assert run_failing(
            capsys, "report", "trial-balance", "--as-of", "2026-04-30", "--format", "xlsx"
        ) == ("error: --format: trial-balance is written as table, csv, json, not xlsx")

    def test_rows_carry_the_entity_named_with_entity(self, capsys, history, other_entity):
        out = _out(capsys, "aging", "--as-of", "2026-04-30", "--format", "json", "--entity", "FR01")
        assert json.loads(out) == {"as_of": "2026-04-30", "basis": "due", "rows": []}


class TestKpisCommand:
    def test_json_has_the_contracts_keys_numbers_and_amount_strings(self, capsys, history):
        out = _out(capsys, "kpis", "--as-of", "2026-04-30", "--format", "json")
        # receivables 1,635.00 (INV-B 495.00 + INV-C 1,190.00 - CM-2 50.00), none current;
        # net credit sales 2026-01-31..2026-04-30: INV-C 1,190.00 - CM-1 100.00 - CM-2 50.00 = 1,040.00
        # DSO = 1,635 / 1,040 x 90 = 141.49; countback: April 0 and March 0 sales (30 + 31 days),
        # February 1,040.00 (28 days, 595.00 left), January 1,785.00: 89 + 595 / 1,785 x 31 = 99.33
        # CEI over April: (1,635 + 0 - 1,635) / (1,635 + 0 - 0) x 100 = 0
        # unapplied: 510.00 + 400.00 + 77.70
        assert out == (
            "{\n"
            '  "as_of": "2026-04-30",\n'
            '  "entity": "MAIN",\n'
            '  "currency": "EUR",\n'
            '  "dso": 141.49,\n'
            '  "dso_countback": 99.33,\n'
            '  "best_possible_dso": 0.00,\n'
            '  "average_days_delinquent": 141.49,\n'
            '  "cei": 0.00,\n'
            '  "percent_current": 0.00,\n'
            '  "percent_over_90": 0.00,\n'
            '  "unapplied_cash": "987.70",\n'
            '  "disputed_amount": "0.00",\n'
            '  "broken_promises": 0,\n'
            '  "broken_promises_amount": "0.00"\n'
            "}\n"
        )
        assert list(json.loads(out)) == [
            "as_of",
            "entity",
            "currency",
            "dso",
            "dso_countback",
            "best_possible_dso",
            "average_days_delinquent",
            "cei",
            "percent_current",
            "percent_over_90",
            "unapplied_cash",
            "disputed_amount",
            "broken_promises",
            "broken_promises_amount",
        ]

    def test_without_sales_the_ratios_are_null(self, capsys, entity):
        data = json.loads(_out(capsys, "kpis", "--as-of", "2026-04-30", "--format", "json"))
        assert {key: data[key] for key in ("dso", "dso_countback", "cei", "percent_current")} == {
            "dso": None,
            "dso_countback": None,
            "cei": None,
            "percent_current": None,
        }
        assert data["unapplied_cash"] == "0.00"

    def test_the_table_is_translated(self, capsys, history, monkeypatch):
        monkeypatch.setenv("O2C_LOCALE", "fr_FR")
        out = _out(capsys, "kpis", "--as-of", "2026-04-30")
        assert "Indice d’efficacité du recouvrement (%)" in out
        assert "141,49" in out
