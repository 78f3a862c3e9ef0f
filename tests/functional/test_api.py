"""The REST API under /api/: tokens, roles, legal-entity scope, customers, invoices, problem details."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from o2c.audit.models import AuditEvent
from o2c.customers import services as customer_services
from o2c.customers.models import Customer
from o2c.ledger.models import JournalEntry, LegalEntity
from o2c.receivables import services as receivable_services
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from o2c.workspace.models import ApiToken
from tests.conftest import NOW, customer_in, issued_credit_memo, issued_invoice, make_user

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


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    return body(response)


@pytest.fixture
def billing(billing_user: User) -> Client:
    return client_for(billing_user)


@pytest.fixture
def auditor(auditor_user: User) -> Client:
    return client_for(auditor_user)


@pytest.fixture
def foreign_customer(other_entity: LegalEntity) -> Customer:
    """A customer of another legal entity, with the same number as the `customer` fixture."""
    return customer_services.customer_create(
        entity=other_entity, data=customer_in("C-1000", name="Dupont SARL", country="FR"), actor=None, now=NOW
    )


INVOICE_BODY = {
    "customer_number": "C-1000",
    "issue_date": "2026-03-02",
    "po_number": "PO-77",
    "lines": [{"description": "Consulting", "quantity": "10", "unit_price": "100.00", "tax_rate": "19"}],
}


class TestAuthentication:
    def test_a_request_without_a_token_is_401_problem_json(self, customer):
        response = Client().get("/api/customers")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="o2c"'
        assert problem(response) == {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "a valid token is required: Authorization: Bearer <token>",
            "code": "not_authenticated",
        }

    def test_an_unknown_token_is_401(self, billing_user):
        response = Client(HTTP_AUTHORIZATION="Bearer o2c_not-a-real-token").get("/api/customers")
        assert (response.status_code, problem(response)["code"]) == (401, "not_authenticated")

    def test_a_revoked_token_is_401(self, billing_user):
        api_token, token = workspace_services.api_token_create(user=billing_user, name="ci", now=NOW)
        workspace_services.api_token_revoke(api_token_id=api_token.pk, actor=None, now=NOW)
        response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/customers")
        assert response.status_code == 401

    def test_an_inactive_users_token_is_401(self, billing_user):
        _, token = workspace_services.api_token_create(user=billing_user, name="ci", now=NOW)
        User.objects.filter(pk=billing_user.pk).update(is_active=False)
        response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/customers")
        assert response.status_code == 401

    def test_only_the_sha256_of_the_token_is_stored_and_its_use_is_recorded(self, billing_user):
        api_token, token = workspace_services.api_token_create(user=billing_user, name="ci", now=NOW)
        assert api_token.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {api_token.token_hash, api_token.name}
        assert api_token.last_used_at is None
        assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/customers").status_code == 200
        api_token.refresh_from_db()
        assert api_token.last_used_at == NOW

    def test_the_command_prints_a_working_token_once_on_stdout(self, billing_user, customer):
        out, err = StringIO(), StringIO()
        call_command("api-token", "bianca", "--name", "erp sync", stdout=out, stderr=err)
        token = out.getvalue().strip()
        api_token = ApiToken.objects.get()
        assert (api_token.user, api_token.name, api_token.is_active) == (billing_user, "erp sync", True)
        assert api_token.token_hash == hashlib.sha256(token.encode()).hexdigest()
        response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/customers")
        assert [item["number"] for item in body(response)["items"]] == ["C-1000"]

    def test_the_command_refuses_an_unknown_user_and_creates_nothing(self, db):
        with pytest.raises(CommandError, match="no user 'nobody'"):
            call_command("api_token", "nobody", stdout=StringIO())
        assert ApiToken.objects.count() == 0


class TestPermissions:
    def test_an_auditor_may_read_but_not_create_a_customer(self, auditor, customer):
        events = AuditEvent.objects.count()
        assert auditor.get("/api/customers").status_code == 200
        response = auditor.post(
            "/api/customers",
            {"number": "C-2000", "name": "Neu GmbH", "country": "DE", "currency": "EUR"},
            content_type="application/json",
        )
        assert response.status_code == 403
        assert problem(response) == {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": "your roles do not allow you to edit customers",
            "code": "forbidden",
        }
        assert list(Customer.objects.values_list("number", flat=True)) == ["C-1000"]
        assert AuditEvent.objects.count() == events

    def test_an_auditor_may_neither_create_nor_issue_invoices(self, auditor, customer):
        draft = receivable_services.document_create(
            customer=customer,
            document_type="invoice",
            issue_date=date(2026, 3, 2),
            lines=[LineIn("X", Decimal(1), Decimal(10))],
            actor=None,
            now=NOW,
        )
        created = auditor.post("/api/invoices", INVOICE_BODY, content_type="application/json")
        issued = auditor.post(f"/api/invoices/{draft.pk}/issue")
        assert (created.status_code, issued.status_code) == (403, 403)
        assert problem(issued)["detail"] == "your roles do not allow you to issue documents"
        assert list(Document.objects.values_list("pk", "status")) == [(draft.pk, "draft")]
        assert JournalEntry.objects.count() == 0

    def test_a_user_without_a_role_may_not_even_read(self, entity, customer):
        nobody = client_for(make_user("nora", entities=[entity]))
        response = nobody.get("/api/customers")
        assert (response.status_code, problem(response)["code"]) == (403, "forbidden")


class TestLegalEntityScope:
    def test_another_entitys_customer_is_not_listed_and_is_404(self, billing, customer, foreign_customer):
        listed = body(billing.get("/api/customers"))
        assert [(item["id"], item["entity"]) for item in listed["items"]] == [(customer.pk, "MAIN")]
        assert body(billing.get("/api/customers?entity=FR01")) == {"items": [], "next_cursor": None}
        response = billing.get(f"/api/customers/{foreign_customer.pk}")
        assert response.status_code == 404
        assert problem(response) == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "no such object",
            "code": "not_found",
        }

    def test_another_entitys_invoice_is_not_listed_is_404_and_cannot_be_issued(
        self, billing, customer, foreign_customer
    ):
        own = issued_invoice(customer)
        foreign = issued_invoice(foreign_customer)
        foreign_draft = receivable_services.document_create(
            customer=foreign_customer,
            document_type="invoice",
            issue_date=date(2026, 3, 2),
            lines=[LineIn("X", Decimal(1), Decimal(10))],
            actor=None,
            now=NOW,
        )
        listed = body(billing.get("/api/invoices"))
        assert [item["id"] for item in listed["items"]] == [own.pk]
        assert billing.get(f"/api/invoices/{foreign.pk}").status_code == 404
        response = billing.post(f"/api/invoices/{foreign_draft.pk}/issue")
        assert (response.status_code, problem(response)["code"]) == (404, "not_found")
        foreign_draft.refresh_from_db()
        assert (foreign_draft.status, foreign_draft.number) == ("draft", None)

    def test_an_invoice_for_a_customer_number_finds_only_the_callers_customer(
        self, billing, customer, foreign_customer
    ):
        response = billing.post("/api/invoices", INVOICE_BODY, content_type="application/json")
        assert response.status_code == 201
        assert body(response)["customer"] == {"id": customer.pk, "number": "C-1000", "name": customer.name}

    def test_an_invoice_for_another_entitys_customer_id_is_refused(self, billing, customer, foreign_customer):
        payload = {**INVOICE_BODY, "customer_number": None, "customer_id": foreign_customer.pk}
        response = billing.post("/api/invoices", payload, content_type="application/json")
        assert response.status_code == 422
        assert problem(response)["code"] == "unknown_customer"
        assert Document.objects.count() == 0


class TestCustomers:
    def test_create_returns_the_customer_and_audits_who_created_it(self, billing, billing_user, entity):
        response = billing.post(
            "/api/customers",
            {
                "number": "C-2000",
                "name": "Société Générale d'Outillage",
                "country": "fr",
                "currency": "eur",
                "language": "fr",
                "payment_terms": "2/10NET30",
                "email": "ap@sgo.example",
                "vat_id": "FR40303265045",
                "credit_limit": "25000.5",
                "customer_type": "Key Account",
            },
            content_type="application/json",
        )
        assert response.status_code == 201
        created = Customer.objects.get(number="C-2000")
        assert body(response) == {
            "id": created.pk,
            "entity": "MAIN",
            "number": "C-2000",
            "name": "Société Générale d'Outillage",
            "country": "FR",
            "currency": "EUR",
            "language": "fr",
            "payment_terms": "2/10NET30",
            "email": "ap@sgo.example",
            "vat_id": "FR40303265045",
            "parent_number": None,
            "status": "active",
            "credit_limit": "25000.50",
            "customer_type": "key_account",
            "risk_class": "",
            "created_at": "2026-03-16T09:30:00Z",
            "updated_at": "2026-03-16T09:30:00Z",
        }
        assert created.credit_limit_minor == 2500050
        event = AuditEvent.objects.get(action="customers.customer.created", object_id=created.pk)
        assert (event.actor, event.entity_id, event.reason) == (
            billing_user,
            entity.pk,
            "created through the API",
        )

    def test_a_bad_currency_is_422_problem_json_with_its_code_and_creates_nothing(self, billing):
        response = billing.post(
            "/api/customers",
            {"number": "C-2000", "name": "Neu GmbH", "country": "DE", "currency": "EUX"},
            content_type="application/json",
        )
        assert response.status_code == 422
        assert problem(response) == {
            "type": "urn:o2c:problem:bad_currency",
            "title": "Unable to save customer",
            "status": 422,
            "detail": "'EUX' is not an ISO 4217 currency",
            "code": "bad_currency",
        }
        assert Customer.objects.count() == 0
        assert AuditEvent.objects.filter(action="customers.customer.created").count() == 0

    def test_a_bad_vat_id_is_422_with_its_code(self, billing):
        response = billing.post(
            "/api/customers",
            {"number": "C-2000", "name": "Neu GmbH", "country": "DE", "currency": "EUR", "vat_id": "DE123"},
            content_type="application/json",
        )
        assert response.status_code == 422
        found = problem(response)
        assert (found["type"], found["status"], found["code"]) == (
            "urn:o2c:problem:bad_vat_id",
            422,
            "bad_vat_id",
        )
        assert found["detail"].startswith("'DE123' is not a valid VAT id")
        assert Customer.objects.count() == 0

    def test_a_duplicate_number_is_409(self, billing, customer):
        response = billing.post(
            "/api/customers",
            {"number": "C-1000", "name": "Copy GmbH", "country": "DE", "currency": "EUR"},
            content_type="application/json",
        )
        assert response.status_code == 409
        assert problem(response) == {
            "type": "urn:o2c:problem:duplicate_number",
            "title": "Unable to save customer",
            "status": 409,
            "detail": "customer C-1000 exists already",
            "code": "duplicate_number",
        }
        assert Customer.objects.get().name == customer.name

    def test_a_request_that_does_not_fit_the_schema_is_422_validation_error(self, billing):
        response = billing.post(
            "/api/customers",
            {"number": "C-2000", "country": "DE", "currency": "EUR", "credit_limit": "1e3"},
            content_type="application/json",
        )
        assert response.status_code == 422
        found = problem(response)
        assert (found["type"], found["title"], found["status"], found["code"]) == (
            "urn:o2c:problem:validation_error",
            "Invalid request",
            422,
            "validation_error",
        )
        assert [error["loc"] for error in found["errors"]] == [
            ["body", "payload", "name"],
            ["body", "payload", "credit_limit"],
        ]
        assert Customer.objects.count() == 0

    def test_a_customer_of_an_unknown_entity_code_is_refused(self, billing):
        response = billing.post(
            "/api/customers",
            {"number": "C-2000", "name": "Neu GmbH", "country": "DE", "currency": "EUR", "entity": "FR01"},
            content_type="application/json",
        )
        assert (response.status_code, problem(response)["code"]) == (422, "unknown_entity")

    def test_cursor_pagination_walks_every_customer_exactly_once(self, billing, entity, customer):
        for n in range(1, 8):
            customer_services.customer_create(
                entity=entity, data=customer_in(f"C-{1000 + n}", name=f"Kunde {n}"), actor=None, now=NOW
            )
        seen: list[int] = []
        pages = 0
        url = "/api/customers?limit=3"
        while True:
            page = body(billing.get(url))
            pages += 1
            seen += [item["id"] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            url = f"/api/customers?limit=3&cursor={page['next_cursor']}"
        expected = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        assert (pages, len(seen), seen) == (3, 8, expected)

    def test_search_and_status_filter_the_list(self, billing, entity, customer):
        customer_services.customer_create(
            entity=entity, data=customer_in("C-2000", name="Acme Ltd", country="GB", status="blocked"),
            actor=None, now=NOW,
        )  # fmt: skip
        assert [c["number"] for c in body(billing.get("/api/customers?search=acme"))["items"]] == ["C-2000"]
        assert [c["number"] for c in body(billing.get("/api/customers?status=active"))["items"]] == ["C-1000"]

    def test_a_bad_cursor_is_422(self, billing, customer):
        response = billing.get("/api/customers?cursor=garbage")
        assert (response.status_code, problem(response)["code"]) == (422, "bad_cursor")

    def test_patch_changes_the_given_fields_only_and_audits_the_reason(self, billing, customer):
        response = billing.patch(
            f"/api/customers/{customer.pk}",
            {
                "name": "Müller Maschinenbau AG",
                "credit_limit": "5000",
                "customer_type": "sme",
                "reason": "Rechtsformwechsel",
            },
            content_type="application/json",
        )
        assert response.status_code == 200
        found = body(response)
        assert (found["name"], found["credit_limit"], found["email"], found["customer_type"]) == (
            "Müller Maschinenbau AG",
            "5000.00",
            "ap@mueller.example",
            "sme",
        )
        event = AuditEvent.objects.get(action="customers.customer.changed")
        assert (event.reason, event.changes["credit_limit"]) == ("Rechtsformwechsel", [None, "5000.00 EUR"])


class TestInvoices:
    def test_create_and_issue_an_invoice(self, billing, billing_user, customer):
        created = billing.post("/api/invoices", INVOICE_BODY, content_type="application/json")
        assert created.status_code == 201
        draft = body(created)
        assert (draft["number"], draft["status"], draft["total"], draft["open"]) == (
            None,
            "draft",
            "1190.00",
            None,
        )

        issued = billing.post(f"/api/invoices/{draft['id']}/issue")
        assert issued.status_code == 200
        assert body(issued) == {
            "id": draft["id"],
            "entity": "MAIN",
            "number": "INV-2026-000001",
            "type": "invoice",
            "status": "issued",
            "settlement": "open",
            "customer": {"id": customer.pk, "number": "C-1000", "name": "Müller Maschinenbau GmbH"},
            "currency": "EUR",
            "net": "1000.00",
            "tax": "190.00",
            "total": "1190.00",
            "open": "1190.00",
            "issue_date": "2026-03-02",
            "due_date": "2026-04-01",
            "po_number": "PO-77",
            "payment_terms": "NET30",
            "is_disputed": False,
            "created_at": "2026-03-16T09:30:00Z",
            "issued_at": "2026-03-16T09:30:00Z",
            "corrects": None,
            "lines": [
                {
                    "position": 1,
                    "description": "Consulting",
                    "quantity": "10",
                    "unit_price": "100.00",
                    "discount_percent": "0",
                    "tax_rate": "19",
                    "net": "1000.00",
                }
            ],
            "tax_lines": [{"rate": "19", "base": "1000.00", "tax": "190.00"}],
            "allocations": [],
        }
        document = Document.objects.get()
        assert (document.created_by, document.total_minor) == (billing_user, 119000)
        assert AuditEvent.objects.get(action="receivables.document.issued").actor == billing_user

    def test_issuing_an_issued_invoice_is_409_and_changes_nothing(self, billing, customer):
        invoice = issued_invoice(customer)
        response = billing.post(f"/api/invoices/{invoice.pk}/issue")
        assert response.status_code == 409
        assert problem(response) == {
            "type": "urn:o2c:problem:not_draft",
            "title": "Unable to issue document",
            "status": 409,
            "detail": "INV-2026-000001 is issued already",
            "code": "not_draft",
        }
        assert JournalEntry.objects.count() == 1

    def test_a_document_without_lines_is_422_no_lines(self, billing, customer):
        response = billing.post(
            "/api/invoices", {**INVOICE_BODY, "lines": []}, content_type="application/json"
        )
        assert (response.status_code, problem(response)["code"]) == (422, "no_lines")
        assert Document.objects.count() == 0

    def test_an_unknown_customer_number_is_422(self, billing, customer):
        payload = {**INVOICE_BODY, "customer_number": "C-9999"}
        response = billing.post("/api/invoices", payload, content_type="application/json")
        assert (response.status_code, problem(response)["code"]) == (422, "unknown_customer")

    def test_a_quantity_as_a_json_number_is_a_validation_error(self, billing, customer):
        line = {"description": "Consulting", "quantity": 10.5, "unit_price": "100.00"}
        response = billing.post(
            "/api/invoices", {**INVOICE_BODY, "lines": [line]}, content_type="application/json"
        )
        assert (response.status_code, problem(response)["code"]) == (422, "validation_error")
        assert Document.objects.count() == 0

    def test_the_list_is_newest_first_paginated_and_filtered(self, billing, customer):
        invoices = [issued_invoice(customer, issue_date=date(2026, 3, day)) for day in (2, 3, 4)]
        credit = issued_credit_memo(invoices[0], amount=Decimal("100.00"))
        first = body(billing.get("/api/invoices?limit=2"))
        second = body(billing.get(f"/api/invoices?limit=2&cursor={first['next_cursor']}"))
        assert [i["id"] for i in first["items"] + second["items"]] == [
            credit.pk,
            invoices[2].pk,
            invoices[1].pk,
            invoices[0].pk,
        ]
        assert second["next_cursor"] is None
        memos = body(billing.get("/api/invoices?type=credit_memo"))["items"]
        assert [(m["number"], m["total"], m["open"], m["settlement"]) for m in memos] == [
            ("CM-2026-000001", "-100.00", "0.00", "paid")
        ]
        dated = body(
            billing.get("/api/invoices?type=invoice&issue_date_from=2026-03-03&issue_date_to=2026-03-04")
        )
        assert [i["number"] for i in dated["items"]] == ["INV-2026-000003", "INV-2026-000002"]
        not_open = body(billing.get("/api/invoices?open=false"))["items"]
        assert [i["number"] for i in not_open] == ["CM-2026-000001"]
        by_number = body(billing.get("/api/invoices?customer_number=C-1000&open=true"))["items"]
        assert [(i["number"], i["open"]) for i in by_number] == [
            ("INV-2026-000003", "1190.00"),
            ("INV-2026-000002", "1190.00"),
            ("INV-2026-000001", "1090.00"),
        ]

    def test_the_detail_shows_what_settled_the_invoice(self, billing, customer):
        invoice = issued_invoice(customer)
        issued_credit_memo(invoice, amount=Decimal("100.00"))
        found = body(billing.get(f"/api/invoices/{invoice.pk}"))
        assert (found["open"], found["settlement"]) == ("1090.00", "partially_paid")
        assert [
            (a["kind"], a["amount"], a["posting_date"], a["source_document_number"])
            for a in found["allocations"]
        ] == [("credit_memo", "100.00", "2026-03-10", "CM-2026-000001")]


class TestOpenApi:
    def test_the_openapi_document_lists_every_path_without_a_token(self, db):
        response = Client().get("/api/openapi.json")
        assert response.status_code == 200
        document = body(response)
        assert (document["info"]["title"], document["info"]["version"]) == ("O2C API", "1")
        assert {path: sorted(methods) for path, methods in document["paths"].items()} == {
            "/api/customers": ["get", "post"],
            "/api/customers/{customer_id}": ["get", "patch"],
            "/api/customers/{number}/statement": ["get"],
            "/api/customers/{number}/statement/send": ["post"],
            "/api/invoices": ["get", "post"],
            "/api/invoices/{document_id}": ["get"],
            "/api/invoices/{document_id}/issue": ["post"],
            "/api/invoices/{document_id}/credit-memos": ["post"],
            "/api/invoices/{document_id}/credit-and-rebill": ["post"],
            "/api/invoices/{document_id}/approve": ["post"],
            "/api/invoices/{document_id}/reject": ["post"],
            "/api/billing/usage": ["post"],
            "/api/billing/subscriptions": ["get"],
            "/api/billing/subscriptions/{number}": ["get"],
            "/api/billing/subscriptions/{number}/amend": ["post"],
            "/api/billing/subscriptions/{number}/end": ["post"],
            "/api/billing/runs": ["get", "post"],
            "/api/cash/statements": ["post"],
            "/api/cash/payments": ["get"],
            "/api/cash/payments/{payment_id}": ["get"],
            "/api/cash/payments/{payment_id}/apply": ["post"],
            "/api/cash/payments/{payment_id}/accept": ["post"],
            "/api/cash/payments/{payment_id}/on-account": ["post"],
            "/api/cash/applications/{application_id}/reverse": ["post"],
            "/api/cash/policy": ["get", "put"],
            "/api/credit/customers/{number}/limits": ["get", "post"],
            "/api/credit/limits/pending": ["get"],
            "/api/credit/limits/{limit_id}/approve": ["post"],
            "/api/credit/limits/{limit_id}/reject": ["post"],
            "/api/credit/orders": ["get", "post"],
            "/api/credit/orders/{number}": ["get"],
            "/api/credit/holds": ["get"],
            "/api/credit/orders/{number}/release": ["post"],
            "/api/credit/orders/{number}/reject": ["post"],
            "/api/credit/orders/{number}/recheck": ["post"],
            "/api/credit/orders/{number}/ship": ["post"],
            "/api/credit/orders/{number}/invoice": ["post"],
            "/api/credit/orders/{number}/cancel": ["post"],
            "/api/credit/customers/{number}/block": ["post"],
            "/api/credit/customers/{number}/unblock": ["post"],
            "/api/credit/check": ["get"],
            "/api/credit/reports/holds": ["get"],
            "/api/credit/reports/limits": ["get"],
            "/api/credit/scorecard": ["get", "put"],
            "/api/credit/applications": ["post"],
            "/api/credit/applications/{application_id}": ["get"],
            "/api/credit/applications/{application_id}/statements": ["post"],
            "/api/credit/applications/{application_id}/score": ["post"],
            "/api/credit/applications/{application_id}/approve": ["post"],
            "/api/credit/applications/{application_id}/decline": ["post"],
            "/api/credit/bureau-reports": ["post"],
            "/api/credit/customers/{number}/score": ["post"],
            "/api/credit/customers/{number}/scores": ["get"],
            "/api/credit/reviews": ["get"],
            "/api/credit/reviews/{review_id}/complete": ["post"],
            "/api/credit/raise-requests": ["post"],
            "/api/credit/raise-requests/{request_id}": ["get"],
            "/api/credit/raise-requests/{request_id}/checklist": ["post"],
            "/api/credit/raise-requests/{request_id}/evidence": ["post"],
            "/api/credit/raise-requests/{request_id}/approve": ["post"],
            "/api/credit/raise-requests/{request_id}/decline": ["post"],
            "/api/credit/reports/risk-classes": ["get"],
            "/api/credit/reports/limits-due": ["get"],
            "/api/reports/aging": ["get"],
            "/api/reports/aging/items": ["get"],
            "/api/reports/kpis": ["get"],
            "/api/reports/rollforward": ["get"],
            "/api/reports/rollforward/functional": ["get"],
            "/api/reports/tie-out": ["get"],
            "/api/reports/risk": ["get"],
            "/api/reports/collectors": ["get"],
            "/api/close/periods": ["get"],
            "/api/close/periods/{month}/close": ["post"],
            "/api/close/periods/{month}/reopen": ["post"],
            "/api/close/revaluation": ["post"],
            "/api/close/provision": ["get"],
            "/api/close/provision-rates": ["get", "put"],
            "/api/disputes": ["get", "post"],
            "/api/disputes/root-causes": ["get"],
            "/api/disputes/{case_id}": ["get"],
            "/api/disputes/{case_id}/transition": ["post"],
            "/api/disputes/{case_id}/assign": ["post"],
            "/api/disputes/{case_id}/notes": ["post"],
            "/api/disputes/{case_id}/resolve": ["post"],
            "/api/disputes/{case_id}/approve-write-off": ["post"],
            "/api/disputes/{case_id}/reject-write-off": ["post"],
            "/api/disputes/{case_id}/attachments": ["post"],
            "/api/disputes/{case_id}/attachments/{attachment_id}": ["get"],
            "/api/disputes/reason-mappings": ["get", "put"],
            "/api/disputes/reason-policies": ["get"],
            "/api/disputes/reason-policies/{reason_code}": ["put"],
            "/api/disputes/write-off-thresholds": ["get"],
            "/api/disputes/write-off-thresholds/{currency}": ["put"],
            "/api/collections/promises": ["get", "post"],
            "/api/collections/plans": ["get", "post"],
            "/api/collections/plans/{plan_id}/approve": ["post"],
            "/api/collections/plans/{plan_id}/reject": ["post"],
            "/api/collections/activities": ["get", "post"],
            "/api/collections/tasks": ["get"],
            "/api/collections/worklist": ["get"],
            "/api/collections/dunning-plans": ["get", "post"],
            "/api/collections/dunning-plans/{plan_id}": ["delete", "get", "put"],
            "/api/collections/dunning-plans/{plan_id}/steps": ["post"],
            "/api/collections/dunning-plans/{plan_id}/steps/{level}": ["delete", "put"],
            "/api/collections/dunning-plans/{plan_id}/steps/{level}/templates/{language}": ["get", "put"],
            "/api/collections/dunning-plans/{plan_id}/steps/{level}/templates/{language}/preview": ["post"],
            "/api/collections/assignments": ["post"],
            "/api/collections/targets": ["get", "put"],
            "/api/collections/late-payment-policy": ["get", "put"],
            "/api/collections/reference-rates": ["get", "post"],
            "/api/collections/escalations": ["get"],
            "/api/collections/escalations/{customer_id}": ["get"],
            "/api/collections/escalations/escalate": ["post"],
            "/api/collections/escalations/de-escalate": ["post"],
            "/api/collections/escalation-rules": ["get", "post"],
            "/api/collections/escalation-rules/{rule_id}": ["put"],
            "/api/collections/agencies": ["get", "post"],
            "/api/collections/agency-placements": ["get", "post"],
            "/api/collections/agency-placements/{placement_id}/recall": ["post"],
            "/api/collections/agency-placements/export": ["get"],
            "/api/collections/bounces": ["post"],
            "/api/collections/delivery-problems": ["get"],
            "/api/collections/delivery-problems/clear": ["post"],
            "/api/collections/notices/{notice_id}/letter.pdf": ["get"],
        }
        assert document["components"]["securitySchemes"] == {
            "BearerToken": {"type": "http", "scheme": "bearer"}
        }
