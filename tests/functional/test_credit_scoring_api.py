"""The credit scoring API (`/api/credit`): applications of new accounts, bureau reports imported from a CSV
export, scoring applications and customers, the scorecard changed by the credit manager, reviews due and
completed, raise requests with their checklist and evidence, and the report by risk class; credit
analysts change, auditors read, billing asks for raises (docs/credit-scoring.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.credit.models import CreditApplication, CreditLimit, CreditScore, ScorecardVersion
from o2c.credit.scorecard import DEFAULT_DEFINITION
from o2c.customers.models import Customer
from o2c.ledger.models import LegalEntity
from o2c.workspace import services as workspace_services
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _pinned_clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # 16 March 2026, 09:30 UTC


def client_for(user: User) -> Client:
    _, token = workspace_services.api_token_create(user=user, name="test", now=NOW)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def body(response: Any) -> Any:
    return json.loads(response.content)


def send(client: Client, method: str, path: str, data: dict[str, Any]) -> Any:
    return getattr(client, method)(path, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def analyst(entity: LegalEntity) -> Client:
    return client_for(make_user("cora", "credit", entities=[entity]))


@pytest.fixture
def auditor(entity: LegalEntity) -> Client:
    return client_for(make_user("aude", "auditor", entities=[entity]))


@pytest.fixture
def manager(entity: LegalEntity) -> Client:
    return client_for(make_user("martin", "ar_manager", entities=[entity]))


@pytest.fixture
def sales(entity: LegalEntity) -> Client:
    return client_for(make_user("bianca", "billing", entities=[entity]))


APPLICATION = {
    "company_name": "Müller Maschinenbau GmbH",
    "country": "DE",
    "vat_id": "DE123456789",
    "registration_number": "HRB 12345",
    "requested_limit": "100000.00",
    "currency": "EUR",
    "trade_references": [
        {"name": "Schmidt AG", "years_known": 5, "highest_credit": "50000", "payment_experience": "prompt"}
    ],
    "statements": [
        {
            "statement_date": "2025-12-31",
            "currency": "EUR",
            "current_assets": "400000",
            "current_liabilities": "250000",
            "total_assets": "1000000",
            "total_liabilities": "600000",
            "retained_earnings": "200000",
            "ebit": "100000",
            "sales": "2000000",
            "equity": "400000",
        }
    ],
}
BUREAU = (
    b"registration_number,bureau,score,failure_class,payment_index,as_of\n"
    b"HRB12345,creditsafe,72,2,80,2026-01-10\n"
)


def _scored(analyst: Client) -> int:
    created = send(analyst, "post", "/api/credit/applications", APPLICATION)
    assert created.status_code == 201, created.content
    application_id = body(created)["id"]
    uploaded = analyst.post("/api/credit/bureau-reports", {"file": _file("bureau.csv", BUREAU)})
    assert body(uploaded) == {"file": "bureau.csv", "rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    scored = send(
        analyst, "post", f"/api/credit/applications/{application_id}/score", {"as_of": "2026-01-15"}
    )
    assert scored.status_code == 200, scored.content
    return int(application_id)


def _file(name: str, content: bytes, content_type: str = "text/csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


class TestApplications:
    def test_an_application_is_submitted_scored_and_approved_for_the_customer(
        self, analyst: Client, customer: Customer
    ) -> None:
        application_id = _scored(analyst)
        shown = body(analyst.get(f"/api/credit/applications/{application_id}"))
        assert (shown["state"], shown["registration_number"], shown["requested_limit"]) == (
            "scored",
            "HRB12345",
            "100000.00",
        )
        assert shown["trade_references"][0]["highest_credit"] == "50000.00"
        assert shown["statements"][0]["figures"]["equity"] == "400000.00"
        assert shown["bureau_reports"] == [
            {
                "bureau": "creditsafe",
                "as_of": "2026-01-10",
                "score": 72,
                "failure_class": 2,
                "payment_index": 80,
            }
        ]
        score = shown["scores"][0]
        # 5,300 / 60 = 88.33: A; min(2,000,000 × 0.10, 400,000 × 0.20) = 80,000.00 EUR
        assert (score["total"], score["risk_class"], score["recommended_limit"], score["currency"]) == (
            "88.33",
            "A",
            "80000.00",
            "EUR",
        )
        assert score["factors"][0] == {
            "code": "z_score",
            "value": "3.01",
            "missing": False,
            "band": "safe",
            "points": 100,
            "weight": "20",
            "effective_weight": "33.33",
            "contribution": "33.33",
        }

        approved = send(
            analyst,
            "post",
            f"/api/credit/applications/{application_id}/approve",
            {"customer_number": "C-1000"},
        )

        assert approved.status_code == 200, approved.content
        result = body(approved)
        # no limit given: the recommended 80,000.00 EUR, above the 50,000 threshold: pending
        assert (result["state"], result["customer_number"], result["decided_limit"]) == (
            "approved",
            "C-1000",
            "80000.00",
        )
        assert CreditLimit.objects.get(pk=result["limit_request_id"]).status == "pending"

    def test_a_bad_bureau_row_is_a_problem_naming_row_and_column(self, analyst: Client) -> None:
        send(analyst, "post", "/api/credit/applications", APPLICATION)
        data = b"registration_number,bureau,score,as_of\nHRB12345,dnb,x,2026-01-10\n"
        response = analyst.post("/api/credit/bureau-reports", {"file": _file("b.csv", data)})
        assert (response.status_code, response["Content-Type"]) == (422, PROBLEM)
        assert body(response)["detail"] == "b.csv: row 1: score: 'x' is not a whole number from 0 to 100"

    def test_auditors_read_but_do_not_submit(self, analyst: Client, auditor: Client) -> None:
        application_id = _scored(analyst)
        assert auditor.get(f"/api/credit/applications/{application_id}").status_code == 200
        refused = send(auditor, "post", "/api/credit/applications", APPLICATION)
        assert refused.status_code == 403
        assert CreditApplication.objects.count() == 1

    def test_declining_needs_a_note(self, analyst: Client) -> None:
        application_id = _scored(analyst)
        response = send(
            analyst, "post", f"/api/credit/applications/{application_id}/decline", {"note": "distress"}
        )
        assert body(response)["state"] == "declined"


class TestScoringCustomers:
    def test_scoring_a_customer_keeps_the_score_and_shows_the_profile(
        self, analyst: Client, auditor: Client, customer: Customer
    ) -> None:
        application_id = _scored(analyst)
        send(
            analyst,
            "post",
            f"/api/credit/applications/{application_id}/approve",
            {"customer_number": "C-1000", "limit": "40000"},
        )
        response = send(analyst, "post", "/api/credit/customers/C-1000/score", {"as_of": "2026-03-16"})
        assert response.status_code == 200, response.content
        result = body(response)
        assert (result["customer"], result["as_of"], result["total"], result["risk_class"]) == (
            "C-1000",
            "2026-03-16",
            "88.33",
            "A",
        )
        assert result["next_review"] == "2027-03-16"
        profile = body(auditor.get("/api/credit/customers/C-1000/scores"))
        assert (profile["risk_class"], profile["risk_scored_on"], profile["next_review"]) == (
            "A",
            "2026-03-16",
            "2027-03-16",
        )
        assert [s["as_of"] for s in profile["scores"]] == ["2026-03-16", "2026-01-15"]

    def test_a_customer_nothing_is_known_about_is_a_problem(
        self, analyst: Client, customer: Customer
    ) -> None:
        response = send(analyst, "post", "/api/credit/customers/C-1000/score", {})
        assert (response.status_code, body(response)["code"]) == (422, "no_factors")
        assert CreditScore.objects.count() == 0

    def test_an_unknown_customer_is_not_found(self, analyst: Client) -> None:
        assert send(analyst, "post", "/api/credit/customers/NOPE/score", {}).status_code == 404


class TestScorecard:
    def test_the_credit_manager_changes_the_scorecard_analysts_may_not(
        self, analyst: Client, manager: Client
    ) -> None:
        shown = body(analyst.get("/api/credit/scorecard"))
        assert (shown["version"], shown["definition"]["limit_step"]) == (1, "1000")
        changed = {**DEFAULT_DEFINITION, "limit_step": "5000"}
        assert send(analyst, "put", "/api/credit/scorecard", {"definition": changed}).status_code == 403
        response = send(manager, "put", "/api/credit/scorecard", {"definition": changed, "note": "coarser"})
        assert (response.status_code, body(response)["version"]) == (200, 2)
        bad = send(manager, "put", "/api/credit/scorecard", {"definition": {**changed, "limit_step": "0"}})
        assert (bad.status_code, body(bad)["code"], body(bad)["detail"]) == (
            422,
            "bad_scorecard",
            "limit_step: must be positive",
        )
        assert ScorecardVersion.objects.count() == 2


class TestReviewsAndRaises:
    def test_reviews_due_completed_and_a_raise_through_its_checklist(
        self, analyst: Client, sales: Client, auditor: Client, customer: Customer
    ) -> None:
        application_id = _scored(analyst)
        send(
            analyst,
            "post",
            f"/api/credit/applications/{application_id}/approve",
            {"customer_number": "C-1000", "limit": "40000"},
        )
        assert body(analyst.get("/api/credit/reviews?as_of=2027-01-14"))["reviews"] == []
        due = body(analyst.get("/api/credit/reviews?as_of=2027-01-15"))["reviews"]
        assert [(r["customer_number"], r["due_date"], r["risk_class"]) for r in due] == [
            ("C-1000", "2027-01-15", "A")
        ]
        done = send(
            analyst,
            "post",
            f"/api/credit/reviews/{due[0]['id']}/complete",
            {"decision": "keep", "note": "fine", "as_of": "2027-01-15"},
        )
        assert (body(done)["state"], body(done)["decision"]) == ("completed", "keep")

        created = send(
            sales,
            "post",
            "/api/credit/raise-requests",
            {"customer_number": "C-1000", "requested_limit": "45000", "reason": "new contract"},
        )
        assert created.status_code == 201, created.content
        request = body(created)
        assert (request["current_limit"], request["requested_limit"], request["state"]) == (
            "40000.00",
            "45000.00",
            "open",
        )
        assert [item["item"] for item in request["checklist"]] == [
            "financials_received",
            "bureau_report_checked",
            "trade_references_checked",
            "payment_behaviour_reviewed",
            "group_exposure_reviewed",
        ]
        path = f"/api/credit/raise-requests/{request['id']}"
        assert send(sales, "post", f"{path}/approve", {}).status_code == 403
        refused = send(analyst, "post", f"{path}/approve", {})
        assert (refused.status_code, body(refused)["code"]) == (422, "checklist_open")
        for item in request["checklist"]:
            send(analyst, "post", f"{path}/checklist", {"item": item["item"], "note": "ok"})
        evidence = analyst.post(
            f"{path}/evidence",
            {
                "file": _file("report.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
                "item": "bureau_report_checked",
            },
        )
        assert evidence.status_code == 201, evidence.content
        assert body(evidence)["evidence"][0]["file_name"] == "report.pdf"
        approved = body(send(analyst, "post", f"{path}/approve", {"note": "ok"}))
        # 45,000.00 EUR is not above the 50,000 threshold: in force at once
        assert (approved["state"], approved["decided_limit"]) == ("approved", "45000.00")
        assert CreditLimit.objects.get(pk=approved["limit_request_id"]).status == "active"
        assert body(auditor.get(path))["state"] == "approved"
        assert AuditEvent.objects.filter(action="credit.raise_request.approved").count() == 1

    def test_the_report_by_risk_class(self, analyst: Client, customer: Customer) -> None:
        application_id = _scored(analyst)
        send(
            analyst,
            "post",
            f"/api/credit/applications/{application_id}/approve",
            {"customer_number": "C-1000", "limit": "40000"},
        )
        report = body(analyst.get("/api/credit/reports/risk-classes?as_of=2026-03-16"))
        assert report["customers"] == [
            {"risk_class": "A", "currency": "EUR", "customers": 1, "receivables": "0.00", "exposure": "0.00"}
        ]
        assert report["limits"] == [
            {
                "risk_class": "A",
                "currency": "EUR",
                "limits": 1,
                "limit": "40000.00",
                "exposure": "0.00",
                "limit_use": "0.00",
            }
        ]
        due = body(analyst.get("/api/credit/reports/limits-due?as_of=2027-01-15"))
        assert [(row["customer_number"], row["limit"], row["next_review_date"]) for row in due["limits"]] == [
            ("C-1000", "40000.00", "2027-01-15")
        ]
