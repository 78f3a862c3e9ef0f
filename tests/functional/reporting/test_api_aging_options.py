"""/api/reports/aging and /api/reports/aging/items with `buckets`, `reporting_currency` and
`deductions`: the same documents as the command, 422 problem details naming the parameter when a value
is wrong. The histories are those of tests/integration/reporting/test_aging_options.py."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from o2c.ledger.models import LegalEntity
from tests.conftest import make_user
from tests.functional.reporting.test_api_reports import PROBLEM, body, client_for
from tests.integration.reporting.test_aging_options import (
    boundary_history,
    currency_history,
    short_pay_history,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    from tests.conftest import NOW

    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("maria", "ar_manager", entities=[entity]))


class TestBuckets:
    def test_the_rows_follow_the_boundaries(self, manager, customer):
        boundary_history(customer)

        data = body(manager.get("/api/reports/aging?as_of=2026-06-30&buckets=30,60,90"))

        assert data == {
            "as_of": "2026-06-30",
            "basis": "due",
            "rows": [
                {
                    "entity": "MAIN",
                    "customer_number": "C-1000",
                    "currency": "EUR",
                    "current": "150.00",
                    "1_30": "200.00",
                    "31_60": "400.00",
                    "61_90": "800.00",
                    "over_90": "1600.00",
                    "unapplied": "0.00",
                    "total": "3150.00",
                }
            ],
        }

    def test_csv_on_the_invoice_basis(self, manager, customer):
        boundary_history(customer)

        response = manager.get(
            "/api/reports/aging?as_of=2026-06-30&basis=invoice&buckets=30,60,90&format=csv"
        )

        assert response.content.decode().splitlines() == [
            "entity,customer_number,currency,current,1_30,31_60,61_90,over_90,unapplied,total",
            "MAIN,C-1000,EUR,50.00,100.00,200.00,400.00,2400.00,0.00,3150.00",
        ]

    def test_the_items_carry_the_bucket_of_the_boundaries(self, manager, customer):
        boundary_history(customer)

        data = body(manager.get("/api/reports/aging/items?as_of=2026-06-30&buckets=30,60,90"))

        assert [(i["days"], i["bucket"], i["amount"]) for i in data["items"]] == [
            (91, "over_90", "1600.00"),
            (90, "61_90", "800.00"),
            (60, "31_60", "400.00"),
            (30, "1_30", "200.00"),
            (0, "current", "100.00"),
            (-30, "current", "50.00"),
        ]

    @pytest.mark.parametrize(
        ("value", "detail"),
        [
            ("90,60", "buckets: the boundaries must rise: 60 follows 90"),
            ("0", "buckets: the boundaries are days and must be positive, not 0"),
            ("abc", "buckets: 'abc' is not a whole number of days"),
            ("1,2,3,4,5,6,7,8,9", "buckets: at most 8 boundaries, not 9"),
        ],
    )
    def test_a_bad_value_is_a_problem_naming_the_parameter(self, manager, entity, value, detail):
        for path in ("/api/reports/aging", "/api/reports/aging/items"):
            response = manager.get(f"{path}?as_of=2026-06-30&buckets={value}")
            assert (response.status_code, response["Content-Type"]) == (422, PROBLEM)
            assert (body(response)["code"], body(response)["detail"]) == ("bad_buckets", detail)


class TestReportingCurrency:
    def test_every_amount_converted_and_summed_per_customer(self, manager, entity, customer):
        currency_history(entity, customer)

        data = body(manager.get("/api/reports/aging?as_of=2026-04-30&reporting_currency=EUR"))

        assert list(data) == ["as_of", "basis", "reporting_currency", "rows"]
        assert data["reporting_currency"] == "EUR"
        assert [
            (
                r["customer_number"],
                r["currency"],
                r["current"],
                r["1_30"],
                r["31_60"],
                r["unapplied"],
                r["total"],
            )
            for r in data["rows"]
        ] == [
            ("C-1000", "EUR", "0.00", "1190.00", "850.09", "0.00", "2040.09"),
            ("C-2000", "EUR", "170.00", "-85.09", "0.00", "0.00", "84.91"),
            ("", "EUR", "0.00", "0.00", "0.00", "-77.70", "-77.70"),
        ]

    def test_without_it_the_rows_stay_in_their_currencies(self, manager, entity, customer):
        currency_history(entity, customer)

        data = body(manager.get("/api/reports/aging?as_of=2026-04-30"))

        assert "reporting_currency" not in data
        assert [(r["customer_number"], r["currency"], r["total"]) for r in data["rows"]] == [
            ("C-1000", "EUR", "1190.00"),
            ("C-1000", "USD", "1000.10"),
            ("C-2000", "USD", "99.90"),
            ("", "EUR", "-77.70"),
        ]

    def test_a_missing_rate_is_a_problem_naming_the_pair_and_the_date(self, manager, entity, customer):
        currency_history(entity, customer)

        response = manager.get("/api/reports/aging?as_of=2026-04-30&reporting_currency=GBP")

        assert (response.status_code, response["Content-Type"]) == (422, PROBLEM)
        assert (body(response)["code"], body(response)["detail"]) == (
            "no_fx_rate",
            "no FX rate EUR/GBP on or before 2026-04-30 (o2c import fx-rates loads them)",
        )

    def test_an_unknown_currency_is_a_problem(self, manager, entity):
        response = manager.get("/api/reports/aging?as_of=2026-04-30&reporting_currency=EURO")

        assert response.status_code == 422
        assert (body(response)["code"], body(response)["detail"]) == (
            "bad_currency",
            "reporting_currency: 'EURO' is not an ISO 4217 currency code",
        )


class TestDeductions:
    def test_the_items_mark_the_deduction_a_short_pay_left_open(self, manager, entity, customer):
        short_pay_history(entity, customer)

        data = body(manager.get("/api/reports/aging/items?as_of=2026-04-30&deductions=true"))

        assert [(i["amount"], i["deduction"]) for i in data["items"]] == [
            ("90.00", "90.00"),
            ("295.00", "0.00"),
        ]

    def test_without_it_the_items_are_as_before(self, manager, entity, customer):
        short_pay_history(entity, customer)

        data = body(manager.get("/api/reports/aging/items?as_of=2026-04-30"))

        assert [list(item) for item in data["items"]] == [
            [
                "entity",
                "customer_number",
                "currency",
                "kind",
                "number",
                "issue_date",
                "due_date",
                "days",
                "bucket",
                "amount",
                "disputed",
            ]
        ] * 2

    def test_the_workbook_data_sheet_with_deductions(self, manager, entity, customer):
        short_pay_history(entity, customer)

        response = manager.get("/api/reports/aging?as_of=2026-04-30&format=xlsx&deductions=true")

        rows = list(load_workbook(io.BytesIO(response.content))["Data"].iter_rows(values_only=True))
        assert rows[0][-1] == "deduction"
        assert [r[12] for r in rows[1:]] == [90, 0]

    def test_the_openapi_document_lists_the_parameters(self, manager):
        document = json.loads(manager.get("/api/openapi.json").content)
        names = {p["name"] for p in document["paths"]["/api/reports/aging"]["get"]["parameters"]}
        assert {"buckets", "reporting_currency", "deductions"} <= names
