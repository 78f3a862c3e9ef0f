"""The cash API under /api/cash/: statements uploaded, the exceptions queue, and a person's actions on
payments (apply, accept, put on account, reverse), with roles and legal-entity scope."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from o2c.audit.models import AuditEvent
from o2c.cash import services as cash_services
from o2c.cash import workbench
from o2c.cash.models import Application, Payment
from o2c.core import checks
from o2c.customers import services as customer_services
from o2c.customers.models import BankAccount, Customer
from o2c.ledger.models import LegalEntity
from o2c.receivables.calculations import LineIn
from o2c.receivables.models import Document
from o2c.workspace import services as workspace_services
from tests.camt_builder import Credit, statement_xml
from tests.conftest import NOW, customer_in, issued_invoice, make_user

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
PAYER_IBAN = "DE44500105175407324931"


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


def _verify() -> list[str]:
    return [problem for check in checks.all_checks() for problem in check.run()]


@pytest.fixture
def clerk(entity: LegalEntity) -> Client:
    return client_for(make_user("carla", "cash_application", entities=[entity]))


@pytest.fixture
def auditor(auditor_user: User) -> Client:
    return client_for(auditor_user)


@pytest.fixture
def billing(billing_user: User) -> Client:
    return client_for(billing_user)


@pytest.fixture
def invoice(customer: Customer) -> Document:
    return issued_invoice(customer)  # 1,190.00 EUR


def _upload(client: Client, data: bytes, name: str = "statement.xml", **extra: str) -> Any:
    return client.post("/api/cash/statements", {"file": SimpleUploadedFile(name, data), **extra})


def _import(entity: LegalEntity, credits: list[Credit], name: str = "statement.xml", **kw: Any) -> None:
    cash_services.bank_file_import(
        data=statement_xml(credits, statement_id=name, message_id=name, **kw),
        file_name=name,
        entity=entity,
        actor=None,
        now=NOW,
    )


def _unidentified(entity: LegalEntity, amount: str, reference: str = "R1") -> Payment:
    _import(
        entity,
        [Credit(amount, reference, name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung")],
        name=f"{reference}.xml",
    )
    return Payment.objects.get(entry_reference=reference)


def _post(client: Client, path: str, payload: dict[str, Any] | None = None) -> Any:
    return client.post(path, payload or {}, content_type="application/json")


class TestStatementUpload:
    def test_a_statement_is_imported_matched_and_summarised(self, clerk, entity, customer, invoice):
        data = statement_xml(
            [
                Credit(
                    "1190.00", "BANKREF-1", name="Mueller Maschinenbau", text=f"Rechnung {invoice.number}"
                ),
                Credit("77.70", "BANKREF-2", name="Unknown Trading Ltd", text="thanks"),
            ]
        )

        response = _upload(clerk, data)

        assert response.status_code == 201
        assert body(response) == {
            "file": "statement.xml",
            "format": "camt.053",
            "already_imported": False,
            "statements": 1,
            "entries": 2,
            "payments": 2,
            "duplicates": 0,
            "ignored": 0,
            "applied": 1,
            "partially_applied": 0,
            "on_account": 0,
            "suggested": 0,
            "unidentified": 1,
            "amounts": {"EUR": "1267.70"},
            "applied_amounts": {"EUR": "1190.00"},
            "warnings": ["bank account DE89370400440532013000 (EUR) was not known: registered for MAIN"],
        }
        invoice.refresh_from_db()
        assert invoice.open_minor == 0
        assert _verify() == []

    def test_the_same_file_again_is_200_and_imports_nothing(self, clerk, entity):
        data = statement_xml([Credit("10.00", "R1")])
        assert _upload(clerk, data).status_code == 201

        again = _upload(clerk, data, name="copy.xml")

        assert again.status_code == 200
        assert (body(again)["already_imported"], body(again)["payments"], body(again)["duplicates"]) == (
            True,
            0,
            1,
        )
        assert Payment.objects.count() == 1

    def test_a_bad_file_is_400_with_one_line_and_imports_nothing(self, clerk, entity):
        data = statement_xml([Credit("10.00", "R1")]).replace(
            b'<Amt Ccy="EUR">10.00</Amt>', b"<Amt>10.00</Amt>", 1
        )

        response = _upload(clerk, data)

        assert response.status_code == 400
        assert problem(response) == {
            "type": "urn:o2c:problem:bad_bank_file",
            "title": "Bad Request",
            "status": 400,
            "detail": "statement.xml: entry 1: Amt has no Ccy",
            "code": "bad_bank_file",
        }
        assert Payment.objects.count() == 0

    def test_a_user_without_the_cash_role_may_not_upload(self, billing, auditor, entity):
        data = statement_xml([Credit("10.00", "R1")])

        refused = [_upload(client, data) for client in (billing, auditor)]

        assert [response.status_code for response in refused] == [403, 403]
        assert problem(refused[0])["detail"] == "your roles do not allow you to apply cash"
        assert Payment.objects.count() == 0


class TestQueue:
    def test_the_queue_lists_payments_to_work_with_their_suggestions_and_reasons(
        self, clerk, auditor, entity, customer, invoice
    ):
        _import(
            entity,
            [
                Credit(
                    "1190.00", "R1", name="Zahlungsdienst Nord", iban=PAYER_IBAN, text=f"{invoice.number}"
                ),
                Credit("1190.00", "R2", name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung"),
                Credit("500.00", "R3", name="Zahlungsdienst Nord", iban=PAYER_IBAN, text="Sammelzahlung"),
            ],
        )

        listed = body(auditor.get("/api/cash/payments"))

        # R1 was applied by the matcher: not in the queue; the largest first, then the oldest
        assert [item["entry_reference"] for item in listed["items"]] == ["R2", "R3"]
        assert (listed["page"], listed["next_page"]) == (1, None)
        first = listed["items"][0]
        assert {key: first[key] for key in ("status", "currency", "amount", "unapplied", "customer")} == {
            "status": "unidentified",
            "currency": "EUR",
            "amount": "1190.00",
            "unapplied": "1190.00",
            "customer": None,
        }
        assert first["reasons"] == ["no known account, reference, customer number or payer name"]
        assert first["suggestions"] == []

    def test_the_queue_shows_the_matchers_suggestions(self, clerk, entity, customer, invoice):
        twin = issued_invoice(customer)
        _import_known_iban_payment(entity, customer)

        (item,) = body(clerk.get("/api/cash/payments"))["items"]

        assert item["status"] == "suggested"
        assert [
            (s["document"]["id"], s["amount"], s["state"], s["confidence"]) for s in item["suggestions"]
        ] == [
            (invoice.pk, "1190.00", "suggested", "0.900"),
            (twin.pk, "1190.00", "suggested", "0.900"),
        ]
        assert any(
            "amount equals several open items" in reason for reason in item["suggestions"][0]["reasons"]
        )

    def test_filters_and_pages(self, clerk, entity, customer):
        for n in range(1, 4):
            _unidentified(entity, f"{n}0.00", reference=f"R{n}")
        payment = Payment.objects.get(entry_reference="R1")
        workbench.payment_put_on_account(payment_id=payment.pk, customer_id=customer.pk, actor=None, now=NOW)

        first = body(clerk.get("/api/cash/payments?limit=1"))
        second = body(clerk.get(f"/api/cash/payments?limit=1&page={first['next_page']}"))
        on_account = body(clerk.get("/api/cash/payments?status=on_account&customer=C-1000"))
        nobody = body(clerk.get("/api/cash/payments?customer=C-9999"))

        assert ([i["entry_reference"] for i in first["items"]], first["next_page"]) == (["R3"], 2)
        assert ([i["entry_reference"] for i in second["items"]], second["next_page"]) == (["R2"], None)
        assert [i["entry_reference"] for i in on_account["items"]] == ["R1"]
        assert on_account["items"][0]["customer"] == {
            "id": customer.pk,
            "number": "C-1000",
            "name": customer.name,
        }
        assert nobody["items"] == []

    def test_the_queue_reads_a_fixed_number_of_queries_however_long_it_is(self, clerk, entity, customer):
        _unidentified(entity, "10.00", reference="R1")
        with CaptureQueriesContext(connection) as one:
            assert len(body(clerk.get("/api/cash/payments"))["items"]) == 1
        for n in range(2, 6):
            _unidentified(entity, f"{n}0.00", reference=f"R{n}")
        with CaptureQueriesContext(connection) as five:
            assert len(body(clerk.get("/api/cash/payments"))["items"]) == 5

        assert len(five.captured_queries) == len(one.captured_queries)

    def test_a_payment_shows_every_application_with_its_history(self, clerk, entity, customer, invoice):
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")])
        payment = Payment.objects.get()

        detail = body(clerk.get(f"/api/cash/payments/{payment.pk}"))

        assert (detail["id"], detail["status"], detail["unapplied"], detail["booking_date"]) == (
            payment.pk,
            "applied",
            "0.00",
            "2026-03-20",
        )
        (application,) = detail["applications"]
        assert {
            key: application[key] for key in ("document", "state", "amount", "is_automatic", "created_by")
        } == {
            "document": {"id": invoice.pk, "number": invoice.number},
            "state": "applied",
            "amount": "1190.00",
            "is_automatic": True,
            "created_by": None,
        }


def _import_known_iban_payment(entity: LegalEntity, customer: Customer) -> None:
    """A payment from the customer's own account, of the amount of two equal open items: suggested."""
    BankAccount.objects.create(customer=customer, iban=PAYER_IBAN)
    _import(entity, [Credit("1190.00", "R1", iban=PAYER_IBAN)])


class TestActions:
    def test_apply_splits_a_payment_by_invoice_number_and_document_id(self, clerk, entity, customer, invoice):
        parts = issued_invoice(
            customer, lines=[LineIn("Parts", Decimal(5), Decimal("100.00"), Decimal("19"))]
        )
        payment = _unidentified(entity, "1780.00")

        response = _post(
            clerk,
            f"/api/cash/payments/{payment.pk}/apply",
            {
                "lines": [
                    {"invoice_number": invoice.number, "amount": "1190.00"},
                    {"document_id": parts.pk, "amount": "590.00", "write_off": "5.00"},
                ]
            },
        )

        assert response.status_code == 200
        detail = body(response)
        assert (detail["status"], detail["unapplied"], detail["customer"]["number"]) == (
            "applied",
            "0.00",
            "C-1000",
        )
        assert [
            (a["document"]["number"], a["amount"], a["write_off"], a["state"], a["created_by"], a["reasons"])
            for a in detail["applications"]
        ] == [
            (invoice.number, "1190.00", "0.00", "applied", "carla", ["applied by carla"]),
            (parts.number, "590.00", "5.00", "applied", "carla", ["applied by carla"]),
        ]
        assert AuditEvent.objects.filter(action="cash.payment.applied", actor_label="carla").count() == 1
        assert _verify() == []

    def test_a_refused_application_is_422_with_its_code(self, clerk, entity, customer, invoice):
        payment = _unidentified(entity, "100.00")

        response = _post(
            clerk,
            f"/api/cash/payments/{payment.pk}/apply",
            {"lines": [{"document_id": invoice.pk, "amount": "150.00"}]},
        )

        assert response.status_code == 422
        assert problem(response) == {
            "type": "urn:o2c:problem:over_application",
            "title": "Unable to apply payment",
            "status": 422,
            "detail": "payment R1: 150.00 EUR is more than its unapplied 100.00 EUR",
            "code": "over_application",
        }

    @pytest.mark.parametrize(
        ("line", "status", "code"),
        [
            ({"amount": "10.00"}, 422, "document_required"),
            ({"invoice_number": "INV-1999-000001", "amount": "10.00"}, 422, "unknown_document"),
            ({"invoice_number": "X", "document_id": 1, "amount": "10.00"}, 422, "document_required"),
            ({"document_id": 1, "amount": 10.0}, 422, "validation_error"),
        ],
    )
    def test_a_line_must_name_one_invoice_and_amounts_are_decimal_strings(
        self, clerk, entity, line, status, code
    ):
        payment = _unidentified(entity, "100.00")

        response = _post(clerk, f"/api/cash/payments/{payment.pk}/apply", {"lines": [line]})

        assert (response.status_code, problem(response)["code"]) == (status, code)

    def test_accept_takes_the_matchers_suggestion(self, clerk, entity, customer, invoice):
        workbench.policy_change(
            entity=entity,
            auto_apply_confidence=Decimal("0.999"),
            write_off_tolerance=Decimal("5.00"),
            discount_grace_days=3,
            actor=None,
            now=NOW,
        )
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")])
        payment = Payment.objects.get()

        response = _post(clerk, f"/api/cash/payments/{payment.pk}/accept")

        assert response.status_code == 200
        detail = body(response)
        assert (detail["status"], detail["suggestions"]) == ("applied", [])
        assert [(a["state"], a["reasons"][-1]) for a in detail["applications"]] == [
            ("applied", "accepted by carla")
        ]
        invoice.refresh_from_db()
        assert invoice.open_minor == 0

    def test_on_account_moves_an_unidentified_payment_to_the_customer(self, clerk, entity, customer):
        payment = _unidentified(entity, "77.70")

        response = _post(clerk, f"/api/cash/payments/{payment.pk}/on-account", {"customer_number": "C-1000"})
        unknown = _post(clerk, f"/api/cash/payments/{payment.pk}/on-account", {"customer_number": "C-9"})

        assert response.status_code == 200
        detail = body(response)
        assert (detail["status"], detail["unapplied"], detail["customer"]["number"]) == (
            "on_account",
            "77.70",
            "C-1000",
        )
        assert (unknown.status_code, problem(unknown)["code"]) == (422, "unknown_customer")
        assert problem(unknown)["detail"] == "no customer C-9 in MAIN"
        assert _verify() == []

    def test_reverse_then_reapply(self, clerk, entity, customer, invoice):
        right = issued_invoice(customer)
        _import(entity, [Credit("1190.00", "R1", text=f"Rechnung {invoice.number}")])
        payment = Payment.objects.get()
        application = Application.objects.get()

        reversed_ = _post(
            clerk, f"/api/cash/applications/{application.pk}/reverse", {"reason": "wrong invoice"}
        )
        reapplied = _post(
            clerk,
            f"/api/cash/payments/{payment.pk}/apply",
            {"lines": [{"document_id": right.pk, "amount": "1190.00"}]},
        )
        again = _post(clerk, f"/api/cash/applications/{application.pk}/reverse", {"reason": "again"})

        assert reversed_.status_code == 200
        assert (body(reversed_)["status"], body(reversed_)["unapplied"]) == ("suggested", "1190.00")
        assert reapplied.status_code == 200
        assert [(a["document"]["id"], a["state"]) for a in body(reapplied)["applications"]] == [
            (invoice.pk, "reversed"),
            (right.pk, "applied"),
        ]
        assert body(reapplied)["applications"][0]["reversed_at"] == "2026-03-16T09:30:00Z"
        assert (again.status_code, problem(again)["code"]) == (422, "not_applied")
        assert (
            _post(clerk, f"/api/cash/applications/{application.pk}/reverse", {"reason": ""}).status_code
            == 422
        )
        assert _verify() == []


class TestAccess:
    def test_readers_may_read_but_not_change(self, billing, auditor, entity, customer, invoice):
        payment = _unidentified(entity, "1190.00")
        paths = [
            (
                f"/api/cash/payments/{payment.pk}/apply",
                {"lines": [{"document_id": invoice.pk, "amount": "1.00"}]},
            ),
            (f"/api/cash/payments/{payment.pk}/accept", {}),
            (f"/api/cash/payments/{payment.pk}/on-account", {"customer_number": "C-1000"}),
            ("/api/cash/applications/1/reverse", {"reason": "x"}),
        ]

        for client in (billing, auditor):
            assert client.get("/api/cash/payments").status_code == 200
            assert client.get(f"/api/cash/payments/{payment.pk}").status_code == 200
            for path, payload in paths:
                response = _post(client, path, payload)
                assert (response.status_code, problem(response)["code"]) == (403, "forbidden"), path

        payment.refresh_from_db()
        assert (payment.status, payment.customer_id) == ("unidentified", None)

    def test_a_user_without_a_role_may_not_read(self, entity):
        nobody = client_for(make_user("nora", entities=[entity]))
        response = nobody.get("/api/cash/payments")
        assert (response.status_code, problem(response)["code"]) == (403, "forbidden")

    def test_another_entitys_payment_and_application_are_404(self, clerk, entity, other_entity):
        foreign_customer = customer_services.customer_create(
            entity=other_entity,
            data=customer_in("C-9", name="Dupont SARL", country="FR"),
            actor=None,
            now=NOW,
        )
        foreign_invoice = issued_invoice(foreign_customer)
        _import(
            other_entity,
            [Credit("1190.00", "F1", text=f"Facture {foreign_invoice.number}")],
            iban="FR7630006000011234567890189",
        )
        foreign = Payment.objects.get(entry_reference="F1")
        application = Application.objects.get(payment=foreign)

        responses = [
            clerk.get(f"/api/cash/payments/{foreign.pk}"),
            _post(
                clerk,
                f"/api/cash/payments/{foreign.pk}/apply",
                {"lines": [{"document_id": 1, "amount": "1.00"}]},
            ),
            _post(clerk, f"/api/cash/payments/{foreign.pk}/accept"),
            _post(clerk, f"/api/cash/payments/{foreign.pk}/on-account", {"customer_number": "C-9"}),
            _post(clerk, f"/api/cash/applications/{application.pk}/reverse", {"reason": "x"}),
        ]

        assert [(r.status_code, problem(r)["code"]) for r in responses] == [(404, "not_found")] * 5
        assert body(clerk.get("/api/cash/payments?status=applied"))["items"] == []
        application.refresh_from_db()
        assert application.state == "applied"

    def test_the_openapi_document_lists_the_cash_endpoints(self, clerk):
        paths = body(clerk.get("/api/openapi.json"))["paths"]
        assert {
            "/api/cash/statements",
            "/api/cash/payments",
            "/api/cash/payments/{payment_id}",
            "/api/cash/payments/{payment_id}/apply",
            "/api/cash/payments/{payment_id}/accept",
            "/api/cash/payments/{payment_id}/on-account",
            "/api/cash/applications/{application_id}/reverse",
        } <= set(paths)
