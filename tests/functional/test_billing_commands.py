"""`o2c import products|subscriptions|usage` and `o2c billing run` as a billing analyst runs them."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from o2c.billing.models import Price, Product, Subscription, UsageEvent
from o2c.receivables.models import Document
from tests.functional.test_import_commands import CUSTOMERS_HEADER, run_failing, write

pytestmark = pytest.mark.django_db

PRODUCTS = (
    "product_code,name,price_model,currency,unit_price,tiers,billing_period,timing,metric,aggregation\n"
    "PLAT,Platform,flat,EUR,100.00,,month,advance,,\n"
    "SEAT,Seats,per_unit,EUR,10.00,,month,advance,,\n"
    "API,API calls,tiered,EUR,,1000:0.10|*:0.05,month,arrears,api_calls,sum\n"
    "USERS,Active users,per_unit,EUR,2.00,,month,arrears,active_users,unique_count\n"
)
SUBSCRIPTIONS = (
    "subscription_number,customer_number,bill_to_number,product_code,quantity,start_date,end_date,"
    "discount_percent,po_number\n"
    "S-1,C-1,,PLAT,1,2026-01-15,,,PO-77\n"
    "S-2,C-2,C-1,SEAT,5,2026-02-01,,10,\n"
    "S-3,C-1,,API,,2026-01-01,,,\n"
    "S-4,C-1,,USERS,,2026-01-01,,,\n"
)
USAGE = (
    "event_id,subscription_number,metric,quantity,timestamp\n"
    "u1,S-3,api_calls,1200,2026-01-10T08:00:00Z\n"
    "u2,S-3,api_calls,300,2026-01-20T08:00:00+01:00\n"
    "u3,S-4,active_users,17,2026-01-03T08:00:00Z\n"
    "u4,S-4,active_users,17,2026-01-04T08:00:00Z\n"
    "u5,S-4,active_users,23,2026-01-05T08:00:00Z\n"
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
                + "C-2,Müller Söhne GmbH,DE,EUR,de,NET30,,,C-1,\n",
            )
        ),
    )
    call_command("import", "products", str(write(tmp_path, "products.csv", PRODUCTS)))
    call_command("import", "subscriptions", str(write(tmp_path, "subscriptions.csv", SUBSCRIPTIONS)))
    call_command("import", "usage", str(write(tmp_path, "usage.csv", USAGE)))
    return tmp_path


def billing_json(capsys, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    call_command("billing", "run", *args, "--format", "json")
    return json.loads(capsys.readouterr().out)


def test_imports_are_idempotent(loaded, capsys) -> None:
    assert (Product.objects.count(), Price.objects.count(), Subscription.objects.count()) == (4, 4, 4)
    assert UsageEvent.objects.count() == 5
    call_command("import", "products", str(loaded / "products.csv"))
    call_command("import", "subscriptions", str(loaded / "subscriptions.csv"))
    call_command("import", "usage", str(loaded / "usage.csv"))
    err = capsys.readouterr().err
    assert "0 products created, 0 updated, 4 unchanged" in err
    assert "0 subscriptions created, 0 updated, 4 unchanged" in err
    assert "0 usage events created, 5 already known and ignored" in err
    assert UsageEvent.objects.count() == 5


def test_a_preview_lists_drafts_without_numbers_in_the_contract_json(loaded, capsys) -> None:
    payload = billing_json(capsys, "--as-of", "2026-02-01")
    assert payload["as_of"] == "2026-02-01"
    [invoice] = payload["invoices"]
    assert invoice["invoice_number"] is None
    assert invoice["customer_number"] == "C-1"
    assert invoice["currency"] == "EUR"
    lines = [
        (line["product_code"], line["quantity"], line["unit_price"], line["amount"], line["period_start"])
        for line in invoice["lines"]
    ]
    assert lines == [
        # January from the 15th: 17 days of 3.22 plus 4 of the 18 residue cents = 54.78; February in advance
        ("PLAT", "1", "100.00", "54.78", "2026-01-15"),
        ("PLAT", "1", "100.00", "100.00", "2026-02-01"),
        # C-2's seats, consolidated on its parent: 5 × 10.00 less 10 %
        ("SEAT", "5", "10.00", "45.00", "2026-02-01"),
        # 1,500 calls: 100.00 + 25.00
        ("API", "1500", "0.083333", "125.00", "2026-01-01"),
        # two distinct users (17 twice, 23) at 2.00
        ("USERS", "2", "2.00", "4.00", "2026-01-01"),
    ]
    assert invoice["lines"][0]["period_end"] == "2026-01-31"
    # 328.78 net, 19 % = 62.4682 -> 62.47
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == ("328.78", "62.47", "391.25")
    assert Document.objects.get().origin == "consolidated"


def test_an_issuing_run_numbers_the_drafts_and_a_second_run_creates_nothing(loaded, capsys) -> None:
    billing_json(capsys, "--as-of", "2026-02-01")
    payload = billing_json(capsys, "--as-of", "2026-02-01", "--issue")
    assert [i["invoice_number"] for i in payload["invoices"]] == ["INV-2026-000001"]
    assert billing_json(capsys, "--as-of", "2026-02-01", "--issue")["invoices"] == []
    assert Document.objects.count() == 1


def test_the_table_output_is_for_people(loaded, capsys) -> None:
    call_command("billing", "run", "--as-of", "2026-02-01")
    out = capsys.readouterr().out
    assert "Billing run as of 2026-02-01: 1 drafted (preview)" in out
    assert "391.25" in out


def test_a_bad_as_of_date_is_one_line_and_exit_2(capsys) -> None:
    assert run_failing(capsys, "billing", "run", "--as-of", "2026-13-01") == (
        "error: --as-of: '2026-13-01' is not an ISO 8601 date (YYYY-MM-DD)"
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "products.csv",
            PRODUCTS.replace("PLAT,Platform,flat", "PLAT,Platform,flatrate"),
            "row 1: price_model: 'flatrate' is not one of flat, per_unit, tiered, volume, package",
        ),
        (
            "products.csv",
            PRODUCTS.replace("1000:0.10|*:0.05", "1000:0.10|500:0.05"),
            "row 3: tiers: tier bounds must ascend and only the last may be '*'",
        ),
        (
            "products.csv",
            PRODUCTS.replace("PLAT,Platform,flat,EUR", "PLAT,Platform,flat,EURO"),
            "row 1: currency: 'EURO' is not an ISO 4217 currency",
        ),
    ],
)
def test_bad_product_rows_name_row_and_column_and_import_nothing(
    tmp_path, capsys, name, text, message
) -> None:
    path = write(tmp_path, name, text)
    assert run_failing(capsys, "import", "products", str(path)) == f"error: {path}: {message}"
    assert Product.objects.count() == 0


def test_bad_subscription_and_usage_rows_name_row_and_column(loaded, capsys) -> None:
    subscriptions = write(
        loaded, "bad-subscriptions.csv", SUBSCRIPTIONS.replace("S-2,C-2,C-1,SEAT", "S-2,C-9,C-1,SEAT")
    )
    assert run_failing(capsys, "import", "subscriptions", str(subscriptions)) == (
        f"error: {subscriptions}: row 2: customer_number: unknown customer 'C-9'"
    )
    usage = write(
        loaded,
        "bad-usage.csv",
        USAGE + "u6,S-3,api_calls,5,2026-01-10T08:00:00\nu7,S-3,api_calls,5,2025-12-31T08:00:00Z\n",
    )
    assert run_failing(capsys, "import", "usage", str(usage)) == (
        f"error: {usage}: row 6: timestamp: '2026-01-10T08:00:00' has no time zone offset (add Z or +01:00)"
    )
    wrong_metric = write(loaded, "metric.csv", USAGE + "u8,S-1,api_calls,5,2026-01-10T08:00:00Z\n")
    assert run_failing(capsys, "import", "usage", str(wrong_metric)) == (
        f"error: {wrong_metric}: row 6: metric: 'api_calls' is not the subscription's metric; "
        "it has no metric (it is not metered)"
    )
    assert UsageEvent.objects.count() == 5
