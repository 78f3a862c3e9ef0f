"""The reports API under /api/reports/: the aging (JSON, CSV, Excel) and its items, the KPIs, within the
legal entities granted to the caller."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from openpyxl import load_workbook

from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, make_user
from tests.integration.reporting.history import History, build_history

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


@pytest.fixture
def history(entity: LegalEntity, customer: Customer) -> History:
    return build_history(entity, customer)


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("maria", "ar_manager", entities=[entity]))


class TestAging:
    def test_the_aging_is_the_commands_json(self, manager, history):
        response = manager.get("/api/reports/aging?as_of=2026-04-30")
        assert response.status_code == 200
        data = body(response)
        assert (data["as_of"], data["basis"]) == ("2026-04-30", "due")
        assert [
            (r["customer_number"], r["31_60"], r["61_90"], r["unapplied"], r["total"]) for r in data["rows"]
        ] == [
            ("C-1000", "0.00", "495.00", "-510.00", "-15.00"),
            ("C-2000", "1190.00", "-50.00", "-400.00", "740.00"),
            ("", "0.00", "0.00", "-77.70", "-77.70"),
        ]
        assert list(data["rows"][0]) == [
            "entity",
            "customer_number",
            "currency",
            "current",
            "1_30",
            "31_60",
            "61_90",
            "91_120",
            "over_120",
            "unapplied",
            "total",
        ]

    def test_a_past_date_on_the_invoice_basis(self, manager, history):
        data = body(manager.get("/api/reports/aging?as_of=2026-02-12&basis=invoice"))
        # INV-A 690.00 issued 41 days before, INV-B 495.00 28 days, INV-C 1,190.00 11 days
        assert [(r["customer_number"], r["1_30"], r["31_60"], r["total"]) for r in data["rows"]] == [
            ("C-1000", "495.00", "690.00", "1185.00"),
            ("C-2000", "1190.00", "0.00", "1190.00"),
        ]

    def test_csv_and_xlsx(self, manager, history):
        csv_response = manager.get("/api/reports/aging?as_of=2026-04-30&format=csv")
        assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
        assert (
            csv_response.content.decode().splitlines()[3]
            == "MAIN,,EUR,0.00,0.00,0.00,0.00,0.00,0.00,-77.70,-77.70"
        )
        xlsx = manager.get("/api/reports/aging?as_of=2026-04-30&format=xlsx")
        assert xlsx["Content-Disposition"] == 'attachment; filename="aging-MAIN-2026-04-30.xlsx"'
        assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["Summary", "Data"]

    def test_the_items_behind_a_row(self, manager, history):
        data = body(manager.get("/api/reports/aging/items?as_of=2026-04-30&customer=C-2000"))
        assert [(i["kind"], i["days"], i["bucket"], i["amount"]) for i in data["items"]] == [
            ("credit_memo", 69, "61_90", "-50.00"),
            ("invoice", 58, "31_60", "1190.00"),
        ]
        assert body(manager.get("/api/reports/aging/items?as_of=2026-04-30&customer=NOPE"))["items"] == []

    def test_a_bad_date_is_422(self, manager, entity):
        response = manager.get("/api/reports/aging?as_of=30.04.2026")
        assert (response.status_code, body(response)["code"]) == (422, "validation_error")


class TestKpis:
    def test_the_kpis_are_the_commands_json(self, manager, history):
        response = manager.get("/api/reports/kpis?as_of=2026-04-30")
        assert response.status_code == 200
        assert body(response) == {
            "as_of": "2026-04-30",
            "entity": "MAIN",
            "currency": "EUR",
            "dso": 141.49,
            "dso_countback": 99.33,
            "best_possible_dso": 0.0,
            "average_days_delinquent": 141.49,
            "cei": 0.0,
            "percent_current": 0.0,
            "percent_over_90": 0.0,
            "unapplied_cash": "987.70",
            "disputed_amount": "0.00",
            "broken_promises": 0,
            "broken_promises_amount": "0.00",
        }


class TestAccess:
    def test_every_role_may_read_reports(self, entity, history):
        for username, role in (("aude", "auditor"), ("cole", "collector"), ("bia", "billing")):
            client = client_for(make_user(username, role, entities=[entity]))
            assert client.get("/api/reports/aging?as_of=2026-04-30").status_code == 200
            assert client.get("/api/reports/kpis?as_of=2026-04-30").status_code == 200

    def test_a_user_without_a_role_may_not(self, entity):
        nobody = client_for(make_user("nora", entities=[entity]))
        for path in ("/api/reports/aging?as_of=2026-04-30", "/api/reports/kpis?as_of=2026-04-30"):
            response = nobody.get(path)
            assert response["Content-Type"] == PROBLEM
            assert (response.status_code, body(response)["code"]) == (403, "forbidden")

    def test_an_entity_not_granted_is_404(self, entity, other_entity, history):
        french = client_for(make_user("francois", "ar_manager", entities=[other_entity]))
        for path in (
            "/api/reports/aging?as_of=2026-04-30&entity=MAIN",
            "/api/reports/aging?as_of=2026-04-30&entity=MAIN&format=xlsx",
            "/api/reports/aging/items?as_of=2026-04-30&entity=MAIN",
            "/api/reports/kpis?as_of=2026-04-30&entity=MAIN",
            "/api/reports/kpis?as_of=2026-04-30&entity=NOPE",
        ):
            response = french.get(path)
            assert (response.status_code, body(response)["code"]) == (404, "not_found"), path
        # their own entity, by default: nothing of MAIN's shows
        assert body(french.get("/api/reports/aging?as_of=2026-04-30"))["rows"] == []
        assert body(french.get("/api/reports/kpis?as_of=2026-04-30"))["entity"] == "FR01"

    def test_a_user_with_no_entity_is_403(self, entity):
        lonely = client_for(make_user("lone", "ar_manager"))
        response = lonely.get("/api/reports/kpis?as_of=2026-04-30")
        assert (response.status_code, body(response)["code"]) == (403, "forbidden")

    def test_without_a_token_it_is_401(self, entity):
        response = Client().get("/api/reports/aging?as_of=2026-04-30")
        assert (response.status_code, body(response)["code"]) == (401, "not_authenticated")

    def test_the_openapi_document_lists_the_report_endpoints(self, manager):
        document = body(manager.get("/api/openapi.json"))
        assert {"/api/reports/aging", "/api/reports/aging/items", "/api/reports/kpis"} <= set(
            document["paths"]
        )
        row = document["components"]["schemas"]["AgingRowOut"]["properties"]
        assert {"1_30", "over_120", "unapplied", "total"} <= set(row)
