"""`o2c billing unbilled|deferred|reconcile-crm` as a billing analyst runs them: machine output on stdout,
warnings on stderr, one-line errors with exit status 2."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.functional.test_import_commands import CUSTOMERS_HEADER, run_failing, write

pytestmark = pytest.mark.django_db

PRODUCTS = (
    "product_code,name,price_model,currency,unit_price,tiers,billing_period,timing,metric,aggregation\n"
    "SEAT,Seats,per_unit,EUR,10.00,,month,advance,,\n"
    "SEAT-ARR,Seats in arrears,per_unit,EUR,12.50,,month,arrears,,\n"
    "SUP,Support,flat,EUR,1200.00,,year,advance,,\n"
)
SUBSCRIPTIONS = (
    "subscription_number,customer_number,bill_to_number,product_code,quantity,start_date,end_date,"
    "discount_percent,po_number\n"
    "S-1,C-1,,SEAT-ARR,10,2026-01-01,,,\n"
    "S-2,C-2,,SUP,1,2026-01-01,,,\n"
    "S-3,C-1,,SEAT,5,2026-01-01,,10,\n"
)
CRM_HEADER = (
    "contract_number,customer_number,product_code,quantity,unit_price,currency,start_date,end_date,"
    "amount,owner\n"
)


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    call_command(
        "import",
        "customers",
        str(
            write(
                tmp_path,
                "customers.csv",
                CUSTOMERS_HEADER
                + "C-1,Müller Holding AG,DE,EUR,de,NET30,,,,\n"
                + "C-2,Dupont SA,FR,EUR,fr,NET30,,,,\n",
            )
        ),
    )
    call_command("import", "products", str(write(tmp_path, "products.csv", PRODUCTS)))
    call_command("import", "subscriptions", str(write(tmp_path, "subscriptions.csv", SUBSCRIPTIONS)))
    return tmp_path


def output(capsys, *args: str) -> tuple[str, str]:
    capsys.readouterr()
    call_command("billing", *args)
    captured = capsys.readouterr()
    return captured.out, captured.err


def as_json(capsys, *args: str) -> dict[str, Any]:
    out, _ = output(capsys, *args, "--format", "json")
    return json.loads(out)


class TestUnbilled:
    def test_json_lists_each_subscription_period_with_its_age(self, loaded, entity, capsys) -> None:
        payload = as_json(capsys, "unbilled", "--as-of", "2026-01-15")
        row = {"entity": entity.code, "currency": "EUR", "service_from": "2026-01-01", "age_days": 14}
        assert payload == {
            "as_of": "2026-01-15",
            "rows": [
                # arrears: 125.00 over 31 days, days 1-15 = 15 × 4.03 + 0.07
                row
                | {"customer_number": "C-1", "subscription_number": "S-1", "product_code": "SEAT-ARR"}
                | {"amount": "60.52", "bucket": "0_30"},
                # advance, no run yet: January in full, 5 × 10.00 less 10 %
                row
                | {"customer_number": "C-1", "subscription_number": "S-3", "product_code": "SEAT"}
                | {"amount": "45.00", "bucket": "0_30"},
                # a yearly advance charge not billed yet: the year in full
                row
                | {"customer_number": "C-2", "subscription_number": "S-2", "product_code": "SUP"}
                | {"amount": "1200.00", "bucket": "0_30"},
            ],
        }

    def test_csv_has_the_documented_columns(self, loaded, entity, capsys) -> None:
        call_command("billing", "run", "--as-of", "2026-01-01", "--issue")
        out, err = output(capsys, "unbilled", "--as-of", "2026-03-05", "--format", "csv")
        # S-1 never billed in January (the run was on the 1st): 125.00 due, 63 days old; February
        # 125.00 due too; March's 5 days: 125.00 / 31 = 4.03, 7 days a cent more: 5 × 4.04 = 20.20.
        # S-3 in advance: February and March missed, 45.00 each.
        assert out.splitlines() == [
            "entity,customer_number,subscription_number,product_code,currency,amount,service_from,age_days,bucket",
            f"{entity.code},C-1,S-1,SEAT-ARR,EUR,125.00,2026-01-01,63,61_90",
            f"{entity.code},C-1,S-1,SEAT-ARR,EUR,125.00,2026-02-01,32,31_60",
            f"{entity.code},C-1,S-1,SEAT-ARR,EUR,20.20,2026-03-01,4,0_30",
            f"{entity.code},C-1,S-3,SEAT,EUR,45.00,2026-02-01,32,31_60",
            f"{entity.code},C-1,S-3,SEAT,EUR,45.00,2026-03-01,4,0_30",
        ]
        assert err == ""

    def test_the_table_groups_per_customer_with_bucket_totals(self, loaded, capsys) -> None:
        out, _ = output(capsys, "unbilled", "--as-of", "2026-01-15")
        assert "Unbilled revenue as of" in out
        assert "Total C-1" in out
        assert "105.52" in out  # C-1: 60.52 + 45.00, all 0-30 days
        assert "1,200.00" in out

    def test_as_of_is_required(self, loaded, capsys) -> None:
        assert run_failing(capsys, "billing", "unbilled") == "error: --as-of is required"


class TestDeferred:
    def test_after_an_issuing_run_the_schedules_tie_to_the_ledger(self, loaded, entity, capsys) -> None:
        call_command("billing", "run", "--as-of", "2026-01-01", "--issue")
        out, err = output(capsys, "deferred", "--as-of", "2026-01-15", "--format", "json")
        # S-2's 1,200.00 for 2026 issued on January 1st: February to December deferred,
        # 1,200.00 less January's 31/365 share (101.92) = 1,098.08; S-3's January seats defer nothing
        tied = {"entity": entity.code, "currency": "EUR", "schedules": "1098.08", "ledger": "1098.08"}
        assert json.loads(out) == {
            "as_of": "2026-01-15",
            "rows": [tied | {"customer_number": "C-2", "difference": "0.00"}],
            "totals": [tied | {"difference": "0.00"}],
        }
        assert err == ""

    def test_releases_not_run_yet_show_as_a_difference_and_a_warning(self, loaded, entity, capsys) -> None:
        call_command("billing", "run", "--as-of", "2026-01-01", "--issue")
        out, err = output(capsys, "deferred", "--as-of", "2026-03-10", "--format", "csv")
        # the schedules have released February (92.05) and March (101.92): 904.11 still deferred;
        # the ledger holds 1,098.08 until a run releases them: 193.97 apart. Exit status 0.
        assert out.splitlines() == [
            "entity,customer_number,currency,schedules,ledger,difference,kind",
            f"{entity.code},C-2,EUR,904.11,1098.08,193.97,customer",
            f"{entity.code},,EUR,904.11,1098.08,193.97,total",
        ]
        assert err.startswith(
            "warning: deferred revenue differs from the ledger for 1 customer and currency;"
        )
        assert len(err.splitlines()) == 1
        call_command("billing", "run", "--as-of", "2026-03-10", "--issue")  # releases Feb and March
        out, err = output(capsys, "deferred", "--as-of", "2026-03-10", "--format", "csv")
        assert out.splitlines()[1] == f"{entity.code},C-2,EUR,904.11,904.11,0.00,customer"
        assert err == ""

    def test_the_table_shows_a_total_per_currency(self, loaded, capsys) -> None:
        call_command("billing", "run", "--as-of", "2026-01-01", "--issue")
        out, _ = output(capsys, "deferred", "--as-of", "2026-01-15")
        assert "Total" in out
        assert "1,098.08" in out


class TestReconcileCrm:
    def test_differences_have_a_kind_and_both_values(self, loaded, entity, capsys) -> None:
        crm = write(
            loaded,
            "crm.csv",
            CRM_HEADER
            + "S-1,C-1,SEAT-ARR,10,12.50,EUR,2026-01-01,,125.00,ann\n"  # as billed
            + "S-3,C-1,SEAT,6,10.00,EUR,2026-01-01,,,bob\n"  # 6 seats at list price; billing: 5 at 9.00
            + "S-9,C-1,SEAT,1,10.00,EUR,2026-02-01,,,bob\n",  # not in billing
        )
        out, err = output(capsys, "reconcile-crm", str(crm), "--as-of", "2026-03-01", "--format", "json")
        common = {"entity": entity.code}
        assert json.loads(out) == {
            "as_of": "2026-03-01",
            "file": str(crm),
            "rows": [
                common
                | {"contract_number": "S-2", "customer_number": "C-2", "kind": "missing_in_crm"}
                | {"crm_value": "", "billing_value": "S-2"},
                common
                | {"contract_number": "S-3", "customer_number": "C-1", "kind": "quantity_mismatch"}
                | {"crm_value": "6", "billing_value": "5"},
                common
                | {"contract_number": "S-3", "customer_number": "C-1", "kind": "price_mismatch"}
                | {"crm_value": "10.00", "billing_value": "9.00"},
                common
                | {"contract_number": "S-9", "customer_number": "C-1", "kind": "missing_in_billing"}
                | {"crm_value": "S-9", "billing_value": ""},
            ],
        }
        assert err == "3 CRM contracts read, 4 differences\n"

    def test_csv_output(self, loaded, entity, capsys) -> None:
        crm = write(loaded, "crm.csv", CRM_HEADER + "S-1,C-9,SEAT-ARR,10,12.50,EUR,2026-01-01,2026-06-30,,\n")
        out, _ = output(capsys, "reconcile-crm", str(crm), "--as-of", "2026-03-01", "--format", "csv")
        assert out.splitlines() == [
            "entity,contract_number,customer_number,kind,crm_value,billing_value",
            f"{entity.code},S-1,C-9,customer_mismatch,C-9,C-1",
            f"{entity.code},S-1,C-9,end_date_mismatch,2026-06-30,",
            f"{entity.code},S-2,C-2,missing_in_crm,,S-2",
            f"{entity.code},S-3,C-1,missing_in_crm,,S-3",
        ]

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            (
                "S-1,C-1,SEAT-ARR,ten,12.50,EUR,2026-01-01,,,",
                "row 2: quantity: 'ten' is not a decimal number",
            ),
            (
                "S-1,C-1,SEAT-ARR,10,12.50,EUR,2026-02-30,,,",
                "row 2: start_date: '2026-02-30' is not an ISO 8601 date (YYYY-MM-DD)",
            ),
            (
                "S-1,C-1,SEAT-ARR,10,12.50,EUR,2026-01-01,,125.001,",
                "row 2: amount: '125.001' has more decimals",
            ),
            ("S-1,,SEAT-ARR,10,12.50,EUR,2026-01-01,,,", "row 2: customer_number: is empty"),
            (
                "S-1,C-1,SEAT-ARR,10,12.50,EURO,2026-01-01,,,",
                "row 2: currency: 'EURO' is not an ISO 4217 currency",
            ),
            (
                "S-3,C-1,SEAT,5,9.00,EUR,2026-01-01,,,",
                "row 2: contract_number: contract S-3 appears twice (also row 1)",
            ),
        ],
    )
    def test_a_bad_row_is_one_line_naming_file_row_and_column(self, loaded, capsys, line, message) -> None:
        crm = write(loaded, "crm.csv", CRM_HEADER + "S-3,C-1,SEAT,5,9.00,EUR,2026-01-01,,,\n" + line + "\n")
        error = run_failing(capsys, "billing", "reconcile-crm", str(crm))
        assert error.startswith(f"error: {crm}: {message}")

    def test_a_missing_column_is_refused(self, loaded, capsys) -> None:
        crm = write(loaded, "crm.csv", "contract_number,customer_number\nS-1,C-1\n")
        assert run_failing(capsys, "billing", "reconcile-crm", str(crm)) == (
            f"error: {crm}: the header lacks the columns product_code, quantity, unit_price, currency, "
            "start_date, end_date"
        )

    def test_the_file_is_required(self, loaded, capsys) -> None:
        assert run_failing(capsys, "billing", "reconcile-crm").startswith(
            "error: reconcile-crm needs the CRM"
        )


def test_run_keeps_its_table_and_json_only(loaded, capsys) -> None:
    assert run_failing(capsys, "billing", "run", "--as-of", "2026-01-01", "--format", "csv") == (
        "error: --format: run writes table or json"
    )
